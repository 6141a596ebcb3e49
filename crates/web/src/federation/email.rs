//! E-mail codes: binding an address, and password reset by e-mail. Codes are single use,
//! purpose-bound, attempt-limited and stored hashed; the answers never reveal whether an address
//! belongs to an account; mail goes out in the background, so timing does not either.

use crate::envelope::ApiQuery;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser, SessionUser};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::email::{MAX_ATTEMPTS, RESET, VERIFY};
use keyward_core::accounts::validate;
use keyward_core::limits;
use keyward_core::model::{CodeCheck, User, UserId};
use keyward_core::secret::{SecretHash, random_base64url, random_string};
use keyward_upstream::mail::SmtpConfig;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

const CODE_TTL_SECS: i64 = 600;

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    #[serde(default)]
    email: String,
}

#[derive(Deserialize, Default, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct BindQuery {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

/// Every mail asked for counts against the address and the caller's IP, shared by every node,
/// whether or not it is sent (so the limit does not tell whether the address is taken). Codes
/// and reset links have separate address budgets: asking codes for someone's address must not
/// block their password reset.
async fn throttle_send(
    state: &AppState,
    purpose: &str,
    email: &str,
    ip: &str,
) -> Result<(), ApiError> {
    let settings = state.settings.get().await?;
    state
        .limits
        .consume(&[
            (
                limits::key(&format!("mail:{purpose}:address"), email),
                settings.mail_per_address(),
            ),
            (limits::key("mail:ip", ip), settings.mail_per_ip()),
        ])
        .await?;
    Ok(())
}

async fn smtp(state: &AppState) -> Result<Option<SmtpConfig>, ApiError> {
    let s = state.settings.get().await?;
    if s.smtp_host.is_empty() {
        return Ok(None);
    }
    Ok(Some(SmtpConfig {
        host: s.smtp_host.clone(),
        port: u16::try_from(s.smtp_port).unwrap_or(587),
        username: s.smtp_username.clone(),
        password: super::state::vault_secret(state, "smtp_password").await?,
        from: if s.smtp_from.is_empty() {
            s.smtp_username.clone()
        } else {
            s.smtp_from.clone()
        },
        security: s.smtp_security.clone(),
    }))
}

/// Sends in the background: the answer must not wait on (or reveal) what happens to the mail.
fn send_later(config: SmtpConfig, to: String, subject: String, body: String) {
    tokio::spawn(async move {
        if let Err(e) = keyward_upstream::mail::send(&config, &to, &subject, &body).await {
            tracing::warn!(error = %e, "mail not sent");
        }
    });
}

/// `GET /api/verification?email=`: sends a 6-digit code for binding that address. The answer is
/// the same whether or not the address is taken (a taken address gets no mail).
#[utoipa::path(get, path = "/api/verification", tag = "account",
    params(EmailQuery),
    responses(
        (status = 200, description = "The same answer whether or not the address is taken; or a refusal (bad address, no SMTP).", body = Answer<Nothing>),
        (status = 403, description = "A developer token (a code for one's account needs a browser session), or a cross-site request.", body = Failure),
        (status = 429, description = "Too many codes for this address or from this client.", body = Failure)),
    security((), ("session" = [])))]
pub async fn send_code(
    State(state): State<AppState>,
    current: Option<CurrentUser>,
    Client(client): Client,
    ApiQuery(query): ApiQuery<EmailQuery>,
) -> Result<impl IntoResponse, ApiError> {
    // A code for one's own account leads to binding the address: a browser session only.
    let user = match &current {
        Some(current) => Some(current.browser_session().map(|_| current.user.id)?),
        None => None,
    };
    send_verification(&state, &query.email, &client.ip, user).await?;
    Ok(Success::new(()))
}

/// Mails a verification code to `email`, bound to `user` when one is signed in. Shared by the
/// JSON API and the pages.
pub async fn send_verification(
    state: &AppState,
    email: &str,
    ip: &str,
    user: Option<UserId>,
) -> Result<(), ApiError> {
    let email = validate::email(email).map_err(|_| ApiError::Refused("无效的邮箱地址".into()))?;
    let config = smtp(state)
        .await?
        .ok_or(ApiError::Refused("管理员未配置 SMTP，无法发送邮件".into()))?;
    throttle_send(state, VERIFY, &email, ip).await?;
    let owner = state.store.user_by_verified_email(&email).await?;
    if owner.is_none_or(|o| Some(o.id) == user) {
        let code = random_string(b"0123456789", 6);
        let now = state.accounts.now();
        state
            .store
            .put_code(
                VERIFY,
                &email,
                user,
                &SecretHash::of(&code),
                now + CODE_TTL_SECS,
                now,
            )
            .await?;
        let system = state.settings.get().await?.system_name.clone();
        send_later(
            config,
            email,
            format!("{system} 邮箱验证 / e-mail verification"),
            format!(
                "您的验证码是 {code}，10 分钟内有效，只能使用一次。\nYour code is {code}. It works once, for 10 minutes.\n"
            ),
        );
    }
    Ok(())
}

/// `GET /api/oauth/email/bind?email=&code=` (the document) and `POST` `{"email","code"}`.
#[utoipa::path(get, path = "/api/oauth/email/bind", tag = "login-module",
    params(BindQuery),
    responses((status = 200, description = "Bound (`邮箱账户绑定成功!`), or `验证码无效或已过期`.", body = Answer<Nothing>)),
    security(("session" = [])))]
pub async fn bind_get(
    state: State<AppState>,
    current: SessionUser,
    ApiQuery(query): ApiQuery<BindQuery>,
) -> Result<impl IntoResponse, ApiError> {
    bind(state, current, query).await
}

#[utoipa::path(post, path = "/api/oauth/email/bind", tag = "login-module",
    request_body = BindQuery,
    responses((status = 200, description = "Bound (`邮箱账户绑定成功!`), or `验证码无效或已过期`.", body = Answer<Nothing>)),
    security(("session" = [])))]
pub async fn bind_post(
    state: State<AppState>,
    current: SessionUser,
    ApiJson(body): ApiJson<BindQuery>,
) -> Result<impl IntoResponse, ApiError> {
    bind(state, current, body).await
}

/// Binding an address needs a browser session: with it, the address can reset the password.
async fn bind(
    State(state): State<AppState>,
    current: SessionUser,
    form: BindQuery,
) -> Result<impl IntoResponse, ApiError> {
    bind_email(&state, &current.user, &form.email, &form.code).await?;
    Ok(Success {
        message: "邮箱账户绑定成功!",
        data: (),
    })
}

/// Binds `email` to `user` with the code mailed to it. Shared by the JSON API and the pages.
pub async fn bind_email(
    state: &AppState,
    user: &User,
    email: &str,
    code: &str,
) -> Result<(), ApiError> {
    const BAD_CODE: &str = "验证码无效或已过期";
    let email = validate::email(email).map_err(|_| ApiError::Refused(BAD_CODE.into()))?;
    if code.len() > 32 {
        return Err(ApiError::Refused(BAD_CODE.into()));
    }
    let now = state.accounts.now();
    let check = state
        .store
        .check_code(
            VERIFY,
            &email,
            &SecretHash::of(code.trim()),
            MAX_ATTEMPTS,
            now,
        )
        .await?;
    match check {
        // A code sent to a logged-in user is bound to that user.
        CodeCheck::Valid(owner) if owner.is_none_or(|o| o == user.id) => {}
        _ => return Err(ApiError::Refused(BAD_CODE.into())),
    }
    match state.store.set_verified_email(user.id, &email, now).await {
        Ok(()) => Ok(()),
        Err(keyward_core::store::StoreError::Conflict(keyward_core::store::Conflict::Email)) => {
            Err(ApiError::Refused("邮箱地址已被占用".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/reset_password?email=`: mails a one-time link if a verified account has this
/// address; answers the same either way.
#[utoipa::path(get, path = "/api/reset_password", tag = "account",
    params(EmailQuery),
    responses(
        (status = 200, description = "The same answer whether or not an account has the address; or a refusal.", body = Answer<Nothing>),
        (status = 429, description = "Too many mails for this address or from this client.", body = Failure)))]
pub async fn request_reset(
    State(state): State<AppState>,
    Client(client): Client,
    ApiQuery(query): ApiQuery<EmailQuery>,
) -> Result<impl IntoResponse, ApiError> {
    send_reset_link(&state, &query.email, &client.ip).await?;
    Ok(Success::new(()))
}

/// Mails a reset link (to the `/user/reset` page) if an enabled account has this verified
/// address; the caller answers the same either way. Shared by the JSON API and the pages.
pub async fn send_reset_link(state: &AppState, email: &str, ip: &str) -> Result<(), ApiError> {
    let email = validate::email(email).map_err(|_| ApiError::Refused("无效的邮箱地址".into()))?;
    let config = smtp(state)
        .await?
        .ok_or(ApiError::Refused("管理员未配置 SMTP，无法发送邮件".into()))?;
    throttle_send(state, RESET, &email, ip).await?;
    if let Some(user) = state
        .store
        .user_by_verified_email(&email)
        .await?
        .filter(|u| u.is_enabled())
    {
        let token = random_base64url(32);
        let now = state.accounts.now();
        state
            .store
            .put_code(
                RESET,
                &email,
                Some(user.id),
                &SecretHash::of(&token),
                now + CODE_TTL_SECS * 3,
                now,
            )
            .await?;
        let link = format!(
            "{}/user/reset?{}",
            state.config.public_url,
            serde_urlencoded::to_string([("email", email.as_str()), ("token", token.as_str())])
                .unwrap_or_default()
        );
        let system = state.settings.get().await?.system_name.clone();
        send_later(
            config,
            email,
            format!("{system} 密码重置 / password reset"),
            format!(
                "打开以下链接设置新密码（30 分钟内有效，只能使用一次）：\nOpen this link to choose a new password (once, within 30 minutes):\n\n{link}\n"
            ),
        );
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    email: String,
    token: String,
    password: String,
}

/// `POST /api/user/reset` `{email, token, password}`: the user chooses the new password (new-api
/// generated one and returned it in the answer); every session of the account ends.
#[utoipa::path(post, path = "/api/user/reset", tag = "account",
    request_body = ResetBody,
    responses((status = 200, description = "The password is set and every session ended; or `重置链接非法或已过期`.", body = Answer<Nothing>)))]
pub async fn reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<impl IntoResponse, ApiError> {
    reset_password(&state, &body.email, &body.token, &body.password).await?;
    Ok(Success {
        message: "密码已重置，请重新登录",
        data: (),
    })
}

/// Sets a new password with a mailed reset token, which works once; ends every session of the
/// account. Shared by the JSON API and the `/user/reset` page.
pub async fn reset_password(
    state: &AppState,
    email: &str,
    token: &str,
    password: &str,
) -> Result<(), ApiError> {
    const BAD_LINK: &str = "重置链接非法或已过期";
    let password =
        validate::NewPassword::parse(password).map_err(|e| ApiError::Refused(e.to_string()))?;
    let email = validate::email(email).map_err(|_| ApiError::Refused(BAD_LINK.into()))?;
    if token.len() > 128 {
        return Err(ApiError::Refused(BAD_LINK.into()));
    }
    let now = state.accounts.now();
    let check = state
        .store
        .check_code(RESET, &email, &SecretHash::of(token), 3, now)
        .await?;
    let CodeCheck::Valid(Some(user_id)) = check else {
        return Err(ApiError::Refused(BAD_LINK.into()));
    };
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(ApiError::Refused(BAD_LINK.into()))?;
    state.accounts.set_password(&user, &password).await?;
    tracing::info!(user.id = user.id, "password reset by e-mail");
    Ok(())
}
