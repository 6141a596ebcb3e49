//! Local accounts: registration, password login with throttling, sessions, developer tokens.

pub mod activity;
pub mod admin;
pub mod deletion;
pub mod devices;
pub mod email;
pub mod export;
pub mod federation;
mod guessing;
pub mod notices;
pub mod overview;
pub mod passkeys;
mod password;
pub mod two_factor;
pub mod validate;

pub use guessing::delay_before;
pub use password::{HashError, PasswordHasher};

use crate::clock::{Clock, UnixTime};
use crate::limits::{self, LimitError, RateLimiter};
use crate::model::{NewSession, NewUser, Role, Session, User, UserId};
use crate::secret::{ALPHANUMERIC, Secret, SecretHash, random_string};
use crate::settings::Settings;
use crate::store::{Conflict, Store, StoreError};
use std::sync::Arc;
use validate::{FieldError, NewPassword, Username};

/// Prefix of session ids in cookies.
pub const SESSION_PREFIX: &str = "ses_";
/// Prefix of developer tokens, so that secret scanners recognise leaked ones.
pub const DEVELOPER_TOKEN_PREFIX: &str = "kwd_";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// One message for a wrong name, a wrong password and a disabled account: the answer must not
    /// tell which.
    #[error("用户名或密码错误，或用户已被封禁")]
    InvalidCredentials,
    #[error("尝试次数过多，请 {retry_after} 秒后再试")]
    Throttled { retry_after: i64 },
    #[error("管理员关闭了新用户注册")]
    RegistrationClosed,
    #[error("管理员关闭了通过密码进行注册，请使用第三方账户验证的形式进行注册")]
    PasswordRegistrationClosed,
    #[error("管理员关闭了密码登录")]
    PasswordLoginClosed,
    #[error("用户名已存在，或已注销")]
    UsernameTaken,
    #[error("原密码错误")]
    WrongCurrentPassword,
    #[error("管理员开启了邮箱验证，请输入邮箱地址和验证码")]
    EmailVerificationRequired,
    #[error("验证码错误或已过期")]
    BadVerificationCode,
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// How hard password guessing is made. Attempts are counted in the database, so the limits hold
/// across every node, per submitted name (existing or not), so they reveal nothing, and per
/// account, so that its name and its address do not give two budgets.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub window_secs: i64,
    pub max_failures_per_account: i64,
    pub max_failures_per_ip: i64,
    pub session_ttl_secs: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
            max_failures_per_account: 5,
            max_failures_per_ip: 30,
            session_ttl_secs: 30 * 24 * 3600,
        }
    }
}

impl From<LimitError> for AccountError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::Throttled { retry_after },
            LimitError::Store(e) => Self::Store(e),
        }
    }
}

pub struct Registration<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub display_name: Option<&'a str>,
    pub aff_code: Option<&'a str>,
    /// With its code from `/api/verification`; required when the settings ask for it.
    pub email: Option<&'a str>,
    pub verification_code: Option<&'a str>,
    /// The caller's address: every attempt counts against `register_max_per_ip`.
    pub ip: &'a str,
}

/// Who a security change came from and how to tell the user about it: the caller's IP for the
/// audit record, and the mail settings for the notice.
pub struct Change<'a> {
    pub ip: &'a str,
    pub mail: &'a email::MailContext<'a>,
}

/// Where a request came from, for throttling and the session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
    /// The browser's device token, as sent ([`devices`]): its own guessing budget.
    pub device: Option<Secret>,
}

/// How a login proved who the user is. It decides whether a second factor is still due, in
/// [`Accounts::second_factor_due`], which every way of logging in asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    /// An upstream provider's login, or a sign-up through one.
    Upstream,
    /// A passkey with the user verified (the only kind Keyward accepts): both factors at once.
    Passkey,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Upstream => "upstream",
            Self::Passkey => "passkey",
        }
    }
}

pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    policy: LoginPolicy,
    limiter: RateLimiter,
    /// Signs the device tokens; without it every attempt gets the anonymous budget.
    devices: Option<devices::DeviceKey>,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        policy: LoginPolicy,
    ) -> Self {
        Self {
            limiter: RateLimiter::new(store.clone(), clock.clone()),
            store,
            clock,
            hasher,
            policy,
            devices: None,
        }
    }

    /// Turns device tokens on: browsers that signed in keep a guessing budget of their own.
    #[must_use]
    pub fn with_device_key(mut self, key: devices::DeviceKey) -> Self {
        self.devices = Some(key);
        self
    }

    /// A fresh device token for a browser that just signed in as `user`, when they are on.
    pub fn device_token(&self, user: &User) -> Option<Secret> {
        self.devices
            .as_ref()
            .map(|key| Secret::from_string(key.issue(user.id)))
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn policy(&self) -> &LoginPolicy {
        &self.policy
    }

    /// Whether a login by `method` must still pass a second factor before it gets a session:
    /// the account has TOTP on and the method proved one factor only. The second step then
    /// takes a TOTP code, a recovery code or one of the account's passkeys.
    pub fn second_factor_due(user: &User, method: SignInMethod) -> bool {
        user.totp_enabled && method != SignInMethod::Passkey
    }

    /// Registers an account with a password: the one way both the JSON API and the page do it.
    /// Every attempt counts against the caller's IP first (`register_max_per_ip`), so mass
    /// sign-ups, and probing for taken names, stay slow whichever door is used.
    pub async fn register(
        &self,
        form: Registration<'_>,
        settings: &Settings,
    ) -> Result<User, AccountError> {
        RateLimiter::new(self.store.clone(), self.clock.clone())
            .consume(&[(
                limits::key("register:ip", form.ip),
                settings.register_per_ip(),
            )])
            .await
            .map_err(|e| match e {
                LimitError::Exceeded { retry_after } => AccountError::Throttled { retry_after },
                LimitError::Store(e) => AccountError::Store(e),
            })?;
        if !settings.register_enabled {
            return Err(AccountError::RegistrationClosed);
        }
        if !settings.password_register_enabled {
            return Err(AccountError::PasswordRegistrationClosed);
        }
        let username = Username::parse(form.username)?;
        let password = NewPassword::parse(form.password)?;
        let display_name = match form.display_name.map(validate::display_name).transpose()? {
            Some(name) if !name.is_empty() => name,
            _ => username.to_string(),
        };
        let inviter_id = match form.aff_code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => self.store.user_by_aff_code(code).await?.map(|u| u.id),
            None => None,
        };
        let email = if settings.email_verification_enabled {
            Some(
                self.verified_email(form.email, form.verification_code)
                    .await?,
            )
        } else {
            None
        };
        let hash = self.hasher.hash(password.expose()).await?;
        let user = self
            .create(NewUserSpec {
                username,
                display_name,
                password_hash: Some(hash),
                role: Role::User,
                quota: settings.quota_for_new_user,
                inviter_id,
                email,
            })
            .await?;
        self.record_registration(&user, "password", form.ip).await;
        Ok(user)
    }

    /// Checks (and spends) an anonymous e-mail code; returns the normalised address.
    async fn verified_email(
        &self,
        email: Option<&str>,
        code: Option<&str>,
    ) -> Result<String, AccountError> {
        let (Some(email), Some(code)) = (
            email.map(str::trim).filter(|e| !e.is_empty()),
            code.map(str::trim).filter(|c| !c.is_empty()),
        ) else {
            return Err(AccountError::EmailVerificationRequired);
        };
        let email = validate::email(email).map_err(|_| AccountError::BadVerificationCode)?;
        let owner = self
            .check_mailed_code(
                email::VERIFY,
                &email,
                code,
                email::MAX_CODE_LEN,
                email::MAX_ATTEMPTS,
            )
            .await?;
        // A code sent to a signed-in user belongs to that account, not to a new one.
        match owner {
            Some(None) => Ok(email),
            _ => Err(AccountError::BadVerificationCode),
        }
    }

    /// Creates an account directly (CLI, bootstrap admin): no registration switches apply.
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<User, AccountError> {
        let username = Username::parse(username)?;
        let password = NewPassword::parse(password)?;
        let hash = self.hasher.hash(password.expose()).await?;
        self.create(NewUserSpec {
            display_name: username.to_string(),
            username,
            password_hash: Some(hash),
            role,
            quota: 0,
            inviter_id: None,
            email: None,
        })
        .await
    }

    async fn create(&self, spec: NewUserSpec) -> Result<User, AccountError> {
        // The referral code is random; on the rare collision, draw again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let new = NewUser {
                uuid: uuid::Uuid::new_v4(),
                username: spec.username.to_string(),
                display_name: spec.display_name.clone(),
                email_verified: spec.email.is_some(),
                email: spec.email.clone(),
                password_hash: spec.password_hash.clone(),
                role: spec.role,
                quota: spec.quota,
                aff_code: random_string(ALPHANUMERIC, 8),
                inviter_id: spec.inviter_id,
                created_at: self.clock.now(),
            };
            match self.store.create_user(new).await {
                Ok(user) => return Ok(user),
                // new-api answers a taken address with the same words as a taken name.
                Err(StoreError::Conflict(Conflict::Username | Conflict::Email)) => {
                    return Err(AccountError::UsernameTaken);
                }
                Err(StoreError::Conflict(Conflict::AffCode)) if attempts < 5 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Checks a name-or-e-mail and password. Each attempt takes a slot before the password is
    /// checked: from a browser that signed in to the account before, in that browser's own
    /// budget; from anywhere else, per submitted name, per resolved account (a name and an
    /// address of one account share it; past the free failures, attempts wait progressively
    /// longer) and per IP ([`guessing`]). A success gives the slots back. Every failure looks
    /// the same and costs the same time.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client: &ClientInfo,
        settings: &Settings,
    ) -> Result<User, AccountError> {
        let result = self.check_password(login, password, client, settings).await;
        // Successes and wrong credentials are counted with their audit records; these are the
        // refusals that have none.
        let refused = match &result {
            Err(AccountError::Throttled { .. }) => Some("throttled"),
            Err(AccountError::PasswordLoginClosed) => Some("password_login_closed"),
            _ => None,
        };
        if let Some(reason) = refused {
            crate::telemetry::login(crate::telemetry::LoginMethod::Named("password"), reason);
        }
        result
    }

    async fn check_password(
        &self,
        login: &str,
        password: &str,
        client: &ClientInfo,
        settings: &Settings,
    ) -> Result<User, AccountError> {
        if !settings.password_login_enabled {
            return Err(AccountError::PasswordLoginClosed);
        }
        let identifier = validate::login_key(login);
        let user = if login.len() > 256 {
            None
        } else {
            self.store.user_by_login(&identifier).await?
        };
        let budget = self.budget(&identifier, user.as_ref(), client);
        let taken = self.take(&budget).await?;
        let outcome = async {
            let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
            let matched = self.hasher.verify(password, stored).await?;
            match &user {
                Some(user) if matched && user.is_enabled() => Ok(user.clone()),
                Some(user) => {
                    let reason = if matched {
                        "account_disabled"
                    } else {
                        "wrong_password"
                    };
                    self.record_failed_sign_in(Some(user), login, reason, client)
                        .await;
                    Err(AccountError::InvalidCredentials)
                }
                None => {
                    self.record_failed_sign_in(None, login, "unknown_user", client)
                        .await;
                    Err(AccountError::InvalidCredentials)
                }
            }
        }
        .await;
        self.settle(&budget, taken, &outcome, login, user.as_ref(), client)
            .await?;
        let user = outcome?;
        self.store.record_login(user.id, self.clock.now()).await?;
        Ok(user)
    }

    /// Opens a session for `user` under a fresh id. The caller ends any session the browser had
    /// before, so that a login always rotates the id (no session fixation).
    pub async fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<(Secret, Session), AccountError> {
        self.new_session(user, client, false).await
    }

    /// A session that proves the password (or upstream login) only: it lasts five minutes and
    /// opens nothing but the second-factor step.
    pub async fn start_pending_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<(Secret, Session), AccountError> {
        self.new_session(user, client, true).await
    }

    async fn new_session(
        &self,
        user: &User,
        client: &ClientInfo,
        mfa_pending: bool,
    ) -> Result<(Secret, Session), AccountError> {
        let secret = Secret::generate(SESSION_PREFIX);
        let now = self.clock.now();
        let ttl = if mfa_pending {
            300
        } else {
            self.policy.session_ttl_secs
        };
        let new = NewSession {
            id_hash: secret.hash(),
            user_id: user.id,
            created_at: now,
            expires_at: now + ttl,
            ip: truncate(&client.ip, 64),
            user_agent: truncate(&client.user_agent, 256),
            mfa_pending,
        };
        self.store.create_session(new.clone()).await?;
        let session = Session {
            id_hash: new.id_hash,
            user_id: new.user_id,
            created_at: new.created_at,
            last_seen_at: new.created_at,
            expires_at: new.expires_at,
            ip: new.ip,
            user_agent: new.user_agent,
            mfa_pending,
        };
        Ok((secret, session))
    }

    /// The user behind a session still waiting for its second factor.
    pub async fn pending_session(&self, cookie: &str) -> Result<Option<User>, AccountError> {
        if !cookie.starts_with(SESSION_PREFIX) || cookie.len() > 128 {
            return Ok(None);
        }
        let found = self
            .store
            .pending_session_with_user(&SecretHash::of(cookie), self.clock.now())
            .await?;
        Ok(found.map(|(_, user)| user).filter(User::is_enabled))
    }

    /// The session behind a cookie value, if it is live and its user enabled.
    pub async fn session(&self, cookie: &str) -> Result<Option<(Session, User)>, AccountError> {
        if !cookie.starts_with(SESSION_PREFIX) || cookie.len() > 128 {
            return Ok(None);
        }
        let found = self
            .store
            .session_with_user(&SecretHash::of(cookie), self.clock.now(), 300)
            .await?;
        Ok(found.filter(|(_, user)| user.is_enabled()))
    }

    pub async fn end_session(&self, cookie: &str) -> Result<(), AccountError> {
        self.store.delete_session(&SecretHash::of(cookie)).await?;
        Ok(())
    }

    /// Ends one of `user`'s sessions, named by the SHA-256 of its id; `false` if it is not
    /// theirs or gone already.
    pub async fn end_user_session(
        &self,
        user: UserId,
        id_hash: &SecretHash,
        ip: &str,
    ) -> Result<bool, AccountError> {
        let ended = self.store.delete_user_session(user, id_hash).await?;
        if ended {
            let detail = serde_json::json!({});
            self.record_change(user, user, crate::audit::action::SESSION_ENDED, detail, ip)
                .await;
        }
        Ok(ended)
    }

    /// Ends every session of `user` but `keep` (the one asking), and revokes the developer
    /// token: it is a standing login too, and "log out everywhere" must reach it. Returns how
    /// many sessions ended.
    pub async fn end_other_sessions(
        &self,
        user: UserId,
        keep: &SecretHash,
        ip: &str,
    ) -> Result<u64, AccountError> {
        self.store.delete_developer_token(user).await?;
        let mut ended = 0;
        for session in self
            .store
            .list_user_sessions(user, self.clock.now())
            .await?
        {
            if session.id_hash != *keep
                && self
                    .store
                    .delete_user_session(user, &session.id_hash)
                    .await?
            {
                ended += 1;
            }
        }
        let detail = serde_json::json!({ "ended": ended });
        self.record_change(
            user,
            user,
            crate::audit::action::OTHER_SESSIONS_ENDED,
            detail,
            ip,
        )
        .await;
        Ok(ended)
    }

    /// Issues a new developer token for `user`, replacing the old one. The clear value is
    /// returned once and never stored.
    pub async fn issue_developer_token(&self, user: &User) -> Result<Secret, AccountError> {
        let secret = Secret::generate(DEVELOPER_TOKEN_PREFIX);
        self.store
            .replace_developer_token(user.id, &secret.hash(), self.clock.now())
            .await?;
        Ok(secret)
    }

    /// The enabled user a developer token belongs to.
    pub async fn developer_token_user(&self, token: &str) -> Result<Option<User>, AccountError> {
        if !token.starts_with(DEVELOPER_TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let user = self
            .store
            .user_by_developer_token(&SecretHash::of(token))
            .await?;
        Ok(user.filter(User::is_enabled))
    }

    /// Changes a password after checking the current one (if there is one), and ends every
    /// session of the user and revokes the developer token: whoever knew the old password is
    /// logged out everywhere. Audited, and the user is told by mail (see [`notices`]).
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        change: &Change<'_>,
    ) -> Result<(), AccountError> {
        let new = NewPassword::parse(new)?;
        // An account made through an upstream provider has no password yet: it may set one.
        if user.password_hash.is_some()
            && !self
                .hasher
                .verify(current, user.password_hash.as_deref())
                .await?
        {
            return Err(AccountError::WrongCurrentPassword);
        }
        self.set_password(user, &new).await?;
        let detail = serde_json::json!({ "had_password": user.password_hash.is_some() });
        self.record_change(
            user.id,
            user.id,
            crate::audit::action::PASSWORD_CHANGED,
            detail,
            change.ip,
        )
        .await;
        notices::send(change.mail, user, &notices::Notice::PasswordChanged).await;
        Ok(())
    }

    /// Sets the name shown for a user; an empty one falls back to the username.
    pub async fn set_display_name(&self, user: &User, raw: &str) -> Result<(), AccountError> {
        let name = validate::display_name(raw)?;
        let name = if name.is_empty() {
            user.username.clone()
        } else {
            name
        };
        self.store
            .set_display_name(user.id, &name, self.clock.now())
            .await?;
        Ok(())
    }

    /// A user's own change of display name and/or password (`(current, new)`). Everything that
    /// can refuse — the name's rules, the new password's, the current password — is checked
    /// before anything is written, so a refused request changes nothing.
    pub async fn update_self(
        &self,
        user: &User,
        display_name: Option<&str>,
        password: Option<(&str, &str)>,
        change: &Change<'_>,
    ) -> Result<(), AccountError> {
        let name = display_name
            .map(|raw| {
                let name = validate::display_name(raw)?;
                Ok::<_, AccountError>(if name.is_empty() {
                    user.username.clone()
                } else {
                    name
                })
            })
            .transpose()?;
        if let Some((current, new)) = password {
            self.change_password(user, current, new, change).await?;
        }
        if let Some(name) = name {
            self.store
                .set_display_name(user.id, &name, self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// Sets a password with no check of the old one (CLI, reset by e-mail). Every session and
    /// the developer token die with the old password: whoever held one must not outlive it.
    pub async fn set_password(&self, user: &User, new: &NewPassword) -> Result<(), AccountError> {
        let hash = self.hasher.hash(new.expose()).await?;
        let now = self.clock.now();
        self.store.set_password_hash(user.id, &hash, now).await?;
        self.store.delete_user_sessions(user.id).await?;
        self.store.delete_developer_token(user.id).await?;
        Ok(())
    }

    /// Creates the first admin from configured credentials when no admin exists yet. Returns
    /// the new admin, or `None` when there already is one.
    pub async fn ensure_admin(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, AccountError> {
        if self.store.count_admins().await? > 0 {
            return Ok(None);
        }
        self.create_user(username, password, Role::Root)
            .await
            .map(Some)
    }
}

struct NewUserSpec {
    username: Username,
    display_name: String,
    password_hash: Option<String>,
    role: Role,
    quota: i64,
    inviter_id: Option<i64>,
    /// A verified address, when registration proved it.
    email: Option<String>,
}

fn truncate(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}
