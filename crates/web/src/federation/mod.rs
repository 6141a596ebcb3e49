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
use crate::account::login::{LoginStep, begin_login_via};
use crate::envelope::{ApiError, Success};
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use keyward_core::accounts::federation::{FederationError, Outcome};
use keyward_core::accounts::{ClientInfo, SignInMethod};
use keyward_core::model::User;
use keyward_core::settings::Settings;
use keyward_upstream::UpstreamError;
use serde::Serialize;
use utoipa::ToSchema;

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

/// Why an upstream flow started from one of this server's pages failed. The page gets the code
/// (`?error=<code>`) and shows its own fixed words: never text from the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFailure {
    /// The state is missing, used, expired or from another browser.
    State,
    /// The provider answered with an error (denied, cancelled).
    Denied,
    NotEnabled,
    RegistrationClosed,
    AccountDisabled,
    AlreadyBound,
    ProviderTaken,
    NotBound,
    /// The session that started a bind is gone.
    Session,
    /// The provider could not be reached or answered badly.
    Upstream,
    Throttled,
    Failed,
}

impl FlowFailure {
    const ALL: [Self; 12] = [
        Self::State,
        Self::Denied,
        Self::NotEnabled,
        Self::RegistrationClosed,
        Self::AccountDisabled,
        Self::AlreadyBound,
        Self::ProviderTaken,
        Self::NotBound,
        Self::Session,
        Self::Upstream,
        Self::Throttled,
        Self::Failed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Denied => "denied",
            Self::NotEnabled => "not_enabled",
            Self::RegistrationClosed => "registration_closed",
            Self::AccountDisabled => "account_disabled",
            Self::AlreadyBound => "already_bound",
            Self::ProviderTaken => "provider_taken",
            Self::NotBound => "not_bound",
            Self::Session => "session",
            Self::Upstream => "upstream",
            Self::Throttled => "throttled",
            Self::Failed => "failed",
        }
    }

    /// The failure a page's `?error=` names; an unknown code is a generic failure.
    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|f| f.code() == code)
            .unwrap_or(Self::Failed)
    }

    /// The words a page shows: (Chinese, English).
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            Self::State => (
                "登录请求已过期或来自其他浏览器，请重试",
                "The sign-in request expired or came from another browser; please try again",
            ),
            Self::Denied => (
                "第三方授权失败或被取消",
                "The provider's authorization failed or was cancelled",
            ),
            Self::NotEnabled => (
                "管理员未开启此登录方式",
                "This way of signing in is not enabled",
            ),
            Self::RegistrationClosed => ("管理员关闭了新用户注册", "Registration is closed"),
            Self::AccountDisabled => ("用户已被封禁", "This account is disabled"),
            Self::AlreadyBound => (
                "该第三方账户已被其他用户绑定",
                "That account is already bound to another user",
            ),
            Self::ProviderTaken => (
                "你已绑定了该平台的另一个账户，请先解绑",
                "Another account of this provider is bound already; unbind it first",
            ),
            Self::NotBound => (
                "该第三方账户未绑定任何用户",
                "That account is not bound to any user",
            ),
            Self::Session => (
                "登录已过期，请重新登录",
                "Your session expired; please sign in again",
            ),
            Self::Upstream => (
                "无法从第三方获取身份信息，请稍后重试",
                "Could not get your identity from the provider; please try again later",
            ),
            Self::Throttled => (
                "请求过于频繁，请稍后再试",
                "Too many attempts; please try again later",
            ),
            Self::Failed => ("登录失败，请重试", "Signing in failed; please try again"),
        }
    }
}

impl From<&FederationError> for FlowFailure {
    fn from(e: &FederationError) -> Self {
        match e {
            FederationError::RegistrationClosed => Self::RegistrationClosed,
            FederationError::UserDisabled => Self::AccountDisabled,
            FederationError::AlreadyBound(_) => Self::AlreadyBound,
            FederationError::ProviderTaken(_) => Self::ProviderTaken,
            FederationError::NotBound(_) | FederationError::NotLinked => Self::NotBound,
            FederationError::LastWayIn | FederationError::Account(_) => Self::Failed,
        }
    }
}

/// An upstream flow's failure: the API's answer, and the code a page is sent back with.
pub struct Failed {
    pub failure: FlowFailure,
    pub error: ApiError,
}

impl Failed {
    pub fn new(failure: FlowFailure) -> impl FnOnce(ApiError) -> Self {
        move |error| Self { failure, error }
    }
}

/// Errors met before anything upstream-specific: the kind of [`ApiError`] says enough.
impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Self {
        let failure = match &error {
            ApiError::Forbidden(_) => FlowFailure::State,
            ApiError::Unauthorized(_) => FlowFailure::Session,
            ApiError::TooManyRequests(_) => FlowFailure::Throttled,
            _ => FlowFailure::Failed,
        };
        Self { failure, error }
    }
}

impl From<FederationError> for Failed {
    fn from(e: FederationError) -> Self {
        Self {
            failure: FlowFailure::from(&e),
            error: e.into(),
        }
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
    provider: &str,
) -> Result<Response, ApiError> {
    finish_with_step(state, jar, client, outcome, bind_message, provider)
        .await
        .map(|(response, _)| response)
}

/// [`finish`], and whether a second factor is now due (the browser holds a pending session).
pub async fn finish_with_step(
    state: &AppState,
    jar: CookieJar,
    client: &ClientInfo,
    outcome: Outcome,
    bind_message: &'static str,
    provider: &str,
) -> Result<(Response, bool), ApiError> {
    match outcome {
        Outcome::Bound(user) => {
            tracing::info!(user.id = user.id, "upstream identity bound");
            Ok((
                (
                    jar,
                    Success::with_message(bind_message, UpstreamOutcome::Bound { action: "bind" }),
                )
                    .into_response(),
                false,
            ))
        }
        Outcome::LoggedIn(user) | Outcome::Registered(user) => {
            let (jar, step) = begin_login_via(
                state,
                jar,
                &user,
                client,
                SignInMethod::Upstream,
                Some(provider),
            )
            .await?;
            tracing::info!(user.id = user.id, "upstream login");
            let second_factor = matches!(step, LoginStep::SecondFactor);
            let answer = match step {
                LoginStep::Done => Success::with_message(
                    "登录成功",
                    UpstreamOutcome::LoggedIn {
                        user: LoginUser::from(&user),
                    },
                )
                .into_response(),
                LoginStep::SecondFactor => step.answer(&user),
            };
            Ok(((jar, answer).into_response(), second_factor))
        }
    }
}
