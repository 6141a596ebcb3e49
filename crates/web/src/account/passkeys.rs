//! Passkeys over JSON, in new-api's routes and envelope: sign in (begin/finish), enrol
//! (begin/finish, after a recent sign-in), list, rename, remove, and a passkey as the second
//! step of a login. A ceremony is bound to the browser that began it by an HttpOnly cookie
//! holding the secret its stored state is keyed by. The pages drive these with the one
//! external script.

use crate::account::login::{LoginData, LoginStep, begin_login, open_session};
use crate::account::view::LoginView;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser, SameOrigin, SessionUser};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use keyward_core::accounts::passkeys::{
    Actor, Begun, CHALLENGE_TTL_SECS, PasskeyError, PasskeyInfo,
};
use keyward_core::accounts::{Change, SignInMethod};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The cookie that ties a ceremony to this browser. Every passkey route is under `/api/user/`.
const CHALLENGE_COOKIE: &str = "keyward_passkey";
const COOKIE_PATH: &str = "/api/user/";

impl From<PasskeyError> for ApiError {
    fn from(e: PasskeyError) -> Self {
        match e {
            PasskeyError::Store(e) => e.into(),
            PasskeyError::State(e) => ApiError::Internal(e),
            PasskeyError::Throttled { retry_after } => ApiError::TooManyRequests(retry_after),
            PasskeyError::SignInAgain => ApiError::Forbidden(crate::extract::SIGN_IN_AGAIN),
            other => ApiError::Refused(other.to_string()),
        }
    }
}

/// `data` of a begin: the options for `navigator.credentials.create()` / `.get()`, binary
/// fields in base64url (`{"publicKey": {...}}`, plus `"mediation": "conditional"` for a
/// sign-in, which a page may use for the autofill prompt or drop for a button).
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct CeremonyOptions(serde_json::Value);

/// A `PublicKeyCredential` as the browser returned it, binary fields in base64url (what
/// `credential.toJSON()` gives).
#[derive(Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct CredentialJson(serde_json::Value);

#[derive(Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<PasskeyInfo> for PasskeyView {
    fn from(p: PasskeyInfo) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct EnrolBody {
    /// A name the user will recognise the passkey by (1–64 characters).
    name: String,
    credential: CredentialJson,
}

#[derive(Deserialize, ToSchema)]
pub struct RenameBody {
    name: String,
}

/// Sets the challenge cookie and answers the options.
fn begun(state: &AppState, jar: CookieJar, begun: Begun) -> impl IntoResponse + use<> {
    let cookie = Cookie::build((CHALLENGE_COOKIE, begun.secret.into_exposed()))
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(CHALLENGE_TTL_SECS))
        .build();
    (
        jar.add(cookie),
        Success::new(CeremonyOptions(begun.options)),
    )
}

/// The browser's challenge secret, and the jar without it: a challenge is used once.
fn challenge(jar: CookieJar) -> (CookieJar, String) {
    let value = jar
        .get(CHALLENGE_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    (
        jar.remove(Cookie::build(CHALLENGE_COOKIE).path(COOKIE_PATH)),
        value,
    )
}

/// `POST /api/user/passkey/login/begin`: options for a sign-in with any passkey of this site.
#[utoipa::path(post, path = "/api/user/passkey/login/begin", tag = "account",
    responses(
        (status = 200, description = "Options for `navigator.credentials.get()` (a challenge cookie is set), or a refusal (passkeys unavailable on this host).", body = Answer<CeremonyOptions>),
        (status = 403, description = "A cross-site request.", body = Failure),
        (status = 429, description = "Too many sign-ins begun from this address; see `Retry-After`.", body = Failure)))]
pub async fn login_begin(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    Client(client): Client,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    let options = state.passkeys.begin_sign_in(&client.ip).await?;
    Ok(begun(&state, jar, options))
}

/// `POST /api/user/passkey/login/finish`: the authenticator's answer signs this browser in. The
/// user is verified by the authenticator, so no second factor follows.
#[utoipa::path(post, path = "/api/user/passkey/login/finish", tag = "account",
    request_body = CredentialJson,
    responses(
        (status = 200, description = "Logged in (a session cookie is set), or a refusal: no live challenge in this browser, an unknown or removed passkey, a failed check, a counter that went backwards.", body = Answer<LoginData>),
        (status = 403, description = "A cross-site request.", body = Failure)))]
pub async fn login_finish(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(CredentialJson(credential)): ApiJson<CredentialJson>,
) -> Result<impl IntoResponse, ApiError> {
    let (jar, secret) = challenge(jar);
    let user = match state
        .passkeys
        .finish_sign_in(&secret, credential, &client.ip)
        .await
    {
        Ok(user) => user,
        // The refusal still spends the challenge: the cookie goes with the answer.
        Err(e) => return Ok((jar, ApiError::from(e)).into_response()),
    };
    tracing::info!(user.id = user.id, "passkey accepted");
    let (jar, step) = begin_login(&state, jar, &user, &client, SignInMethod::Passkey).await?;
    Ok((jar, step.answer(&user)).into_response())
}

/// `POST /api/user/login/2fa/passkey/begin`: options for the second step of a pending login
/// with one of the account's passkeys (instead of a TOTP code).
#[utoipa::path(post, path = "/api/user/login/2fa/passkey/begin", tag = "account",
    responses(
        (status = 200, description = "Options for `navigator.credentials.get()`, or a refusal (the account has no passkey).", body = Answer<CeremonyOptions>),
        (status = 401, description = "No pending login in this browser.", body = Failure),
        (status = 403, description = "A cross-site request.", body = Failure)))]
pub async fn second_factor_begin(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    let user = crate::account::login::pending_user(&state, &jar).await?;
    let options = state.passkeys.begin_second_factor(&user).await?;
    Ok(begun(&state, jar, options))
}

/// `POST /api/user/login/2fa/passkey/finish`: one of the account's passkeys finishes the pending
/// login.
#[utoipa::path(post, path = "/api/user/login/2fa/passkey/finish", tag = "account",
    request_body = CredentialJson,
    responses(
        (status = 200, description = "Logged in (a fresh session cookie), or a refusal.", body = Answer<LoginView>),
        (status = 401, description = "No pending login in this browser.", body = Failure),
        (status = 403, description = "A cross-site request.", body = Failure)),
    security((), ("session" = [])))]
pub async fn second_factor_finish(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(CredentialJson(credential)): ApiJson<CredentialJson>,
) -> Result<impl IntoResponse, ApiError> {
    let user = crate::account::login::pending_user(&state, &jar).await?;
    let (jar, secret) = challenge(jar);
    if let Err(e) = state
        .passkeys
        .finish_second_factor(&user, &secret, credential, &client.ip)
        .await
    {
        return Ok((jar, ApiError::from(e)).into_response());
    }
    let jar = open_session(&state, jar, &user, &client).await?;
    tracing::info!(user.id = user.id, "passkey accepted as the second factor");
    Ok((jar, LoginStep::Done.answer(&user)).into_response())
}

/// `GET /api/user/passkey`: the account's passkeys.
#[utoipa::path(get, path = "/api/user/passkey", tag = "account",
    responses((status = 200, description = "The passkeys, oldest first.", body = Answer<Vec<PasskeyView>>)),
    security(("session" = []), ("developer_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<impl IntoResponse, ApiError> {
    let all = state.passkeys.list(current.user.id).await?;
    Ok(Success::new(
        all.into_iter().map(PasskeyView::from).collect::<Vec<_>>(),
    ))
}

/// `POST /api/user/passkey/register/begin`: options to create a passkey for this account. Needs
/// a browser session from a recent sign-in (403 otherwise: sign in again).
#[utoipa::path(post, path = "/api/user/passkey/register/begin", tag = "account",
    responses(
        (status = 200, description = "Options for `navigator.credentials.create()` (a challenge cookie is set), or a refusal (too many passkeys, unavailable).", body = Answer<CeremonyOptions>),
        (status = 403, description = "A developer token, a cross-site request, or no recent sign-in.", body = Failure)),
    security(("session" = [])))]
pub async fn register_begin(
    State(state): State<AppState>,
    current: SessionUser,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    let options = state
        .passkeys
        .begin_enrolment(&current.user, &current.session)
        .await?;
    Ok(begun(&state, jar, options))
}

/// `POST /api/user/passkey/register/finish` `{"name", "credential"}`: stores the new passkey.
#[utoipa::path(post, path = "/api/user/passkey/register/finish", tag = "account",
    request_body = EnrolBody,
    responses(
        (status = 200, description = "The passkey, or a refusal: no live challenge in this browser, a failed check, a credential registered already, a bad name.", body = Answer<PasskeyView>),
        (status = 403, description = "A developer token or a cross-site request.", body = Failure)),
    security(("session" = [])))]
pub async fn register_finish(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
    jar: CookieJar,
    ApiJson(body): ApiJson<EnrolBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (jar, secret) = challenge(jar);
    let mail = crate::federation::email::mail_context(&state);
    let change = Change {
        ip: &client.ip,
        mail: &mail,
    };
    let result = state
        .passkeys
        .finish_enrolment(
            &current.user,
            &change,
            &secret,
            &body.name,
            body.credential.0,
        )
        .await;
    Ok(match result {
        Ok(passkey) => {
            tracing::info!(user.id = current.user.id, "passkey added");
            (jar, Success::new(PasskeyView::from(passkey))).into_response()
        }
        Err(e) => (jar, ApiError::from(e)).into_response(),
    })
}

/// `PATCH /api/user/passkey/{id}` `{"name"}`.
#[utoipa::path(patch, path = "/api/user/passkey/{id}", tag = "account",
    params(("id" = i64, Path, description = "The passkey's id.")),
    request_body = RenameBody,
    responses(
        (status = 200, description = "Renamed, or a refusal (bad name, no such passkey).", body = Answer<Nothing>),
        (status = 403, description = "A developer token or a cross-site request.", body = Failure)),
    security(("session" = [])))]
pub async fn rename(
    State(state): State<AppState>,
    current: SessionUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .passkeys
        .rename(current.user.id, id, &body.name)
        .await?;
    Ok(Success::done("通行密钥已重命名"))
}

/// `DELETE /api/user/passkey/{id}`: removes a passkey, unless it is the account's last way in.
#[utoipa::path(delete, path = "/api/user/passkey/{id}", tag = "account",
    params(("id" = i64, Path, description = "The passkey's id.")),
    responses(
        (status = 200, description = "Removed, or a refusal (the last way in, no such passkey).", body = Answer<Nothing>),
        (status = 403, description = "A developer token or a cross-site request.", body = Failure)),
    security(("session" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = Actor {
        user: &current.user,
        ip: &client.ip,
    };
    state.passkeys.remove(actor, id).await?;
    Ok(Success::done("通行密钥已删除"))
}
