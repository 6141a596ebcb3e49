//! Starting an upstream flow.

use super::{STATE_TTL_SECS, enabled, not_enabled, provider_label};
use crate::envelope::{ApiError, Success};
use crate::envelope::{ApiPath, ApiQuery};
use crate::openapi::{Answer, Failure};
use crate::pages::safe_return_to;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_core::model::{UpstreamState, UserId};
use keyward_core::oauth::pkce;
use keyward_core::secret::{ALPHANUMERIC, SecretHash, random_base64url, random_string};
use keyward_upstream::github::GitHubConfig;
use keyward_upstream::linuxdo::LinuxDoConfig;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    /// A referral code, kept for a registration.
    #[serde(default)]
    aff: Option<String>,
    /// `login` or `bind`; by default, bind when the caller is logged in (new-api's rule), but
    /// fixed now rather than when the provider calls back.
    #[serde(default)]
    intent: Option<String>,
    /// Ties the state to one provider, when the caller knows it.
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

/// The browser's flow cookie, created if missing.
fn flow_cookie(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(value) = jar
        .get(state.config.flow_cookie_name())
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
    {
        return (jar, value);
    }
    let value = random_base64url(32);
    let cookie = Cookie::build((state.config.flow_cookie_name(), value.clone()))
        .path("/")
        .http_only(true)
        .secure(state.config.https())
        // Lax: the cookie must come back on the provider's top-level redirect to the callback.
        .same_site(SameSite::Lax)
        .build();
    (jar.add(cookie), value)
}

async fn session_user(state: &AppState, jar: &CookieJar) -> Result<Option<UserId>, ApiError> {
    let Some(cookie) = jar.get(state.config.session_cookie_name()) else {
        return Ok(None);
    };
    Ok(state
        .accounts
        .session(cookie.value())
        .await?
        .map(|(_, user)| user.id))
}

struct Started {
    state: String,
    verifier: Option<String>,
    nonce: Option<String>,
}

async fn begin(
    state: &AppState,
    jar: CookieJar,
    query: &StateQuery,
    provider: &str,
    with_pkce: bool,
) -> Result<(CookieJar, Started), ApiError> {
    let user = session_user(state, &jar).await?;
    let bind_user = match query.intent.as_deref() {
        Some("bind") => Some(user.ok_or(ApiError::Unauthorized(
            "无权进行此操作，未登录且未提供 access token",
        ))?),
        Some("login") => None,
        None => user,
        Some(_) => return Err(ApiError::BadRequest("无效的参数")),
    };
    // Only a real referral code is kept.
    let aff = match query
        .aff
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty() && a.len() <= 32)
    {
        Some(code) => state
            .store
            .user_by_aff_code(code)
            .await?
            .map(|u| u.aff_code)
            .unwrap_or_default(),
        None => String::new(),
    };
    let (jar, browser) = flow_cookie(state, jar);
    let value = random_string(ALPHANUMERIC, 12);
    let verifier = with_pkce.then(|| random_base64url(48));
    let nonce = (with_pkce && provider == "oidc").then(|| random_base64url(24));
    let now = state.accounts.now();
    state
        .accounts
        .start_upstream_flow(UpstreamState {
            state_hash: SecretHash::of(&value),
            browser_hash: SecretHash::of(&browser),
            provider: provider.to_owned(),
            bind_user,
            aff_code: aff,
            pkce_verifier: verifier.clone(),
            nonce: nonce.clone(),
            return_to: query
                .return_to
                .as_deref()
                .and_then(safe_return_to)
                .unwrap_or_default()
                .to_owned(),
            created_at: now,
            expires_at: now + STATE_TTL_SECS,
        })
        .await?;
    Ok((
        jar,
        Started {
            state: value,
            verifier,
            nonce,
        },
    ))
}

/// `GET /api/oauth/state?aff=`: a fresh state for a flow whose authorize URL the caller builds.
#[utoipa::path(get, path = "/api/oauth/state", tag = "login-module",
    params(StateQuery),
    responses((status = 200, description = "A fresh state (12 characters) for this browser (a flow cookie is set), single use, 10 minutes.", body = Answer<String>)),
    security((), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiQuery(query): ApiQuery<StateQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let provider = match query.provider.as_deref().filter(|p| !p.is_empty()) {
        // Telegram and WeChat logins take a state too (no upstream redirect, but the same
        // binding to this browser).
        Some(p) if provider_label(p).is_some() || matches!(p, "telegram" | "wechat") => {
            p.to_owned()
        }
        Some(_) => return Err(ApiError::BadRequest("未知的 OAuth 提供商")),
        None => String::new(),
    };
    let (jar, started) = begin(&state, jar, &query, &provider, false).await?;
    Ok((jar, Success::new(started.state)))
}

/// `GET /api/oauth/{provider}/start?intent=&aff=&return_to=`: this server's own pages start here;
/// the authorize URL is built server-side, with PKCE (and a nonce for OIDC), and the callback
/// sends the browser back to `return_to`.
#[utoipa::path(get, path = "/api/oauth/{provider}/start", tag = "login-module",
    params(("provider" = String, Path, description = "`github`, `oidc` or `linuxdo`."), StateQuery),
    responses(
        (status = 302, description = "To the provider's authorization page."),
        (status = 200, description = "Refused: the provider is not enabled, or it is misconfigured.", body = Failure)),
    security((), ("session" = [])))]
pub async fn start(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiPath(provider): ApiPath<String>,
    ApiQuery(mut query): ApiQuery<StateQuery>,
) -> Result<Response, ApiError> {
    let label = provider_label(&provider).ok_or(ApiError::NotFound("未知的 OAuth 提供商"))?;
    let settings = state.settings.get().await?;
    if !enabled(&settings, &provider) {
        return Err(not_enabled(label));
    }
    // A flow started here always comes back to a page of this site (and so uses the API
    // callback URI it was started with); anything but a local path means the home page.
    let back = query
        .return_to
        .as_deref()
        .and_then(safe_return_to)
        .unwrap_or("/")
        .to_owned();
    query.return_to = Some(back);
    let with_pkce = provider != "linuxdo";
    let (jar, started) = begin(&state, jar, &query, &provider, with_pkce).await?;
    let redirect_uri = callback_uri(&state, &provider);
    let challenge = started.verifier.as_deref().map(pkce::s256_challenge);
    let url = match provider.as_str() {
        "github" => github_config(&state, &settings).await?.authorize_url(
            &started.state,
            &redirect_uri,
            challenge.as_deref(),
        ),
        "linuxdo" => linuxdo_config(&state, &settings)
            .await?
            .authorize_url(&started.state, &redirect_uri),
        _ => {
            let config = oidc_config(&state, &settings).await?;
            keyward_upstream::oidc::authorize_url(
                &state.http,
                &config,
                &redirect_uri,
                &started.state,
                started.nonce.as_deref().unwrap_or_default(),
                started.verifier.as_deref().unwrap_or_default(),
            )
            .await
        }
    }
    .map_err(|e| super::upstream_error(label, &e))?;
    let mut response = StatusCode::FOUND.into_response();
    let location =
        HeaderValue::from_str(&url).map_err(|_| ApiError::Internal("bad authorize URL".into()))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok((jar, response).into_response())
}

/// The callback URI this server registers with providers: one configured public URL, never
/// derived from request headers.
pub fn callback_uri(state: &AppState, provider: &str) -> String {
    format!("{}/api/oauth/{provider}", state.config.public_url)
}

/// The front-end callback page new-api's SPA registers (`/oauth/{provider}`), used for flows
/// started by `/api/oauth/state`.
pub fn spa_callback_uri(state: &AppState, provider: &str) -> String {
    format!("{}/oauth/{provider}", state.config.public_url)
}

async fn secret(state: &AppState, name: &str) -> Result<String, ApiError> {
    state
        .vault
        .get(name)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
        .map(Option::unwrap_or_default)
}

pub async fn github_config(
    state: &AppState,
    s: &keyward_core::settings::Settings,
) -> Result<GitHubConfig, ApiError> {
    Ok(GitHubConfig {
        client_id: s.github_client_id.clone(),
        client_secret: secret(state, "github_client_secret").await?,
        web_base: s.github_web_base.clone(),
        api_base: s.github_api_base.clone(),
    })
}

pub async fn linuxdo_config(
    state: &AppState,
    s: &keyward_core::settings::Settings,
) -> Result<LinuxDoConfig, ApiError> {
    Ok(LinuxDoConfig {
        client_id: s.linuxdo_client_id.clone(),
        client_secret: secret(state, "linuxdo_client_secret").await?,
        authorize_url: s.linuxdo_authorize_url.clone(),
        token_url: s.linuxdo_token_url.clone(),
        user_url: s.linuxdo_user_url.clone(),
        minimum_trust_level: s.linuxdo_minimum_trust_level,
    })
}

pub async fn oidc_config(
    state: &AppState,
    s: &keyward_core::settings::Settings,
) -> Result<keyward_upstream::oidc::OidcConfig, ApiError> {
    Ok(keyward_upstream::oidc::OidcConfig {
        client_id: s.oidc_client_id.clone(),
        client_secret: secret(state, "oidc_client_secret").await?,
        issuer: s.oidc_issuer.clone(),
        authorization_endpoint: s.oidc_authorization_endpoint.clone(),
        token_endpoint: s.oidc_token_endpoint.clone(),
        userinfo_endpoint: s.oidc_userinfo_endpoint.clone(),
        jwks_uri: s.oidc_jwks_uri.clone(),
        scopes: s.oidc_scopes.clone(),
    })
}

pub async fn vault_secret(state: &AppState, name: &str) -> Result<String, ApiError> {
    secret(state, name).await
}
