//! The purge of dynamic clients (RFC 7591) nobody ever used: only `dynamic` ones, only those
//! created at or before the cut-off, and only while no consent, no token family and no recorded
//! use exists; a console app is never touched.

use super::oauth::{family, token};
use super::{new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{ClientKind, ClientStatus, TokenKind};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;

on_both_backends!(only_unused_dynamic_clients_past_the_cut_off_are_purged);

async fn only_unused_dynamic_clients_past_the_cut_off_are_purged(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user(new_user("alice")).await.expect("user");
    let dynamic = |id: &str, created_at: i64| {
        let mut new = new_client(id, user.id, ClientStatus::Approved);
        new.owner_id = None;
        new.kind = ClientKind::Dynamic;
        new.registration_token_hash = Some(SecretHash::of(id));
        new.created_at = created_at;
        new
    };
    let unused = store
        .create_client(dynamic("unused", 1_000))
        .await
        .expect("c");
    let young = store
        .create_client(dynamic("young", 5_000))
        .await
        .expect("c");
    let consented = store
        .create_client(dynamic("consented", 1_000))
        .await
        .expect("c");
    let with_tokens = store
        .create_client(dynamic("tokens", 1_000))
        .await
        .expect("c");
    let touched = store
        .create_client(dynamic("touched", 1_000))
        .await
        .expect("c");
    let mut console = new_client("console", user.id, ClientStatus::Approved);
    console.created_at = 1_000;
    let console = store.create_client(console).await.expect("console");

    store
        .save_consent(
            user.id,
            consented.id,
            ScopeSet::parse("profile").expect("scopes"),
            &Default::default(),
            None,
            1_500,
        )
        .await
        .expect("consent");
    store
        .issue_family(
            family(with_tokens.id, Some(user.id), None),
            &[token("t", TokenKind::Access)],
        )
        .await
        .expect("family");
    store
        .touch_client(touched.id, 1_500, 60)
        .await
        .expect("touch");

    assert_eq!(
        store
            .purge_unused_dynamic_clients(999)
            .await
            .expect("purge"),
        0
    );
    assert_eq!(
        store
            .purge_unused_dynamic_clients(2_000)
            .await
            .expect("purge"),
        1
    );
    assert!(store.client_by_pk(unused.id).await.expect("read").is_none());
    for kept in [
        young.id,
        consented.id,
        with_tokens.id,
        touched.id,
        console.id,
    ] {
        assert!(
            store.client_by_pk(kept).await.expect("read").is_some(),
            "{kept}"
        );
    }
    // Done once: a second run finds nothing more.
    assert_eq!(
        store
            .purge_unused_dynamic_clients(2_000)
            .await
            .expect("purge"),
        0
    );
}
