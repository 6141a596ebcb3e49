//! E-mail codes: binding an address, registering with one, and resetting a password by e-mail.
//! Codes are single use, purpose-bound, attempt-limited and stored hashed; the answers never
//! reveal whether an address belongs to an account, and mail goes out in the background
//! ([`MailSender`]), so timing does not either.

use super::{AccountError, Accounts, validate};
use crate::audit::{self, action};
use crate::limits::{self, LimitError};
use crate::model::{CodeCheck, User, UserId};
use crate::secret::{SecretHash, random_base64url, random_string};
use crate::settings::{SettingsCache, SettingsError};
use crate::store::{CodeAttempt, Conflict, MailedCode, StoreError};

/// A 6-digit code that proves the owner of an address (binding, registration).
pub const VERIFY: &str = "verify";
/// A 6-digit code that proves a signed-in user owns the address their verified one is to be
/// changed to; only that user can spend it.
pub const CHANGE: &str = "email_change";
/// A password-reset link's token.
pub const RESET: &str = "reset";
/// Wrong guesses a code survives.
pub const MAX_ATTEMPTS: i64 = 5;
/// Wrong guesses a reset link survives.
const RESET_MAX_ATTEMPTS: i64 = 3;
/// Longer input is refused unread: no code or token is that long.
pub(super) const MAX_CODE_LEN: usize = 32;
const MAX_TOKEN_LEN: usize = 128;
const CODE_TTL_SECS: i64 = 600;
const RESET_TTL_SECS: i64 = 3 * CODE_TTL_SECS;

/// One plain-text mail to one recipient.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Hands a mail over for delivery (SMTP, with the configured server). It must not wait for the
/// delivery nor report its outcome: the answer to the caller must not depend on it.
pub trait MailSender: Send + Sync {
    fn send(&self, mail: Mail);
}

/// What the e-mail flows need besides the accounts.
pub struct MailContext<'a> {
    pub settings: &'a SettingsCache,
    pub mailer: &'a dyn MailSender,
    /// Where reset links point: this server's public URL, without a trailing slash.
    pub public_url: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("无效的邮箱地址")]
    InvalidAddress,
    #[error("管理员未配置 SMTP，无法发送邮件")]
    NoSmtp,
    #[error("验证码无效或已过期")]
    BadCode,
    #[error("邮箱地址已被占用")]
    AddressTaken,
    #[error("重置链接非法或已过期")]
    BadResetLink,
    #[error("账户已有验证过的邮箱，请在账户安全页更换邮箱")]
    ChangeNeeded,
    #[error("新邮箱与当前邮箱相同")]
    SameAddress,
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LimitError> for EmailError {
    fn from(e: LimitError) -> Self {
        Self::Account(e.into())
    }
}

impl Accounts {
    /// Mails a 6-digit code for binding (or registering with) `email`, bound to `user` when one
    /// is signed in. An address verified by another account gets no mail, with the same answer.
    pub async fn send_verification(
        &self,
        mail: &MailContext<'_>,
        email: &str,
        ip: &str,
        user: Option<UserId>,
    ) -> Result<(), EmailError> {
        let (email, system_name) = self.prepare_mail(mail, VERIFY, email, ip).await?;
        let owner = self.store.user_by_verified_email(&email).await?;
        if owner.is_some_and(|o| Some(o.id) != user) {
            return Ok(());
        }
        let code = self.store_code(VERIFY, &email, user).await?;
        mail.mailer.send(Mail {
            to: email,
            subject: format!("{system_name} 邮箱验证 / e-mail verification"),
            body: format!(
                "您的验证码是 {code}，10 分钟内有效，只能使用一次。\nYour code is {code}. It works once, for 10 minutes.\n"
            ),
        });
        Ok(())
    }

    /// Binds `email` to `user` with the code mailed to it; the address then can reset the
    /// password, so callers require a browser session.
    pub async fn bind_email(
        &self,
        user: &User,
        email: &str,
        code: &str,
        ip: &str,
    ) -> Result<(), EmailError> {
        let email = validate::email(email).map_err(|_| EmailError::BadCode)?;
        // Replacing a verified address is a change: recent sign-in, the old address told.
        if user.email_verified && user.email.as_deref() != Some(email.as_str()) {
            return Err(EmailError::ChangeNeeded);
        }
        match self
            .check_mailed_code(VERIFY, &email, code.trim(), MAX_CODE_LEN, MAX_ATTEMPTS)
            .await?
        {
            // A code sent to a signed-in user is bound to that user.
            Some(owner) if owner.is_none_or(|o| o == user.id) => {}
            _ => return Err(EmailError::BadCode),
        }
        let now = self.clock.now();
        match self.store.set_verified_email(user.id, &email, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(Conflict::Email)) => return Err(EmailError::AddressTaken),
            Err(e) => return Err(e.into()),
        }
        let detail = serde_json::json!({ "email": email });
        audit::record(
            self.store.as_ref(),
            now,
            Some(user.id),
            action::EMAIL_BOUND,
            user.id.to_string(),
            detail,
            ip,
        )
        .await;
        Ok(())
    }

    /// Mails a code for changing `user`'s address to `new_email`, bound to `user` and to this
    /// purpose. The caller has checked a recent sign-in. An address verified by another account
    /// gets no mail, with the same answer.
    pub async fn send_change_code(
        &self,
        mail: &MailContext<'_>,
        user: &User,
        new_email: &str,
        ip: &str,
    ) -> Result<(), EmailError> {
        let new = validate::email(new_email).map_err(|_| EmailError::InvalidAddress)?;
        if user.email_verified && user.email.as_deref() == Some(new.as_str()) {
            return Err(EmailError::SameAddress);
        }
        let (email, system_name) = self.prepare_mail(mail, CHANGE, &new, ip).await?;
        let owner = self.store.user_by_verified_email(&email).await?;
        if owner.is_some_and(|o| o.id != user.id) {
            return Ok(());
        }
        let code = self.store_code(CHANGE, &email, Some(user.id)).await?;
        mail.mailer.send(Mail {
            to: email,
            subject: format!("{system_name} 更换邮箱 / e-mail change"),
            body: format!(
                "您的验证码是 {code}，10 分钟内有效，只能使用一次。输入后此地址将成为您账户的邮箱。\nYour code is {code}. It works once, for 10 minutes; once entered, this address becomes your account's.\n"
            ),
        });
        Ok(())
    }

    /// Replaces `user`'s address with `new_email` once the code mailed to it by
    /// [`Self::send_change_code`] is entered; until then the old address stays. The old address,
    /// when verified, is told. The caller has checked a recent sign-in.
    pub async fn change_email(
        &self,
        mail: &MailContext<'_>,
        user: &User,
        new_email: &str,
        code: &str,
        ip: &str,
    ) -> Result<(), EmailError> {
        let email = validate::email(new_email).map_err(|_| EmailError::BadCode)?;
        match self
            .check_mailed_code(CHANGE, &email, code.trim(), MAX_CODE_LEN, MAX_ATTEMPTS)
            .await?
        {
            Some(Some(owner)) if owner == user.id => {}
            _ => return Err(EmailError::BadCode),
        }
        let now = self.clock.now();
        match self.store.set_verified_email(user.id, &email, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(Conflict::Email)) => return Err(EmailError::AddressTaken),
            Err(e) => return Err(e.into()),
        }
        let old = user.email.as_deref().filter(|_| user.email_verified);
        tracing::info!(user.id = user.id, "e-mail address changed");
        audit::record(
            self.store.as_ref(),
            now,
            Some(user.id),
            action::EMAIL_CHANGED,
            user.id.to_string(),
            serde_json::json!({ "old": old, "new": email }),
            ip,
        )
        .await;
        super::notices::send(mail, user, &super::notices::Notice::EmailChanged).await;
        Ok(())
    }

    /// Mails a one-time reset link (to the `/user/reset` page) if an enabled account has this
    /// verified address; the answer is the same either way.
    pub async fn send_reset_link(
        &self,
        mail: &MailContext<'_>,
        email: &str,
        ip: &str,
    ) -> Result<(), EmailError> {
        let (email, system_name) = self.prepare_mail(mail, RESET, email, ip).await?;
        let Some(user) = self
            .store
            .user_by_verified_email(&email)
            .await?
            .filter(User::is_enabled)
        else {
            return Ok(());
        };
        let token = random_base64url(32);
        let now = self.clock.now();
        let hash = SecretHash::of(&token);
        self.store
            .put_code(&MailedCode {
                purpose: RESET,
                email: &email,
                user: Some(user.id),
                hash: &hash,
                created_at: now,
                expires_at: now + RESET_TTL_SECS,
            })
            .await?;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &email)
            .append_pair("token", &token)
            .finish();
        let link = format!("{}/user/reset?{query}", mail.public_url);
        mail.mailer.send(Mail {
            to: email,
            subject: format!("{system_name} 密码重置 / password reset"),
            body: format!(
                "打开以下链接设置新密码（30 分钟内有效，只能使用一次）：\nOpen this link to choose a new password (once, within 30 minutes):\n\n{link}\n"
            ),
        });
        Ok(())
    }

    /// Sets a new password with a mailed reset token, which works once; every session and the
    /// developer token of the account end with the old password.
    pub async fn reset_password(
        &self,
        email: &str,
        token: &str,
        password: &str,
        ip: &str,
    ) -> Result<(), EmailError> {
        let password = validate::NewPassword::parse(password).map_err(AccountError::from)?;
        let email = validate::email(email).map_err(|_| EmailError::BadResetLink)?;
        let Some(Some(user_id)) = self
            .check_mailed_code(RESET, &email, token, MAX_TOKEN_LEN, RESET_MAX_ATTEMPTS)
            .await?
        else {
            return Err(EmailError::BadResetLink);
        };
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(EmailError::BadResetLink)?;
        self.set_password(&user, &password).await?;
        tracing::info!(user.id = user.id, "password reset by e-mail");
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(user.id),
            action::PASSWORD_RESET,
            user.id.to_string(),
            serde_json::json!({ "email": email }),
            ip,
        )
        .await;
        Ok(())
    }

    /// Checks a mailed code for (purpose, validated address). `Some(owner)` when it matched
    /// (the code is then used up); `None` for a miss, which counts against the code's attempts.
    /// A code longer than `max_len` is a miss that costs no attempt.
    pub(super) async fn check_mailed_code(
        &self,
        purpose: &str,
        email: &str,
        code: &str,
        max_len: usize,
        max_attempts: i64,
    ) -> Result<Option<Option<UserId>>, StoreError> {
        if code.len() > max_len {
            return Ok(None);
        }
        let check = self
            .store
            .check_code(&CodeAttempt {
                purpose,
                email,
                hash: &SecretHash::of(code),
                max_attempts,
                now: self.clock.now(),
            })
            .await?;
        Ok(match check {
            CodeCheck::Valid(owner) => Some(owner),
            CodeCheck::Wrong | CodeCheck::Missing => None,
        })
    }

    /// The checks before any mail: a valid address, SMTP configured, and the mail budgets.
    /// Every mail asked for counts against the address and the caller's IP, shared by every
    /// node, whether or not it is sent (so the limit does not tell whether the address is
    /// taken). Codes and reset links have separate address budgets: asking codes for someone's
    /// address must not block their password reset. Returns the address and the system name.
    /// A fresh 6-digit code for `purpose` and `email` (replacing any earlier one), stored hashed
    /// for 10 minutes; returns it for the mail.
    async fn store_code(
        &self,
        purpose: &str,
        email: &str,
        user: Option<UserId>,
    ) -> Result<String, EmailError> {
        let code = random_string(b"0123456789", 6);
        let now = self.clock.now();
        self.store
            .put_code(&MailedCode {
                purpose,
                email,
                user,
                hash: &SecretHash::of(&code),
                created_at: now,
                expires_at: now + CODE_TTL_SECS,
            })
            .await?;
        Ok(code)
    }

    async fn prepare_mail(
        &self,
        mail: &MailContext<'_>,
        purpose: &str,
        email: &str,
        ip: &str,
    ) -> Result<(String, String), EmailError> {
        let email = validate::email(email).map_err(|_| EmailError::InvalidAddress)?;
        let settings = mail.settings.get().await?;
        if settings.smtp_host.is_empty() {
            return Err(EmailError::NoSmtp);
        }
        self.limiter
            .consume(&[
                (
                    limits::key(&format!("mail:{purpose}:address"), &email),
                    settings.mail_per_address(),
                ),
                (limits::key("mail:ip", ip), settings.mail_per_ip()),
            ])
            .await?;
        Ok((email, settings.system_name.clone()))
    }
}
