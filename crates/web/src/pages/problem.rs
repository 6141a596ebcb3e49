//! The one error page: what went wrong in the page's language, what the visitor can do about
//! it, a way on (back to the app when its redirect URI is known to be the app's, else home) and
//! a stable code a developer can search for. No page is a dead end.

use super::{Chrome, Texts, render};
use axum::http::StatusCode;
use axum::response::Response;
use std::borrow::Cow;

/// The error page's codes: stable, for developers and support; never translated, never changed
/// once published (the integration guide lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    UnknownClient,
    ClientMetadataDocument,
    MissingRedirectUri,
    UnregisteredRedirectUri,
    MalformedRequest,
    SessionEnded,
    RequestExpired,
    InvalidIdTokenHint,
    ClientIdMismatch,
    UnregisteredPostLogoutRedirectUri,
    PageExpired,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooManyRequests,
    Unavailable,
    BadRequest,
}

impl Code {
    pub const ALL: [Code; 18] = [
        Self::UnknownClient,
        Self::ClientMetadataDocument,
        Self::MissingRedirectUri,
        Self::UnregisteredRedirectUri,
        Self::MalformedRequest,
        Self::SessionEnded,
        Self::RequestExpired,
        Self::InvalidIdTokenHint,
        Self::ClientIdMismatch,
        Self::UnregisteredPostLogoutRedirectUri,
        Self::PageExpired,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::TooManyRequests,
        Self::Unavailable,
        Self::BadRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownClient => "unknown_client",
            Self::ClientMetadataDocument => "client_metadata_document",
            Self::MissingRedirectUri => "missing_redirect_uri",
            Self::UnregisteredRedirectUri => "unregistered_redirect_uri",
            Self::MalformedRequest => "malformed_request",
            Self::SessionEnded => "session_ended",
            Self::RequestExpired => "request_expired",
            Self::InvalidIdTokenHint => "invalid_id_token_hint",
            Self::ClientIdMismatch => "client_id_mismatch",
            Self::UnregisteredPostLogoutRedirectUri => "unregistered_post_logout_redirect_uri",
            Self::PageExpired => "page_expired",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::TooManyRequests => "too_many_requests",
            Self::Unavailable => "unavailable",
            Self::BadRequest => "bad_request",
        }
    }
}

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
    pub code: Code,
    pub message: Cow<'a, str>,
    pub hint: Hint,
    pub back: Option<Back>,
}

impl<'a> Problem<'a> {
    pub fn new(
        status: StatusCode,
        code: Code,
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
            401 => (Code::Unauthorized, Hint::StartAgain),
            403 => (Code::Forbidden, Hint::NotAllowed),
            404 => (Code::NotFound, Hint::CheckAddress),
            409 => (Code::Conflict, Hint::GoBack),
            429 => (Code::TooManyRequests, Hint::TryLater),
            500..=599 => (Code::Unavailable, Hint::TryLater),
            _ => (Code::BadRequest, Hint::GoBack),
        };
        Self::new(status, code, message, hint)
    }

    /// A request that cannot be read; `hint` says whose it is to fix.
    pub fn malformed(t: &'static Texts, hint: Hint) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Code::MalformedRequest,
            t.malformed_request,
            hint,
        )
    }

    /// A form answered after its session ended.
    pub fn session_ended(t: &'static Texts) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Code::SessionEnded,
            t.session_ended_start_again,
            Hint::StartAgain,
        )
    }

    /// A form whose token is not this session's.
    pub fn request_expired(t: &'static Texts) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            Code::RequestExpired,
            t.request_invalid_start_again,
            Hint::StartAgain,
        )
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
            code: problem.code.as_str(),
            back: problem.back.as_ref(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn the_integration_guide_lists_every_code_in_both_languages() {
        for guide in [
            include_str!("../../../../docs/integration-guide.en.md"),
            include_str!("../../../../docs/integration-guide.zh-CN.md"),
        ] {
            for code in Code::ALL {
                assert!(guide.contains(&format!("`{}`", code.as_str())), "{code:?}");
            }
        }
    }
}
