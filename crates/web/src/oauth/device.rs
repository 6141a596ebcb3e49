//! `POST /oauth2/device_authorization`: the device authorization endpoint (RFC 8628 §3.1–3.2).
//! A CLI or a device without a browser gets a `device_code` to poll the token endpoint with
//! and a `user_code` for its user to type at `/device`.

use super::client_request::ClientRequest;
use super::token::{OAuthResult, no_store};
use crate::openapi::{ClientAuthFailures, OAuthErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use keyward_core::oauth::device::DeviceAuthorization;
use serde::Serialize;
use utoipa::ToSchema;

/// The parameters of the device authorization request (RFC 8628 §3.1). Documentation only:
/// the body is parsed like the token endpoint's.
#[derive(ToSchema)]
pub struct DeviceAuthorizationRequest {
    /// Required for public clients; with `client_secret_basic` it may be left out.
    pub client_id: Option<String>,
    /// `client_secret_post`, for confidential clients.
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2):
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with a key of the app's registered `jwks`.
    pub client_assertion: Option<String>,
    /// Space-separated; within the app's scopes. Default `profile` (none with `resource`).
    pub scope: Option<String>,
    /// RFC 8707: the API the tokens are for (an absolute URI); may repeat.
    pub resource: Option<Vec<String>>,
    /// With `balance:spend`: the limit the app suggests, `<quota units>/<day|month|total>`
    /// (e.g. `10000/month`), pre-filled on the consent page, where the user sets their own.
    pub spend_limit: Option<String>,
}

/// RFC 8628 §3.2.
#[derive(Serialize, ToSchema)]
pub struct DeviceAuthorizationResponse {
    /// What the device polls the token endpoint with (`grant_type=urn:ietf:params:oauth:grant-type:device_code`).
    pub device_code: String,
    /// What the user types at `verification_uri`: `XXXX-XXXX`.
    pub user_code: String,
    /// `<issuer>/device`.
    pub verification_uri: String,
    /// `verification_uri` with the user code filled in (for a QR code or a link).
    pub verification_uri_complete: String,
    /// Seconds until both codes expire.
    pub expires_in: i64,
    /// Seconds the device waits between polls.
    pub interval: i64,
}

impl From<DeviceAuthorization> for DeviceAuthorizationResponse {
    fn from(answer: DeviceAuthorization) -> Self {
        Self {
            device_code: answer.device_code.into_exposed(),
            user_code: answer.user_code,
            verification_uri: answer.verification_uri,
            verification_uri_complete: answer.verification_uri_complete,
            expires_in: answer.expires_in,
            interval: answer.interval,
        }
    }
}

/// `POST /oauth2/device_authorization`.
#[utoipa::path(post, path = "/oauth2/device_authorization", tag = "oidc",
    request_body(content = DeviceAuthorizationRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 8628 §3.2: the codes, where the user goes, and how often to poll.", body = DeviceAuthorizationResponse),
        (status = 400, description = "RFC 6749 §5.2 error: `invalid_scope`, `unauthorized_client` (the app has not enabled the device grant), `invalid_request`.", body = OAuthErrorBody),
        ClientAuthFailures),
    security((), ("client_basic" = [])))]
pub async fn post(State(state): State<AppState>, request: ClientRequest) -> OAuthResult {
    let asked = request.device_request()?;
    let answer = state
        .device
        .authorize(
            &asked.client,
            asked.scope.as_deref(),
            &asked.resources,
            asked.spend_limit.as_deref(),
            &request.ip,
        )
        .await?;
    Ok(no_store(Json(DeviceAuthorizationResponse::from(answer))))
}
