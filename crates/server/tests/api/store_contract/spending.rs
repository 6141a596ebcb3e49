//! `BillingStore::charge` and `refund` called directly: each applies the rules of
//! `billing::spend` atomically (a retry answers the first answer, another body conflicts, the
//! limit and the balance hold, only live grants of apps still allowed spend, a refund gives
//! back at most what remains of this app's charge within the window), moves nothing when it
//! refuses, and the ledger adds up after every step.

use super::oauth::{family, token};
use super::{new_client, new_user, store};
use crate::helpers::{Backend, assert_ledger_adds_up};
use crate::on_both_backends;
use keyward_core::Store;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::billing::spend::{
    ChargeRequest, LimitReached, Mark, Receipt, RefundRequest, SpendOutcome, charge_hash,
    refund_hash,
};
use keyward_core::model::{ClientPatch, ClientStatus, TokenKind, UserStatus};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::store::UserPatch;

on_both_backends!(
    charges_apply_once_within_the_limit_and_the_balance_through_live_grants,
    refunds_give_back_at_most_what_remains_of_this_apps_charge_within_the_window,
    a_limits_window_counts_the_charges_and_refunds_made_in_it_alone,
);

/// Charges happen at this time; consents were given at 1_000.
const NOW: i64 = 2_000;
const WINDOW: i64 = 500;

/// An app allowed to spend (or the billing service), approved.
async fn spending_app(store: &dyn Store, owner: i64, name: &str, billing: bool) -> i64 {
    let app = store
        .create_client(new_client(name, owner, ClientStatus::Approved))
        .await
        .expect("app");
    let patch = ClientPatch {
        may_spend: Some(!billing),
        billing_service: Some(billing),
        ..ClientPatch::default()
    };
    assert!(
        store
            .patch_client(app.id, &patch, 1_000)
            .await
            .expect("patch")
    );
    app.id
}

/// `user`'s consent to `app` with `limit`, and a grant (token family) through it.
async fn grant(store: &dyn Store, user: i64, app: i64, limit: &str, secret: &str) -> i64 {
    let limit = SpendLimit::parse(limit).expect("limit");
    grant_limited(store, user, app, Some(limit), secret).await
}

/// A grant of `balance:spend` whose consent has `limit` (a device consent before #19 had none).
async fn grant_limited(
    store: &dyn Store,
    user: i64,
    app: i64,
    limit: Option<SpendLimit>,
    secret: &str,
) -> i64 {
    store
        .save_consent(
            user,
            app,
            ScopeSet::parse("balance balance:spend").expect("scopes"),
            &Default::default(),
            limit,
            1_000,
        )
        .await
        .expect("consent");
    store
        .issue_family(
            family(app, Some(user), None),
            &[token(secret, TokenKind::Access)],
        )
        .await
        .expect("grant")
}

async fn funded(store: &dyn Store, name: &str, quota: i64) -> i64 {
    let mut user = new_user(name);
    user.quota = quota;
    store.create_user(user).await.expect("user").id
}

fn charge(user: i64, client: i64, family: Option<i64>, amount: i64, key: &str) -> ChargeRequest {
    ChargeRequest {
        user,
        client,
        family,
        amount,
        idempotency_key: key.into(),
        description: "a model call".into(),
        request_hash: charge_hash(user, amount, "a model call"),
        now: NOW,
    }
}

/// A refund through `user`'s grant `family`, or the billing service's (`None`, `None`).
fn refund(
    (client, user, family): (i64, Option<i64>, Option<i64>),
    charge_id: i64,
    amount: i64,
    key: &str,
    now: i64,
) -> RefundRequest {
    RefundRequest {
        client,
        user,
        family,
        charge_id,
        amount,
        idempotency_key: key.into(),
        request_hash: refund_hash(charge_id, amount),
        window_secs: WINDOW,
        now,
    }
}

async fn balance(store: &dyn Store, user: i64) -> (i64, i64) {
    let user = store.user_by_id(user).await.expect("read").expect("user");
    (user.quota, user.used_quota)
}

fn done(outcome: SpendOutcome) -> Receipt {
    match outcome {
        SpendOutcome::Done(receipt) => receipt,
        other => panic!("expected it done, got {other:?}"),
    }
}

async fn charges_apply_once_within_the_limit_and_the_balance_through_live_grants(backend: Backend) {
    let (_db, store) = store(backend).await;
    let s = store.as_ref();
    let owner = funded(s, "owner", 0).await;
    let payer = funded(s, "payer", 1_500).await;
    let app = spending_app(s, owner, "client_spend", false).await;
    let grant_a = grant(s, payer, app, "1000/total", "t-payer").await;

    // Within the limit: moved once, with what the limit still allows.
    let first = done(
        s.charge(&charge(payer, app, Some(grant_a), 600, "k1"))
            .await
            .expect("k1"),
    );
    assert_eq!(
        (
            first.amount,
            first.quota,
            first.used_quota,
            first.remaining_limit
        ),
        (600, 1_500, 600, Some(400))
    );
    assert_eq!(
        (first.refund_id, first.reached),
        (None, None),
        "60 % is no mark"
    );
    // The same key and body: the first answer again, nothing moved; another body: a conflict.
    assert_eq!(
        s.charge(&charge(payer, app, Some(grant_a), 600, "k1"))
            .await
            .expect("retry"),
        SpendOutcome::Replayed(first)
    );
    assert_eq!(
        s.charge(&charge(payer, app, Some(grant_a), 601, "k1"))
            .await
            .expect("other"),
        SpendOutcome::IdempotencyConflict
    );
    assert_eq!(balance(s, payer).await, (1_500, 600));
    // Above the limit: refused with what remains.
    assert_eq!(
        s.charge(&charge(payer, app, Some(grant_a), 401, "k2"))
            .await
            .expect("k2"),
        SpendOutcome::LimitExceeded { remaining: 400 }
    );
    // The marks: each crossed by exactly one charge, which reports it.
    let most = done(
        s.charge(&charge(payer, app, Some(grant_a), 200, "k3"))
            .await
            .expect("k3"),
    );
    let limit = SpendLimit::parse("1000/total").expect("limit");
    assert_eq!(
        (most.remaining_limit, most.reached),
        (
            Some(200),
            Some(LimitReached {
                mark: Mark::Most,
                limit,
                spent: 800
            })
        )
    );
    // Its retry reports none.
    let again = s
        .charge(&charge(payer, app, Some(grant_a), 200, "k3"))
        .await
        .expect("retry");
    assert_eq!(
        again,
        SpendOutcome::Replayed(Receipt {
            reached: None,
            ..most
        })
    );
    let not_yet = done(
        s.charge(&charge(payer, app, Some(grant_a), 100, "k4"))
            .await
            .expect("k4"),
    );
    assert_eq!(not_yet.reached, None);
    let all = done(
        s.charge(&charge(payer, app, Some(grant_a), 100, "k5"))
            .await
            .expect("k5"),
    );
    assert_eq!(
        (all.remaining_limit, all.reached.map(|r| (r.mark, r.spent))),
        (Some(0), Some((Mark::All, 1_000)))
    );
    assert_eq!(
        s.charge(&charge(payer, app, Some(grant_a), 1, "k6"))
            .await
            .expect("k6"),
        SpendOutcome::LimitExceeded { remaining: 0 }
    );
    assert_eq!(
        s.spent_by_client(payer, app, 0).await.expect("spent"),
        1_000
    );
    assert_ledger_adds_up(s).await;

    // Within the limit but above the balance.
    let poor = funded(s, "poor", 100).await;
    let grant_p = grant(s, poor, app, "1000/month", "t-poor").await;
    assert_eq!(
        s.charge(&charge(poor, app, Some(grant_p), 101, "p1"))
            .await
            .expect("p1"),
        SpendOutcome::InsufficientBalance
    );
    assert_eq!(balance(s, poor).await, (100, 0));
    // Another user's grant does not spend this user's balance.
    assert_eq!(
        s.charge(&charge(poor, app, Some(grant_a), 1, "p2"))
            .await
            .expect("p2"),
        SpendOutcome::NotAllowed
    );

    // A live grant whose consent has no limit spends nothing: only the user sets one.
    let unlimited = funded(s, "unlimited", 100).await;
    let grant_u = grant_limited(s, unlimited, app, None, "t-unlimited").await;
    assert_eq!(
        s.charge(&charge(unlimited, app, Some(grant_u), 1, "u1"))
            .await
            .expect("u1"),
        SpendOutcome::NoLimit
    );
    assert_eq!(balance(s, unlimited).await, (100, 0));

    // The billing service: any user, no limit, the balance still holds; it cannot spend
    // through a grant, nor an app allowed to spend without one.
    let billing = spending_app(s, owner, "client_billing", true).await;
    assert_eq!(
        s.charge(&charge(payer, billing, None, 501, "b1"))
            .await
            .expect("b1"),
        SpendOutcome::InsufficientBalance
    );
    let metered = done(
        s.charge(&charge(payer, billing, None, 500, "b2"))
            .await
            .expect("b2"),
    );
    assert_eq!(
        (metered.used_quota, metered.remaining_limit, metered.reached),
        (1_500, None, None)
    );
    assert_eq!(
        s.charge(&charge(poor, app, None, 1, "b3"))
            .await
            .expect("b3"),
        SpendOutcome::NotAllowed
    );
    // The same key at another app is that app's own.
    let own_key = done(
        s.charge(&charge(poor, billing, None, 10, "k1"))
            .await
            .expect("own key"),
    );
    assert_eq!(own_key.used_quota, 10);

    // Revoked grant, the app no longer allowed, the user disabled: nothing moves.
    let grant_q = grant(s, poor, app, "1000/month", "t-poor-2").await;
    s.revoke_family(grant_p, NOW).await.expect("revoke");
    assert_eq!(
        s.charge(&charge(poor, app, Some(grant_p), 1, "q1"))
            .await
            .expect("q1"),
        SpendOutcome::NotAllowed
    );
    let disallow = ClientPatch {
        may_spend: Some(false),
        ..ClientPatch::default()
    };
    assert!(s.patch_client(app, &disallow, NOW).await.expect("patch"));
    assert_eq!(
        s.charge(&charge(poor, app, Some(grant_q), 1, "q2"))
            .await
            .expect("q2"),
        SpendOutcome::NotAllowed
    );
    let allow = ClientPatch {
        may_spend: Some(true),
        ..ClientPatch::default()
    };
    assert!(s.patch_client(app, &allow, NOW).await.expect("patch"));
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    assert!(s.patch_user(poor, &disable, NOW).await.expect("disable"));
    assert_eq!(
        s.charge(&charge(poor, app, Some(grant_q), 1, "q3"))
            .await
            .expect("q3"),
        SpendOutcome::NotAllowed
    );
    assert_eq!(
        s.charge(&charge(poor, billing, None, 1, "q4"))
            .await
            .expect("q4"),
        SpendOutcome::NotAllowed
    );
    assert_eq!(balance(s, poor).await, (100, 10));
    assert_eq!(balance(s, payer).await, (1_500, 1_500));
    assert_ledger_adds_up(s).await;
}

async fn refunds_give_back_at_most_what_remains_of_this_apps_charge_within_the_window(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let s = store.as_ref();
    let owner = funded(s, "owner", 0).await;
    let payer = funded(s, "payer", 5_000).await;
    let other_user = funded(s, "other", 5_000).await;
    let app = spending_app(s, owner, "client_spend", false).await;
    let other_app = spending_app(s, owner, "client_other", false).await;
    let billing = spending_app(s, owner, "client_billing", true).await;
    let grant_a = grant(s, payer, app, "5000/month", "t-a").await;
    let grant_o = grant(s, payer, other_app, "5000/month", "t-o").await;
    let grant_u = grant(s, other_user, app, "5000/month", "t-u").await;
    let by_payer = (app, Some(payer), Some(grant_a));

    let charged = done(
        s.charge(&charge(payer, app, Some(grant_a), 1_000, "c1"))
            .await
            .expect("c1"),
    );
    let id = charged.charge_id;
    // No such charge; another app's; another user's (through the same app); not a charge.
    for (asker, charge_id) in [
        (by_payer, id + 1_000),
        ((other_app, Some(payer), Some(grant_o)), id),
        ((app, Some(other_user), Some(grant_u)), id),
    ] {
        assert_eq!(
            s.refund(&refund(asker, charge_id, 1, "x", NOW))
                .await
                .expect("refused"),
            SpendOutcome::UnknownCharge,
            "{asker:?} {charge_id}"
        );
    }

    // Part of it; the same key again answers the same; another body conflicts.
    let first = done(
        s.refund(&refund(by_payer, id, 300, "r1", NOW))
            .await
            .expect("r1"),
    );
    assert_eq!(
        (first.charge_id, first.amount, first.quota, first.used_quota),
        (id, 300, 5_000, 700)
    );
    let refund_id = first.refund_id.expect("refund_id");
    assert_eq!(
        s.refund(&refund(by_payer, id, 300, "r1", NOW))
            .await
            .expect("retry"),
        SpendOutcome::Replayed(first)
    );
    assert_eq!(
        s.refund(&refund(by_payer, id, 301, "r1", NOW))
            .await
            .expect("other"),
        SpendOutcome::IdempotencyConflict
    );
    // A refund is not a charge to refund.
    assert_eq!(
        s.refund(&refund(by_payer, refund_id, 1, "r2", NOW))
            .await
            .expect("r2"),
        SpendOutcome::UnknownCharge
    );
    // Above what remains, then all of it, then twice.
    assert_eq!(
        s.refund(&refund(by_payer, id, 701, "r3", NOW))
            .await
            .expect("r3"),
        SpendOutcome::AboveRefundable { refundable: 700 }
    );
    done(
        s.refund(&refund(by_payer, id, 700, "r4", NOW))
            .await
            .expect("r4"),
    );
    assert_eq!(
        s.refund(&refund(by_payer, id, 1, "r5", NOW))
            .await
            .expect("r5"),
        SpendOutcome::AboveRefundable { refundable: 0 }
    );
    assert_eq!(balance(s, payer).await, (5_000, 0));
    assert_eq!(s.spent_by_client(payer, app, 0).await.expect("spent"), 0);

    // The window: open `WINDOW` seconds after the charge, closed one second later.
    let late = done(
        s.charge(&charge(payer, app, Some(grant_a), 50, "c2"))
            .await
            .expect("c2"),
    );
    assert_eq!(
        s.refund(&refund(
            by_payer,
            late.charge_id,
            10,
            "w1",
            NOW + WINDOW + 1
        ))
        .await
        .expect("w1"),
        SpendOutcome::RefundWindowClosed
    );
    done(
        s.refund(&refund(by_payer, late.charge_id, 10, "w2", NOW + WINDOW))
            .await
            .expect("w2"),
    );

    // The billing service gives back its own charges of any user, and no one else's.
    let metered = done(
        s.charge(&charge(other_user, billing, None, 80, "m1"))
            .await
            .expect("m1"),
    );
    let as_billing = (billing, None, None);
    assert_eq!(
        s.refund(&refund(as_billing, late.charge_id, 1, "m2", NOW))
            .await
            .expect("m2"),
        SpendOutcome::UnknownCharge
    );
    let back = done(
        s.refund(&refund(as_billing, metered.charge_id, 80, "m3", NOW))
            .await
            .expect("m3"),
    );
    assert_eq!((back.quota, back.used_quota), (5_000, 0));

    // A revoked grant refunds nothing, nor an app no longer allowed to spend.
    s.revoke_family(grant_a, NOW).await.expect("revoke");
    assert_eq!(
        s.refund(&refund(by_payer, late.charge_id, 1, "v1", NOW))
            .await
            .expect("v1"),
        SpendOutcome::NotAllowed
    );
    let grant_b = grant(s, payer, app, "5000/month", "t-b").await;
    let disallow = ClientPatch {
        may_spend: Some(false),
        ..ClientPatch::default()
    };
    assert!(s.patch_client(app, &disallow, NOW).await.expect("patch"));
    assert_eq!(
        s.refund(&refund(
            (app, Some(payer), Some(grant_b)),
            late.charge_id,
            1,
            "v2",
            NOW
        ))
        .await
        .expect("v2"),
        SpendOutcome::NotAllowed
    );
    assert_eq!(balance(s, payer).await, (5_000, 40));
    assert_ledger_adds_up(s).await;
}

/// What counts against a day's limit is what was charged minus what was refunded that day,
/// whatever the day of the refunded charge: kept on the consent as a counter (migration 0021)
/// and started again when the window moves on; it always equals the sum of the window's
/// entries (`spent_by_client`).
async fn a_limits_window_counts_the_charges_and_refunds_made_in_it_alone(backend: Backend) {
    const DAY: i64 = 86_400;
    let (_db, store) = store(backend).await;
    let s = store.as_ref();
    let owner = funded(s, "owner", 0).await;
    let payer = funded(s, "payer", 10_000).await;
    let app = spending_app(s, owner, "client_daily", false).await;
    let other = spending_app(s, owner, "client_other", false).await;
    let grant_a = grant(s, payer, app, "100/day", "t-day").await;
    let grant_o = grant(s, payer, other, "1000/day", "t-other").await;
    let at = |mut request: ChargeRequest, now: i64| {
        request.now = now;
        request
    };
    let through = (app, Some(payer), Some(grant_a));
    let spent_today = |now: i64| async move {
        s.spent_by_client(payer, app, now - now % DAY)
            .await
            .expect("spent")
    };

    let first = done(
        s.charge(&charge(payer, app, Some(grant_a), 60, "d0-1"))
            .await
            .expect("c"),
    );
    assert_eq!(first.remaining_limit, Some(40));
    // Another app's spending is its own.
    done(
        s.charge(&charge(payer, other, Some(grant_o), 500, "o-1"))
            .await
            .expect("o"),
    );
    assert_eq!(
        s.charge(&charge(payer, app, Some(grant_a), 50, "d0-2"))
            .await
            .expect("c"),
        SpendOutcome::LimitExceeded { remaining: 40 }
    );
    // A refund gives room back the same day.
    done(
        s.refund(&refund(through, first.charge_id, 20, "r-1", NOW + 10))
            .await
            .expect("r"),
    );
    let second = done(
        s.charge(&at(charge(payer, app, Some(grant_a), 60, "d0-3"), NOW + 20))
            .await
            .expect("c"),
    );
    assert_eq!(second.remaining_limit, Some(0));
    assert_eq!(spent_today(NOW + 20).await, 100);

    // The next day: the whole limit again.
    let tomorrow = DAY + 100;
    let third = done(
        s.charge(&at(
            charge(payer, app, Some(grant_a), 100, "d1-1"),
            tomorrow,
        ))
        .await
        .expect("c"),
    );
    assert_eq!(third.remaining_limit, Some(0));
    // Yesterday's charge refunded today makes room today.
    let late = refund(through, second.charge_id, 10, "r-2", tomorrow + 10);
    let late = RefundRequest {
        window_secs: DAY * 2,
        ..late
    };
    done(s.refund(&late).await.expect("r"));
    let fourth = done(
        s.charge(&at(
            charge(payer, app, Some(grant_a), 10, "d1-2"),
            tomorrow + 20,
        ))
        .await
        .expect("c"),
    );
    assert_eq!(fourth.remaining_limit, Some(0));
    assert_eq!(
        s.charge(&at(
            charge(payer, app, Some(grant_a), 1, "d1-3"),
            tomorrow + 30
        ))
        .await
        .expect("c"),
        SpendOutcome::LimitExceeded { remaining: 0 }
    );
    assert_eq!(spent_today(tomorrow + 30).await, 100);
    assert_eq!(
        balance(s, payer).await,
        (10_000, 60 + 500 - 20 + 60 + 100 - 10 + 10)
    );
    assert_ledger_adds_up(s).await;
}
