//! `KeyStore`, `AuditStore` and `MaintenanceStore::ping` (the purge is in `storage.rs`).

use super::{PAGE, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{NewAuditEntry, StoredKey};
use keyward_core::store::{AuditFilter, Page};

on_both_backends!(signing_keys_audit_entries_and_pings);

pub(super) fn key(kid: &str) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: "RS256".into(),
        private_key: vec![1, 2, 3],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at: 1_000,
        not_before: 1_100,
    }
}

async fn signing_keys_audit_entries_and_pings(backend: Backend) {
    let (_db, store) = store(backend).await;
    store.ping().await.expect("ping");

    store.insert_signing_key(key("k1")).await.expect("k1");
    store.insert_signing_key(key("k2")).await.expect("k2");
    let mut kids: Vec<_> = store
        .signing_keys()
        .await
        .expect("keys")
        .into_iter()
        .map(|k| (k.kid, k.private_key, k.not_before))
        .collect();
    kids.sort();
    assert_eq!(
        kids,
        vec![
            ("k1".to_owned(), vec![1, 2, 3], 1_100),
            ("k2".to_owned(), vec![1, 2, 3], 1_100)
        ]
    );
    store.delete_signing_key("k1").await.expect("delete");
    store
        .delete_signing_key("missing")
        .await
        .expect("deleting nothing is fine");
    let kids: Vec<_> = store
        .signing_keys()
        .await
        .expect("keys")
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, vec!["k2".to_owned()]);

    let alice = store.create_user(new_user("alice")).await.expect("alice");
    for (at, action) in [
        (1_000, "user.login"),
        (1_001, "app.create"),
        (1_002, "user.login"),
    ] {
        store
            .audit(NewAuditEntry {
                at,
                actor_id: Some(alice.id),
                action,
                target: format!("t{at}"),
                detail: "{}".into(),
                ip: "127.0.0.1".into(),
            })
            .await
            .expect("audit");
    }
    let all = store
        .list_audit(&AuditFilter::default(), PAGE)
        .await
        .expect("list");
    let ats: Vec<_> = all.iter().map(|e| e.at).collect();
    assert_eq!(ats, vec![1_002, 1_001, 1_000], "newest first");
    let logins = store
        .list_audit(&AuditFilter::action(Some("user.login")), PAGE)
        .await
        .expect("list");
    let targets: Vec<_> = logins.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, vec!["t1002", "t1000"]);
    assert_eq!(logins[0].actor_id, Some(alice.id));
    let second = store
        .list_audit(
            &AuditFilter::default(),
            Page {
                offset: 1,
                limit: 1,
            },
        )
        .await
        .expect("page");
    assert_eq!(second.iter().map(|e| e.at).collect::<Vec<_>>(), vec![1_001]);
}
