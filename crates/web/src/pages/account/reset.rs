//! Password reset by e-mail: `/reset` asks for the address (the same answer whether or not an
//! account has it) and mails a link to `/user/reset`, where the user chooses a new password.
//! The same domain calls as `/api/reset_password` and `/api/user/reset`; resetting ends every
//! session of the account.

use super::{AccountTexts, account_texts, unavailable};
use crate::pages::login::{AnonymousPage, AnonymousPost, anonymous_form};
use crate::pages::{Chrome, FormError, Refusal, Texts, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/reset.html")]
struct AskPage<'a> {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: &'a str,
    email: &'a str,
    notice: Option<&'static str>,
    /// Said at the e-mail field.
    error: FormError,
}

async fn ask(
    state: &AppState,
    t: &'static Texts,
    jar: CookieJar,
    status: StatusCode,
    email: &str,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    anonymous_form(state, jar, |csrf_token| {
        render(
            status,
            &AskPage {
                t,
                a: account_texts(t),
                chrome: Chrome::bare(t, "/reset"),
                csrf_token,
                email,
                notice,
                error: FormError::of_field("email", error),
            },
        )
    })
}

/// `GET /reset`.
pub async fn get(page: AnonymousPage) -> Response {
    let AnonymousPage { state, t, jar } = page;
    ask(&state, t, jar, StatusCode::OK, "", None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AskForm {
    email: String,
}

/// `POST /reset`: mails the link if an account has the address; says the same either way.
pub async fn post(
    AnonymousPost {
        state,
        t,
        client,
        jar,
        form,
        ..
    }: AnonymousPost<AskForm>,
) -> Response {
    let mail = crate::federation::email::mail_context(&state);
    let sent = state
        .accounts
        .send_reset_link(&mail, &form.email, &client.ip)
        .await;
    let (status, notice, error) = match sent {
        Ok(()) => (StatusCode::OK, Some(account_texts(t).reset_sent), None),
        Err(e) => match Refusal::of(t, e) {
            Refusal::Shown(status, message) => (status, None, Some(message)),
            Refusal::Ours(detail) => return unavailable(t, &detail),
        },
    };
    ask(&state, t, jar, status, &form.email, notice, error).await
}

#[derive(Template)]
#[template(path = "account/reset_choose.html")]
struct ChoosePage<'a> {
    t: &'static Texts,
    a: &'static AccountTexts,
    chrome: Chrome,
    csrf_token: &'a str,
    email: &'a str,
    token: &'a str,
    /// Set once the password was changed: the form is gone.
    done: bool,
    error: FormError,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkQuery {
    email: String,
    token: String,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page, its states spelled out"
)]
async fn choose(
    state: &AppState,
    t: &'static Texts,
    jar: CookieJar,
    status: StatusCode,
    email: &str,
    token: &str,
    done: bool,
    error: FormError,
) -> Response {
    anonymous_form(state, jar, |csrf_token| {
        render(
            status,
            &ChoosePage {
                t,
                a: account_texts(t),
                chrome: Chrome::bare(t, "/login"),
                csrf_token,
                email,
                token,
                done,
                error,
            },
        )
    })
}

/// `GET /user/reset?email=&token=`: the page the mailed link opens (new-api's path).
pub async fn choose_get(page: AnonymousPage, Query(query): Query<LinkQuery>) -> Response {
    let AnonymousPage { state, t, jar } = page;
    if query.email.len() > 256 || query.token.len() > 128 {
        let error = FormError::form(account_texts(t).reset_bad_link);
        return choose(
            &state,
            t,
            jar,
            StatusCode::BAD_REQUEST,
            "",
            "",
            false,
            error,
        )
        .await;
    }
    choose(
        &state,
        t,
        jar,
        StatusCode::OK,
        &query.email,
        &query.token,
        false,
        FormError::none(),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChooseForm {
    email: String,
    token: String,
    password: String,
    password2: String,
}

/// `POST /user/reset`.
pub async fn choose_post(
    AnonymousPost {
        state,
        t,
        client,
        jar,
        form,
        ..
    }: AnonymousPost<ChooseForm>,
) -> Response {
    let a = account_texts(t);
    let (status, error) = if form.password != form.password2 {
        (
            StatusCode::OK,
            FormError::at("password2", a.passwords_differ),
        )
    } else {
        let reset = state
            .accounts
            .reset_password(&form.email, &form.token, &form.password, &client.ip)
            .await;
        match reset {
            Ok(()) => {
                let none = FormError::none();
                return choose(&state, t, jar, StatusCode::OK, "", "", true, none).await;
            }
            Err(e) => match Refusal::of(t, e) {
                Refusal::Shown(status, message) => (status, FormError::form(message)),
                Refusal::Ours(detail) => return unavailable(t, &detail),
            },
        }
    };
    choose(
        &state,
        t,
        jar,
        status,
        &form.email,
        &form.token,
        false,
        error,
    )
    .await
}

#[cfg(test)]
pub(crate) fn samples(t: &'static Texts) -> crate::pages::Gallery {
    let a = account_texts(t);
    let ask = AskPage {
        t,
        a,
        chrome: Chrome::bare(t, "/reset"),
        csrf_token: "csrf",
        email: "alice@example.com",
        notice: Some(a.reset_sent),
        error: FormError::at("email", "请求过于频繁 <b>"),
    };
    let choose = |done| ChoosePage {
        t,
        a,
        chrome: Chrome::bare(t, "/login"),
        csrf_token: "csrf",
        email: "alice@example.com",
        token: "tok_0123456789abcdef",
        done,
        error: FormError::form(a.reset_bad_link),
    };
    vec![
        ("account/reset.html", ask.render().unwrap_or_default()),
        (
            "account/reset_choose.html",
            choose(false).render().unwrap_or_default(),
        ),
        (
            "account/reset_choose.html",
            choose(true).render().unwrap_or_default(),
        ),
    ]
}
