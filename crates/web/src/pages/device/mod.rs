//! `/device`: where a user approves a device authorization (RFC 8628 §3.3). The user signs in
//! first (the login page returns here with `?user_code=` kept, so a `verification_uri_complete`
//! link survives it), types or confirms the code the device shows, reads which app asks for
//! what, and approves or denies with the same form as the authorize page's consent
//! (`csrf_token`, `decision=approve|deny`). Every page of the flow is shown even for a trusted
//! app: the device flow is phishable (RFC 8628 §5.4), so the user's confirmation is never
//! skipped.

mod texts;

pub use texts::{DeviceTexts, device_texts};

use super::spend_form::SpendForm;
use super::{Chrome, PagePost, PageUser, Texts, form_status, render, unavailable};
use crate::oauth::authorize::{ApiAsked, ClientIdentity};
use crate::oauth::token::set_retry_after;
use crate::state::AppState;
use askama::Template;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::oauth::device::{DeviceAnswer, DeviceError, PendingDevice, Typist};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "device/enter.html")]
struct EnterPage<'a> {
    t: &'static Texts,
    d: &'static DeviceTexts,
    chrome: Chrome,
    csrf_token: &'a str,
    user_code: &'a str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "device/consent.html")]
struct ConsentPage<'a> {
    t: &'static Texts,
    d: &'static DeviceTexts,
    chrome: Chrome,
    app_name: &'a str,
    identity: ClientIdentity,
    app_description: &'a str,
    username: &'a str,
    scopes: Vec<&'static str>,
    /// The APIs asked for (RFC 8707).
    apis: Vec<ApiAsked>,
    user_code: &'a str,
    csrf_token: &'a str,
    /// With `balance:spend`: the limit the user sets, pre-filled.
    spend: Option<SpendForm>,
    /// Why the last answer was not taken.
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "device/done.html")]
struct DonePage<'a> {
    t: &'static Texts,
    d: &'static DeviceTexts,
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
    app_name: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeviceQuery {
    user_code: String,
}

/// `GET /device[?user_code=]`: the form to type the code in, filled in from the query (a query
/// that does not parse just leaves it empty).
pub async fn get(page: PageUser, RawQuery(query): RawQuery) -> Response {
    let query: DeviceQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let typed: String = query.user_code.chars().take(64).collect();
    enter(&page, StatusCode::OK, &typed, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeviceForm {
    user_code: String,
    /// Absent: the code was typed, show what it asks for; `approve` or `deny`: the answer.
    decision: Option<String>,
    /// The limit set on the page, when the app asks for `balance:spend`.
    spend_amount: String,
    spend_period: String,
}

/// `POST /device`: a typed code (answered with the consent page), or the answer to it.
pub async fn post(
    PagePost {
        state,
        page,
        client,
        form,
    }: PagePost<DeviceForm>,
) -> Response {
    let typist = Typist {
        session: &page.session,
        ip: &client.ip,
    };
    let settings = match state.settings.get().await {
        Ok(settings) => settings,
        Err(e) => return unavailable(page.t, &e),
    };
    let answer = match form.decision.as_deref().filter(|d| !d.is_empty()) {
        None => return consent(&state, &page, &form.user_code, typist, &settings, None).await,
        // A limit that does not parse is no limit: the core refuses the approval when
        // `balance:spend` is asked, and ignores it otherwise.
        Some("approve") => DeviceAnswer::Approve(
            SpendLimit::from_currency(
                &form.spend_amount,
                &form.spend_period,
                settings.quota_per_unit,
            )
            .ok(),
        ),
        Some("deny") => DeviceAnswer::Deny,
        Some(_) => {
            return super::error_page(StatusCode::BAD_REQUEST, page.t, page.t.malformed_request);
        }
    };
    match state
        .device
        .decide(&form.user_code, &page.user, typist, answer)
        .await
    {
        Ok(pending) => done(&page, &pending, answer != DeviceAnswer::Deny),
        Err(DeviceError::LimitRequired) => {
            let error = Some(device_texts(page.t).limit_required);
            consent(&state, &page, &form.user_code, typist, &settings, error).await
        }
        Err(e) => refused(&page, &form.user_code, &e),
    }
}

fn enter(page: &PageUser, status: StatusCode, typed: &str, error: Option<String>) -> Response {
    render(
        status,
        &EnterPage {
            t: page.t,
            d: device_texts(page.t),
            chrome: page.chrome(),
            csrf_token: &page.csrf,
            user_code: typed,
            error,
        },
    )
}

/// The form again, saying why the code was not taken: malformed or unknown (422), or too many
/// wrong codes from this session or address (429, the "too many tries" state).
fn refused(page: &PageUser, typed: &str, error: &DeviceError) -> Response {
    let d = device_texts(page.t);
    let typed: String = typed.chars().take(64).collect();
    let (message, retry_after) = match error {
        DeviceError::Malformed => (d.malformed, None),
        DeviceError::Unknown => (d.unknown, None),
        DeviceError::TooManyTries { retry_after } => (d.too_many, Some(*retry_after)),
        DeviceError::LimitRequired => (d.limit_required, None),
        DeviceError::Store(e) => return unavailable(page.t, e),
    };
    let error = Some(message.to_owned());
    let Some(retry_after) = retry_after else {
        return enter(page, form_status(&error), &typed, error);
    };
    let mut response = enter(page, StatusCode::TOO_MANY_REQUESTS, &typed, error);
    set_retry_after(&mut response, retry_after);
    response
}

/// The consent page for the code typed (or the form again if it is not found), with why the
/// last answer was not taken, if it was not (422).
async fn consent(
    state: &AppState,
    page: &PageUser,
    typed: &str,
    typist: Typist<'_>,
    settings: &keyward_core::settings::Settings,
    error: Option<&'static str>,
) -> Response {
    let pending = match state.device.find(typed, typist).await {
        Ok(pending) => pending,
        Err(e) => return refused(page, typed, &e),
    };
    let identity = ClientIdentity::load(state, page.t, &pending.client).await;
    render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &ConsentPage {
            t: page.t,
            d: device_texts(page.t),
            chrome: page.chrome(),
            app_name: &pending.client.name,
            identity,
            app_description: &pending.client.description,
            username: &page.user.username,
            scopes: page.t.access_words(pending.scopes),
            apis: ApiAsked::list(page.t, &pending.resources, &pending.grant),
            user_code: &pending.user_code,
            csrf_token: &page.csrf,
            spend: SpendForm::new(pending.scopes, pending.suggested_limit, settings),
            error,
        },
    )
}

fn done(page: &PageUser, pending: &PendingDevice, approved: bool) -> Response {
    let d = device_texts(page.t);
    let (title, message) = if approved {
        (d.approved_title, d.approved)
    } else {
        (d.denied_title, d.denied)
    };
    render(
        StatusCode::OK,
        &DonePage {
            t: page.t,
            d,
            chrome: page.chrome(),
            title,
            message,
            app_name: &pending.client.name,
        },
    )
}

/// The pages with sample data, for the test that renders every template.
#[cfg(test)]
pub(crate) fn samples(t: &'static Texts, user: &keyward_core::model::User) -> super::Gallery {
    let d = device_texts(t);
    let chrome = || Chrome::new(t, "/device", Some(user));
    vec![
        (
            "device/enter.html",
            EnterPage {
                t,
                d,
                chrome: chrome(),
                csrf_token: "csrf",
                user_code: "bcdf-<g>",
                error: Some(d.malformed.to_owned()),
            }
            .render()
            .unwrap_or_default(),
        ),
        (
            "device/consent.html",
            ConsentPage {
                t,
                d,
                chrome: chrome(),
                app_name: "Sample <CLI>",
                identity: ClientIdentity {
                    w: crate::pages::trust::trust_texts(t),
                    not_reviewed: true,
                    host: Some("agent.example.com".into()),
                    reviewed: false,
                    owner: None,
                    logo: None,
                    homepage: None,
                    privacy: None,
                },
                app_description: "A command-line tool",
                username: "alice",
                scopes: vec![t.scope_profile, t.scope_offline],
                apis: vec![ApiAsked {
                    name: "MCP <server>".into(),
                    identifier: "https://mcp.example.com/mcp".into(),
                    scopes: vec!["Call its tools (mcp:tools)".into()],
                }],
                user_code: "BCDF-GHJK",
                csrf_token: "csrf",
                spend: Some(SpendForm::sample()),
                error: Some(d.limit_required),
            }
            .render()
            .unwrap_or_default(),
        ),
        (
            "device/done.html",
            DonePage {
                t,
                d,
                chrome: chrome(),
                title: d.approved_title,
                message: d.approved,
                app_name: "Sample <CLI>",
            }
            .render()
            .unwrap_or_default(),
        ),
    ]
}
