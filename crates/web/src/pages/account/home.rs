//! `GET /`: the signed-in user's account at a glance.

use super::{AccountTexts, account_texts, settings};
use crate::pages::{Chrome, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::in_currency;

#[derive(Template)]
#[template(path = "account/home.html")]
struct HomePage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    username: String,
    display_name: String,
    email: Option<String>,
    email_verified: bool,
    balance: String,
    is_admin: bool,
}

pub async fn get(State(state): State<AppState>, page: PageUser) -> Response {
    let settings = match settings(&state, page.t).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let user = &page.user;
    render(
        StatusCode::OK,
        &HomePage {
            t: page.t,
            a: account_texts(page.t),
            chrome: page.chrome(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            balance: in_currency(
                user.quota.saturating_sub(user.used_quota),
                settings.quota_per_unit,
                &settings.currency_symbol,
            ),
            is_admin: user.role.is_admin(),
        },
    )
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let page = |email: Option<&str>, email_verified, is_admin| HomePage {
        t,
        a: account_texts(t),
        chrome: super::sample_chrome(t, "/"),
        username: "alice".into(),
        display_name: "Alice <A>".into(),
        email: email.map(Into::into),
        email_verified,
        balance: "$1.50".into(),
        is_admin,
    };
    vec![
        (
            "account/home.html",
            page(Some("alice@example.com"), false, true)
                .render()
                .unwrap_or_default(),
        ),
        (
            "account/home.html",
            page(None, false, false).render().unwrap_or_default(),
        ),
    ]
}
