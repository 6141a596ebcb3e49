//! `GET`/`POST /oauth2/userinfo` (OIDC Core §5.3): standard claims by scope.

use crate::oauth::token::no_store;
use crate::oauth::userinfo::{balance_formatted, bearer_error, user_context};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::oauth::scope::Scope;
use serde_json::{Map, Value, json};

pub async fn handle(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = claims(&state, &headers).await;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn claims(state: &AppState, headers: &HeaderMap) -> Response {
    let context = match user_context(state, headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let scopes = context.token.scopes;
    if !scopes.contains(Scope::OpenId) {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token was not issued for openid",
        );
    }
    let Some(user) = context.user else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", "no user");
    };
    let mut body = Map::new();
    body.insert("sub".into(), json!(user.uuid.to_string()));
    if scopes.contains(Scope::Profile) {
        body.insert("preferred_username".into(), json!(user.username));
        body.insert("name".into(), json!(user.display_name));
        if !user.avatar_url.is_empty() {
            body.insert("picture".into(), json!(user.avatar_url));
        }
    }
    if scopes.contains(Scope::Email)
        && let Some(email) = &user.email
    {
        body.insert("email".into(), json!(email));
        body.insert("email_verified".into(), json!(user.email_verified));
    }
    if scopes.contains(Scope::Balance) {
        let per_unit = match state.settings.get().await {
            Ok(settings) => settings.quota_per_unit,
            Err(e) => {
                tracing::error!(error = %e, "settings unavailable");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        body.insert("quota".into(), json!(user.quota));
        body.insert("used_quota".into(), json!(user.used_quota));
        body.insert(
            "balance_formatted".into(),
            json!(balance_formatted(user.quota, user.used_quota, per_unit)),
        );
    }
    no_store(Json(Value::Object(body)))
}
