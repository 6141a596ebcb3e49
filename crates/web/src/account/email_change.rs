//! `POST /api/user/email/change/code` and `POST /api/user/email/change`: replacing the account's
//! address with a new one, proven by a code mailed to it, after a recent sign-in.

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, SessionUser};
use crate::federation::email::mail_context;
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeCodeBody {
    /// The new address.
    email: String,
}

/// `POST /api/user/email/change/code` `{"email"}`: mails a code to the new address, good for
/// this account and this purpose only. The answer is the same whether or not another account
/// has the address (then no mail goes out).
#[utoipa::path(post, path = "/api/user/email/change/code", tag = "account",
    request_body = ChangeCodeBody,
    responses(
        (status = 200, description = "Sent (or, for a taken address, silently not), or a refusal.", body = Answer<Nothing>),
        (status = 403, description = "No recent sign-in (sign in again), or a developer token.", body = Failure),
        (status = 429, description = "Too many mails; see `Retry-After`.", body = Failure)),
    security(("session" = [])))]
pub async fn send_code(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
    ApiJson(body): ApiJson<ChangeCodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    current.require_recent(state.accounts.now())?;
    state
        .accounts
        .send_change_code(
            &mail_context(&state),
            &current.user,
            &body.email,
            &client.ip,
        )
        .await?;
    Ok(Success::done("验证码已发送"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// The new address, as the code was sent to it.
    email: String,
    code: String,
}

/// `POST /api/user/email/change` `{"email", "code"}`: the new address replaces the old one,
/// which (when verified) is told by mail.
#[utoipa::path(post, path = "/api/user/email/change", tag = "account",
    request_body = ChangeBody,
    responses(
        (status = 200, description = "Changed, or a refusal (a wrong, used or expired code; a taken address).", body = Answer<Nothing>),
        (status = 403, description = "No recent sign-in (sign in again), or a developer token.", body = Failure)),
    security(("session" = [])))]
pub async fn change(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<impl IntoResponse, ApiError> {
    current.require_recent(state.accounts.now())?;
    state
        .accounts
        .change_email(
            &mail_context(&state),
            &current.user,
            &body.email,
            &body.code,
            &client.ip,
        )
        .await?;
    Ok(Success::done("邮箱已更换"))
}
