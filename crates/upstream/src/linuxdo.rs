//! LinuxDO Connect: OAuth 2.0 (client authenticated with HTTP Basic), identity keyed on the
//! numeric id, with a minimum trust level for login, bind and registration alike.

use crate::oauth2::{ClientAuth, exchange_code, get_json};
use crate::{ExternalIdentity, Http, UpstreamError, clean};
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
    let auth = ClientAuth::Basic {
        id: &config.client_id,
        secret: &config.client_secret,
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("redirect_uri", redirect_uri),
    ];
    let token = exchange_code(http, &config.token_url, auth, code, &form).await?;
    let user: LinuxDoUser = get_json(http, &config.user_url, &token, "application/json").await?;
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
