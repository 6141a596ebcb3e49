//! `/topup`: the balance, and redeeming a top-up code (the same domain call as
//! `POST /api/user/topup`).

use super::{AccountTexts, account_texts, settings, unavailable};
use crate::pages::{Chrome, FormError, PagePost, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::in_currency;
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
    /// Said at the code field.
    error: FormError,
}

async fn show(
    state: &AppState,
    page: &PageUser,
    user: &User,
    status: StatusCode,
    redeemed: Option<i64>,
    error: Option<String>,
) -> Response {
    let settings = match settings(state, page.t).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let a = account_texts(page.t);
    let money = |quota| in_currency(quota, settings.quota_per_unit, &settings.currency_symbol);
    let notice = redeemed.map(|amount| {
        format!(
            "{}{} ({amount} {})",
            a.redeemed,
            money(amount),
            a.quota_units
        )
    });
    render(
        status,
        &TopUpPage {
            t: page.t,
            a: account_texts(page.t),
            chrome: page.chrome(),
            csrf_token: page.csrf.clone(),
            quota: user.quota,
            used_quota: user.used_quota,
            balance: money(user.quota.saturating_sub(user.used_quota)),
            notice,
            error: FormError::of_field("key", error),
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
    match state.topups.redeem(&page.user, &form.key, &client.ip).await {
        Ok(amount) => {
            let user = match state.store.user_by_id(page.user.id).await {
                Ok(Some(user)) => user,
                Ok(None) => page.user.clone(),
                Err(e) => return unavailable(page.t, &e),
            };
            show(&state, &page, &user, StatusCode::OK, Some(amount), None).await
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
        notice: Some(format!("{}$0.50 (500000 {})", a.redeemed, a.quota_units)),
        error: FormError::at("key", "充值码无效 <b>"),
    };
    vec![("account/topup.html", page.render().unwrap_or_default())]
}
