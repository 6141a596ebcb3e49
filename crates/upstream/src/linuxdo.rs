//! LinuxDO Connect: OAuth 2.0 (client authenticated with HTTP Basic), identity keyed on the
//! numeric id, with a minimum trust level for login, bind and registration alike.

use crate::http::connect_error;
use crate::{ExternalIdentity, Http, UpstreamError, clean};
use base64::Engine as _;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct LinuxDoConfig {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    pub user_url: String,
    pub minimum_trust_level: i64,
}

impl LinuxDoConfig {
    pub fn authorize_url(&self, state: &str, redirect_uri: &str) -> Result<String, UpstreamError> {
        let mut url = Http::endpoint(&self.authorize_url)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        Ok(url.into())
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    message: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct LinuxDoUser {
    id: i64,
    username: Option<String>,
    name: Option<String>,
    avatar_template: Option<String>,
    trust_level: Option<i64>,
    active: Option<bool>,
    silenced: Option<bool>,
}

pub async fn identify(
    http: &Http,
    config: &LinuxDoConfig,
    code: &str,
    redirect_uri: &str,
) -> Result<ExternalIdentity, UpstreamError> {
    if code.is_empty() || code.len() > 512 {
        return Err(UpstreamError::InvalidCode);
    }
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", config.client_id, config.client_secret));
    let answer = http
        .client()
        .post(Http::endpoint(&config.token_url)?)
        .header("Authorization", format!("Basic {basic}"))
        .header("Accept", "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .map_err(connect_error)?;
    // An error status is a refused (or failed) exchange, whatever its body says.
    if !answer.status().is_success() && !answer.status().is_client_error() {
        return Err(UpstreamError::Token(answer.status().to_string()));
    }
    let answer: TokenAnswer = answer
        .json()
        .await
        .map_err(|e| UpstreamError::Token(e.to_string()))?;
    let Some(token) = answer.access_token.filter(|t| !t.is_empty()) else {
        let why = answer
            .message
            .or(answer.error_description)
            .unwrap_or_default();
        return Err(UpstreamError::Token(clean(&why, 200)));
    };
    let response = http
        .client()
        .get(Http::endpoint(&config.user_url)?)
        .bearer_auth(&token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(connect_error)?;
    if !response.status().is_success() {
        return Err(UpstreamError::UserInfo(response.status().to_string()));
    }
    let user: LinuxDoUser = response
        .json()
        .await
        .map_err(|e| UpstreamError::Malformed(e.to_string()))?;
    if user.id <= 0 {
        return Err(UpstreamError::EmptyIdentity);
    }
    if user.active == Some(false) || user.silenced == Some(true) {
        return Err(UpstreamError::Refused(
            "account inactive or silenced".into(),
        ));
    }
    let level = user.trust_level.unwrap_or(0);
    if level < config.minimum_trust_level {
        return Err(UpstreamError::TrustLevel {
            actual: level,
            required: config.minimum_trust_level,
        });
    }
    let handle = user.username.unwrap_or_default();
    Ok(ExternalIdentity {
        provider: "linuxdo",
        subject: user.id.to_string(),
        display_name: clean(
            user.name
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(&handle),
            20,
        ),
        handle: clean(&handle, 60),
        verified_email: None,
        avatar_url: clean(
            &user
                .avatar_template
                .unwrap_or_default()
                .replace("{size}", "120"),
            500,
        ),
    })
}
