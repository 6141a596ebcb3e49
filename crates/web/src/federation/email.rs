//! E-mail codes: binding an address, and password reset by e-mail. The flows are core's
//! (`accounts::email`); this is their HTTP face and the SMTP sender they mail through.

use crate::envelope::ApiQuery;
use crate::envelope::{ApiError, ApiJson, Success};
use crate::extract::{Client, CurrentUser, SessionUser};
use crate::openapi::{Answer, Failure, Nothing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use keyward_core::accounts::email::{EmailError, Mail, MailContext, MailSender};
use keyward_upstream::mail::SmtpConfig;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

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

/// What core's e-mail flows need from this server: the settings, the SMTP sender, the public URL.
pub fn mail_context(state: &AppState) -> MailContext<'_> {
    MailContext {
        settings: &state.settings,
        mailer: state,
        public_url: &state.config.public_url,
    }
}

impl MailSender for AppState {
    /// Sends in the background: the answer must not wait on (or reveal) what happens to the mail.
    fn send(&self, mail: Mail) {
        let state = self.clone();
        tokio::spawn(async move {
            let sent = match smtp(&state).await {
                Ok(config) => {
                    keyward_upstream::mail::send(&config, &mail.to, &mail.subject, &mail.body)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = sent {
                tracing::warn!(error = %e, "mail not sent");
            }
        });
    }
}

async fn smtp(state: &AppState) -> Result<SmtpConfig, ApiError> {
    let s = state.settings.get().await?;
    Ok(SmtpConfig {
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
    })
}

impl From<EmailError> for ApiError {
    fn from(e: EmailError) -> Self {
        match e {
            EmailError::Account(e) => e.into(),
            EmailError::Settings(e) => e.into(),
            EmailError::Store(e) => e.into(),
            other => ApiError::Refused(other.to_string()),
        }
    }
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
    state
        .accounts
        .send_verification(&mail_context(&state), &query.email, &client.ip, user)
        .await?;
    Ok(Success::new(()))
}

/// `GET /api/oauth/email/bind?email=&code=` (the document) and `POST` `{"email","code"}`.
#[utoipa::path(get, path = "/api/oauth/email/bind", tag = "login-module",
    params(BindQuery),
    responses((status = 200, description = "Bound (`邮箱账户绑定成功!`), or `验证码无效或已过期`.", body = Answer<Nothing>)),
    security(("session" = [])))]
pub async fn bind_get(
    state: State<AppState>,
    current: SessionUser,
    client: Client,
    ApiQuery(query): ApiQuery<BindQuery>,
) -> Result<impl IntoResponse, ApiError> {
    bind(state, current, client, query).await
}

#[utoipa::path(post, path = "/api/oauth/email/bind", tag = "login-module",
    request_body = BindQuery,
    responses((status = 200, description = "Bound (`邮箱账户绑定成功!`), or `验证码无效或已过期`.", body = Answer<Nothing>)),
    security(("session" = [])))]
pub async fn bind_post(
    state: State<AppState>,
    current: SessionUser,
    client: Client,
    ApiJson(body): ApiJson<BindQuery>,
) -> Result<impl IntoResponse, ApiError> {
    bind(state, current, client, body).await
}

/// Binding an address needs a browser session: with it, the address can reset the password.
async fn bind(
    State(state): State<AppState>,
    current: SessionUser,
    Client(client): Client,
    form: BindQuery,
) -> Result<impl IntoResponse, ApiError> {
    state
        .accounts
        .bind_email(&current.user, &form.email, &form.code, &client.ip)
        .await?;
    Ok(Success::done("邮箱账户绑定成功!"))
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
    state
        .accounts
        .send_reset_link(&mail_context(&state), &query.email, &client.ip)
        .await?;
    Ok(Success::new(()))
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
    Client(client): Client,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .accounts
        .reset_password(&body.email, &body.token, &body.password, &client.ip)
        .await?;
    Ok(Success::done("密码已重置，请重新登录"))
}
