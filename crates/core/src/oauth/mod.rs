//! The OAuth 2.0 / OpenID Connect provider's protocol core: app registration and review, the
//! authorization request, consent, codes and tokens. Plain Rust; the web crate maps its
//! outcomes to each API family's envelope.

pub mod app_edit;
pub mod apps;
pub mod audience;
pub mod authorize;
pub mod client_auth;
pub mod device;
pub mod directory;
pub mod error;
pub mod metadata_document;
pub mod pkce;
pub mod redirect_uri;
pub mod registration;
pub mod resources;
pub mod scope;
pub mod successor;
pub mod tokens;

pub use error::{ErrorCode, TokenError};

/// Prefixes of the credentials the provider hands out, so that leaked ones are recognisable.
pub const CLIENT_ID_PREFIX: &str = "client_";
pub const CLIENT_SECRET_PREFIX: &str = "secret_";
pub const CODE_PREFIX: &str = "kwac_";
pub const ACCESS_TOKEN_PREFIX: &str = "kwat_";
pub const REFRESH_TOKEN_PREFIX: &str = "kwrt_";

/// Lifetimes, configurable by the operator.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub code_secs: i64,
    pub access_token_secs: i64,
    pub refresh_token_secs: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code_secs: 600,
            access_token_secs: 7200,
            refresh_token_secs: 30 * 24 * 3600,
        }
    }
}
