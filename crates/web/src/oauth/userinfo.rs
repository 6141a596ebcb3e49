//! The new-api family's resource endpoints: `GET /api/oauth2/userinfo` and `/api/oauth2/topup`.

use super::token::no_store;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::model::AccessContext;
use keyward_core::oauth::scope::Scope;
use serde_json::{Map, Value, json};

/// RFC 6750 §3 errors for a missing or dead bearer token.
pub fn bearer_error(
    status: StatusCode,
    error: &'static str,
    description: &'static str,
) -> Response {
    let challenge =
        format!(r#"Bearer realm="keyward", error="{error}", error_description="{description}""#);
    let mut response = no_store((
        status,
        Json(json!({"error": error, "error_description": description})),
    ));
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The access token of the request, alive and belonging to a user.
pub async fn user_context(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<AccessContext, Response> {
    let Some(bearer) = super::bearer(headers) else {
        return Err(bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a bearer access token is required",
        ));
    };
    match state.tokens.access(bearer).await {
        Ok(Some(context)) if context.user.is_some() => Ok(context),
        Ok(_) => Err(bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid or expired",
        )),
        Err(e) => {
            tracing::error!(error = %e, "token check failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

pub use keyward_core::billing::balance_formatted;

/// `GET /api/oauth2/userinfo`. Always `id`, `created_time`, `status`; `username` and `email`
/// with `profile`; `quota`, `used_quota`, `balance_formatted` with `balance`. Fields of scopes
/// not granted are absent.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let context = match user_context(&state, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let Some(user) = context.user else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", "no user");
    };
    let scopes = context.token.scopes;
    let mut body = Map::new();
    body.insert("id".into(), json!(user.id));
    if scopes.contains(Scope::Profile) {
        body.insert("username".into(), json!(user.username));
        body.insert("display_name".into(), json!(user.display_name));
        body.insert(
            "email".into(),
            json!(user.email.clone().unwrap_or_default()),
        );
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
    body.insert("created_time".into(), json!(user.created_at));
    body.insert("status".into(), json!(user.status.as_i64()));
    no_store(Json(Value::Object(body)))
}

/// `GET /api/oauth2/topup`: where to send the user to add balance.
pub async fn topup(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(response) = user_context(&state, &headers).await {
        return response;
    }
    let url = match state.settings.get().await {
        Ok(settings) if settings.topup_url.starts_with('/') => {
            format!("{}{}", state.config.public_url, settings.topup_url)
        }
        Ok(settings) if !settings.topup_url.is_empty() => settings.topup_url.clone(),
        Ok(_) => format!("{}/topup", state.config.public_url),
        Err(e) => {
            tracing::error!(error = %e, "settings unavailable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    no_store(Json(json!({"topup_url": url})))
}

#[cfg(test)]
mod tests {
    use super::balance_formatted;

    #[test]
    fn balance_matches_the_seed_and_rounds() {
        assert_eq!(balance_formatted(1_000_000, 250_000, 1000), "750.00");
        assert_eq!(balance_formatted(1_000_000, 250_000, 500_000), "1.50");
        assert_eq!(balance_formatted(5, 0, 1000), "0.01");
        assert_eq!(balance_formatted(4, 0, 1000), "0.00");
        assert_eq!(balance_formatted(0, 1500, 1000), "-1.50");
        assert_eq!(
            balance_formatted(i64::MAX, 0, 1),
            format!("{}.00", i64::MAX)
        );
    }
}
