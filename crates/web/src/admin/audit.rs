use crate::envelope::{ApiError, Success};
use crate::extract::AdminUser;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    p: Option<i64>,
    #[serde(default)]
    page_size: Option<i64>,
}

/// `GET /api/admin/audit?action=&p=&page_size=`: newest first.
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(query): Query<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (page, window) = super::paging(query.p, query.page_size, 50, 200);
    let action = query
        .action
        .as_deref()
        .filter(|a| !a.is_empty() && a.len() <= 64);
    let entries = state.store.list_audit(action, window).await?;
    let items: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "time": e.at,
                "actor_id": e.actor_id,
                "action": e.action,
                "target": e.target,
                "detail": serde_json::from_str::<serde_json::Value>(&e.detail).unwrap_or_default(),
                "ip": e.ip,
            })
        })
        .collect();
    Ok(Success::new(
        json!({"items": items, "page": page, "page_size": window.limit}),
    ))
}
