//! What the token, revocation and introspection endpoints read from a request: the client's
//! credentials (HTTP Basic or the form body), the form body itself and the caller's address.

use super::form::{Form, client_credentials, token_request};
use crate::extract::Client;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use keyward_core::oauth::TokenError;
use keyward_core::oauth::tokens::{ClientCredentials, TokenRequest};
use std::convert::Infallible;

/// What a device authorization request asks for.
pub struct DeviceRequest {
    pub client: ClientCredentials,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    /// The limit the app suggests for `balance:spend` (`<quota units>/<day|month|total>`).
    pub spend_limit: Option<String>,
}

/// A request to an endpoint where the client authenticates itself. Reading it never fails:
/// what is wrong with the body becomes the endpoint's own error answer (RFC 6749 §5.2), which
/// each API family words its own way.
pub struct ClientRequest {
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    /// The caller's address, which failed client authentications are counted against.
    pub ip: String,
}

impl FromRequest<AppState> for ClientRequest {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Infallible> {
        let (mut parts, body) = request.into_parts();
        let Ok(Client(caller)) = Client::from_request_parts(&mut parts, state).await;
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await;
        Ok(Self {
            headers,
            body,
            ip: caller.ip,
        })
    }
}

impl ClientRequest {
    /// The form body. A body that could not be read (too large, or cut off) is the client's
    /// `invalid_request`, described as `unreadable`.
    fn form(&self, unreadable: &'static str) -> Result<Form, TokenError> {
        let body = self
            .body
            .as_ref()
            .map_err(|_| TokenError::InvalidRequest(unreadable))?;
        Form::parse(body)
    }

    /// A token request (RFC 6749 §4.1.3, §6, §4.4): the client's credentials and the grant.
    pub fn token_request(&self, unreadable: &'static str) -> Result<TokenRequest, TokenError> {
        token_request(&self.headers, &self.form(unreadable)?)
    }

    /// A device authorization request (RFC 8628 §3.1): the client's credentials, the `scope`
    /// and the `resource`s (RFC 8707) it asks for.
    pub fn device_request(&self) -> Result<DeviceRequest, TokenError> {
        let form = self.form("unreadable body")?;
        Ok(DeviceRequest {
            client: client_credentials(&self.headers, &form)?,
            scope: form.get("scope").map(str::to_owned),
            resources: form.resources().to_vec(),
            spend_limit: form.get("spend_limit").map(str::to_owned),
        })
    }

    /// A revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1): the client's credentials
    /// and the token it asks about.
    pub fn client_and_token(&self) -> Result<(ClientCredentials, String), TokenError> {
        let form = self.form("unreadable body")?;
        let client = client_credentials(&self.headers, &form)?;
        let token = form
            .get("token")
            .ok_or(TokenError::InvalidRequest("token is required"))?;
        Ok((client, token.to_owned()))
    }
}
