//! The provider's protocol endpoints, for each API family: the 2libra style (`/api/oauth/...`,
//! `{c, m, d}` envelope), the new-api style (`/api/oauth2/...`, RFC 6749 JSON), and the pages of
//! the authorization endpoint shared by both.

pub mod authorize;
pub mod balance;
pub mod client_request;
pub mod device;
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

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
#[cfg(test)]
mod props {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bearer_parsing_never_panics_and_needs_the_scheme(value in any::<String>()) {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(AUTHORIZATION, v);
            }
            if let Some(token) = bearer(&headers) {
                prop_assert!(value.to_ascii_lowercase().starts_with("bearer "));
                prop_assert!(value.contains(token));
                prop_assert_eq!(token, token.trim());
            }
        }
    }
}
