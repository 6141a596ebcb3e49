//! `/user/security/activity` (the account's sign-ins and security changes) and
//! `/user/security/export` (the download of everything held about the user).

use super::{AccountTexts, account_texts, unavailable, when};
use crate::pages::{Chrome, PageUser, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::accounts::activity::{self, ActivityEntry};
use keyward_core::audit::action;
use serde::Deserialize;

struct ActivityRow {
    when: String,
    what: &'static str,
    method: String,
    ip: String,
    /// "Chrome · Windows", from the user agent (`keyward_core::user_agent`).
    device: String,
    second_factor_asked: bool,
    by_admin: bool,
}

#[derive(Template)]
#[template(path = "account/activity.html")]
struct ActivityPage {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    rows: Vec<ActivityRow>,
    prev: Option<i64>,
    next: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActivityQuery {
    p: Option<i64>,
}

/// What an action is called on the page; an action this list does not know is not shown.
fn label(a: &'static AccountTexts, action: &str) -> Option<&'static str> {
    Some(match action {
        action::SIGNED_IN => a.act_signed_in,
        action::PASSWORD_CHANGED => a.act_password_changed,
        action::PASSWORD_RESET => a.act_password_reset,
        action::EMAIL_BOUND => a.act_email_bound,
        action::EMAIL_CHANGED => a.act_email_changed,
        action::TWO_FACTOR_ENABLED => a.act_totp_on,
        action::TWO_FACTOR_DISABLED => a.act_totp_off,
        action::TWO_FACTOR_RESET => a.act_totp_reset,
        action::IDENTITY_LINKED => a.act_identity_linked,
        action::IDENTITY_UNLINKED => a.act_identity_unlinked,
        action::SESSION_ENDED => a.act_session_ended,
        action::OTHER_SESSIONS_ENDED => a.act_others_ended,
        action::PASSKEY_ADDED => a.act_passkey_added,
        action::PASSKEY_REMOVED => a.act_passkey_removed,
        action::PASSKEY_COUNTER_REGRESSION => a.act_passkey_counter,
        _ => return None,
    })
}

fn method(a: &'static AccountTexts, method: Option<&str>) -> String {
    match method {
        None => String::new(),
        Some("password") => a.method_password.into(),
        Some("passkey") => a.method_passkey.into(),
        Some("upstream") => a.method_upstream.into(),
        Some(other) => {
            let provider = other.strip_prefix("upstream:").unwrap_or(other);
            crate::federation::provider_label(provider)
                .unwrap_or(provider)
                .to_owned()
        }
    }
}

fn row(a: &'static AccountTexts, e: ActivityEntry) -> Option<ActivityRow> {
    Some(ActivityRow {
        what: label(a, &e.action)?,
        when: when(e.at),
        method: method(a, e.method.as_deref()),
        ip: e.ip,
        device: e
            .user_agent
            .as_deref()
            .and_then(keyward_core::user_agent::friendly_name)
            .unwrap_or_default(),
        second_factor_asked: e.second_factor_asked,
        by_admin: e.by_other,
    })
}

const PAGE_SIZE: i64 = 20;

/// `GET /user/security/activity?p=`: the signed-in user's own activity, newest first.
pub async fn get(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<ActivityQuery>,
) -> Response {
    let a = account_texts(page.t);
    let window = activity::page(query.p.unwrap_or(1), PAGE_SIZE);
    let number = window.offset / window.limit + 1;
    let entries = match state.accounts.security_activity(&page.user, window).await {
        Ok(entries) => entries,
        Err(e) => return unavailable(page.t, &e),
    };
    let full = i64::try_from(entries.len()).unwrap_or(0) == window.limit;
    let rows = entries.into_iter().filter_map(|e| row(a, e)).collect();
    render(
        StatusCode::OK,
        &ActivityPage {
            t: page.t,
            a,
            chrome: page.chrome(),
            rows,
            prev: (number > 1).then_some(number - 1),
            next: (full && number < activity::MAX_PAGES).then_some(number + 1),
        },
    )
}

/// `GET /user/security/export`: the export as a JSON file to save.
pub async fn export(
    State(state): State<AppState>,
    page: PageUser,
    crate::extract::Client(client): crate::extract::Client,
) -> Response {
    let document = match state.accounts.export(&page.user, &client.ip).await {
        Ok(export) => export,
        Err(e) => return unavailable(page.t, &e),
    };
    let body = match serde_json::to_vec_pretty(&document) {
        Ok(body) => body,
        Err(e) => return unavailable(page.t, &e),
    };
    tracing::info!(user.id = page.user.id, "account data exported on the page");
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                crate::account::export::attachment(&page.user.username),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let rows = vec![
        ActivityRow {
            when: when(1_767_225_600),
            what: a.act_signed_in,
            method: method(a, Some("upstream:github")),
            ip: "203.0.113.7".into(),
            device: "Firefox <b>".into(),
            second_factor_asked: true,
            by_admin: false,
        },
        ActivityRow {
            when: when(1_767_225_000),
            what: a.act_totp_reset,
            method: String::new(),
            ip: "198.51.100.1".into(),
            device: String::new(),
            second_factor_asked: false,
            by_admin: true,
        },
    ];
    let page = |rows, prev, next| ActivityPage {
        t,
        a,
        chrome: super::sample_chrome(t, "/user/security/activity"),
        rows,
        prev,
        next,
    };
    vec![
        (
            "account/activity.html",
            page(rows, Some(1), Some(3)).render().unwrap_or_default(),
        ),
        (
            "account/activity.html",
            page(Vec::new(), None, None).render().unwrap_or_default(),
        ),
    ]
}
