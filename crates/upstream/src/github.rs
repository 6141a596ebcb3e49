//! GitHub: OAuth 2.0 with PKCE, identity keyed on the numeric user id (never the login, which
//! GitHub lets people change and later hands to someone else), e-mail only when verified.

use crate::oauth2::{ClientAuth, exchange_code, get_json};
use crate::{ExternalIdentity, Http, UpstreamError, clean};
use serde::Deserialize;

const GITHUB_JSON: &str = "application/vnd.github+json";

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
    let token_url = format!(
        "{}/login/oauth/access_token",
        config.web_base.trim_end_matches('/')
    );
    let mut form = Vec::new();
    if let Some(uri) = redirect_uri {
        form.push(("redirect_uri", uri));
    }
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    let auth = ClientAuth::Form {
        id: &config.client_id,
        secret: &config.client_secret,
    };
    let token = exchange_code(http, &token_url, auth, code, &form).await?;
    let api = config.api_base.trim_end_matches('/');
    let user: GitHubUser = get_json(http, &format!("{api}/user"), &token, GITHUB_JSON).await?;
    if user.id <= 0 || user.login.is_empty() {
        return Err(UpstreamError::EmptyIdentity);
    }
    // Only a verified address may be attached to an account; the profile e-mail is not checked.
    let emails: Vec<GitHubEmail> =
        get_json(http, &format!("{api}/user/emails"), &token, GITHUB_JSON)
            .await
            .unwrap_or_default();
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
