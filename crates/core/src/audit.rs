//! Recording security-relevant events. Best effort: the event has already happened (a consent
//! given, a replay blocked), so a failure to write the row is logged rather than undoing it.

use crate::model::{NewAuditEntry, UserId};
use crate::store::Store;

/// Actions written to the audit log.
pub mod action {
    pub const APP_CREATED: &str = "app.created";
    pub const APP_APPROVED: &str = "app.approved";
    pub const APP_REJECTED: &str = "app.rejected";
    pub const APP_DISABLED: &str = "app.disabled";
    pub const APP_UPDATED: &str = "app.updated";
    pub const APP_DELETED: &str = "app.deleted";
    /// The owner changed an app (detail: what applied, what waits for review).
    pub const APP_EDITED: &str = "app.edited";
    /// An admin put an app's pending change in force, or refused it; its owner withdrew it.
    pub const APP_CHANGE_APPROVED: &str = "app.change_approved";
    pub const APP_CHANGE_REJECTED: &str = "app.change_rejected";
    pub const APP_CHANGE_WITHDRAWN: &str = "app.change_withdrawn";
    /// A client registered itself (RFC 7591), or changed or deleted its registration (RFC 7592).
    pub const CLIENT_REGISTERED: &str = "client.registered";
    pub const CLIENT_REGISTRATION_UPDATED: &str = "client.registration_updated";
    pub const CLIENT_REGISTRATION_DELETED: &str = "client.registration_deleted";
    pub const SECRET_REVEALED: &str = "app.secret_revealed";
    pub const SECRET_ROTATED: &str = "app.secret_rotated";
    pub const CONSENT_GRANTED: &str = "consent.granted";
    pub const RESOURCE_CREATED: &str = "resource.created";
    pub const RESOURCE_UPDATED: &str = "resource.updated";
    pub const CONSENT_REVOKED: &str = "consent.revoked";
    /// A user changed the spending limit of an app (detail: old and new limit, whether raised).
    pub const CONSENT_LIMIT_CHANGED: &str = "consent.limit_changed";
    pub const CODE_REPLAY: &str = "code.replay_detected";
    /// A user approved a device authorization (RFC 8628) at the `/device` page.
    pub const DEVICE_APPROVED: &str = "device.approved";
    pub const DEVICE_DENIED: &str = "device.denied";
    /// Tokens were issued for an approved device authorization.
    pub const DEVICE_TOKEN_ISSUED: &str = "device.token_issued";
    pub const REFRESH_REUSE: &str = "refresh.reuse_detected";
    pub const USER_UPDATED: &str = "user.updated";
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    pub const TOPUP_GENERATED: &str = "topup.generated";
    pub const TOPUP_REDEEMED: &str = "topup.redeemed";
    pub const IDENTITY_UNLINKED: &str = "identity.unlinked";
    pub const EMAIL_BOUND: &str = "email.bound";
    pub const PASSWORD_RESET: &str = "password.reset";
    /// A sign-in's first factor was accepted (detail: method, user agent).
    pub const SIGNED_IN: &str = "user.signed_in";
    /// A password sign-in was refused (detail: the name tried and why, never the password). The
    /// target is the account's id when the name is one's, else empty.
    pub const SIGN_IN_FAILED: &str = "user.sign_in_failed";
    /// The free password attempts of an account ran out: further attempts from browsers it does
    /// not know wait (detail: the name tried). Target: the account's id, or empty.
    pub const SIGN_IN_THROTTLED: &str = "user.sign_in_throttled";
    /// An admin (actor) or the command line (no actor) cleared an account's guessing counters.
    pub const USER_UNLOCKED: &str = "user.unlocked";
    /// A client failed to authenticate at the token endpoint (detail: why, the grant type).
    /// Target: the `client_id` it claimed.
    pub const CLIENT_AUTH_FAILED: &str = "client.auth_failed";
    /// An account was created by signing up (detail: method, `password` or `upstream:<provider>`).
    pub const USER_REGISTERED: &str = "user.registered";
    pub const PASSWORD_CHANGED: &str = "password.changed";
    /// A verified address replaced by another one (detail: both addresses).
    pub const EMAIL_CHANGED: &str = "email.changed";
    pub const TWO_FACTOR_ENABLED: &str = "two_factor.enabled";
    pub const TWO_FACTOR_DISABLED: &str = "two_factor.disabled";
    /// An admin turned a user's two-factor off (the actor is the admin).
    pub const TWO_FACTOR_RESET: &str = "two_factor.reset";
    pub const IDENTITY_LINKED: &str = "identity.linked";
    /// One session ended by its user from the session list, or all the others.
    pub const SESSION_ENDED: &str = "session.ended";
    pub const OTHER_SESSIONS_ENDED: &str = "session.others_ended";
    /// An account's data downloaded by its user.
    pub const DATA_EXPORTED: &str = "user.exported";
    /// A passkey was added to or removed from an account (target: the user's id).
    pub const PASSKEY_ADDED: &str = "passkey.added";
    pub const PASSKEY_REMOVED: &str = "passkey.removed";
    /// A passkey's signature counter did not move on: the use was refused (a cloned
    /// authenticator, or a replay).
    pub const PASSKEY_COUNTER_REGRESSION: &str = "passkey.counter_regression";
    /// An account was deleted, by its owner or by an admin; the target is its pseudonym.
    pub const USER_DELETED: &str = "user.deleted";

    /// Every action above, for the pages that name them.
    pub const ALL: &[&str] = &[
        APP_CREATED,
        APP_APPROVED,
        APP_REJECTED,
        APP_DISABLED,
        APP_UPDATED,
        APP_DELETED,
        APP_EDITED,
        APP_CHANGE_APPROVED,
        APP_CHANGE_REJECTED,
        APP_CHANGE_WITHDRAWN,
        CLIENT_REGISTERED,
        CLIENT_REGISTRATION_UPDATED,
        CLIENT_REGISTRATION_DELETED,
        SECRET_REVEALED,
        SECRET_ROTATED,
        CONSENT_GRANTED,
        RESOURCE_CREATED,
        RESOURCE_UPDATED,
        CONSENT_REVOKED,
        CONSENT_LIMIT_CHANGED,
        CODE_REPLAY,
        DEVICE_APPROVED,
        DEVICE_DENIED,
        DEVICE_TOKEN_ISSUED,
        REFRESH_REUSE,
        USER_UPDATED,
        SETTINGS_UPDATED,
        TOPUP_GENERATED,
        TOPUP_REDEEMED,
        IDENTITY_UNLINKED,
        EMAIL_BOUND,
        PASSWORD_RESET,
        SIGNED_IN,
        SIGN_IN_FAILED,
        SIGN_IN_THROTTLED,
        USER_UNLOCKED,
        CLIENT_AUTH_FAILED,
        USER_REGISTERED,
        PASSWORD_CHANGED,
        EMAIL_CHANGED,
        TWO_FACTOR_ENABLED,
        TWO_FACTOR_DISABLED,
        TWO_FACTOR_RESET,
        IDENTITY_LINKED,
        SESSION_ENDED,
        OTHER_SESSIONS_ENDED,
        DATA_EXPORTED,
        PASSKEY_ADDED,
        PASSKEY_REMOVED,
        PASSKEY_COUNTER_REGRESSION,
        USER_DELETED,
    ];
}

pub async fn record(
    store: &dyn Store,
    at: i64,
    actor_id: Option<UserId>,
    action: &'static str,
    target: impl Into<String>,
    detail: serde_json::Value,
    ip: &str,
) {
    let entry = NewAuditEntry {
        at,
        actor_id,
        action,
        target: target.into(),
        detail: detail.to_string(),
        ip: ip.to_owned(),
    };
    if let Err(e) = store.audit(entry).await {
        tracing::warn!(error = %e, action, "could not write the audit log");
    }
}

#[cfg(test)]
mod tests {
    /// `action::ALL` is written by hand: every action declared in this file must be in it, or
    /// the admin's audit filter and its words would miss it.
    #[test]
    fn every_declared_action_is_listed() {
        let source = include_str!("audit.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub const "))
            .filter_map(|l| l.split_once(": &str = \""))
            .map(|(_, value)| value.trim_end_matches("\";"))
            .collect();
        assert!(declared.len() > 40, "{declared:?}");
        for code in &declared {
            assert!(
                super::action::ALL.contains(code),
                "{code} is not in action::ALL"
            );
        }
        assert_eq!(declared.len(), super::action::ALL.len());
    }
}
