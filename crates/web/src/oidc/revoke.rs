//! `POST /oauth2/revoke` (RFC 7009). A refresh token takes its whole family with it; an access
//! token goes alone. Unknown tokens, and tokens of other clients, get the same empty 200 so that
//! the endpoint reveals nothing.

use crate::extract::Client as ClientAddress;
use crate::oauth::form::{Form, client_credentials};
use crate::oauth::token::{OAuthError, no_store};
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyward_core::oauth::TokenError;

#[utoipa::path(post, path = "/oauth2/revoke", tag = "oidc",
    request_body(content = crate::oauth::form::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or unknown: the same empty answer (RFC 7009 §2.2)."),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed.", body = OAuthErrorBody),
        (status = 429, description = "Too many failed client authentications for this client or from this address (`temporarily_unavailable`, with `Retry-After`).", body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
pub async fn post(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let body = body.map_err(|_| TokenError::InvalidRequest("unreadable body"))?;
        let form = Form::parse(&body)?;
        let (creds, _) = client_credentials(&headers, &form)?;
        let token = form
            .get("token")
            .ok_or(TokenError::InvalidRequest("token is required"))?;
        state.tokens.revoke(&creds, token, &address.ip).await
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK),
        Err(error) => OAuthError(error).into_response(),
    }
}
