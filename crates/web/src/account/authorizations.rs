//! The apps a user has authorized, and taking an authorization back.

use crate::envelope::{ApiError, ApiJson, ApiPath, Success};
use crate::extract::{AuthVia, Client, CurrentUser};
use crate::openapi::{Answer, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::billing::limit::{Period, SpendLimit};
use keyward_core::oauth::apps::{LimitChangeError, LimitUse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An app the user authorized. Times are unix seconds.
#[derive(Serialize, ToSchema)]
pub struct AuthorizationView {
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// Space-separated.
    pub scopes: String,
    /// The APIs (RFC 8707 resources) granted, each with its scopes.
    pub resources: Vec<ApiGrant>,
    pub granted_time: i64,
    pub updated_time: i64,
    pub last_used_time: Option<i64>,
    /// With `balance:spend`: the limit the user set and what the app spent; else null.
    pub spend_limit: Option<SpendLimitView>,
}

/// A spending limit and what the app spent against it, in quota units.
#[derive(Serialize, ToSchema)]
pub struct SpendLimitView {
    pub amount: i64,
    /// `day` or `month` (UTC calendar windows), or `total` (since the consent).
    pub period: &'static str,
    pub spent_this_period: i64,
    /// Since the consent was given.
    pub spent_total: i64,
    /// What the app may still spend this period (0 when the limit is below what it spent).
    pub remaining: i64,
}

impl From<LimitUse> for SpendLimitView {
    fn from(u: LimitUse) -> Self {
        Self {
            amount: u.limit.amount,
            period: u.limit.period.as_str(),
            spent_this_period: u.spent_this_period,
            spent_total: u.spent_total,
            remaining: u.remaining,
        }
    }
}

/// The scopes granted on one API.
#[derive(Serialize, ToSchema)]
pub struct ApiGrant {
    pub resource: String,
    pub scopes: Vec<String>,
}

/// `GET /api/user/authorizations`: each app with the scopes granted, and when.
#[utoipa::path(get, path = "/api/user/authorizations", tag = "account",
    responses((status = 200, description = "The apps one has authorized.", body = Answer<Vec<AuthorizationView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let consents = state.store.consents_of_user(current.user.id).await?;
    let mut items = Vec::with_capacity(consents.len());
    for (consent, app) in &consents {
        let spend_limit = state.apps.limit_use(consent).await?.map(Into::into);
        items.push(AuthorizationView {
            client_id: app.client_id.clone(),
            name: app.name.clone(),
            description: app.description.clone(),
            scopes: consent.scopes.to_string(),
            resources: consent
                .resources
                .iter()
                .map(|g| ApiGrant {
                    resource: g.resource.clone(),
                    scopes: g.scopes.clone(),
                })
                .collect(),
            granted_time: consent.created_at,
            updated_time: consent.updated_at,
            last_used_time: consent.last_used_at,
            spend_limit,
        });
    }
    Ok(Success::new(items))
}

/// `DELETE /api/user/authorizations/{client_id}`: the consent, every code and every token the
/// user gave that app die at once.
#[utoipa::path(delete, path = "/api/user/authorizations/{client_id}", tag = "account",
    params(("client_id" = String, Path, description = "The app's client id.")),
    responses((status = 200, description = "The consent and every code and token it covered are gone.", body = Answer<Nothing>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(client_id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !state
        .apps
        .revoke_consent(&current.user, &client_id, &client.ip)
        .await?
    {
        return Err(ApiError::NotFound("授权不存在"));
    }
    Ok(Success::done("授权已撤销"))
}

/// `PUT /api/user/authorizations/{client_id}/spend_limit` body.
#[derive(Deserialize, ToSchema)]
pub struct SpendLimitBody {
    /// Quota units, 1 to 10^18.
    amount: i64,
    /// `day`, `month` or `total`.
    period: String,
}

const BAD_LIMIT: &str =
    "amount 须为 1 到 10^18 的整数（额度单位），period 须为 day、month 或 total";
const RAISE_NEEDS_SESSION: &str = "提高消费限额须在浏览器中登录后进行：开发者令牌只能降低限额";

/// `PUT /api/user/authorizations/{client_id}/spend_limit`: changes the limit the user set for
/// an app that spends their balance. A lowering (the same or a smaller amount over the same
/// period, or a day's limit made a month's) applies with a session or a developer token; any
/// other change may allow more and needs a browser session, so that a leaked developer token
/// cannot raise what an app may spend.
#[utoipa::path(put, path = "/api/user/authorizations/{client_id}/spend_limit", tag = "account",
    params(("client_id" = String, Path, description = "The app's client id.")),
    request_body = SpendLimitBody,
    responses((status = 200, description = "The limit now, with what the app spent; or a refusal (the limit changed meanwhile).", body = Answer<SpendLimitView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn set_spend_limit(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(body): ApiJson<SpendLimitBody>,
) -> Result<impl IntoResponse, ApiError> {
    let new = Period::parse(&body.period)
        .and_then(|period| SpendLimit::new(body.amount, period).ok())
        .ok_or(ApiError::BadRequest(BAD_LIMIT))?;
    let confirmed = matches!(current.via, AuthVia::Session(_));
    let changed = match state
        .apps
        .change_spend_limit(&current.user, &client_id, new, confirmed, &client.ip)
        .await
    {
        Ok(changed) => changed,
        Err(LimitChangeError::NotFound) => {
            return Err(ApiError::NotFound("授权不存在，或该应用没有消费限额"));
        }
        Err(LimitChangeError::NeedsConfirmation { .. }) => {
            return Err(ApiError::Forbidden(RAISE_NEEDS_SESSION));
        }
        Err(e @ LimitChangeError::Changed) => return Err(ApiError::Refused(e.to_string())),
        Err(LimitChangeError::Store(e)) => return Err(e.into()),
    };
    let consent = state
        .store
        .consent(current.user.id, changed.client.id)
        .await?
        .ok_or(ApiError::NotFound("授权不存在，或该应用没有消费限额"))?;
    let view = state
        .apps
        .limit_use(&consent)
        .await?
        .map(SpendLimitView::from)
        .ok_or(ApiError::NotFound("授权不存在，或该应用没有消费限额"))?;
    Ok(Success::with_message("消费限额已修改", view))
}
