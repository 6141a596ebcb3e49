//! Deleting an account, by its owner (after a recent sign-in, which the caller checks, and typing
//! the user name) or by an admin (the rank rules of [`super::admin::check`]).
//!
//! What goes, in one store transaction ([`DeletionStore::delete_account`]): the users row and
//! everything hanging on it (sessions, developer token, identities, two-factor record, consents,
//! codes, device codes, upstream states, tokens: an opaque token is refused by the next check on
//! any node), and mailed codes sent to the account's address. Its apps are not deleted from under
//! the users who authorized them: approved and pending ones are disabled as an admin disables an
//! app (their codes and tokens die) and stay, without an owner, for an admin to delete or approve
//! again. The audit log keeps a pseudonym (`deleted-user:<random>`) where it named the account,
//! and loses the IP addresses of its requests and the personal values in its details. The user
//! name stays held for `deleted_username_hold_days`. The last root account cannot be deleted.

use super::Change;
use super::notices::{self, Notice};
use super::validate::login_key;
use crate::audit::{self, action};
use crate::model::{AuditEntry, NewAuditEntry, Role, User, UserId};
use crate::settings::Settings;
use crate::store::{AccountDeletion, AuditRewrite, DeletionOutcome, StoreError};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error("用户不存在")]
    NotFound,
    /// The confirmation typed is not the account's user name.
    #[error("请输入该账户的用户名以确认注销")]
    Confirmation,
    #[error("无权注销同权限等级或更高权限等级的用户")]
    Rank,
    #[error("不能注销最后一个超级管理员账户")]
    LastRoot,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the caller needs after a deletion (the account's data is gone from the store).
#[derive(Debug, Clone)]
pub struct DeletedAccount {
    pub user_id: UserId,
    /// What the audit log calls the account from now on.
    pub pseudonym: String,
    /// The user name and verified address before removal: for the notice mail, and nothing
    /// else (the mail is sent by the caller).
    pub username: String,
    pub verified_email: Option<String>,
    /// `client_id`s of the apps that were disabled with the account.
    pub disabled_apps: Vec<String>,
}

/// The prefix of every pseudonym.
pub const PSEUDONYM_PREFIX: &str = "deleted-user:";

/// The review note of an app disabled because its owner's account was deleted.
pub const APP_NOTE: &str = "应用所有者的账户已注销 (the owner's account was deleted)";

/// The typed confirmation names the account (trimmed, without case, as user names compare).
pub fn confirms(user: &User, typed: &str) -> bool {
    !typed.trim().is_empty() && login_key(typed) == login_key(&user.username)
}

/// Admins may delete accounts below their rank (root: any, other roots included); anyone may
/// delete their own. The last root is refused by the store, atomically.
pub fn check_admin(actor: &User, target: &User) -> Result<(), DeletionError> {
    if actor.id == target.id || actor.role == Role::Root {
        return Ok(());
    }
    if !actor.role.is_admin() || target.role >= actor.role {
        return Err(DeletionError::Rank);
    }
    Ok(())
}

/// Audit actions whose target is a user id (the others name an app, a code, a setting).
fn targets_account(action: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "user.",
        "email.",
        "password.",
        "identity.",
        "two_factor.",
        "totp.",
        "passkey.",
        "session.",
        "account.",
    ];
    PREFIXES.iter().any(|p| action.starts_with(p))
}

/// Keys of a detail whose number is a user id.
const USER_ID_KEYS: &[&str] = &["user", "user_id", "owner", "owner_id", "actor", "actor_id"];

impl AccountDeletion {
    fn is_personal(&self, value: &str) -> bool {
        let folded = value.trim().to_lowercase();
        !folded.is_empty() && self.personal.contains(&folded)
    }

    fn mentions_email(&self, value: &str) -> bool {
        self.email
            .as_deref()
            .is_some_and(|e| !e.is_empty() && value.to_lowercase().contains(&e.to_lowercase()))
    }

    /// Replaces personal values in `value` (with `all`: every personal value; otherwise only
    /// what contains the e-mail address); returns whether anything changed.
    fn scrub(&self, value: &mut Value, key: Option<&str>, all: bool) -> bool {
        match value {
            Value::String(s) if (all && self.is_personal(s)) || self.mentions_email(s) => {
                *value = Value::String(self.pseudonym.clone());
                true
            }
            Value::Number(n)
                if all
                    && key.is_some_and(|k| USER_ID_KEYS.contains(&k))
                    && n.as_i64() == Some(self.user) =>
            {
                *value = Value::String(self.pseudonym.clone());
                true
            }
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, item| self.scrub(item, None, all) | changed),
            Value::Object(map) => map.iter_mut().fold(false, |changed, (k, v)| {
                self.scrub(v, Some(k), all) | changed
            }),
            _ => false,
        }
    }

    /// What an audit record becomes when this account is deleted, or `None` when it stays as
    /// it is. The account as actor becomes the pseudonym and its request's IP is dropped; the
    /// account as target (a user action naming its id, or a target naming its address) becomes
    /// the pseudonym. In the details of records by or about the account, every personal value
    /// becomes the pseudonym (a detail that is not JSON but mentions one becomes `{}`); in other
    /// records only what contains its e-mail address does: a display name such as "openid" must
    /// not rewrite other people's records.
    pub fn rewrite(&self, entry: &AuditEntry) -> Option<AuditRewrite> {
        let by_them = entry.actor_id == Some(self.user);
        let about_them = (targets_account(&entry.action) && entry.target == self.user.to_string())
            || self.mentions_email(&entry.target);
        let all = by_them || about_them;
        let detail = match serde_json::from_str::<Value>(&entry.detail) {
            Ok(mut value) => self.scrub(&mut value, None, all).then(|| value.to_string()),
            Err(_) => {
                let lower = entry.detail.to_lowercase();
                let mentions = self.mentions_email(&entry.detail)
                    || (all && self.personal.iter().any(|p| lower.contains(p.as_str())));
                mentions.then(|| "{}".to_owned())
            }
        };
        if !all && detail.is_none() {
            return None;
        }
        Some(AuditRewrite {
            actor_id: if by_them { None } else { entry.actor_id },
            actor_pseudonym: if by_them {
                Some(self.pseudonym.clone())
            } else {
                entry.actor_pseudonym.clone()
            },
            target: if about_them {
                self.pseudonym.clone()
            } else {
                entry.target.clone()
            },
            detail: detail.unwrap_or_else(|| entry.detail.clone()),
            ip: if by_them {
                String::new()
            } else {
                entry.ip.clone()
            },
        })
    }
}

/// The plan for deleting `target` (`actor`: the admin, `None` for the account itself).
fn plan(
    target: &User,
    identities: &[crate::model::Identity],
    actor: Option<&User>,
    settings: &Settings,
    now: crate::clock::UnixTime,
    ip: &str,
) -> AccountDeletion {
    let pseudonym = format!("{PSEUDONYM_PREFIX}{}", crate::secret::random_base64url(12));
    let mut personal: Vec<String> = [&target.username, &target.display_name]
        .into_iter()
        .chain(target.email.as_ref())
        .chain(identities.iter().flat_map(|i| [&i.subject, &i.display]))
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    personal.sort();
    personal.dedup();
    let record = NewAuditEntry {
        at: now,
        actor_id: actor.map(|a| a.id),
        action: action::USER_DELETED,
        target: pseudonym.clone(),
        detail: json!({
            "by": if actor.is_some() { "admin" } else { "self" },
            "role": target.role.as_i64(),
        })
        .to_string(),
        // The account's own request: its IP is personal data like the rest.
        ip: if actor.is_some() {
            ip.to_owned()
        } else {
            String::new()
        },
    };
    AccountDeletion {
        user: target.id,
        pseudonym,
        personal,
        email: target.email.clone(),
        hold_name: target.username.to_lowercase(),
        hold_until: now + settings.deleted_username_hold_days.max(0) * 24 * 3600,
        now,
        app_note: APP_NOTE.to_owned(),
        record,
    }
}

impl super::Accounts {
    /// The account deletes itself. The caller has checked the recent sign-in; `confirmation` is
    /// the user name typed again.
    pub async fn delete_own_account(
        &self,
        user: &User,
        confirmation: &str,
        settings: &Settings,
        change: &Change<'_>,
    ) -> Result<DeletedAccount, DeletionError> {
        if !confirms(user, confirmation) {
            return Err(DeletionError::Confirmation);
        }
        self.delete_account(user, None, settings, change).await
    }

    /// An admin deletes the account `id`, confirmed by typing its user name.
    pub async fn delete_account_as_admin(
        &self,
        admin: &User,
        id: UserId,
        confirmation: &str,
        settings: &Settings,
        change: &Change<'_>,
    ) -> Result<DeletedAccount, DeletionError> {
        let target = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(DeletionError::NotFound)?;
        check_admin(admin, &target)?;
        if !confirms(&target, confirmation) {
            return Err(DeletionError::Confirmation);
        }
        let actor = (admin.id != target.id).then_some(admin);
        self.delete_account(&target, actor, settings, change).await
    }

    async fn delete_account(
        &self,
        target: &User,
        actor: Option<&User>,
        settings: &Settings,
        change: &Change<'_>,
    ) -> Result<DeletedAccount, DeletionError> {
        let ip = change.ip;
        let now = self.clock.now();
        let identities = self.store.identities_of_user(target.id).await?;
        let deletion = plan(target, &identities, actor, settings, now, ip);
        let disabled_apps = match self.store.delete_account(&deletion).await? {
            DeletionOutcome::Deleted { disabled_apps } => disabled_apps,
            DeletionOutcome::NotFound => return Err(DeletionError::NotFound),
            DeletionOutcome::LastRoot => return Err(DeletionError::LastRoot),
        };
        tracing::info!(
            user.id = target.id,
            admin.id = actor.map(|a| a.id),
            apps_disabled = disabled_apps.len(),
            "account deleted"
        );
        for client_id in &disabled_apps {
            audit::record(
                self.store.as_ref(),
                now,
                actor.map(|a| a.id),
                action::APP_DISABLED,
                client_id.clone(),
                json!({"reason": "owner deleted", "owner": deletion.pseudonym}),
                if actor.is_some() { ip } else { "" },
            )
            .await;
        }
        // To the address it had, which the account no longer holds.
        notices::send(change.mail, target, &Notice::AccountDeleted).await;
        Ok(DeletedAccount {
            user_id: target.id,
            pseudonym: deletion.pseudonym,
            username: target.username.clone(),
            verified_email: target.email.clone().filter(|_| target.email_verified),
            disabled_apps,
        })
    }
}

#[cfg(test)]
mod tests;
