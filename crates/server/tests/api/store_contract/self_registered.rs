//! Self-registered clients (metadata documents, RFC 7591): stored without an owner, their
//! metadata replaced whole (and only theirs, never a console app's), their last use recorded at
//! most once per interval.

use super::{new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{AuthMethod, ClientKind, ClientMetadata, ClientStatus, GrantType};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;

on_both_backends!(
    a_self_registered_client_has_no_owner_and_its_metadata_is_replaced,
    a_clients_last_use_is_written_at_most_once_per_interval,
    clients_of_a_kind_are_listed_most_recently_seen_first_with_their_consents,
);

fn metadata(name: &str) -> ClientMetadata {
    ClientMetadata {
        name: name.into(),
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        grant_types: vec![GrantType::AuthorizationCode],
        allowed_scopes: ScopeSet::parse("openid profile").expect("scopes"),
        public: true,
        auth_method: AuthMethod::None,
        jwks: None,
        jwks_uri: Some("https://agent.example/jwks.json".into()),
        metadata_expires_at: Some(5_000),
    }
}

async fn a_self_registered_client_has_no_owner_and_its_metadata_is_replaced(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let mut new = new_client(
        "https://agent.example/client.json",
        owner.id,
        ClientStatus::Approved,
    );
    new.owner_id = None;
    new.kind = ClientKind::MetadataDocument;
    new.registration_token_hash = Some(SecretHash::of("rat"));
    new.metadata_expires_at = Some(2_000);
    let agent = store.create_client(new).await.expect("agent");
    assert_eq!(agent.owner_id, None);
    assert_eq!(agent.kind, ClientKind::MetadataDocument);
    assert_eq!(agent.metadata_expires_at, Some(2_000));
    assert!(agent.registration_token_hash.is_some());

    assert!(
        store
            .update_client_metadata(agent.id, &metadata("Agent 2"), 3_000)
            .await
            .expect("update")
    );
    let found = store
        .client_by_client_id(&agent.client_id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.name, "Agent 2");
    assert_eq!(found.redirect_uris, vec!["http://127.0.0.1/callback"]);
    assert_eq!(found.grant_types, vec![GrantType::AuthorizationCode]);
    assert_eq!((found.public, found.auth_method), (true, AuthMethod::None));
    assert_eq!(
        found.jwks_uri.as_deref(),
        Some("https://agent.example/jwks.json")
    );
    assert_eq!(
        (found.metadata_expires_at, found.updated_at),
        (Some(5_000), 3_000)
    );

    let console = store
        .create_client(new_client(
            "client_console",
            owner.id,
            ClientStatus::Approved,
        ))
        .await
        .expect("console app");
    assert!(
        !store
            .update_client_metadata(console.id, &metadata("Hijacked"), 3_000)
            .await
            .expect("update"),
        "a console app's metadata is its developer's"
    );
    let console = store
        .client_by_pk(console.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(console.name, "client_console");
}

async fn a_clients_last_use_is_written_at_most_once_per_interval(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let app = store
        .create_client(new_client("client_a", owner.id, ClientStatus::Approved))
        .await
        .expect("app");
    assert_eq!(app.last_used_at, None);
    let last_used = |store: std::sync::Arc<dyn keyward_core::store::Store>| async move {
        store
            .client_by_pk(app.id)
            .await
            .expect("read")
            .expect("found")
            .last_used_at
    };
    store.touch_client(app.id, 1_000, 60).await.expect("touch");
    assert_eq!(last_used(store.clone()).await, Some(1_000));
    store.touch_client(app.id, 1_030, 60).await.expect("touch");
    assert_eq!(last_used(store.clone()).await, Some(1_000), "within 60 s");
    store.touch_client(app.id, 1_060, 60).await.expect("touch");
    assert_eq!(last_used(store.clone()).await, Some(1_060));
}

async fn clients_of_a_kind_are_listed_most_recently_seen_first_with_their_consents(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let nora = store.create_user(new_user("nora")).await.expect("nora");
    let document = |url: &str| {
        let mut new = new_client(url, owner.id, ClientStatus::Approved);
        new.owner_id = None;
        new.kind = ClientKind::MetadataDocument;
        new
    };
    let old = store
        .create_client(document("https://a.example/c.json"))
        .await
        .expect("a");
    let seen = store
        .create_client(document("https://b.example/c.json"))
        .await
        .expect("b");
    store
        .create_client(new_client(
            "client_console",
            owner.id,
            ClientStatus::Approved,
        ))
        .await
        .expect("console app");
    store.touch_client(seen.id, 5_000, 60).await.expect("touch");
    for user in [owner.id, nora.id] {
        store
            .save_consent(
                user,
                seen.id,
                ScopeSet::EMPTY,
                &Default::default(),
                None,
                5_000,
            )
            .await
            .expect("consent");
    }
    let listed = store
        .clients_of_kind(
            ClientKind::MetadataDocument,
            keyward_core::store::Page {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .expect("list");
    let summary: Vec<(String, i64)> = listed
        .iter()
        .map(|(c, n)| (c.client_id.clone(), *n))
        .collect();
    assert_eq!(
        summary,
        vec![(seen.client_id.clone(), 2), (old.client_id.clone(), 0)]
    );
}
