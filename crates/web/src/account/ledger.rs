//! The statement (issue #19): `GET /api/user/ledger` for the signed-in user, and
//! `GET /api/admin/users/{id}/ledger` for admins; new-api envelope, paged, newest first.

use crate::admin::{Listing, PageQuery};
use crate::envelope::{ApiError, ApiPath, ApiQuery};
use crate::extract::{AdminUser, CurrentUser};
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::billing::ledger::LedgerEntry;
use keyward_core::model::UserId;
use serde::Serialize;
use utoipa::ToSchema;

/// One movement of the balance.
#[derive(Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    /// `opening`, `signup`, `topup`, `admin`, `charge` or `refund`.
    pub kind: &'static str,
    /// Added to `quota` (credited).
    pub quota_delta: i64,
    /// Added to `used_quota` (a charge is positive, a refund negative).
    pub used_delta: i64,
    /// The app that charged or refunded, while it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user or admin who moved it, if a person did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<i64>,
    pub description: String,
    /// For a refund: the charge it gives back part of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_of: Option<i64>,
    /// `quota` and `used_quota` right after this entry.
    pub quota_after: i64,
    pub used_after: i64,
    /// Unix seconds.
    pub created_time: i64,
}

impl From<&LedgerEntry> for EntryView {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind.as_str(),
            quota_delta: e.quota_delta,
            used_delta: e.used_delta,
            client_id: e.client_id.clone(),
            actor_user_id: e.actor_user_id,
            description: e.description.clone(),
            refund_of: e.refund_of,
            quota_after: e.quota_after,
            used_after: e.used_after,
            created_time: e.created_at,
        }
    }
}

async fn listing(
    state: &AppState,
    user: UserId,
    paging: &PageQuery,
) -> Result<impl IntoResponse + use<>, ApiError> {
    let (page, window) = paging.window(20, 100);
    let entries = state
        .spending
        .statement(user, window)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let items: Vec<EntryView> = entries.iter().map(EntryView::from).collect();
    Ok(Listing::answer(items, page, window))
}

/// `GET /api/user/ledger?p=&page_size=`: my statement, newest first.
#[utoipa::path(get, path = "/api/user/ledger", tag = "account",
    params(PageQuery),
    responses((status = 200, description = "Entries, newest first.", body = Answer<Listing<EntryView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    listing(&state, current.user.id, &paging).await
}

/// `GET /api/admin/users/{id}/ledger?p=&page_size=`: any account's statement.
#[utoipa::path(get, path = "/api/admin/users/{id}/ledger", tag = "admin",
    params(("id" = i64, Path, description = "The user's id."), PageQuery),
    responses((status = 200, description = "Entries, newest first.", body = Answer<Listing<EntryView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn of_user(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    listing(&state, id, &paging).await
}
