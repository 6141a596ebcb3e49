//! `PasskeyStore`: user handles, passkeys as a way in, the counter's compare-and-set, and
//! ceremony challenges taken once.

use super::{identity, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{NewPasskey, PasskeyUse, WebauthnChallenge};
use keyward_core::secret::SecretHash;
use keyward_core::store::{Conflict, StoreError, Unlink};

on_both_backends!(
    a_user_handle_is_made_once_and_names_its_account,
    a_credential_is_registered_once_and_listed_per_account,
    a_use_moves_the_counter_once_from_what_was_read,
    the_last_way_in_is_never_removed,
    a_challenge_is_taken_once_for_its_purpose_while_live,
);

fn passkey(user_id: i64, credential: &[u8]) -> NewPasskey {
    NewPasskey {
        user_id,
        credential_id: credential.to_vec(),
        name: "Laptop".into(),
        credential: "{}".into(),
        sign_count: 0,
        created_at: 1_000,
    }
}

async fn a_user_handle_is_made_once_and_names_its_account(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let first = store
        .passkey_handle(alice.id, b"handle-a")
        .await
        .expect("a");
    let again = store.passkey_handle(alice.id, b"other").await.expect("a");
    assert_eq!(first, b"handle-a".to_vec());
    assert_eq!(again, first, "a second call keeps the first handle");
    store.passkey_handle(bob.id, b"handle-b").await.expect("b");
    assert_eq!(
        store
            .user_by_passkey_handle(b"handle-b")
            .await
            .expect("read"),
        Some(bob.id)
    );
    assert_eq!(
        store.user_by_passkey_handle(b"other").await.expect("read"),
        None
    );
}

async fn a_credential_is_registered_once_and_listed_per_account(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let id = store
        .add_passkey(passkey(alice.id, b"cred-1"))
        .await
        .expect("add");
    let taken = store.add_passkey(passkey(bob.id, b"cred-1")).await;
    assert!(
        matches!(
            taken,
            Err(StoreError::Conflict(Conflict::PasskeyCredential))
        ),
        "{taken:?}"
    );
    assert!(
        store
            .passkeys_of_user(bob.id)
            .await
            .expect("bob")
            .is_empty()
    );
    let found = store
        .passkey_by_credential_id(b"cred-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!((found.id, found.user_id), (id, alice.id));
    assert!(
        !store
            .rename_passkey(bob.id, id, "mine")
            .await
            .expect("rename")
    );
    assert!(
        store
            .rename_passkey(alice.id, id, "Phone")
            .await
            .expect("rename")
    );
    let listed = store.passkeys_of_user(alice.id).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "Phone");
    assert_eq!(listed[0].last_used_at, None);
}

async fn a_use_moves_the_counter_once_from_what_was_read(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let id = store
        .add_passkey(passkey(alice.id, b"cred"))
        .await
        .expect("add");
    let used = PasskeyUse {
        id,
        seen_count: 0,
        new_count: 5,
        at: 2_000,
    };
    assert!(
        store
            .record_passkey_use(used, "{\"v\":1}")
            .await
            .expect("use")
    );
    // A racing use read the same counter: it is refused and changes nothing.
    let racing = PasskeyUse {
        new_count: 6,
        at: 2_001,
        ..used
    };
    assert!(
        !store
            .record_passkey_use(racing, "{\"v\":2}")
            .await
            .expect("use")
    );
    let stored = store
        .passkey_by_credential_id(b"cred")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(stored.sign_count, 5);
    assert_eq!(stored.credential, "{\"v\":1}");
    assert_eq!(stored.last_used_at, Some(2_000));
}

async fn the_last_way_in_is_never_removed(backend: Backend) {
    let (_db, store) = store(backend).await;
    // An account made through GitHub: no password.
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    store
        .link_identity(identity("gh-alice", alice.id))
        .await
        .expect("link");
    let first = store
        .add_passkey(passkey(alice.id, b"one"))
        .await
        .expect("add");
    let second = store
        .add_passkey(passkey(alice.id, b"two"))
        .await
        .expect("add");
    // The passkeys keep it reachable: the identity may go.
    assert_eq!(
        store
            .unlink_identity_keeping_a_way_in(alice.id, "github")
            .await
            .expect("unlink"),
        Unlink::Unlinked
    );
    assert_eq!(
        store
            .delete_passkey_keeping_a_way_in(alice.id, first)
            .await
            .expect("remove"),
        Unlink::Unlinked
    );
    assert_eq!(
        store
            .delete_passkey_keeping_a_way_in(alice.id, second)
            .await
            .expect("remove"),
        Unlink::LastWayIn
    );
    assert_eq!(
        store
            .delete_passkey_keeping_a_way_in(alice.id, first)
            .await
            .expect("remove"),
        Unlink::NotLinked
    );
    assert_eq!(
        store.passkeys_of_user(alice.id).await.expect("list").len(),
        1
    );
    // Another's passkey is not found through this account.
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    assert_eq!(
        store
            .delete_passkey_keeping_a_way_in(bob.id, second)
            .await
            .expect("remove"),
        Unlink::NotLinked
    );
    assert!(!store.delete_passkey(bob.id, second).await.expect("admin"));
    // An admin may remove even the last one.
    assert!(store.delete_passkey(alice.id, second).await.expect("admin"));
}

async fn a_challenge_is_taken_once_for_its_purpose_while_live(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    for (secret, purpose) in [("a", "enrol"), ("b", "sign_in"), ("c", "enrol")] {
        store
            .put_webauthn_challenge(&WebauthnChallenge {
                id_hash: SecretHash::of(secret),
                purpose,
                user_id: (purpose == "enrol").then_some(alice.id),
                state: format!("state-{secret}"),
                expires_at: 1_300,
            })
            .await
            .expect("put");
    }
    let taken = store
        .take_webauthn_challenge(&SecretHash::of("a"), "enrol", 1_000)
        .await
        .expect("take");
    assert_eq!(taken, Some((Some(alice.id), "state-a".to_owned())));
    let again = store
        .take_webauthn_challenge(&SecretHash::of("a"), "enrol", 1_000)
        .await
        .expect("take");
    assert_eq!(again, None, "taken once");
    // Another purpose does not take it, and spends it.
    assert_eq!(
        store
            .take_webauthn_challenge(&SecretHash::of("b"), "enrol", 1_000)
            .await
            .expect("take"),
        None
    );
    assert_eq!(
        store
            .take_webauthn_challenge(&SecretHash::of("b"), "sign_in", 1_000)
            .await
            .expect("take"),
        None
    );
    // Expired.
    assert_eq!(
        store
            .take_webauthn_challenge(&SecretHash::of("c"), "enrol", 1_300)
            .await
            .expect("take"),
        None
    );
}
