//! The developer API (`/api/oauth_apps`, new-api conventions): register, list, view (with the
//! one-time secret), edit, delete and rotate apps. Callers authenticate with a developer token or a
//! session.

use crate::envelope::ApiPath;
use crate::envelope::{ApiError, ApiJson, OptionalApiJson, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::model::{Client as App, ClientDetails};
use keyward_core::oauth::app_edit::AppEdit;
use keyward_core::oauth::apps::{AppError, AppForm};
use keyward_core::secret::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(e) => e.into(),
            AppError::Settings(e) => e.into(),
            AppError::NotFound => ApiError::NotFound("应用不存在"),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// An app as its owner (and admins) see it. `client_secret` appears only in the one answer that
/// reveals it.
#[derive(Serialize, ToSchema)]
pub struct AppView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The first redirect URI, as the seed documents' single field.
    pub redirect_uri: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    #[schema(value_type = String)]
    pub id_token_signed_response_alg: &'static str,
    pub scopes: String,
    pub grant_types: String,
    pub public: bool,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    #[schema(value_type = String)]
    pub token_endpoint_auth_method: &'static str,
    /// The public JWK Set a `private_key_jwt` app registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where a `private_key_jwt` app publishes its JWK Set instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `pending`, `approved`, `rejected` or `disabled`.
    #[schema(value_type = String)]
    pub status: &'static str,
    pub review_note: String,
    pub trusted: bool,
    /// May ask users for `balance:spend`.
    pub may_spend: bool,
    /// The platform's billing service.
    pub billing_service: bool,
    /// The APIs an admin limited the app to (RFC 8707 identifiers); absent: any enabled one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_resources: Option<Vec<String>>,
    /// Whether the owner has been shown a secret (it cannot be shown again; rotate instead).
    pub secret_revealed: bool,
    /// The developer who registered it; absent for a self-registered client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
    /// `console`, `dynamic` (RFC 7591) or `metadata_document` (its client_id is the URL of its
    /// metadata).
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// The app's logo, homepage and privacy policy (https), shown on consent pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// Whether an admin approved the app (or its last change of what users trust it by).
    pub reviewed: bool,
    /// A change the owner asked for that waits for an admin's review; the fields above stay in
    /// force until it is approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<ChangeView>,
    pub created_time: i64,
    pub updated_time: i64,
}

/// The whole configuration an owner asked for, waiting for review.
#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    pub name: String,
    pub description: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// When it was asked for (Unix seconds).
    pub requested_time: i64,
}

impl ChangeView {
    fn new(change: &ClientDetails, since: i64) -> Self {
        Self {
            name: change.name.clone(),
            description: change.description.clone(),
            redirect_uris: change.redirect_uris.clone(),
            post_logout_redirect_uris: change.post_logout_redirect_uris.clone(),
            scopes: change.scope_set().to_string(),
            logo_uri: change.logo_uri.clone(),
            client_uri: change.client_uri.clone(),
            policy_uri: change.policy_uri.clone(),
            requested_time: since,
        }
    }
}

impl AppView {
    pub fn new(app: &App, secret: Option<Secret>) -> Self {
        Self {
            id: app.id,
            name: app.name.clone(),
            description: app.description.clone(),
            client_id: app.client_id.clone(),
            client_secret: secret.map(Secret::into_exposed),
            redirect_uri: app.redirect_uris.first().cloned().unwrap_or_default(),
            redirect_uris: app.redirect_uris.clone(),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: app.id_token_alg.as_str(),
            scopes: app.allowed_scopes.to_string(),
            grant_types: app.grant_types_string(),
            public: app.public,
            token_endpoint_auth_method: app.auth_method.as_str(),
            jwks: app
                .jwks
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            jwks_uri: app.jwks_uri.clone(),
            status: app.status.as_str(),
            review_note: app.review_note.clone(),
            trusted: app.trusted,
            may_spend: app.may_spend,
            billing_service: app.billing_service,
            allowed_resources: app.allowed_resources.clone(),
            secret_revealed: app.secret_revealed_at.is_some(),
            owner_id: app.owner_id,
            kind: app.kind.as_str(),
            logo_uri: app.logo_uri.clone(),
            client_uri: app.client_uri.clone(),
            policy_uri: app.policy_uri.clone(),
            reviewed: app.reviewed_at.is_some(),
            pending_change: app
                .pending_change
                .as_ref()
                .map(|c| ChangeView::new(c, app.pending_since.unwrap_or(app.updated_at))),
            created_time: app.created_at,
            updated_time: app.updated_at,
        }
    }
}

/// `scopes` and `grant_types` may be a JSON array or a space-separated string.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Words {
    List(Vec<String>),
    Text(String),
}

impl Words {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::List(list) => list,
            Self::Text(text) => text
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    scopes: Option<Words>,
    #[serde(default)]
    grant_types: Option<Words>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` (with `jwks`)
    /// or `none` (public apps).
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    /// For `private_key_jwt`: a JWK Set of 1 to 5 public keys (RSA 2048–8192 bits, EC P-256 or
    /// OKP Ed25519), no private members.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// For `private_key_jwt`, instead of `jwks`: the https URL where the app publishes that
    /// set, fetched through the outbound guard and cached per its headers.
    #[serde(default)]
    jwks_uri: Option<String>,
    /// The app's logo (https), shown on consent pages.
    #[serde(default)]
    logo_uri: Option<String>,
    /// The app's homepage (https).
    #[serde(default)]
    client_uri: Option<String>,
    /// The app's privacy policy (https).
    #[serde(default)]
    policy_uri: Option<String>,
}

/// `POST /api/oauth_apps`.
#[utoipa::path(post, path = "/api/oauth_apps", tag = "apps",
    request_body = CreateBody,
    responses((status = 200, description = "The new app: with its secret when no review is needed, `status: pending` and no secret otherwise; or a refusal.", body = Answer<AppView>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut uris = body.redirect_uris.unwrap_or_default();
    if let Some(single) = body.redirect_uri.filter(|u| !u.is_empty()) {
        uris.insert(0, single);
    }
    let form = AppForm {
        name: body.name,
        description: body.description,
        redirect_uris: uris,
        scopes: body.scopes.map(|w| w.into_vec().join(" ")),
        grant_types: body.grant_types.map(Words::into_vec),
        public: body.public,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        id_token_alg: body.id_token_signed_response_alg,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        jwks: body.jwks,
        jwks_uri: body.jwks_uri,
        logo_uri: body.logo_uri,
        client_uri: body.client_uri,
        policy_uri: body.policy_uri,
    };
    let (app, secret) = state.apps.create(&current.user, form, &client.ip).await?;
    Ok(Success::with_message(
        "应用创建成功",
        AppView::new(&app, secret),
    ))
}

/// `GET /api/oauth_apps`: the caller's apps, newest first. Never a secret.
#[utoipa::path(get, path = "/api/oauth_apps", tag = "apps",
    responses((status = 200, description = "The caller's apps, newest first; never a secret.", body = Answer<Vec<AppView>>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let apps = state.store.clients_of_owner(current.user.id).await?;
    let views: Vec<AppView> = apps.iter().map(|a| AppView::new(a, None)).collect();
    Ok(Success::new(views))
}

/// `GET /api/oauth_apps/{id}`: the first read after approval carries the secret, once (the seed
/// documents' contract; `POST /api/oauth_apps/{id}/reveal` is the explicit way).
#[utoipa::path(get, path = "/api/oauth_apps/{id}", tag = "apps",
    params(("id" = i64, Path, description = "The app's id.")),
    responses((status = 200, description = "The app; the owner's first read after approval carries `client_secret`, once.", body = Answer<AppView>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let (app, secret) = state.apps.view(&current.user, id, &client.ip).await?;
    Ok(Success::new(AppView::new(&app, secret)))
}

/// `DELETE /api/oauth_apps/{id}`: the app, its consents and every token it holds.
#[utoipa::path(delete, path = "/api/oauth_apps/{id}", tag = "apps",
    params(("id" = i64, Path, description = "The app's id.")),
    responses((status = 200, description = "The app, its consents and its tokens are gone.", body = Answer<Nothing>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    state.apps.delete(&current.user, id, &client.ip).await?;
    Ok(Success::done("应用已删除"))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct RotateBody {
    #[serde(default)]
    grace_seconds: i64,
}

/// `POST /api/oauth_apps/{id}/secret`: a new secret, shown once; the old one may keep working
/// for `grace_seconds` (at most a week).
#[utoipa::path(post, path = "/api/oauth_apps/{id}/secret", tag = "apps",
    params(("id" = i64, Path, description = "The app's id.")),
    request_body(content = Option<RotateBody>, description = "Optional; an empty body means no grace period."),
    responses((status = 200, description = "The app with its new secret, shown once.", body = Answer<AppView>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
    OptionalApiJson(body): OptionalApiJson<RotateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (app, secret) = state
        .apps
        .rotate_secret(&current.user, id, body.grace_seconds, &client.ip)
        .await?;
    Ok(Success::with_message(
        "密钥已重置",
        AppView::new(&app, Some(secret)),
    ))
}

/// An owner's change to an app; an absent field stays as it is, an empty link removes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    name: Option<String>,
    description: Option<String>,
    /// Every redirect URI the app should have (replaces the list).
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    /// An array or a space-separated string.
    scopes: Option<Words>,
    /// https; `""` removes it.
    logo_uri: Option<String>,
    /// The homepage, https; `""` removes it.
    client_uri: Option<String>,
    /// The privacy policy, https; `""` removes it.
    policy_uri: Option<String>,
}

/// `PATCH /api/oauth_apps/{id}`: the owner edits the app. When the operator requires review
/// and the app is approved, what widens it (a redirect or post-logout URI on a new host, a new
/// scope) and a new name or logo wait in `pending_change` for an admin, the approved
/// configuration working meanwhile; the rest applies at once. Self-registered clients are
/// refused.
#[utoipa::path(patch, path = "/api/oauth_apps/{id}", tag = "apps",
    params(("id" = i64, Path, description = "The app's id.")),
    request_body = PatchBody,
    responses((status = 200, description = "The app as it is now, with `pending_change` when part of the edit waits for review; or a refusal.", body = Answer<AppView>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let edit = AppEdit {
        name: body.name,
        description: body.description,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        scopes: body.scopes.map(|w| w.into_vec().join(" ")),
        logo_uri: body.logo_uri,
        client_uri: body.client_uri,
        policy_uri: body.policy_uri,
    };
    let app = state.apps.edit(&current.user, id, edit, &client.ip).await?;
    let message = if app.pending_change.is_some() {
        "修改已提交，部分内容等待审核"
    } else {
        "应用已更新"
    };
    Ok(Success::with_message(message, AppView::new(&app, None)))
}

/// `DELETE /api/oauth_apps/{id}/change`: the owner withdraws the change waiting for review.
#[utoipa::path(delete, path = "/api/oauth_apps/{id}/change", tag = "apps",
    params(("id" = i64, Path, description = "The app's id.")),
    responses((status = 200, description = "The app without its pending change; refused when there is none.", body = Answer<AppView>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn withdraw_change(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let app = state
        .apps
        .withdraw_change(&current.user, id, &client.ip)
        .await?;
    Ok(Success::new(AppView::new(&app, None)))
}

/// `POST /api/oauth_apps/{id}/reveal`: the explicit way to get the first secret of an approved
/// confidential app, once (refused when it was shown before: rotate instead).
#[utoipa::path(post, path = "/api/oauth_apps/{id}/reveal", tag = "apps",
    params(("id" = i64, Path, description = "The app's id.")),
    responses((status = 200, description = "The app with `client_secret`, shown this once; or a refusal.", body = Answer<AppView>)),
    security(("developer_token" = []), ("session" = [])))]
pub async fn reveal(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let (app, secret) = state.apps.reveal(&current.user, id, &client.ip).await?;
    Ok(Success::new(AppView::new(&app, Some(secret))))
}
