//! Upstream identity providers. Each turns what its provider returns into one
//! [`ExternalIdentity`]; deciding what that identity may do (log in, register, bind) is the
//! domain's job in `keyward-core`.
//!
//! Outbound calls go through [`Http`]: certificates verified, short timeouts, no redirects
//! followed, and plain http only to loopback hosts (the tests' fakes). URLs that untrusted
//! parties give us go through [`GuardedFetcher`] instead (public addresses only). Both trust
//! the system roots plus [`ExtraRoots`] (`outbound_ca_file`).

pub mod github;
pub mod guarded;
pub mod http;
pub mod linuxdo;
pub mod mail;
pub mod oauth2;
pub mod oidc;
pub mod roots;
pub mod telegram;
pub mod wechat;

pub use guarded::{FetchError, FetchLimits, FetchedJson, GuardedFetcher};
pub use http::Http;
pub use roots::ExtraRoots;

/// Who the provider says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// `github`, `oidc`, `linuxdo`, `wechat`, `telegram`.
    pub provider: &'static str,
    /// The stable key: a numeric id, `issuer sub`, an openid; never a changeable handle.
    pub subject: String,
    /// The provider's handle, shown as the display name (never used as the local user name).
    pub handle: String,
    pub display_name: String,
    /// Only set when the provider says the address is verified.
    pub verified_email: Option<String>,
    pub avatar_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("invalid code")]
    InvalidCode,
    #[error("cannot reach the provider: {0}")]
    Connect(String),
    #[error("the provider refused the code: {0}")]
    Token(String),
    #[error("the provider's user endpoint failed: {0}")]
    UserInfo(String),
    #[error("the provider returned no user id")]
    EmptyIdentity,
    #[error("id_token rejected: {0}")]
    IdToken(String),
    #[error("trust level {actual} is below the required {required}")]
    TrustLevel { actual: i64, required: i64 },
    #[error("the provider's answer is malformed: {0}")]
    Malformed(String),
    #[error("misconfigured: {0}")]
    Config(String),
    #[error("{0}")]
    Refused(String),
}

/// Keeps a provider-supplied text short and printable before it is stored or shown.
pub fn clean(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_owned()
}
