//! The storage contract, exercised directly on each backend where HTTP cannot reach: expiry
//! purges, atomic balance changes, and throttle counters read several at a time.

use crate::helpers::{Backend, TestDatabase};
use crate::on_both_backends;
use keyward_core::model::{AuthCode, ClientStatus, GrantType, NewClient, NewUser, Role};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::MAX_THROTTLE_KEYS;

on_both_backends!(
    expired_sessions_codes_and_tokens_are_purged,
    quota_changes_are_atomic_and_never_go_below_zero,
    throttle_counters_are_read_together_each_by_its_own_key_and_window,
    the_limiter_judges_each_counter_by_its_own_limit,
    reservations_count_before_the_work_and_are_given_back_only_in_their_window,
);

async fn store_with_user(
    backend: Backend,
) -> (TestDatabase, std::sync::Arc<dyn keyward_core::Store>, i64) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 4).await.expect("store");
    let user = store
        .create_user(NewUser {
            uuid: uuid::Uuid::new_v4(),
            username: "sam".into(),
            display_name: "sam".into(),
            email: None,
            email_verified: false,
            password_hash: None,
            role: Role::User,
            quota: 100,
            aff_code: "AFFCODE1".into(),
            inviter_id: None,
            created_at: 1_000,
        })
        .await
        .expect("user");
    (db, store, user.id)
}

async fn expired_sessions_codes_and_tokens_are_purged(backend: Backend) {
    let (_db, store, user) = store_with_user(backend).await;
    let client = store
        .create_client(NewClient {
            client_id: "client_purge".into(),
            owner_id: Some(user),
            name: "n".into(),
            description: String::new(),
            redirect_uris: vec!["https://a.example/cb".into()],
            post_logout_redirect_uris: vec![],
            id_token_alg: keyward_core::oidc::SigningAlg::Rs256,
            auth_method: keyward_core::model::AuthMethod::ClientSecretBasic,
            jwks: None,
            jwks_uri: None,
            kind: keyward_core::model::ClientKind::Console,
            registration_token_hash: None,
            metadata_expires_at: None,
            allowed_scopes: ScopeSet::parse("profile").expect("scopes"),
            grant_types: vec![GrantType::AuthorizationCode],
            public: false,
            logo_uri: None,
            client_uri: None,
            policy_uri: None,
            status: ClientStatus::Approved,
            secret_hash: None,
            secret_revealed_at: None,
            created_at: 1_000,
        })
        .await
        .expect("client");
    let code = |hash: &str, expires_at| AuthCode {
        hash: SecretHash::of(hash),
        client: client.id,
        user_id: user,
        redirect_uri: "https://a.example/cb".into(),
        scopes: ScopeSet::parse("profile").expect("scopes"),
        resources: Default::default(),
        code_challenge: None,
        nonce: None,
        auth_time: 1_000,
        created_at: 1_000,
        expires_at,
        used_at: None,
    };
    store.create_code(code("old", 1_600)).await.expect("code");
    store.create_code(code("new", 5_000)).await.expect("code");
    let removed = store.purge_expired(2_000, 900).await.expect("purge");
    assert!(removed >= 1);
    assert!(
        store
            .code_by_hash(&SecretHash::of("old"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .code_by_hash(&SecretHash::of("new"))
            .await
            .expect("read")
            .is_some()
    );
}

async fn quota_changes_are_atomic_and_never_go_below_zero(backend: Backend) {
    let (_db, store, user) = store_with_user(backend).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.adjust_quota(user, -10, 2_000).await.expect("adjust")
        }));
    }
    let mut applied = 0;
    for task in tasks {
        if task.await.expect("task").is_some() {
            applied += 1;
        }
    }
    assert_eq!(applied, 10, "exactly the affordable debits went through");
    let after = store.user_by_id(user).await.expect("read").expect("user");
    assert_eq!(after.quota, 0);
    assert_eq!(
        store.adjust_quota(user, -1, 2_000).await.expect("adjust"),
        None
    );
    assert_eq!(
        store.adjust_quota(user, 5, 2_000).await.expect("adjust"),
        Some(5)
    );
}

async fn throttle_counters_are_read_together_each_by_its_own_key_and_window(backend: Backend) {
    let (_db, store, _) = store_with_user(backend).await;
    for _ in 0..3 {
        store.throttle_hit("t:a", 600, 1_000).await.expect("hit");
    }
    store.throttle_hit("t:b", 600, 1_200).await.expect("hit");
    store.throttle_hit("t:c", 600, 1_250).await.expect("hit");
    store.throttle_hit("t:c", 600, 1_260).await.expect("hit");

    // In the order asked, each with its own count; an unknown key is `None`.
    let asked = [("t:b", 600), ("t:none", 600), ("t:a", 600), ("t:c", 600)];
    let counts = store.throttle_counts(&asked, 1_300).await.expect("counts");
    assert_eq!(
        counts,
        vec![Some((1, 1_200)), None, Some((3, 1_000)), Some((2, 1_250))]
    );
    // The same answers as one read per key.
    for ((key, window), count) in asked.iter().zip(&counts) {
        let one = store
            .throttle_count(key, *window, 1_300)
            .await
            .expect("count");
        assert_eq!(one, *count, "{key}");
    }
    // Each key judged by its own window: a's window of 250 s ended at 1250, b's and c's not.
    assert_eq!(
        store
            .throttle_counts(&[("t:a", 250), ("t:b", 250), ("t:c", 60)], 1_300)
            .await
            .expect("counts"),
        vec![None, Some((1, 1_200)), Some((2, 1_250))]
    );
    // One key, the same key twice with different windows, and none at all.
    assert_eq!(
        store
            .throttle_counts(&[("t:c", 600)], 1_300)
            .await
            .expect("counts"),
        vec![Some((2, 1_250))]
    );
    assert_eq!(
        store
            .throttle_counts(&[("t:a", 300), ("t:a", 301)], 1_300)
            .await
            .expect("counts"),
        vec![None, Some((3, 1_000))]
    );
    assert!(
        store
            .throttle_counts(&[], 1_300)
            .await
            .expect("counts")
            .is_empty()
    );

    // Every count up to the bound; beyond it the read is refused.
    let keys: Vec<String> = (0..MAX_THROTTLE_KEYS)
        .map(|i| format!("t:many:{i}"))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        for _ in 0..=i {
            store.throttle_hit(key, 600, 1_000).await.expect("hit");
        }
    }
    for n in 1..=MAX_THROTTLE_KEYS {
        let asked: Vec<(&str, i64)> = keys[..n].iter().map(|k| (k.as_str(), 600)).rev().collect();
        let expected: Vec<_> = (1..=n as i64).rev().map(|c| Some((c, 1_000))).collect();
        assert_eq!(
            store.throttle_counts(&asked, 1_100).await.expect("counts"),
            expected,
            "{n} keys"
        );
    }
    let too_many = vec![("t:a", 600); MAX_THROTTLE_KEYS + 1];
    assert!(store.throttle_counts(&too_many, 1_300).await.is_err());
}

async fn the_limiter_judges_each_counter_by_its_own_limit(backend: Backend) {
    use keyward_core::clock::MockClock;
    use keyward_core::limits::{Limit, LimitError, RateLimiter};
    use std::sync::Arc;

    let (_db, store, _) = store_with_user(backend).await;
    let clock = Arc::new(MockClock::new(1_000));
    let limiter = RateLimiter::new(store.clone(), clock.clone());
    // Asked for client first, stored IP first (in key order too).
    let client = ("l:2-client".to_owned(), Limit::new(2, 600));
    let ip = ("l:1-ip".to_owned(), Limit::new(5, 60));
    // Off (no maximum), with a live counter that any maximum of 0 would find reached.
    let off = ("l:off".to_owned(), Limit::new(0, 600));
    // At the IP's limit, under the client's (written IP first, read client first).
    for _ in 0..5 {
        limiter
            .record(std::slice::from_ref(&ip))
            .await
            .expect("record");
    }
    limiter
        .record(std::slice::from_ref(&client))
        .await
        .expect("record");
    store.throttle_hit("l:off", 600, 1_000).await.expect("hit");
    let keys = [client.clone(), ip.clone(), off.clone()];

    // The IP's counter refuses, with the IP's window: counts swapped between the keys would
    // refuse by the client's (590 s).
    clock.advance(10);
    match limiter.check(&keys).await {
        Err(LimitError::Exceeded { retry_after }) => assert_eq!(retry_after, 50),
        other => panic!("refused by the IP limit: {other:?}"),
    }
    // Once the IP's 60 s window ends its counter no longer counts, though the client's 600 s
    // window goes on; a limit that is off never refuses.
    clock.advance(50);
    limiter
        .check(&keys)
        .await
        .expect("the IP's window has ended");
    assert_eq!(
        store
            .throttle_counts(&[("l:2-client", 600)], 1_060)
            .await
            .expect("counts"),
        vec![Some((1, 1_000))]
    );
    // The first counter over its limit refuses.
    limiter
        .record(std::slice::from_ref(&client))
        .await
        .expect("record");
    for _ in 0..5 {
        limiter
            .record(std::slice::from_ref(&ip))
            .await
            .expect("record");
    }
    match limiter.check(&keys).await {
        Err(LimitError::Exceeded { retry_after }) => assert_eq!(retry_after, 540),
        other => panic!("refused by the client limit: {other:?}"),
    }
    // Every limit off: nothing to read, nothing refused.
    limiter
        .check(&[("l:2-client".to_owned(), Limit::new(0, 600)), off])
        .await
        .expect("all off");
}

async fn reservations_count_before_the_work_and_are_given_back_only_in_their_window(
    backend: Backend,
) {
    use keyward_core::clock::MockClock;
    use keyward_core::limits::{Limit, LimitError, RateLimiter};
    use std::sync::Arc;

    let (_db, store, _) = store_with_user(backend).await;
    let clock = Arc::new(MockClock::new(1_000));
    let limiter = Arc::new(RateLimiter::new(store.clone(), clock.clone()));
    let key = vec![("r:burst".to_owned(), Limit::new(3, 60))];

    // Eight attempts at once, none finished: only the first three may start their work.
    let attempts = (0..8).map(|_| {
        let (limiter, key) = (limiter.clone(), key.clone());
        tokio::spawn(async move { limiter.reserve(&key).await })
    });
    let mut granted = Vec::new();
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(reservation) => granted.push(reservation),
            Err(LimitError::Exceeded { retry_after }) => assert_eq!(retry_after, 60),
            Err(other) => panic!("store error: {other}"),
        }
    }
    assert_eq!(granted.len(), 3, "attempts let through by a limit of 3");

    // Two of them succeed and give their slots back: one more attempt fits, then none.
    let mut granted = granted.into_iter();
    for reservation in granted.by_ref().take(2) {
        limiter.release(reservation).await.expect("release");
    }
    let kept = limiter.reserve(&key).await.expect("a slot was given back");
    let another = limiter.reserve(&key).await.expect("and another");
    assert!(
        limiter.reserve(&key).await.is_err(),
        "the limit holds again"
    );
    drop((kept, another));

    // A reservation from a window that has ended takes nothing from the new window's count.
    let stale = granted.next().expect("the third reservation");
    clock.advance(61);
    let fresh = limiter.reserve(&key).await.expect("new window");
    limiter.release(stale).await.expect("release");
    assert_eq!(
        store
            .throttle_counts(&[("r:burst", 60)], 1_061)
            .await
            .expect("counts"),
        vec![Some((1, 1_061))]
    );
    limiter.release(fresh).await.expect("release");
    assert_eq!(
        store
            .throttle_counts(&[("r:burst", 60)], 1_061)
            .await
            .expect("counts"),
        vec![Some((0, 1_061))]
    );
}
