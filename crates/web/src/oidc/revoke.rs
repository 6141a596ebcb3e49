//! `POST /oauth2/revoke` (RFC 7009). A refresh token takes its whole family with it; an access
//! token goes alone. Unknown tokens, and tokens of other clients, get the same empty 200 so that
//! the endpoint reveals nothing.

use crate::oauth::form::{AuthMethod, Form, client_credentials};
use crate::oauth::token::{OAuthError, no_store};
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyward_core::model::TokenKind;
use keyward_core::oauth::TokenError;
use keyward_core::secret::SecretHash;

#[utoipa::path(post, path = "/oauth2/revoke", tag = "oidc",
    request_body(content = crate::oauth::form::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or unknown: the same empty answer (RFC 7009 §2.2)."),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed.", body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut method = AuthMethod::Post;
    let result = async {
        let body = body.map_err(|_| TokenError::InvalidRequest("unreadable body"))?;
        let form = Form::parse(&body)?;
        let (creds, how) = client_credentials(&headers, &form)?;
        method = how;
        let client = state.tokens.authenticate(&creds).await?;
        let token = form
            .get("token")
            .ok_or(TokenError::InvalidRequest("token is required"))?;
        if token.len() > 256 {
            return Ok(());
        }
        let now = state.accounts.now();
        if let Some(record) = state.store.token_by_hash(&SecretHash::of(token)).await?
            && record.client == client.id
        {
            match record.kind {
                TokenKind::Refresh => state.store.revoke_family(record.family_id, now).await?,
                TokenKind::Access => state.store.revoke_token(&record.hash, now).await?,
            }
        }
        Ok::<(), TokenError>(())
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK),
        Err(error) => OAuthError { error, method }.into_response(),
    }
}
