//! `POST /api/oauth2/token`: the RFC 6749 token endpoint (authorization_code, refresh_token,
//! client_credentials; client_secret_basic or client_secret_post).

use super::client_request::ClientRequest;
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::oauth::TokenError;
use keyward_core::oauth::tokens::IssuedTokens;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// `POST /api/oauth2/token`.
#[utoipa::path(post, path = "/api/oauth2/token", tag = "new-api",
    request_body(content = super::form::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1); `id_token` when `openid` was granted.", body = TokenResponse),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`, with `WWW-Authenticate`).", body = OAuthErrorBody),
        (status = 429, description = "Too many failed requests for this client or from this address (`temporarily_unavailable`, with `Retry-After`).", body = OAuthErrorBody)),
    security((), ("client_basic" = [])))]
pub async fn post(State(state): State<AppState>, request: ClientRequest) -> OAuthResult {
    let token_request = request.token_request("the body is too large or unreadable")?;
    let issued = state.tokens.token(&token_request, &request.ip).await?;
    Ok(no_store(Json(TokenResponse::new(issued))))
}

/// RFC 6749 §5.1 (and OIDC Core §3.1.3.3 with `openid`).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer`.
    #[schema(value_type = String)]
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    pub fn new(issued: IssuedTokens) -> Self {
        Self {
            access_token: issued.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            scope: issued.scope(),
            id_token: issued.id_token,
        }
    }
}

/// `Retry-After: <seconds>` (RFC 9110 §10.2.3) on a 429.
pub fn set_retry_after(response: &mut Response, seconds: i64) {
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
}

/// Token responses carry credentials: never cached (RFC 6749 §5.1).
pub fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An RFC 6749 §5.2 error: 400, or 401 with a challenge when client authentication failed.
/// The challenge is `Basic` whichever way the client sent its credentials (RFC 6749 §5.2).
pub struct OAuthError(pub TokenError);

/// The answer of an RFC 6749 protocol endpoint: its own, or an RFC 6749 §5.2 error.
pub type OAuthResult = Result<Response, OAuthError>;

impl From<TokenError> for OAuthError {
    fn from(error: TokenError) -> Self {
        Self(error)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let error = self.0;
        let code = error.code();
        let status = match &error {
            TokenError::UnknownClient
            | TokenError::BadClientSecret
            | TokenError::BadClientAssertion(_) => StatusCode::UNAUTHORIZED,
            TokenError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            TokenError::Store(_) | TokenError::Settings(_) | TokenError::Signing(_) => {
                tracing::error!(error = %error, "token endpoint failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let description = match &error {
            TokenError::Store(_) | TokenError::Settings(_) | TokenError::Signing(_) => {
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = no_store((
            status,
            Json(json!({"error": code.as_str(), "error_description": description})),
        ));
        if let TokenError::RateLimited { retry_after } = error {
            set_retry_after(&mut response, retry_after);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="keyward""#),
            );
        }
        response
    }
}
