use crate::clock::UnixTime;
use crate::oidc::SigningAlg;

/// The numeric id of a resource server (`/api/admin/resources/{id}`).
pub type ResourcePk = i64;

/// How a resource's access tokens look on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// A random reference, checked by introspection: revocable at once.
    Opaque,
    /// An RFC 9068 JWT, checked offline against `jwks_uri`: cannot be recalled before it expires.
    Jwt,
}

impl TokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "opaque" => Some(Self::Opaque),
            "jwt" => Some(Self::Jwt),
            _ => None,
        }
    }
}

/// A permission an API defines, described to the user on the consent page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResourceScope {
    pub name: String,
    pub description_zh: String,
    pub description_en: String,
}

/// An API or MCP server that accepts Keyward's access tokens (RFC 8707's "resource").
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ResourcePk,
    /// The absolute URI apps name in `resource`, and the `aud` of its tokens.
    pub identifier: String,
    pub name_zh: String,
    pub name_en: String,
    pub scopes: Vec<ResourceScope>,
    pub token_format: TokenFormat,
    /// How its JWT access tokens are signed.
    pub signing_alg: SigningAlg,
    pub access_token_ttl_secs: i64,
    /// The app whose credentials the API itself uses at the introspection endpoint, which then
    /// answers about tokens bound to this resource whichever app holds them.
    pub introspection_client_id: Option<String>,
    pub enabled: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Resource {
    pub fn scope(&self, name: &str) -> Option<&ResourceScope> {
        self.scopes.iter().find(|s| s.name == name)
    }
}

/// A resource to store; its identifier never changes after this.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub identifier: String,
    pub name_zh: String,
    pub name_en: String,
    pub scopes: Vec<ResourceScope>,
    pub token_format: TokenFormat,
    pub signing_alg: SigningAlg,
    pub access_token_ttl_secs: i64,
    pub introspection_client_id: Option<String>,
    pub created_at: UnixTime,
}

/// Admin changes to a resource; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ResourcePatch {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub scopes: Option<Vec<ResourceScope>>,
    pub token_format: Option<TokenFormat>,
    pub signing_alg: Option<SigningAlg>,
    pub access_token_ttl_secs: Option<i64>,
    /// `Some(None)` removes it.
    pub introspection_client_id: Option<Option<String>>,
    pub enabled: Option<bool>,
}
