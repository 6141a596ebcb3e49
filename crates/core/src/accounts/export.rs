//! The export of everything Keyward holds about one user, as one JSON document. Each section is
//! built from a whitelist of fields: hashes, secrets, tokens and keys are never copied in (a
//! session is listed by its times and place, an app by its public metadata, two-factor by
//! whether it is on).
//!
//! To add a section: a field on [`AccountExport`] and one line in [`Accounts::export`].

use super::activity::about_user_actions;
use super::{AccountError, Accounts};
use crate::audit::action;
use crate::clock::UnixTime;
use crate::model::User;
use crate::store::{Page, UserAuditQuery};
use serde::Serialize;

/// At most this many audit records are exported (the newest).
pub const MAX_AUDIT_RECORDS: i64 = 10_000;

#[derive(Debug, Serialize)]
pub struct AccountExport {
    pub exported_at: UnixTime,
    pub profile: Profile,
    pub identities: Vec<IdentityEntry>,
    pub consents: Vec<ConsentEntry>,
    pub sessions: Vec<SessionEntry>,
    pub apps: Vec<AppEntry>,
    pub two_factor: TwoFactorState,
    /// Names and dates, never the public keys or counters.
    pub passkeys: Vec<super::passkeys::PasskeyInfo>,
    pub audit: Vec<AuditRecord>,
}

#[derive(Debug, Serialize)]
pub struct Profile {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub has_password: bool,
    pub avatar_url: String,
    pub role: &'static str,
    pub status: i64,
    pub level: i64,
    pub quota: i64,
    pub used_quota: i64,
    pub aff_code: String,
    pub inviter_id: Option<i64>,
    pub created_at: UnixTime,
    pub last_login_at: Option<UnixTime>,
}

#[derive(Debug, Serialize)]
pub struct IdentityEntry {
    pub provider: String,
    pub subject: String,
    pub display: String,
    pub linked_at: UnixTime,
}

#[derive(Debug, Serialize)]
pub struct ConsentEntry {
    pub client_id: String,
    pub app_name: String,
    pub scopes: String,
    pub resources: Vec<ResourceScopes>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

#[derive(Debug, Serialize)]
pub struct ResourceScopes {
    pub resource: String,
    pub scopes: Vec<String>,
}

/// A live session, without its id (whose hash is the only thing stored).
#[derive(Debug, Serialize)]
pub struct SessionEntry {
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    pub expires_at: UnixTime,
    pub ip: String,
    pub user_agent: String,
}

/// An app the user owns: its public metadata only.
#[derive(Debug, Serialize)]
pub struct AppEntry {
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub public: bool,
    pub status: &'static str,
    pub created_at: UnixTime,
}

#[derive(Debug, Serialize)]
pub struct TwoFactorState {
    pub enabled: bool,
}

#[derive(Debug, Serialize)]
pub struct AuditRecord {
    pub at: UnixTime,
    pub action: String,
    pub by_self: bool,
    pub target: String,
    pub detail: serde_json::Value,
    pub ip: String,
}

impl Accounts {
    /// Everything held about `user` (the signed-in one: no other account can be named), and an
    /// audit record of the export itself.
    pub async fn export(&self, user: &User, ip: &str) -> Result<AccountExport, AccountError> {
        let now = self.clock.now();
        let identities = self.store.identities_of_user(user.id).await?;
        let consents = self.store.consents_of_user(user.id).await?;
        let sessions = self.store.list_user_sessions(user.id, now).await?;
        let apps = self.store.clients_of_owner(user.id).await?;
        let passkeys = self.store.passkeys_of_user(user.id).await?;
        let audit = self
            .store
            .audit_about_user(&UserAuditQuery {
                user: user.id,
                actions: &about_user_actions(),
                include_acted: true,
                page: Page {
                    offset: 0,
                    limit: MAX_AUDIT_RECORDS,
                },
            })
            .await?;
        let export = AccountExport {
            exported_at: now,
            profile: Profile {
                id: user.id,
                uuid: user.uuid.to_string(),
                username: user.username.clone(),
                display_name: user.display_name.clone(),
                email: user.email.clone(),
                email_verified: user.email_verified,
                has_password: user.password_hash.is_some(),
                avatar_url: user.avatar_url.clone(),
                role: user.role.name(),
                status: user.status.as_i64(),
                level: user.level,
                quota: user.quota,
                used_quota: user.used_quota,
                aff_code: user.aff_code.clone(),
                inviter_id: user.inviter_id,
                created_at: user.created_at,
                last_login_at: user.last_login_at,
            },
            identities: identities
                .into_iter()
                .map(|i| IdentityEntry {
                    provider: i.provider,
                    subject: i.subject,
                    display: i.display,
                    linked_at: i.created_at,
                })
                .collect(),
            consents: consents
                .into_iter()
                .map(|(consent, client)| ConsentEntry {
                    client_id: client.client_id,
                    app_name: client.name,
                    scopes: consent.scopes.to_string(),
                    resources: consent
                        .resources
                        .iter()
                        .map(|g| ResourceScopes {
                            resource: g.resource.clone(),
                            scopes: g.scopes.clone(),
                        })
                        .collect(),
                    created_at: consent.created_at,
                    updated_at: consent.updated_at,
                    last_used_at: consent.last_used_at,
                })
                .collect(),
            sessions: sessions
                .into_iter()
                .filter(|s| !s.mfa_pending)
                .map(|s| SessionEntry {
                    created_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    expires_at: s.expires_at,
                    ip: s.ip,
                    user_agent: s.user_agent,
                })
                .collect(),
            apps: apps
                .into_iter()
                .map(|c| AppEntry {
                    client_id: c.client_id,
                    name: c.name,
                    description: c.description,
                    redirect_uris: c.redirect_uris,
                    scopes: c.allowed_scopes.to_string(),
                    public: c.public,
                    status: c.status.as_str(),
                    created_at: c.created_at,
                })
                .collect(),
            two_factor: TwoFactorState {
                enabled: user.totp_enabled,
            },
            passkeys: passkeys
                .iter()
                .map(super::passkeys::PasskeyInfo::from)
                .collect(),
            audit: audit
                .into_iter()
                .map(|e| AuditRecord {
                    by_self: e.actor_id == Some(user.id),
                    detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
                    at: e.at,
                    action: e.action,
                    target: e.target,
                    ip: e.ip,
                })
                .collect(),
        };
        self.record_change(
            user.id,
            user.id,
            action::DATA_EXPORTED,
            serde_json::json!({}),
            ip,
        )
        .await;
        Ok(export)
    }
}
