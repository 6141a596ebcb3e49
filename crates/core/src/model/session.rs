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
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: SecretHash,
    pub user_id: UserId,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub ip: String,
    pub user_agent: String,
}

/// A user's API key for the developer endpoints (`POST /api/oauth_apps`...). One per user: issuing
/// a new one replaces the old.
#[derive(Debug, Clone)]
pub struct DeveloperToken {
    pub user_id: UserId,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}
