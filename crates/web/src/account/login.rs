use crate::account::view::LoginView;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::Client;
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_core::accounts::ClientInfo;
use keyward_core::model::User;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LoginBody {
    /// A user name or a verified e-mail address.
    username: String,
    password: String,
}

/// `POST /api/user/login`: checks the password and opens a session under a fresh id.
pub async fn post(
    State(state): State<AppState>,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let settings = state.settings.get().await?;
    let user = state
        .accounts
        .login(&body.username, &body.password, &client, &settings)
        .await?;
    let jar = open_session(&state, jar, &user, &client).await?;
    tracing::info!(user.id = user.id, "password login");
    Ok((jar, Success::new(LoginView::from(&user))))
}

/// Ends the browser's previous session, if any, and sets the cookie of a new one: the id always
/// changes at login, so a planted cookie never becomes a logged-in one.
pub async fn open_session(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    client: &ClientInfo,
) -> Result<CookieJar, ApiError> {
    let name = state.config.session_cookie_name();
    if let Some(old) = jar.get(name) {
        state.accounts.end_session(old.value()).await?;
    }
    let (secret, _) = state.accounts.start_session(user, client).await?;
    let cookie = Cookie::build((name, secret.into_exposed()))
        .path("/")
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Lax)
        .max_age(time_seconds(state.accounts.policy().session_ttl_secs))
        .build();
    Ok(jar.add(cookie))
}

fn time_seconds(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}
