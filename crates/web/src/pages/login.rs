//! `GET /login` and `POST /login`: the password login page that the authorization endpoint
//! sends users to. Its form is protected by a double-submit token: a random value in a
//! `SameSite=Strict` cookie that the form must repeat.

use super::account::passkeys::PasskeyTexts;
use super::session::WithCsrf;
use super::{Texts, render, safe_return_to, texts};
use crate::account::login::LoginStep;
use crate::envelope::ApiError;
use crate::extract::Client;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_core::accounts::{AccountError, ClientInfo, SignInMethod};
use keyward_core::model::User;
use keyward_core::secret::{constant_time_eq, random_base64url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::convert::Infallible;

/// The double-submit cookie's name on plain http; `WebConfig::csrf_cookie_name` picks it.
#[cfg(test)]
const CSRF_COOKIE: &str = "keyward_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Texts,
    a: &'static super::account::AccountTexts,
    chrome: super::Chrome,
    /// "Continue with ..." links, the register and reset links, as the settings allow.
    ways: Ways,
    csrf_token: &'a str,
    return_to: &'a str,
    username: &'a str,
    /// A failed login is said at the password field.
    error: super::FormError,
    /// The passkey button and autofill prompt, when this host can offer passkeys.
    passkey: Option<&'static PasskeyTexts>,
    /// The registered app an authorization request in `return_to` is for ("to continue to").
    continue_to: Option<String>,
    w: &'static super::trust::TrustTexts,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    /// Pre-fills the user name (OIDC `login_hint`).
    login_hint: Option<String>,
    /// An upstream flow's failure code, passed back by its callback (never shown as text).
    error: Option<String>,
    /// `login`: the authorization endpoint wants a fresh login even with a live session.
    prompt: Option<String>,
}

/// The other ways in that the login and register pages offer.
pub(crate) struct Ways {
    pub providers: Vec<super::account::ProviderLink>,
    pub register_href: Option<String>,
    pub reset: bool,
}

pub(crate) async fn ways(state: &AppState, return_to: &str) -> Ways {
    match state.settings.get().await {
        Ok(s) => Ways {
            providers: super::account::provider_links(&s, "login", return_to),
            register_href: s
                .register_enabled
                .then(|| format!("/register?return_to={}", super::encode_return_to(return_to))),
            reset: !s.smtp_host.is_empty(),
        },
        Err(e) => {
            tracing::error!(error = %e, "settings unavailable");
            Ways {
                providers: Vec::new(),
                register_href: None,
                reset: false,
            }
        }
    }
}

pub async fn get(page: AnonymousPage, Query(query): Query<LoginQuery>) -> Response {
    let AnonymousPage { state, t, jar } = page;
    let return_to = return_path(query.return_to.as_deref());
    let reauthenticate = query.prompt.as_deref() == Some("login");
    if !reauthenticate
        && let Some(cookie) = jar.get(state.config.session_cookie_name())
        && let Ok(Some(_)) = state.accounts.session(cookie.value()).await
        && return_to != "/"
    {
        return redirect(return_to);
    }
    let hint = query
        .login_hint
        .as_deref()
        .filter(|h| h.chars().count() <= 256);
    let error = super::flow_failure(t, query.error.as_deref());
    let ways = ways(&state, return_to).await;
    let continue_to = super::trust::continue_to(&state, return_to).await;
    anonymous_form(&state, jar, |csrf_token| {
        render(
            StatusCode::OK,
            &LoginPage {
                t,
                a: super::account::account_texts(t),
                chrome: super::Chrome::bare(
                    t,
                    &format!("/login?return_to={}", super::encode_return_to(return_to)),
                ),
                ways,
                csrf_token,
                return_to,
                username: hint.unwrap_or_default(),
                error: super::FormError::of(error.map(str::to_owned)),
                passkey: offers_passkeys(&state, t),
                continue_to,
                w: super::trust::trust_texts(t),
            },
        )
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    return_to: String,
}

pub async fn post(
    AnonymousPost {
        state,
        t,
        client,
        jar,
        csrf_token,
        form,
    }: AnonymousPost<LoginForm>,
) -> Response {
    let return_to = return_path(Some(&form.return_to)).to_owned();
    let result = match state.settings.get().await {
        Ok(settings) => {
            state
                .accounts
                .login(&form.username, &form.password, &client, &settings)
                .await
        }
        Err(e) => {
            tracing::error!(error = %e, "settings unavailable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match result {
        Ok(user) => match crate::account::login::begin_login(
            &state,
            jar,
            &user,
            &client,
            SignInMethod::Password,
        )
        .await
        {
            Ok((jar, LoginStep::Done)) => {
                let jar = jar.remove(Cookie::build(state.config.csrf_cookie_name()).path("/"));
                (jar, redirect(&return_to)).into_response()
            }
            Ok((jar, LoginStep::SecondFactor)) => {
                let page = SecondFactorPage {
                    t,
                    chrome: super::Chrome::bare(t, "/login"),
                    csrf_token: &csrf_token,
                    return_to: &return_to,
                    error: super::FormError::none(),
                    passkey: second_factor_passkey(&state, t, &user).await,
                };
                (jar, render(StatusCode::OK, &page)).into_response()
            }
            Err(e) => e.into_response(),
        },
        Err(AccountError::Store(e)) => ApiError::from(e).into_response(),
        Err(e) => {
            let (status, retry_after) = match e {
                AccountError::Throttled { retry_after } => {
                    (StatusCode::TOO_MANY_REQUESTS, Some(retry_after))
                }
                _ => (StatusCode::OK, None),
            };
            let message = t.error(&e);
            let page = LoginPage {
                t,
                a: super::account::account_texts(t),
                chrome: super::Chrome::bare(
                    t,
                    &format!("/login?return_to={}", super::encode_return_to(&return_to)),
                ),
                ways: ways(&state, &return_to).await,
                csrf_token: &csrf_token,
                return_to: &return_to,
                username: &form.username,
                error: super::FormError::at("password", message),
                passkey: offers_passkeys(&state, t),
                continue_to: super::trust::continue_to(&state, &return_to).await,
                w: super::trust::trust_texts(t),
            };
            let mut response = (jar, render(status, &page)).into_response();
            response.extensions_mut().insert(crate::access_log::Refused);
            if let Some(seconds) = retry_after {
                crate::oauth::token::set_retry_after(&mut response, seconds);
            }
            response
        }
    }
}

/// An anonymous page's request (login, second step, registration, reset): the visitor's
/// language and the cookie jar its form's double-submit token goes into.
pub struct AnonymousPage {
    pub state: AppState,
    pub t: &'static Texts,
    pub jar: CookieJar,
}

impl FromRequestParts<AppState> for AnonymousPage {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self {
            state: state.clone(),
            t: texts(&parts.headers),
            jar: CookieJar::from_headers(&parts.headers),
        })
    }
}

/// A form posted from an anonymous page (login, registration, password reset), with what its
/// handler needs. The form must repeat the browser's CSRF cookie (double submit) before the
/// handler runs: otherwise the answer is the expired page.
pub struct AnonymousPost<F> {
    pub state: AppState,
    pub t: &'static Texts,
    pub client: ClientInfo,
    pub jar: CookieJar,
    /// The token the form repeated, for the form on the answering page.
    pub csrf_token: String,
    pub form: F,
}

impl<F: DeserializeOwned + Send> FromRequest<AppState> for AnonymousPost<F> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let t = texts(&parts.headers);
        let Ok(Client(client)) = Client::from_request_parts(&mut parts, state).await;
        let jar = CookieJar::from_headers(&parts.headers);
        let Form(posted) =
            Form::<WithCsrf<F>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        if !csrf_ok(&jar, state.config.csrf_cookie_name(), &posted.csrf_token) {
            return Err(expired_page(t));
        }
        Ok(Self {
            state: state.clone(),
            t,
            client,
            jar,
            csrf_token: posted.csrf_token,
            form: posted.form,
        })
    }
}

/// A path on this site to go on to: the given one if it is safe, else the home page.
pub(crate) fn return_path(value: Option<&str>) -> &str {
    value.and_then(safe_return_to).unwrap_or("/")
}

/// The form must repeat the value of the browser's CSRF cookie (double submit).
pub(crate) fn csrf_ok(jar: &CookieJar, cookie: &str, submitted: &str) -> bool {
    let expected = jar
        .get(cookie)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    !expected.is_empty() && constant_time_eq(expected.as_bytes(), submitted.as_bytes())
}

pub(crate) fn expired_page(t: &'static Texts) -> Response {
    super::page_expired(t)
}

/// An anonymous form page, made with the token of the double-submit cookie it sets.
pub(crate) fn anonymous_form(
    state: &AppState,
    jar: CookieJar,
    page: impl FnOnce(&str) -> Response,
) -> Response {
    let (jar, csrf) = csrf_cookie(state, jar);
    (jar, page(&csrf)).into_response()
}

pub(crate) fn csrf_cookie(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = state.config.csrf_cookie_name();
    if let Some(existing) = jar.get(name).map(|c| c.value().to_owned())
        && existing.len() == 43
    {
        return (jar, existing);
    }
    let value = random_base64url(32);
    let cookie = Cookie::build((name, value.clone()))
        .path("/")
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), value)
}

/// A 303, so that the browser follows a POST with a GET.
pub fn redirect(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "login_2fa.html")]
struct SecondFactorPage<'a> {
    t: &'static Texts,
    chrome: super::Chrome,
    csrf_token: &'a str,
    return_to: &'a str,
    /// A wrong code is said at the code field.
    error: super::FormError,
    /// "Use a passkey instead", when the account has one.
    passkey: Option<&'static PasskeyTexts>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SecondFactorForm {
    code: String,
    return_to: String,
}

#[derive(Deserialize)]
pub struct SecondFactorQuery {
    return_to: Option<String>,
}

/// `GET /login/2fa`: the second step on its own, where an upstream login started from a page
/// comes when the account has two-factor on (the browser holds the pending session).
pub async fn second_factor_page(
    page: AnonymousPage,
    Query(query): Query<SecondFactorQuery>,
) -> Response {
    let AnonymousPage { state, t, jar } = page;
    let return_to = return_path(query.return_to.as_deref());
    let passkey = match crate::account::login::pending_user(&state, &jar).await {
        Ok(user) => second_factor_passkey(&state, t, &user).await,
        Err(_) => None,
    };
    anonymous_form(&state, jar, |csrf_token| {
        render(
            StatusCode::OK,
            &SecondFactorPage {
                t,
                chrome: super::Chrome::bare(t, "/login"),
                csrf_token,
                return_to,
                error: super::FormError::none(),
                passkey,
            },
        )
    })
}

/// `POST /login/2fa`: the page's second step.
pub async fn second_factor(
    AnonymousPost {
        state,
        t,
        client,
        jar,
        csrf_token,
        form,
    }: AnonymousPost<SecondFactorForm>,
) -> Response {
    let return_to = return_path(Some(&form.return_to)).to_owned();
    let user = match crate::account::login::pending_user(&state, &jar).await {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let checked = match state.settings.get().await {
        Ok(settings) => {
            state
                .two_factor
                .complete_login(&user, &form.code, &settings, &client)
                .await
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Err(e) = checked {
        let message = t.error(&e);
        return match ApiError::from(e) {
            // A wrong code is said on the page; the rest is answered as the API answers it.
            ApiError::Refused(_) => {
                let page = SecondFactorPage {
                    t,
                    chrome: super::Chrome::bare(t, "/login"),
                    csrf_token: &csrf_token,
                    return_to: &return_to,
                    error: super::FormError::at("code", message.clone()),
                    passkey: second_factor_passkey(&state, t, &user).await,
                };
                (jar, render(StatusCode::OK, &page)).into_response()
            }
            other => other.into_response(),
        };
    }
    match crate::account::login::open_session(&state, jar, &user, &client).await {
        Ok(jar) => {
            let jar = jar.remove(Cookie::build(state.config.csrf_cookie_name()).path("/"));
            (jar, redirect(&return_to)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn offers_passkeys(state: &AppState, t: &Texts) -> Option<&'static PasskeyTexts> {
    state
        .passkeys
        .available()
        .then(|| super::account::passkeys::passkey_texts(t))
}

/// The passkey choice of the second step, when `user` has a passkey to use.
async fn second_factor_passkey(
    state: &AppState,
    t: &Texts,
    user: &User,
) -> Option<&'static PasskeyTexts> {
    match state.passkeys.has_passkeys(user.id).await {
        Ok(true) => Some(super::account::passkeys::passkey_texts(t)),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "passkeys unreadable: the second step offers codes only");
            None
        }
    }
}

/// This module's templates with sample data, for the test that renders every template.
#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let login = LoginPage {
        t,
        a: super::account::account_texts(t),
        chrome: super::Chrome::bare(t, "/login"),
        ways: Ways {
            providers: vec![super::account::ProviderLink {
                label: "GitHub",
                href: "/api/oauth/github/start?intent=login".into(),
            }],
            register_href: Some("/register".into()),
            reset: true,
        },
        csrf_token: "csrf",
        return_to: "/oauth/authorize?x=1",
        username: "alice",
        passkey: Some(super::account::passkeys::passkey_texts(t)),
        continue_to: Some("Sample <App>".into()),
        w: super::trust::trust_texts(t),
        error: super::FormError::at("password", "用户名或密码错误"),
    };
    let second = SecondFactorPage {
        t,
        chrome: super::Chrome::bare(t, "/login"),
        csrf_token: "csrf",
        return_to: "/",
        error: super::FormError::at("code", "验证码无效"),
        passkey: Some(super::account::passkeys::passkey_texts(t)),
    };
    vec![
        ("login.html", login.render().unwrap_or_default()),
        ("login_2fa.html", second.render().unwrap_or_default()),
    ]
}

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
#[cfg(test)]
mod props {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn jar(cookie_header: &str) -> CookieJar {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(cookie_header) {
            headers.insert(COOKIE, value);
        }
        CookieJar::from_headers(&headers)
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            vec(any::<char>(), 0..3000).prop_map(String::from_iter),
            "[a-zA-Z0-9_=; \"-]{0,60}",
        ]
    }

    proptest! {
        #[test]
        fn any_cookie_header_and_form_value_is_handled(header in text(), submitted in text()) {
            let jar = jar(&header);
            if csrf_ok(&jar, CSRF_COOKIE, &submitted) {
                // Only ever by repeating the cookie's own, non-empty value.
                prop_assert!(!submitted.is_empty());
                prop_assert_eq!(jar.get(CSRF_COOKIE).map(|c| c.value()), Some(submitted.as_str()));
            }
        }

        #[test]
        fn the_form_must_repeat_the_cookie_exactly(
            value in "[A-Za-z0-9_-]{0,43}",
            submitted in prop_oneof!["[A-Za-z0-9_-]{0,43}", text()],
            noise in "[a-z]{1,8}=[a-z0-9]{0,8}",
        ) {
            let jar = jar(&format!("{noise}; {CSRF_COOKIE}={value}"));
            prop_assert_eq!(csrf_ok(&jar, CSRF_COOKIE, &submitted), !value.is_empty() && submitted == value);
            prop_assert!(csrf_ok(&jar, CSRF_COOKIE, &value) || value.is_empty());
            prop_assert!(!csrf_ok(&CookieJar::new(), CSRF_COOKIE, &submitted));
        }
    }
}
