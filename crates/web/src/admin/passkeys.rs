//! An admin's view of a user's passkeys, and their removal (a lost or stolen device). The rank
//! rules are the domain's, as for every admin edit of an account.

use crate::account::passkeys::PasskeyView;
use crate::envelope::{ApiError, Success};
use crate::extract::{AdminUser, Client};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use keyward_core::accounts::Change;

/// `GET /api/admin/users/{id}/passkeys`.
#[utoipa::path(get, path = "/api/admin/users/{id}/passkeys", tag = "admin",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user's passkeys, or a refusal (no such user, or of the admin's rank or above).", body = Answer<Vec<PasskeyView>>),
        (status = 403, description = "Not an admin.", body = Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let all = state.passkeys.list_for_admin(&admin.user, id).await?;
    Ok(Success::new(
        all.into_iter().map(PasskeyView::from).collect::<Vec<_>>(),
    ))
}

/// `DELETE /api/admin/users/{id}/passkeys/{passkey_id}`: removes it, even the account's last
/// way in (the user recovers by e-mail or through an admin). Audited.
#[utoipa::path(delete, path = "/api/admin/users/{id}/passkeys/{passkey_id}", tag = "admin",
    params(
        ("id" = i64, Path, description = "The user's id."),
        ("passkey_id" = i64, Path, description = "The passkey's id.")),
    responses(
        (status = 200, description = "Removed, or a refusal (no such passkey or user, or of the admin's rank or above).", body = Answer<Nothing>),
        (status = 403, description = "Not an admin.", body = Failure)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Client(client): Client,
    Path((id, passkey_id)): Path<(i64, i64)>,
) -> Result<impl IntoResponse, ApiError> {
    let mail = crate::federation::email::mail_context(&state);
    let change = Change {
        ip: &client.ip,
        mail: &mail,
    };
    state
        .passkeys
        .remove_for_user(&admin.user, &change, id, passkey_id)
        .await?;
    tracing::info!(
        admin.id = admin.user.id,
        user.id = id,
        "passkey removed by admin"
    );
    Ok(Success::done("通行密钥已删除"))
}
