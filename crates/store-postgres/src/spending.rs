//! Charges and refunds, each one transaction that first locks the user's row (`FOR UPDATE`):
//! every movement of that balance (charges of any app, refunds, top-ups, admin edits) waits
//! for it, so what it reads (balance, limit, what was spent, what was refunded) is what it
//! writes against, and a retry with the same idempotency key sees the first one committed.

use crate::ledger::{SPENT, record};
use crate::{backend, execute, fetch_optional};
use keyward_core::billing::ledger::{EntryKind, NewEntry};
use keyward_core::billing::limit::{Period, SpendLimit};
use keyward_core::billing::spend::{
    ChargeRequest, ChargeState, LimitState, Receipt, RefundRequest, RefundState, SpendOutcome,
    judge_charge, judge_refund, names_charge_of, refund_deltas,
};
use keyward_core::model::{ClientPk, UserId};
use keyward_core::store::{StoreError, StoreResult};
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Row, Transaction};

type Tx = Transaction<'static, Postgres>;

/// The answer already given to this app's `key`, or a conflict when the body differs.
async fn replay(
    tx: &mut PgConnection,
    client: ClientPk,
    key: &str,
    hash: &[u8; 32],
) -> StoreResult<Option<SpendOutcome>> {
    let query = sqlx::query(
        "SELECT id, request_hash, quota_delta, used_delta, refund_of, quota_after, used_after, \
         remaining_limit FROM ledger WHERE client = $1 AND idempotency_key = $2",
    )
    .bind(client)
    .bind(key);
    let earlier = fetch_optional(tx, query, |row| {
        let id: i64 = row.try_get("id")?;
        let refund_of: Option<i64> = row.try_get("refund_of")?;
        let quota_delta: i64 = row.try_get("quota_delta")?;
        let used_delta: i64 = row.try_get("used_delta")?;
        Ok((
            row.try_get::<Option<Vec<u8>>, _>("request_hash")?
                .unwrap_or_default(),
            Receipt {
                charge_id: refund_of.unwrap_or(id),
                refund_id: refund_of.map(|_| id),
                amount: (used_delta - quota_delta).abs(),
                quota: row.try_get("quota_after")?,
                used_quota: row.try_get("used_after")?,
                remaining_limit: row.try_get("remaining_limit")?,
                reached: None,
            },
        ))
    })
    .await?;
    Ok(earlier.map(|(stored, receipt)| {
        if stored.as_slice() == hash.as_slice() {
            SpendOutcome::Replayed(receipt)
        } else {
            SpendOutcome::IdempotencyConflict
        }
    }))
}

/// Locks the user's row; their `quota` and `used_quota` if they are enabled.
async fn lock_user(tx: &mut PgConnection, user: UserId) -> StoreResult<Option<(i64, i64, bool)>> {
    let query = sqlx::query("SELECT quota, used_quota, status FROM users WHERE id = $1 FOR UPDATE")
        .bind(user);
    fetch_optional(tx, query, |row| {
        Ok((
            row.try_get("quota")?,
            row.try_get("used_quota")?,
            row.try_get::<i64, _>("status")? == 1,
        ))
    })
    .await
}

/// Whether the app may still spend: approved, and allowed to spend through a user's grant
/// (`may_spend`) or as the billing service (no grant).
async fn app_may_spend(
    tx: &mut PgConnection,
    client: ClientPk,
    through_grant: bool,
) -> StoreResult<bool> {
    let query = sqlx::query(
        "SELECT 1 FROM clients WHERE id = $1 AND status = 'approved' \
         AND (CASE WHEN $2 THEN may_spend ELSE billing_service END)",
    )
    .bind(client)
    .bind(through_grant);
    Ok(fetch_optional(tx, query, |_| Ok(())).await?.is_some())
}

async fn grant_is_live(
    tx: &mut PgConnection,
    family: i64,
    client: ClientPk,
    user: UserId,
) -> StoreResult<bool> {
    let query = sqlx::query(
        "SELECT 1 FROM token_families WHERE id = $1 AND client = $2 AND user_id = $3 \
         AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(client)
    .bind(user);
    Ok(fetch_optional(tx, query, |_| Ok(())).await?.is_some())
}

/// The consent's limit, what the app spent in its current window and where that window starts;
/// `None` without a consent or without a limit on it. The spending is the consent's counter
/// (migration 0021) while it is for this window; else the window's entries are summed (a new
/// day or month: few of them).
async fn limit_state(
    tx: &mut PgConnection,
    user: UserId,
    client: ClientPk,
    now: i64,
) -> StoreResult<Option<(LimitState, i64)>> {
    let query = sqlx::query(
        "SELECT spend_limit, spend_period, created_at, spent_window_start, spent_in_window \
         FROM consents WHERE user_id = $1 AND client = $2",
    )
    .bind(user)
    .bind(client);
    type Row = (Option<i64>, Option<String>, i64, Option<i64>, i64);
    let consent: Option<Row> = fetch_optional(&mut *tx, query, |row| {
        Ok((
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
        ))
    })
    .await?;
    let Some((Some(amount), Some(period), consented_at, counted_from, counted)) = consent else {
        return Ok(None);
    };
    let Some(limit) = Period::parse(&period).and_then(|p| SpendLimit::new(amount, p).ok()) else {
        return Ok(None);
    };
    let since = limit.window_start(now, consented_at);
    let spent = if counted_from == Some(since) {
        counted
    } else {
        let spent = sqlx::query(SPENT).bind(user).bind(client).bind(since);
        fetch_optional(&mut *tx, spent, |row| row.try_get(0))
            .await?
            .unwrap_or(0)
    };
    Ok(Some((LimitState { limit, spent }, since)))
}

/// Moves the consent's spending counter with a charge (`+`) or refund (`-`) of `client` on
/// `user`: set to `spent` from `window` when the charge was judged against it, else moved by
/// `delta` if the counter is kept (a charge of the billing service, a refund).
async fn count_spending(
    tx: &mut PgConnection,
    user: UserId,
    client: ClientPk,
    delta: i64,
    judged: Option<(i64, i64)>,
) -> StoreResult<()> {
    let query = match judged {
        Some((window, spent)) => sqlx::query(
            "UPDATE consents SET spent_window_start = $3, spent_in_window = $4 \
             WHERE user_id = $1 AND client = $2",
        )
        .bind(user)
        .bind(client)
        .bind(window)
        .bind(spent + delta),
        None => sqlx::query(
            "UPDATE consents SET spent_in_window = spent_in_window + $3 \
             WHERE user_id = $1 AND client = $2 AND spent_window_start IS NOT NULL",
        )
        .bind(user)
        .bind(client)
        .bind(delta),
    };
    execute(tx, query).await.map(drop)
}

/// Writes the entry; a same-key entry committed meanwhile by another user's request (only the
/// billing service names users) is a conflict, the transaction then being void.
async fn record_keyed(tx: &mut PgConnection, entry: &NewEntry<'_>) -> StoreResult<Option<i64>> {
    match record(tx, entry).await {
        Ok(id) => Ok(Some(id)),
        Err(StoreError::Backend(e)) if is_key_taken(e.as_ref()) => Ok(None),
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
    let account = lock_user(&mut tx, r.user).await?;
    if let Some(earlier) = replay(&mut tx, r.client, &r.idempotency_key, &r.request_hash).await? {
        return Ok(earlier);
    }
    let Some((quota, used, true)) = account else {
        return Ok(SpendOutcome::NotAllowed);
    };
    if !app_may_spend(&mut tx, r.client, r.family.is_some()).await? {
        return Ok(SpendOutcome::NotAllowed);
    }
    let limit = match r.family {
        Some(family) => {
            if !grant_is_live(&mut tx, family, r.client, r.user).await? {
                return Ok(SpendOutcome::NotAllowed);
            }
            match limit_state(&mut tx, r.user, r.client, r.now).await? {
                Some(state) => Some(state),
                None => return Ok(SpendOutcome::NoLimit),
            }
        }
        None => None,
    };
    let window = limit.map(|(state, since)| (since, state.spent));
    let judged = match judge_charge(r.amount, quota, used, limit.map(|(state, _)| state)) {
        Ok(judged) => judged,
        Err(refused) => return Ok(refused),
    };
    let spend =
        sqlx::query("UPDATE users SET used_quota = used_quota + $2, updated_at = $3 WHERE id = $1");
    execute(&mut *tx, spend.bind(r.user).bind(r.amount).bind(r.now)).await?;
    count_spending(&mut tx, r.user, r.client, r.amount, window).await?;
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
    let Some(id) = record_keyed(&mut tx, &entry).await? else {
        return Ok(SpendOutcome::IdempotencyConflict);
    };
    tx.commit().await.map_err(backend)?;
    Ok(SpendOutcome::Done(Receipt {
        charge_id: id,
        refund_id: None,
        amount: r.amount,
        quota,
        used_quota: used + r.amount,
        remaining_limit: judged.remaining,
        reached: judged.reached,
    }))
}

/// What was refunded of `charge_id` so far.
async fn refunded(tx: &mut PgConnection, charge_id: i64) -> StoreResult<i64> {
    let query = sqlx::query(
        "SELECT COALESCE(SUM(quota_delta - used_delta), 0)::BIGINT FROM ledger \
         WHERE refund_of = $1",
    )
    .bind(charge_id);
    Ok(fetch_optional(tx, query, |row| row.try_get(0))
        .await?
        .unwrap_or(0))
}

pub(crate) async fn refund(mut tx: Tx, r: &RefundRequest) -> StoreResult<SpendOutcome> {
    let query = sqlx::query(
        "SELECT user_id, used_delta, created_at FROM ledger \
         WHERE id = $1 AND kind = 'charge' AND client = $2",
    )
    .bind(r.charge_id)
    .bind(r.client);
    let charge: Option<(UserId, i64, i64)> = fetch_optional(&mut *tx, query, |row| {
        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
    })
    .await?;
    // Another user's charge is unknown before (and without) its user's row being locked.
    let Some((user, charged, charged_at)) = charge.filter(|(u, _, _)| names_charge_of(r, *u))
    else {
        return Ok(SpendOutcome::UnknownCharge);
    };
    let Some((_, used, _)) = lock_user(&mut tx, user).await? else {
        return Ok(SpendOutcome::UnknownCharge);
    };
    if let Some(earlier) = replay(&mut tx, r.client, &r.idempotency_key, &r.request_hash).await? {
        return Ok(earlier);
    }
    let grant_live = match r.family {
        Some(family) => grant_is_live(&mut tx, family, r.client, user).await?,
        None => true,
    };
    let state = RefundState {
        charge: Some(ChargeState {
            user,
            charged,
            charged_at,
            refunded: refunded(&mut tx, r.charge_id).await?,
        }),
        app_may_spend: app_may_spend(&mut tx, r.client, r.family.is_some()).await?,
        grant_live,
    };
    if let Err(refused) = judge_refund(r, &state) {
        return Ok(refused);
    }
    let (quota_delta, used_delta) = refund_deltas(r.amount, used);
    let give_back = sqlx::query(
        "UPDATE users SET quota = quota + $2, used_quota = used_quota + $3, updated_at = $4 \
         WHERE id = $1 RETURNING quota, used_quota",
    )
    .bind(user)
    .bind(quota_delta)
    .bind(used_delta)
    .bind(r.now);
    let Some((quota, used_quota)) = fetch_optional(&mut *tx, give_back, |row| {
        Ok((row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?))
    })
    .await?
    else {
        return Ok(SpendOutcome::UnknownCharge);
    };
    count_spending(&mut tx, user, r.client, -r.amount, None).await?;
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
    let Some(id) = record_keyed(&mut tx, &entry).await? else {
        return Ok(SpendOutcome::IdempotencyConflict);
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
