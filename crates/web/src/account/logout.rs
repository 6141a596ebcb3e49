use crate::envelope::{ApiError, Success};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;

/// `GET /api/user/logout`: the session dies on the server, not just in the browser.
#[utoipa::path(get, path = "/api/user/logout", tag = "account",
    responses(
        (status = 200, description = "The session, if any, is ended and its cookie removed.", body = Answer<Nothing>),
        (status = 403, description = "A cross-site request.", body = Failure)),
    security((), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    // A GET that changes state: a link on another site must not log people out.
    crate::extract::origin::check(&headers, &state.config.public_url)?;
    let name = state.config.session_cookie_name();
    if let Some(cookie) = jar.get(name) {
        state.accounts.end_session(cookie.value()).await?;
    }
    let jar = jar.remove(Cookie::build(name).path("/"));
    Ok((jar, Success::new(())))
}
