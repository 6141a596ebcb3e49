//! WeChat scan login through a WeChat verification server. The code is short, so guessing is
//! limited per client IP (and per account when binding), and a bind checks the session before
//! the code is spent.

use super::UpstreamOutcome;
use super::{enabled, finish, not_enabled, registration, upstream_error};
use crate::envelope::ApiQuery;
use crate::envelope::{ApiError, ApiJson};
use crate::extract::{Client, SessionUser};
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use keyward_core::accounts::federation::Intent;
use keyward_upstream::UpstreamError;
use keyward_upstream::wechat::WeChatConfig;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

const LABEL: &str = "微信";

#[derive(Deserialize, Default, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    #[serde(default)]
    code: String,
    /// From `GET /api/oauth/state` in this browser: a code alone would let whoever has it log
    /// any browser into their account (login CSRF).
    #[serde(default)]
    state: String,
}

/// Asks the verification server who `code` belongs to; the guessing limits are core's.
async fn identify(
    state: &AppState,
    ip: &str,
    account: Option<i64>,
    code: &str,
) -> Result<keyward_core::accounts::federation::FederatedIdentity, ApiError> {
    let settings = state.settings.get().await?;
    if !enabled(&settings, "wechat") {
        return Err(not_enabled("微信"));
    }
    let config = WeChatConfig {
        server_address: settings.wechat_server_address.clone(),
        server_token: super::state::vault_secret(state, "wechat_server_token").await?,
    };
    let lookup = async {
        match keyward_upstream::wechat::identify(&state.http, &config, code).await {
            Ok(identity) => Ok(Some(super::callback::federated(identity, LABEL))),
            Err(e @ (UpstreamError::InvalidCode | UpstreamError::Refused(_))) => {
                tracing::info!(error = %e, "wechat code refused");
                Ok(None)
            }
            Err(e) => Err(upstream_error(LABEL, &e)),
        }
    };
    state
        .accounts
        .check_wechat_code(&settings, ip, account, lookup)
        .await?
        .ok_or_else(|| ApiError::Refused("验证码错误或已过期".into()))
}

/// `GET /api/oauth/wechat?code=&state=`: bound to the browser that started it (the state's
/// flow cookie), like the other upstream logins.
#[utoipa::path(get, path = "/api/oauth/wechat", tag = "login-module",
    params(LoginQuery),
    responses(
        (status = 200, description = "Logged in or registered (session cookie set), or a refusal.", body = Answer<UpstreamOutcome>),
        (status = 403, description = "The state is missing, used, expired, or from another browser.", body = Failure),
        (status = 429, description = "Too many wrong codes from this address.", body = Failure)),
    security((), ("session" = [])))]
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Client(client): Client,
    ApiQuery(query): ApiQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    super::callback::take_state(&state, &jar, &query.state, "wechat").await?;
    let identity = identify(&state, &client.ip, None, &query.code).await?;
    let settings = state.settings.get().await?;
    let outcome = state
        .accounts
        .federate(
            Intent::Login,
            &identity,
            registration(&settings, "wechat"),
            None,
            &client.ip,
        )
        .await?;
    finish(&state, jar, &client, outcome, "", "wechat").await
}

/// `GET /api/oauth/wechat/bind?code=` (the document) and `POST` with `{"code"}` (new-api today).
/// The session is checked first: without one, the code is not touched.
#[utoipa::path(get, path = "/api/oauth/wechat/bind", tag = "login-module",
    params(CodeQuery),
    responses(
        (status = 200, description = "Bound (`微信账户绑定成功!`), or a refusal.", body = Answer<UpstreamOutcome>),
        (status = 429, description = "Too many wrong codes from this address.", body = Failure)),
    security(("session" = [])))]
pub async fn bind_get(
    state: State<AppState>,
    current: SessionUser,
    jar: CookieJar,
    client: Client,
    ApiQuery(query): ApiQuery<CodeQuery>,
) -> Result<Response, ApiError> {
    bind(state, current, jar, client, query.code).await
}

#[utoipa::path(post, path = "/api/oauth/wechat/bind", tag = "login-module",
    request_body = CodeQuery,
    responses(
        (status = 200, description = "Bound (`微信账户绑定成功!`), or a refusal.", body = Answer<UpstreamOutcome>),
        (status = 429, description = "Too many wrong codes from this address.", body = Failure)),
    security(("session" = [])))]
pub async fn bind_post(
    state: State<AppState>,
    current: SessionUser,
    jar: CookieJar,
    client: Client,
    ApiJson(body): ApiJson<CodeQuery>,
) -> Result<Response, ApiError> {
    bind(state, current, jar, client, body.code).await
}

async fn bind(
    State(state): State<AppState>,
    current: SessionUser,
    jar: CookieJar,
    Client(client): Client,
    code: String,
) -> Result<Response, ApiError> {
    let identity = identify(&state, &client.ip, Some(current.user.id), &code).await?;
    let settings = state.settings.get().await?;
    let outcome = state
        .accounts
        .federate(
            Intent::Bind(current.user.id),
            &identity,
            registration(&settings, "wechat"),
            None,
            &client.ip,
        )
        .await?;
    finish(&state, jar, &client, outcome, "微信账户绑定成功!", "wechat").await
}
