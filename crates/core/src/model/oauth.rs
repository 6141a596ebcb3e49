use crate::billing::limit::SpendLimit;
use crate::clock::UnixTime;
use crate::model::{ClientPk, User, UserId};
use crate::oauth::audience::ResourceGrants;
use crate::oauth::scope::ScopeSet;
use crate::secret::SecretHash;

/// What a user has agreed to share with an app; remembered so they are not asked again.
#[derive(Debug, Clone)]
pub struct Consent {
    pub user_id: UserId,
    pub client: ClientPk,
    pub scopes: ScopeSet,
    /// The APIs and their scopes the user agreed to (RFC 8707).
    pub resources: ResourceGrants,
    /// With `balance:spend`: how much the app may spend, per period.
    pub spend_limit: Option<SpendLimit>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// An authorization code, bound to everything its redemption must match.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub hash: SecretHash,
    pub client: ClientPk,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scopes: ScopeSet,
    pub resources: ResourceGrants,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

/// A token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: SecretHash,
    pub kind: TokenKind,
    pub scopes: ScopeSet,
    /// A refresh token's: the whole grant's APIs; an access token's: its one audience, or none
    /// for Keyward's own APIs.
    pub resources: ResourceGrants,
    pub expires_at: UnixTime,
}

/// Every token descended from one authorization (a code redemption or a client-credentials
/// grant) shares a family, so that revoking the family kills them all at once.
#[derive(Debug, Clone)]
pub struct NewFamily {
    pub client: ClientPk,
    pub user_id: Option<UserId>,
    pub code_hash: Option<SecretHash>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
}

/// A stored token with what deciding about it needs.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub hash: SecretHash,
    pub kind: TokenKind,
    pub family_id: i64,
    pub client: ClientPk,
    pub user_id: Option<UserId>,
    pub scopes: ScopeSet,
    pub resources: ResourceGrants,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// A refresh token that was exchanged; presenting it again is reuse.
    pub used_at: Option<UnixTime>,
    /// When the token, or its whole family, was revoked.
    pub revoked_at: Option<UnixTime>,
    pub auth_time: UnixTime,
}

/// A live access token as a resource endpoint sees it: the token, its app's `client_id`, and its
/// user (absent for client-credentials tokens). Only returned when the token is unexpired, its
/// family unrevoked, its app approved and its user enabled.
#[derive(Debug, Clone)]
pub struct AccessContext {
    pub token: TokenRecord,
    pub client_id: String,
    /// The app's allowed scopes as they are now, which may have been narrowed since the grant.
    pub client_scopes: ScopeSet,
    pub user: Option<User>,
}

/// One row of the audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: UnixTime,
    pub actor_id: Option<UserId>,
    /// Instead of `actor_id` once the actor's account was deleted: `deleted-user:<random>`.
    pub actor_pseudonym: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: UnixTime,
    pub actor_id: Option<UserId>,
    pub action: &'static str,
    pub target: String,
    /// JSON with whatever explains the event; never a secret.
    pub detail: String,
    pub ip: String,
}

/// A signing key as stored: the private half encrypted with the master key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_key: Vec<u8>,
    /// The public JWK, as published.
    pub public_jwk: String,
    pub created_at: UnixTime,
    /// When it starts signing. Until then it is published only, so that relying parties have it
    /// before they see a token signed with it.
    pub not_before: UnixTime,
}

/// An upstream identity linked to an account.
#[derive(Debug, Clone)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub user_id: crate::model::UserId,
    pub display: String,
    pub created_at: UnixTime,
}

/// A started upstream login or bind, waiting for its callback.
#[derive(Debug, Clone)]
pub struct UpstreamState {
    pub state_hash: SecretHash,
    pub browser_hash: SecretHash,
    pub provider: String,
    /// `None` for a login, the account for a bind.
    pub bind_user: Option<crate::model::UserId>,
    pub aff_code: String,
    pub pkce_verifier: Option<String>,
    pub nonce: Option<String>,
    pub return_to: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// The outcome of checking a verification code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right code; it is now deleted. Carries the account it was issued for, if any.
    Valid(Option<crate::model::UserId>),
    /// Wrong code; attempts left.
    Wrong,
    /// No live code (never sent, expired, used, or attempts exhausted).
    Missing,
}
