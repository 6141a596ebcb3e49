//! Managing TOTP two-factor: status, enrol (secret, otpauth URL and recovery codes, shown
//! once), enable with a code, disable with a code. Needs a browser session.

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{AuthVia, CurrentUser};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::two_factor::TwoFactorError;
use serde::Deserialize;
use serde_json::json;

impl From<TwoFactorError> for ApiError {
    fn from(e: TwoFactorError) -> Self {
        match e {
            TwoFactorError::Store(e) => e.into(),
            TwoFactorError::Secret(e) => ApiError::Internal(e),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

fn session_only(current: &CurrentUser) -> Result<(), ApiError> {
    match current.via {
        AuthVia::Session(_) => Ok(()),
        AuthVia::DeveloperToken => Err(ApiError::Forbidden("请在浏览器中登录后操作")),
    }
}

/// `GET /api/user/2fa/status`.
pub async fn status(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let record = state.store.two_factor(current.user.id).await?;
    let remaining =
        serde_json::from_str::<Vec<String>>(&record.recovery_codes).map_or(0, |c| c.len());
    Ok(Success::new(
        json!({"enabled": record.enabled, "backup_codes_remaining": if record.enabled { remaining } else { 0 }}),
    ))
}

/// `POST /api/user/2fa/setup`.
pub async fn setup(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    session_only(&current)?;
    let enrolment = state.two_factor.begin(&current.user).await?;
    Ok(Success::new(enrolment))
}

#[derive(Deserialize)]
pub struct CodeBody {
    code: String,
}

/// `POST /api/user/2fa/enable` `{"code"}`.
pub async fn enable(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    session_only(&current)?;
    state.two_factor.enable(&current.user, &body.code).await?;
    Ok(Success {
        message: "两步验证已开启",
        data: (),
    })
}

/// `POST /api/user/2fa/disable` `{"code"}` (a current code or a recovery code).
pub async fn disable(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    session_only(&current)?;
    disable_for(&state, &current.user, &body.code).await?;
    Ok(Success {
        message: "两步验证已关闭",
        data: (),
    })
}

/// Turns two-factor off with a code; wrong codes are counted and limited like second-factor
/// logins, so a stolen session cannot guess its way to switching it off. Shared by the JSON
/// API and the security page.
pub async fn disable_for(
    state: &AppState,
    user: &keyward_core::model::User,
    code: &str,
) -> Result<(), ApiError> {
    // Its own counter: a lockout of logins by someone guessing must not stop the owner here.
    let key = format!("2fa-disable:{}", user.id);
    let window = state.accounts.policy().window_secs;
    let now = state.accounts.now();
    if let Some((count, since)) = state.store.throttle_count(&key, window, now).await?
        && count >= state.accounts.policy().max_failures_per_account
    {
        return Err(ApiError::TooManyRequests((since + window - now).max(1)));
    }
    match state.two_factor.disable(user, code).await {
        Err(TwoFactorError::WrongCode) => {
            state.store.throttle_hit(&key, window, now).await?;
            Err(TwoFactorError::WrongCode.into())
        }
        Err(e) => Err(e.into()),
        Ok(()) => {
            state.store.throttle_clear(&key).await?;
            Ok(())
        }
    }
}
