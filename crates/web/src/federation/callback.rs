//! `GET /api/oauth/github`, `/api/oauth/oidc`, `/api/oauth/linuxdo`: the providers' callbacks.

use super::UpstreamOutcome;
use super::state::{callback_uri, github_config, linuxdo_config, oidc_config, spa_callback_uri};
use super::{
    Failed, FlowFailure, STATE_MISMATCH, enabled, not_enabled, provider_label, registration,
    upstream_error,
};
use crate::envelope::ApiError;
use crate::envelope::ApiQuery;
use crate::extract::Client;
use crate::openapi::{Answer, Failure};
use crate::pages::login::redirect;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use keyward_core::accounts::federation::{FederatedIdentity, Intent};
use keyward_core::model::UpstreamState;
use keyward_upstream::ExternalIdentity;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// One documented callback endpoint per provider, all handled alike by [`handle`].
macro_rules! callback_endpoint {
    ($name:ident, $path:literal, $provider:literal) => {
        #[utoipa::path(get, path = $path, tag = "login-module",
            params(CallbackQuery),
            responses(
                (status = 200, description = "Logged in (session cookie set), registered, or bound, as the state's intent says; or a refusal.", body = Answer<UpstreamOutcome>),
                (status = 303, description = "Flows started by this server's pages go back to the page (with `error` on failure)."),
                (status = 403, description = "The state is missing, used, expired, or from another browser.", body = Failure)),
            security((), ("session" = [])))]
        pub async fn $name(
            state: State<AppState>,
            jar: CookieJar,
            client: Client,
            query: ApiQuery<CallbackQuery>,
        ) -> Response {
            handle(state, jar, client, query, $provider).await
        }
    };
}

callback_endpoint!(github, "/api/oauth/github", "github");
callback_endpoint!(oidc, "/api/oauth/oidc", "oidc");
callback_endpoint!(linuxdo, "/api/oauth/linuxdo", "linuxdo");

/// Consumes the state: it must exist, be fresh, belong to this browser and (if it names one)
/// this provider. It is gone afterwards whatever the outcome, so it can never be replayed.
pub async fn take_state(
    state: &AppState,
    jar: &CookieJar,
    value: &str,
    provider: &str,
) -> Result<UpstreamState, ApiError> {
    let browser = jar.get(state.config.flow_cookie_name()).map(|c| c.value());
    state
        .accounts
        .take_upstream_flow(value, browser, provider)
        .await?
        .ok_or(ApiError::Forbidden(STATE_MISMATCH))
}

/// For a bind, the account that started it must still be the one logged in.
pub async fn intent_of(
    state: &AppState,
    jar: &CookieJar,
    flow: &UpstreamState,
) -> Result<Intent, ApiError> {
    let Some(user_id) = flow.bind_user else {
        return Ok(Intent::Login);
    };
    let cookie = jar
        .get(state.config.session_cookie_name())
        .ok_or(ApiError::Unauthorized(
            "无权进行此操作，未登录且未提供 access token",
        ))?;
    match state.accounts.session(cookie.value()).await? {
        Some((_, user)) if user.id == user_id => Ok(Intent::Bind(user_id)),
        _ => Err(ApiError::Unauthorized(
            "无权进行此操作，未登录且未提供 access token",
        )),
    }
}

pub fn federated(identity: ExternalIdentity, label: &'static str) -> FederatedIdentity {
    FederatedIdentity {
        provider: identity.provider.to_owned(),
        provider_label: label,
        subject: identity.subject,
        display_name: identity.display_name,
        verified_email: identity.verified_email,
        avatar_url: identity.avatar_url,
    }
}

async fn handle(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiQuery(query): ApiQuery<CallbackQuery>,
    provider: &'static str,
) -> Response {
    let label = provider_label(provider).unwrap_or(provider);
    let flow = match take_state(&state, &jar, &query.state, provider).await {
        Ok(flow) => flow,
        Err(e) => return e.into_response(),
    };
    let return_to = flow.return_to.clone();
    let result = run(&state, jar, &client, &query, provider, label, flow).await;
    if return_to.is_empty() {
        return match result {
            Ok((response, _)) => response,
            Err(failed) => failed.error.into_response(),
        };
    }
    // Flows started by this server's pages go back to the page: with the session cookie, to
    // the login page's second step when a second factor is due, or with a failure code.
    match result {
        Ok((response, second_factor)) => {
            let (parts, _) = response.into_parts();
            let mut back = if second_factor {
                let query = serde_urlencoded::to_string([("return_to", return_to.as_str())])
                    .unwrap_or_default();
                redirect(&format!("/login/2fa?{query}"))
            } else {
                redirect(&return_to)
            };
            for cookie in parts.headers.get_all(axum::http::header::SET_COOKIE) {
                back.headers_mut()
                    .append(axum::http::header::SET_COOKIE, cookie.clone());
            }
            back
        }
        Err(failed) => {
            let sep = if return_to.contains('?') { '&' } else { '?' };
            redirect(&format!("{return_to}{sep}error={}", failed.failure.code()))
        }
    }
}

async fn run(
    state: &AppState,
    jar: CookieJar,
    client: &keyward_core::accounts::ClientInfo,
    query: &CallbackQuery,
    provider: &'static str,
    label: &'static str,
    flow: UpstreamState,
) -> Result<(Response, bool), Failed> {
    let settings = state.settings.get().await.map_err(ApiError::from)?;
    if !enabled(&settings, provider) {
        return Err(Failed::new(FlowFailure::NotEnabled)(not_enabled(label)));
    }
    let intent = intent_of(state, &jar, &flow).await?;
    // The provider's own error text is not echoed (it is attacker-influenced); it is logged.
    if let Some(error) = &query.error {
        tracing::info!(provider, error = %error.chars().take(100).collect::<String>(), "provider returned an error");
        return Err(Failed::new(FlowFailure::Denied)(ApiError::Refused(
            format!("{label} 授权失败或被取消"),
        )));
    }
    // Flows started by `/start` carry a return_to and use the API callback; new-api's SPA uses
    // its own page.
    let started_here = !flow.return_to.is_empty();
    let redirect_uri = if started_here {
        callback_uri(state, provider)
    } else {
        spa_callback_uri(state, provider)
    };
    let upstream = Failed::new(FlowFailure::Upstream);
    let identity = match provider {
        "github" => {
            let config = github_config(state, &settings).await?;
            // new-api's SPA sends no redirect_uri to GitHub; the app's registered one applies.
            let uri = started_here.then_some(redirect_uri.as_str());
            keyward_upstream::github::identify(
                &state.http,
                &config,
                &query.code,
                uri,
                flow.pkce_verifier.as_deref(),
            )
            .await
        }
        "linuxdo" => {
            let config = linuxdo_config(state, &settings).await?;
            keyward_upstream::linuxdo::identify(
                &state.http,
                &config,
                &query.code,
                &callback_uri(state, provider),
            )
            .await
        }
        _ => {
            let config = oidc_config(state, &settings).await?;
            keyward_upstream::oidc::identify(
                &state.http,
                &config,
                &query.code,
                &redirect_uri,
                flow.nonce.as_deref(),
                flow.pkce_verifier.as_deref(),
            )
            .await
        }
    }
    .map_err(|e| upstream(upstream_error(label, &e)))?;
    let aff = Some(flow.aff_code.as_str()).filter(|a| !a.is_empty());
    let outcome = state
        .accounts
        .federate(
            intent,
            &federated(identity, label),
            registration(&settings, provider),
            aff,
            &client.ip,
        )
        .await?;
    Ok(super::finish_with_step(state, jar, client, outcome, "bind", provider).await?)
}
