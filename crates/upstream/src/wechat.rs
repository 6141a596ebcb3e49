//! WeChat scan login through a WeChat verification server (songquanpeng/wechat-server): the user
//! sends a message to the official account, gets a short code, and types it here; the server
//! turns the code into the user's openid, once.

use crate::http::connect_error;
use crate::{ExternalIdentity, Http, UpstreamError, clean};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct WeChatConfig {
    pub server_address: String,
    pub server_token: String,
}

#[derive(Deserialize)]
struct Answer {
    success: bool,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: String,
}

pub async fn identify(
    http: &Http,
    config: &WeChatConfig,
    code: &str,
) -> Result<ExternalIdentity, UpstreamError> {
    if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(UpstreamError::InvalidCode);
    }
    let mut url = Http::endpoint(&format!(
        "{}/api/wechat/user",
        config.server_address.trim_end_matches('/')
    ))?;
    url.query_pairs_mut().append_pair("code", code);
    let answer: Answer = http
        .client()
        .get(url)
        .header("Authorization", &config.server_token)
        .send()
        .await
        .map_err(connect_error)?
        .json()
        .await
        .map_err(|e| UpstreamError::Malformed(e.to_string()))?;
    if !answer.success {
        return Err(UpstreamError::Refused(clean(&answer.message, 200)));
    }
    if answer.data.is_empty() {
        return Err(UpstreamError::InvalidCode);
    }
    Ok(ExternalIdentity {
        provider: "wechat",
        subject: clean(&answer.data, 128),
        handle: String::new(),
        display_name: "WeChat User".into(),
        verified_email: None,
        avatar_url: String::new(),
    })
}
