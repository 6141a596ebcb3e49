//! `GET`/`POST /register`: password registration under the same switches as
//! `/api/user/register` (registration closed, password registration off, e-mail verification),
//! with the anonymous double-submit CSRF of `/login`. Success signs the new user in (a fresh
//! session, as a login does) and goes on to `return_to`.

use super::{AccountTexts, account_texts, send_verification_code, unavailable};
use crate::account::login::{LoginStep, begin_login};
use crate::pages::login::{
    AnonymousPage, AnonymousPost, Ways, anonymous_form, redirect, return_path, ways,
};
use crate::pages::{Chrome, FormError, Refusal, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use keyward_core::accounts::validate::FieldError;
use keyward_core::accounts::{AccountError, Registration, SignInMethod};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage<'a> {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    ways: Ways,
    csrf_token: &'a str,
    return_to: &'a str,
    login_href: String,
    aff: &'a str,
    username: &'a str,
    email: &'a str,
    /// Why there is no form: registration is off.
    closed: Option<String>,
    needs_email: bool,
    notice: Option<&'static str>,
    error: FormError,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    return_to: Option<String>,
    aff: Option<String>,
}

struct View<'a> {
    return_to: &'a str,
    aff: &'a str,
    username: &'a str,
    email: &'a str,
    notice: Option<&'static str>,
    error: FormError,
}

async fn show(
    state: &AppState,
    t: &'static Texts,
    jar: CookieJar,
    status: StatusCode,
    view: View<'_>,
) -> Response {
    let settings = match state.settings.get().await {
        Ok(s) => s,
        Err(e) => return unavailable(t, &e),
    };
    let closed = if !settings.register_enabled {
        Some(t.error(&AccountError::RegistrationClosed))
    } else if !settings.password_register_enabled {
        Some(t.error(&AccountError::PasswordRegistrationClosed))
    } else {
        None
    };
    let mut ways = ways(state, view.return_to).await;
    ways.register_href = None;
    anonymous_form(state, jar, |csrf_token| {
        render(
            status,
            &RegisterPage {
                t,
                a: account_texts(t),
                chrome: Chrome::bare(
                    t,
                    &format!(
                        "/register?return_to={}",
                        crate::pages::encode_return_to(view.return_to)
                    ),
                ),
                ways,
                csrf_token,
                return_to: view.return_to,
                login_href: format!(
                    "/login?return_to={}",
                    crate::pages::encode_return_to(view.return_to)
                ),
                aff: view.aff,
                username: view.username,
                email: view.email,
                closed,
                needs_email: settings.email_verification_enabled,
                notice: view.notice,
                error: if settings.email_verification_enabled {
                    view.error
                } else {
                    view.error.unless_hidden(&["email", "code"])
                },
            },
        )
    })
}

/// The field of the register form a refusal is about; "" for the form as a whole.
fn field_of(e: &AccountError) -> &'static str {
    match e {
        AccountError::UsernameTaken | AccountError::Invalid(FieldError::Username) => "username",
        AccountError::Invalid(FieldError::Password) => "password",
        AccountError::Invalid(FieldError::Email) | AccountError::EmailVerificationRequired => {
            "email"
        }
        AccountError::BadVerificationCode => "code",
        _ => "",
    }
}

pub async fn get(page: AnonymousPage, Query(query): Query<RegisterQuery>) -> Response {
    let AnonymousPage { state, t, jar } = page;
    let return_to = return_path(query.return_to.as_deref());
    let aff = query
        .aff
        .as_deref()
        .filter(|a| a.len() <= 32)
        .unwrap_or_default();
    let view = View {
        return_to,
        aff,
        username: "",
        email: "",
        notice: None,
        error: FormError::none(),
    };
    show(&state, t, jar, StatusCode::OK, view).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterForm {
    return_to: String,
    aff: String,
    username: String,
    password: String,
    password2: String,
    email: String,
    code: String,
    /// `send_code` (mail a code to `email` first) or `register`.
    action: String,
}

pub async fn post(
    AnonymousPost {
        state,
        t,
        client,
        jar,
        form,
        ..
    }: AnonymousPost<RegisterForm>,
) -> Response {
    let a = account_texts(t);
    let return_to = return_path(Some(&form.return_to)).to_owned();
    let aff = if form.aff.len() <= 32 {
        form.aff.as_str()
    } else {
        ""
    };
    let view = |notice: Option<&'static str>, error: FormError| View {
        return_to: &return_to,
        aff,
        username: &form.username,
        email: &form.email,
        notice,
        error,
    };
    if form.action == "send_code" {
        let (status, view) =
            match send_verification_code(&state, &form.email, &client.ip, None).await {
                Ok(()) => (StatusCode::OK, view(Some(a.code_sent), FormError::none())),
                Err(e) => match Refusal::of(t, e) {
                    Refusal::Shown(status, message) => {
                        (status, view(None, FormError::at("email", message)))
                    }
                    Refusal::Ours(detail) => return unavailable(t, &detail),
                },
            };
        return show(&state, t, jar, status, view).await;
    }
    if form.password != form.password2 {
        let error = FormError::at("password2", a.passwords_differ);
        return show(&state, t, jar, StatusCode::OK, view(None, error)).await;
    }
    let settings = match state.settings.get().await {
        Ok(s) => s,
        Err(e) => return unavailable(t, &e),
    };
    let registration = Registration {
        username: &form.username,
        password: &form.password,
        display_name: None,
        aff_code: Some(aff),
        email: Some(&form.email),
        verification_code: Some(&form.code),
        ip: &client.ip,
    };
    let user = match state.accounts.register(registration, &settings).await {
        Ok(user) => user,
        Err(e @ (AccountError::Store(_) | AccountError::Hash(_))) => return unavailable(t, &e),
        Err(e) => {
            let status = match e {
                AccountError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::OK,
            };
            let error = FormError::of_field(field_of(&e), Some(t.error(&e)));
            return show(&state, t, jar, status, view(None, error)).await;
        }
    };
    tracing::info!(user.id = user.id, "user registered on the page");
    match begin_login(&state, jar, &user, &client, SignInMethod::Password).await {
        Ok((jar, LoginStep::Done | LoginStep::SecondFactor)) => {
            let jar = jar.remove(Cookie::build(state.config.csrf_cookie_name()).path("/"));
            (jar, redirect(&return_to)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let page = |closed: Option<String>, needs_email| RegisterPage {
        t,
        a,
        chrome: Chrome::bare(t, "/register?return_to=%2F"),
        ways: Ways {
            providers: vec![super::ProviderLink {
                label: "GitHub",
                href: "/api/oauth/github/start?intent=login&return_to=%2F".into(),
            }],
            register_href: None,
            reset: true,
        },
        csrf_token: "csrf",
        return_to: "/oauth/authorize?x=1",
        login_href: "/login?return_to=%2Foauth%2Fauthorize%3Fx%3D1".into(),
        aff: "aff",
        username: "alice",
        email: "alice@example.com",
        closed,
        needs_email,
        notice: Some(a.code_sent),
        error: FormError::at("password2", a.passwords_differ),
    };
    vec![
        (
            "account/register.html",
            page(None, true).render().unwrap_or_default(),
        ),
        (
            "account/register.html",
            page(Some(t.error(&AccountError::RegistrationClosed)), false)
                .render()
                .unwrap_or_default(),
        ),
    ]
}
