//! `/topup`: the balance, and redeeming a top-up code (the same domain call as
//! `POST /api/user/topup`).

use super::{AccountTexts, account_texts, settings, unavailable};
use crate::pages::{Chrome, PagePost, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::balance_formatted;
use keyward_core::billing::topup::TopUpError;
use keyward_core::model::User;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/topup.html")]
struct TopUpPage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: String,
    quota: i64,
    used_quota: i64,
    balance: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn show(
    state: &AppState,
    page: &PageUser,
    user: &User,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let settings = match settings(state, page.t).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    render(
        status,
        &TopUpPage {
            t: page.t,
            a: account_texts(page.t),
            chrome: page.chrome(),
            csrf_token: page.csrf.clone(),
            quota: user.quota,
            used_quota: user.used_quota,
            balance: balance_formatted(user.quota, user.used_quota, settings.quota_per_unit),
            notice,
            error,
        },
    )
}

pub async fn get(State(state): State<AppState>, page: PageUser) -> Response {
    show(&state, &page, &page.user, StatusCode::OK, None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RedeemForm {
    key: String,
}

/// `POST /topup`: answers with the page itself, showing the new balance or why not.
pub async fn post(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<RedeemForm>,
) -> Response {
    let a = account_texts(page.t);
    match state.topups.redeem(&page.user, &form.key, &client.ip).await {
        Ok(amount) => {
            let user = match state.store.user_by_id(page.user.id).await {
                Ok(Some(user)) => user,
                Ok(None) => page.user.clone(),
                Err(e) => return unavailable(page.t, &e),
            };
            let notice = format!("{}{amount}", a.redeemed);
            show(&state, &page, &user, StatusCode::OK, Some(notice), None).await
        }
        Err(TopUpError::Store(e)) => unavailable(page.t, &e),
        Err(e) => {
            let status = match e {
                TopUpError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::OK,
            };
            show(
                &state,
                &page,
                &page.user,
                status,
                None,
                Some(page.t.error(&e)),
            )
            .await
        }
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let page = TopUpPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/topup"),
        csrf_token: "csrf".into(),
        quota: 1_000_000,
        used_quota: 250_000,
        balance: "$1.50".into(),
        notice: Some(format!("{}500000", a.redeemed)),
        error: Some("兑换码无效 <b>".into()),
    };
    vec![("account/topup.html", page.render().unwrap_or_default())]
}
