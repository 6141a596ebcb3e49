//! The signed-in user of a page. Pages take the session cookie only (never a bearer token), send
//! anonymous visitors to `/login` and back, and give every form a CSRF token derived from the
//! session, so a token is worthless in any other browser and dies with the session.

use super::{Chrome, Texts, error_page, login::redirect, texts};
use crate::extract::Client;
use crate::state::AppState;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use keyward_core::accounts::ClientInfo;
use keyward_core::model::{Session, User};
use keyward_core::secret::{constant_time_eq, derive};
use serde::Deserialize;
use serde::de::DeserializeOwned;

const CSRF_PURPOSE: &str = "keyward-page-csrf";

/// The form token of the session whose cookie holds `cookie`.
pub(crate) fn page_csrf(cookie: &str) -> String {
    derive(CSRF_PURPOSE, cookie)
}

pub struct PageUser {
    pub user: User,
    pub session: Session,
    pub t: &'static Texts,
    /// The hidden `csrf_token` every state-changing form on the page carries.
    pub csrf: String,
    /// The current path and query, for the language switch and for coming back after login.
    pub path: String,
}

impl PageUser {
    pub fn chrome(&self) -> Chrome {
        Chrome::new(self.t, &self.path, Some(&self.user))
    }

    /// The page to answer with when a form's token is not this session's; `None` when it is.
    /// Forms posted as fields (`F`) go through [`PagePost`], which asks this for them.
    pub fn refuse_csrf(&self, submitted: &str) -> Option<Response> {
        if constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes()) {
            return None;
        }
        Some(super::page_expired(self.t))
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let t = texts(&parts.headers);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let to_login = || {
            redirect(&format!(
                "/login?return_to={}",
                super::encode_return_to(&path)
            ))
        };
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(state.config.session_cookie_name()) else {
            return Err(to_login());
        };
        match state.accounts.session(cookie.value()).await {
            Ok(Some((session, user))) => Ok(Self {
                csrf: page_csrf(cookie.value()),
                user,
                session,
                t,
                path,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err(error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    t,
                    t.temporarily_unavailable,
                ))
            }
        }
    }
}

/// A signed-in admin; others get a 403 page.
pub struct PageAdmin(pub PageUser);

impl FromRequestParts<AppState> for PageAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let page = PageUser::from_request_parts(parts, state).await?;
        if !page.user.role.is_admin() {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                page.t,
                page.t.page_forbidden,
            ));
        }
        Ok(Self(page))
    }
}

impl AsRef<PageUser> for PageUser {
    fn as_ref(&self) -> &PageUser {
        self
    }
}

impl AsRef<PageUser> for PageAdmin {
    fn as_ref(&self) -> &PageUser {
        &self.0
    }
}

/// A form posted from a signed-in page (`P`: any signed-in user, or [`PageAdmin`]), with what
/// its handler needs. The form's CSRF token is checked before the handler runs: a forged or
/// stale one gets the expired page, so no handler can forget it.
pub struct PagePost<F, P = PageUser> {
    pub state: AppState,
    pub page: P,
    pub client: ClientInfo,
    pub form: F,
}

/// For a form that carries nothing but its token.
#[derive(Deserialize)]
pub struct TokenOnly {}

/// Every page form's token, beside the form's own fields.
#[derive(Deserialize)]
pub(crate) struct WithCsrf<F> {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(flatten)]
    pub form: F,
}

impl<F, P> FromRequest<AppState> for PagePost<F, P>
where
    F: DeserializeOwned + Send,
    P: FromRequestParts<AppState, Rejection = Response> + AsRef<PageUser> + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let page = P::from_request_parts(&mut parts, state).await?;
        let Ok(Client(client)) = Client::from_request_parts(&mut parts, state).await;
        let Form(posted) =
            Form::<WithCsrf<F>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        if let Some(refused) = page.as_ref().refuse_csrf(&posted.csrf_token) {
            return Err(refused);
        }
        Ok(Self {
            state: state.clone(),
            page,
            client,
            form: posted.form,
        })
    }
}
