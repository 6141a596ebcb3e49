//! The OAuth 2.0 steps the plain-OAuth providers (GitHub, LinuxDO) share: the code exchange at
//! the token endpoint and the bearer-authenticated read of the user endpoint.

use crate::http::connect_error;
use crate::{Http, UpstreamError, clean};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// How the provider wants the client to authenticate at its token endpoint.
pub enum ClientAuth<'a> {
    /// `client_id` and `client_secret` in the form (GitHub).
    Form { id: &'a str, secret: &'a str },
    /// HTTP Basic (RFC 6749 §2.3.1; LinuxDO).
    Basic { id: &'a str, secret: &'a str },
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error_description: Option<String>,
    error: Option<String>,
    /// LinuxDO's own error field.
    message: Option<String>,
}

/// Trades `code` (with the rest of `form`) for the provider's access token.
pub async fn exchange_code(
    http: &Http,
    token_url: &str,
    auth: ClientAuth<'_>,
    code: &str,
    form: &[(&str, &str)],
) -> Result<String, UpstreamError> {
    if code.is_empty() || code.len() > 512 {
        return Err(UpstreamError::InvalidCode);
    }
    let mut body: Vec<(&str, &str)> = vec![("code", code)];
    body.extend_from_slice(form);
    let mut request = http
        .client()
        .post(Http::endpoint(token_url)?)
        .header("Accept", "application/json");
    match auth {
        ClientAuth::Form { id, secret } => {
            body.extend([("client_id", id), ("client_secret", secret)]);
        }
        ClientAuth::Basic { id, secret } => {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            request = request.header("Authorization", format!("Basic {basic}"));
        }
    }
    let answer = request.form(&body).send().await.map_err(connect_error)?;
    // An error status is a refused (or failed) exchange, whatever its body says.
    if !answer.status().is_success() && !answer.status().is_client_error() {
        return Err(UpstreamError::Token(answer.status().to_string()));
    }
    let answer: TokenAnswer = answer
        .json()
        .await
        .map_err(|e| UpstreamError::Token(e.to_string()))?;
    match answer.access_token.filter(|t| !t.is_empty()) {
        Some(token) => Ok(token),
        None => {
            let why = answer
                .message
                .or(answer.error_description)
                .or(answer.error)
                .unwrap_or_default();
            Err(UpstreamError::Token(clean(&why, 200)))
        }
    }
}

/// GETs a JSON document with the provider's access token; a non-success status is `failed`.
pub async fn get_json<T: DeserializeOwned>(
    http: &Http,
    url: &str,
    token: &str,
    accept: &str,
) -> Result<T, UpstreamError> {
    let response = http
        .client()
        .get(Http::endpoint(url)?)
        .bearer_auth(token)
        .header("Accept", accept)
        .send()
        .await
        .map_err(connect_error)?;
    if !response.status().is_success() {
        return Err(UpstreamError::UserInfo(response.status().to_string()));
    }
    response
        .json()
        .await
        .map_err(|e| UpstreamError::Malformed(e.to_string()))
}
