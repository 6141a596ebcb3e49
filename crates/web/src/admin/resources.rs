//! Resource servers (RFC 8707): `POST/GET /api/admin/resources`, `GET/PATCH
//! /api/admin/resources/{id}`. Disabling is `PATCH {"enabled": false}`; a resource is never
//! deleted, so its identifier cannot be reused for a different API while its tokens live.

use crate::envelope::{ApiError, ApiJson, ApiPath, Success};
use crate::extract::{AdminUser, Client};
use crate::openapi::Answer;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::model::{Resource, ResourceScope};
use keyward_core::oauth::resources::{ResourceError, ResourceForm};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

impl From<ResourceError> for ApiError {
    fn from(e: ResourceError) -> Self {
        match e {
            ResourceError::Store(e) => e.into(),
            ResourceError::NotFound => ApiError::NotFound("资源不存在"),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// A scope an API defines. `description` is shown to users of the first language (Chinese),
/// `description_en` to English readers (the first when absent).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeView {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub description_en: String,
}

/// A resource server as admins see it.
#[derive(Serialize, ToSchema)]
pub struct ResourceView {
    pub id: i64,
    /// The `resource` value apps send, and the `aud` of its tokens.
    pub identifier: String,
    pub name: String,
    pub name_en: String,
    pub scopes: Vec<ScopeView>,
    /// `opaque` or `jwt`.
    #[schema(value_type = String)]
    pub token_format: &'static str,
    /// How JWT access tokens are signed: `RS256`, `ES256` or `EdDSA`.
    #[schema(value_type = String)]
    pub signing_alg: &'static str,
    pub access_token_ttl_secs: i64,
    /// The app whose credentials the API introspects with.
    pub introspection_client_id: Option<String>,
    pub enabled: bool,
    pub created_time: i64,
    pub updated_time: i64,
}

impl From<&Resource> for ResourceView {
    fn from(r: &Resource) -> Self {
        Self {
            id: r.id,
            identifier: r.identifier.clone(),
            name: r.name_zh.clone(),
            name_en: r.name_en.clone(),
            scopes: r
                .scopes
                .iter()
                .map(|s| ScopeView {
                    name: s.name.clone(),
                    description: s.description_zh.clone(),
                    description_en: s.description_en.clone(),
                })
                .collect(),
            token_format: r.token_format.as_str(),
            signing_alg: r.signing_alg.as_str(),
            access_token_ttl_secs: r.access_token_ttl_secs,
            introspection_client_id: r.introspection_client_id.clone(),
            enabled: r.enabled,
            created_time: r.created_at,
            updated_time: r.updated_at,
        }
    }
}

/// What `POST` (all but `identifier` optional) and `PATCH` (`identifier` not allowed) send.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ResourceBody {
    /// Absolute `https` URI (`http` only for loopback), no fragment. Fixed after creation.
    #[serde(default)]
    identifier: Option<String>,
    name: Option<String>,
    name_en: Option<String>,
    scopes: Option<Vec<ScopeView>>,
    /// `opaque` (default) or `jwt`.
    token_format: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    signing_alg: Option<String>,
    /// 60–86400 for opaque tokens (default 3600), 60–3600 for JWTs (default 300).
    access_token_ttl_secs: Option<i64>,
    /// A confidential app's `client_id`; `""` removes it.
    introspection_client_id: Option<String>,
    enabled: Option<bool>,
}

impl ResourceBody {
    fn into_form(self) -> ResourceForm {
        ResourceForm {
            identifier: self.identifier.unwrap_or_default(),
            name: self.name,
            name_en: self.name_en,
            scopes: self.scopes.map(|scopes| {
                scopes
                    .into_iter()
                    .map(|s| ResourceScope {
                        name: s.name,
                        description_zh: s.description,
                        description_en: s.description_en,
                    })
                    .collect()
            }),
            token_format: self.token_format,
            signing_alg: self.signing_alg,
            access_token_ttl_secs: self.access_token_ttl_secs,
            introspection_client_id: self.introspection_client_id,
            enabled: self.enabled,
        }
    }
}

/// `POST /api/admin/resources`.
#[utoipa::path(post, path = "/api/admin/resources", tag = "admin",
    request_body = ResourceBody,
    responses((status = 200, description = "The new resource, or a refusal (bad identifier, taken, bad scopes, lifetime out of range).", body = Answer<ResourceView>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Client(c): Client,
    ApiJson(body): ApiJson<ResourceBody>,
) -> Result<impl IntoResponse, ApiError> {
    let resource = state
        .resources
        .create(&admin.0.user, body.into_form(), &c.ip)
        .await?;
    Ok(Success::new(ResourceView::from(&resource)))
}

/// `GET /api/admin/resources`.
#[utoipa::path(get, path = "/api/admin/resources", tag = "admin",
    responses((status = 200, description = "Every resource, oldest first.", body = Answer<Vec<ResourceView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<impl IntoResponse, ApiError> {
    let all = state.resources.list().await?;
    Ok(Success::new(
        all.iter().map(ResourceView::from).collect::<Vec<_>>(),
    ))
}

/// `GET /api/admin/resources/{id}`.
#[utoipa::path(get, path = "/api/admin/resources/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The resource's id.")),
    responses((status = 200, description = "The resource.", body = Answer<ResourceView>),
        (status = 404, description = "No such resource.", body = crate::openapi::Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let resource = state.resources.get(id).await?;
    Ok(Success::new(ResourceView::from(&resource)))
}

/// `PATCH /api/admin/resources/{id}`: any field but `identifier`; `{"enabled": false}` disables.
#[utoipa::path(patch, path = "/api/admin/resources/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The resource's id.")),
    request_body = ResourceBody,
    responses((status = 200, description = "The resource after the change, or a refusal.", body = Answer<ResourceView>),
        (status = 404, description = "No such resource.", body = crate::openapi::Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    admin: AdminUser,
    Client(c): Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResourceBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.identifier.is_some() {
        return Err(ApiError::Refused("资源标识创建后不能修改".into()));
    }
    let resource = state
        .resources
        .update(&admin.0.user, id, body.into_form(), &c.ip)
        .await?;
    Ok(Success::new(ResourceView::from(&resource)))
}
