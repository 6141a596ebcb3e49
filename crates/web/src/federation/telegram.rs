//! The Telegram Login Widget: `GET /api/oauth/telegram/login` and `/api/oauth/telegram/bind`
//! with the widget's signed fields.

use super::UpstreamOutcome;
use super::{enabled, finish, not_enabled, registration};
use crate::envelope::ApiError;
use crate::envelope::ApiQuery;
use crate::extract::{Client, SameOrigin, SessionUser};
use crate::openapi::{Answer, Failure};
use crate::pages::login::redirect;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use keyward_core::accounts::federation::{FederatedIdentity, FederationError, Intent};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The Telegram Login Widget's fields, signed by Telegram with the bot token. Documentation
/// only: the handlers read the fields as a map, so that the signature covers exactly what came.
#[derive(Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct WidgetFields {
    pub id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub photo_url: Option<String>,
    pub auth_date: Option<String>,
    pub hash: Option<String>,
}

const LABEL: &str = "Telegram";
const FIELDS: [&str; 7] = [
    "id",
    "first_name",
    "last_name",
    "username",
    "photo_url",
    "auth_date",
    "hash",
];

async fn identify(
    state: &AppState,
    query: &BTreeMap<String, String>,
) -> Result<FederatedIdentity, ApiError> {
    let settings = state.settings.get().await?;
    if !enabled(&settings, "telegram") {
        return Err(not_enabled(LABEL));
    }
    // Only the widget's fields take part in the signature; anything else is ignored.
    let fields: BTreeMap<String, String> = query
        .iter()
        .filter(|(k, v)| FIELDS.contains(&k.as_str()) && v.len() <= 512)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let token = super::state::vault_secret(state, "telegram_bot_token").await?;
    keyward_upstream::telegram::verify(
        &fields,
        &token,
        settings.telegram_max_age_secs,
        state.accounts.now(),
    )
    .map(|identity| super::callback::federated(identity, LABEL))
    .map_err(|e| {
        tracing::info!(error = %e, "telegram data refused");
        ApiError::Refused("Telegram验证失败".into())
    })
}

fn telegram_error(e: FederationError) -> ApiError {
    match e {
        FederationError::AlreadyBound(_) => ApiError::Refused("该Telegram账户已被绑定".into()),
        other => other.into(),
    }
}

/// `POST /api/oauth/telegram/login` with the widget's fields as JSON: keeps them out of URLs,
/// logs and Referer headers (the GET form is kept for new-api's clients).
/// A script on this site's origin posts the fields; another site cannot (JSON content type,
/// `Origin` and Fetch Metadata checked), so no state is needed.
#[utoipa::path(post, path = "/api/oauth/telegram/login", tag = "login-module",
    request_body = WidgetFields,
    responses(
        (status = 200, description = "Logged in (session cookie set), or a refusal (`Telegram验证失败`...).", body = Answer<UpstreamOutcome>),
        (status = 403, description = "A cross-site request.", body = Failure)),
    security((), ("session" = [])))]
pub async fn login_post(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    jar: CookieJar,
    Client(client): Client,
    crate::envelope::ApiJson(body): crate::envelope::ApiJson<BTreeMap<String, serde_json::Value>>,
) -> Result<Response, ApiError> {
    let fields = body
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    log_in(&state, jar, &client, &fields).await
}

/// Login by the widget's redirect. Bound to the browser that started it: the `state` must be
/// one issued to this browser (its flow cookie), unused and fresh. As in new-api, an unknown
/// Telegram account does not register unless the admin turned that on
/// (`telegram_register_enabled`); a disabled account is refused.
#[utoipa::path(get, path = "/api/oauth/telegram/login", tag = "login-module",
    params(WidgetFields,
        ("state" = String, Query, description = "From `GET /api/oauth/state` in this browser (the widget's `auth_url` carries it): the signed data alone would let anyone who has it log any browser into their account for a day (login CSRF).")),
    responses(
        (status = 200, description = "Logged in (session cookie set), or a refusal (`Telegram验证失败`...).", body = Answer<UpstreamOutcome>),
        (status = 403, description = "The state is missing, used, expired, or from another browser.", body = Failure)),
    security((), ("session" = [])))]
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiQuery(query): ApiQuery<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let flow = query.get("state").map(String::as_str).unwrap_or_default();
    super::callback::take_state(&state, &jar, flow, "telegram").await?;
    log_in(&state, jar, &client, &query).await
}

async fn log_in(
    state: &AppState,
    jar: CookieJar,
    client: &keyward_core::accounts::ClientInfo,
    query: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let identity = identify(state, query).await?;
    let settings = state.settings.get().await?;
    let policy = registration(&settings, "telegram");
    let outcome = match state
        .accounts
        .federate(Intent::Login, &identity, policy, None, &client.ip)
        .await
    {
        Err(FederationError::RegistrationClosed) if !settings.telegram_register_enabled => {
            return Err(ApiError::Refused("该 Telegram 账户未绑定".into()));
        }
        other => other.map_err(telegram_error)?,
    };
    finish(state, jar, client, outcome, "", "telegram").await
}

/// Bind: the widget navigates the browser here, so success goes back to the security page.
#[utoipa::path(get, path = "/api/oauth/telegram/bind", tag = "login-module",
    params(WidgetFields),
    responses(
        (status = 302, description = "Bound: back to the security page."),
        (status = 200, description = "Refused (`Telegram验证失败`, `该Telegram账户已被绑定`...).", body = Failure)),
    security(("session" = [])))]
pub async fn bind(
    State(state): State<AppState>,
    current: SessionUser,
    crate::extract::Client(client): crate::extract::Client,
    ApiQuery(query): ApiQuery<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let identity = identify(&state, &query).await?;
    let settings = state.settings.get().await?;
    state
        .accounts
        .federate(
            Intent::Bind(current.user.id),
            &identity,
            registration(&settings, "telegram"),
            None,
            &client.ip,
        )
        .await
        .map_err(telegram_error)?;
    // new-api answers a bind with a 302 to the profile page.
    let mut response = redirect("/user/security");
    *response.status_mut() = axum::http::StatusCode::FOUND;
    Ok(response)
}
