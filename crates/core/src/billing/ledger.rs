//! The ledger: every movement of a user's `quota` (credited) or `used_quota` (spent) is an
//! entry, written by the store in the same transaction as the movement. For every user the
//! entries add up to the two columns; [`Discrepancy`] names a user for whom they do not.

use crate::clock::UnixTime;
use crate::model::{ClientPk, UserId};

/// Why the balance moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// What an account held when the ledger began (migration 0016).
    Opening,
    /// The new-user quota.
    Signup,
    /// A redeemed top-up code.
    TopUp,
    /// An admin's edit of `quota` or `used_quota`.
    Admin,
    /// An app spent part of the balance.
    Charge,
    /// An app gave back part of a charge.
    Refund,
}

impl EntryKind {
    pub const ALL: [Self; 6] = [
        Self::Opening,
        Self::Signup,
        Self::TopUp,
        Self::Admin,
        Self::Charge,
        Self::Refund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Signup => "signup",
            Self::TopUp => "topup",
            Self::Admin => "admin",
            Self::Charge => "charge",
            Self::Refund => "refund",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: i64,
    pub user_id: UserId,
    pub kind: EntryKind,
    /// Added to `quota`.
    pub quota_delta: i64,
    /// Added to `used_quota` (a charge is positive, a refund negative).
    pub used_delta: i64,
    /// The user or admin who moved it, if a person did.
    pub actor_user_id: Option<UserId>,
    /// The app that charged or refunded, and its `client_id` while the app exists.
    pub client: Option<ClientPk>,
    pub client_id: Option<String>,
    /// The grant (token family) the app spent through; none for the billing service.
    pub family_id: Option<i64>,
    pub description: String,
    pub idempotency_key: Option<String>,
    /// For a refund: the charge it gives back part of.
    pub refund_of: Option<i64>,
    /// The account's `quota` and `used_quota` right after this entry.
    pub quota_after: i64,
    pub used_after: i64,
    pub created_at: UnixTime,
}

/// An entry to write, in the transaction that moves the balance (after the move: the store
/// records the account's `quota` and `used_quota` as they are then).
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    pub user_id: UserId,
    pub kind: EntryKind,
    pub quota_delta: i64,
    pub used_delta: i64,
    pub actor_user_id: Option<UserId>,
    pub client: Option<ClientPk>,
    pub family_id: Option<i64>,
    pub description: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: Option<&'a [u8; 32]>,
    pub refund_of: Option<i64>,
    pub remaining_limit: Option<i64>,
    pub created_at: UnixTime,
}

impl<'a> NewEntry<'a> {
    /// A movement by a person (or the system, with no actor): no app, no key.
    pub fn by(
        user_id: UserId,
        kind: EntryKind,
        (quota_delta, used_delta): (i64, i64),
        actor_user_id: Option<UserId>,
        created_at: UnixTime,
    ) -> Self {
        Self {
            user_id,
            kind,
            quota_delta,
            used_delta,
            actor_user_id,
            client: None,
            family_id: None,
            description: "",
            idempotency_key: None,
            request_hash: None,
            refund_of: None,
            remaining_limit: None,
            created_at,
        }
    }
}

/// A user whose ledger does not add up to the account's columns: a bug, never a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub user_id: UserId,
    pub quota: i64,
    pub used_quota: i64,
    pub ledger_quota: i64,
    pub ledger_used: i64,
}

#[cfg(test)]
mod tests {
    use super::EntryKind;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EntryKind::parse("gift"), None);
    }
}
