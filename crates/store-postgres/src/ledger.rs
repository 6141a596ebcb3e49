//! The ledger's rows: written inside the transaction that moves the balance, read for
//! statements and for the invariant check.

use crate::{PgQuery, backend, fetch_optional};
use keyward_core::billing::ledger::{Discrepancy, EntryKind, LedgerEntry, NewEntry};
use keyward_core::store::StoreResult;
use sqlx::Row;
use sqlx::postgres::{PgExecutor, PgRow};

/// `INSERT INTO ledger … SELECT … FROM ` a row source with the account's `id`, `quota` and
/// `used_quota` (after the move), the entry's fields bound by [`bind_entry`] as $2–$13.
macro_rules! insert_entry_from {
    () => {
        "INSERT INTO ledger (user_id, kind, quota_delta, used_delta, actor_user_id, client, \
         family_id, description, idempotency_key, request_hash, refund_of, quota_after, \
         used_after, remaining_limit, created_at) \
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, quota, used_quota, $12, $13 FROM "
    };
}
pub(crate) use insert_entry_from;

/// Binds `entry` as $1 (its user) to $13, for [`insert_entry_from`].
pub(crate) fn bind_entry<'q>(query: PgQuery<'q>, entry: &'q NewEntry<'_>) -> PgQuery<'q> {
    query
        .bind(entry.user_id)
        .bind(entry.kind.as_str())
        .bind(entry.quota_delta)
        .bind(entry.used_delta)
        .bind(entry.actor_user_id)
        .bind(entry.client)
        .bind(entry.family_id)
        .bind(entry.description)
        .bind(entry.idempotency_key)
        .bind(entry.request_hash.map(<[u8; 32]>::as_slice))
        .bind(entry.refund_of)
        .bind(entry.remaining_limit)
        .bind(entry.created_at)
}

/// Writes `entry` with the account's `quota` and `used_quota` as they are now (after the move);
/// returns its id.
pub(crate) async fn record<'c>(on: impl PgExecutor<'c>, entry: &NewEntry<'_>) -> StoreResult<i64> {
    let query = sqlx::query(concat!(
        insert_entry_from!(),
        "users WHERE id = $1 RETURNING id"
    ));
    fetch_optional(on, bind_entry(query, entry), |row| row.try_get(0))
        .await?
        .ok_or_else(|| backend("a ledger entry for a missing user"))
}

/// A user's entries, newest first, paged.
pub(crate) const ENTRIES_OF_USER: &str = "SELECT l.id, l.user_id, l.kind, l.quota_delta, \
     l.used_delta, l.actor_user_id, l.client, c.client_id, l.family_id, l.description, \
     l.idempotency_key, l.refund_of, l.quota_after, l.used_after, l.created_at \
     FROM ledger l LEFT JOIN clients c ON c.id = l.client \
     WHERE l.user_id = $1 ORDER BY l.id DESC LIMIT $2 OFFSET $3";

pub(crate) fn entry_from_row(row: &PgRow) -> Result<LedgerEntry, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        kind: EntryKind::parse(&kind).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "kind".into(),
            source: format!("unknown ledger kind {kind:?}").into(),
        })?,
        quota_delta: row.try_get("quota_delta")?,
        used_delta: row.try_get("used_delta")?,
        actor_user_id: row.try_get("actor_user_id")?,
        client: row.try_get("client")?,
        client_id: row.try_get("client_id")?,
        family_id: row.try_get("family_id")?,
        description: row.try_get("description")?,
        idempotency_key: row.try_get("idempotency_key")?,
        refund_of: row.try_get("refund_of")?,
        quota_after: row.try_get("quota_after")?,
        used_after: row.try_get("used_after")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) const DISCREPANCIES: &str = "SELECT u.id, u.quota, u.used_quota, \
     COALESCE(s.q, 0)::BIGINT AS lq, COALESCE(s.u, 0)::BIGINT AS lu FROM users u LEFT JOIN \
     (SELECT user_id, SUM(quota_delta) AS q, SUM(used_delta) AS u FROM ledger GROUP BY user_id) s \
     ON s.user_id = u.id WHERE u.quota <> COALESCE(s.q, 0) OR u.used_quota <> COALESCE(s.u, 0) \
     ORDER BY u.id";

pub(crate) fn discrepancy_from_row(row: &PgRow) -> Result<Discrepancy, sqlx::Error> {
    Ok(Discrepancy {
        user_id: row.try_get("id")?,
        quota: row.try_get("quota")?,
        used_quota: row.try_get("used_quota")?,
        ledger_quota: row.try_get("lq")?,
        ledger_used: row.try_get("lu")?,
    })
}

/// Net spending (charges minus refunds) of an app on a user's balance since `since`.
pub(crate) const SPENT: &str = "SELECT COALESCE(SUM(used_delta - quota_delta), 0)::BIGINT \
     FROM ledger WHERE user_id = $1 AND client = $2 AND kind IN ('charge', 'refund') \
     AND created_at >= $3";
