//! `POST /oauth2/introspect` (RFC 7662), for confidential clients about their own tokens. Any
//! other token is simply `{"active": false}`.

use crate::oauth::form::{AuthMethod, Form, client_credentials};
use crate::oauth::token::{OAuthError, no_store};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use keyward_core::model::{TokenKind, TokenRecord};
use keyward_core::oauth::TokenError;
use keyward_core::secret::SecretHash;
use serde_json::{Value, json};

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
            return Err(TokenError::UnauthorizedClient("public clients cannot introspect"));
        }
        let token = form.get("token").ok_or(TokenError::InvalidRequest("token is required"))?;
        let inactive = json!({"active": false});
        if token.len() > 256 {
            return Ok(inactive);
        }
        let Some(record) = state.store.token_by_hash(&SecretHash::of(token)).await? else {
            return Ok(inactive);
        };
        if record.client != client.id || !live(&state, &record).await? {
            return Ok(inactive);
        }
        let user = match record.user_id {
            Some(id) => state.store.user_by_id(id).await?,
            None => None,
        };
        let mut body = json!({
            "active": true,
            "scope": record.scopes.to_string(),
            "client_id": client.client_id,
            "token_type": match record.kind { TokenKind::Access => "Bearer", TokenKind::Refresh => "refresh_token" },
            "exp": record.expires_at,
            "iat": record.created_at,
            "aud": client.client_id,
            "iss": state.config.public_url,
        });
        if let (Some(user), Value::Object(map)) = (user, &mut body) {
            map.insert("sub".into(), json!(user.uuid.to_string()));
            map.insert("username".into(), json!(user.username));
        }
        Ok(body)
    }
    .await;
    match result {
        Ok(body) => no_store(Json(body)),
        Err(error) => OAuthError { error, method }.into_response(),
    }
}

/// Alive: unexpired, unrevoked, not yet rotated (refresh), and its user still enabled.
async fn live(state: &AppState, record: &TokenRecord) -> Result<bool, TokenError> {
    let now = state.accounts.now();
    if record.revoked_at.is_some() || record.expires_at <= now || record.used_at.is_some() {
        return Ok(false);
    }
    match record.user_id {
        Some(id) => Ok(state
            .store
            .user_by_id(id)
            .await?
            .is_some_and(|u| u.is_enabled())),
        None => Ok(true),
    }
}
