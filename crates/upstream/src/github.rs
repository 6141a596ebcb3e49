//! GitHub: OAuth 2.0 with PKCE, identity keyed on the numeric user id (never the login, which
//! GitHub lets people change and later hands to someone else), e-mail only when verified.

use crate::http::connect_error;
use crate::{ExternalIdentity, Http, UpstreamError, clean};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct GitHubConfig {
    pub client_id: String,
    pub client_secret: String,
    /// `https://github.com` (authorize and token live under `/login/oauth/`).
    pub web_base: String,
    /// `https://api.github.com`.
    pub api_base: String,
}

impl GitHubConfig {
    pub fn authorize_url(
        &self,
        state: &str,
        redirect_uri: &str,
        challenge: Option<&str>,
    ) -> Result<String, UpstreamError> {
        let mut url = Http::endpoint(&format!(
            "{}/login/oauth/authorize",
            self.web_base.trim_end_matches('/')
        ))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", "read:user user:email")
                .append_pair("state", state);
            if let Some(challenge) = challenge {
                q.append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
        }
        Ok(url.into())
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error_description: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct GitHubUser {
    id: i64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

pub async fn identify(
    http: &Http,
    config: &GitHubConfig,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<ExternalIdentity, UpstreamError> {
    if code.is_empty() || code.len() > 512 {
        return Err(UpstreamError::InvalidCode);
    }
    let token_url = Http::endpoint(&format!(
        "{}/login/oauth/access_token",
        config.web_base.trim_end_matches('/')
    ))?;
    let mut body = vec![
        ("client_id", config.client_id.as_str()),
        ("client_secret", config.client_secret.as_str()),
        ("code", code),
    ];
    if let Some(uri) = redirect_uri {
        body.push(("redirect_uri", uri));
    }
    if let Some(verifier) = verifier {
        body.push(("code_verifier", verifier));
    }
    let answer = http
        .client()
        .post(token_url)
        .header("Accept", "application/json")
        .form(&body)
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
            .error_description
            .or(answer.error)
            .unwrap_or_default();
        return Err(UpstreamError::Token(clean(&why, 200)));
    };

    let api = config.api_base.trim_end_matches('/');
    let response = http
        .client()
        .get(Http::endpoint(&format!("{api}/user"))?)
        .bearer_auth(&token)
        .header("Accept", "application/vnd.github+json")
        .send()
        .await
        .map_err(connect_error)?;
    if !response.status().is_success() {
        return Err(UpstreamError::UserInfo(response.status().to_string()));
    }
    let user: GitHubUser = response
        .json()
        .await
        .map_err(|e| UpstreamError::Malformed(e.to_string()))?;
    if user.id <= 0 || user.login.is_empty() {
        return Err(UpstreamError::EmptyIdentity);
    }
    // Only a verified address may be attached to an account; the profile e-mail is not checked.
    let emails: Vec<GitHubEmail> = match http
        .client()
        .get(Http::endpoint(&format!("{api}/user/emails"))?)
        .bearer_auth(&token)
        .header("Accept", "application/vnd.github+json")
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
        _ => Vec::new(),
    };
    let verified_email = emails
        .iter()
        .filter(|e| e.verified)
        .max_by_key(|e| e.primary)
        .map(|e| e.email.to_lowercase());
    Ok(ExternalIdentity {
        provider: "github",
        subject: user.id.to_string(),
        handle: clean(&user.login, 39),
        display_name: clean(user.name.as_deref().unwrap_or(&user.login), 20),
        verified_email,
        avatar_url: clean(user.avatar_url.as_deref().unwrap_or_default(), 500),
    })
}
