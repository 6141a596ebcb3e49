//! `POST /oauth2/introspect` (RFC 7662), for confidential clients about their own tokens. Any
//! other token is simply `{"active": false}`.

use crate::oauth::client_request::ClientRequest;
use crate::oauth::token::{OAuthResult, no_store};
use crate::openapi::{ClientAuthFailures, OAuthErrorBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use keyward_core::model::TokenKind;
use keyward_core::oauth::tokens::ActiveToken;
use serde::Serialize;
use utoipa::ToSchema;

/// RFC 7662 §2.2. An inactive token is `{"active": false}` and nothing else.
#[derive(Serialize, ToSchema, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The user's UUID, for tokens that have a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// With `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl Introspection {
    fn new(token: ActiveToken, issuer: &str) -> Self {
        let token_type = match token.kind {
            TokenKind::Access => "Bearer",
            TokenKind::Refresh => "refresh_token",
        };
        Self {
            active: true,
            scope: Some(token.scope()),
            client_id: Some(token.client_id.clone()),
            token_type: Some(token_type.to_owned()),
            exp: Some(token.expires_at),
            iat: Some(token.issued_at),
            aud: Some(token.audience().to_owned()),
            iss: Some(issuer.to_owned()),
            sub: token.subject,
            username: token.username,
        }
    }
}

#[utoipa::path(post, path = "/oauth2/introspect", tag = "oidc",
    request_body(content = crate::oauth::form::TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662 §2.2; `{\"active\": false}` for anything not this client's live token.", body = Introspection),
        (status = 400, description = "RFC 6749 §5.2 error (public clients get `unauthorized_client`).", body = OAuthErrorBody),
        ClientAuthFailures),
    security((), ("client_basic" = [])))]
pub async fn post(State(state): State<AppState>, request: ClientRequest) -> OAuthResult {
    let (client, token) = request.client_and_token()?;
    let introspection = match state
        .tokens
        .introspect(&client, &token, &request.ip)
        .await?
    {
        Some(active) => Introspection::new(active, &state.config.public_url),
        None => Introspection::default(),
    };
    Ok(no_store(Json(introspection)))
}
