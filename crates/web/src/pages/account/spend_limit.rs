//! Changing an app's spending limit from `/user/authorizations` (issue #19). A lowering applies
//! at once; a raise shows a confirmation page with the same identity of the app as the consent
//! page, and only its own POST (with the page's CSRF token) applies it. The rule is
//! `billing::limit::is_raise`; the change is `Apps::change_spend_limit`, as in
//! `PUT /api/user/authorizations/{client_id}/spend_limit`.

use super::authorizations::{limit_words, show};
use super::{AccountTexts, account_texts, scope_words, settings, unavailable};
use crate::oauth::authorize::{ApiAsked, ClientIdentity};
use crate::pages::login::redirect;
use crate::pages::{Chrome, PagePost, PageUser, Texts, render};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::limit::{Period, SpendLimit};
use keyward_core::oauth::apps::LimitChangeError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/limit_confirm.html")]
struct ConfirmPage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: String,
    app_name: String,
    app_description: String,
    identity: ClientIdentity,
    /// What the app was granted, as the consent page words it.
    scopes: Vec<&'static str>,
    apis: Vec<ApiAsked>,
    client_id: String,
    old: String,
    new: String,
    /// The new limit exactly, in quota units, for the confirming POST.
    amount: i64,
    period: &'static str,
}

/// The change form: an amount in the platform's currency and a period.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LimitForm {
    client_id: String,
    spend_amount: String,
    spend_period: String,
}

/// `POST /user/authorizations/limit`.
pub async fn post(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<LimitForm>,
) -> Response {
    let a = account_texts(page.t);
    let settings = match settings(&state, page.t).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let Ok(new) = SpendLimit::from_currency(
        &form.spend_amount,
        &form.spend_period,
        settings.quota_per_unit,
    ) else {
        return show(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            None,
            Some(a.bad_limit),
        )
        .await;
    };
    let change = state
        .apps
        .change_spend_limit(&page.user, &form.client_id, new, false, &client.ip)
        .await;
    match change {
        Err(LimitChangeError::NeedsConfirmation { client, old }) => {
            let scopes = match state.store.consent(page.user.id, client.id).await {
                Ok(consent) => consent.map_or_else(Vec::new, |c| scope_words(page.t, c.scopes)),
                Err(e) => return unavailable(page.t, &e),
            };
            let identity = ClientIdentity::load(&state, page.t, &client).await;
            let confirm = ConfirmPage {
                t: page.t,
                a,
                chrome: page.chrome(),
                csrf_token: page.csrf.clone(),
                app_name: client.name.clone(),
                app_description: client.description.clone(),
                identity,
                scopes,
                apis: Vec::new(),
                client_id: client.client_id.clone(),
                old: limit_words(page.t, &settings, old),
                new: limit_words(page.t, &settings, new),
                amount: new.amount,
                period: new.period.as_str(),
            };
            render(StatusCode::OK, &confirm)
        }
        other => answer(&state, &page, other).await,
    }
}

/// The confirmation page's form: the new limit exactly.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    client_id: String,
    amount: String,
    period: String,
}

/// `POST /user/authorizations/limit/confirm`: the raise the user confirmed.
pub async fn confirm(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<ConfirmForm>,
) -> Response {
    let a = account_texts(page.t);
    let new = form
        .amount
        .parse::<i64>()
        .ok()
        .and_then(|amount| SpendLimit::new(amount, Period::parse(&form.period)?).ok());
    let Some(new) = new else {
        return show(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            None,
            Some(a.bad_limit),
        )
        .await;
    };
    let change = state
        .apps
        .change_spend_limit(&page.user, &form.client_id, new, true, &client.ip)
        .await;
    answer(&state, &page, change).await
}

async fn answer(
    state: &crate::state::AppState,
    page: &PageUser,
    change: Result<keyward_core::oauth::apps::LimitChanged, LimitChangeError>,
) -> Response {
    let a = account_texts(page.t);
    match change {
        Ok(changed) if changed.old == changed.new => {
            redirect("/user/authorizations?done=limit_same")
        }
        Ok(changed) if changed.raised => redirect("/user/authorizations?done=limit_raised"),
        Ok(_) => redirect("/user/authorizations?done=limit_lowered"),
        Err(LimitChangeError::NotFound | LimitChangeError::NeedsConfirmation { .. }) => {
            show(state, page, StatusCode::NOT_FOUND, None, Some(a.not_found)).await
        }
        Err(LimitChangeError::Changed) => {
            let error = Some(a.limit_changed_meanwhile);
            show(state, page, StatusCode::CONFLICT, None, error).await
        }
        Err(LimitChangeError::Store(e)) => unavailable(page.t, &e),
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let page = ConfirmPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/user/authorizations/limit"),
        csrf_token: "csrf".into(),
        app_name: "Chat <UI>".into(),
        app_description: "A chat front end".into(),
        identity: ClientIdentity {
            w: crate::pages::trust::trust_texts(t),
            not_reviewed: false,
            host: None,
            reviewed: true,
            owner: Some("dev <1>".into()),
            logo: None,
            homepage: None,
            privacy: None,
        },
        scopes: vec![t.scope_profile, t.scope_balance],
        apis: Vec::new(),
        client_id: "client_1".into(),
        old: "$10.00 per month (UTC)".into(),
        new: "$50.00 per month (UTC)".into(),
        amount: 50_000,
        period: "month",
    };
    vec![(
        "account/limit_confirm.html",
        page.render().unwrap_or_default(),
    )]
}
