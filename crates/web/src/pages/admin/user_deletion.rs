//! `POST /admin/users/{id}/delete`: an admin deletes an account from `/admin/users`, with the
//! same core function and rules as `DELETE /api/admin/users/{id}`.

use super::back;
use crate::pages::{PageAdmin, PagePost, error_page, login::redirect};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::accounts::deletion::DeletionError;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteUserForm {
    confirm: String,
    return_to: String,
}

/// Without a recent sign-in the admin signs in again first (and comes back to the list).
pub async fn delete_user(
    Path(id): Path<String>,
    PagePost {
        state,
        page: PageAdmin(page),
        client,
        form,
    }: PagePost<DeleteUserForm, PageAdmin>,
) -> Response {
    let t = page.t;
    if !page.session.is_recent_sign_in(state.accounts.now()) {
        return redirect("/login?prompt=login&return_to=%2Fadmin%2Fusers");
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(StatusCode::NOT_FOUND, t, &t.error(&DeletionError::NotFound));
    };
    let mail = crate::federation::email::mail_context(&state);
    let change = keyward_core::accounts::Change {
        ip: &client.ip,
        mail: &mail,
    };
    let settings = match state.settings.get().await {
        Ok(settings) => settings,
        Err(e) => return super::unavailable(t, &e),
    };
    match state
        .accounts
        .delete_account_as_admin(&page.user, id, &form.confirm, &settings, &change)
        .await
    {
        Ok(_) if id == page.user.id => redirect("/login"),
        Ok(_) => redirect(back(&form.return_to, "/admin/users")),
        Err(DeletionError::Store(e)) => super::unavailable(t, &e),
        Err(e) => {
            let status = match e {
                DeletionError::NotFound => StatusCode::NOT_FOUND,
                DeletionError::Confirmation => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            error_page(status, t, &t.error(&e))
        }
    }
}
