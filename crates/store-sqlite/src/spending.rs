//! Charges and refunds, each one closure on the write connection: SQLite's single writer runs
//! it whole before the next write starts, so what it reads (balance, limit, what was spent,
//! what was refunded) is what it writes against.

use crate::db::first_row;
use crate::ledger::{SPENT, record};
use keyward_core::billing::ledger::{EntryKind, NewEntry};
use keyward_core::billing::limit::SpendLimit;
use keyward_core::billing::spend::{
    ChargeRequest, ChargeState, KeyedEntry, LimitState, Receipt, RefundRequest, RefundState,
    SpendOutcome, answer_again, judge_charge, judge_refund, refund_deltas,
};
use keyward_core::model::{ClientPk, UserId};
use keyward_core::store::StoreResult;
use rusqlite::{Connection, params};

/// The answer already given to this app's `key`, or a conflict when the body differs.
fn replay(
    tx: &Connection,
    client: ClientPk,
    key: &str,
    hash: &[u8; 32],
) -> StoreResult<Option<SpendOutcome>> {
    let earlier = first_row(
        tx,
        "SELECT id, request_hash, quota_delta, used_delta, refund_of, quota_after, \
         used_after, remaining_limit FROM ledger WHERE client = ?1 AND idempotency_key = ?2",
        params![client, key],
        |row| {
            Ok(KeyedEntry {
                id: row.get("id")?,
                request_hash: row
                    .get::<_, Option<Vec<u8>>>("request_hash")?
                    .unwrap_or_default(),
                refund_of: row.get("refund_of")?,
                quota_delta: row.get("quota_delta")?,
                used_delta: row.get("used_delta")?,
                quota_after: row.get("quota_after")?,
                used_after: row.get("used_after")?,
                remaining_limit: row.get("remaining_limit")?,
            })
        },
    )?;
    Ok(earlier.map(|entry| answer_again(entry, hash)))
}

/// Whether the app may still spend: approved, and allowed to spend through a user's grant
/// (`may_spend`) or as the billing service (no grant).
fn app_may_spend(tx: &Connection, client: ClientPk, through_grant: bool) -> StoreResult<bool> {
    let flag = if through_grant {
        "may_spend"
    } else {
        "billing_service"
    };
    let sql = format!("SELECT 1 FROM clients WHERE id = ?1 AND status = 'approved' AND {flag} = 1");
    Ok(first_row(tx, &sql, [client], |_| Ok(()))?.is_some())
}

fn grant_is_live(
    tx: &Connection,
    family: i64,
    client: ClientPk,
    user: UserId,
) -> StoreResult<bool> {
    Ok(first_row(
        tx,
        "SELECT 1 FROM token_families WHERE id = ?1 AND client = ?2 AND user_id = ?3 \
         AND revoked_at IS NULL",
        [family, client, user],
        |_| Ok(()),
    )?
    .is_some())
}

/// The consent's limit, what the app spent in its current window and where that window starts;
/// `None` without a consent or without a limit on it. The spending is the consent's counter
/// (migration 0021) while it is for this window; else the window's entries are summed (a new
/// day or month: few of them).
fn limit_state(
    tx: &Connection,
    user: UserId,
    client: ClientPk,
    now: i64,
) -> StoreResult<Option<(LimitState, i64)>> {
    type Row = (Option<i64>, Option<String>, i64, Option<i64>, i64);
    let consent: Option<Row> = first_row(
        tx,
        "SELECT spend_limit, spend_period, created_at, spent_window_start, spent_in_window \
         FROM consents WHERE user_id = ?1 AND client = ?2",
        [user, client],
        |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        },
    )?;
    let Some((amount, period, consented_at, counted_from, counted)) = consent else {
        return Ok(None);
    };
    let Some(limit) = SpendLimit::from_columns(amount, period.as_deref()) else {
        return Ok(None);
    };
    let since = limit.window_start(now, consented_at);
    let spent = if counted_from == Some(since) {
        counted
    } else {
        first_row(tx, SPENT, [user, client, since], |row| row.get(0))?.unwrap_or(0)
    };
    Ok(Some((LimitState { limit, spent }, since)))
}

/// Moves the consent's spending counter with a charge (`+`) or refund (`-`) of `client` on
/// `user`: set to `spent` from `window` when the charge was judged against it, else moved by
/// `delta` if the counter is kept (a charge of the billing service, a refund).
fn count_spending(
    tx: &Connection,
    user: UserId,
    client: ClientPk,
    delta: i64,
    judged: Option<(i64, i64)>,
) -> StoreResult<()> {
    match judged {
        Some((window, spent)) => crate::db::execute(
            tx,
            "UPDATE consents SET spent_window_start = ?3, spent_in_window = ?4 \
             WHERE user_id = ?1 AND client = ?2",
            [user, client, window, spent + delta],
        ),
        None => crate::db::execute(
            tx,
            "UPDATE consents SET spent_in_window = spent_in_window + ?3 \
             WHERE user_id = ?1 AND client = ?2 AND spent_window_start IS NOT NULL",
            [user, client, delta],
        ),
    }
    .map(drop)
}

pub(crate) fn charge(tx: &Connection, r: &ChargeRequest) -> StoreResult<SpendOutcome> {
    if let Some(earlier) = replay(tx, r.client, &r.idempotency_key, &r.request_hash)? {
        return Ok(earlier);
    }
    let account: Option<(i64, i64)> = first_row(
        tx,
        "SELECT quota, used_quota FROM users WHERE id = ?1 AND status = 1",
        [r.user],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let Some((quota, used)) = account else {
        return Ok(SpendOutcome::NotAllowed);
    };
    if !app_may_spend(tx, r.client, r.family.is_some())? {
        return Ok(SpendOutcome::NotAllowed);
    }
    let limit = match r.family {
        Some(family) => {
            if !grant_is_live(tx, family, r.client, r.user)? {
                return Ok(SpendOutcome::NotAllowed);
            }
            match limit_state(tx, r.user, r.client, r.now)? {
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
    crate::db::execute(
        tx,
        "UPDATE users SET used_quota = used_quota + ?2, updated_at = ?3 WHERE id = ?1",
        [r.user, r.amount, r.now],
    )?;
    count_spending(tx, r.user, r.client, r.amount, window)?;
    let id = record(
        tx,
        &NewEntry {
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
        },
    )?;
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

/// What a refund is judged on: this app's charge, what was given back of it, whether the app
/// and the grant may still act (see `judge_refund`).
fn refund_state(tx: &Connection, r: &RefundRequest) -> StoreResult<RefundState> {
    let charge: Option<(UserId, i64, i64)> = first_row(
        tx,
        "SELECT user_id, used_delta, created_at FROM ledger \
         WHERE id = ?1 AND kind = 'charge' AND client = ?2",
        [r.charge_id, r.client],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let Some((user, charged, charged_at)) = charge else {
        return Ok(RefundState {
            charge: None,
            app_may_spend: false,
            grant_live: false,
        });
    };
    let refunded: i64 = first_row(
        tx,
        "SELECT COALESCE(SUM(quota_delta - used_delta), 0) FROM ledger WHERE refund_of = ?1",
        [r.charge_id],
        |row| row.get(0),
    )?
    .unwrap_or(0);
    let grant_live = match r.family {
        Some(family) => grant_is_live(tx, family, r.client, user)?,
        None => true,
    };
    Ok(RefundState {
        charge: Some(ChargeState {
            user,
            charged,
            charged_at,
            refunded,
        }),
        app_may_spend: app_may_spend(tx, r.client, r.family.is_some())?,
        grant_live,
    })
}

pub(crate) fn refund(tx: &Connection, r: &RefundRequest) -> StoreResult<SpendOutcome> {
    if let Some(earlier) = replay(tx, r.client, &r.idempotency_key, &r.request_hash)? {
        return Ok(earlier);
    }
    let user = match judge_refund(r, &refund_state(tx, r)?) {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let used: i64 = first_row(
        tx,
        "SELECT used_quota FROM users WHERE id = ?1",
        [user],
        |row| row.get(0),
    )?
    .unwrap_or(0);
    let (quota_delta, used_delta) = refund_deltas(r.amount, used);
    let after: Option<(i64, i64)> = first_row(
        tx,
        "UPDATE users SET quota = quota + ?2, used_quota = used_quota + ?3, updated_at = ?4 \
         WHERE id = ?1 RETURNING quota, used_quota",
        [user, quota_delta, used_delta, r.now],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let Some((quota, used_quota)) = after else {
        return Ok(SpendOutcome::UnknownCharge);
    };
    count_spending(tx, user, r.client, -r.amount, None)?;
    let id = record(
        tx,
        &NewEntry {
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
        },
    )?;
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
