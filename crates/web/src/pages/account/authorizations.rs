//! `/user/authorizations`: the apps I authorized, and revoking one (the same domain call as
//! `DELETE /api/user/authorizations/{client_id}`).

use super::{AccountTexts, DoneQuery, account_texts, notice, scope_words, unavailable, when};
use crate::pages::login::redirect;
use crate::pages::{Chrome, PagePost, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
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
}

pub async fn get(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<DoneQuery>,
) -> Response {
    let a = account_texts(page.t);
    let consents = match state.store.consents_of_user(page.user.id).await {
        Ok(c) => c,
        Err(e) => return unavailable(page.t, &e),
    };
    let rows = consents
        .iter()
        .map(|(consent, app)| Row {
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
        })
        .collect();
    render(
        StatusCode::OK,
        &AuthorizationsPage {
            t: page.t,
            a,
            chrome: page.chrome(),
            csrf_token: page.csrf.clone(),
            rows,
            notice: notice(a, query.done.as_deref()),
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
    let page = |rows| AuthorizationsPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/user/authorizations"),
        csrf_token: "csrf".into(),
        rows,
        notice: Some(a.revoked),
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
        },
        Row {
            client_id: "kw_client_2".into(),
            name: "Notes".into(),
            description: String::new(),
            scopes: vec![t.scope_openid],
            apis: Vec::new(),
            granted: when(1_767_225_600),
            last_used: None,
        },
    ];
    vec![
        (
            "account/authorizations.html",
            page(rows).render().unwrap_or_default(),
        ),
        (
            "account/authorizations.html",
            page(Vec::new()).render().unwrap_or_default(),
        ),
    ]
}
