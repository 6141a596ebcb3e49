//! `POST /user/security/delete`: the account deletes itself from `/user/security` (the section
//! in `account/_delete_section.html`), with the same core function as `DELETE /api/user/self`.

use super::security::refused;
use crate::pages::PagePost;
use crate::pages::login::redirect;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    confirm: String,
}

/// Without a recent sign-in, the user signs in again first and comes back to the page; then
/// the account goes, the session cookie with it, and the browser lands on the login page.
pub async fn post(
    jar: CookieJar,
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<DeleteForm>,
) -> Response {
    if !page.session.is_recent_sign_in(state.accounts.now()) {
        return redirect("/login?prompt=login&return_to=%2Fuser%2Fsecurity");
    }
    let mail = crate::federation::email::mail_context(&state);
    let change = keyward_core::accounts::Change {
        ip: &client.ip,
        mail: &mail,
    };
    let settings = match state.settings.get().await {
        Ok(settings) => settings,
        Err(e) => return crate::pages::account::unavailable(page.t, &e),
    };
    match state
        .accounts
        .delete_own_account(&page.user, &form.confirm, &settings, &change)
        .await
    {
        Ok(_) => {
            let jar = jar.remove(Cookie::build(state.config.session_cookie_name()).path("/"));
            (jar, redirect("/login")).into_response()
        }
        Err(e) => refused(&state, &page, "delete-confirm", e).await,
    }
}
