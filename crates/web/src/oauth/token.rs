//! `POST /api/oauth2/token`: the RFC 6749 token endpoint (authorization_code, refresh_token,
//! client_credentials; client_secret_basic or client_secret_post).

use super::form::{AuthMethod, Form, client_credentials};
use crate::extract::Client as ClientAddress;
use crate::openapi::OAuthErrorBody;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::limits;
use keyward_core::model::Client;
use keyward_core::oauth::TokenError;
use keyward_core::oauth::scope::Scope;
use keyward_core::oauth::tokens::IssuedTokens;
use keyward_core::oidc::id_token::{IdTokenRequest, sign};
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
pub async fn post(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut method = AuthMethod::Post;
    let result = async {
        let body =
            body.map_err(|_| TokenError::InvalidRequest("the body is too large or unreadable"))?;
        let form = Form::parse(&body)?;
        let (creds, how) = client_credentials(&headers, &form)?;
        method = how;
        let (app, issued) = grant(&state, &form, &creds, &client.ip).await?;
        let id_token = id_token(&state, &app, &issued).await?;
        Ok(TokenResponse::new(&issued, id_token))
    }
    .await;
    match result {
        Ok(response) => no_store(Json(response)),
        Err(e) => OAuthError { error: e, method }.into_response(),
    }
}

/// An id_token for grants that carry `openid` and a user (OIDC Core §3.1.3.3, §12.2).
pub async fn id_token(
    state: &AppState,
    client: &Client,
    issued: &IssuedTokens,
) -> Result<Option<String>, TokenError> {
    let Some(user_id) = issued
        .user_id
        .filter(|_| issued.scopes.contains(Scope::OpenId))
    else {
        return Ok(None);
    };
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(TokenError::InvalidGrant("the user no longer exists"))?;
    let request = IdTokenRequest {
        issuer: &state.config.public_url,
        client_id: &client.client_id,
        user: &user,
        scopes: issued.scopes,
        nonce: issued.nonce.as_deref(),
        auth_time: issued.auth_time,
        access_token: Some(issued.access_token.expose()),
        alg: client.id_token_alg,
        now: state.accounts.now(),
        ttl: state.keys.policy().id_token_ttl_secs,
    };
    Ok(Some(sign(&state.keys, &request).await?))
}

/// Authenticates the client and runs the requested grant; shared by both API families. Failed
/// client authentications and grants are counted per client_id and per IP; while either is
/// over its limit every request is refused, so guessing stops paying. Success writes nothing.
pub async fn grant(
    state: &AppState,
    form: &Form,
    creds: &keyward_core::oauth::tokens::ClientCredentials,
    ip: &str,
) -> Result<(Client, IssuedTokens), TokenError> {
    let settings = state.settings.get().await?;
    let budgets = [
        (
            limits::key("token:client", &creds.client_id),
            settings.token_failures_per_client(),
        ),
        (
            limits::key("token:ip", ip),
            settings.token_failures_per_ip(),
        ),
    ];
    state.limits.check(&budgets).await?;
    let result = run_grant(state, form, creds, settings.refresh_reuse_grace_seconds).await;
    if let Err(e) = &result
        && e.counts_as_failure()
    {
        state.limits.record(&budgets).await?;
    }
    result
}

async fn run_grant(
    state: &AppState,
    form: &Form,
    creds: &keyward_core::oauth::tokens::ClientCredentials,
    grace_secs: i64,
) -> Result<(Client, IssuedTokens), TokenError> {
    let grant_type = form
        .get("grant_type")
        .ok_or(TokenError::InvalidRequest("grant_type is required"))?;
    let tokens = &state.tokens;
    let client = tokens.authenticate(creds).await?;
    let issued = match grant_type {
        "authorization_code" => {
            let code = form
                .get("code")
                .ok_or(TokenError::InvalidRequest("code is required"))?;
            tokens
                .exchange_code(
                    &client,
                    code,
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                )
                .await
        }
        "refresh_token" => {
            let refresh = form
                .get("refresh_token")
                .ok_or(TokenError::InvalidRequest("refresh_token is required"))?;
            tokens
                .refresh(&client, refresh, form.get("scope"), grace_secs)
                .await
        }
        "client_credentials" => tokens.client_credentials(&client, form.get("scope")).await,
        _ => Err(TokenError::UnsupportedGrantType),
    }?;
    Ok((client, issued))
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
    pub fn new(issued: &IssuedTokens, id_token: Option<String>) -> Self {
        Self {
            access_token: issued.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            scope: issued.scopes.to_string(),
            id_token,
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
pub struct OAuthError {
    pub error: TokenError,
    pub method: AuthMethod,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let code = self.error.code();
        let status = match &self.error {
            TokenError::UnknownClient | TokenError::BadClientSecret => StatusCode::UNAUTHORIZED,
            TokenError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            TokenError::Store(_) | TokenError::Settings(_) | TokenError::Signing(_) => {
                tracing::error!(error = %self.error, "token endpoint failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let description = match &self.error {
            TokenError::Store(_) | TokenError::Settings(_) | TokenError::Signing(_) => {
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = no_store((
            status,
            Json(json!({"error": code.as_str(), "error_description": description})),
        ));
        if let TokenError::RateLimited { retry_after } = self.error {
            set_retry_after(&mut response, retry_after);
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.method {
                AuthMethod::Basic | AuthMethod::Post => r#"Basic realm="keyward""#,
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
