//! The new-api family's resource endpoints: `GET /api/oauth2/userinfo` and `/api/oauth2/topup`.

use super::token::no_store;
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use keyward_core::model::{AccessContext, User};
use keyward_core::oauth::scope::Access;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

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

/// The family's envelope for a failure on our side (the database is down...): a client reads
/// `error` as with any other answer, never an empty body. Details stay in the log.
pub fn server_error() -> Response {
    no_store((
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": "server_error", "error_description": "internal error"})),
    ))
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
            Err(server_error())
        }
    }
}

pub use keyward_core::billing::balance_formatted;

/// A user's balance as the `balance` scope shows it.
pub struct Balance {
    pub quota: i64,
    pub used_quota: i64,
    /// `(quota − used_quota) / quota_per_unit`, two decimals.
    pub formatted: String,
}

impl Balance {
    /// The balance of `user`; a 500 when the settings (`quota_per_unit`) cannot be read.
    pub async fn of(state: &AppState, user: &User) -> Result<Self, Response> {
        let per_unit = match state.settings.get().await {
            Ok(settings) => settings.quota_per_unit,
            Err(e) => {
                tracing::error!(error = %e, "settings unavailable");
                return Err(server_error());
            }
        };
        Ok(Self {
            quota: user.quota,
            used_quota: user.used_quota,
            formatted: balance_formatted(user.quota, user.used_quota, per_unit),
        })
    }
}

/// The new-api userinfo. Fields of scopes not granted are absent.
#[derive(Serialize, ToSchema)]
pub struct NewApiUserInfo {
    pub id: i64,
    /// With `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With `balance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_quota: Option<i64>,
    /// `(quota − used_quota) / quota_per_unit`, two decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_formatted: Option<String>,
    /// Unix seconds.
    pub created_time: i64,
    /// 1 enabled.
    pub status: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Topup {
    /// The platform's top-up page.
    pub topup_url: String,
}

/// `GET /api/oauth2/userinfo`. Always `id`, `created_time`, `status`; `username` with
/// `profile`; `email` as `ScopeSet::gives` rules (with `profile` unless the grant is OIDC); `quota`, `used_quota`, `balance_formatted` with `balance`. Fields of scopes
/// not granted are absent.
#[utoipa::path(get, path = "/api/oauth2/userinfo", tag = "new-api",
    responses(
        (status = 200, description = "The user, by the token's scopes.", body = NewApiUserInfo),
        (status = 401, description = "RFC 6750 `invalid_token`, with `WWW-Authenticate`.", body = OAuthErrorBody),
        (status = 500, description = "`server_error`: a failure on our side, such as a database outage.", body = OAuthErrorBody)),
    security(("access_token" = [])))]
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let context = match user_context(&state, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let Some(user) = context.user else {
        return bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", "no user");
    };
    let scopes = context.token.scopes;
    let mut body = NewApiUserInfo {
        id: user.id,
        username: None,
        display_name: None,
        email: None,
        quota: None,
        used_quota: None,
        balance_formatted: None,
        created_time: user.created_at,
        status: user.status.as_i64(),
    };
    if scopes.gives(Access::Profile) {
        body.username = Some(user.username.clone());
        body.display_name = Some(user.display_name.clone());
    }
    if scopes.gives(Access::Email) {
        body.email = Some(user.email.clone().unwrap_or_default());
    }
    if scopes.gives(Access::Balance) {
        let balance = match Balance::of(&state, &user).await {
            Ok(balance) => balance,
            Err(response) => return response,
        };
        body.quota = Some(balance.quota);
        body.used_quota = Some(balance.used_quota);
        body.balance_formatted = Some(balance.formatted);
    }
    no_store(Json(body))
}

/// `GET /api/oauth2/topup`: where to send the user to add balance.
#[utoipa::path(get, path = "/api/oauth2/topup", tag = "new-api",
    responses(
        (status = 200, description = "Where to send the user to add balance.", body = Topup),
        (status = 401, description = "RFC 6750 `invalid_token`, with `WWW-Authenticate`.", body = OAuthErrorBody),
        (status = 500, description = "`server_error`: a failure on our side, such as a database outage.", body = OAuthErrorBody)),
    security(("access_token" = [])))]
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
            return server_error();
        }
    };
    no_store(Json(Topup { topup_url: url }))
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
