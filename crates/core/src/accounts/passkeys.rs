//! Passkeys (WebAuthn): enrolment, sign-in without a password (discoverable credentials, also
//! through the browser's autofill prompt), and a passkey as the second factor after a password.
//!
//! The cryptography (CBOR, COSE keys, signatures, origin, RP id, challenge, user verification,
//! the signature counter) is the `webauthn-rs` library's; this module keeps the account rules:
//! - a ceremony's state is stored under the hash of a secret only the browser that began it
//!   holds, is taken (deleted) when it is finished, whatever the outcome, and lives 5 minutes;
//! - user verification is required, so a passkey sign-in proves both factors;
//! - a counter that does not move on is refused and audited (a cloned authenticator), also when
//!   two uses race (the store's compare-and-set);
//! - the user handle is random per account, never the account id;
//! - attestation is not asked for;
//! - a passkey is a way in: the last way in cannot be removed.

use super::Change;
use super::notices::{self, Notice};
use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::limits::{self, Limit, LimitError, RateLimiter};
use crate::model::{
    NewPasskey, PasskeyUse, Session, StoredPasskey, User, UserId, WebauthnChallenge,
};
use crate::secret::{Secret, SecretHash, random_bytes};
use crate::store::{Conflict, Store, StoreError, Unlink};
use crate::telemetry::{self, LoginMethod};
use serde_json::Value;
use std::sync::Arc;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

/// Prefix of the secret that binds a ceremony to the browser that began it (a cookie).
pub const CHALLENGE_PREFIX: &str = "wac_";
/// How long a ceremony may take, begin to finish.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Passkeys one account may hold.
pub const MAX_PASSKEYS: usize = 20;
const MAX_NAME_CHARS: usize = 64;
/// Ceremonies an address may begin without an account (sign-in prompts) per window: each is a
/// row until it expires.
const ANONYMOUS_BEGINS: Limit = Limit::new(120, 600);

/// What a ceremony is for; a challenge of one kind never finishes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ceremony {
    Enrol,
    SignIn,
    SecondFactor,
}

impl Ceremony {
    fn as_str(self) -> &'static str {
        match self {
            Self::Enrol => "enrol",
            Self::SignIn => "sign_in",
            Self::SecondFactor => "second_factor",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// WebAuthn needs a host name: `public_url` is an IP address or not a URL.
    #[error("通行密钥需要以域名访问本站（public_url 不能是 IP 地址）")]
    Unavailable,
    #[error("请重新登录后再添加通行密钥")]
    SignInAgain,
    /// No live challenge of that kind for this browser: expired, used, or begun elsewhere.
    #[error("验证已过期，请重试")]
    NoChallenge,
    /// The authenticator's answer failed a check: signature, challenge, origin, RP id, user
    /// verification, or a credential this ceremony does not allow.
    #[error("通行密钥验证失败")]
    Rejected,
    #[error("通行密钥不存在或已被删除")]
    UnknownCredential,
    /// The authenticator's counter did not move on: it may have been cloned.
    #[error("通行密钥的签名计数异常，已拒绝；请联系管理员")]
    CounterRegression,
    #[error("该通行密钥已被注册")]
    AlreadyRegistered,
    #[error("通行密钥数量已达上限")]
    TooMany,
    #[error("这是账户的最后一种登录方式，不能删除")]
    LastWayIn,
    #[error("通行密钥不存在")]
    NotFound,
    #[error("通行密钥名称须为 1 到 64 个字符")]
    InvalidName,
    #[error("请求格式错误")]
    Malformed,
    #[error("用户已被封禁")]
    Disabled,
    /// An admin acting on an account of their own rank or above (`accounts::admin::check`).
    #[error("无权更新同权限等级或更高权限等级的用户信息")]
    Rank,
    #[error("尝试次数过多，请 {retry_after} 秒后再试")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored state the library cannot read back: ours, not the user's.
    #[error("passkey state unusable: {0}")]
    State(String),
}

impl PasskeyError {
    /// Why a passkey sign-in was refused, as the `result` label of the login metric says it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::NoChallenge => "no_challenge",
            Self::Rejected => "rejected",
            Self::UnknownCredential => "unknown_credential",
            Self::CounterRegression => "counter_regression",
            Self::Malformed => "malformed",
            Self::Disabled => "account_disabled",
            Self::Throttled { .. } => "throttled",
            Self::SignInAgain
            | Self::AlreadyRegistered
            | Self::TooMany
            | Self::LastWayIn
            | Self::NotFound
            | Self::InvalidName
            | Self::Rank => "refused",
            Self::Store(_) | Self::State(_) => "error",
        }
    }
}

impl From<LimitError> for PasskeyError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::Throttled { retry_after },
            LimitError::Store(e) => Self::Store(e),
        }
    }
}

/// A ceremony begun: the options for `navigator.credentials.create/get` (JSON, as the browser
/// API takes them once its binary fields are decoded) and the secret for the browser's cookie.
#[derive(Debug)]
pub struct Begun {
    pub options: Value,
    pub secret: Secret,
}

/// A passkey as the account pages and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PasskeyInfo {
    pub id: i64,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

impl From<&StoredPasskey> for PasskeyInfo {
    fn from(p: &StoredPasskey) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// Who did something to a passkey, and from where, for the audit log.
pub struct Actor<'a> {
    pub user: &'a User,
    pub ip: &'a str,
}

pub struct Passkeys {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    webauthn: Option<Webauthn>,
    limiter: RateLimiter,
}

/// The relying party for `public_url`: its host is the RP id and its origin the only one
/// allowed. `None` when the URL has no host name (an IP address): browsers refuse WebAuthn there.
fn relying_party(public_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_url).ok()?;
    let host = origin.domain()?.to_owned();
    WebauthnBuilder::new(&host, &origin)
        .and_then(WebauthnBuilder::build)
        .inspect_err(|e| tracing::warn!(error = %e, public_url, "passkeys are unavailable"))
        .ok()
}

fn state_error(e: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::State(e.to_string())
}

/// A name for a passkey: trimmed, 1 to 64 characters, no control characters.
fn passkey_name(raw: &str) -> Result<String, PasskeyError> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidName);
    }
    Ok(name.to_owned())
}

impl Passkeys {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, public_url: &str) -> Self {
        Self {
            limiter: RateLimiter::new(store.clone(), clock.clone()),
            webauthn: relying_party(public_url),
            store,
            clock,
        }
    }

    /// Whether this node can offer passkeys at all (its `public_url` has a host name).
    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.webauthn.as_ref().ok_or(PasskeyError::Unavailable)
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<PasskeyInfo>, PasskeyError> {
        let all = self.store.passkeys_of_user(user).await?;
        Ok(all.iter().map(PasskeyInfo::from).collect())
    }

    /// Begins adding a passkey to `user`'s account. The session must come from a recent sign-in:
    /// a session left open must not add a way in that outlives it.
    pub async fn begin_enrolment(
        &self,
        user: &User,
        session: &Session,
    ) -> Result<Begun, PasskeyError> {
        let webauthn = self.webauthn()?;
        if !session.is_recent_sign_in(self.clock.now()) || session.user_id != user.id {
            return Err(PasskeyError::SignInAgain);
        }
        let existing = self.store.passkeys_of_user(user.id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(PasskeyError::TooMany);
        }
        let handle = self
            .store
            .passkey_handle(user.id, &random_bytes(16))
            .await?;
        let handle = Uuid::from_slice(&handle).map_err(state_error)?;
        let exclude: Vec<CredentialID> = existing
            .iter()
            .map(|p| CredentialID::from(p.credential_id.clone()))
            .collect();
        let (options, state) = webauthn
            .start_passkey_registration(handle, &user.username, &user.display_name, Some(exclude))
            .map_err(state_error)?;
        let mut options = serde_json::to_value(options).map_err(state_error)?;
        // A passkey is found by the authenticator at sign-in, with no name typed: it must be a
        // discoverable (resident) credential.
        if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection") {
            selection["residentKey"] = "required".into();
            selection["requireResidentKey"] = true.into();
        }
        let secret = self
            .save_state(Ceremony::Enrol, Some(user.id), &state)
            .await?;
        Ok(Begun { options, secret })
    }

    /// Finishes an enrolment begun by this browser for this user; the passkey is stored under
    /// `name`. A bad name is refused before the challenge is spent.
    pub async fn finish_enrolment(
        &self,
        user: &User,
        change: &Change<'_>,
        challenge: &str,
        name: &str,
        response: Value,
    ) -> Result<PasskeyInfo, PasskeyError> {
        let webauthn = self.webauthn()?;
        let name = passkey_name(name)?;
        let state: PasskeyRegistration = self
            .take_state(Ceremony::Enrol, challenge, Some(user.id))
            .await?;
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(response).map_err(|_| PasskeyError::Malformed)?;
        let passkey = webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(|e| {
                tracing::info!(error = %e, user.id = user.id, "passkey enrolment refused");
                PasskeyError::Rejected
            })?;
        if self.store.passkeys_of_user(user.id).await?.len() >= MAX_PASSKEYS {
            return Err(PasskeyError::TooMany);
        }
        let now = self.clock.now();
        let new = NewPasskey {
            user_id: user.id,
            credential_id: passkey.cred_id().to_vec(),
            name,
            credential: serde_json::to_string(&passkey).map_err(state_error)?,
            sign_count: 0,
            created_at: now,
        };
        let info = PasskeyInfo {
            id: 0,
            name: new.name.clone(),
            created_at: now,
            last_used_at: None,
        };
        let id = match self.store.add_passkey(new).await {
            Ok(id) => id,
            Err(StoreError::Conflict(Conflict::PasskeyCredential)) => {
                return Err(PasskeyError::AlreadyRegistered);
            }
            Err(e) => return Err(e.into()),
        };
        self.audit(
            Some(user.id),
            action::PASSKEY_ADDED,
            user.id,
            serde_json::json!({ "passkey": id, "name": info.name }),
            change.ip,
        )
        .await;
        let notice = Notice::PasskeyAdded {
            name: info.name.clone(),
        };
        notices::send(change.mail, user, &notice).await;
        Ok(PasskeyInfo { id, ..info })
    }

    /// Begins a sign-in with no account named: the authenticator offers the passkeys it holds
    /// for this site. Limited per address, since anyone may begin one.
    pub async fn begin_sign_in(&self, ip: &str) -> Result<Begun, PasskeyError> {
        let webauthn = self.webauthn()?;
        self.limiter
            .consume(&[(limits::key("passkey:begin", ip), ANONYMOUS_BEGINS)])
            .await?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(state_error)?;
        let options = serde_json::to_value(options).map_err(state_error)?;
        let secret = self.save_state(Ceremony::SignIn, None, &state).await?;
        Ok(Begun { options, secret })
    }

    /// Finishes a sign-in: the account whose passkey signed this browser's challenge, with the
    /// user verified (both factors). The caller opens the session through the one login path.
    pub async fn finish_sign_in(
        &self,
        challenge: &str,
        response: Value,
        ip: &str,
    ) -> Result<User, PasskeyError> {
        let result = self.identify(challenge, response, ip).await;
        // A success is counted with its audit record, on the one login path.
        if let Err(e) = &result {
            telemetry::login(LoginMethod::Named("passkey"), e.reason());
            tracing::warn!(
                target: telemetry::SECURITY_TARGET,
                event = "login_failed",
                method = "passkey",
                reason = e.reason(),
                client = %ip,
                "passkey sign-in refused"
            );
        }
        result
    }

    async fn identify(
        &self,
        challenge: &str,
        response: Value,
        ip: &str,
    ) -> Result<User, PasskeyError> {
        let webauthn = self.webauthn()?;
        let state: DiscoverableAuthentication =
            self.take_state(Ceremony::SignIn, challenge, None).await?;
        let response: PublicKeyCredential =
            serde_json::from_value(response).map_err(|_| PasskeyError::Malformed)?;
        let (handle, credential_id) = webauthn
            .identify_discoverable_authentication(&response)
            .map_err(|_| PasskeyError::Rejected)?;
        let stored = self
            .store
            .passkey_by_credential_id(credential_id)
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        // The authenticator names the account by its handle; it must be the passkey's owner.
        let owner = self.store.user_by_passkey_handle(handle.as_bytes()).await?;
        if owner != Some(stored.user_id) {
            return Err(PasskeyError::UnknownCredential);
        }
        let mut passkey: Passkey = serde_json::from_str(&stored.credential).map_err(state_error)?;
        let outcome = webauthn.finish_discoverable_authentication_v2(&response, state, &passkey);
        self.accept_use(&stored, &mut passkey, outcome, ip).await?;
        let user = self
            .store
            .user_by_id(stored.user_id)
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        if !user.is_enabled() {
            return Err(PasskeyError::Disabled);
        }
        self.store.record_login(user.id, self.clock.now()).await?;
        Ok(user)
    }

    /// Whether `user` can use a passkey as the second factor of a login.
    pub async fn has_passkeys(&self, user: UserId) -> Result<bool, PasskeyError> {
        Ok(self.available() && !self.store.passkeys_of_user(user).await?.is_empty())
    }

    /// Begins the second step of a login (after a password or an upstream login) with one of
    /// the account's passkeys, as an alternative to a TOTP code.
    pub async fn begin_second_factor(&self, user: &User) -> Result<Begun, PasskeyError> {
        let webauthn = self.webauthn()?;
        let keys = self.passkeys(user.id).await?;
        if keys.is_empty() {
            return Err(PasskeyError::NotFound);
        }
        let keys: Vec<Passkey> = keys.into_iter().map(|(_, key)| key).collect();
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(state_error)?;
        let options = serde_json::to_value(options).map_err(state_error)?;
        let secret = self
            .save_state(Ceremony::SecondFactor, Some(user.id), &state)
            .await?;
        Ok(Begun { options, secret })
    }

    /// Finishes the second step of `user`'s login; only the account's own passkeys count.
    pub async fn finish_second_factor(
        &self,
        user: &User,
        challenge: &str,
        response: Value,
        ip: &str,
    ) -> Result<(), PasskeyError> {
        let webauthn = self.webauthn()?;
        let state: PasskeyAuthentication = self
            .take_state(Ceremony::SecondFactor, challenge, Some(user.id))
            .await?;
        let response: PublicKeyCredential =
            serde_json::from_value(response).map_err(|_| PasskeyError::Malformed)?;
        let (stored, mut passkey) = self
            .passkeys(user.id)
            .await?
            .into_iter()
            .find(|(stored, _)| stored.credential_id.as_slice() == response.get_credential_id())
            .ok_or(PasskeyError::UnknownCredential)?;
        let outcome = webauthn.finish_passkey_authentication(&response, &state);
        self.accept_use(&stored, &mut passkey, outcome, ip).await
    }

    /// Renames one of `user`'s passkeys.
    pub async fn rename(&self, user: UserId, id: i64, name: &str) -> Result<(), PasskeyError> {
        let name = passkey_name(name)?;
        if self.store.rename_passkey(user, id, &name).await? {
            Ok(())
        } else {
            Err(PasskeyError::NotFound)
        }
    }

    /// Removes one of the user's own passkeys, unless it is the account's last way in.
    pub async fn remove(&self, actor: Actor<'_>, id: i64) -> Result<(), PasskeyError> {
        let user = actor.user.id;
        match self.store.delete_passkey_keeping_a_way_in(user, id).await? {
            Unlink::Unlinked => {}
            Unlink::NotLinked => return Err(PasskeyError::NotFound),
            Unlink::LastWayIn => return Err(PasskeyError::LastWayIn),
        }
        let detail = serde_json::json!({ "passkey": id });
        self.audit(Some(user), action::PASSKEY_REMOVED, user, detail, actor.ip)
            .await;
        Ok(())
    }

    /// `target`'s passkeys, for an admin who outranks them (as for any edit of the account).
    pub async fn list_for_admin(
        &self,
        admin: &User,
        target: UserId,
    ) -> Result<Vec<PasskeyInfo>, PasskeyError> {
        self.outranked(admin, target).await?;
        self.list(target).await
    }

    /// An admin removes a user's passkey (a lost or stolen device), even the last way in: the
    /// user then gets back in by e-mail or through the admin. Audited, and the user is told.
    pub async fn remove_for_user(
        &self,
        admin: &User,
        change: &Change<'_>,
        target: UserId,
        id: i64,
    ) -> Result<(), PasskeyError> {
        let target = self.outranked(admin, target).await?;
        let name = self
            .store
            .passkeys_of_user(target.id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .map(|p| p.name)
            .ok_or(PasskeyError::NotFound)?;
        if !self.store.delete_passkey(target.id, id).await? {
            return Err(PasskeyError::NotFound);
        }
        let detail = serde_json::json!({ "passkey": id, "name": name, "by_admin": true });
        self.audit(
            Some(admin.id),
            action::PASSKEY_REMOVED,
            target.id,
            detail,
            change.ip,
        )
        .await;
        notices::send(
            change.mail,
            &target,
            &Notice::PasskeyRemovedByAdmin { name },
        )
        .await;
        Ok(())
    }

    /// The admin's rank rules (`accounts::admin::check`) for an action on `target`'s account.
    async fn outranked(&self, admin: &User, target: UserId) -> Result<User, PasskeyError> {
        let target = self
            .store
            .user_by_id(target)
            .await?
            .ok_or(PasskeyError::NotFound)?;
        crate::accounts::admin::check(admin, &target, &crate::store::UserPatch::default())
            .map_err(|_| PasskeyError::Rank)?;
        Ok(target)
    }

    /// The account's passkeys with the library's credentials.
    async fn passkeys(&self, user: UserId) -> Result<Vec<(StoredPasskey, Passkey)>, PasskeyError> {
        self.store
            .passkeys_of_user(user)
            .await?
            .into_iter()
            .map(|stored| {
                let key = serde_json::from_str(&stored.credential).map_err(state_error)?;
                Ok((stored, key))
            })
            .collect()
    }

    /// Judges the library's verdict on an assertion and records the use: the counter must move
    /// on from what was read, in the store too, so that of two racing uses one is refused.
    async fn accept_use(
        &self,
        stored: &StoredPasskey,
        passkey: &mut Passkey,
        outcome: Result<webauthn_rs::prelude::AuthenticationResult, WebauthnError>,
        ip: &str,
    ) -> Result<(), PasskeyError> {
        let result = match outcome {
            Ok(result) => result,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                return Err(self.counter_regression(stored, ip).await);
            }
            Err(e) => {
                tracing::info!(error = %e, user.id = stored.user_id, "passkey assertion refused");
                return Err(PasskeyError::Rejected);
            }
        };
        if !result.user_verified() {
            return Err(PasskeyError::Rejected);
        }
        passkey.update_credential(&result);
        let used = PasskeyUse {
            id: stored.id,
            seen_count: stored.sign_count,
            new_count: i64::from(result.counter()),
            at: self.clock.now(),
        };
        let credential = serde_json::to_string(passkey).map_err(state_error)?;
        if !self.store.record_passkey_use(used, &credential).await? {
            return Err(self.counter_regression(stored, ip).await);
        }
        Ok(())
    }

    async fn counter_regression(&self, stored: &StoredPasskey, ip: &str) -> PasskeyError {
        tracing::warn!(
            user.id = stored.user_id,
            passkey = stored.id,
            "passkey counter did not move on: refused"
        );
        let detail = serde_json::json!({ "passkey": stored.id, "name": stored.name });
        self.audit(
            None,
            action::PASSKEY_COUNTER_REGRESSION,
            stored.user_id,
            detail,
            ip,
        )
        .await;
        PasskeyError::CounterRegression
    }

    async fn save_state(
        &self,
        ceremony: Ceremony,
        user: Option<UserId>,
        state: &impl serde::Serialize,
    ) -> Result<Secret, PasskeyError> {
        let secret = Secret::generate(CHALLENGE_PREFIX);
        let challenge = WebauthnChallenge {
            id_hash: secret.hash(),
            purpose: ceremony.as_str(),
            user_id: user,
            state: serde_json::to_string(state).map_err(state_error)?,
            expires_at: self.clock.now() + CHALLENGE_TTL_SECS,
        };
        self.store.put_webauthn_challenge(&challenge).await?;
        Ok(secret)
    }

    /// Takes this browser's live challenge of `ceremony`, begun for `user`.
    async fn take_state<T: serde::de::DeserializeOwned>(
        &self,
        ceremony: Ceremony,
        challenge: &str,
        user: Option<UserId>,
    ) -> Result<T, PasskeyError> {
        if !challenge.starts_with(CHALLENGE_PREFIX) || challenge.len() > 128 {
            return Err(PasskeyError::NoChallenge);
        }
        let (owner, state) = self
            .store
            .take_webauthn_challenge(
                &SecretHash::of(challenge),
                ceremony.as_str(),
                self.clock.now(),
            )
            .await?
            .ok_or(PasskeyError::NoChallenge)?;
        if owner != user {
            return Err(PasskeyError::NoChallenge);
        }
        serde_json::from_str(&state).map_err(state_error)
    }

    async fn audit(
        &self,
        actor: Option<UserId>,
        what: &'static str,
        subject: UserId,
        detail: Value,
        ip: &str,
    ) {
        // The account's id, as the admin's edits of a user name it.
        let target = subject.to_string();
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            actor,
            what,
            target,
            detail,
            ip,
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(passkey_name("  Laptop ").ok().as_deref(), Some("Laptop"));
        assert!(passkey_name("   ").is_err());
        assert!(passkey_name(&"x".repeat(65)).is_err());
        assert!(passkey_name(&"密".repeat(64)).is_ok());
        assert!(passkey_name("a\u{0}b").is_err());
    }

    #[test]
    fn a_relying_party_needs_a_host_name() {
        assert!(relying_party("http://127.0.0.1:3000").is_none());
        assert!(relying_party("not a url").is_none());
        assert!(relying_party("http://localhost:3000").is_some());
        assert!(relying_party("https://id.example.com").is_some());
    }
}
