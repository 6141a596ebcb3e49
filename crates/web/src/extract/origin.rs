//! Refusing requests that another site made a browser send (CSRF, login CSRF).

use crate::envelope::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::ORIGIN;
use axum::http::request::Parts;

pub(crate) const CROSS_SITE: &str = "跨站请求被拒绝";

/// A request that no other site made this browser send: `Sec-Fetch-Site` is not `cross-site`
/// nor `same-site` (a sibling sub-domain is another site to us), and an `Origin`, when the
/// browser sends one, is this server's public URL. Browsers without Fetch Metadata still send
/// `Origin` on every POST/PUT/PATCH/DELETE, so the writes are covered either way.
pub struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check(&parts.headers, &state.config.public_url)?;
        Ok(Self)
    }
}

/// The check [`SameOrigin`] makes, for handlers that read the headers themselves.
pub fn check(headers: &HeaderMap, public_url: &str) -> Result<(), ApiError> {
    let site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if matches!(site, Some(b"cross-site" | b"same-site")) {
        return Err(ApiError::Forbidden(CROSS_SITE));
    }
    if let Some(origin) = headers.get(ORIGIN)
        && !origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(origin_of(public_url)))
    {
        return Err(ApiError::Forbidden(CROSS_SITE));
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL: what browsers put in `Origin`.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const PUBLIC: &str = "https://id.example.com/";

    #[test]
    fn the_public_origin_passes_and_others_do_not() {
        assert!(check(&headers(&[]), PUBLIC).is_ok());
        assert!(check(&headers(&[("origin", "https://id.example.com")]), PUBLIC).is_ok());
        assert!(check(&headers(&[("sec-fetch-site", "same-origin")]), PUBLIC).is_ok());
        assert!(check(&headers(&[("sec-fetch-site", "none")]), PUBLIC).is_ok());
        for bad in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example.com")]),
            headers(&[("origin", "https://id.example.com.evil.net")]),
            headers(&[("origin", "http://id.example.com")]),
            headers(&[("origin", "null")]),
        ] {
            assert!(check(&bad, PUBLIC).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn origin_of_drops_the_path() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://a.b/keyward/x?y"), "https://a.b");
    }
}
