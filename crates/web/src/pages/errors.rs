//! The core's errors as the pages show them, in the page's language. The core's `Display`
//! strings are the seed-fixed API messages (mostly Chinese) and stay the APIs' business; pages
//! translate the error's kind here instead. Every arm gives both languages, and no match has a
//! wildcard, so a new variant does not compile until it has its words.

use super::{Lang, Texts};
use crate::envelope::ApiError;
use axum::http::StatusCode;
use keyward_core::StoreError;
use keyward_core::accounts::admin::UserEditError;
use keyward_core::accounts::deletion::DeletionError;
use keyward_core::accounts::email::EmailError;
use keyward_core::accounts::federation::FederationError;
use keyward_core::accounts::passkeys::PasskeyError;
use keyward_core::accounts::two_factor::TwoFactorError;
use keyward_core::accounts::validate::FieldError;
use keyward_core::accounts::{AccountError, HashError};
use keyward_core::billing::topup::TopUpError;
use keyward_core::limits::LimitError;
use keyward_core::oauth::TokenError;
use keyward_core::oauth::apps::AppError;
use keyward_core::oauth::authorize::AuthorizeError;
use keyward_core::oauth::metadata_document::DocumentError;
use keyward_core::oauth::redirect_uri::RedirectUriError;
use keyward_core::oauth::resources::ResourceError;
use keyward_core::oauth::scope::UnknownScope;
use keyward_core::oidc::KeyError;
use keyward_core::oidc::master_key::MasterKeyError;
use keyward_core::settings::{BrandProblem, InvalidSettings, SettingsError, SettingsUpdateError};
use keyward_core::vault::VaultError;
use std::borrow::Cow;

/// A message in both languages; `Cow` so that fixed words cost no allocation.
type Words = (Cow<'static, str>, Cow<'static, str>);

/// A core error a page can show.
pub trait PageMessage {
    /// The message in Chinese and in English.
    fn words(&self) -> Words;

    fn in_lang(&self, lang: Lang) -> Cow<'static, str> {
        let (zh, en) = self.words();
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// A core error that stops a page's form, sorted the way the JSON API sorts it.
pub enum Refusal {
    /// The user's: the page shows its words, in the page's language, with the API's status.
    Shown(StatusCode, String),
    /// Ours: its details are for the log, the user gets the unavailable page.
    Ours(String),
}

impl Refusal {
    pub fn of<E: PageMessage + Into<ApiError>>(t: &Texts, e: E) -> Self {
        let words = t.error(&e);
        match e.into() {
            ApiError::Internal(detail) => Self::Ours(detail),
            answer => Self::Shown(answer.status(), words),
        }
    }
}

fn fixed(zh: &'static str, en: &'static str) -> Words {
    (Cow::Borrowed(zh), Cow::Borrowed(en))
}

/// Our failure, not the user's: details go to the log, never onto a page.
fn unavailable() -> Words {
    fixed("服务暂时不可用", "Temporarily unavailable.")
}

fn throttled(retry_after: i64) -> Words {
    (
        Cow::Owned(format!("尝试次数过多，请 {retry_after} 秒后再试")),
        Cow::Owned(format!(
            "Too many attempts; try again in {retry_after} seconds."
        )),
    )
}

impl PageMessage for AccountError {
    fn words(&self) -> Words {
        match self {
            Self::InvalidCredentials => fixed("用户名或密码错误", "Wrong user name or password."),
            Self::Throttled { retry_after } => throttled(*retry_after),
            Self::RegistrationClosed => fixed(
                "管理员关闭了新用户注册",
                "New accounts are closed by the administrator.",
            ),
            Self::PasswordRegistrationClosed => fixed(
                "管理员关闭了通过密码进行注册，请使用第三方账户验证的形式进行注册",
                "Sign-up with a password is closed; sign up with another account instead.",
            ),
            Self::PasswordLoginClosed => fixed(
                "管理员关闭了密码登录",
                "Password login is closed by the administrator.",
            ),
            Self::UsernameTaken => fixed(
                "用户名已存在，或已注销",
                "That user name is taken or was used by a deleted account.",
            ),
            Self::WrongCurrentPassword => fixed("原密码错误", "The current password is wrong."),
            Self::EmailVerificationRequired => fixed(
                "管理员开启了邮箱验证，请输入邮箱地址和验证码",
                "E-mail verification is required: enter your address and the code sent to it.",
            ),
            Self::BadVerificationCode => fixed(
                "验证码错误或已过期",
                "The verification code is wrong or has expired.",
            ),
            Self::Invalid(field) => field.words(),
            Self::Store(_) | Self::Hash(_) => unavailable(),
        }
    }
}

impl PageMessage for EmailError {
    fn words(&self) -> Words {
        match self {
            Self::InvalidAddress => fixed("无效的邮箱地址", "That is not a valid e-mail address."),
            Self::NoSmtp => fixed(
                "管理员未配置 SMTP，无法发送邮件",
                "No mail can be sent: the administrator has not set up SMTP.",
            ),
            Self::BadCode => fixed(
                "验证码无效或已过期",
                "The verification code is wrong or has expired.",
            ),
            Self::AddressTaken => {
                fixed("邮箱地址已被占用", "That e-mail address is already in use.")
            }
            Self::BadResetLink => fixed(
                "重置链接非法或已过期",
                "The reset link is not valid or has expired.",
            ),
            Self::ChangeNeeded => fixed(
                "账户已有验证过的邮箱，请在账户安全页更换邮箱",
                "This account has a verified address already: change it under e-mail change.",
            ),
            Self::SameAddress => fixed("新邮箱与当前邮箱相同", "That is already your address."),
            Self::Account(e) => e.words(),
            Self::Settings(e) => e.words(),
            Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for FieldError {
    fn words(&self) -> Words {
        match self {
            Self::Username => fixed(
                "用户名长度须为 1-20 个字符，只能包含字母、数字、下划线、点和连字符",
                "User names are 1-20 characters: letters, digits, underscore, dot and hyphen.",
            ),
            Self::Password => fixed(
                "密码长度须为 8-128 个字符",
                "Passwords are 8-128 characters long.",
            ),
            Self::DisplayName => fixed(
                "显示名称不能超过 20 个字符，且不能包含控制字符",
                "Display names are at most 20 characters, without control characters.",
            ),
            Self::Email => fixed("邮箱地址格式不正确", "That is not a valid e-mail address."),
        }
    }
}

impl PageMessage for TopUpError {
    fn words(&self) -> Words {
        match self {
            Self::BadCount => fixed(
                "生成数量必须在 1 到 100 之间",
                "Generate between 1 and 100 codes.",
            ),
            Self::BadAmount => fixed(
                "额度必须为正整数",
                "The amount must be a positive whole number.",
            ),
            Self::BadExpiry => fixed("过期时间必须晚于现在", "The expiry must be in the future."),
            Self::BadLabel => fixed(
                "名称不能超过 64 个字符",
                "The label may be at most 64 characters long.",
            ),
            Self::InvalidCode => fixed(
                "充值码无效或已被使用",
                "The top-up code is not valid or was already used.",
            ),
            Self::QuotaFull => fixed(
                "额度已达上限，无法兑换",
                "Your balance is at its maximum; this code cannot be redeemed.",
            ),
            Self::Throttled { retry_after } => throttled(*retry_after),
            Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for TwoFactorError {
    fn words(&self) -> Words {
        match self {
            Self::AlreadyEnabled => fixed("两步验证已开启", "Two-factor login is already on."),
            Self::NotEnabled => fixed("两步验证未开启", "Two-factor login is not on."),
            Self::NotStarted => fixed("请先生成两步验证密钥", "Start the two-factor setup first."),
            Self::WrongCode => fixed("验证码错误", "Wrong code."),
            Self::Throttled { retry_after } => throttled(*retry_after),
            Self::Secret(_) | Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for PasskeyError {
    fn words(&self) -> Words {
        let (zh, en) = match self {
            Self::Unavailable => (
                "通行密钥需要以域名访问本站",
                "Passkeys need this site to be reached by a host name.",
            ),
            Self::SignInAgain => (
                "请重新登录后再添加通行密钥",
                "Sign in again before adding a passkey.",
            ),
            Self::NoChallenge => ("验证已过期，请重试", "That took too long; try again."),
            Self::Rejected => ("通行密钥验证失败", "The passkey was not accepted."),
            Self::UnknownCredential => (
                "通行密钥不存在或已被删除",
                "That passkey is unknown here or was removed.",
            ),
            Self::CounterRegression => (
                "通行密钥的签名计数异常，已拒绝；请联系管理员",
                "That passkey looks copied and was refused; contact the administrator.",
            ),
            Self::AlreadyRegistered => {
                ("该通行密钥已被注册", "That passkey is registered already.")
            }
            Self::TooMany => (
                "通行密钥数量已达上限",
                "You have as many passkeys as allowed.",
            ),
            Self::LastWayIn => (
                "这是账户的最后一种登录方式，不能删除",
                "It is the last way into your account; it cannot be removed.",
            ),
            Self::NotFound => ("通行密钥不存在", "No such passkey."),
            Self::InvalidName => (
                "通行密钥名称须为 1 到 64 个字符",
                "A passkey's name is 1 to 64 characters.",
            ),
            Self::Malformed => ("请求格式错误", "The request was malformed."),
            Self::Disabled => ("用户已被封禁", "The account is disabled."),
            Self::Rank => (
                "无权更新同权限等级或更高权限等级的用户信息",
                "You cannot change accounts of your rank or above.",
            ),
            Self::Throttled { retry_after } => {
                return throttled(*retry_after);
            }
            Self::Store(_) | Self::State(_) => ("服务暂时不可用", "Temporarily unavailable."),
        };
        fixed(zh, en)
    }
}

impl PageMessage for FederationError {
    fn words(&self) -> Words {
        match self {
            Self::RegistrationClosed => AccountError::RegistrationClosed.words(),
            Self::UserDisabled => fixed("用户已被封禁", "The account is disabled."),
            Self::AlreadyBound(provider) => (
                Cow::Owned(format!("该 {provider} 账户已被绑定")),
                Cow::Owned(format!(
                    "This {provider} account is already linked to another user."
                )),
            ),
            Self::ProviderTaken(provider) => (
                Cow::Owned(format!("你已绑定了另一个 {provider} 账户，请先解绑")),
                Cow::Owned(format!(
                    "You have linked another {provider} account; unlink it first."
                )),
            ),
            Self::NotBound(provider) => (
                Cow::Owned(format!("该 {provider} 账户未绑定")),
                Cow::Owned(format!("No {provider} account is linked.")),
            ),
            Self::NotLinked => fixed("未绑定该账户", "That account is not linked."),
            Self::LastWayIn => fixed(
                "这是你唯一的登录方式，请先设置密码或绑定其他账户",
                "This is your only way to sign in: set a password or link another account first.",
            ),
            Self::Account(e) => e.words(),
        }
    }
}

impl PageMessage for AppError {
    fn words(&self) -> Words {
        match self {
            Self::Name => fixed(
                "应用名称不能为空，且不能超过 50 个字符",
                "The name must not be empty and at most 50 characters long.",
            ),
            Self::Description => fixed(
                "应用描述不能超过 500 个字符",
                "The description may be at most 500 characters long.",
            ),
            Self::RedirectUriCount => fixed(
                "至少需要一个重定向 URI，最多 10 个",
                "Give at least one and at most 10 redirect URIs.",
            ),
            Self::RedirectUri(e) => e.words(),
            Self::Scope => fixed("不支持的权限范围", "Choose at least one supported scope."),
            Self::GrantType => fixed("不支持的授权类型", "Unsupported grant type."),
            Self::Resource => fixed(
                "资源列表无效：每项须是已注册资源的标识，最多 20 个",
                "Each entry must be a registered resource's identifier; at most 20.",
            ),
            Self::IdTokenAlg => fixed(
                "不支持的 id_token 签名算法",
                "Unsupported id_token signing algorithm.",
            ),
            Self::AuthMethod => fixed(
                "客户端认证方式无效：公开客户端只能用 none，private_key_jwt 需要 jwks 或 jwks_uri 之一",
                "Invalid token_endpoint_auth_method: public apps use none, and private_key_jwt needs one of jwks and jwks_uri.",
            ),
            Self::JwksUri => fixed(
                "jwks_uri 必须是带路径的 https 地址",
                "jwks_uri must be an https URL with a path.",
            ),
            Self::Jwks(e) => (Cow::Borrowed("jwks 无效"), Cow::Owned(e.to_string())),
            Self::PublicClientCredentials => fixed(
                "公开客户端不能使用 client_credentials",
                "Public clients cannot use client_credentials.",
            ),
            Self::NotFound => fixed("应用不存在", "No such app."),
            Self::LogoUri => fixed(
                "Logo 地址必须是 https 地址",
                "The logo must be an https address.",
            ),
            Self::HomepageUri => fixed(
                "主页地址必须是 https 地址",
                "The homepage must be an https address.",
            ),
            Self::PolicyUri => fixed(
                "隐私政策地址必须是 https 地址",
                "The privacy policy must be an https address.",
            ),
            Self::NotEditable => fixed(
                "自行注册的客户端不能在这里修改",
                "A self-registered client cannot be changed here.",
            ),
            Self::PostLogoutUri(e) => {
                let (zh, en) = e.words();
                (
                    Cow::Owned(format!("登出后重定向 URI：{zh}")),
                    Cow::Owned(format!("Post-logout redirect URI: {en}")),
                )
            }
            Self::NoPendingChange => {
                fixed("没有待审核的修改", "There is no change waiting for review.")
            }
            Self::NoSecret => fixed(
                "该应用不使用密钥（公开客户端或 private_key_jwt）",
                "This app has no client secret (public or private_key_jwt).",
            ),
            Self::NotApproved => fixed("应用尚未通过审核", "The app has not been approved yet."),
            Self::Grace => fixed(
                "宽限期不能超过 7 天",
                "The grace period may be at most 7 days.",
            ),
            Self::WrongState => fixed(
                "该操作不适用于应用当前的状态",
                "This action does not apply to the app's current status.",
            ),
            Self::Store(_) | Self::Settings(_) => unavailable(),
        }
    }
}

impl PageMessage for ResourceError {
    fn words(&self) -> Words {
        match self {
            Self::Identifier => fixed(
                "资源标识必须是绝对 https URI（仅回环地址可用 http），不能含片段或用户信息，最长 512 个字符",
                "The identifier must be an absolute https URI (http only for loopback addresses), without a fragment or user name, at most 512 characters.",
            ),
            Self::IssuerIdentifier => fixed(
                "资源标识不能是本站的 issuer",
                "The identifier may not be this server's issuer.",
            ),
            Self::Name => fixed(
                "资源名称不能为空，且不能超过 50 个字符",
                "The name must not be empty and at most 50 characters long.",
            ),
            Self::ScopeName => fixed(
                "权限名称无效：1 到 64 个可见 ASCII 字符，不含空格、引号和反斜杠，不能重复，也不能是内置权限",
                "A scope name is 1 to 64 visible ASCII characters without spaces, quotes or backslashes, appears once, and is not a built-in scope.",
            ),
            Self::ScopeDescription => fixed(
                "权限说明不能超过 200 个字符",
                "A scope description may be at most 200 characters long.",
            ),
            Self::ScopeCount => fixed("最多 50 个权限", "At most 50 scopes."),
            Self::TokenFormat => fixed("不支持的访问令牌格式", "Unsupported access token format."),
            Self::SigningAlg => fixed("不支持的签名算法", "Unsupported signing algorithm."),
            Self::Ttl => fixed(
                "访问令牌有效期超出范围（不透明令牌 60 到 86400 秒，JWT 60 到 3600 秒）",
                "The access token lifetime is out of range (60 to 86400 seconds for opaque tokens, 60 to 3600 for JWTs).",
            ),
            Self::NotFound => fixed("资源不存在", "No such API."),
            Self::Taken => fixed(
                "该资源标识已被注册",
                "That identifier is already registered.",
            ),
            Self::IntrospectionClient => fixed(
                "用于令牌内省的应用必须是已存在的机密客户端",
                "The introspection app must be an existing confidential app.",
            ),
            Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for RedirectUriError {
    fn words(&self) -> Words {
        match self {
            Self::NotAbsoluteHttp => fixed(
                "重定向 URI 必须是完整的 http/https 地址",
                "Redirect URIs must be absolute http or https URLs.",
            ),
            Self::Fragment => fixed(
                "重定向 URI 不能包含片段 (#)",
                "A redirect URI may not have a fragment (#).",
            ),
            Self::Userinfo => fixed(
                "重定向 URI 不能包含用户名或密码",
                "A redirect URI may not contain a user name or password.",
            ),
            Self::InsecureHttp => fixed(
                "非本机地址的重定向 URI 必须使用 https",
                "A redirect URI must use https unless it points at this machine.",
            ),
            Self::TooLong => fixed("重定向 URI 过长", "The redirect URI is too long."),
            Self::PrivateUseScheme => fixed(
                "自定义协议的重定向 URI 只能用于公开客户端（原生应用），且协议名须为反向域名，如 com.example.app:/callback",
                "Custom-scheme redirect URIs are for native (public) apps only, and the scheme must be a reversed domain name, such as com.example.app:/callback.",
            ),
        }
    }
}

impl PageMessage for AuthorizeError {
    fn words(&self) -> Words {
        match self {
            Self::UnknownClient => fixed("无效的客户端 ID", "Unknown or unapproved app."),
            Self::ClientDocument(why) => why.words(),
            Self::MissingRedirectUri => fixed("缺少重定向 URI", "The redirect URI is missing."),
            Self::UnregisteredRedirectUri => fixed(
                "无效的重定向 URI",
                "The redirect URI is not registered for this app.",
            ),
        }
    }
}

/// A client that names itself by a metadata document URL and cannot be used. The reason a fetch
/// failed stays in the log: it may name addresses.
impl PageMessage for DocumentError {
    fn words(&self) -> Words {
        match self {
            Self::Disabled => fixed(
                "本站未开启客户端元数据文档",
                "This server does not accept client metadata documents.",
            ),
            Self::Url(_) => fixed(
                "客户端 ID 不是可用的元数据文档地址",
                "The client_id is not a usable metadata document URL.",
            ),
            Self::HostNotAllowed => fixed(
                "本站不接受来自该主机的客户端",
                "This server does not accept clients from that host.",
            ),
            Self::Blocked => fixed(
                "管理员已封禁该客户端",
                "An administrator blocked this client.",
            ),
            Self::Unreachable(_) => fixed(
                "无法获取客户端元数据文档",
                "The client's metadata document could not be fetched.",
            ),
            Self::ClientIdMismatch => fixed(
                "客户端元数据文档中的 client_id 与其地址不符",
                "The metadata document's client_id is not its own URL.",
            ),
            Self::Invalid(detail) => (
                Cow::Borrowed("客户端元数据文档无效"),
                Cow::Owned(format!(
                    "The client's metadata document is not valid: {detail}."
                )),
            ),
            Self::RedirectUri(e) => {
                let (zh, en) = e.words();
                (
                    Cow::Owned(format!("客户端元数据文档中的重定向 URI 无效：{zh}")),
                    Cow::Owned(format!(
                        "A redirect URI in the client's metadata document is not valid: {en}"
                    )),
                )
            }
            Self::Jwks(e) => (
                Cow::Borrowed("客户端元数据文档中的 jwks 无效"),
                Cow::Owned(format!(
                    "The client's metadata document has a bad jwks: {e}."
                )),
            ),
        }
    }
}

impl PageMessage for UnknownScope {
    fn words(&self) -> Words {
        fixed("未知的权限范围", "Unknown scope.")
    }
}

/// The token endpoints answer in their own envelopes; these words are for a page that shows
/// the same failure. The detail texts are the protocol's (English); Chinese gets the kind.
impl PageMessage for TokenError {
    fn words(&self) -> Words {
        match self {
            Self::InvalidRequest(detail) => (
                Cow::Borrowed("请求参数错误"),
                Cow::Owned(format!("Invalid request: {detail}.")),
            ),
            Self::UnknownClient => fixed("无效的客户端 ID", "Unknown or unapproved app."),
            Self::BadClientSecret => fixed("无效的客户端密钥", "Wrong client secret."),
            Self::BadClientAssertion(_) => fixed(
                "无效的客户端断言",
                "The client assertion (private_key_jwt) was refused.",
            ),
            Self::InvalidGrant(_) => fixed(
                "无效或已过期的授权码",
                "The code or token is invalid or has expired.",
            ),
            Self::UnregisteredRedirectUri => AuthorizeError::UnregisteredRedirectUri.words(),
            Self::UnauthorizedClient(_) => fixed(
                "客户端无权使用该授权类型",
                "This app may not use that grant type.",
            ),
            Self::UnsupportedGrantType => fixed("不支持的授权类型", "Unsupported grant type."),
            Self::InvalidScope(_) => fixed("无效的权限范围", "Invalid scope."),
            Self::InvalidTarget(_) => fixed("无效的资源", "Invalid resource."),
            Self::RateLimited { retry_after } => throttled(*retry_after),
            Self::AuthorizationPending => fixed("等待用户授权", "The user has not answered yet."),
            Self::SlowDown { .. } => fixed("轮询过于频繁，请放慢速度", "Polling too fast."),
            Self::AccessDenied => fixed("用户拒绝了授权", "The user denied the request."),
            Self::ExpiredToken => fixed("设备码已过期", "The device code has expired."),
            Self::Store(_) | Self::Settings(_) | Self::Signing(_) => unavailable(),
        }
    }
}

impl PageMessage for InvalidSettings {
    fn words(&self) -> Words {
        match self {
            Self::Negative => fixed("数值不能为负", "Numbers may not be negative."),
            Self::QuotaPerUnit => fixed(
                "quota_per_unit 必须为正数",
                "quota_per_unit must be positive.",
            ),
            Self::RefundWindow => fixed(
                "refund_window_secs 必须在 1 秒到 1 年之间",
                "refund_window_secs must be between 1 second and 1 year.",
            ),
            Self::TopupUrl => fixed(
                "topup_url 必须是 http(s) 地址或站内路径",
                "topup_url must be an http(s) URL or a path on this site.",
            ),
            Self::Smtp => fixed("SMTP 设置不正确", "The SMTP settings are not valid."),
            Self::VerificationWithoutMail => fixed(
                "无法开启邮箱验证，请先配置邮件（SMTP）服务器",
                "E-mail verification cannot be turned on before a mail (SMTP) server is set up.",
            ),
            Self::QuotaTooLarge => (
                Cow::Owned(format!(
                    "quota_for_new_user 不能超过 {}",
                    keyward_core::billing::MAX_QUOTA
                )),
                Cow::Owned(format!(
                    "quota_for_new_user may be at most {}.",
                    keyward_core::billing::MAX_QUOTA
                )),
            ),
            // new-api's message names the provider and what it needs.
            Self::ProviderIncomplete(message) => (
                Cow::Borrowed(message),
                Cow::Borrowed(
                    "This sign-in provider cannot be turned on until its settings are complete.",
                ),
            ),
            Self::Limits(message) => (
                Cow::Borrowed(message),
                Cow::Borrowed(
                    "A rate limit or the refresh grace period is out of its bounds \
                     (counts not negative, windows 1 second to 1 day, grace 0-120 seconds).",
                ),
            ),
            Self::SelfRegistered(message) => (
                Cow::Borrowed(message),
                Cow::Borrowed(
                    "A rule for self-registered clients cannot be applied: host lists hold \
                     lower-case host names or *.domain (at most 100 each), scopes must be known, \
                     at most 100 APIs, purge after 1 to 3650 days.",
                ),
            ),
            Self::Brand(problem) => problem.words(),
        }
    }
}

impl PageMessage for BrandProblem {
    fn words(&self) -> Words {
        let en = match self {
            Self::Name => "The system name must be 1 to 40 characters, without control characters.",
            Self::LogoUrl => "The logo address must be an https URL.",
            Self::LogoUpload => {
                "The uploaded logo must be a PNG, JPEG, GIF or WebP image of at most 128 KB."
            }
            Self::AccentColor => "The accent colour must be written #rrggbb.",
            Self::Currency => "The currency symbol may have at most 8 characters.",
            Self::Footer => {
                "The footer line may have at most 200 characters, without control characters."
            }
            Self::PolicyUrl => "The terms and privacy links must be http(s) URLs.",
        };
        (Cow::Owned(self.to_string()), Cow::Borrowed(en))
    }
}

impl PageMessage for SettingsUpdateError {
    fn words(&self) -> Words {
        match self {
            Self::Unknown(key) => (
                Cow::Owned(format!("未知的设置项: {key}")),
                Cow::Owned(format!("Unknown setting: {key}")),
            ),
            Self::WrongType => fixed(
                "设置项的值类型不正确",
                "A setting has a value of the wrong type.",
            ),
            Self::Stale(key) => (
                Cow::Owned(format!(
                    "此设置在页面打开后已被他人修改，未保存任何更改，请刷新后重试: {key}"
                )),
                Cow::Owned(format!(
                    "Someone else changed this setting after the page was opened; nothing was \
                     saved. Reload the page and try again: {key}"
                )),
            ),
            Self::Contended => fixed(
                "设置正被同时修改，未保存任何更改，请稍后重试",
                "The settings are being changed by others right now; nothing was saved. \
                 Try again.",
            ),
            Self::RootOnly(key) => (
                Cow::Owned(format!("只有超级管理员可以修改此设置: {key}")),
                Cow::Owned(format!("Only root may change this setting: {key}")),
            ),
            Self::Invalid(e) => e.words(),
            Self::Vault(e) => e.words(),
            Self::Settings(e) => e.words(),
        }
    }
}

impl PageMessage for SettingsError {
    fn words(&self) -> Words {
        match self {
            Self::Store(_) | Self::Corrupt(_) => unavailable(),
        }
    }
}

impl PageMessage for UserEditError {
    fn words(&self) -> Words {
        match self {
            Self::NotFound => fixed("用户不存在", "No such user."),
            Self::TwoFactorOff => fixed(
                "该用户未开启两步验证",
                "This user does not have two-factor authentication on.",
            ),
            Self::Rank => fixed(
                "无权更新同权限等级或更高权限等级的用户信息",
                "You may not change users of your own rank or above.",
            ),
            Self::RoleRootOnly => {
                fixed("只有超级管理员可以修改角色", "Only root may change roles.")
            }
            Self::SelfLockout => fixed(
                "不能禁用或降级自己",
                "You cannot disable or demote yourself.",
            ),
            Self::Negative => fixed("数值不能为负", "Numbers may not be negative."),
            Self::QuotaTooLarge => (
                Cow::Owned(format!("额度不能超过 {}", keyward_core::billing::MAX_QUOTA)),
                Cow::Owned(format!(
                    "A quota may be at most {}.",
                    keyward_core::billing::MAX_QUOTA
                )),
            ),
            Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for LimitError {
    fn words(&self) -> Words {
        match self {
            Self::Exceeded { retry_after } => throttled(*retry_after),
            Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for StoreError {
    fn words(&self) -> Words {
        match self {
            Self::Conflict { .. } => fixed(
                "数据已存在，请勿重复提交",
                "That already exists; it was not saved twice.",
            ),
            Self::Backend(_) => unavailable(),
        }
    }
}

/// The internal failures below never reach a user as anything but "unavailable"; they are
/// listed so that a page handed one cannot print its details.
impl PageMessage for VaultError {
    fn words(&self) -> Words {
        match self {
            Self::Unknown(_) | Self::Decrypt(_) | Self::Encrypt | Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for KeyError {
    fn words(&self) -> Words {
        match self {
            Self::Generate
            | Self::NoKey(_)
            | Self::Unusable(_)
            | Self::Sign(_)
            | Self::Store(_) => unavailable(),
        }
    }
}

impl PageMessage for MasterKeyError {
    fn words(&self) -> Words {
        match self {
            Self::Format | Self::Decrypt | Self::Encrypt => unavailable(),
        }
    }
}

impl PageMessage for HashError {
    fn words(&self) -> Words {
        match self {
            Self::Hash(_) | Self::Task => unavailable(),
        }
    }
}

impl PageMessage for DeletionError {
    fn words(&self) -> Words {
        match self {
            Self::NotFound => fixed("用户不存在", "No such user."),
            Self::Confirmation => fixed(
                "请输入该账户的用户名以确认注销",
                "Type the account's user name to confirm the deletion.",
            ),
            Self::Rank => fixed(
                "无权注销同权限等级或更高权限等级的用户",
                "You cannot delete an account of your rank or above.",
            ),
            Self::LastRoot => fixed(
                "不能注销最后一个超级管理员账户",
                "The last root account cannot be deleted.",
            ),
            Self::Store(_) => unavailable(),
        }
    }
}

#[cfg(test)]
mod tests;
