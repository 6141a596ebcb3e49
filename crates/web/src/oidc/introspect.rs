//! `POST /oauth2/introspect` (RFC 7662), for confidential clients about their own tokens. Any
//! other token is simply `{"active": false}`.

use crate::oauth::form::{AuthMethod, Form, client_credentials};
use crate::oauth::token::{OAuthError, no_store};
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use keyward_core::model::{Client, TokenKind, TokenRecord, User};
use keyward_core::oauth::TokenError;
use keyward_core::secret::SecretHash;
use serde::Serialize;
use utoipa::ToSchema;

/// RFC 7662 §2.2. An inactive token is `{"active": false}` and nothing else.
#[derive(Serialize, ToSchema, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The user's UUID, for tokens that have a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

#[utoipa::path(post, path = "/oauth2/introspect", tag = "oidc",
    request_body(content = crate::oauth::form::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662 §2.2; `{\"active\": false}` for anything not this client's live token.", body = Introspection),
        (status = 400, description = "RFC 6749 §5.2 error (public clients get `unauthorized_client`).", body = OAuthErrorBody),
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
        if client.public {
            return Err(TokenError::UnauthorizedClient(
                "public clients cannot introspect",
            ));
        }
        let token = form
            .get("token")
            .ok_or(TokenError::InvalidRequest("token is required"))?;
        let inactive = Introspection::default();
        if token.len() > 256 {
            return Ok(inactive);
        }
        // An access token: the same check (and, on SQLite, cache) a bearer request gets.
        if let Some(context) = state.tokens.access(token).await? {
            if context.token.client != client.id {
                return Ok(inactive);
            }
            return Ok(active(
                &state,
                client,
                &context.token,
                context.user.as_ref(),
            ));
        }
        let Some(record) = state.store.token_by_hash(&SecretHash::of(token)).await? else {
            return Ok(inactive);
        };
        // An access token that check refused is dead; the rest concerns refresh tokens.
        if record.kind == TokenKind::Access || record.client != client.id {
            return Ok(inactive);
        }
        let user = match record.user_id {
            Some(id) => state.store.user_by_id(id).await?,
            None => None,
        };
        if !live(&state, &record, user.as_ref()) {
            return Ok(inactive);
        }
        Ok(active(&state, client, &record, user.as_ref()))
    }
    .await;
    match result {
        Ok(body) => no_store(Json(body)),
        Err(error) => OAuthError { error, method }.into_response(),
    }
}

/// Alive: unexpired, unrevoked, not yet rotated (refresh), and its user (if any) still enabled.
fn live(state: &AppState, record: &TokenRecord, user: Option<&User>) -> bool {
    let now = state.accounts.now();
    if record.revoked_at.is_some() || record.expires_at <= now || record.used_at.is_some() {
        return false;
    }
    match record.user_id {
        Some(_) => user.is_some_and(User::is_enabled),
        None => true,
    }
}

fn active(
    state: &AppState,
    client: Client,
    record: &TokenRecord,
    user: Option<&User>,
) -> Introspection {
    let token_type = match record.kind {
        TokenKind::Access => "Bearer",
        TokenKind::Refresh => "refresh_token",
    };
    Introspection {
        active: true,
        scope: Some(record.scopes.to_string()),
        client_id: Some(client.client_id.clone()),
        token_type: Some(token_type.to_owned()),
        exp: Some(record.expires_at),
        iat: Some(record.created_at),
        aud: Some(client.client_id),
        iss: Some(state.config.public_url.clone()),
        sub: user.map(|u| u.uuid.to_string()),
        username: user.map(|u| u.username.clone()),
    }
}
