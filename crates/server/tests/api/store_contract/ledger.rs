//! `BillingStore`: the ledger. Every movement of `quota` or `used_quota`, through any store
//! method, writes its entry in the same transaction, so the entries always add up.

use super::{PAGE, new_user, store};
use crate::helpers::{Backend, assert_ledger_adds_up};
use crate::on_both_backends;
use keyward_core::billing::ledger::EntryKind;
use keyward_core::billing::topup::NewTopUpCode;
use keyward_core::model::Identity;
use keyward_core::secret::SecretHash;
use keyward_core::store::UserPatch;

on_both_backends!(every_balance_movement_is_an_entry_and_the_entries_add_up);

async fn every_balance_movement_is_an_entry_and_the_entries_add_up(backend: Backend) {
    let (_db, store) = store(backend).await;
    // The new-user quota, for a password account and for one made by an upstream login.
    let mut funded = new_user("alice");
    funded.quota = 500;
    let alice = store.create_user(funded).await.expect("alice");
    let mut upstream = new_user("bob");
    upstream.quota = 70;
    let bob = store
        .create_user_with_identity(
            upstream,
            Identity {
                provider: "github".into(),
                subject: "1".into(),
                user_id: 0,
                display: "bob".into(),
                created_at: 1_000,
            },
        )
        .await
        .expect("bob");
    // No quota, no entry.
    let carol = store.create_user(new_user("carol")).await.expect("carol");
    assert!(
        store
            .ledger_of_user(carol.id, PAGE)
            .await
            .expect("carol")
            .is_empty()
    );
    assert_ledger_adds_up(store.as_ref()).await;

    // A top-up, an admin's edit of both columns, a relative adjustment.
    store
        .create_topup_codes(&[NewTopUpCode {
            hash: SecretHash::of("code"),
            label: String::new(),
            amount: 25,
            created_by: alice.id,
            created_at: 1_000,
            expires_at: None,
        }])
        .await
        .expect("code");
    store
        .redeem_topup_code(&SecretHash::of("code"), alice.id, 1_001)
        .await
        .expect("redeem");
    let edit = UserPatch {
        quota: Some(600),
        used_quota: Some(40),
        by: Some(bob.id),
        ..UserPatch::default()
    };
    assert!(
        store
            .patch_user(alice.id, &edit, 1_002)
            .await
            .expect("patch")
    );
    // An edit that leaves the balance as it is writes nothing.
    let same = UserPatch {
        quota: Some(600),
        level: Some(3),
        ..UserPatch::default()
    };
    assert!(
        store
            .patch_user(alice.id, &same, 1_003)
            .await
            .expect("same")
    );
    assert_eq!(
        store
            .adjust_quota(alice.id, -100, 1_004)
            .await
            .expect("adjust"),
        Some(500)
    );
    // Refused: nothing moves, nothing is written.
    assert_eq!(
        store
            .adjust_quota(alice.id, -501, 1_005)
            .await
            .expect("refused"),
        None
    );
    assert_ledger_adds_up(store.as_ref()).await;

    let entries = store.ledger_of_user(alice.id, PAGE).await.expect("alice");
    let summary: Vec<(EntryKind, i64, i64, Option<i64>, i64, i64)> = entries
        .iter()
        .map(|e| {
            (
                e.kind,
                e.quota_delta,
                e.used_delta,
                e.actor_user_id,
                e.quota_after,
                e.used_after,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (EntryKind::Admin, -100, 0, None, 500, 40),
            (EntryKind::Admin, 75, 40, Some(bob.id), 600, 40),
            (EntryKind::TopUp, 25, 0, Some(alice.id), 525, 0),
            (EntryKind::Signup, 500, 0, None, 500, 0),
        ],
        "newest first"
    );
    let bob_entries = store.ledger_of_user(bob.id, PAGE).await.expect("bob");
    assert_eq!(bob_entries.len(), 1);
    assert_eq!(
        (bob_entries[0].kind, bob_entries[0].quota_delta),
        (EntryKind::Signup, 70)
    );
    let page = keyward_core::store::Page {
        offset: 1,
        limit: 2,
    };
    let paged = store.ledger_of_user(alice.id, page).await.expect("page");
    assert_eq!(paged.len(), 2);
    assert_eq!(paged[0].id, entries[1].id);
}
