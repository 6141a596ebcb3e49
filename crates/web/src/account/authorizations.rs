//! The apps a user has authorized, and taking an authorization back.

use crate::envelope::{ApiError, Success};
use crate::extract::{Client, CurrentUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use keyward_core::audit::{self, action};
use serde_json::json;

/// `GET /api/user/authorizations`: each app with the scopes granted, and when.
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let consents = state.store.consents_of_user(current.user.id).await?;
    let items: Vec<_> = consents
        .iter()
        .map(|(consent, app)| {
            json!({
                "client_id": app.client_id,
                "name": app.name,
                "description": app.description,
                "scopes": consent.scopes.to_string(),
                "granted_time": consent.created_at,
                "updated_time": consent.updated_at,
                "last_used_time": consent.last_used_at,
            })
        })
        .collect();
    Ok(Success::new(items))
}

/// `DELETE /api/user/authorizations/{client_id}`: the consent, every code and every token the
/// user gave that app die at once.
pub async fn revoke(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    Path(client_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let app = match state.store.client_by_client_id(&client_id).await? {
        Some(app) if client_id.len() <= 128 => app,
        _ => return Err(ApiError::NotFound("授权不存在")),
    };
    let now = state.accounts.now();
    if !state
        .store
        .revoke_consent(current.user.id, app.id, now)
        .await?
    {
        return Err(ApiError::NotFound("授权不存在"));
    }
    audit::record(
        state.store.as_ref(),
        now,
        Some(current.user.id),
        action::CONSENT_REVOKED,
        app.client_id,
        json!({}),
        &client.ip,
    )
    .await;
    Ok(Success {
        message: "授权已撤销",
        data: (),
    })
}
