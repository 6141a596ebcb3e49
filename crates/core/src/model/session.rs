use crate::clock::UnixTime;
use crate::model::UserId;
use crate::secret::SecretHash;

/// A browser login. The cookie carries the secret; the store keeps only its hash.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: SecretHash,
    pub user_id: UserId,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub expires_at: UnixTime,
    pub ip: String,
    pub user_agent: String,
    /// Only the first factor is proven; the session authorizes nothing but the second step.
    pub mfa_pending: bool,
}

/// How long after its login a session counts as a fresh proof of its user: enrolling a passkey,
/// changing the e-mail address and deleting the account need one, so that a session left open
/// (or stolen) cannot do them. Every login opens a new session, so `created_at` is the login.
pub const RECENT_SIGN_IN_SECS: i64 = 600;

impl Session {
    /// The user signed in (all factors) at most [`RECENT_SIGN_IN_SECS`] ago.
    pub fn is_recent_sign_in(&self, now: UnixTime) -> bool {
        !self.mfa_pending && now - self.created_at <= RECENT_SIGN_IN_SECS
    }
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: SecretHash,
    pub user_id: UserId,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub ip: String,
    pub user_agent: String,
    pub mfa_pending: bool,
}

/// A user's TOTP enrolment as stored.
#[derive(Debug, Clone, Default)]
pub struct TwoFactorRecord {
    /// The TOTP secret, encrypted with the master key.
    pub secret: Option<Vec<u8>>,
    pub enabled: bool,
    /// The last accepted time step; a code is accepted once (RFC 6238 §5.2).
    pub last_step: i64,
    /// JSON list of SHA-256 hex digests of the unused recovery codes.
    pub recovery_codes: String,
}

/// A user's API key for the developer endpoints (`POST /api/oauth_apps`...). One per user: issuing
/// a new one replaces the old.
#[derive(Debug, Clone)]
pub struct DeveloperToken {
    pub user_id: UserId,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}
