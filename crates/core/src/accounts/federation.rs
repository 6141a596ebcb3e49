//! Logging in, registering and binding with an upstream identity. What a callback may do is
//! fixed by the intent recorded when the flow started — never decided at callback time, so a
//! logged-in user who clicks "log in with X" cannot silently bind X.

use super::{AccountError, Accounts};
use crate::audit::{self, action};
use crate::limits::{self, LimitError};
use crate::model::{Identity, NewUser, Role, UpstreamState, User, UserId};
use crate::secret::{ALPHANUMERIC, SecretHash, random_string};
use crate::settings::Settings;
use crate::store::{Conflict, StoreError, Unlink};
use crate::telemetry::{self, LoginMethod};

/// Who an upstream provider says the user is (see `keyward-upstream`).
#[derive(Debug, Clone)]
pub struct FederatedIdentity {
    pub provider: String,
    /// The provider's name for humans: `GitHub`, `OIDC`, `Linux DO`, `微信`, `Telegram`.
    pub provider_label: &'static str,
    pub subject: String,
    pub display_name: String,
    pub verified_email: Option<String>,
    pub avatar_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Login,
    Bind(UserId),
}

#[derive(Debug)]
pub enum Outcome {
    LoggedIn(User),
    Registered(User),
    Bound(User),
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("管理员关闭了新用户注册")]
    RegistrationClosed,
    #[error("用户已被封禁")]
    UserDisabled,
    #[error("该 {0} 账户已被绑定")]
    AlreadyBound(&'static str),
    #[error("你已绑定了另一个 {0} 账户，请先解绑")]
    ProviderTaken(&'static str),
    #[error("该 {0} 账户未绑定")]
    NotBound(&'static str),
    #[error("未绑定该账户")]
    NotLinked,
    #[error("这是你唯一的登录方式，请先设置密码或绑定其他账户")]
    LastWayIn,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<StoreError> for FederationError {
    fn from(e: StoreError) -> Self {
        Self::Account(AccountError::Store(e))
    }
}

/// Whether an unknown identity may create an account, and with what.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationPolicy {
    pub allowed: bool,
    pub quota_for_new_user: i64,
}

impl Accounts {
    /// Remembers a started upstream flow (its state, PKCE verifier, nonce and intent) until the
    /// callback takes it.
    pub async fn start_upstream_flow(&self, flow: UpstreamState) -> Result<(), StoreError> {
        self.store.create_upstream_state(flow).await
    }

    /// Takes (once) the flow whose state is `value`, if it was started by this browser (the hash
    /// of its flow cookie) for `provider` (or for any provider). `None` for anything else: an
    /// unknown, used or expired state, or another browser's.
    pub async fn take_upstream_flow(
        &self,
        value: &str,
        browser_cookie: Option<&str>,
        provider: &str,
    ) -> Result<Option<UpstreamState>, StoreError> {
        if value.is_empty() || value.len() > 128 {
            return Ok(None);
        }
        let Some(taken) = self
            .store
            .take_upstream_state(&SecretHash::of(value), self.clock.now())
            .await?
        else {
            return Ok(None);
        };
        let same_browser = browser_cookie.map(SecretHash::of).is_some_and(|b| {
            crate::secret::constant_time_eq(b.as_bytes(), taken.browser_hash.as_bytes())
        });
        let right_provider = taken.provider.is_empty() || taken.provider == provider;
        Ok((same_browser && right_provider).then_some(taken))
    }

    /// Checks a WeChat scan code, which is short, as one guess: a slot of the IP's budget (and
    /// the account's, when binding) is taken before `lookup` asks the verification server, kept
    /// when the code was wrong (`Ok(None)`), given back otherwise. While a budget is spent, no
    /// code is tried at all.
    pub async fn check_wechat_code<E>(
        &self,
        settings: &Settings,
        ip: &str,
        binding: Option<UserId>,
        lookup: impl Future<Output = Result<Option<FederatedIdentity>, E>>,
    ) -> Result<Option<FederatedIdentity>, E>
    where
        E: From<LimitError>,
    {
        let mut budget = vec![(
            limits::key("wechat:ip", ip),
            settings.wechat_failures_per_ip(),
        )];
        if let Some(id) = binding {
            budget.push((
                limits::key("wechat:account", &id.to_string()),
                settings.wechat_failures_per_account(),
            ));
        }
        self.limiter
            .attempt(&budget, |outcome| matches!(outcome, Ok(None)), lookup)
            .await
    }

    /// Unbinds `user`'s `provider` identity, unless it is the account's last way to log in
    /// (no password, no other identity): the store judges that and unlinks in one step, so two
    /// unlinks at once cannot remove the last two ways in. Audited.
    pub async fn unlink_identity(
        &self,
        user: &User,
        provider: &str,
        ip: &str,
    ) -> Result<(), FederationError> {
        match self
            .store
            .unlink_identity_keeping_a_way_in(user.id, provider)
            .await?
        {
            Unlink::Unlinked => {}
            Unlink::NotLinked => return Err(FederationError::NotLinked),
            Unlink::LastWayIn => return Err(FederationError::LastWayIn),
        }
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(user.id),
            action::IDENTITY_UNLINKED,
            user.id.to_string(),
            serde_json::json!({ "provider": provider }),
            ip,
        )
        .await;
        Ok(())
    }

    pub async fn federate(
        &self,
        intent: Intent,
        identity: &FederatedIdentity,
        registration: RegistrationPolicy,
        aff_code: Option<&str>,
        ip: &str,
    ) -> Result<Outcome, FederationError> {
        let owner = self
            .store
            .identity(&identity.provider, &identity.subject)
            .await?;
        match intent {
            Intent::Bind(user_id) => self.bind(user_id, owner, identity, ip).await,
            Intent::Login => {
                let outcome = self
                    .upstream_login(owner, identity, registration, aff_code, ip)
                    .await;
                // A success is counted with its sign-in record, on the one login path.
                if let Err(e) = &outcome {
                    let reason = match e {
                        FederationError::RegistrationClosed => "registration_closed",
                        FederationError::UserDisabled => "account_disabled",
                        _ => "error",
                    };
                    telemetry::login(LoginMethod::Upstream(&identity.provider), reason);
                    tracing::warn!(
                        target: telemetry::SECURITY_TARGET,
                        event = "login_failed",
                        method = %format!("upstream:{}", identity.provider),
                        reason,
                        client = %ip,
                        "upstream sign-in refused"
                    );
                }
                outcome
            }
        }
    }

    async fn upstream_login(
        &self,
        owner: Option<Identity>,
        identity: &FederatedIdentity,
        registration: RegistrationPolicy,
        aff_code: Option<&str>,
        ip: &str,
    ) -> Result<Outcome, FederationError> {
        match owner {
            Some(linked) => {
                let user = self.enabled_user(linked.user_id).await?;
                self.store.record_login(user.id, self.clock.now()).await?;
                Ok(Outcome::LoggedIn(user))
            }
            None if !registration.allowed => Err(FederationError::RegistrationClosed),
            None => {
                self.register_federated(identity, registration, aff_code, ip)
                    .await
            }
        }
    }

    /// The account an identity leads to; a disabled or deleted one is `UserDisabled`.
    async fn enabled_user(&self, user_id: UserId) -> Result<User, FederationError> {
        self.store
            .user_by_id(user_id)
            .await?
            .filter(User::is_enabled)
            .ok_or(FederationError::UserDisabled)
    }

    async fn bind(
        &self,
        user_id: UserId,
        owner: Option<Identity>,
        identity: &FederatedIdentity,
        ip: &str,
    ) -> Result<Outcome, FederationError> {
        let user = self.enabled_user(user_id).await?;
        // An identity that belongs to another account is never moved.
        if let Some(owner) = owner {
            return if owner.user_id == user.id {
                Ok(Outcome::Bound(user))
            } else {
                Err(FederationError::AlreadyBound(identity.provider_label))
            };
        }
        let link = Identity {
            provider: identity.provider.clone(),
            subject: identity.subject.clone(),
            user_id: user.id,
            display: identity.display_name.clone(),
            created_at: self.clock.now(),
        };
        match self.store.link_identity(link).await {
            Ok(()) => {
                let detail = serde_json::json!({ "provider": identity.provider });
                self.record_change(user.id, user.id, action::IDENTITY_LINKED, detail, ip)
                    .await;
                Ok(Outcome::Bound(user))
            }
            Err(StoreError::Conflict(Conflict::Identity)) => {
                Err(FederationError::AlreadyBound(identity.provider_label))
            }
            Err(StoreError::Conflict(Conflict::IdentityProvider)) => {
                Err(FederationError::ProviderTaken(identity.provider_label))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A new account for an unknown identity: a generated user name (provider handles are
    /// display names only, so nobody can squat "admin" or someone else's handle), the verified
    /// e-mail if no other account has it, and the inviter if the referral code is real.
    async fn register_federated(
        &self,
        identity: &FederatedIdentity,
        registration: RegistrationPolicy,
        aff_code: Option<&str>,
        ip: &str,
    ) -> Result<Outcome, FederationError> {
        let inviter_id = match aff_code
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.len() <= 32)
        {
            Some(code) => self.store.user_by_aff_code(code).await?.map(|u| u.id),
            None => None,
        };
        let mut email = match &identity.verified_email {
            Some(email) if self.store.user_by_verified_email(email).await?.is_none() => {
                Some(email.clone())
            }
            _ => None,
        };
        let display_name = if identity.display_name.is_empty() {
            format!("{} User", identity.provider_label)
        } else {
            identity.display_name.clone()
        };
        for _ in 0..5 {
            let now = self.clock.now();
            let new = NewUser {
                uuid: uuid::Uuid::new_v4(),
                username: format!("{}_{}", identity.provider, random_string(b"0123456789", 8)),
                display_name: display_name.chars().take(20).collect(),
                email: email.clone(),
                email_verified: email.is_some(),
                password_hash: None,
                role: Role::User,
                quota: registration.quota_for_new_user,
                aff_code: random_string(ALPHANUMERIC, 8),
                inviter_id,
                created_at: now,
            };
            let link = Identity {
                provider: identity.provider.clone(),
                subject: identity.subject.clone(),
                user_id: 0,
                display: identity.display_name.clone(),
                created_at: now,
            };
            match self.store.create_user_with_identity(new, link).await {
                Ok(user) => {
                    self.store.record_login(user.id, now).await?;
                    let method = format!("upstream:{}", identity.provider);
                    self.record_registration(&user, &method, ip).await;
                    return Ok(Outcome::Registered(user));
                }
                // Two first logins of one identity raced: the other one created the account.
                Err(StoreError::Conflict(Conflict::Identity)) => {
                    return Box::pin(self.federate(
                        Intent::Login,
                        identity,
                        RegistrationPolicy {
                            allowed: false,
                            ..registration
                        },
                        None,
                        ip,
                    ))
                    .await;
                }
                // The address was taken meanwhile (by the twin of a racing first login, or by
                // anyone): the account is made without it, as when it was taken before.
                Err(StoreError::Conflict(Conflict::Email)) => email = None,
                // A generated name or referral code collided: draw again.
                Err(StoreError::Conflict(Conflict::Username | Conflict::AffCode)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::backend("could not generate a free user name").into())
    }
}
