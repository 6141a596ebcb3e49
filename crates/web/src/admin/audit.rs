use crate::envelope::{ApiError, Success};
use crate::extract::AdminUser;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use keyward_core::store::Page;
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
    let limit = query.page_size.unwrap_or(50).clamp(1, 200);
    let page = query.p.unwrap_or(1).max(1);
    let action = query
        .action
        .as_deref()
        .filter(|a| !a.is_empty() && a.len() <= 64);
    let entries = state
        .store
        .list_audit(
            action,
            Page {
                offset: (page - 1).saturating_mul(limit),
                limit,
            },
        )
        .await?;
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
        json!({"items": items, "page": page, "page_size": limit}),
    ))
}
