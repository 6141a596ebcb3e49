//! `GET`/`POST /oauth2/userinfo` (OIDC Core §5.3): standard claims by scope.

use crate::oauth::token::no_store;
use crate::oauth::userinfo::{Balance, bearer_error, user_context};
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use keyward_core::oauth::scope::{Access, Scope};
use serde::Serialize;
use utoipa::ToSchema;

/// Standard claims (OIDC Core §5.1) by scope, and the balance with `balance`.
#[derive(Serialize, ToSchema, Default)]
pub struct Claims {
    /// The user's UUID.
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_formatted: Option<String>,
}

#[utoipa::path(method(get, post), path = "/oauth2/userinfo", tag = "oidc",
    responses(
        (status = 200, description = "Claims by the token's scopes.", body = Claims),
        (status = 401, description = "RFC 6750 `invalid_token`, with `WWW-Authenticate`.", body = OAuthErrorBody),
        (status = 403, description = "RFC 6750 `insufficient_scope`: the token was not issued for `openid`.", body = OAuthErrorBody),
        (status = 500, description = "`server_error`: a failure on our side, such as a database outage.", body = OAuthErrorBody)),
    security(("access_token" = [])))]
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
    let mut body = Claims {
        sub: user.uuid.to_string(),
        ..Claims::default()
    };
    if scopes.gives(Access::Profile) {
        body.preferred_username = Some(user.username.clone());
        body.name = Some(user.display_name.clone());
        body.picture = Some(user.avatar_url.clone()).filter(|p| !p.is_empty());
    }
    if scopes.gives(Access::Email)
        && let Some(email) = &user.email
    {
        body.email = Some(email.clone());
        body.email_verified = Some(user.email_verified);
    }
    if scopes.gives(Access::Balance) {
        let balance = match Balance::of(state, &user).await {
            Ok(balance) => balance,
            Err(response) => return response,
        };
        body.quota = Some(balance.quota);
        body.used_quota = Some(balance.used_quota);
        body.balance_formatted = Some(balance.formatted);
    }
    no_store(Json(body))
}
