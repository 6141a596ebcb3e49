//! The platform login module (new-api conventions, `{success, message, data}`): upstream login
//! and binding with GitHub, any OIDC provider, LinuxDO, WeChat and Telegram, and e-mail codes.
//!
//! Every upstream flow starts with a state (`/api/oauth/state`, or `/api/oauth/{provider}/start`
//! for this server's own pages) that records the intent — log in, or bind to the account that
//! was logged in at the start — and the browser (a flow cookie). The callback consumes the state
//! first, whatever happens next.

pub mod callback;
pub mod email;
pub mod state;
pub mod telegram;
pub mod wechat;

use crate::account::login::SecondFactorRequired;
use crate::account::login::{LoginStep, begin_login};
use crate::envelope::{ApiError, Success};
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use keyward_core::accounts::ClientInfo;
use keyward_core::accounts::federation::{FederationError, Outcome};
use keyward_core::model::User;
use keyward_core::settings::Settings;
use keyward_upstream::UpstreamError;
use serde::Serialize;
use utoipa::ToSchema;

pub const FLOW_COOKIE: &str = "keyward_flow";
pub const STATE_TTL_SECS: i64 = 600;
pub const STATE_MISMATCH: &str = "state 参数为空或不匹配";

/// The providers that use a state, with their human labels.
pub fn provider_label(provider: &str) -> Option<&'static str> {
    match provider {
        "github" => Some("GitHub"),
        "oidc" => Some("OIDC"),
        "linuxdo" => Some("Linux DO"),
        _ => None,
    }
}

pub fn enabled(settings: &Settings, provider: &str) -> bool {
    match provider {
        "github" => settings.github_enabled,
        "oidc" => settings.oidc_enabled,
        "linuxdo" => settings.linuxdo_enabled,
        "wechat" => settings.wechat_enabled,
        "telegram" => settings.telegram_enabled,
        _ => false,
    }
}

pub fn registration(
    settings: &Settings,
    provider: &str,
) -> keyward_core::accounts::federation::RegistrationPolicy {
    let per_provider = match provider {
        "github" => settings.github_register_enabled,
        "oidc" => settings.oidc_register_enabled,
        "linuxdo" => settings.linuxdo_register_enabled,
        "wechat" => settings.wechat_register_enabled,
        "telegram" => settings.telegram_register_enabled,
        _ => false,
    };
    keyward_core::accounts::federation::RegistrationPolicy {
        allowed: settings.register_enabled && per_provider,
        quota_for_new_user: settings.quota_for_new_user,
    }
}

pub fn not_enabled(label: &str) -> ApiError {
    ApiError::Refused(format!("管理员未开启通过 {label} 登录以及注册"))
}

/// Fixed messages for upstream failures; details go to the log, never to the client.
pub fn upstream_error(label: &str, error: &UpstreamError) -> ApiError {
    tracing::warn!(provider = label, error = %error, "upstream login failed");
    let message = match error {
        UpstreamError::InvalidCode => "无效的授权码".to_owned(),
        UpstreamError::Connect(_) => format!("无法连接至 {label} 服务器，请稍后重试"),
        UpstreamError::Token(_) => format!("{label} 获取 Token 失败，请检查设置"),
        UpstreamError::UserInfo(_) | UpstreamError::Malformed(_) | UpstreamError::IdToken(_)
            if label == "OIDC" =>
        {
            "OIDC 获取用户信息失败!请检查设置!".to_owned()
        }
        UpstreamError::UserInfo(_) | UpstreamError::Malformed(_) | UpstreamError::IdToken(_) => {
            "获取用户信息失败".to_owned()
        }
        UpstreamError::EmptyIdentity => format!("{label} 获取用户信息为空，请检查设置"),
        UpstreamError::TrustLevel { .. } => {
            "Linux DO 信任等级未达到管理员设置的最低信任等级".to_owned()
        }
        UpstreamError::Config(_) => format!("{label} 登录配置有误，请联系管理员"),
        UpstreamError::Refused(_) => format!("{label} 拒绝了登录请求"),
    };
    ApiError::Refused(message)
}

impl From<FederationError> for ApiError {
    fn from(e: FederationError) -> Self {
        match e {
            FederationError::Account(e) => e.into(),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// The user as a login answer shows it (`data.user`).
#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: i64,
    pub status: i64,
    #[schema(value_type = String)]
    pub group: &'static str,
}

impl From<&User> for LoginUser {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            email: user.email.clone().unwrap_or_default(),
            role: user.role.as_i64(),
            status: user.status.as_i64(),
            group: "default",
        }
    }
}

/// `data` of a finished upstream flow: logged in, bound, or a second factor is due.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UpstreamOutcome {
    LoggedIn {
        user: LoginUser,
    },
    /// new-api's SPA checks `data.action === "bind"`.
    Bound {
        #[schema(value_type = String)]
        action: &'static str,
    },
    SecondFactor(SecondFactorRequired),
}

/// Answers a completed upstream flow: a login opens a session (new id) and says `登录成功`; a
/// bind says `bind` (new-api's SPA checks `message === "bind"` or `data.action === "bind"`).
pub async fn finish(
    state: &AppState,
    jar: CookieJar,
    client: &ClientInfo,
    outcome: Outcome,
    bind_message: &'static str,
) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Bound(user) => {
            tracing::info!(user.id = user.id, "upstream identity bound");
            Ok((
                jar,
                Success {
                    message: bind_message,
                    data: UpstreamOutcome::Bound { action: "bind" },
                },
            )
                .into_response())
        }
        Outcome::LoggedIn(user) | Outcome::Registered(user) => {
            let (jar, step) = begin_login(state, jar, &user, client).await?;
            tracing::info!(user.id = user.id, "upstream login");
            let answer = match step {
                LoginStep::Done => Success {
                    message: "登录成功",
                    data: UpstreamOutcome::LoggedIn {
                        user: LoginUser::from(&user),
                    },
                }
                .into_response(),
                LoginStep::SecondFactor => step.answer(&user),
            };
            Ok((jar, answer).into_response())
        }
    }
}
