//! The ledger's rows: written inside the transaction that moves the balance, read for
//! statements and for the invariant check.

use crate::backend;
use crate::db::{Cols, first_row};
use crate::rows::parsed;
use keyward_core::billing::ledger::{Discrepancy, EntryKind, LedgerEntry, NewEntry};
use keyward_core::store::StoreResult;
use rusqlite::{Connection, params};

/// Writes `entry` with the account's `quota` and `used_quota` as they are now (after the move);
/// returns its id.
pub(crate) fn record(tx: &Connection, entry: &NewEntry<'_>) -> StoreResult<i64> {
    first_row(
        tx,
        "INSERT INTO ledger (user_id, kind, quota_delta, used_delta, actor_user_id, client, \
         family_id, description, idempotency_key, request_hash, refund_of, quota_after, \
         used_after, remaining_limit, created_at) \
         SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, quota, used_quota, ?12, ?13 \
         FROM users WHERE id = ?1 RETURNING id",
        params![
            entry.user_id,
            entry.kind.as_str(),
            entry.quota_delta,
            entry.used_delta,
            entry.actor_user_id,
            entry.client,
            entry.family_id,
            entry.description,
            entry.idempotency_key,
            entry.request_hash.map(<[u8; 32]>::as_slice),
            entry.refund_of,
            entry.remaining_limit,
            entry.created_at
        ],
        |row| row.get(0),
    )?
    .ok_or_else(|| backend("a ledger entry for a missing user"))
}

/// A user's entries, newest first, paged.
pub(crate) const ENTRIES_OF_USER: &str = "SELECT l.id, l.user_id, l.kind, l.quota_delta, \
     l.used_delta, l.actor_user_id, l.client, c.client_id, l.family_id, l.description, \
     l.idempotency_key, l.refund_of, l.quota_after, l.used_after, l.created_at \
     FROM ledger l LEFT JOIN clients c ON c.id = l.client \
     WHERE l.user_id = ?1 ORDER BY l.id DESC LIMIT ?2 OFFSET ?3";

pub(crate) fn entry_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<LedgerEntry> {
    Ok(LedgerEntry {
        id: row.get("id")?,
        user_id: row.get("user_id")?,
        kind: parsed(row, "kind", |kind: String| {
            EntryKind::parse(&kind).ok_or(kind)
        })?,
        quota_delta: row.get("quota_delta")?,
        used_delta: row.get("used_delta")?,
        actor_user_id: row.get("actor_user_id")?,
        client: row.get("client")?,
        client_id: row.get("client_id")?,
        family_id: row.get("family_id")?,
        description: row.get("description")?,
        idempotency_key: row.get("idempotency_key")?,
        refund_of: row.get("refund_of")?,
        quota_after: row.get("quota_after")?,
        used_after: row.get("used_after")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) const DISCREPANCIES: &str = "SELECT u.id, u.quota, u.used_quota, \
     COALESCE(s.q, 0) AS lq, COALESCE(s.u, 0) AS lu FROM users u LEFT JOIN \
     (SELECT user_id, SUM(quota_delta) AS q, SUM(used_delta) AS u FROM ledger GROUP BY user_id) s \
     ON s.user_id = u.id WHERE u.quota <> COALESCE(s.q, 0) OR u.used_quota <> COALESCE(s.u, 0) \
     ORDER BY u.id";

pub(crate) fn discrepancy_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<Discrepancy> {
    Ok(Discrepancy {
        user_id: row.get("id")?,
        quota: row.get("quota")?,
        used_quota: row.get("used_quota")?,
        ledger_quota: row.get("lq")?,
        ledger_used: row.get("lu")?,
    })
}

/// Net spending (charges minus refunds) of an app on a user's balance since `since`.
pub(crate) const SPENT: &str = "SELECT COALESCE(SUM(used_delta - quota_delta), 0) FROM ledger \
     WHERE user_id = ?1 AND client = ?2 AND kind IN ('charge', 'refund') AND created_at >= ?3";
