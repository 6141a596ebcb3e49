//! A freshly minted app secret, held for its owner for a few minutes so that the page showing it
//! survives a reload or the language switch — without any GET minting a secret and without
//! keeping it in clear anywhere.
//!
//! The POST that mints the secret (reveal, rotate, or creating an app without review) seals it
//! with the master key into a cookie scoped to that app's console path, HttpOnly, SameSite=Strict,
//! for [`HOLD_SECS`]. The seal binds the session, the app and the expiry as associated data, so
//! the cookie opens for nothing else; the page shows it only while it is still the app's current
//! secret. "I saved it" (a POST) drops the cookie. The secret is never logged.

use crate::state::AppState;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_core::model::Client as App;
use keyward_core::model::Session;
use keyward_core::secret::{Secret, SecretHash};

/// How long the page may show a fresh secret again (reloads, the language switch).
pub const HOLD_SECS: i64 = 600;
const COOKIE: &str = "keyward_fresh_secret";

fn purpose(session: &Session, app: i64, expires: i64) -> String {
    format!(
        "app-secret:{}:{app}:{expires}",
        URL_SAFE_NO_PAD.encode(session.id_hash.as_bytes())
    )
}

fn path(app: i64) -> String {
    format!("/user/setting/oauth/{app}")
}

/// Answers a minting POST: the secret sealed into the cookie, and a redirect to the app's page
/// (Post/Redirect/Get: the page is a plain GET from then on).
pub fn hold(state: &AppState, session: &Session, app: i64, secret: Secret) -> Response {
    let expires = state.apps.now() + HOLD_SECS;
    let sealed = state
        .vault
        .seal(&purpose(session, app, expires), secret.expose().as_bytes());
    let mut response = super::redirect(&path(app));
    if let Some(sealed) = sealed {
        let value = format!("{expires}.{}", URL_SAFE_NO_PAD.encode(sealed));
        set_cookie(&mut response, state, app, value, HOLD_SECS);
    }
    response
}

/// The secret held for this session and app, if it is still fresh and still the app's current
/// secret.
pub fn held(state: &AppState, jar: &CookieJar, session: &Session, app: &App) -> Option<String> {
    let value = jar.get(COOKIE)?.value().to_owned();
    let (expires, sealed) = value.split_once('.')?;
    let expires: i64 = expires.parse().ok()?;
    if expires <= state.apps.now() || expires > state.apps.now() + HOLD_SECS {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let plain = state
        .vault
        .open(&purpose(session, app.id, expires), &sealed)?;
    let secret = String::from_utf8(plain).ok()?;
    (app.secret_hash == Some(SecretHash::of(&secret))).then_some(secret)
}

/// Answers "I saved it": the cookie goes, and the page no longer shows the secret.
pub fn forget(state: &AppState, app: i64) -> Response {
    let mut response = super::redirect(&format!("{}?done=saved", path(app)));
    set_cookie(&mut response, state, app, String::new(), 0);
    response
}

fn set_cookie(response: &mut Response, state: &AppState, app: i64, value: String, secs: i64) {
    let cookie = Cookie::build((COOKIE, value))
        .path(path(app))
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(secs))
        .build();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
