//! The apps a user has authorized, and taking an authorization back.

use crate::envelope::ApiPath;
use crate::envelope::{ApiError, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::audit::{self, action};
use keyward_core::model::User;
use keyward_core::store::StoreError;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// An app the user authorized. Times are unix seconds.
#[derive(Serialize, ToSchema)]
pub struct AuthorizationView {
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// Space-separated.
    pub scopes: String,
    pub granted_time: i64,
    pub updated_time: i64,
    pub last_used_time: Option<i64>,
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
    let items: Vec<_> = consents
        .iter()
        .map(|(consent, app)| AuthorizationView {
            client_id: app.client_id.clone(),
            name: app.name.clone(),
            description: app.description.clone(),
            scopes: consent.scopes.to_string(),
            granted_time: consent.created_at,
            updated_time: consent.updated_at,
            last_used_time: consent.last_used_at,
        })
        .collect();
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
    if !revoke_for(&state, &current.user, &client_id, &client.ip).await? {
        return Err(ApiError::NotFound("授权不存在"));
    }
    Ok(Success {
        message: "授权已撤销",
        data: (),
    })
}

/// Revokes `user`'s authorization of the app `client_id`, audited; `false` when there was none.
/// Shared by the JSON API and the page.
pub async fn revoke_for(
    state: &AppState,
    user: &User,
    client_id: &str,
    ip: &str,
) -> Result<bool, StoreError> {
    if client_id.len() > 128 {
        return Ok(false);
    }
    let Some(app) = state.store.client_by_client_id(client_id).await? else {
        return Ok(false);
    };
    let now = state.accounts.now();
    if !state.store.revoke_consent(user.id, app.id, now).await? {
        return Ok(false);
    }
    audit::record(
        state.store.as_ref(),
        now,
        Some(user.id),
        action::CONSENT_REVOKED,
        app.client_id,
        json!({}),
        ip,
    )
    .await;
    Ok(true)
}
