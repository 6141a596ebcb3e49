//! `DeviceStore` (RFC 8628): device authorizations by either code's hash, a decision taken
//! once, polls recorded, an approved code redeemed once with its tokens, and the purge.

use super::{conflict, new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::model::{
    ClientStatus, DeviceDecision, DeviceStatus, NewDeviceCode, NewFamily, NewToken, TokenKind,
};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::Conflict;

on_both_backends!(
    rfc8628_device_codes_are_found_by_either_hash_and_decided_once,
    rfc8628_an_approved_device_code_is_redeemed_once_with_its_tokens,
    rfc8628_expired_device_codes_are_purged,
    rfc8628_revoking_the_consent_denies_an_approved_uncollected_device_code,
);

fn device(device_code: &str, user_code: &str, client: i64, expires_at: i64) -> NewDeviceCode {
    NewDeviceCode {
        device_code_hash: SecretHash::of(device_code),
        user_code_hash: SecretHash::of(user_code),
        client,
        scopes: ScopeSet::parse("profile").expect("scopes"),
        resources: Default::default(),
        interval_secs: 5,
        suggested_limit: None,
        created_at: 1_000,
        expires_at,
    }
}

async fn rfc8628_device_codes_are_found_by_either_hash_and_decided_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let client = store
        .create_client(new_client("client_d", owner.id, ClientStatus::Approved))
        .await
        .expect("client");
    let mut first = device("kwdc_a", "BCDFGHJK", client.id, 1_600);
    first.suggested_limit = Some(SpendLimit::parse("2500/day").expect("limit"));
    store.create_device_code(&first).await.expect("create");
    // Either code, again: a duplicate secret.
    assert_eq!(
        conflict(
            store
                .create_device_code(&device("kwdc_b", "BCDFGHJK", client.id, 1_600))
                .await
        ),
        Conflict::Secret
    );
    assert_eq!(
        conflict(
            store
                .create_device_code(&device("kwdc_a", "LMNPQRST", client.id, 1_600))
                .await
        ),
        Conflict::Secret
    );
    let by_device = store
        .device_code_by_hash(&SecretHash::of("kwdc_a"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(by_device.status, DeviceStatus::Pending);
    assert_eq!(by_device.client, client.id);
    assert_eq!(by_device.interval_secs, 5);
    assert_eq!(by_device.last_polled_at, None);
    assert_eq!(by_device.suggested_limit, first.suggested_limit);
    let by_user = store
        .device_code_by_user_code(&SecretHash::of("BCDFGHJK"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(by_user.device_code_hash, SecretHash::of("kwdc_a"));
    assert!(
        store
            .device_code_by_user_code(&SecretHash::of("kwdc_a"))
            .await
            .expect("read")
            .is_none()
    );

    // A poll answers the code as it was, and records itself: the interval grows by the step
    // given only when the poll came sooner than the interval after the last one.
    let poll = |client, now| {
        let store = store.clone();
        async move {
            store
                .poll_device_code(&SecretHash::of("kwdc_a"), client, now, 5)
                .await
                .expect("poll")
                .map(|code| (code.last_polled_at, code.interval_secs))
        }
    };
    let now_stored = || {
        let store = store.clone();
        async move {
            let code = store
                .device_code_by_hash(&SecretHash::of("kwdc_a"))
                .await
                .expect("read")
                .expect("found");
            (code.last_polled_at, code.interval_secs)
        }
    };
    let (_, interval) = now_stored().await;
    assert_eq!(poll(client.id, 1_010).await, Some((None, interval)));
    assert_eq!(now_stored().await, (Some(1_010), interval));
    // Sooner than the interval: it grows.
    assert_eq!(poll(client.id, 1_011).await, Some((Some(1_010), interval)));
    assert_eq!(now_stored().await, (Some(1_011), interval + 5));
    // Waiting the (grown) interval out: it stays.
    let later = 1_011 + interval + 5;
    assert_eq!(
        poll(client.id, later).await,
        Some((Some(1_011), interval + 5))
    );
    assert_eq!(now_stored().await, (Some(later), interval + 5));
    // Another client's poll, or a poll after expiry, records nothing but still reads the code.
    assert!(poll(client.id + 1_000, later + 1).await.is_some());
    assert_eq!(
        poll(client.id, 10_000).await,
        Some((Some(later), interval + 5))
    );
    assert_eq!(now_stored().await, (Some(later), interval + 5));
    assert!(
        store
            .poll_device_code(&SecretHash::of("kwdc_unknown"), client.id, later, 5)
            .await
            .expect("poll")
            .is_none()
    );

    // After expiry, no decision; before it, exactly one.
    let user = SecretHash::of("BCDFGHJK");
    let approve = DeviceDecision::Approve {
        user_id: owner.id,
        auth_time: 900,
    };
    assert!(
        !store
            .decide_device_code(&user, approve, 1_600)
            .await
            .expect("late")
    );
    assert!(
        store
            .decide_device_code(&user, approve, 1_020)
            .await
            .expect("decide")
    );
    assert!(
        !store
            .decide_device_code(&user, DeviceDecision::Deny, 1_021)
            .await
            .expect("again")
    );
    let decided = store
        .device_code_by_user_code(&user)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        decided.status,
        DeviceStatus::Approved {
            user_id: owner.id,
            auth_time: 900
        }
    );
}

async fn rfc8628_an_approved_device_code_is_redeemed_once_with_its_tokens(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let client = store
        .create_client(new_client("client_d", owner.id, ClientStatus::Approved))
        .await
        .expect("client");
    store
        .create_device_code(&device("kwdc_a", "BCDFGHJK", client.id, 1_600))
        .await
        .expect("create");
    let hash = SecretHash::of("kwdc_a");
    let family = || NewFamily {
        client: client.id,
        user_id: Some(owner.id),
        code_hash: None,
        auth_time: 900,
        created_at: 1_030,
    };
    let token = |secret: &str| NewToken {
        hash: SecretHash::of(secret),
        kind: TokenKind::Access,
        scopes: ScopeSet::parse("profile").expect("scopes"),
        resources: Default::default(),
        expires_at: 9_000,
    };
    // Pending: nothing to redeem, nothing written.
    assert_eq!(
        store
            .redeem_device_code(&hash, family(), &[token("kwat_early")], 1_030)
            .await
            .expect("pending"),
        None
    );
    assert!(
        store
            .token_by_hash(&SecretHash::of("kwat_early"))
            .await
            .expect("read")
            .is_none()
    );
    let approve = DeviceDecision::Approve {
        user_id: owner.id,
        auth_time: 900,
    };
    assert!(
        store
            .decide_device_code(&SecretHash::of("BCDFGHJK"), approve, 1_020)
            .await
            .expect("decide")
    );
    let family_id = store
        .redeem_device_code(&hash, family(), &[token("kwat_1")], 1_030)
        .await
        .expect("redeem")
        .expect("won");
    let stored = store
        .token_by_hash(&SecretHash::of("kwat_1"))
        .await
        .expect("read")
        .expect("token");
    assert_eq!(
        (stored.family_id, stored.user_id),
        (family_id, Some(owner.id))
    );
    assert_eq!(stored.auth_time, 900);
    assert_eq!(
        store
            .device_code_by_hash(&hash)
            .await
            .expect("read")
            .expect("found")
            .status,
        DeviceStatus::Issued { user_id: owner.id }
    );
    // Twice: refused, and the second set of tokens is not stored.
    assert_eq!(
        store
            .redeem_device_code(&hash, family(), &[token("kwat_2")], 1_031)
            .await
            .expect("again"),
        None
    );
    assert!(
        store
            .token_by_hash(&SecretHash::of("kwat_2"))
            .await
            .expect("read")
            .is_none()
    );
}

async fn rfc8628_expired_device_codes_are_purged(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let client = store
        .create_client(new_client("client_d", owner.id, ClientStatus::Approved))
        .await
        .expect("client");
    store
        .create_device_code(&device("kwdc_old", "BCDFGHJK", client.id, 1_600))
        .await
        .expect("old");
    store
        .create_device_code(&device("kwdc_new", "LMNPQRST", client.id, 5_000))
        .await
        .expect("new");
    let removed = store.purge_expired(2_000, 900).await.expect("purge");
    assert!(removed >= 1);
    assert!(
        store
            .device_code_by_hash(&SecretHash::of("kwdc_old"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .device_code_by_hash(&SecretHash::of("kwdc_new"))
            .await
            .expect("read")
            .is_some()
    );
}

/// Revoking the consent between the approval and the device's next poll: the device gets
/// nothing (`access_denied`), as if the user had said no.
async fn rfc8628_revoking_the_consent_denies_an_approved_uncollected_device_code(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let client = store
        .create_client(new_client("client_d", owner.id, ClientStatus::Approved))
        .await
        .expect("client");
    store
        .create_device_code(&device("kwdc_a", "BCDFGHJK", client.id, 1_600))
        .await
        .expect("create");
    let approve = DeviceDecision::Approve {
        user_id: owner.id,
        auth_time: 900,
    };
    assert!(
        store
            .decide_device_code(&SecretHash::of("BCDFGHJK"), approve, 1_010)
            .await
            .expect("decide")
    );
    let scopes = ScopeSet::parse("profile").expect("scopes");
    store
        .save_consent(
            owner.id,
            client.id,
            scopes,
            &Default::default(),
            None,
            1_010,
        )
        .await
        .expect("consent");
    assert!(
        store
            .revoke_consent(owner.id, client.id, 1_020)
            .await
            .expect("revoke")
    );
    let after = store
        .device_code_by_hash(&SecretHash::of("kwdc_a"))
        .await
        .expect("read")
        .expect("found");
    assert_eq!(after.status, DeviceStatus::Denied);
}
