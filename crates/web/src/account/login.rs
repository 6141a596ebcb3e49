use crate::account::view::LoginView;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, SameOrigin};
use crate::openapi::{Answer, Failure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_core::accounts::two_factor::TwoFactorError;
use keyward_core::accounts::{Accounts, ClientInfo, SignInMethod};
use keyward_core::model::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    /// A user name or a verified e-mail address.
    username: String,
    password: String,
}

/// `POST /api/user/login`: checks the password and opens a session under a fresh id.
#[utoipa::path(post, path = "/api/user/login", tag = "account",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in (a session cookie is set; with two-factor on, a pending one and `require_2fa`), or a refusal.", body = Answer<LoginData>),
        (status = 403, description = "A cross-site request (another site must not log this browser in).", body = Failure),
        (status = 429, description = "Too many failures; see `Retry-After`.", body = Failure)))]
pub async fn post(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let settings = state.settings.get().await?;
    let user = state
        .accounts
        .login(&body.username, &body.password, &client, &settings)
        .await?;
    tracing::info!(user.id = user.id, "password accepted");
    let (jar, step) = begin_login(&state, jar, &user, &client, SignInMethod::Password).await?;
    Ok((jar, step.answer(&user)).into_response())
}

/// `data` of a login answer: the user, or word that a second factor is due.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginData {
    User(LoginView),
    SecondFactor(SecondFactorRequired),
}

#[derive(Serialize, ToSchema)]
pub struct SecondFactorRequired {
    pub require_2fa: bool,
}

/// Where a login stands once its first factor is proven.
pub enum LoginStep {
    Done,
    /// The account has two-factor on: the browser holds a pending session until
    /// `POST /api/user/login/2fa`.
    SecondFactor,
}

impl LoginStep {
    /// new-api's answers: the user, or `{"require_2fa": true}`.
    pub fn answer(&self, user: &User) -> axum::response::Response {
        match self {
            Self::Done => Success::new(LoginData::User(LoginView::from(user))).into_response(),
            Self::SecondFactor => Success::with_message(
                "请输入两步验证码",
                LoginData::SecondFactor(SecondFactorRequired { require_2fa: true }),
            )
            .into_response(),
        }
    }
}

/// The one way every login (password, upstream, passkey...) continues: a full session, or a
/// pending one when the core says a second factor is still due. See [`begin_login_via`].
pub async fn begin_login(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    client: &ClientInfo,
    method: SignInMethod,
) -> Result<(CookieJar, LoginStep), ApiError> {
    begin_login_via(state, jar, user, client, method, None).await
}

/// [`begin_login`] naming the upstream provider (`github`, `oidc`...) that proved the user. The
/// sign-in is recorded here, for the account's security activity.
pub async fn begin_login_via(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    client: &ClientInfo,
    method: SignInMethod,
    provider: Option<&str>,
) -> Result<(CookieJar, LoginStep), ApiError> {
    state
        .accounts
        .record_sign_in(user, method, provider, client)
        .await;
    if !Accounts::second_factor_due(user, method) {
        return Ok((
            open_session(state, jar, user, client).await?,
            LoginStep::Done,
        ));
    }
    let name = state.config.session_cookie_name();
    if let Some(old) = jar.get(name) {
        state.accounts.end_session(old.value()).await?;
    }
    let (secret, _) = state.accounts.start_pending_session(user, client).await?;
    let cookie = Cookie::build((name, secret.into_exposed()))
        .path("/")
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Lax)
        .build();
    Ok((jar.add(cookie), LoginStep::SecondFactor))
}

#[derive(Deserialize, ToSchema)]
pub struct SecondFactorBody {
    code: String,
}

/// `POST /api/user/login/2fa` `{"code"}`: a TOTP code or a recovery code finishes a pending
/// login. Wrong codes are limited per account (`totp_failures_max_per_account`).
#[utoipa::path(post, path = "/api/user/login/2fa", tag = "account",
    request_body = SecondFactorBody,
    responses(
        (status = 200, description = "Logged in (a fresh session cookie), or a wrong code.", body = Answer<LoginView>),
        (status = 401, description = "No pending login in this browser.", body = Failure),
        (status = 403, description = "A cross-site request.", body = Failure),
        (status = 429, description = "Too many failures; see `Retry-After`.", body = Failure)),
    security((), ("session" = [])))]
pub async fn second_factor(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<SecondFactorBody>,
) -> Result<impl IntoResponse, ApiError> {
    let user = complete_second_factor(&state, &jar, &body.code, &client).await?;
    let jar = open_session(&state, jar, &user, &client).await?;
    tracing::info!(user.id = user.id, "second factor accepted");
    Ok((jar, Success::new(LoginView::from(&user))))
}

/// Checks the code for the browser's pending login; the caller opens the full session.
pub async fn complete_second_factor(
    state: &AppState,
    jar: &CookieJar,
    code: &str,
    client: &ClientInfo,
) -> Result<User, ApiError> {
    let user = pending_user(state, jar).await?;
    let settings = state.settings.get().await?;
    match state
        .two_factor
        .complete_login(&user, code, &settings, client)
        .await
    {
        Ok(()) => {}
        Err(TwoFactorError::WrongCode) => return Err(ApiError::Refused("验证码错误".into())),
        Err(e) => return Err(e.into()),
    }
    Ok(user)
}

/// The user of the browser's pending login (first factor proven, second due).
pub async fn pending_user(state: &AppState, jar: &CookieJar) -> Result<User, ApiError> {
    let cookie = jar
        .get(state.config.session_cookie_name())
        .ok_or(ApiError::Unauthorized("登录已过期，请重新登录"))?;
    state
        .accounts
        .pending_session(cookie.value())
        .await?
        .ok_or(ApiError::Unauthorized("登录已过期，请重新登录"))
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
    Ok(remember_device(state, jar.add(cookie), user))
}

/// Gives the browser a device token for `user`: from now on its password attempts for this
/// account have a budget of their own, which others' guesses cannot use up.
fn remember_device(state: &AppState, jar: CookieJar, user: &User) -> CookieJar {
    let Some(token) = state.accounts.device_token(user) else {
        return jar;
    };
    let cookie = Cookie::build((state.config.device_cookie_name(), token.into_exposed()))
        .path("/")
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(400))
        .build();
    jar.add(cookie)
}

fn time_seconds(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}
