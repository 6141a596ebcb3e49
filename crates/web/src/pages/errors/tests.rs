//! Every variant of every core error reads in both languages.

use super::*;
use keyward_core::store::Conflict;

/// A sample of each variant, each paired with the pattern that names it: the `match` in the
/// witness has no wildcard, so a new variant does not compile until it gets a sample here.
macro_rules! every {
    ($ty:ty { $($pat:pat => $sample:expr),+ $(,)? }) => {{
        fn _witness(e: &$ty) {
            match e {
                $($pat => {})+
            }
        }
        let all: Vec<Box<dyn PageMessage>> = vec![$(Box::new($sample)),+];
        (stringify!($ty), all)
    }};
}

fn store() -> StoreError {
    StoreError::Backend("connection refused at 10.0.0.1".into())
}

#[allow(clippy::too_many_lines)]
fn every_core_error() -> Vec<(&'static str, Vec<Box<dyn PageMessage>>)> {
    use AccountError as A;
    vec![
        every!(AccountError {
            A::InvalidCredentials => A::InvalidCredentials,
            A::Throttled { .. } => A::Throttled { retry_after: 42 },
            A::RegistrationClosed => A::RegistrationClosed,
            A::PasswordRegistrationClosed => A::PasswordRegistrationClosed,
            A::PasswordLoginClosed => A::PasswordLoginClosed,
            A::UsernameTaken => A::UsernameTaken,
            A::WrongCurrentPassword => A::WrongCurrentPassword,
            A::EmailVerificationRequired => A::EmailVerificationRequired,
            A::BadVerificationCode => A::BadVerificationCode,
            A::Invalid(_) => A::Invalid(FieldError::Username),
            A::Store(_) => A::Store(store()),
            A::Hash(_) => A::Hash(HashError::Task),
        }),
        every!(EmailError {
            EmailError::InvalidAddress => EmailError::InvalidAddress,
            EmailError::NoSmtp => EmailError::NoSmtp,
            EmailError::BadCode => EmailError::BadCode,
            EmailError::AddressTaken => EmailError::AddressTaken,
            EmailError::BadResetLink => EmailError::BadResetLink,
            EmailError::ChangeNeeded => EmailError::ChangeNeeded,
            EmailError::SameAddress => EmailError::SameAddress,
            EmailError::Account(_) => EmailError::Account(A::Throttled { retry_after: 60 }),
            EmailError::Settings(_) => EmailError::Settings(SettingsError::Corrupt("bad json".into())),
            EmailError::Store(_) => EmailError::Store(store()),
        }),
        every!(PasskeyError {
            PasskeyError::Unavailable => PasskeyError::Unavailable,
            PasskeyError::SignInAgain => PasskeyError::SignInAgain,
            PasskeyError::NoChallenge => PasskeyError::NoChallenge,
            PasskeyError::Rejected => PasskeyError::Rejected,
            PasskeyError::UnknownCredential => PasskeyError::UnknownCredential,
            PasskeyError::CounterRegression => PasskeyError::CounterRegression,
            PasskeyError::AlreadyRegistered => PasskeyError::AlreadyRegistered,
            PasskeyError::TooMany => PasskeyError::TooMany,
            PasskeyError::LastWayIn => PasskeyError::LastWayIn,
            PasskeyError::NotFound => PasskeyError::NotFound,
            PasskeyError::InvalidName => PasskeyError::InvalidName,
            PasskeyError::Malformed => PasskeyError::Malformed,
            PasskeyError::Disabled => PasskeyError::Disabled,
            PasskeyError::Rank => PasskeyError::Rank,
            PasskeyError::Throttled { .. } => PasskeyError::Throttled { retry_after: 30 },
            PasskeyError::Store(_) => PasskeyError::Store(store()),
            PasskeyError::State(_) => PasskeyError::State("pkcs8 parse".into()),
        }),
        every!(FieldError {
            FieldError::Username => FieldError::Username,
            FieldError::Password => FieldError::Password,
            FieldError::DisplayName => FieldError::DisplayName,
            FieldError::Email => FieldError::Email,
        }),
        every!(TopUpError {
            TopUpError::BadCount => TopUpError::BadCount,
            TopUpError::BadAmount => TopUpError::BadAmount,
            TopUpError::BadExpiry => TopUpError::BadExpiry,
            TopUpError::BadLabel => TopUpError::BadLabel,
            TopUpError::InvalidCode => TopUpError::InvalidCode,
            TopUpError::QuotaFull => TopUpError::QuotaFull,
            TopUpError::Throttled { .. } => TopUpError::Throttled { retry_after: 7 },
            TopUpError::Store(_) => TopUpError::Store(store()),
        }),
        every!(TwoFactorError {
            TwoFactorError::AlreadyEnabled => TwoFactorError::AlreadyEnabled,
            TwoFactorError::NotEnabled => TwoFactorError::NotEnabled,
            TwoFactorError::NotStarted => TwoFactorError::NotStarted,
            TwoFactorError::WrongCode => TwoFactorError::WrongCode,
            TwoFactorError::Throttled { .. } => TwoFactorError::Throttled { retry_after: 9 },
            TwoFactorError::Secret(_) => TwoFactorError::Secret("bad base32".into()),
            TwoFactorError::Store(_) => TwoFactorError::Store(store()),
        }),
        every!(FederationError {
            FederationError::RegistrationClosed => FederationError::RegistrationClosed,
            FederationError::UserDisabled => FederationError::UserDisabled,
            FederationError::AlreadyBound(_) => FederationError::AlreadyBound("GitHub"),
            FederationError::ProviderTaken(_) => FederationError::ProviderTaken("LinuxDO"),
            FederationError::NotBound(_) => FederationError::NotBound("Telegram"),
            FederationError::NotLinked => FederationError::NotLinked,
            FederationError::LastWayIn => FederationError::LastWayIn,
            FederationError::Account(_) => FederationError::Account(A::UsernameTaken),
        }),
        every!(AppError {
            AppError::Name => AppError::Name,
            AppError::Description => AppError::Description,
            AppError::RedirectUriCount => AppError::RedirectUriCount,
            AppError::RedirectUri(_) => AppError::RedirectUri(RedirectUriError::Fragment),
            AppError::Scope => AppError::Scope,
            AppError::GrantType => AppError::GrantType,
            AppError::Resource => AppError::Resource,
            AppError::IdTokenAlg => AppError::IdTokenAlg,
            AppError::AuthMethod => AppError::AuthMethod,
            AppError::JwksUri => AppError::JwksUri,
            AppError::Jwks(_) => AppError::Jwks(keyward_core::oauth::client_auth::JwksError::PrivateKey),
            AppError::PublicClientCredentials => AppError::PublicClientCredentials,
            AppError::NotFound => AppError::NotFound,
            AppError::NoSecret => AppError::NoSecret,
            AppError::NotApproved => AppError::NotApproved,
            AppError::Grace => AppError::Grace,
            AppError::WrongState => AppError::WrongState,
            AppError::LogoUri => AppError::LogoUri,
            AppError::HomepageUri => AppError::HomepageUri,
            AppError::PolicyUri => AppError::PolicyUri,
            AppError::NotEditable => AppError::NotEditable,
            AppError::NoPendingChange => AppError::NoPendingChange,
            AppError::PostLogoutUri(_) => AppError::PostLogoutUri(RedirectUriError::Fragment),
            AppError::Store(_) => AppError::Store(store()),
            AppError::Settings(_) => AppError::Settings(SettingsError::Corrupt("x".into())),
        }),
        every!(ResourceError {
            ResourceError::Identifier => ResourceError::Identifier,
            ResourceError::IssuerIdentifier => ResourceError::IssuerIdentifier,
            ResourceError::Name => ResourceError::Name,
            ResourceError::ScopeName => ResourceError::ScopeName,
            ResourceError::ScopeDescription => ResourceError::ScopeDescription,
            ResourceError::ScopeCount => ResourceError::ScopeCount,
            ResourceError::TokenFormat => ResourceError::TokenFormat,
            ResourceError::SigningAlg => ResourceError::SigningAlg,
            ResourceError::Ttl => ResourceError::Ttl,
            ResourceError::NotFound => ResourceError::NotFound,
            ResourceError::Taken => ResourceError::Taken,
            ResourceError::IntrospectionClient => ResourceError::IntrospectionClient,
            ResourceError::Store(_) => ResourceError::Store(store()),
        }),
        every!(RedirectUriError {
            RedirectUriError::NotAbsoluteHttp => RedirectUriError::NotAbsoluteHttp,
            RedirectUriError::Fragment => RedirectUriError::Fragment,
            RedirectUriError::Userinfo => RedirectUriError::Userinfo,
            RedirectUriError::InsecureHttp => RedirectUriError::InsecureHttp,
            RedirectUriError::TooLong => RedirectUriError::TooLong,
            RedirectUriError::PrivateUseScheme => RedirectUriError::PrivateUseScheme,
        }),
        every!(DocumentError {
            DocumentError::Disabled => DocumentError::Disabled,
            DocumentError::Url(_) => DocumentError::Url("it must use https"),
            DocumentError::HostNotAllowed => DocumentError::HostNotAllowed,
            DocumentError::Blocked => DocumentError::Blocked,
            DocumentError::Unreachable(_) =>
                DocumentError::Unreachable("10.0.0.1 is not an address Keyward connects to".into()),
            DocumentError::ClientIdMismatch => DocumentError::ClientIdMismatch,
            DocumentError::Invalid(_) => DocumentError::Invalid("redirect_uris is required"),
            DocumentError::RedirectUri(_) =>
                DocumentError::RedirectUri(RedirectUriError::Fragment),
            DocumentError::Jwks(_) => DocumentError::Jwks(
                keyward_core::oauth::client_auth::JwksError::PrivateKey
            ),
        }),
        every!(AuthorizeError {
            AuthorizeError::UnknownClient => AuthorizeError::UnknownClient,
            AuthorizeError::ClientDocument(_) =>
                AuthorizeError::ClientDocument(DocumentError::Blocked),
            AuthorizeError::MissingRedirectUri => AuthorizeError::MissingRedirectUri,
            AuthorizeError::UnregisteredRedirectUri => AuthorizeError::UnregisteredRedirectUri,
        }),
        every!(UnknownScope {
            UnknownScope => UnknownScope,
        }),
        every!(TokenError {
            TokenError::InvalidRequest(_) => TokenError::InvalidRequest("unreadable body"),
            TokenError::UnknownClient => TokenError::UnknownClient,
            TokenError::BadClientSecret => TokenError::BadClientSecret,
            TokenError::BadClientAssertion(_) => TokenError::BadClientAssertion(
                keyward_core::oauth::client_auth::AssertionError::Replayed
            ),
            TokenError::InvalidGrant(_) => TokenError::InvalidGrant("code expired"),
            TokenError::UnregisteredRedirectUri => TokenError::UnregisteredRedirectUri,
            TokenError::UnauthorizedClient(_) => TokenError::UnauthorizedClient("no refresh"),
            TokenError::UnsupportedGrantType => TokenError::UnsupportedGrantType,
            TokenError::InvalidScope(_) => TokenError::InvalidScope("unknown scope"),
            TokenError::InvalidTarget(_) => TokenError::InvalidTarget("unknown resource"),
            TokenError::RateLimited { .. } => TokenError::RateLimited { retry_after: 3 },
            TokenError::AuthorizationPending => TokenError::AuthorizationPending,
            TokenError::SlowDown { .. } => TokenError::SlowDown { interval: 10 },
            TokenError::AccessDenied => TokenError::AccessDenied,
            TokenError::ExpiredToken => TokenError::ExpiredToken,
            TokenError::Store(_) => TokenError::Store(store()),
            TokenError::Settings(_) => TokenError::Settings(SettingsError::Store(store())),
            TokenError::Signing(_) => TokenError::Signing(KeyError::Generate),
        }),
        every!(InvalidSettings {
            InvalidSettings::Negative => InvalidSettings::Negative,
            InvalidSettings::QuotaPerUnit => InvalidSettings::QuotaPerUnit,
            InvalidSettings::RefundWindow => InvalidSettings::RefundWindow,
            InvalidSettings::TopupUrl => InvalidSettings::TopupUrl,
            InvalidSettings::Smtp => InvalidSettings::Smtp,
            InvalidSettings::VerificationWithoutMail => InvalidSettings::VerificationWithoutMail,
            InvalidSettings::QuotaTooLarge => InvalidSettings::QuotaTooLarge,
            InvalidSettings::ProviderIncomplete(_) => InvalidSettings::ProviderIncomplete(
                "无法启用 Telegram OAuth，请先填入 Telegram Bot Token！"
            ),
            InvalidSettings::Limits(_) => InvalidSettings::Limits("频率限制的次数不能为负"),
            InvalidSettings::SelfRegistered(_) => InvalidSettings::SelfRegistered(
                "dynamic_client_purge_days 必须在 1 到 3650 之间"
            ),
            InvalidSettings::Brand(_) => InvalidSettings::Brand(BrandProblem::Name),
        }),
        every!(BrandProblem {
            BrandProblem::Name => BrandProblem::Name,
            BrandProblem::LogoUrl => BrandProblem::LogoUrl,
            BrandProblem::LogoUpload => BrandProblem::LogoUpload,
            BrandProblem::AccentColor => BrandProblem::AccentColor,
            BrandProblem::Currency => BrandProblem::Currency,
            BrandProblem::Footer => BrandProblem::Footer,
            BrandProblem::PolicyUrl => BrandProblem::PolicyUrl,
        }),
        every!(SettingsUpdateError {
            SettingsUpdateError::Unknown(_) => SettingsUpdateError::Unknown("colour".into()),
            SettingsUpdateError::WrongType => SettingsUpdateError::WrongType,
            SettingsUpdateError::Stale(_) => SettingsUpdateError::Stale("register_enabled".into()),
            SettingsUpdateError::Contended => SettingsUpdateError::Contended,
            SettingsUpdateError::RootOnly(_) => SettingsUpdateError::RootOnly("smtp_host".into()),
            SettingsUpdateError::Invalid(_) => SettingsUpdateError::Invalid(InvalidSettings::Smtp),
            SettingsUpdateError::Vault(_) => SettingsUpdateError::Vault(VaultError::Encrypt),
            SettingsUpdateError::Settings(_) =>
                SettingsUpdateError::Settings(SettingsError::Corrupt("x".into())),
        }),
        every!(SettingsError {
            SettingsError::Store(_) => SettingsError::Store(store()),
            SettingsError::Corrupt(_) => SettingsError::Corrupt("bad json".into()),
        }),
        every!(UserEditError {
            UserEditError::NotFound => UserEditError::NotFound,
            UserEditError::Rank => UserEditError::Rank,
            UserEditError::RoleRootOnly => UserEditError::RoleRootOnly,
            UserEditError::SelfLockout => UserEditError::SelfLockout,
            UserEditError::Negative => UserEditError::Negative,
            UserEditError::QuotaTooLarge => UserEditError::QuotaTooLarge,
            UserEditError::TwoFactorOff => UserEditError::TwoFactorOff,
            UserEditError::Store(_) => UserEditError::Store(store()),
        }),
        every!(LimitError {
            LimitError::Exceeded { .. } => LimitError::Exceeded { retry_after: 9 },
            LimitError::Store(_) => LimitError::Store(store()),
        }),
        every!(StoreError {
            StoreError::Conflict(_) => StoreError::Conflict(Conflict::Username),
            StoreError::Backend(_) => store(),
        }),
        every!(VaultError {
            VaultError::Unknown(_) => VaultError::Unknown("smtp_password".into()),
            VaultError::Decrypt(_) => VaultError::Decrypt("smtp_password".into()),
            VaultError::Encrypt => VaultError::Encrypt,
            VaultError::Store(_) => VaultError::Store(store()),
        }),
        every!(KeyError {
            KeyError::Generate => KeyError::Generate,
            KeyError::NoKey(_) => KeyError::NoKey("RS256"),
            KeyError::Unusable(_) => KeyError::Unusable("pkcs8".into()),
            KeyError::Sign(_) => KeyError::Sign("oops".into()),
            KeyError::Store(_) => KeyError::Store(store()),
        }),
        every!(MasterKeyError {
            MasterKeyError::Format => MasterKeyError::Format,
            MasterKeyError::Decrypt => MasterKeyError::Decrypt,
            MasterKeyError::Encrypt => MasterKeyError::Encrypt,
        }),
        every!(HashError {
            HashError::Hash(_) => HashError::Hash("argon2".into()),
            HashError::Task => HashError::Task,
        }),
    ]
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
}

#[test]
fn every_variant_of_every_core_error_reads_in_both_languages() {
    let mut checked = 0;
    for (name, errors) in every_core_error() {
        for (i, e) in errors.iter().enumerate() {
            let zh = e.in_lang(Lang::Zh);
            let en = e.in_lang(Lang::En);
            assert!(zh.chars().any(is_cjk), "{name} #{i}: Chinese {zh:?}");
            assert!(
                !en.trim().is_empty() && !en.chars().any(is_cjk),
                "{name} #{i}: English {en:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked}");
}

#[test]
fn internal_details_never_reach_a_page() {
    for (name, errors) in every_core_error() {
        for e in errors {
            for lang in [Lang::Zh, Lang::En] {
                let text = e.in_lang(lang);
                for secret in ["10.0.0.1", "smtp_password", "argon2", "pkcs8", "bad json"] {
                    assert!(!text.contains(secret), "{name}: {text}");
                }
            }
        }
    }
}

#[test]
fn chinese_words_are_the_seed_messages() {
    // A failed login: the JSON API keeps new-api's words, the page says it plainly (#17: a
    // typo is not told that the account may be banned).
    let e = AccountError::InvalidCredentials;
    assert_eq!(e.to_string(), "用户名或密码错误，或用户已被封禁");
    assert_eq!(e.in_lang(Lang::Zh), "用户名或密码错误");
    assert_eq!(e.in_lang(Lang::En), "Wrong user name or password.");
    // Pages in Chinese read as they did: the core's own Chinese text.
    for e in [
        AccountError::RegistrationClosed,
        AccountError::BadVerificationCode,
    ] {
        assert_eq!(e.in_lang(Lang::Zh), e.to_string());
    }
    for e in [
        PasskeyError::SignInAgain,
        PasskeyError::NoChallenge,
        PasskeyError::Rejected,
        PasskeyError::UnknownCredential,
        PasskeyError::CounterRegression,
        PasskeyError::LastWayIn,
        PasskeyError::NotFound,
        PasskeyError::InvalidName,
    ] {
        assert_eq!(e.in_lang(Lang::Zh), e.to_string());
    }
    for e in [
        EmailError::InvalidAddress,
        EmailError::NoSmtp,
        EmailError::BadCode,
        EmailError::AddressTaken,
        EmailError::BadResetLink,
    ] {
        assert_eq!(e.in_lang(Lang::Zh), e.to_string());
    }
    for e in [
        ResourceError::Identifier,
        ResourceError::IssuerIdentifier,
        ResourceError::Name,
        ResourceError::ScopeName,
        ResourceError::ScopeDescription,
        ResourceError::ScopeCount,
        ResourceError::TokenFormat,
        ResourceError::SigningAlg,
        ResourceError::Ttl,
        ResourceError::NotFound,
        ResourceError::Taken,
        ResourceError::IntrospectionClient,
    ] {
        assert_eq!(e.in_lang(Lang::Zh), e.to_string());
    }
    assert_eq!(
        AuthorizeError::UnknownClient.in_lang(Lang::Zh),
        AuthorizeError::UnknownClient.to_string()
    );
    assert_eq!(
        TopUpError::Throttled { retry_after: 5 }.in_lang(Lang::Zh),
        TopUpError::Throttled { retry_after: 5 }.to_string()
    );
}
