use crate::envelope::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use keyward_core::model::{Session, User};

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum AuthVia {
    Session(Session),
    DeveloperToken,
}

/// The logged-in user: by session cookie, or by developer token in `Authorization: Bearer`.
/// Disabled users are refused at once, whichever way they come.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub via: AuthVia,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(current) = parts.extensions.get::<Self>() {
            return Ok(current.clone());
        }
        let current = authenticate(parts, state).await?;
        check_new_api_user(parts, &current.user)?;
        parts.extensions.insert(current.clone());
        Ok(current)
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<CurrentUser, ApiError> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or_default();
        return match state.accounts.developer_token_user(token).await? {
            Some(user) => Ok(CurrentUser {
                user,
                via: AuthVia::DeveloperToken,
            }),
            None => Err(ApiError::Unauthorized("无权进行此操作，access token 无效")),
        };
    }

    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(state.config.session_cookie_name()) else {
        return Err(ApiError::Unauthorized(
            "无权进行此操作，未登录且未提供 access token",
        ));
    };
    // A cookie rides along on requests other sites make the browser send (SameSite=Lax still
    // lets top-level GETs through, and a sibling sub-domain is "same-site"): refuse them (CSRF).
    // A developer token is a header no other site can set, so it needs no such check.
    super::origin::check(&parts.headers, &state.config.public_url)?;
    match state.accounts.session(cookie.value()).await? {
        Some((session, user)) => Ok(CurrentUser {
            user,
            via: AuthVia::Session(session),
        }),
        None => Err(ApiError::Unauthorized(
            "无权进行此操作，未登录且未提供 access token",
        )),
    }
}

/// new-api's clients send `New-Api-User: <id>`; when present it must name the caller.
fn check_new_api_user(parts: &Parts, user: &User) -> Result<(), ApiError> {
    let Some(value) = parts.headers.get("new-api-user") else {
        return Ok(());
    };
    match value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(id) if id == user.id => Ok(()),
        Some(_) => Err(ApiError::Unauthorized(
            "无权进行此操作，New-Api-User 与登录用户不匹配",
        )),
        None => Err(ApiError::Unauthorized(
            "无权进行此操作，New-Api-User 格式错误",
        )),
    }
}

const BROWSER_ONLY: &str = "请在浏览器中登录后操作";

impl CurrentUser {
    /// The browser session the caller came with. Whatever yields a session or a way in (setting
    /// the password, binding an e-mail or an identity, a new developer token) needs one: a
    /// developer token must never turn itself into more than it is.
    pub fn browser_session(&self) -> Result<&Session, ApiError> {
        match &self.via {
            AuthVia::Session(session) => Ok(session),
            AuthVia::DeveloperToken => Err(ApiError::Forbidden(BROWSER_ONLY)),
        }
    }
}

/// A user logged in with a browser session; a developer token is refused (403).
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub session: Session,
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        let session = current.browser_session()?.clone();
        Ok(Self {
            user: current.user,
            session,
        })
    }
}

/// The words of the refusal when a fresh sign-in is needed (see [`SessionUser::require_recent`]).
pub const SIGN_IN_AGAIN: &str = "请重新登录后再进行此操作";

impl SessionUser {
    /// Refuses (403) unless the session's login is recent: the sensitive account changes
    /// (passkeys, e-mail change, deletion) need the user to have just proven who they are. Pages
    /// send such a user to `/login?prompt=login`.
    pub fn require_recent(&self, now: i64) -> Result<(), ApiError> {
        if self.session.is_recent_sign_in(now) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(SIGN_IN_AGAIN))
        }
    }
}

/// A logged-in admin or root.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if !current.user.role.is_admin() {
            return Err(ApiError::Forbidden("无权进行此操作，权限不足"));
        }
        Ok(Self(current))
    }
}

/// `Option<CurrentUser>`: `None` for anonymous callers; other failures still refuse.
impl axum::extract::OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        match <Self as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(current) => Ok(Some(current)),
            Err(ApiError::Unauthorized(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
