//! The one error page: what went wrong in the page's language, what the visitor can do about
//! it, a way on (back to the app when its redirect URI is known to be the app's, else home) and
//! a stable code a developer can search for. No page is a dead end.

use super::{Chrome, Texts, render};
use axum::http::StatusCode;
use axum::response::Response;
use std::borrow::Cow;

/// What the visitor can do, one sentence per kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// The app that sent the visitor here asked wrongly: only its developer can fix it.
    FixTheApp,
    /// The request is gone (session ended, form from another session): start from the app.
    StartAgain,
    /// The page is stale: reload it.
    Reload,
    /// This account may not do this.
    NotAllowed,
    /// Nothing lives at this address.
    CheckAddress,
    /// Our failure: try again later.
    TryLater,
    /// The input was not right: go back and correct it.
    GoBack,
}

/// A way back to the app that sent the visitor, once its redirect URI is known to be its own.
pub struct Back {
    pub app: String,
    pub href: String,
}

/// A failure as the error page shows it.
pub struct Problem<'a> {
    pub status: StatusCode,
    /// Stable, for developers and support: never translated, never changed once published.
    pub code: &'static str,
    pub message: Cow<'a, str>,
    pub hint: Hint,
    pub back: Option<Back>,
}

impl<'a> Problem<'a> {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'a, str>>,
        hint: Hint,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            hint,
            back: None,
        }
    }

    /// A failure known only by its status: the code and hint follow from it.
    pub fn of_status(status: StatusCode, message: impl Into<Cow<'a, str>>) -> Self {
        let (code, hint) = match status.as_u16() {
            401 => ("unauthorized", Hint::StartAgain),
            403 => ("forbidden", Hint::NotAllowed),
            404 => ("not_found", Hint::CheckAddress),
            409 => ("conflict", Hint::GoBack),
            429 => ("too_many_requests", Hint::TryLater),
            500..=599 => ("unavailable", Hint::TryLater),
            _ => ("bad_request", Hint::GoBack),
        };
        Self::new(status, code, message, hint)
    }

    pub fn with_back(mut self, back: Option<Back>) -> Self {
        self.back = back;
        self
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub t: &'static Texts,
    pub chrome: Chrome,
    pub message: &'a str,
    pub hint: &'static str,
    pub code: &'static str,
    pub back: Option<&'a Back>,
}

impl Texts {
    pub fn hint(&self, hint: Hint) -> &'static str {
        match hint {
            Hint::FixTheApp => self.hint_fix_the_app,
            Hint::StartAgain => self.hint_start_again,
            Hint::Reload => self.hint_reload,
            Hint::NotAllowed => self.hint_not_allowed,
            Hint::CheckAddress => self.hint_check_address,
            Hint::TryLater => self.hint_try_later,
            Hint::GoBack => self.hint_go_back,
        }
    }
}

/// The error page for `problem`.
pub fn show(t: &'static Texts, problem: &Problem<'_>) -> Response {
    render(
        problem.status,
        &ErrorPage {
            t,
            chrome: Chrome::bare(t, "/"),
            message: &problem.message,
            hint: t.hint(problem.hint),
            code: problem.code,
            back: problem.back.as_ref(),
        },
    )
}
