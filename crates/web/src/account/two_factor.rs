//! Managing TOTP two-factor: status, enrol (secret, otpauth URL and recovery codes, shown
//! once), enable with a code, disable with a code. Needs a browser session. Wrong codes are
//! limited per account, wherever they are entered.

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::two_factor::Enrolment;
use keyward_core::accounts::two_factor::TwoFactorError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

impl From<TwoFactorError> for ApiError {
    fn from(e: TwoFactorError) -> Self {
        match e {
            TwoFactorError::Store(e) => e.into(),
            TwoFactorError::Secret(e) => ApiError::Internal(e),
            TwoFactorError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

fn session_only(current: &CurrentUser) -> Result<(), ApiError> {
    current.browser_session().map(drop)
}

#[derive(Serialize, ToSchema)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub backup_codes_remaining: usize,
}

/// A new TOTP secret, its `otpauth://` URL and the recovery codes: shown this once.
#[derive(Serialize, ToSchema)]
pub struct EnrolmentView {
    pub secret: String,
    pub otpauth_url: String,
    pub backup_codes: Vec<String>,
}

impl From<Enrolment> for EnrolmentView {
    fn from(e: Enrolment) -> Self {
        Self {
            secret: e.secret,
            otpauth_url: e.otpauth_url,
            backup_codes: e.backup_codes,
        }
    }
}

/// `GET /api/user/2fa/status`.
#[utoipa::path(get, path = "/api/user/2fa/status", tag = "account",
    responses((status = 200, description = "Whether two-factor is on.", body = Answer<TwoFactorStatus>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn status(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let record = state.store.two_factor(current.user.id).await?;
    let remaining =
        serde_json::from_str::<Vec<String>>(&record.recovery_codes).map_or(0, |c| c.len());
    Ok(Success::new(TwoFactorStatus {
        enabled: record.enabled,
        backup_codes_remaining: if record.enabled { remaining } else { 0 },
    }))
}

/// `POST /api/user/2fa/setup`.
#[utoipa::path(post, path = "/api/user/2fa/setup", tag = "account",
    responses((status = 200, description = "A new secret to enrol, or a refusal (already on).", body = Answer<EnrolmentView>)),
    security(("session" = [])))]
pub async fn setup(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    session_only(&current)?;
    let enrolment = state.two_factor.begin(&current.user).await?;
    Ok(Success::new(EnrolmentView::from(enrolment)))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    code: String,
}

/// `POST /api/user/2fa/enable` `{"code"}`.
#[utoipa::path(post, path = "/api/user/2fa/enable", tag = "account",
    request_body = CodeBody,
    responses(
        (status = 200, description = "Two-factor is on, or a wrong code.", body = Answer<Nothing>),
        (status = 429, description = "Too many wrong codes; see `Retry-After`.", body = Failure)),
    security(("session" = [])))]
pub async fn enable(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    session_only(&current)?;
    let settings = state.settings.get().await?;
    state
        .two_factor
        .enable(&current.user, &body.code, &settings, &client.ip)
        .await?;
    Ok(Success::done("两步验证已开启"))
}

/// `POST /api/user/2fa/disable` `{"code"}` (a current code or a recovery code).
#[utoipa::path(post, path = "/api/user/2fa/disable", tag = "account",
    request_body = CodeBody,
    responses(
        (status = 200, description = "Two-factor is off, or a wrong code.", body = Answer<Nothing>),
        (status = 429, description = "Too many wrong codes; see `Retry-After`.", body = Failure)),
    security(("session" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    current: CurrentUser,
    Client(client): Client,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    session_only(&current)?;
    disable_for(&state, &current.user, &body.code, &client.ip).await?;
    Ok(Success::done("两步验证已关闭"))
}

/// Turns two-factor off with a code (limited in core). Shared by the JSON API and the
/// security page.
pub async fn disable_for(
    state: &AppState,
    user: &keyward_core::model::User,
    code: &str,
    ip: &str,
) -> Result<(), ApiError> {
    let settings = state.settings.get().await?;
    let mail = crate::federation::email::mail_context(state);
    let change = keyward_core::accounts::Change { ip, mail: &mail };
    Ok(state
        .two_factor
        .disable(user, code, &settings, &change)
        .await?)
}
