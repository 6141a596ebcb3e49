use super::{Listing, PageQuery};
use crate::envelope::ApiError;
use crate::envelope::ApiQuery;
use crate::extract::AdminUser;
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionFilter {
    #[serde(default)]
    action: Option<String>,
}

/// One audit log entry; `time` in unix seconds.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub time: i64,
    pub actor_id: Option<i64>,
    /// Instead of `actor_id` when the actor's account was deleted: `deleted-user:<random>`.
    pub actor_pseudonym: Option<String>,
    pub action: String,
    pub target: String,
    /// What the action changed; never a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Map<String, serde_json::Value>,
    pub ip: String,
}

/// `GET /api/admin/audit?action=&p=&page_size=`: newest first.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin",
    params(ActionFilter, PageQuery),
    responses((status = 200, description = "Audit entries, newest first.", body = Answer<crate::admin::Listing<AuditView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(filter): ApiQuery<ActionFilter>,
    ApiQuery(paging): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (page, window) = paging.window(50, 200);
    let action = filter
        .action
        .as_deref()
        .filter(|a| !a.is_empty() && a.len() <= 64);
    let entries = state
        .store
        .list_audit(&keyward_core::store::AuditFilter::action(action), window)
        .await?;
    let items: Vec<_> = entries
        .iter()
        .map(|e| AuditView {
            id: e.id,
            time: e.at,
            actor_id: e.actor_id,
            actor_pseudonym: e.actor_pseudonym.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            ip: e.ip.clone(),
        })
        .collect();
    Ok(Listing::answer(items, page, window))
}
