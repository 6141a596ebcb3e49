//! `POST /oauth2/revoke` (RFC 7009). A refresh token takes its whole family with it; an access
//! token goes alone. Unknown tokens, and tokens of other clients, get the same empty 200 so that
//! the endpoint reveals nothing.

use crate::oauth::client_request::ClientRequest;
use crate::oauth::token::{OAuthResult, no_store};
use crate::openapi::{ClientAuthFailures, OAuthErrorBody};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;

#[utoipa::path(post, path = "/oauth2/revoke", tag = "oidc",
    request_body(content = crate::oauth::form::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or unknown: the same empty answer (RFC 7009 §2.2)."),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        ClientAuthFailures),
    security((), ("client_basic" = [])))]
pub async fn post(State(state): State<AppState>, request: ClientRequest) -> OAuthResult {
    let (client, token) = request.client_and_token()?;
    state.tokens.revoke(&client, &token, &request.ip).await?;
    Ok(no_store(StatusCode::OK))
}
