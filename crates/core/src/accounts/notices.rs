//! Security notices: the mails that tell a user something happened to their account, so that a
//! change they did not make does not go unnoticed. Sent only when SMTP is configured and the
//! account has a verified address; best effort, like the audit log (the change already happened,
//! and a mail that cannot be sent must not undo it nor tell the caller anything).

use super::email::{Mail, MailContext};
use crate::model::User;
use crate::settings::Settings;

/// What happened. Every variant is mailed to the account's verified address as it was when the
/// event happened (for an e-mail change: the old address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    /// The verified address was replaced; the mail goes to the old one.
    EmailChanged,
    TwoFactorDisabled,
    /// An admin turned two-factor off.
    TwoFactorReset,
    /// A passkey with this name was enrolled.
    PasskeyAdded {
        name: String,
    },
    /// An admin removed the passkey with this name (a lost or stolen device).
    PasskeyRemovedByAdmin {
        name: String,
    },
    AccountDeleted,
}

impl Notice {
    /// Subject and body, in both of the platform's languages as every Keyward mail is.
    fn texts(&self, system_name: &str) -> (String, String) {
        let (zh, en) = match self {
            Self::PasswordChanged => (
                "您的密码已修改。".to_owned(),
                "Your password was changed.".to_owned(),
            ),
            Self::EmailChanged => (
                "您账户的邮箱地址已更换，此地址不再与账户关联。".to_owned(),
                "Your account's e-mail address was changed; this address is no longer linked to it."
                    .to_owned(),
            ),
            Self::TwoFactorDisabled => (
                "您账户的两步验证已关闭。".to_owned(),
                "Two-factor authentication was turned off for your account.".to_owned(),
            ),
            Self::TwoFactorReset => (
                "管理员关闭了您账户的两步验证。".to_owned(),
                "An administrator turned off two-factor authentication for your account."
                    .to_owned(),
            ),
            Self::PasskeyAdded { name } => (
                format!("您的账户添加了通行密钥“{name}”。"),
                format!("A passkey named \"{name}\" was added to your account."),
            ),
            Self::PasskeyRemovedByAdmin { name } => (
                format!("管理员删除了您账户的通行密钥“{name}”。"),
                format!("An administrator removed the passkey named \"{name}\" from your account."),
            ),
            Self::AccountDeleted => (
                "您的账户已删除。".to_owned(),
                "Your account was deleted.".to_owned(),
            ),
        };
        let subject = format!("{system_name} 账户安全通知 / account security notice");
        let body = format!(
            "{zh}\n如果这不是您本人的操作，请立即重置密码并联系管理员。\n\n{en}\nIf this was not you, reset your password now and contact the administrator.\n"
        );
        (subject, body)
    }
}

/// Mails `notice` to `user`'s verified address (as `user` holds it), if SMTP is configured.
/// Returns whether a mail was handed over, for tests and logs; never fails.
pub async fn send(mail: &MailContext<'_>, user: &User, notice: &Notice) -> bool {
    let sent = deliver(mail, user, |settings| notice.texts(&settings.system_name)).await;
    if sent {
        tracing::info!(user.id = user.id, ?notice, "security notice mailed");
    }
    sent
}

/// Hands the mail `texts` words (subject, body) to the mailer for `user`'s verified address,
/// when there is one and SMTP is configured; best effort, like every notice.
pub(crate) async fn deliver(
    mail: &MailContext<'_>,
    user: &User,
    texts: impl FnOnce(&Settings) -> (String, String),
) -> bool {
    let Some(address) = user.email.as_deref().filter(|_| user.email_verified) else {
        return false;
    };
    let settings = match mail.settings.get().await {
        Ok(settings) => settings,
        Err(e) => {
            tracing::warn!(user.id = user.id, error = %e, "notice not sent: no settings");
            return false;
        }
    };
    if settings.smtp_host.is_empty() {
        return false;
    }
    let (subject, body) = texts(&settings);
    mail.mailer.send(Mail {
        to: address.to_owned(),
        subject,
        body,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_speaks_both_languages_and_names_the_system() {
        for notice in [
            Notice::PasswordChanged,
            Notice::EmailChanged,
            Notice::TwoFactorDisabled,
            Notice::TwoFactorReset,
            Notice::PasskeyAdded {
                name: "laptop".into(),
            },
            Notice::PasskeyRemovedByAdmin {
                name: "phone".into(),
            },
            Notice::AccountDeleted,
        ] {
            let (subject, body) = notice.texts("Keyward");
            assert!(subject.starts_with("Keyward "), "{subject}");
            assert!(
                !body.is_ascii() && body.contains("If this was not you"),
                "{body}"
            );
        }
    }
}
