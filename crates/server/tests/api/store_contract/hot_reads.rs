//! The reads a token request makes before its work, served from memory on PostgreSQL between
//! changes (changes.rs in its crate): the failure counters and the signing keys' version. Every
//! change is seen by the next read at the node that made it, and at another node once the change
//! notification arrives (on SQLite at once: nothing is kept across another process's commit).
//! And the refresh grant's one read of a token with its user.

use super::oauth::{family, token};
use super::{keys_and_audit::key, new_client, new_user, store};
use crate::helpers::{Backend, TestDatabase};
use crate::on_both_backends;
use keyward_core::Store;
use keyward_core::model::{ClientStatus, TokenKind};
use keyward_core::secret::SecretHash;
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(
    failure_counters_are_read_again_after_every_change_anywhere,
    the_signing_keys_version_moves_with_every_key_change_anywhere,
    a_token_is_read_with_its_user_in_one_read,
);

const KEY: &str = "token:ip:192.0.2.7";
const WINDOW: i64 = 600;

async fn count(node: &Arc<dyn Store>, now: i64) -> Option<i64> {
    let counts = node
        .throttle_counts(&[(KEY, WINDOW), ("token:ip:other", WINDOW)], now)
        .await
        .expect("counts");
    assert_eq!(counts[1], None);
    counts[0].map(|(count, _)| count)
}

/// Reads at `node` until it sees `expected`; fails after 2 s (the notification's way).
async fn seen_within(node: &Arc<dyn Store>, expected: Option<i64>, now: i64) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut reads = 0;
    loop {
        let seen = count(node, now).await;
        if seen == expected {
            return reads;
        }
        assert!(
            Instant::now() < deadline,
            "after 2 s the node still reads {seen:?}, not {expected:?}"
        );
        reads += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn failure_counters_are_read_again_after_every_change_anywhere(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = keyward::app::open_store(&db.url, 2).await.expect("node A");
    let b = keyward::app::open_store(&db.url, 2).await.expect("node B");
    // Read twice at both: the second read is the cached one where there is a cache.
    for node in [&a, &b] {
        assert_eq!(count(node, 1_000).await, None);
        assert_eq!(count(node, 1_000).await, None);
    }

    // At the node that counted: at once, whatever it is.
    assert_eq!(a.throttle_hit(KEY, WINDOW, 1_000).await.expect("hit"), 1);
    assert_eq!(count(&a, 1_000).await, Some(1));
    a.throttle_hit(KEY, WINDOW, 1_001).await.expect("hit");
    assert_eq!(count(&a, 1_001).await, Some(2));
    a.throttle_release(KEY, WINDOW, 1_001)
        .await
        .expect("release");
    assert_eq!(count(&a, 1_002).await, Some(1));
    // The window's end needs no change to be seen.
    assert_eq!(count(&a, 1_000 + WINDOW).await, None);

    // At the other node: when the notification arrives (SQLite: at once).
    let waited = seen_within(&b, Some(1), 1_002).await;
    a.throttle_clear(KEY).await.expect("clear");
    assert_eq!(count(&a, 1_002).await, None);
    let waited_clear = seen_within(&b, None, 1_002).await;
    // And a change made by hand, behind both nodes' backs.
    db.execute(&format!(
        "INSERT INTO throttle (key, count, window_start) VALUES ('{KEY}', 30, 1000)"
    ))
    .await;
    let by_hand = seen_within(&b, Some(30), 1_002).await;
    seen_within(&a, Some(30), 1_002).await;
    if backend == Backend::Sqlite {
        assert_eq!((waited, waited_clear, by_hand), (0, 0, 0));
    }
}

/// Reads `node`'s version until it is known and differs from `before`; fails after 2 s.
async fn moved_within(node: &Arc<dyn Store>, before: Option<u64>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = node.signing_keys_version().await.expect("version");
        if let Some(now) = now
            && Some(now) != before
        {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the signing keys' version is still {now:?} after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn the_signing_keys_version_moves_with_every_key_change_anywhere(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = keyward::app::open_store(&db.url, 2).await.expect("node A");
    let b = keyward::app::open_store(&db.url, 2).await.expect("node B");
    // Known once the node hears of changes (at once on SQLite, once PostgreSQL's listener is
    // connected).
    let at_a = moved_within(&a, None).await;
    let at_b = moved_within(&b, None).await;
    assert_eq!(a.signing_keys_version().await.expect("again"), Some(at_a));

    a.insert_signing_key(key("k1")).await.expect("insert");
    let after_insert = a.signing_keys_version().await.expect("version");
    assert!(
        after_insert.is_some_and(|v| v != at_a),
        "at the node that wrote: at once"
    );
    let at_b = moved_within(&b, Some(at_b)).await;

    a.delete_signing_key("k1").await.expect("delete");
    assert_ne!(
        a.signing_keys_version().await.expect("version"),
        after_insert
    );
    let at_b = moved_within(&b, Some(at_b)).await;

    db.execute("DELETE FROM signing_keys").await;
    moved_within(&b, Some(at_b)).await;
}

async fn a_token_is_read_with_its_user_in_one_read(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user(new_user("tina")).await.expect("user");
    let app = store
        .create_client(new_client("client_tina", user.id, ClientStatus::Approved))
        .await
        .expect("app")
        .id;
    store
        .issue_family(
            family(app, Some(user.id), None),
            &[token("tina-refresh", TokenKind::Refresh)],
        )
        .await
        .expect("user's family");
    store
        .issue_family(
            family(app, None, None),
            &[token("app-access", TokenKind::Access)],
        )
        .await
        .expect("app's family");

    let (record, with) = store
        .token_with_user(&SecretHash::of("tina-refresh"))
        .await
        .expect("read")
        .expect("the token");
    let alone = store
        .token_by_hash(&SecretHash::of("tina-refresh"))
        .await
        .expect("read")
        .expect("the token");
    assert_eq!(
        (
            record.hash,
            record.family_id,
            record.kind,
            record.expires_at
        ),
        (alone.hash, alone.family_id, alone.kind, alone.expires_at)
    );
    assert_eq!(record.user_id, Some(user.id));
    let with = with.expect("its user");
    assert_eq!(
        (with.id, with.username.as_str(), with.created_at),
        (user.id, "tina", 1_000)
    );

    let (record, with) = store
        .token_with_user(&SecretHash::of("app-access"))
        .await
        .expect("read")
        .expect("the token");
    assert!(record.user_id.is_none() && with.is_none());
    assert!(
        store
            .token_with_user(&SecretHash::of("nothing"))
            .await
            .expect("read")
            .is_none()
    );
}
