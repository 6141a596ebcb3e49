use crate::clock::UnixTime;
use crate::model::UserId;
use crate::oauth::scope::ScopeSet;
use crate::oidc::SigningAlg;
use crate::secret::SecretHash;

/// The numeric id of an app (`/api/oauth_apps/{id}`); apps are also known by `client_id`.
pub type ClientPk = i64;

/// An app's review state. Only `Approved` apps can authorize users or obtain tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    Pending,
    Approved,
    Rejected,
    Disabled,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// The device authorization grant (RFC 8628), for CLIs and devices without a browser.
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// A list of grants as RFC 7591 writes them in a space-separated string (and the stores keep
    /// them).
    pub fn join(grants: &[GrantType]) -> String {
        grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How an app proves who it is at the token, introspection, revocation and device
/// authorization endpoints (RFC 7591 §2 `token_endpoint_auth_method`). The two secret methods
/// are one class: a secret app may send its secret either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with a key of the app's registered JWK Set (RFC 7523 §2.2, OIDC Core §9).
    PrivateKeyJwt,
    /// A public app: no credential.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the app authenticates with a client secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Registered by a developer in the console (or the apps API), reviewed by an admin.
    Console,
    /// Registered itself at `/oauth2/register` (RFC 7591).
    Dynamic,
    /// Its `client_id` is the https URL of its metadata document
    /// (draft-ietf-oauth-client-id-metadata-document), fetched when it is used.
    MetadataDocument,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Dynamic => "dynamic",
            Self::MetadataDocument => "metadata_document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "console" => Some(Self::Console),
            "dynamic" => Some(Self::Dynamic),
            "metadata_document" => Some(Self::MetadataDocument),
            _ => None,
        }
    }

    /// Whether the client described itself, unseen by anyone at the platform: such a client is
    /// never trusted and users always see who it claims to be.
    pub fn self_registered(self) -> bool {
        self != Self::Console
    }
}

/// A registered app (OAuth client).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientPk,
    pub client_id: String,
    /// The developer who registered it; `None` for a self-registered client.
    pub owner_id: Option<UserId>,
    pub name: String,
    pub description: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_scopes: ScopeSet,
    pub grant_types: Vec<GrantType>,
    /// No secret: a native or browser app, which must use PKCE.
    pub public: bool,
    pub secret_hash: Option<SecretHash>,
    /// A rotated-out secret that still works until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<SecretHash>,
    pub previous_secret_expires_at: Option<UnixTime>,
    /// When the owner was shown the secret; a secret is shown once.
    pub secret_revealed_at: Option<UnixTime>,
    pub status: ClientStatus,
    pub review_note: String,
    /// Marked by an admin: users are not asked to consent.
    pub trusted: bool,
    /// An admin allowed the app to ask users for `balance:spend` (issue #19).
    pub may_spend: bool,
    /// The platform's own gateway: with client credentials it charges any user by id, without
    /// a per-user limit. Admin-only.
    pub billing_service: bool,
    /// How this app's id_tokens are signed (OIDC `id_token_signed_response_alg`).
    pub id_token_alg: SigningAlg,
    /// The APIs (resource identifiers) an admin limited the app to; `None`: any enabled one,
    /// with the user's consent (client credentials need the app listed).
    pub allowed_resources: Option<Vec<String>>,
    /// How the app authenticates; `None` exactly for public apps.
    pub auth_method: AuthMethod,
    /// The app's public JWK Set (JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where the app's JWK Set is fetched instead, for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    pub kind: ClientKind,
    /// RFC 7592: the hash of a dynamic client's registration access token.
    pub registration_token_hash: Option<SecretHash>,
    /// When a metadata-document client's document must be fetched again.
    pub metadata_expires_at: Option<UnixTime>,
    /// When the client was last seen authorizing a user.
    pub last_used_at: Option<UnixTime>,
    /// The app's logo (https), shown on consent pages.
    pub logo_uri: Option<String>,
    /// The app's homepage (RFC 7591 `client_uri`, https).
    pub client_uri: Option<String>,
    /// The app's privacy policy (https).
    pub policy_uri: Option<String>,
    /// A change the owner asked for that waits for an admin's review; the fields above stay in
    /// force until it is approved.
    pub pending_change: Option<ClientDetails>,
    /// When that change was asked for.
    pub pending_since: Option<UnixTime>,
    /// When an admin last approved the app or a change of it; `None` once its name, logo,
    /// redirect URIs or scopes changed without review (or it never was reviewed).
    pub reviewed_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// What an app's owner may change about it, whole: the configuration in force, or one that
/// waits for review (kept as JSON by the stores).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientDetails {
    pub name: String,
    pub description: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Space-separated, as `ScopeSet` writes them.
    pub scopes: String,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
}

impl ClientDetails {
    /// The JSON the stores keep.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `None` for text that is not a change (a store reading a damaged row shows no change).
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    pub fn scope_set(&self) -> ScopeSet {
        ScopeSet::parse(&self.scopes).unwrap_or_default()
    }
}

impl Client {
    /// The editable part of the configuration in force.
    pub fn details(&self) -> ClientDetails {
        ClientDetails {
            name: self.name.clone(),
            description: self.description.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            scopes: self.allowed_scopes.to_string(),
            logo_uri: self.logo_uri.clone(),
            client_uri: self.client_uri.clone(),
            policy_uri: self.policy_uri.clone(),
        }
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn is_active(&self) -> bool {
        self.status == ClientStatus::Approved
    }

    /// Whether users may skip consent for it: only an app an admin marked trusted, and never a
    /// client that described itself.
    pub fn is_trusted(&self) -> bool {
        self.trusted && !self.kind.self_registered()
    }

    pub fn grant_types_string(&self) -> String {
        GrantType::join(&self.grant_types)
    }
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub owner_id: Option<UserId>,
    pub name: String,
    pub description: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_scopes: ScopeSet,
    pub grant_types: Vec<GrantType>,
    pub public: bool,
    pub id_token_alg: SigningAlg,
    pub auth_method: AuthMethod,
    /// Validated public JWK Set (JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub kind: ClientKind,
    pub registration_token_hash: Option<SecretHash>,
    pub metadata_expires_at: Option<UnixTime>,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub status: ClientStatus,
    /// Set when the app is approved at creation and the secret shown in that answer.
    pub secret_hash: Option<SecretHash>,
    pub secret_revealed_at: Option<UnixTime>,
    pub created_at: UnixTime,
}

/// Admin changes to an app; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub status: Option<ClientStatus>,
    pub review_note: Option<String>,
    pub trusted: Option<bool>,
    pub may_spend: Option<bool>,
    pub billing_service: Option<bool>,
    pub allowed_scopes: Option<ScopeSet>,
    /// `Some(None)` lifts the limit.
    pub allowed_resources: Option<Option<Vec<String>>>,
}

/// What a self-registered client says about itself (RFC 7591 §2), replaced whole when its
/// metadata document is fetched again or its registration is updated (RFC 7592 §2.2).
#[derive(Debug, Clone)]
pub struct ClientMetadata {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub allowed_scopes: ScopeSet,
    pub public: bool,
    pub auth_method: AuthMethod,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub metadata_expires_at: Option<UnixTime>,
}
