//! `POST /user/security/email/change`: the page's way to replace a verified address (send a
//! code to the new one, then enter it). A sign-in that is not recent goes to the login page
//! first and comes back here.

use super::account_texts;
use super::security::{refused, show};
use crate::pages::login::redirect;
use crate::pages::{PagePost, PageUser};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangeForm {
    email: String,
    code: String,
    /// `send_code` or `change`.
    action: String,
}

/// Where a user without a recent sign-in goes: the login page, asked to sign in again, and
/// back to `return_to`.
pub fn sign_in_again(return_to: &str) -> Response {
    redirect(&format!(
        "/login?prompt=login&return_to={}",
        crate::pages::encode_return_to(return_to)
    ))
}

/// Whether `page`'s session proved its user recently enough for a sensitive change.
pub fn recent(state: &AppState, page: &PageUser) -> bool {
    page.session.is_recent_sign_in(state.accounts.now())
}

pub async fn post(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<ChangeForm>,
) -> Response {
    if !recent(&state, &page) {
        return sign_in_again("/user/security");
    }
    let mail = crate::federation::email::mail_context(&state);
    if form.action == "send_code" {
        return match state
            .accounts
            .send_change_code(&mail, &page.user, &form.email, &client.ip)
            .await
        {
            Ok(()) => {
                let sent = Some(account_texts(page.t).code_sent);
                let none = crate::pages::FormError::none();
                show(&state, &page, StatusCode::OK, sent, none, &form.email).await
            }
            Err(e) => refused(&state, &page, "new-email", e).await,
        };
    }
    match state
        .accounts
        .change_email(&mail, &page.user, &form.email, &form.code, &client.ip)
        .await
    {
        Ok(()) => redirect("/user/security?done=email_changed"),
        Err(e) => refused(&state, &page, "new-email-code", e).await,
    }
}
