//! `GET`/`POST /oauth2/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` for the logged-in user, the session ends at once; otherwise the
//! user confirms on a page whose form carries the session's CSRF token, so that a link on some
//! other site cannot log people out. `post_logout_redirect_uri` must be registered for the app
//! named by the hint or `client_id`; anything else gets a page, never a redirect.

use crate::pages::problem::{self, Code, Hint, Problem};
use crate::pages::{MessagePage, Texts, render, texts};
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use jsonwebtoken::{Validation, decode, decode_header};
use keyward_core::oauth::authorize::append_query;
use keyward_core::secret::{constant_time_eq, derive};
use serde::Deserialize;

const CSRF_PURPOSE: &str = "keyward-logout-csrf";

#[derive(Deserialize, Default)]
pub struct LogoutParams {
    #[serde(default)]
    id_token_hint: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    csrf_token: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    t: &'static Texts,
    chrome: crate::pages::Chrome,
    csrf_token: &'a str,
    client_id: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
}

#[derive(Deserialize)]
struct HintClaims {
    sub: String,
    aud: String,
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let params = serde_urlencoded::from_str::<LogoutParams>(&query.unwrap_or_default()).ok();
    handle(&state, &headers, jar, params, false).await
}

pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let params = serde_urlencoded::from_bytes::<LogoutParams>(&body).ok();
    handle(&state, &headers, jar, params, true).await
}

/// A logout request the app built wrongly: only its developer can fix it.
fn refuse(t: &'static Texts, code: Code, message: &'static str) -> Response {
    problem::show(
        t,
        &Problem::new(StatusCode::BAD_REQUEST, code, message, Hint::FixTheApp),
    )
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    jar: CookieJar,
    params: Option<LogoutParams>,
    posted: bool,
) -> Response {
    let t = texts(headers);
    let Some(params) = params else {
        return refuse(t, Code::MalformedRequest, t.malformed_request);
    };
    let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(token) => match verify_hint(state, token).await {
            Some(claims) => Some(claims),
            None => {
                return refuse(t, Code::InvalidIdTokenHint, t.invalid_id_token_hint);
            }
        },
        None => None,
    };
    let client_id = match (&hint, params.client_id.as_deref().filter(|c| !c.is_empty())) {
        (Some(h), Some(c)) if h.aud != c => {
            return refuse(t, Code::ClientIdMismatch, t.logout_client_mismatch);
        }
        (Some(h), _) => Some(h.aud.clone()),
        (None, c) => c.map(str::to_owned),
    };
    let redirect = match params
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(uri) => {
            let registered = match &client_id {
                Some(id) if id.len() <= 128 => match state.store.client_by_client_id(id).await {
                    Ok(client) => client.is_some_and(|c| {
                        c.is_active() && c.post_logout_redirect_uris.iter().any(|r| r == uri)
                    }),
                    Err(e) => return crate::envelope::ApiError::from(e).into_response(),
                },
                _ => false,
            };
            if !registered {
                return refuse(
                    t,
                    Code::UnregisteredPostLogoutRedirectUri,
                    t.unregistered_logout_uri,
                );
            }
            Some(uri.to_owned())
        }
    };

    let cookie_name = state.config.session_cookie_name();
    let session = match jar.get(cookie_name) {
        Some(cookie) => match state.accounts.session(cookie.value()).await {
            Ok(found) => found.map(|(_, user)| (cookie.value().to_owned(), user)),
            Err(e) => return crate::envelope::ApiError::from(e).into_response(),
        },
        None => None,
    };
    if let Some((cookie, user)) = &session {
        let hinted = hint
            .as_ref()
            .is_some_and(|h| h.sub == user.uuid.to_string());
        let confirmed = posted
            && params.confirm.as_deref() == Some("yes")
            && params.csrf_token.as_deref().is_some_and(|token| {
                constant_time_eq(token.as_bytes(), derive(CSRF_PURPOSE, cookie).as_bytes())
            });
        if !hinted && !confirmed {
            let csrf = derive(CSRF_PURPOSE, cookie);
            let page = ConfirmPage {
                t,
                chrome: crate::pages::Chrome::bare(t, "/oauth2/logout"),
                csrf_token: &csrf,
                client_id: client_id.as_deref().unwrap_or_default(),
                post_logout_redirect_uri: redirect.as_deref().unwrap_or_default(),
                state: params.state.as_deref().unwrap_or_default(),
            };
            return render(StatusCode::OK, &page);
        }
        if let Err(e) = state.accounts.end_session(cookie).await {
            return crate::envelope::ApiError::from(e).into_response();
        }
    }
    let jar = jar.remove(Cookie::build(cookie_name).path("/"));
    let response = match redirect {
        Some(uri) => {
            let location = match params.state.filter(|s| !s.is_empty()) {
                Some(s) => append_query(&uri, &[("state", s)]),
                None => uri,
            };
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        None => render(
            StatusCode::OK,
            &MessagePage {
                t,
                chrome: crate::pages::Chrome::bare(t, "/"),
                title: t.logout_title,
                message: t.logged_out,
            },
        ),
    };
    (jar, response).into_response()
}

/// An id_token this provider signed; expired ones are fine (OIDC RP-Initiated Logout §2).
async fn verify_hint(state: &AppState, token: &str) -> Option<HintClaims> {
    if token.len() > 8192 {
        return None;
    }
    let header = decode_header(token).ok()?;
    let (alg, key) = state
        .keys
        .decoding_key(header.kid.as_deref()?)
        .await
        .ok()??;
    if alg.jwt() != header.alg {
        return None;
    }
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[&state.config.public_url]);
    decode::<HintClaims>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

/// The logout confirmation with sample data, for the test that renders every template.
#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> Vec<(&'static str, String)> {
    let page = ConfirmPage {
        t,
        chrome: crate::pages::Chrome::bare(t, "/oauth2/logout"),
        csrf_token: "csrf",
        client_id: "client_x",
        post_logout_redirect_uri: "https://app.example.com/bye",
        state: "s",
    };
    vec![("logout.html", page.render().unwrap_or_default())]
}
