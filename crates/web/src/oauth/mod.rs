//! The provider's protocol endpoints, for each API family: the 2libra style (`/api/oauth/...`,
//! `{c, m, d}` envelope), the new-api style (`/api/oauth2/...`, RFC 6749 JSON), and the pages of
//! the authorization endpoint shared by both.

pub mod authorize;
pub mod form;
pub mod libra;
pub mod token;
pub mod userinfo;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1; the scheme is case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
