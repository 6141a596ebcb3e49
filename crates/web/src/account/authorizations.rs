//! The apps a user has authorized, and taking an authorization back.

use crate::envelope::ApiPath;
use crate::envelope::{ApiError, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;
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
    let items: Vec<_> = consents
        .iter()
        .map(|(consent, app)| AuthorizationView {
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
    if !state
        .apps
        .revoke_consent(&current.user, &client_id, &client.ip)
        .await?
    {
        return Err(ApiError::NotFound("授权不存在"));
    }
    Ok(Success::done("授权已撤销"))
}
