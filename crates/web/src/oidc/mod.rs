//! The standard OpenID Connect / OAuth 2.0 endpoints: discovery, JWKS, userinfo, revocation,
//! introspection and RP-initiated logout.

pub mod discovery;
pub mod introspect;
pub mod logout;
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
