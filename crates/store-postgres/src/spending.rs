//! Charges and refunds, each one transaction that first locks the user's row (`FOR UPDATE`):
//! every movement of that balance (charges of any app, refunds, top-ups, admin edits) waits
//! for it, so what it reads (balance, limit, what was spent, what was refunded) is what it
//! writes against, and a retry with the same idempotency key sees the first one committed.
//!
//! A request is four round trips: `BEGIN`, one statement that locks the row and reads all the
//! rules need, one that writes (the account, the consent's counter, the entry), `COMMIT`; the
//! rules are judged in between (`keyward_core::billing::spend`). A read that waited for the
//! lock is made once more, and a limit's new window has its few entries summed.

use crate::ledger::{SPENT, bind_entry, insert_entry_from};
use crate::{PgQuery, backend, fetch_optional};
use keyward_core::billing::ledger::{EntryKind, NewEntry};
use keyward_core::billing::limit::SpendLimit;
use keyward_core::billing::spend::{
    ChargeRequest, ChargeState, KeyedEntry, LimitState, Receipt, RefundRequest, RefundState,
    SpendOutcome, answer_again, judge_charge, judge_refund, names_charge_of, refund_deltas,
};
use keyward_core::model::{ClientPk, UserId};
use keyward_core::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, Row, Transaction};

type Tx = Transaction<'static, Postgres>;

/// The entry answering an earlier request with the same key (`ledger r`), as
/// [`earlier_answer`] reads it; all null when there is none.
macro_rules! replay_columns {
    () => {
        "r.id AS replay_id, r.request_hash, r.quota_delta, r.used_delta, r.refund_of, \
         r.quota_after, r.used_after, r.remaining_limit"
    };
}

/// Whether the user's row `u`, as locked, is the version this statement's snapshot shows: then
/// no balance movement committed between the snapshot and the lock, and what the statement read
/// beside it is what the lock guards. Otherwise (it waited for another movement, whose writes
/// its snapshot misses) the read is made again, under the lock now held. Every movement of a
/// balance updates the user's row, so its version (`xmin`) tells.
macro_rules! fresh_under_lock {
    () => {
        "COALESCE(u.xmin = (SELECT s.xmin FROM users s WHERE s.id = u.id), false) AS fresh"
    };
}

/// Whether the app may still spend: approved, and allowed to spend through a user's grant
/// (`may_spend`) or as the billing service (no grant, $3 null). $2 the app.
macro_rules! app_may_spend {
    () => {
        "EXISTS (SELECT 1 FROM clients c WHERE c.id = $2 AND c.status = 'approved' \
         AND (CASE WHEN $3::BIGINT IS NULL THEN c.billing_service ELSE c.may_spend END)) \
         AS app_may_spend"
    };
}

/// Whether the grant $3 of app $2 is live and `user`'s.
macro_rules! grant_is_live {
    ($user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM token_families f WHERE f.id = $3 AND f.client = $2 \
             AND f.user_id = ",
            $user,
            " AND f.revoked_at IS NULL) AS grant_live"
        )
    };
}

/// What a charge reads under the lock of the user's row, in one statement: the account, the
/// earlier answer to its key, whether the app may spend and the grant is live, the consent's
/// limit and counter. $1 the user, $2 the app, $3 the grant, $4 the key.
const CHARGE_STATE: &str = concat!(
    "SELECT u.quota, u.used_quota, u.status, ",
    fresh_under_lock!(),
    ", ",
    replay_columns!(),
    ", ",
    app_may_spend!(),
    ", ",
    grant_is_live!("$1"),
    ", k.spend_limit, k.spend_period, k.created_at AS consented_at, k.spent_window_start, \
     k.spent_in_window \
     FROM users u \
     LEFT JOIN ledger r ON r.client = $2 AND r.idempotency_key = $4 \
     LEFT JOIN consents k ON k.user_id = u.id AND k.client = $2 \
     WHERE u.id = $1 FOR UPDATE OF u"
);

/// What a refund reads under the lock of the charged user's row, in one statement: the charge
/// ($1, of app $2), the account, the earlier answer to its key ($4), whether the app may spend
/// and the grant ($3) is live, what was refunded of the charge. Only a charge the request may
/// name ([`names_charge_of`]: of user $5 when it names one) is read, so another user's row is
/// never locked.
const REFUND_STATE: &str = concat!(
    "SELECT ch.user_id, ch.used_delta AS charged, ch.created_at AS charged_at, u.used_quota, ",
    fresh_under_lock!(),
    ", ",
    replay_columns!(),
    ", ",
    app_may_spend!(),
    ", ",
    grant_is_live!("u.id"),
    ", (SELECT COALESCE(SUM(quota_delta - used_delta), 0) FROM ledger \
        WHERE refund_of = ch.id)::BIGINT AS refunded \
     FROM ledger ch JOIN users u ON u.id = ch.user_id \
     LEFT JOIN ledger r ON r.client = $2 AND r.idempotency_key = $4 \
     WHERE ch.id = $1 AND ch.kind = 'charge' AND ch.client = $2 \
       AND ($5::BIGINT IS NULL OR ch.user_id = $5) \
     FOR UPDATE OF u"
);

/// A charge's or refund's writes, in one statement: the account moved by the entry's deltas,
/// the consent's spending counter, the entry (with the account after the move). The counter is
/// set to $15 from window $14 when the charge was judged against it, else moved by what the
/// entry spends (`used_delta − quota_delta`, as [`SPENT`] sums) if it is kept. Returns the
/// entry's id and the account's `quota` and `used_quota` after.
const MOVE: &str = concat!(
    "WITH moved AS (UPDATE users SET quota = quota + $3, used_quota = used_quota + $4, \
       updated_at = $13 WHERE id = $1 RETURNING id, quota, used_quota), \
     counted AS (UPDATE consents SET \
       spent_window_start = COALESCE($14::BIGINT, spent_window_start), \
       spent_in_window = COALESCE($15::BIGINT, spent_in_window + $4 - $3) \
       WHERE user_id = $1 AND client = $6 \
         AND ($14::BIGINT IS NOT NULL OR spent_window_start IS NOT NULL)), \
     entry AS (",
    insert_entry_from!(),
    "moved RETURNING id) \
     SELECT entry.id, moved.quota, moved.used_quota FROM entry, moved"
);

/// The answer already given to this app's key, or a conflict when the body differs, from a row
/// with [`replay_columns`]; `None` without an earlier entry.
fn earlier_answer(row: &PgRow, hash: &[u8; 32]) -> Result<Option<SpendOutcome>, sqlx::Error> {
    let Some(id) = row.try_get::<Option<i64>, _>("replay_id")? else {
        return Ok(None);
    };
    let entry = KeyedEntry {
        id,
        request_hash: row
            .try_get::<Option<Vec<u8>>, _>("request_hash")?
            .unwrap_or_default(),
        refund_of: row.try_get("refund_of")?,
        quota_delta: row.try_get("quota_delta")?,
        used_delta: row.try_get("used_delta")?,
        quota_after: row.try_get("quota_after")?,
        used_after: row.try_get("used_after")?,
        remaining_limit: row.try_get("remaining_limit")?,
    };
    Ok(Some(answer_again(entry, hash)))
}

/// The answer already given to this app's `key`, or a conflict when the body differs; for a
/// charge naming a user without a row (the billing service's), which no locked read returns.
async fn replay(
    tx: &mut PgConnection,
    client: ClientPk,
    key: &str,
    hash: &[u8; 32],
) -> StoreResult<Option<SpendOutcome>> {
    let query = sqlx::query(concat!(
        "SELECT ",
        replay_columns!(),
        " FROM ledger r WHERE r.client = $1 AND r.idempotency_key = $2"
    ))
    .bind(client)
    .bind(key);
    Ok(fetch_optional(tx, query, |row| earlier_answer(row, hash))
        .await?
        .flatten())
}

/// Runs a read that locks the user's row and says whether it is [`fresh_under_lock`]; again
/// when it is not, by which time the lock is held and no movement can come in between.
async fn read_locked<T>(
    tx: &mut PgConnection,
    query: impl Fn() -> PgQuery<'static>,
    map: impl Fn(&PgRow) -> Result<T, sqlx::Error> + Copy,
) -> StoreResult<Option<T>> {
    let fresh = |row: &PgRow| Ok((row.try_get::<bool, _>("fresh")?, map(row)?));
    match fetch_optional(&mut *tx, query(), fresh).await? {
        Some((false, _)) => Ok(fetch_optional(&mut *tx, query(), map).await?),
        read => Ok(read.map(|(_, state)| state)),
    }
}

/// A charge's state as read under the lock.
struct ChargeRead {
    quota: i64,
    used: i64,
    enabled: bool,
    replay: Option<SpendOutcome>,
    app_may_spend: bool,
    grant_live: bool,
    consent: Consent,
}

/// The consent's limit (amount, period), when it was given, and its spending counter (window
/// start, spent in it); all `None`/0 without a consent.
type Consent = (
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// The consent's limit, what the app spent in its current window and where that window starts;
/// `None` without a consent or without a limit on it. The spending is the consent's counter
/// (migration 0021) while it is for this window; else the window's entries are summed (a new
/// day or month: few of them).
async fn limit_state(
    tx: &mut PgConnection,
    user: UserId,
    client: ClientPk,
    consent: Consent,
    now: i64,
) -> StoreResult<Option<(LimitState, i64)>> {
    let (amount, period, Some(consented_at), counted_from, counted) = consent else {
        return Ok(None);
    };
    let Some(limit) = SpendLimit::from_columns(amount, period.as_deref()) else {
        return Ok(None);
    };
    let since = limit.window_start(now, consented_at);
    let spent = if counted_from == Some(since) {
        counted.unwrap_or(0)
    } else {
        let spent = sqlx::query(SPENT).bind(user).bind(client).bind(since);
        fetch_optional(&mut *tx, spent, |row| row.try_get(0))
            .await?
            .unwrap_or(0)
    };
    Ok(Some((LimitState { limit, spent }, since)))
}

/// Moves the account and writes `entry` ([`MOVE`]), the counter set from `judged` (window,
/// spent before) when the charge was judged against it; the entry's id and the account after,
/// `None` without the user's row. A same-key entry committed meanwhile by another user's
/// request (only the billing service names users) is a conflict, the transaction then being
/// void.
async fn settle(
    tx: &mut PgConnection,
    entry: &NewEntry<'_>,
    judged: Option<(i64, i64)>,
) -> StoreResult<Result<Option<(i64, i64, i64)>, SpendOutcome>> {
    let spending = entry.used_delta - entry.quota_delta;
    let query = bind_entry(sqlx::query(MOVE), entry)
        .bind(judged.map(|(window, _)| window))
        .bind(judged.map(|(_, spent)| spent + spending));
    let moved = fetch_optional(tx, query, |row| {
        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
    })
    .await;
    match moved {
        Ok(moved) => Ok(Ok(moved)),
        Err(StoreError::Backend(e)) if is_key_taken(e.as_ref()) => {
            Ok(Err(SpendOutcome::IdempotencyConflict))
        }
        Err(e) => Err(e),
    }
}

fn is_key_taken(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<sqlx::Error>().is_some_and(|e| {
        matches!(e, sqlx::Error::Database(db)
            if db.is_unique_violation() && db.constraint() == Some("ledger_idempotency"))
    })
}

pub(crate) async fn charge(mut tx: Tx, r: &ChargeRequest) -> StoreResult<SpendOutcome> {
    let hash = r.request_hash;
    let read = read_locked(
        &mut tx,
        || {
            sqlx::query(CHARGE_STATE)
                .bind(r.user)
                .bind(r.client)
                .bind(r.family)
                .bind(r.idempotency_key.clone())
        },
        |row| {
            Ok(ChargeRead {
                quota: row.try_get("quota")?,
                used: row.try_get("used_quota")?,
                enabled: row.try_get::<i64, _>("status")? == 1,
                replay: earlier_answer(row, &hash)?,
                app_may_spend: row.try_get("app_may_spend")?,
                grant_live: row.try_get("grant_live")?,
                consent: (
                    row.try_get("spend_limit")?,
                    row.try_get("spend_period")?,
                    row.try_get("consented_at")?,
                    row.try_get("spent_window_start")?,
                    row.try_get("spent_in_window")?,
                ),
            })
        },
    )
    .await?;
    // The replay answers before any other check, a user without a row included.
    let Some(read) = read else {
        let earlier = replay(&mut tx, r.client, &r.idempotency_key, &hash).await?;
        return Ok(earlier.unwrap_or(SpendOutcome::NotAllowed));
    };
    if let Some(earlier) = read.replay {
        return Ok(earlier);
    }
    if !read.enabled || !read.app_may_spend {
        return Ok(SpendOutcome::NotAllowed);
    }
    let limit = match r.family {
        Some(_) => {
            if !read.grant_live {
                return Ok(SpendOutcome::NotAllowed);
            }
            match limit_state(&mut tx, r.user, r.client, read.consent, r.now).await? {
                Some(state) => Some(state),
                None => return Ok(SpendOutcome::NoLimit),
            }
        }
        None => None,
    };
    let window = limit.map(|(state, since)| (since, state.spent));
    let judged = match judge_charge(r.amount, read.quota, read.used, limit.map(|(s, _)| s)) {
        Ok(judged) => judged,
        Err(refused) => return Ok(refused),
    };
    let entry = NewEntry {
        user_id: r.user,
        kind: EntryKind::Charge,
        quota_delta: 0,
        used_delta: r.amount,
        actor_user_id: None,
        client: Some(r.client),
        family_id: r.family,
        description: &r.description,
        idempotency_key: Some(&r.idempotency_key),
        request_hash: Some(&r.request_hash),
        refund_of: None,
        remaining_limit: judged.remaining,
        created_at: r.now,
    };
    let (id, quota, used_quota) = match settle(&mut tx, &entry, window).await? {
        Ok(Some(moved)) => moved,
        Ok(None) => {
            return Err(backend(
                "a charge of a user whose row was locked but is gone",
            ));
        }
        Err(refused) => return Ok(refused),
    };
    tx.commit().await.map_err(backend)?;
    Ok(SpendOutcome::Done(Receipt {
        charge_id: id,
        refund_id: None,
        amount: r.amount,
        quota,
        used_quota,
        remaining_limit: judged.remaining,
        reached: judged.reached,
    }))
}

/// A refund's state as read under the lock.
struct RefundRead {
    charge: ChargeState,
    used: i64,
    replay: Option<SpendOutcome>,
    app_may_spend: bool,
    grant_live: bool,
}

pub(crate) async fn refund(mut tx: Tx, r: &RefundRequest) -> StoreResult<SpendOutcome> {
    let hash = r.request_hash;
    let read = read_locked(
        &mut tx,
        || {
            sqlx::query(REFUND_STATE)
                .bind(r.charge_id)
                .bind(r.client)
                .bind(r.family)
                .bind(r.idempotency_key.clone())
                .bind(r.user)
        },
        |row| {
            Ok(RefundRead {
                charge: ChargeState {
                    user: row.try_get("user_id")?,
                    charged: row.try_get("charged")?,
                    charged_at: row.try_get("charged_at")?,
                    refunded: row.try_get("refunded")?,
                },
                used: row.try_get("used_quota")?,
                replay: earlier_answer(row, &hash)?,
                app_may_spend: row.try_get("app_may_spend")?,
                grant_live: row.try_get("grant_live")?,
            })
        },
    )
    .await?;
    // No such charge of this app (and user), or its user gone.
    let Some(read) = read.filter(|read| names_charge_of(r, read.charge.user)) else {
        return Ok(SpendOutcome::UnknownCharge);
    };
    if let Some(earlier) = read.replay {
        return Ok(earlier);
    }
    let state = RefundState {
        charge: Some(read.charge),
        app_may_spend: read.app_may_spend,
        // The billing service refunds through no grant.
        grant_live: r.family.is_none() || read.grant_live,
    };
    let user = match judge_refund(r, &state) {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let (quota_delta, used_delta) = refund_deltas(r.amount, read.used);
    let entry = NewEntry {
        user_id: user,
        kind: EntryKind::Refund,
        quota_delta,
        used_delta,
        actor_user_id: None,
        client: Some(r.client),
        family_id: r.family,
        description: "",
        idempotency_key: Some(&r.idempotency_key),
        request_hash: Some(&r.request_hash),
        refund_of: Some(r.charge_id),
        remaining_limit: None,
        created_at: r.now,
    };
    let (id, quota, used_quota) = match settle(&mut tx, &entry, None).await? {
        Ok(Some(moved)) => moved,
        Ok(None) => return Ok(SpendOutcome::UnknownCharge),
        Err(refused) => return Ok(refused),
    };
    tx.commit().await.map_err(backend)?;
    Ok(SpendOutcome::Done(Receipt {
        charge_id: r.charge_id,
        refund_id: Some(id),
        amount: r.amount,
        quota,
        used_quota,
        remaining_limit: None,
        reached: None,
    }))
}
