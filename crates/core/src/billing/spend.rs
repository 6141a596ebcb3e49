//! Apps spending a user's balance (issue #19): charges and refunds. The rules are here; the
//! store applies them inside one transaction (SQLite's write lock, PostgreSQL's lock on the
//! user's row), so that concurrent charges cannot together pass a limit or the balance.
//!
//! A charge by a user's grant needs `balance:spend`, an app an admin allowed to spend
//! (`may_spend`), the consent with its limit, a live grant and an enabled user. The platform's
//! billing service (`billing_service`, client credentials) charges any enabled user by id, with
//! no per-user limit. Each request carries an idempotency key, unique per app: the same key and
//! body answer the first answer again and move nothing; another body is a conflict.

use super::MAX_QUOTA;
use super::limit::SpendLimit;
use crate::clock::UnixTime;
use crate::model::{ClientPk, UserId};
use sha2::{Digest, Sha256};

pub const MAX_KEY_CHARS: usize = 128;
pub const MAX_DESCRIPTION_CHARS: usize = 256;
/// Default of the `refund_window_secs` setting: 30 days.
pub const DEFAULT_REFUND_WINDOW_SECS: i64 = 30 * 86_400;

/// A charge to apply, checked for shape ([`check_charge`]) before it reaches the store.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub user: UserId,
    pub client: ClientPk,
    /// The grant spent through; `None` for the billing service, which has no per-user limit.
    pub family: Option<i64>,
    pub amount: i64,
    pub idempotency_key: String,
    pub description: String,
    /// What tells a retry from another request with the same key.
    pub request_hash: [u8; 32],
    pub now: UnixTime,
}

/// A refund to apply.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub client: ClientPk,
    /// The user whose grant asks; `None` for the billing service (any user of its charges).
    pub user: Option<UserId>,
    pub family: Option<i64>,
    pub charge_id: i64,
    pub amount: i64,
    pub idempotency_key: String,
    pub request_hash: [u8; 32],
    /// Charges older than this many seconds are no longer refundable.
    pub window_secs: i64,
    pub now: UnixTime,
}

/// What a successful charge or refund answers (and answers again to a retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The charge's entry id (for a refund: the charge refunded).
    pub charge_id: i64,
    /// The refund's entry id, for a refund.
    pub refund_id: Option<i64>,
    pub amount: i64,
    pub quota: i64,
    pub used_quota: i64,
    /// What the limit still allows this period; `None` without a limit (billing service) and
    /// for a refund.
    pub remaining_limit: Option<i64>,
    /// A mark of the limit this charge crossed (see [`judge_charge`]); `None` for a retry's
    /// answer, which crossed nothing again.
    pub reached: Option<LimitReached>,
}

/// A share of the limit that the user is told about when spending reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// 80 % of the limit.
    Most,
    /// All of it.
    All,
}

impl Mark {
    pub fn percent(self) -> i64 {
        match self {
            Self::Most => 80,
            Self::All => 100,
        }
    }

    /// Whether `spent` is at or past this mark of `limit`.
    fn reached_by(self, spent: i64, limit: i64) -> bool {
        i128::from(spent) * 100 >= i128::from(limit) * i128::from(self.percent())
    }
}

/// A charge took the app's spending in the period from below a mark to at or past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitReached {
    pub mark: Mark,
    pub limit: SpendLimit,
    /// Spent in the period, this charge included.
    pub spent: i64,
}

/// What a charge that fits leaves: what the limit still allows and the mark it crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub remaining: Option<i64>,
    pub reached: Option<LimitReached>,
}

/// What the store made of a charge or refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendOutcome {
    Done(Receipt),
    /// The same key and body were applied before: their answer, nothing moved.
    Replayed(Receipt),
    IdempotencyConflict,
    /// The user is disabled or gone, the grant revoked, the consent gone, or the app no longer
    /// allowed to spend.
    NotAllowed,
    /// The grant is live but its consent sets no limit (a device-flow consent given before the
    /// device consent page asked for one): only the user can set one, by consenting again.
    NoLimit,
    LimitExceeded {
        remaining: i64,
    },
    InsufficientBalance,
    /// No such charge for this app (and user), or not a charge.
    UnknownCharge,
    RefundWindowClosed,
    AboveRefundable {
        refundable: i64,
    },
}

/// Refusals of a request's shape, before anything is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadSpend {
    #[error("amount must be a positive integer of quota units, at most 10^18")]
    Amount,
    #[error("idempotency_key is required: 1 to 128 visible ASCII characters")]
    IdempotencyKey,
    #[error("description must be at most 256 characters, without control characters")]
    Description,
}

pub fn check_amount(amount: i64) -> Result<(), BadSpend> {
    if (1..=MAX_QUOTA).contains(&amount) {
        Ok(())
    } else {
        Err(BadSpend::Amount)
    }
}

pub fn check_key(key: &str) -> Result<(), BadSpend> {
    if (1..=MAX_KEY_CHARS).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(BadSpend::IdempotencyKey)
    }
}

pub fn check_description(text: &str) -> Result<(), BadSpend> {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS && !text.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(BadSpend::Description)
    }
}

/// The fingerprint of a charge's body (and its user, which the billing service names).
pub fn charge_hash(user: UserId, amount: i64, description: &str) -> [u8; 32] {
    fingerprint(&format!("charge\n{user}\n{amount}\n{description}"))
}

pub fn refund_hash(charge_id: i64, amount: i64) -> [u8; 32] {
    fingerprint(&format!("refund\n{charge_id}\n{amount}"))
}

fn fingerprint(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The ledger entry an app's idempotency key already names, as the store read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedEntry {
    pub id: i64,
    /// The fingerprint of the request that made it ([`charge_hash`], [`refund_hash`]).
    pub request_hash: Vec<u8>,
    /// For a refund: the charge refunded.
    pub refund_of: Option<i64>,
    pub quota_delta: i64,
    pub used_delta: i64,
    /// The account after the entry.
    pub quota_after: i64,
    pub used_after: i64,
    pub remaining_limit: Option<i64>,
}

/// The answer to a request whose key `entry` already holds: the first answer again when the
/// body is the same (nothing moves), a conflict when it is not.
pub fn answer_again(entry: KeyedEntry, request_hash: &[u8; 32]) -> SpendOutcome {
    if entry.request_hash.as_slice() != request_hash.as_slice() {
        return SpendOutcome::IdempotencyConflict;
    }
    SpendOutcome::Replayed(Receipt {
        charge_id: entry.refund_of.unwrap_or(entry.id),
        refund_id: entry.refund_of.map(|_| entry.id),
        amount: (entry.used_delta - entry.quota_delta).abs(),
        quota: entry.quota_after,
        used_quota: entry.used_after,
        remaining_limit: entry.remaining_limit,
        reached: None,
    })
}

/// The consent's limit and what the app spent in its current period.
#[derive(Debug, Clone, Copy)]
pub struct LimitState {
    pub limit: SpendLimit,
    /// Charges minus refunds since the period began; may exceed the limit after the user
    /// lowered it.
    pub spent: i64,
}

impl LimitState {
    pub fn remaining(self) -> i64 {
        (self.limit.amount - self.spent.max(0)).max(0)
    }
}

/// The rule of a charge, judged on the state the store read under its lock: within the limit
/// (when one applies), then within the balance. `Ok` carries what the limit allows after it,
/// and the highest mark (80 %, 100 %) the charge took the period's spending across: each
/// crossing belongs to exactly one charge, the one whose before < mark ≤ after, since the
/// store judges charges one at a time.
pub fn judge_charge(
    amount: i64,
    quota: i64,
    used_quota: i64,
    limit: Option<LimitState>,
) -> Result<Judged, SpendOutcome> {
    let remaining = limit.map(LimitState::remaining);
    if let Some(remaining) = remaining
        && amount > remaining
    {
        return Err(SpendOutcome::LimitExceeded { remaining });
    }
    if i128::from(amount) > i128::from(quota) - i128::from(used_quota) {
        return Err(SpendOutcome::InsufficientBalance);
    }
    let reached = limit.and_then(|state| {
        // `amount ≤ remaining` above, so this neither overflows nor passes the limit.
        let before = state.spent.max(0);
        let after = before + amount;
        [Mark::All, Mark::Most]
            .into_iter()
            .find(|mark| {
                !mark.reached_by(before, state.limit.amount)
                    && mark.reached_by(after, state.limit.amount)
            })
            .map(|mark| LimitReached {
                mark,
                limit: state.limit,
                spent: after,
            })
    });
    Ok(Judged {
        remaining: remaining.map(|r| r - amount),
        reached,
    })
}

/// The charge a refund names, as the store read it under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeState {
    pub user: UserId,
    /// The charge's amount.
    pub charged: i64,
    pub charged_at: UnixTime,
    /// What refunds of it gave back so far.
    pub refunded: i64,
}

/// What the store read for a refund. Without the charge the rest is not needed (and not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundState {
    /// This app's charge of that id, if there is one.
    pub charge: Option<ChargeState>,
    /// The app is approved and still allowed to spend (`may_spend` through a grant,
    /// `billing_service` without one).
    pub app_may_spend: bool,
    /// The grant refunding is live and the charged user's; `true` for the billing service,
    /// which refunds through no grant.
    pub grant_live: bool,
}

/// Whether a refund may name a charge on `user`'s balance: a grant only its own user's, the
/// billing service any user's.
pub fn names_charge_of(request: &RefundRequest, user: UserId) -> bool {
    request.user.is_none_or(|asker| asker == user)
}

/// The rule of a refund: only this app's charge (and, through a grant, only its user's); the
/// app still allowed and the grant live; within the window; at most what is still refundable
/// (charged − refunded). `Ok` names the user whose balance gets it back.
pub fn judge_refund(request: &RefundRequest, state: &RefundState) -> Result<UserId, SpendOutcome> {
    let Some(charge) = state.charge.filter(|c| names_charge_of(request, c.user)) else {
        return Err(SpendOutcome::UnknownCharge);
    };
    if !state.app_may_spend || !state.grant_live {
        return Err(SpendOutcome::NotAllowed);
    }
    if request.now - charge.charged_at > request.window_secs {
        return Err(SpendOutcome::RefundWindowClosed);
    }
    let refundable = charge.charged - charge.refunded;
    if request.amount > refundable {
        return Err(SpendOutcome::AboveRefundable { refundable });
    }
    Ok(charge.user)
}

/// How a refund of `amount` moves the account: off `used_quota`, and should an admin have
/// lowered `used_quota` below it since, the rest onto `quota`, so the balance rises by `amount`
/// either way. Returns `(quota_delta, used_delta)`.
pub fn refund_deltas(amount: i64, used_quota: i64) -> (i64, i64) {
    let off_used = amount.min(used_quota.max(0));
    (amount - off_used, -off_used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::limit::SpendLimit;

    fn limited(spent: i64) -> Option<LimitState> {
        Some(LimitState {
            limit: SpendLimit::parse("100/day").expect("limit"),
            spent,
        })
    }

    fn remaining(judged: Result<Judged, SpendOutcome>) -> Result<Option<i64>, SpendOutcome> {
        judged.map(|j| j.remaining)
    }

    fn mark(spent: i64, amount: i64) -> Option<(Mark, i64)> {
        judge_charge(amount, 1000, 0, limited(spent))
            .expect("fits")
            .reached
            .map(|r| (r.mark, r.spent))
    }

    #[test]
    fn a_key_used_before_answers_again_or_conflicts() {
        let refund = KeyedEntry {
            id: 9,
            request_hash: refund_hash(4, 30).to_vec(),
            refund_of: Some(4),
            quota_delta: 0,
            used_delta: -30,
            quota_after: 1000,
            used_after: 70,
            remaining_limit: None,
        };
        assert_eq!(
            answer_again(refund.clone(), &refund_hash(4, 30)),
            SpendOutcome::Replayed(Receipt {
                charge_id: 4,
                refund_id: Some(9),
                amount: 30,
                quota: 1000,
                used_quota: 70,
                remaining_limit: None,
                reached: None,
            })
        );
        assert_eq!(
            answer_again(refund, &refund_hash(4, 31)),
            SpendOutcome::IdempotencyConflict
        );
    }

    #[test]
    fn a_charge_fits_the_limit_then_the_balance() {
        assert_eq!(
            remaining(judge_charge(40, 1000, 0, limited(60))),
            Ok(Some(0))
        );
        assert_eq!(
            remaining(judge_charge(41, 1000, 0, limited(60))),
            Err(SpendOutcome::LimitExceeded { remaining: 40 })
        );
        // Lowered below what was spent: nothing remains, nothing negative is reported.
        assert_eq!(
            remaining(judge_charge(1, 1000, 0, limited(150))),
            Err(SpendOutcome::LimitExceeded { remaining: 0 })
        );
        assert_eq!(
            remaining(judge_charge(50, 100, 60, limited(0))),
            Err(SpendOutcome::InsufficientBalance)
        );
        assert_eq!(
            judge_charge(40, 100, 60, None),
            Ok(Judged {
                remaining: None,
                reached: None
            })
        );
    }

    #[test]
    fn each_mark_is_crossed_by_exactly_one_charge() {
        // The limit is 100: 80 % is 80.
        assert_eq!(mark(0, 79), None);
        assert_eq!(mark(79, 1), Some((Mark::Most, 80)));
        assert_eq!(mark(80, 5), None, "already past 80 %");
        assert_eq!(mark(85, 14), None);
        assert_eq!(mark(99, 1), Some((Mark::All, 100)));
        // Both at once: the higher one only.
        assert_eq!(mark(10, 90), Some((Mark::All, 100)));
        assert_eq!(mark(0, 100), Some((Mark::All, 100)));
        // Refunds may leave the period's spending negative: it counts as nothing spent.
        assert_eq!(mark(-50, 80), Some((Mark::Most, 80)));
        // Without a limit there is nothing to reach.
        assert_eq!(
            judge_charge(100, 1000, 0, None).expect("fits").reached,
            None
        );
        let reached = judge_charge(1, 1000, 0, limited(79))
            .expect("fits")
            .reached
            .expect("80 %");
        assert_eq!((reached.limit.amount, reached.mark.percent()), (100, 80));
    }

    fn refund(user: Option<UserId>, amount: i64, now: UnixTime) -> RefundRequest {
        RefundRequest {
            client: 7,
            user,
            family: user.map(|_| 3),
            charge_id: 11,
            amount,
            idempotency_key: "r".into(),
            request_hash: refund_hash(11, amount),
            window_secs: 100,
            now,
        }
    }

    fn refundable(charge: Option<ChargeState>) -> RefundState {
        RefundState {
            charge,
            app_may_spend: true,
            grant_live: true,
        }
    }

    #[test]
    fn a_refund_is_of_this_apps_charge_within_the_window_and_what_remains() {
        let charge = ChargeState {
            user: 5,
            charged: 50,
            charged_at: 1_000,
            refunded: 20,
        };
        let state = refundable(Some(charge));
        assert_eq!(judge_refund(&refund(Some(5), 30, 1_100), &state), Ok(5));
        // The billing service refunds any user's charge it made.
        assert_eq!(judge_refund(&refund(None, 1, 1_000), &state), Ok(5));
        // Another app's charge (the store found none of this app's), another user's.
        assert_eq!(
            judge_refund(&refund(Some(5), 1, 1_000), &refundable(None)),
            Err(SpendOutcome::UnknownCharge)
        );
        assert_eq!(
            judge_refund(&refund(Some(6), 1, 1_000), &state),
            Err(SpendOutcome::UnknownCharge)
        );
        // The app no longer allowed, the grant revoked: before the window and the amount.
        for (app_may_spend, grant_live) in [(false, true), (true, false)] {
            let state = RefundState {
                charge: Some(charge),
                app_may_spend,
                grant_live,
            };
            assert_eq!(
                judge_refund(&refund(Some(5), 999, 9_999), &state),
                Err(SpendOutcome::NotAllowed)
            );
        }
        // The window ends `window_secs` after the charge, inclusive.
        assert_eq!(
            judge_refund(&refund(Some(5), 999, 1_101), &state),
            Err(SpendOutcome::RefundWindowClosed)
        );
        assert_eq!(
            judge_refund(&refund(Some(5), 31, 1_100), &state),
            Err(SpendOutcome::AboveRefundable { refundable: 30 })
        );
        // Twice: nothing remains.
        let spent = refundable(Some(ChargeState {
            refunded: 50,
            ..charge
        }));
        assert_eq!(
            judge_refund(&refund(Some(5), 1, 1_000), &spent),
            Err(SpendOutcome::AboveRefundable { refundable: 0 })
        );
    }

    #[test]
    fn shapes_are_checked() {
        assert_eq!(check_amount(0), Err(BadSpend::Amount));
        assert_eq!(check_amount(-1), Err(BadSpend::Amount));
        assert_eq!(check_amount(MAX_QUOTA + 1), Err(BadSpend::Amount));
        assert!(check_amount(1).is_ok());
        assert!(check_key("").is_err() && check_key("a b").is_err());
        assert!(check_key(&"k".repeat(129)).is_err() && check_key("order-1").is_ok());
        assert!(check_description("a\nb").is_err() && check_description("GPT-4 call").is_ok());
    }

    #[test]
    fn a_refund_comes_off_used_quota_first() {
        assert_eq!(refund_deltas(30, 100), (0, -30));
        assert_eq!(refund_deltas(30, 10), (20, -10));
    }

    #[test]
    fn fingerprints_tell_bodies_apart() {
        assert_eq!(charge_hash(1, 5, "x"), charge_hash(1, 5, "x"));
        assert_ne!(charge_hash(1, 5, "x"), charge_hash(1, 6, "x"));
        assert_ne!(charge_hash(1, 5, "x"), charge_hash(2, 5, "x"));
        assert_ne!(refund_hash(1, 5), refund_hash(1, 6));
    }
}
