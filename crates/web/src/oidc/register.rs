//! `POST /oauth2/register` (RFC 7591) and `GET`/`PUT`/`DELETE /oauth2/register/{client_id}`
//! (RFC 7592). Each handler passes the raw body and the bearer token to
//! `keyward_core::oauth::registration` and words the outcome; every error is worded once, in
//! [`RegisterError`]'s `IntoResponse`.

use crate::extract::Client;
use crate::oauth::bearer;
use crate::oauth::token::{no_store, set_retry_after};
use crate::oauth::userinfo::bearer_error;
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::oauth::registration::{ClientInformation, RegistrationError};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// RFC 7591 §2 client metadata, as accepted (documentation only: the core reads the body
/// member by member, so that a member of the wrong type gets a precise error).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the request body in the OpenAPI document"
)]
pub struct ClientMetadataRequest {
    /// Required for the authorization_code grant; at most 10.
    redirect_uris: Option<Vec<String>>,
    /// `web` (default: https redirect URIs only) or `native` (loopback http, private-use schemes).
    application_type: Option<String>,
    /// At most 100 characters; defaults to the first redirect URI's host.
    client_name: Option<String>,
    /// Any of `authorization_code` (default), `refresh_token`,
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    grant_types: Option<Vec<String>>,
    /// `["code"]` (default) or `[]` for a device-only client.
    response_types: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none`.
    token_endpoint_auth_method: Option<String>,
    /// Space-separated; narrowed to what the operator allows self-registered clients.
    scope: Option<String>,
    /// The public JWK Set of a `private_key_jwt` client.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where that JWK Set is published instead (https).
    jwks_uri: Option<String>,
    /// RFC 7592 updates only: this client's id.
    client_id: Option<String>,
}

/// RFC 7591 §3.2.1 / RFC 7592 §3: the client's registration.
#[derive(Serialize, ToSchema)]
pub struct ClientInformationResponse {
    pub client_id: String,
    pub client_id_issued_at: i64,
    /// At registration only, for a confidential client; never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `0` (does not expire), with `client_secret`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub registration_access_token: String,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub application_type: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

impl ClientInformationResponse {
    fn new(info: ClientInformation, issuer: &str) -> Self {
        let ClientInformation {
            client,
            client_secret,
            registration_access_token,
            application_type,
        } = info;
        let grant_types: Vec<String> = client
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect();
        let code = client
            .grant_types
            .contains(&keyward_core::model::GrantType::AuthorizationCode);
        Self {
            registration_client_uri: format!("{issuer}/oauth2/register/{}", client.client_id),
            client_id: client.client_id,
            client_id_issued_at: client.created_at,
            client_secret_expires_at: client_secret.as_ref().map(|_| 0),
            client_secret: client_secret.map(|s| s.into_exposed()),
            registration_access_token: registration_access_token.into_exposed(),
            client_name: client.name,
            redirect_uris: client.redirect_uris,
            grant_types,
            response_types: if code {
                vec!["code".into()]
            } else {
                Vec::new()
            },
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            application_type: application_type.as_str().to_owned(),
            scope: client.allowed_scopes.to_string(),
            jwks: client.jwks.and_then(|j| serde_json::from_str(&j).ok()),
            jwks_uri: client.jwks_uri,
        }
    }
}

/// `POST /oauth2/register`.
#[utoipa::path(post, path = "/oauth2/register", tag = "oidc",
    request_body(content = ClientMetadataRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered (RFC 7591 §3.2.1). Under review, the client cannot be used until an admin approves it.", body = ClientInformationResponse),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 §3.2.2).", body = OAuthErrorBody),
        (status = 404, description = "Dynamic registration is off."),
        (status = 429, description = "Too many registrations from this address (`Retry-After`).", body = OAuthErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RegisterError> {
    json_declared(&state, &headers).await?;
    let info = state.registrations.register(&body, &caller.ip).await?;
    let body = ClientInformationResponse::new(info, &state.config.public_url);
    Ok(no_store((StatusCode::CREATED, Json(body))))
}

/// `GET /oauth2/register/{client_id}`.
#[utoipa::path(get, path = "/oauth2/register/{client_id}", tag = "oidc",
    params(("client_id" = String, Path, description = "The registered client's id.")),
    responses(
        (status = 200, description = "The registration (RFC 7592 §3); no `client_secret`.", body = ClientInformationResponse),
        (status = 401, description = "`invalid_token`: not this client's registration access token, or no such dynamic client.", body = OAuthErrorBody),
        (status = 404, description = "Dynamic registration is off.")),
    security(("registration_token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, RegisterError> {
    let info = state
        .registrations
        .read(&client_id, bearer(&headers))
        .await?;
    let body = ClientInformationResponse::new(info, &state.config.public_url);
    Ok(no_store(Json(body)))
}

/// `PUT /oauth2/register/{client_id}`.
#[utoipa::path(put, path = "/oauth2/register/{client_id}", tag = "oidc",
    params(("client_id" = String, Path, description = "The registered client's id.")),
    request_body(content = ClientMetadataRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced (RFC 7592 §2.2).", body = ClientInformationResponse),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_token`.", body = OAuthErrorBody),
        (status = 404, description = "Dynamic registration is off.")),
    security(("registration_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RegisterError> {
    json_declared(&state, &headers).await?;
    let info = state
        .registrations
        .update(&client_id, bearer(&headers), &body, &caller.ip)
        .await?;
    let body = ClientInformationResponse::new(info, &state.config.public_url);
    Ok(no_store(Json(body)))
}

/// `DELETE /oauth2/register/{client_id}`.
#[utoipa::path(delete, path = "/oauth2/register/{client_id}", tag = "oidc",
    params(("client_id" = String, Path, description = "The registered client's id.")),
    responses(
        (status = 204, description = "Deleted with its consents and tokens (RFC 7592 §2.3)."),
        (status = 401, description = "`invalid_token`.", body = OAuthErrorBody),
        (status = 404, description = "Dynamic registration is off.")),
    security(("registration_token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, RegisterError> {
    state
        .registrations
        .delete(&client_id, bearer(&headers), &caller.ip)
        .await?;
    Ok(no_store(StatusCode::NO_CONTENT))
}

/// RFC 7591 §3.1: the metadata is sent as `application/json` (parameters such as `charset`
/// allowed); anything else is 415, as on Keyward's other JSON APIs — unless registration is off,
/// which stays a plain 404 whatever was sent.
async fn json_declared(state: &AppState, headers: &HeaderMap) -> Result<(), RegisterError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if declared {
        return Ok(());
    }
    match state.registrations.enabled().await {
        Ok(true) => Err(RegisterError::MediaType),
        Ok(false) => Err(RegistrationError::Disabled.into()),
        Err(e) => Err(RegistrationError::Settings(e).into()),
    }
}

/// A registration endpoint's failure, worded per RFC 7591 §3.2.2 and RFC 6750 §3.
pub enum RegisterError {
    Core(RegistrationError),
    /// The body was not declared `application/json`.
    MediaType,
}

impl From<RegistrationError> for RegisterError {
    fn from(error: RegistrationError) -> Self {
        Self::Core(error)
    }
}

impl IntoResponse for RegisterError {
    fn into_response(self) -> Response {
        let error = match self {
            Self::Core(error) => error,
            Self::MediaType => {
                return no_store((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Json(json!({
                        "error": "invalid_client_metadata",
                        "error_description": "the metadata must be sent as application/json"
                    })),
                ));
            }
        };
        let body = |status: StatusCode, code: &str| {
            no_store((
                status,
                Json(json!({"error": code, "error_description": error.to_string()})),
            ))
        };
        match &error {
            RegistrationError::Disabled => StatusCode::NOT_FOUND.into_response(),
            RegistrationError::InvalidRedirectUri(_) => {
                body(StatusCode::BAD_REQUEST, "invalid_redirect_uri")
            }
            RegistrationError::InvalidMetadata(_) => {
                body(StatusCode::BAD_REQUEST, "invalid_client_metadata")
            }
            RegistrationError::InvalidToken => bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the registration access token is missing or not valid for this client",
            ),
            RegistrationError::RateLimited { retry_after } => {
                let mut response = body(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable");
                set_retry_after(&mut response, *retry_after);
                response
            }
            RegistrationError::Store(_) | RegistrationError::Settings(_) => {
                tracing::error!(error = %error, "client registration failed");
                no_store((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({"error": "server_error", "error_description": "internal error"})),
                ))
            }
        }
    }
}
