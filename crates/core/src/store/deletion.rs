//! Deleting an account, in one transaction (`accounts::deletion` decides what goes in it).

use super::StoreResult;
use crate::clock::UnixTime;
use crate::model::{NewAuditEntry, UserId};
use async_trait::async_trait;

/// Everything one account deletion does, decided by `accounts::deletion` before the store runs
/// it. [`AccountDeletion::rewrite`] says what each audit record about the account becomes.
#[derive(Debug, Clone)]
pub struct AccountDeletion {
    pub user: UserId,
    /// `deleted-user:<random>`: what the audit log keeps instead of the account.
    pub pseudonym: String,
    /// What identifies the person (user name, display name, e-mail address, upstream names and
    /// subjects), lower-cased: scrubbed from the details of audit records by or about the
    /// account (and, in any record, what contains its e-mail address).
    pub personal: Vec<String>,
    /// The account's e-mail address (verified or not), if any: mailed codes sent to it go too.
    pub email: Option<String>,
    /// The user name, lower-cased, is held until then (`username_holds`).
    pub hold_name: String,
    pub hold_until: UnixTime,
    pub now: UnixTime,
    /// Owned apps that were approved or pending get this review note when disabled.
    pub app_note: String,
    /// The deletion's own audit record, written in the same transaction. `actor_id` is the admin
    /// who deleted the account, or `None` when it deleted itself (the record then names the
    /// pseudonym as its actor).
    pub record: NewAuditEntry,
}

/// What an audit record about a deleted account becomes ([`AccountDeletion::rewrite`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRewrite {
    pub actor_id: Option<UserId>,
    pub actor_pseudonym: Option<String>,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionOutcome {
    /// The account is gone; the `client_id`s of the apps that were disabled with it.
    Deleted {
        disabled_apps: Vec<String>,
    },
    NotFound,
    /// It is the last root account: nothing was changed.
    LastRoot,
}

#[async_trait]
pub trait DeletionStore: Send + Sync + 'static {
    /// In one transaction: refuses ([`DeletionOutcome::LastRoot`]) to delete the last root;
    /// disables the account's approved and pending apps, which lose every code and token as an
    /// admin's disabling does, and keeps them without an owner; rewrites the audit records about
    /// the account ([`AccountDeletion::rewrite`]); holds the user name until `hold_until`;
    /// deletes mailed codes sent to its address; deletes the account's row, and with it its
    /// sessions, developer token, identities, two-factor record, consents, codes, device codes,
    /// upstream states and tokens; writes `record`.
    async fn delete_account(&self, deletion: &AccountDeletion) -> StoreResult<DeletionOutcome>;
}
