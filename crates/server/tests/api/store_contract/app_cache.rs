//! Apps by client_id are kept in memory on both backends (the read behind every token request).
//! Every change to an app is seen by the next read at the node that made it; another node on
//! the same database sees it at once on SQLite (the file's `data_version`) and when the change
//! notification arrives on PostgreSQL (a trigger, so even a change made by hand counts).

use super::{new_client, new_user, store};
use crate::helpers::{Backend, TestDatabase};
use crate::on_both_backends;
use keyward_core::Store;
use keyward_core::model::{
    AuthMethod, Client, ClientDetails, ClientKind, ClientMetadata, ClientPatch, ClientStatus,
    GrantType,
};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_backends!(every_change_to_an_app_is_seen_by_the_next_read_at_its_node);
on_both_backends!(another_nodes_change_to_an_app_is_seen_there);

async fn app(store: &Arc<dyn Store>, client_id: &str) -> Client {
    store
        .client_by_client_id(client_id)
        .await
        .expect("read")
        .expect("the app")
}

async fn every_change_to_an_app_is_seen_by_the_next_read_at_its_node(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("olga")).await.expect("user").id;
    let created = store
        .create_client(new_client("app_cached", owner, ClientStatus::Approved))
        .await
        .expect("app");
    let pk = created.id;
    // Read twice: the second read is the cached one on both backends.
    app(&store, "app_cached").await;
    assert_eq!(app(&store, "app_cached").await.name, "app_cached");

    let patch = ClientPatch {
        status: Some(ClientStatus::Disabled),
        trusted: Some(true),
        ..ClientPatch::default()
    };
    store.patch_client(pk, &patch, 2_000).await.expect("patch");
    let seen = app(&store, "app_cached").await;
    assert_eq!(seen.status, ClientStatus::Disabled);
    assert!(seen.trusted);

    let approve = ClientPatch {
        status: Some(ClientStatus::Approved),
        ..ClientPatch::default()
    };
    store
        .patch_client(pk, &approve, 2_001)
        .await
        .expect("approve");
    assert_eq!(
        app(&store, "app_cached").await.status,
        ClientStatus::Approved
    );

    let first = SecretHash::of("first secret");
    assert!(
        store
            .reveal_secret(pk, &first, 2_002)
            .await
            .expect("reveal")
    );
    assert_eq!(app(&store, "app_cached").await.secret_hash, Some(first));

    let second = SecretHash::of("second secret");
    assert!(
        store
            .rotate_secret(pk, &second, Some(9_000), 2_003)
            .await
            .expect("rotate")
    );
    let rotated = app(&store, "app_cached").await;
    assert_eq!(rotated.secret_hash, Some(second));
    assert_eq!(rotated.previous_secret_hash, Some(first));

    let details = ClientDetails {
        name: "Renamed".into(),
        description: "now with words".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        scopes: "profile".into(),
        logo_uri: None,
        client_uri: None,
        policy_uri: None,
    };
    assert!(
        store
            .edit_client(pk, &details, None, None, 2_004)
            .await
            .expect("edit")
    );
    assert_eq!(app(&store, "app_cached").await.name, "Renamed");

    assert!(store.delete_client(pk).await.expect("delete"));
    assert!(
        store
            .client_by_client_id("app_cached")
            .await
            .expect("read")
            .is_none()
    );

    // A self-registered client: its metadata replaced, its last use written.
    let mut dynamic = new_client("app_dynamic", owner, ClientStatus::Approved);
    dynamic.kind = ClientKind::Dynamic;
    dynamic.owner_id = None;
    let dynamic = store.create_client(dynamic).await.expect("dynamic app");
    app(&store, "app_dynamic").await;
    let metadata = ClientMetadata {
        name: "Agent".into(),
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        grant_types: vec![GrantType::AuthorizationCode],
        allowed_scopes: ScopeSet::parse("profile").expect("scopes"),
        public: true,
        auth_method: AuthMethod::None,
        jwks: None,
        jwks_uri: None,
        metadata_expires_at: None,
    };
    assert!(
        store
            .update_client_metadata(dynamic.id, &metadata, 2_005)
            .await
            .expect("metadata")
    );
    let updated = app(&store, "app_dynamic").await;
    assert_eq!(updated.name, "Agent");
    assert!(updated.public);
    store
        .touch_client(dynamic.id, 2_006, 60)
        .await
        .expect("touch");
    assert_eq!(app(&store, "app_dynamic").await.last_used_at, Some(2_006));
}

async fn another_nodes_change_to_an_app_is_seen_there(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let node_a = keyward::app::open_store(&db.url, 2).await.expect("node A");
    let node_b = keyward::app::open_store(&db.url, 2).await.expect("node B");
    let owner = node_a.create_user(new_user("nina")).await.expect("user").id;
    let created = node_a
        .create_client(new_client("app_shared", owner, ClientStatus::Approved))
        .await
        .expect("app");
    // Node B has it in memory.
    app(&node_b, "app_shared").await;
    app(&node_b, "app_shared").await;

    let disable = ClientPatch {
        status: Some(ClientStatus::Disabled),
        ..ClientPatch::default()
    };
    node_a
        .patch_client(created.id, &disable, 2_000)
        .await
        .expect("disable at A");
    let waited = seen_within(&node_b, |app| app.status == ClientStatus::Disabled).await;
    // And a change made by hand, behind both nodes' backs.
    db.execute("UPDATE clients SET name = 'Renamed by hand' WHERE client_id = 'app_shared'")
        .await;
    let waited_by_hand = seen_within(&node_b, |app| app.name == "Renamed by hand").await;
    if backend == Backend::Sqlite {
        assert_eq!(
            (waited, waited_by_hand),
            (0, 0),
            "SQLite sees another connection's commit on the next read"
        );
    }
}

/// How many reads it took (after the first) until `node` saw `changed`; fails after 2 s.
async fn seen_within(node: &Arc<dyn Store>, changed: impl Fn(&Client) -> bool) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut reads = 0;
    loop {
        if changed(&app(node, "app_shared").await) {
            return reads;
        }
        assert!(
            Instant::now() < deadline,
            "the other node still serves the app as it was, after 2 s"
        );
        reads += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
