//! `GET /oauth/authorize` (and `/api/oauth2/authorize`): validate, then send the user to log in,
//! ask for consent, or answer the app with a code. `POST /oauth/authorize`: the consent form.

use crate::pages::problem::{self, Back, Code, Hint, Problem};
use crate::pages::spend_form::SpendForm;
use crate::pages::{Texts, render, texts};
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use keyward_core::billing::limit::{BadSpendLimit, SpendLimit};
use keyward_core::model::{Session, User};
use keyward_core::oauth::ErrorCode;
use keyward_core::oauth::authorize::{
    AuthorizeError, AuthorizeParams, Decision, Rejection, ValidRequest, after_login, decide,
    error_redirect,
};
use keyward_core::oauth::redirect_uri::display_host;
use keyward_core::oauth::scope::Scope;
use keyward_core::secret::{constant_time_eq, derive};

const CSRF_PURPOSE: &str = "keyward-consent-csrf";

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    t: &'static Texts,
    chrome: crate::pages::Chrome,
    app_name: &'a str,
    /// Who the app is: its developer, review, logo and links.
    identity: ClientIdentity,
    app_description: &'a str,
    username: &'a str,
    /// The full redirect target, with a warning for plain http to another machine.
    target: RedirectTarget,

    scopes: Vec<&'static str>,
    /// The APIs named in `resource`, each with its scopes in words.
    apis: Vec<ApiAsked>,
    resources: &'a [String],
    redirect_host: &'a str,
    csrf_token: &'a str,
    client_id: &'a str,
    redirect_uri: &'a str,
    scope: String,
    state: &'a str,
    code_challenge: &'a str,
    code_challenge_method: &'a str,
    nonce: &'a str,
    /// With `balance:spend`: the limit the user sets, pre-filled.
    spend: Option<SpendForm>,
}

pub(crate) use crate::pages::trust::ClientIdentity;
use crate::pages::trust::RedirectTarget;

/// An API on a consent page (this one and the device flow's): `templates/_apis_asked.html`.
pub(crate) struct ApiAsked {
    pub name: String,
    pub identifier: String,
    pub scopes: Vec<String>,
}

impl ApiAsked {
    /// Each API asked for, named and with the scopes asked on it described in the page's
    /// language.
    pub(crate) fn list(
        t: &Texts,
        resources: &[keyward_core::model::Resource],
        grant: &keyward_core::oauth::audience::ResourceGrants,
    ) -> Vec<Self> {
        let english = t.language() == crate::pages::Lang::En;
        resources
            .iter()
            .map(|resource| {
                let granted = grant.get(&resource.identifier);
                let scopes = resource
                    .scopes
                    .iter()
                    .filter(|s| granted.is_some_and(|g| g.has(&s.name)))
                    .map(|s| {
                        let words = if english {
                            &s.description_en
                        } else {
                            &s.description_zh
                        };
                        if words.is_empty() {
                            s.name.clone()
                        } else {
                            format!("{words} ({})", s.name)
                        }
                    })
                    .collect();
                Self {
                    name: if english {
                        &resource.name_en
                    } else {
                        &resource.name_zh
                    }
                    .clone(),
                    identifier: resource.identifier.clone(),
                    scopes,
                }
            })
            .collect()
    }
}

/// Everything a request may fail with before its redirect URI is trusted is shown here.
fn rejection(state: &AppState, t: &'static Texts, rejection: Rejection) -> Response {
    match rejection {
        Rejection::Page(kind) => {
            if let AuthorizeError::ClientDocument(why) = &kind {
                tracing::info!(error = %why, "metadata document client refused");
            }
            let problem = Problem::new(
                StatusCode::BAD_REQUEST,
                problem_code(&kind),
                t.error(&kind),
                Hint::FixTheApp,
            );
            problem::show(t, &problem)
        }
        Rejection::Redirect {
            redirect_uri,
            error,
            description,
            state: app_state,
        } => found(&error_redirect(
            &redirect_uri,
            error,
            description,
            app_state.as_deref(),
            &state.config.public_url,
        )),
    }
}

/// The way back to the app for a refused consent answer, when its request is valid: the
/// error response the app expects, at its registered redirect URI.
async fn back_to_app(state: &AppState, params: &AuthorizeParams) -> Option<Back> {
    match load_request(state, params).await {
        Ok(Ok(request)) => Some(back_to(state, &request)),
        _ => None,
    }
}

fn back_to(state: &AppState, request: &ValidRequest) -> Back {
    Back {
        app: request.client.name.clone(),
        href: error_redirect(
            &request.redirect_uri,
            ErrorCode::AccessDenied,
            "the user did not finish signing in",
            request.state.as_deref(),
            &state.config.public_url,
        ),
    }
}

/// The error page's stable code for a request refused before its redirect URI is trusted.
fn problem_code(kind: &AuthorizeError) -> Code {
    match kind {
        AuthorizeError::UnknownClient => Code::UnknownClient,
        AuthorizeError::ClientDocument(_) => Code::ClientMetadataDocument,
        AuthorizeError::MissingRedirectUri => Code::MissingRedirectUri,
        AuthorizeError::UnregisteredRedirectUri => Code::UnregisteredRedirectUri,
    }
}

fn found(location: &str) -> Response {
    redirect_with(StatusCode::FOUND, location)
}

fn redirect_with(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// The browser's live session, if any.
async fn session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<(String, Session, User)>, Response> {
    let Some(cookie) = jar.get(state.config.session_cookie_name()) else {
        return Ok(None);
    };
    match state.accounts.session(cookie.value()).await {
        Ok(found) => Ok(found.map(|(s, u)| (cookie.value().to_owned(), s, u))),
        Err(e) => Err(crate::envelope::ApiError::from(e).into_response()),
    }
}

async fn load_request(
    state: &AppState,
    params: &AuthorizeParams,
) -> Result<Result<ValidRequest, Rejection>, Response> {
    state
        .authorizer
        .load(params)
        .await
        .map_err(|e| crate::envelope::ApiError::from(e).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::extract::Client(client_info): crate::extract::Client,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let t = texts(&headers);
    let raw = query.unwrap_or_default();
    // serde_html_form: `resource` may repeat (RFC 8707); any other parameter may not.
    let Ok(params) = serde_html_form::from_str::<AuthorizeParams>(&raw) else {
        let problem = Problem::malformed(t, Hint::FixTheApp);
        return problem::show(t, &problem);
    };
    let request = match load_request(&state, &params).await {
        Ok(Ok(request)) => request,
        Ok(Err(r)) => return rejection(&state, t, r),
        Err(response) => return response,
    };
    let current = match session(&state, &jar).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    let consent = match &current {
        Some((_, _, user)) => match state.store.consent(user.id, request.client.id).await {
            Ok(consent) => consent,
            Err(e) => return crate::envelope::ApiError::from(e).into_response(),
        },
        None => None,
    };
    let auth_time = current.as_ref().map(|(_, s, _)| s.created_at);
    match decide(&request, auth_time, consent.as_ref(), state.accounts.now()) {
        Decision::Login => {
            let again = after_login(&params, state.accounts.now());
            let query = serde_html_form::to_string(&again).unwrap_or_default();
            let mut login_query = vec![("return_to", format!("/oauth/authorize?{query}"))];
            // A live session that is not fresh enough: the login page must ask anyway.
            if current.is_some() {
                login_query.push(("prompt", "login".to_owned()));
            }
            if let Some(hint) = params
                .login_hint
                .as_deref()
                .filter(|h| !h.is_empty() && h.len() <= 256)
            {
                login_query.push(("login_hint", hint.to_owned()));
            }
            let login = format!(
                "/login?{}",
                serde_urlencoded::to_string(login_query).unwrap_or_default()
            );
            found(&login)
        }
        Decision::Consent => match current {
            Some((cookie, _, user)) => {
                let path = format!("/oauth/authorize?{raw}");
                let identity = ClientIdentity::load(&state, t, &request.client).await;
                let settings = match state.settings.get().await {
                    Ok(settings) => settings,
                    Err(e) => return crate::envelope::ApiError::from(e).into_response(),
                };
                let spend = SpendForm::new(request.scopes, request.suggested_limit, &settings);
                consent_page(t, &request, &user, &cookie, &path, identity, spend)
            }
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Decision::Issue => {
            let Some((_, session, user)) = current else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            // A trusted app skips the question, but the grant is still recorded, so the user
            // sees it among their authorizations and can revoke it.
            let covered = request.covered_by(consent.as_ref());
            let approval = Approval {
                user: &user,
                auth_time: session.created_at,
                ip: &client_info.ip,
                record_consent: !covered,
                spend_limit: None,
            };
            approve(&state, &request, approval, StatusCode::FOUND).await
        }
        Decision::Reject(r) => rejection(&state, t, r),
    }
}

/// A user's yes to a request, asked on the page or remembered.
struct Approval<'a> {
    user: &'a User,
    auth_time: i64,
    ip: &'a str,
    /// Whether the grant is new (or wider) and must be recorded.
    record_consent: bool,
    /// The limit the user set on the page for `balance:spend`; `None` keeps the one before.
    spend_limit: Option<SpendLimit>,
}

/// Records the grant when it is new and sends the browser back with a code.
async fn approve(
    state: &AppState,
    request: &ValidRequest,
    approval: Approval<'_>,
    status: StatusCode,
) -> Response {
    if approval.record_consent {
        let granted = state
            .apps
            .grant_consent(
                approval.user,
                &request.client,
                request.scopes,
                &request.grant,
                approval.spend_limit,
                approval.ip,
            )
            .await;
        if let Err(e) = granted {
            return crate::envelope::ApiError::from(e).into_response();
        }
    }
    issue(state, request, approval.user, approval.auth_time, status).await
}

fn consent_page(
    t: &'static Texts,
    request: &ValidRequest,
    user: &User,
    cookie: &str,
    path: &str,
    identity: ClientIdentity,
    spend: Option<SpendForm>,
) -> Response {
    let scopes = t.access_words(request.scopes);
    let resources: Vec<String> = request
        .resources
        .iter()
        .map(|r| r.identifier.clone())
        .collect();
    let csrf = derive(CSRF_PURPOSE, cookie);
    // Registration only accepts URIs with a host; one stored before that rule shows in full.
    let host = display_host(&request.redirect_uri).unwrap_or_else(|| request.redirect_uri.clone());
    let page = ConsentPage {
        t,
        // No navigation here: the page asks one question.
        chrome: crate::pages::Chrome::bare(t, path),
        app_name: &request.client.name,
        identity,
        app_description: &request.client.description,
        username: &user.username,
        target: RedirectTarget::of(&request.redirect_uri),

        scopes,
        apis: ApiAsked::list(t, &request.resources, &request.grant),
        resources: &resources,
        redirect_host: &host,
        csrf_token: &csrf,
        client_id: &request.client.client_id,
        redirect_uri: &request.redirect_uri,
        scope: keyward_core::oauth::audience::scope_string(request.scopes, &request.grant),
        state: request.state.as_deref().unwrap_or_default(),
        code_challenge: request.code_challenge.as_deref().unwrap_or_default(),
        code_challenge_method: if request.code_challenge.is_some() {
            "S256"
        } else {
            ""
        },
        nonce: request.nonce.as_deref().unwrap_or_default(),
        spend,
    };
    render(StatusCode::OK, &page)
}

/// Issues a code and answers with the redirect carrying it (`status`: 302 after a GET, 303
/// after the consent POST).
async fn issue(
    state: &AppState,
    request: &ValidRequest,
    user: &User,
    auth_time: i64,
    status: StatusCode,
) -> Response {
    match state.authorizer.issue(request, user, auth_time).await {
        Ok(location) => redirect_with(status, &location),
        Err(e) => crate::envelope::ApiError::from(e).into_response(),
    }
}

/// `POST /switch-account`: "not you? switch account", a second submit button of the consent
/// forms (`formaction`), so it works without script and carries the form's token. From the
/// authorize page (its consent token), the login page opens with the same authorization request
/// to return to; from the device page (its page token, with `user_code`), with the device page
/// and the code filled in. Either way the session ends first, on the server.
pub async fn switch_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    body: axum::body::Bytes,
) -> Response {
    let t = texts(&headers);
    let (Ok(form), Ok(params)) = (
        serde_html_form::from_bytes::<SwitchForm>(&body),
        serde_html_form::from_bytes::<AuthorizeParams>(&body),
    ) else {
        let problem = Problem::malformed(t, Hint::StartAgain);
        return problem::show(t, &problem);
    };
    let Some(cookie) = jar.get(state.config.session_cookie_name()) else {
        let problem = Problem::session_ended(t);
        return problem::show(t, &problem);
    };
    let cookie = cookie.value().to_owned();
    let (expected, back) = match form.user_code.as_deref() {
        Some(code) => (
            crate::pages::trust::page_csrf(&cookie),
            format!(
                "/device?{}",
                serde_urlencoded::to_string([(
                    "user_code",
                    code.chars().take(64).collect::<String>()
                )])
                .unwrap_or_default()
            ),
        ),
        None => {
            let again = after_login(&params, state.accounts.now());
            (
                derive(CSRF_PURPOSE, &cookie),
                format!(
                    "/oauth/authorize?{}",
                    serde_html_form::to_string(&again).unwrap_or_default()
                ),
            )
        }
    };
    if !constant_time_eq(expected.as_bytes(), form.csrf_token.as_bytes()) {
        let problem = Problem::request_expired(t);
        return problem::show(t, &problem);
    }
    crate::pages::trust::sign_out_to_login(&state, &cookie, &back).await
}

#[derive(serde::Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    csrf_token: String,
    /// Present on the device page's form.
    #[serde(default)]
    user_code: Option<String>,
}

/// The consent form's own fields; the rest of the body is the request ([`AuthorizeParams`]).
#[derive(serde::Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
    /// The spending limit the user set (with `balance:spend`): an amount in the platform's
    /// currency and `day`, `month` or `total`.
    #[serde(default)]
    spend_amount: String,
    #[serde(default)]
    spend_period: String,
}

/// `POST /oauth/authorize`: the user's answer. The request is validated again from scratch: the
/// hidden fields are only as trustworthy as the browser that sent them.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    crate::extract::Client(client_info): crate::extract::Client,
    body: axum::body::Bytes,
) -> Response {
    let t = texts(&headers);
    let (Ok(form), Ok(params)) = (
        serde_html_form::from_bytes::<ConsentForm>(&body),
        serde_html_form::from_bytes::<AuthorizeParams>(&body),
    ) else {
        let problem = Problem::malformed(t, Hint::StartAgain);
        return problem::show(t, &problem);
    };
    let Some((cookie, session, user)) = (match session(&state, &jar).await {
        Ok(current) => current,
        Err(response) => return response,
    }) else {
        let problem = Problem::session_ended(t);
        return problem::show(t, &problem.with_back(back_to_app(&state, &params).await));
    };
    let expected = derive(CSRF_PURPOSE, &cookie);
    if !constant_time_eq(expected.as_bytes(), form.csrf_token.as_bytes()) {
        let problem = Problem::request_expired(t);
        return problem::show(t, &problem.with_back(back_to_app(&state, &params).await));
    }
    let request = match load_request(&state, &params).await {
        Ok(Ok(request)) => request,
        Ok(Err(r)) => return rejection(&state, t, r),
        Err(response) => return response,
    };
    match form.decision.as_str() {
        "approve" => {
            let per_unit = match state.settings.get().await {
                Ok(settings) => settings.quota_per_unit,
                Err(e) => return crate::envelope::ApiError::from(e).into_response(),
            };
            // Approving `balance:spend` without a usable limit is refused.
            let spend_limit = match spend_limit_of(&request, &form, per_unit) {
                Ok(limit) => limit,
                Err(_) => {
                    let problem = Problem::malformed(t, Hint::GoBack);
                    return problem::show(t, &problem.with_back(Some(back_to(&state, &request))));
                }
            };
            let approval = Approval {
                user: &user,
                auth_time: session.created_at,
                ip: &client_info.ip,
                record_consent: true,
                spend_limit,
            };
            approve(&state, &request, approval, StatusCode::SEE_OTHER).await
        }
        "deny" => {
            let location = error_redirect(
                &request.redirect_uri,
                ErrorCode::AccessDenied,
                "the user denied the request",
                request.state.as_deref(),
                &state.config.public_url,
            );
            redirect_with(StatusCode::SEE_OTHER, &location)
        }
        _ => {
            let problem = Problem::malformed(t, Hint::StartAgain);
            problem::show(t, &problem.with_back(Some(back_to(&state, &request))))
        }
    }
}

/// The limit typed on the consent form, required when the request asks for `balance:spend`.
fn spend_limit_of(
    request: &ValidRequest,
    form: &ConsentForm,
    per_unit: i64,
) -> Result<Option<SpendLimit>, BadSpendLimit> {
    if !request.scopes.contains(Scope::BalanceSpend) {
        return Ok(None);
    }
    SpendLimit::from_currency(&form.spend_amount, &form.spend_period, per_unit).map(Some)
}

/// The consent page with sample data, for the test that renders every template.
#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> Vec<(&'static str, String)> {
    let page = ConsentPage {
        t,
        chrome: crate::pages::Chrome::bare(t, "/oauth/authorize"),
        app_name: "Sample <App>",
        identity: ClientIdentity {
            w: crate::pages::trust::trust_texts(t),
            not_reviewed: false,
            host: None,
            reviewed: true,
            owner: Some("dev <1>".into()),
            logo: Some("https://app.example.com/logo.png".into()),
            homepage: Some(crate::pages::trust::AppLink {
                href: "https://app.example.com/".into(),
                host: "app.example.com".into(),
            }),
            privacy: Some(crate::pages::trust::AppLink {
                href: "https://app.example.com/privacy".into(),
                host: "app.example.com".into(),
            }),
        },
        app_description: "Reads your profile",
        username: "alice",
        target: RedirectTarget::of("http://app.example.com/cb"),

        scopes: vec![t.scope_profile, t.scope_balance],
        apis: vec![ApiAsked {
            name: "Files <API>".into(),
            identifier: "https://files.example.com".into(),
            scopes: vec!["Read your files (files:read)".into()],
        }],
        resources: &[],
        redirect_host: "app.example.com",
        csrf_token: "csrf",
        client_id: "client_x",
        redirect_uri: "https://app.example.com/cb",
        scope: "profile balance".into(),
        state: "s\"t",
        code_challenge: "",
        code_challenge_method: "",
        nonce: "",
        spend: Some(SpendForm::sample()),
    };
    vec![("consent.html", page.render().unwrap_or_default())]
}
