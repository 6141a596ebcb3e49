//! `DELETE /api/user/self`: the account deletes itself (`accounts::deletion`).

use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, SessionUser};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use keyward_core::accounts::deletion::DeletionError;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct DeleteBody {
    /// The account's user name, typed again (case does not matter).
    #[serde(default)]
    pub confirm: String,
}

/// `DELETE /api/user/self`: deletes the caller's account for good, after a recent sign-in (10
/// minutes) and with the user name typed again. Sessions, tokens, consents and codes die at
/// once; owned apps are disabled; the name is held for `deleted_username_hold_days`. A developer
/// token cannot do it, nor can the last root account.
#[utoipa::path(delete, path = "/api/user/self", tag = "account",
    request_body = DeleteBody,
    responses(
        (status = 200, description = "The account is deleted and the session cookie removed, or a refusal (wrong confirmation, the last root).", body = Answer<Nothing>),
        (status = 403, description = "No recent sign-in, a developer token, or a cross-site request.", body = Failure)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<DeleteBody>,
) -> Result<impl IntoResponse, ApiError> {
    current.require_recent(state.accounts.now())?;
    let mail = crate::federation::email::mail_context(&state);
    let change = keyward_core::accounts::Change {
        ip: &client.ip,
        mail: &mail,
    };
    let settings = state.settings.get().await?;
    state
        .accounts
        .delete_own_account(&current.user, &body.confirm, &settings, &change)
        .await?;
    let jar = jar.remove(Cookie::build(state.config.session_cookie_name()).path("/"));
    Ok((jar, Success::done("账户已注销")))
}

impl From<DeletionError> for ApiError {
    fn from(e: DeletionError) -> Self {
        match e {
            DeletionError::Store(e) => e.into(),
            DeletionError::NotFound => ApiError::NotFound("用户不存在"),
            other => ApiError::Refused(other.to_string()),
        }
    }
}
