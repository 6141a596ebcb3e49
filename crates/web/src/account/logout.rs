use crate::envelope::{ApiError, Success};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;

/// `GET /api/user/logout`: the session dies on the server, not just in the browser.
pub async fn get(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    let name = state.config.session_cookie_name();
    if let Some(cookie) = jar.get(name) {
        state.accounts.end_session(cookie.value()).await?;
    }
    let jar = jar.remove(Cookie::build(name).path("/"));
    Ok((jar, Success::new(())))
}
