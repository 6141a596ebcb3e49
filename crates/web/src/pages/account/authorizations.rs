//! `/user/authorizations`: the apps I authorized, with what each app that spends my balance
//! spent against its limit, and revoking one (the same domain call as
//! `DELETE /api/user/authorizations/{client_id}`). Changing a limit: `spend_limit.rs`.

use super::{AccountTexts, DoneQuery, account_texts, notice, scope_words, unavailable, when};
use crate::pages::login::redirect;
use crate::pages::{Chrome, PagePost, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::limit::{Period, SpendLimit};
use keyward_core::billing::{balance_formatted, in_currency};
use keyward_core::oauth::apps::LimitUse;
use keyward_core::settings::Settings;
use serde::Deserialize;

struct Row {
    client_id: String,
    name: String,
    description: String,
    scopes: Vec<&'static str>,
    /// Each API (RFC 8707) with the scopes granted on it, as `identifier: a b`.
    apis: Vec<String>,
    granted: String,
    last_used: Option<String>,
    spend: Option<SpendRow>,
}

/// An app's spending limit and what it spent, in the platform's currency.
pub(super) struct SpendRow {
    /// `$10.00 per month (UTC)`.
    limit: String,
    spent_this_period: String,
    spent_total: String,
    remaining: String,
    /// The change form's pre-filled amount (`10.00`) and period.
    amount: String,
    period: &'static str,
}

impl SpendRow {
    fn of(t: &Texts, settings: &Settings, u: LimitUse) -> Self {
        let money = |quota| in_currency(quota, settings.quota_per_unit, &settings.currency_symbol);
        Self {
            limit: limit_words(t, settings, u.limit),
            spent_this_period: money(u.spent_this_period),
            spent_total: money(u.spent_total),
            remaining: money(u.remaining),
            amount: balance_formatted(u.limit.amount, 0, settings.quota_per_unit),
            period: u.limit.period.as_str(),
        }
    }
}

/// A limit in words: the amount in the platform's currency and the period.
pub(super) fn limit_words(t: &Texts, settings: &Settings, limit: SpendLimit) -> String {
    let period = match limit.period {
        Period::Day => t.spend_per_day,
        Period::Month => t.spend_per_month,
        Period::Total => t.spend_in_total,
    };
    let amount = in_currency(
        limit.amount,
        settings.quota_per_unit,
        &settings.currency_symbol,
    );
    format!("{amount} {period}")
}

#[derive(Template)]
#[template(path = "account/authorizations.html")]
struct AuthorizationsPage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: String,
    rows: Vec<Row>,
    notice: Option<&'static str>,
    /// Why a limit change was refused (nothing changed).
    error: Option<&'static str>,
    /// The currency symbol, beside the limit's amount field.
    symbol: String,
}

pub async fn get(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<DoneQuery>,
) -> Response {
    let a = account_texts(page.t);
    show(
        &state,
        &page,
        StatusCode::OK,
        notice(a, query.done.as_deref()),
        None,
    )
    .await
}

/// The page, with a notice after a change or the reason a change was refused.
pub(super) async fn show(
    state: &AppState,
    page: &PageUser,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Response {
    let a = account_texts(page.t);
    let settings = match super::settings(state, page.t).await {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let consents = match state.store.consents_of_user(page.user.id).await {
        Ok(c) => c,
        Err(e) => return unavailable(page.t, &e),
    };
    let mut rows = Vec::with_capacity(consents.len());
    for (consent, app) in &consents {
        let spend = match state.apps.limit_use(consent).await {
            Ok(used) => used.map(|u| SpendRow::of(page.t, &settings, u)),
            Err(e) => return unavailable(page.t, &e),
        };
        rows.push(Row {
            client_id: app.client_id.clone(),
            name: app.name.clone(),
            description: app.description.clone(),
            scopes: scope_words(page.t, consent.scopes),
            apis: consent
                .resources
                .iter()
                .map(|g| format!("{}: {}", g.resource, g.scopes.join(" ")))
                .collect(),
            granted: when(consent.created_at),
            last_used: consent.last_used_at.map(when),
            spend,
        });
    }
    render(
        status,
        &AuthorizationsPage {
            t: page.t,
            a,
            chrome: page.chrome(),
            csrf_token: page.csrf.clone(),
            rows,
            notice,
            error,
            symbol: settings.currency_symbol.clone(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    client_id: String,
}

/// `POST /user/authorizations/revoke`.
pub async fn revoke(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<RevokeForm>,
) -> Response {
    match state
        .apps
        .revoke_consent(&page.user, &form.client_id, &client.ip)
        .await
    {
        Ok(true) => redirect("/user/authorizations?done=revoked"),
        Ok(false) => redirect("/user/authorizations"),
        Err(e) => unavailable(page.t, &e),
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let settings = Settings::default();
    let page = |rows, error| AuthorizationsPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/user/authorizations"),
        csrf_token: "csrf".into(),
        rows,
        notice: Some(a.revoked),
        error,
        symbol: "$".into(),
    };
    let rows = vec![
        Row {
            client_id: "kw_client_1".into(),
            name: "Chat <UI>".into(),
            description: "A chat front end".into(),
            scopes: vec![t.scope_openid, t.scope_profile, t.scope_balance],
            apis: Vec::new(),
            granted: when(1_767_225_600),
            last_used: Some(when(1_767_229_200)),
            spend: Some(SpendRow::of(
                t,
                &settings,
                LimitUse {
                    limit: SpendLimit::default_for(settings.quota_per_unit),
                    spent_this_period: 2_500,
                    spent_total: 12_340,
                    remaining: 7_500,
                },
            )),
        },
        Row {
            client_id: "kw_client_2".into(),
            name: "Notes".into(),
            description: String::new(),
            scopes: vec![t.scope_openid],
            apis: Vec::new(),
            granted: when(1_767_225_600),
            last_used: None,
            spend: None,
        },
    ];
    vec![
        (
            "account/authorizations.html",
            page(rows, Some(a.bad_limit)).render().unwrap_or_default(),
        ),
        (
            "account/authorizations.html",
            page(Vec::new(), None).render().unwrap_or_default(),
        ),
    ]
}
