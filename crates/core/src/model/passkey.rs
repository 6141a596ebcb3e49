use crate::clock::UnixTime;
use crate::model::UserId;
use crate::secret::SecretHash;

/// A passkey as stored: the WebAuthn library's credential (public key, counter, flags) as JSON,
/// with what the account pages show.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: i64,
    pub user_id: UserId,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub credential: String,
    /// The authenticator's signature counter last accepted; a use must move it on (when the
    /// authenticator counts at all), so a cloned authenticator shows itself.
    pub sign_count: i64,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub user_id: UserId,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub credential: String,
    pub sign_count: i64,
    pub created_at: UnixTime,
}

/// A WebAuthn ceremony's server-side state, kept under the hash of a secret only the browser
/// that started it holds.
#[derive(Debug, Clone)]
pub struct WebauthnChallenge {
    pub id_hash: SecretHash,
    pub purpose: &'static str,
    /// The account the ceremony is for (enrolment, second factor); none for a sign-in, where
    /// the authenticator names the account.
    pub user_id: Option<UserId>,
    pub state: String,
    pub expires_at: UnixTime,
}

/// Which use of a passkey was recorded: the counter moved on from what was read, or another use
/// got there first (a clone, or a replay racing the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasskeyUse {
    pub id: i64,
    /// The counter read before the ceremony; the update applies only if it is still the stored one.
    pub seen_count: i64,
    pub new_count: i64,
    pub at: UnixTime,
}
