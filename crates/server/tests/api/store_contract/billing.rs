//! `BillingStore`: top-up codes.

use super::{PAGE, conflict, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::billing::topup::{NewTopUpCode, Redemption};
use keyward_core::model::UserStatus;
use keyward_core::secret::SecretHash;
use keyward_core::store::{Conflict, UserPatch};

on_both_backends!(topup_codes_go_in_together_and_are_redeemed_once_by_an_enabled_account);

async fn topup_codes_go_in_together_and_are_redeemed_once_by_an_enabled_account(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let code = |secret: &str, amount, expires_at| NewTopUpCode {
        hash: SecretHash::of(secret),
        label: format!("label-{secret}"),
        amount,
        created_by: alice.id,
        created_at: 1_000,
        expires_at,
    };
    // One duplicate refuses the whole batch.
    assert_eq!(
        conflict(
            store
                .create_topup_codes(&[code("a", 25, None), code("a", 25, None)])
                .await
        ),
        Conflict::Secret
    );
    assert!(store.list_topup_codes(PAGE).await.expect("list").is_empty());
    store
        .create_topup_codes(&[code("a", 25, None), code("old", 10, Some(1_500))])
        .await
        .expect("codes");
    let listed = store.list_topup_codes(PAGE).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].label, "label-old", "newest first");
    let a = listed.iter().find(|c| c.amount == 25).expect("code a");

    // A disabled account claims nothing, and the code stays unused.
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    assert!(
        store
            .patch_user(bob.id, &disable, 1_000)
            .await
            .expect("patch")
    );
    let hash = SecretHash::of("a");
    assert_eq!(
        store
            .redeem_topup_code(&hash, bob.id, 1_001)
            .await
            .expect("bob"),
        Redemption::Invalid
    );
    let redeemed = store
        .redeem_topup_code(&hash, alice.id, 1_002)
        .await
        .expect("alice");
    assert_eq!(
        redeemed,
        Redemption::Credited {
            id: a.id,
            amount: 25
        }
    );
    let quota = store
        .user_by_id(alice.id)
        .await
        .expect("read")
        .map(|u| u.quota);
    assert_eq!(quota, Some(25));
    // Used, expired or unknown: invalid, and the quota stays.
    for (secret, at) in [("a", 1_003), ("old", 2_000), ("never", 1_003)] {
        let again = store
            .redeem_topup_code(&SecretHash::of(secret), alice.id, at)
            .await
            .expect("again");
        assert_eq!(again, Redemption::Invalid, "{secret}");
    }
    let listed = store.list_topup_codes(PAGE).await.expect("list");
    let a = listed.iter().find(|c| c.amount == 25).expect("code a");
    assert_eq!(a.redeemed_by, Some(alice.id));
    assert_eq!(a.redeemed_by_name.as_deref(), Some("alice"));
    assert_eq!(a.redeemed_at, Some(1_002));
    let quota = store
        .user_by_id(alice.id)
        .await
        .expect("read")
        .map(|u| u.quota);
    assert_eq!(quota, Some(25));
}
