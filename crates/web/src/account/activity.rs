//! `GET /api/user/activity`: the account's own sign-ins and security changes.

use crate::admin::PageQuery;
use crate::envelope::{ApiError, ApiQuery};
use crate::extract::SessionUser;
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::activity::{self, ActivityEntry};
use serde::Serialize;
use utoipa::ToSchema;

/// One sign-in or security change.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// `user.signed_in`, `password.changed`, `password.reset`, `email.bound`, `email.changed`,
    /// `two_factor.enabled`, `two_factor.disabled`, `two_factor.reset`, `identity.linked`,
    /// `identity.unlinked`, `session.ended`, `session.others_ended`, `passkey.added`,
    /// `passkey.removed`, `passkey.counter_regression`.
    pub action: String,
    /// For a sign-in: `password`, `passkey` or `upstream:<provider>`.
    pub method: Option<String>,
    pub ip: String,
    pub user_agent: Option<String>,
    /// A sign-in that proved the first factor of an account with two-factor on: the second was
    /// then asked.
    pub second_factor_asked: bool,
    /// Done by someone else (an admin).
    pub by_other: bool,
}

impl From<ActivityEntry> for ActivityView {
    fn from(e: ActivityEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            action: e.action,
            method: e.method,
            ip: e.ip,
            user_agent: e.user_agent,
            second_factor_asked: e.second_factor_asked,
            by_other: e.by_other,
        }
    }
}

/// `GET /api/user/activity?p=&page_size=`: newest first, at most 50 a page and 20 pages. Only a
/// browser session may read it (IPs and devices are not for a developer token), and only its
/// own account: no parameter names another.
#[utoipa::path(get, path = "/api/user/activity", tag = "account",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the account's security activity, newest first.", body = Answer<crate::admin::Listing<ActivityView>>),
        (status = 403, description = "A developer token (a browser session is needed).", body = Failure)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    current: SessionUser,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (number, size) = paging.numbers(20);
    let window = activity::page(number, size);
    let page = window.offset / window.limit + 1;
    let entries = state
        .accounts
        .security_activity(&current.user, window)
        .await?;
    let items = entries.into_iter().map(ActivityView::from).collect();
    Ok(crate::admin::Listing::answer(items, page, window))
}
