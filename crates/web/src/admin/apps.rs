//! Reviewing apps: list (by status), approve, reject, disable, and mark trusted.

use super::{Listing, PageQuery};
use crate::apps::AppView;
use crate::envelope::{ApiError, ApiJson, OptionalApiJson, Success};
use crate::envelope::{ApiPath, ApiQuery};
use crate::extract::{AdminUser, Client};
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::model::ClientStatus;
use keyward_core::oauth::apps::{AdminEdit, Review};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusFilter {
    #[serde(default)]
    /// `pending`, `approved`, `rejected` or `disabled`; all when absent. `changes`: the apps
    /// whose owner asked for a change that waits for review, longest waiting first.
    status: Option<String>,
}

/// `GET /api/admin/oauth_apps?status=pending&p=&page_size=`.
#[utoipa::path(get, path = "/api/admin/oauth_apps", tag = "admin",
    params(StatusFilter, PageQuery),
    responses((status = 200, description = "Apps, newest first; refused for an unknown status.", body = Answer<crate::admin::Listing<AppView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(filter): ApiQuery<StatusFilter>,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (page, window) = paging.window(20, 100);
    let apps = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some("changes") => state.store.clients_with_pending_change(window).await?,
        None => state.store.list_clients(None, window).await?,
        Some(text) => {
            let status = ClientStatus::parse(text).ok_or(ApiError::Refused("无效的状态".into()))?;
            state.store.list_clients(Some(status), window).await?
        }
    };
    let items: Vec<AppView> = apps.iter().map(|a| AppView::new(a, None)).collect();
    Ok(Listing::answer(items, page, window))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct ReviewBody {
    #[serde(default)]
    reason: String,
}

/// An admin's decision on an app, named in the path.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// From pending, rejected or disabled.
    Approve,
    /// Only a pending app.
    Reject,
    /// An approved app; its tokens stop working at once.
    Disable,
}

impl From<Decision> for Review {
    fn from(decision: Decision) -> Self {
        match decision {
            Decision::Approve => Review::Approve,
            Decision::Reject => Review::Reject,
            Decision::Disable => Review::Disable,
        }
    }
}

/// `POST /api/admin/oauth_apps/{id}/approve`, `/reject` or `/disable` `{reason}`.
#[utoipa::path(post, path = "/api/admin/oauth_apps/{id}/{decision}", tag = "admin",
    params(
        ("id" = i64, Path, description = "The app's id."),
        ("decision" = inline(Decision), Path, description = "`approve`, `reject` or `disable`.")),
    request_body(content = Option<ReviewBody>, description = "Optional; `reason` is shown to the owner."),
    responses((status = 200, description = "The app after the review, or a refusal (a transition that is not allowed).", body = Answer<AppView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn review(
    State(state): State<AppState>,
    admin: AdminUser,
    Client(c): Client,
    ApiPath((id, decision)): ApiPath<(i64, Decision)>,
    OptionalApiJson(body): OptionalApiJson<ReviewBody>,
) -> Result<impl IntoResponse, ApiError> {
    let app = state
        .apps
        .review(
            Some(&admin.0.user),
            id,
            decision.into(),
            &body.reason,
            &c.ip,
        )
        .await?;
    Ok(Success::new(AppView::new(&app, None)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    trusted: Option<bool>,
    /// May ask users for `balance:spend` (spending within the limit each user sets).
    may_spend: Option<bool>,
    /// The platform's billing service: with client credentials it charges any user by id.
    billing_service: Option<bool>,
    scopes: Option<String>,
    /// The APIs (resource identifiers) the app is limited to; `null` lifts the limit, absent
    /// keeps it. Client credentials may only target listed APIs.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    allowed_resources: Option<Option<Vec<String>>>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Option::<Vec<String>>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/admin/oauth_apps/{id}` `{trusted, may_spend, billing_service, scopes,
/// allowed_resources}`.
#[utoipa::path(patch, path = "/api/admin/oauth_apps/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The app's id.")),
    request_body = PatchBody,
    responses((status = 200, description = "The updated app, or a refusal.", body = Answer<AppView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    admin: AdminUser,
    Client(c): Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let app = state
        .apps
        .update(
            &admin.0.user,
            id,
            AdminEdit {
                trusted: body.trusted,
                may_spend: body.may_spend,
                billing_service: body.billing_service,
                scopes: body.scopes,
                resources: body.allowed_resources,
            },
            &c.ip,
        )
        .await?;
    Ok(Success::new(AppView::new(&app, None)))
}

/// An admin's decision on an app's pending change.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ChangeDecision {
    /// The change is put in force as it was asked for.
    Approve,
    /// The change is dropped; the app keeps its configuration.
    Reject,
}

/// `POST /api/admin/oauth_apps/{id}/change/approve` or `/reject`: the app stays approved
/// either way.
#[utoipa::path(post, path = "/api/admin/oauth_apps/{id}/change/{decision}", tag = "admin",
    params(
        ("id" = i64, Path, description = "The app's id."),
        ("decision" = inline(ChangeDecision), Path, description = "`approve` or `reject`.")),
    responses((status = 200, description = "The app after the decision; refused when no change waits.", body = Answer<AppView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn review_change(
    State(state): State<AppState>,
    admin: AdminUser,
    Client(c): Client,
    ApiPath((id, decision)): ApiPath<(i64, ChangeDecision)>,
) -> Result<impl IntoResponse, ApiError> {
    let approve = matches!(decision, ChangeDecision::Approve);
    let app = state
        .apps
        .review_change(Some(&admin.0.user), id, approve, &c.ip)
        .await?;
    Ok(Success::new(AppView::new(&app, None)))
}
