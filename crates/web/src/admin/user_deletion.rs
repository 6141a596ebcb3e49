//! `DELETE /api/admin/users/{id}`: an admin deletes an account (`accounts::deletion`).

use crate::account::deletion::DeleteBody;
use crate::envelope::{ApiError, ApiJson, ApiPath, Success};
use crate::extract::{Client, SessionUser};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;

/// `DELETE /api/admin/users/{id}`: deletes the account with the same effects as its owner's
/// deletion, audited with the admin as actor. Irreversible, so it needs the admin's browser
/// session with a recent sign-in (not a developer token) and the account's user name typed
/// again; admins delete only accounts below their rank (root: any but the last root).
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    request_body = DeleteBody,
    responses(
        (status = 200, description = "The account is deleted, or a refusal (rank, confirmation, the last root).", body = Answer<Nothing>),
        (status = 403, description = "Not an admin, no recent sign-in, a developer token, or a cross-site request.", body = Failure)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: SessionUser,
    Client(client): Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DeleteBody>,
) -> Result<impl IntoResponse, ApiError> {
    if !admin.user.role.is_admin() {
        return Err(ApiError::Forbidden("无权进行此操作，权限不足"));
    }
    admin.require_recent(state.accounts.now())?;
    let mail = crate::federation::email::mail_context(&state);
    let change = keyward_core::accounts::Change {
        ip: &client.ip,
        mail: &mail,
    };
    let settings = state.settings.get().await?;
    state
        .accounts
        .delete_account_as_admin(&admin.user, id, &body.confirm, &settings, &change)
        .await?;
    Ok(Success::done("账户已注销"))
}
