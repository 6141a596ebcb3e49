//! The device authorization grant (RFC 8628), its two human-facing halves: the device
//! authorization endpoint, where a CLI or a device without a browser gets a `device_code` to
//! poll with and a `user_code` for its user (§3.1–3.2), and the verification at the `/device`
//! page, where a signed-in user types that code and approves or denies (§3.3). The poll itself
//! is the token endpoint's grant (`tokens/device.rs`).
//!
//! Both codes are stored only as hashes. The user code is short enough to type, so it is what
//! an attacker would guess: every malformed or unknown code typed at the page counts against
//! the address and the browser session (§5.1), and the codes live ten minutes.

use super::TokenError;
use super::apps::save_consent_adding;
use super::audience::{ResourceGrants, scope_string, split_scopes};
use super::client_auth::Endpoint;
use super::resources::resolve;
use super::scope::{Scope, ScopeSet};
use super::tokens::{ClientCredentials, TokenService};
use crate::audit::{self, action};
use crate::billing::limit::{BadSpendLimit, SpendLimit};
use crate::clock::{Clock, UnixTime};
use crate::limits::{Keyed, Limit, LimitError, RateLimiter, key};
use crate::model::{
    Client, DeviceDecision, DeviceState, GrantType, NewDeviceCode, Resource, Session, User,
};
use crate::secret::{Secret, SecretHash, random_string};
use crate::store::{Conflict, Store, StoreError};
use serde_json::json;
use std::sync::Arc;

/// The prefix of device codes, so that leaked ones are recognisable.
pub const DEVICE_CODE_PREFIX: &str = "kwdc_";
/// User-code characters (RFC 8628 §6.1): consonants only, so no word is spelled and no two
/// characters look alike; 20^8 ≈ 2^34.6 codes.
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code, shown as `XXXX-XXXX`.
pub const USER_CODE_LEN: usize = 8;
/// How long a device authorization waits for its user, unless the operator says otherwise.
pub const DEVICE_CODE_TTL_SECS: i64 = 600;
/// The polling interval a device is told (RFC 8628 §3.2 default).
pub const POLL_INTERVAL_SECS: i64 = 5;
/// What each `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_SECS: i64 = 5;
/// Wrong or malformed user codes one browser session may type (RFC 8628 §5.1).
pub const GUESSES_PER_SESSION: Limit = Limit::new(5, 900);
/// Wrong or malformed user codes one address may type, over all its sessions.
pub const GUESSES_PER_IP: Limit = Limit::new(20, 900);

/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Debug)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    /// As the user sees and types it: `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Why the `/device` page cannot go on with a typed code.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Not eight letters of the user-code alphabet (dashes, spaces and case aside).
    #[error("malformed user code")]
    Malformed,
    /// No pending authorization has this code: never issued, expired, answered or spent.
    #[error("unknown or expired user code")]
    Unknown,
    /// Too many wrong codes from this address or session.
    #[error("too many wrong codes, retry after {retry_after} seconds")]
    TooManyTries { retry_after: i64 },
    /// An approval of `balance:spend` without a spending limit: only the user sets one.
    #[error("approving balance:spend needs a spending limit")]
    LimitRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LimitError> for DeviceError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::TooManyTries { retry_after },
            LimitError::Store(e) => Self::Store(e),
        }
    }
}

impl DeviceError {
    /// Whether this try counts toward the guessing limit.
    fn is_wrong_guess(&self) -> bool {
        matches!(self, Self::Malformed | Self::Unknown)
    }
}

/// A pending device authorization as the consent page shows it.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub client: Client,
    pub scopes: ScopeSet,
    /// The APIs asked for (RFC 8707), as registered, and the scopes asked on each.
    pub resources: Vec<Resource>,
    pub grant: ResourceGrants,
    /// The code, as `XXXX-XXXX`, for the user to compare with the device's screen.
    pub user_code: String,
    pub expires_at: UnixTime,
    /// The limit the app suggested for `balance:spend`, to pre-fill the form.
    pub suggested_limit: Option<SpendLimit>,
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAnswer {
    /// With the limit the user set, required when `balance:spend` is asked (ignored otherwise).
    Approve(Option<SpendLimit>),
    Deny,
}

/// Who is typing codes at the `/device` page: the counters their wrong codes go to.
#[derive(Debug, Clone, Copy)]
pub struct Typist<'a> {
    pub session: &'a Session,
    pub ip: &'a str,
}

impl Typist<'_> {
    fn keys(&self) -> [Keyed; 2] {
        let session: String = self.session.id_hash.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        [
            (key("device:session", &session), GUESSES_PER_SESSION),
            (key("device:ip", self.ip), GUESSES_PER_IP),
        ]
    }
}

/// The user code typed, in its canonical form (eight alphabet characters, upper case), or
/// `None` when it cannot be one. Case, dashes and white space are ignored (RFC 8628 §6.1).
pub fn normalise_user_code(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// `XXXX-XXXX`, how a canonical code is shown.
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

pub struct DeviceService {
    tokens: Arc<TokenService>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    limits: Arc<RateLimiter>,
    issuer: String,
    /// `<issuer>/device`.
    verification_uri: String,
    /// How long the codes live (`expires_in`).
    ttl_secs: i64,
}

impl DeviceService {
    pub fn new(
        tokens: Arc<TokenService>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        limits: Arc<RateLimiter>,
        issuer: &str,
        ttl_secs: i64,
    ) -> Self {
        Self {
            tokens,
            store,
            clock,
            limits,
            issuer: issuer.to_owned(),
            verification_uri: format!("{issuer}/device"),
            ttl_secs: ttl_secs.max(1),
        }
    }

    /// The device authorization endpoint (RFC 8628 §3.1–3.2). The client authenticates as at
    /// the token endpoint, with its failures counted against the same budgets; a public client
    /// by its client_id alone. `scope` and `resource` are checked as at the authorize endpoint:
    /// absent scope means `profile` (nothing with `resource`), unknown is `invalid_scope`, the
    /// built-in ones must be within the app's scopes, and each `resource` must be an enabled API
    /// allowed for the app (`invalid_target`). `spend_limit` is the app's suggestion for the
    /// consent form, as at the authorize endpoint (`<quota units>/<day|month|total>`).
    pub async fn authorize(
        &self,
        creds: &ClientCredentials,
        scope: Option<&str>,
        resources: &[String],
        spend_limit: Option<&str>,
        ip: &str,
    ) -> Result<DeviceAuthorization, TokenError> {
        let client = self
            .tokens
            .authenticate_throttled(creds, Endpoint::DeviceAuthorization, ip)
            .await?;
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(TokenError::UnauthorizedClient(
                "the device_code grant is not enabled",
            ));
        }
        let apis = resolve(self.store.as_ref(), &client, resources, &self.issuer, false).await?;
        let text = scope.map(str::trim).filter(|s| !s.is_empty());
        let (scopes, grant) = match text {
            None if apis.is_empty() => (ScopeSet::of(&[Scope::Profile]), ResourceGrants::none()),
            text => split_scopes(text.unwrap_or_default(), &apis)?,
        };
        if !scopes.is_subset_of(client.allowed_scopes) {
            return Err(TokenError::InvalidScope("scope not allowed for this app"));
        }
        let suggested_limit = spend_limit
            .map(SpendLimit::parse)
            .transpose()
            .map_err(|_| TokenError::InvalidRequest(BadSpendLimit::SUGGESTION))?
            .filter(|_| scopes.contains(Scope::BalanceSpend));
        let now = self.clock.now();
        // A user code may collide with a live one (1 in 20^8 per live code): draw again.
        let mut attempts = 0;
        loop {
            let device_code = Secret::generate(DEVICE_CODE_PREFIX);
            let user_code = random_string(USER_CODE_ALPHABET, USER_CODE_LEN);
            let record = NewDeviceCode {
                device_code_hash: device_code.hash(),
                user_code_hash: SecretHash::of(&user_code),
                client: client.id,
                scopes,
                resources: grant.clone(),
                interval_secs: POLL_INTERVAL_SECS,
                suggested_limit,
                created_at: now,
                expires_at: now + self.ttl_secs,
            };
            match self.store.create_device_code(&record).await {
                Ok(()) => {}
                Err(StoreError::Conflict(Conflict::Secret)) if attempts < 3 => {
                    attempts += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            let shown = display_user_code(&user_code);
            return Ok(DeviceAuthorization {
                device_code,
                verification_uri_complete: format!("{}?user_code={shown}", self.verification_uri),
                verification_uri: self.verification_uri.clone(),
                user_code: shown,
                expires_in: self.ttl_secs,
                interval: POLL_INTERVAL_SECS,
            });
        }
    }

    /// The pending authorization behind a typed user code, for the consent page. A malformed
    /// or unknown code counts toward the guessing limits; over them, nothing is looked up.
    pub async fn find(
        &self,
        typed: &str,
        typist: Typist<'_>,
    ) -> Result<PendingDevice, DeviceError> {
        self.limits
            .attempt(
                &typist.keys(),
                |outcome: &Result<_, DeviceError>| {
                    outcome.as_ref().is_err_and(DeviceError::is_wrong_guess)
                },
                self.pending(typed),
            )
            .await
    }

    /// The user's answer (RFC 8628 §3.3). The code is looked up again: the form's hidden field
    /// is only as good as the browser that sent it, so it counts toward the guessing limits as
    /// at [`Self::find`]. An approval records the consent (the user sees and can revoke it
    /// among their authorizations) and is audited, as is a denial. A user code works once:
    /// answered, it is no longer found. Approving `balance:spend` needs the limit the user set
    /// (`LimitRequired` otherwise, with nothing changed); it is stored on the consent.
    pub async fn decide(
        &self,
        typed: &str,
        user: &User,
        typist: Typist<'_>,
        answer: DeviceAnswer,
    ) -> Result<PendingDevice, DeviceError> {
        self.limits
            .attempt(
                &typist.keys(),
                |outcome: &Result<_, DeviceError>| {
                    outcome.as_ref().is_err_and(DeviceError::is_wrong_guess)
                },
                self.answer(typed, user, typist, answer),
            )
            .await
    }

    async fn answer(
        &self,
        typed: &str,
        user: &User,
        typist: Typist<'_>,
        answer: DeviceAnswer,
    ) -> Result<PendingDevice, DeviceError> {
        let (pending, hash) = self.pending_with_hash(typed).await?;
        let spends = pending.scopes.contains(Scope::BalanceSpend);
        let (approve, spend_limit) = match answer {
            DeviceAnswer::Approve(None) if spends => return Err(DeviceError::LimitRequired),
            DeviceAnswer::Approve(limit) => (true, limit.filter(|_| spends)),
            DeviceAnswer::Deny => (false, None),
        };
        let now = self.clock.now();
        let decision = if approve {
            DeviceDecision::Approve {
                user_id: user.id,
                auth_time: typist.session.created_at,
            }
        } else {
            DeviceDecision::Deny
        };
        if !self.store.decide_device_code(&hash, decision, now).await? {
            // Answered in another tab, or expired, in between.
            return Err(DeviceError::Unknown);
        }
        let what = if approve {
            save_consent_adding(
                self.store.as_ref(),
                (user.id, pending.client.id),
                pending.scopes,
                &pending.grant,
                spend_limit,
                now,
            )
            .await?;
            action::DEVICE_APPROVED
        } else {
            action::DEVICE_DENIED
        };
        audit::record(
            self.store.as_ref(),
            now,
            Some(user.id),
            what,
            pending.client.client_id.clone(),
            json!({
                "scopes": scope_string(pending.scopes, &pending.grant),
                "spend_limit": spend_limit.map(|l| l.to_string()),
            }),
            typist.ip,
        )
        .await;
        Ok(pending)
    }

    /// The pending, unexpired authorization of an active app behind `typed`.
    async fn pending(&self, typed: &str) -> Result<PendingDevice, DeviceError> {
        self.pending_with_hash(typed)
            .await
            .map(|(pending, _)| pending)
    }

    /// [`Self::pending`], with the hash of the user code it was found by.
    async fn pending_with_hash(
        &self,
        typed: &str,
    ) -> Result<(PendingDevice, SecretHash), DeviceError> {
        let canonical = normalise_user_code(typed).ok_or(DeviceError::Malformed)?;
        let hash = SecretHash::of(&canonical);
        let now = self.clock.now();
        let record = self
            .store
            .device_code_by_user_code(&hash)
            .await?
            .filter(|r| r.state(now) == DeviceState::Pending)
            .ok_or(DeviceError::Unknown)?;
        let client = self
            .store
            .client_by_pk(record.client)
            .await?
            .filter(Client::is_active)
            .ok_or(DeviceError::Unknown)?;
        // The APIs as registered now, for the page; one disabled since is not shown (and its
        // token would be refused).
        let mut resources = Vec::new();
        for grant in record.resources.iter() {
            if let Some(api) = self
                .store
                .resource_by_identifier(&grant.resource)
                .await?
                .filter(|r| r.enabled)
            {
                resources.push(api);
            }
        }
        let pending = PendingDevice {
            client,
            scopes: record.scopes,
            resources,
            grant: record.resources,
            user_code: display_user_code(&canonical),
            expires_at: record.expires_at,
            suggested_limit: record.suggested_limit,
        };
        Ok((pending, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8628_6_1_user_codes_ignore_case_dashes_and_spaces() {
        assert_eq!(
            normalise_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalise_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        // Vowels, digits, a short or long code, or other characters are not codes.
        for bad in [
            "BCDF-GHJA",
            "BCDF-GHJ1",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF_GHJK",
            "",
        ] {
            assert_eq!(normalise_user_code(bad), None, "{bad}");
        }
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }
}
