//! The standard OpenID Connect / OAuth 2.0 endpoints: discovery, JWKS, userinfo, revocation,
//! introspection and RP-initiated logout.

pub mod discovery;
pub mod introspect;
pub mod logout;
pub mod register;
pub mod revoke;
pub mod userinfo;

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Public, cacheable documents that browser apps fetch cross-origin.
pub fn public_document(mut response: Response, max_age: u32) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

/// The CORS preflight of a bearer-token endpoint (userinfo): any origin may call it with GET or
/// POST and an `Authorization` header. No credentials are allowed (the token is a header, not
/// a cookie), so `*` is safe.
pub async fn bearer_preflight() -> Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}
