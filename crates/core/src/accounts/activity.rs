//! Security activity: the sign-ins and security changes of one account, read from the audit log.
//! Every sign-in is recorded here (its first factor; the one function every login goes through
//! calls [`Accounts::record_sign_in`]); the changes are recorded where they happen.

use super::{AccountError, Accounts, ClientInfo, SignInMethod, truncate};
use crate::audit::{self, action};
use crate::clock::UnixTime;
use crate::model::{AuditEntry, User, UserId};
use crate::store::{Page, UserAuditQuery};
use crate::telemetry::{self, LoginMethod};

/// At most this many records per page of activity.
pub const MAX_PAGE_SIZE: i64 = 50;
/// Pages beyond this are not served: the activity is for the recent past.
pub const MAX_PAGES: i64 = 20;

/// What the security activity lists: sign-ins and the changes to the ways in. Each is recorded
/// with the user's id as target.
pub const SECURITY_ACTIONS: &[&str] = &[
    action::SIGNED_IN,
    action::PASSWORD_CHANGED,
    action::PASSWORD_RESET,
    action::EMAIL_BOUND,
    action::EMAIL_CHANGED,
    action::TWO_FACTOR_ENABLED,
    action::TWO_FACTOR_DISABLED,
    action::TWO_FACTOR_RESET,
    action::IDENTITY_LINKED,
    action::IDENTITY_UNLINKED,
    action::SESSION_ENDED,
    action::OTHER_SESSIONS_ENDED,
    action::PASSKEY_ADDED,
    action::PASSKEY_REMOVED,
    action::PASSKEY_COUNTER_REGRESSION,
];

/// What the export lists with the user as target: the security actions, and what someone else
/// may have done to the account besides (an admin's edit), and the exports themselves.
pub fn about_user_actions() -> Vec<&'static str> {
    [
        SECURITY_ACTIONS,
        &[action::USER_UPDATED, action::DATA_EXPORTED],
    ]
    .concat()
}

/// One line of the security activity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActivityEntry {
    pub id: i64,
    pub at: UnixTime,
    /// One of [`SECURITY_ACTIONS`].
    pub action: String,
    /// For a sign-in: `password`, `passkey` or `upstream:<provider>`.
    pub method: Option<String>,
    pub ip: String,
    pub user_agent: Option<String>,
    /// For a sign-in: the account had two-factor on, so this proved the first factor only and
    /// the second was asked (a password sign-in the owner does not recognise means the password
    /// is known to someone).
    pub second_factor_asked: bool,
    /// Someone else did it (an admin's reset).
    pub by_other: bool,
}

impl ActivityEntry {
    fn from_audit(entry: AuditEntry, user: UserId) -> Self {
        let detail: serde_json::Value =
            serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null);
        let text = |key: &str| detail.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        Self {
            id: entry.id,
            at: entry.at,
            method: text("method"),
            user_agent: text("user_agent"),
            second_factor_asked: detail
                .get("second_factor_asked")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            by_other: entry.actor_id.is_some_and(|actor| actor != user),
            action: entry.action,
            ip: entry.ip,
        }
    }
}

/// A page of activity as asked (1-based); out-of-range numbers are brought into range.
pub fn page(number: i64, size: i64) -> Page {
    let size = size.clamp(1, MAX_PAGE_SIZE);
    let number = number.clamp(1, MAX_PAGES);
    Page {
        offset: (number - 1) * size,
        limit: size,
    }
}

impl Accounts {
    /// Records that `user` proved who they are by `method` (through `provider`, for an upstream
    /// login). Best effort, like every audit record: the sign-in goes on if the row cannot be
    /// written.
    pub async fn record_sign_in(
        &self,
        user: &User,
        method: SignInMethod,
        provider: Option<&str>,
        client: &ClientInfo,
    ) {
        let label = match provider {
            Some(provider) => format!("{}:{provider}", method.as_str()),
            None => method.as_str().to_owned(),
        };
        let counted = match provider {
            Some(provider) => LoginMethod::Upstream(provider),
            None => LoginMethod::Named(method.as_str()),
        };
        let result = if Self::second_factor_due(user, method) {
            "second_factor_required"
        } else {
            "ok"
        };
        telemetry::login(counted, result);
        tracing::info!(
            target: telemetry::SECURITY_TARGET,
            event = "login",
            method = %label,
            result,
            user.id = user.id,
            user.name = %user.username,
            client = %client.ip,
            "signed in"
        );
        let detail = serde_json::json!({
            "method": label,
            "user_agent": truncate(&client.user_agent, 256),
            "second_factor_asked": Self::second_factor_due(user, method),
        });
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(user.id),
            action::SIGNED_IN,
            user.id.to_string(),
            detail,
            &truncate(&client.ip, 64),
        )
        .await;
    }

    /// Records that `user` was created by signing up through `method` (`password`, or
    /// `upstream:<provider>`). The new account is the actor and the target.
    pub(crate) async fn record_registration(&self, user: &User, method: &str, ip: &str) {
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(user.id),
            action::USER_REGISTERED,
            user.id.to_string(),
            serde_json::json!({ "method": method, "username": user.username }),
            &truncate(ip, 64),
        )
        .await;
    }

    /// Records a refused password sign-in: the name as typed (cut short; never the password),
    /// and the account it names, if any, as target, so that the account's audit shows it.
    pub(crate) async fn record_failed_sign_in(
        &self,
        user: Option<&User>,
        login: &str,
        reason: &'static str,
        client: &ClientInfo,
    ) {
        telemetry::login(LoginMethod::Named("password"), reason);
        tracing::warn!(
            target: telemetry::SECURITY_TARGET,
            event = "login_failed",
            method = "password",
            reason,
            login = %truncate(login, 64),
            user.id = user.map(|u| u.id),
            client = %client.ip,
            "sign-in refused"
        );
        let detail = serde_json::json!({
            "login": truncate(login, 64),
            "reason": reason,
            "user_agent": truncate(&client.user_agent, 256),
        });
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            None,
            action::SIGN_IN_FAILED,
            user.map(|u| u.id.to_string()).unwrap_or_default(),
            detail,
            &truncate(&client.ip, 64),
        )
        .await;
    }

    /// The account's own security activity, newest first. There is no way to name another
    /// account: the user is the one signed in.
    pub async fn security_activity(
        &self,
        user: &User,
        page: Page,
    ) -> Result<Vec<ActivityEntry>, AccountError> {
        let entries = self
            .store
            .audit_about_user(&UserAuditQuery {
                user: user.id,
                actions: SECURITY_ACTIONS,
                include_acted: false,
                page,
            })
            .await?;
        Ok(entries
            .into_iter()
            .map(|e| ActivityEntry::from_audit(e, user.id))
            .collect())
    }

    /// Records a security change `action` to `user`'s account done by `actor`.
    pub(crate) async fn record_change(
        &self,
        actor: UserId,
        user: UserId,
        action: &'static str,
        detail: serde_json::Value,
        ip: &str,
    ) {
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            Some(actor),
            action,
            user.to_string(),
            detail,
            ip,
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded() {
        let p = page(0, 10_000);
        assert_eq!((p.offset, p.limit), (0, MAX_PAGE_SIZE));
        let p = page(i64::MAX, -5);
        assert_eq!((p.offset, p.limit), ((MAX_PAGES - 1), 1));
    }

    #[test]
    fn every_security_action_is_about_the_user() {
        for a in SECURITY_ACTIONS {
            assert!(about_user_actions().contains(a), "{a}");
        }
    }
}
