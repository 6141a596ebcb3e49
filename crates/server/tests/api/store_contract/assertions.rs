//! `OAuthStore::use_assertion_jti` (RFC 7523 §3 item 7) and the app's authentication method and
//! JWK Set: a jti is used once per client until it expires, on every node; the purge removes
//! expired ones.

use super::{new_client, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{AuthMethod, ClientStatus};

on_both_backends!(
    rfc7523_3_a_jti_is_used_once_per_client_until_it_expires,
    rfc7523_an_apps_auth_method_and_jwks_are_stored,
);

async fn rfc7523_3_a_jti_is_used_once_per_client_until_it_expires(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let a = store
        .create_client(new_client("client_a", owner.id, ClientStatus::Approved))
        .await
        .expect("a");
    let b = store
        .create_client(new_client("client_b", owner.id, ClientStatus::Approved))
        .await
        .expect("b");
    let used = |client, jti: &'static str, exp, now| {
        let store = store.clone();
        async move {
            store
                .use_assertion_jti(client, jti, exp, now)
                .await
                .expect("use")
        }
    };
    assert!(used(a.id, "j1", 1_300, 1_000).await, "first use");
    assert!(!used(a.id, "j1", 1_300, 1_010).await, "replay");
    assert!(
        !used(a.id, "j1", 1_600, 1_299).await,
        "replay just before expiry"
    );
    // Another client's jti space is its own.
    assert!(used(b.id, "j1", 1_300, 1_010).await);
    // After its expiry the record is taken over (and can be replayed no more).
    assert!(used(a.id, "j1", 1_700, 1_300).await);
    assert!(!used(a.id, "j1", 1_700, 1_301).await);

    assert!(used(a.id, "j2", 1_100, 1_000).await);
    let removed = store.purge_expired(1_200, 900).await.expect("purge");
    assert!(removed >= 1);
    // j2 expired and was purged; j1 (until 1_700) was kept and still counts as used.
    assert!(!used(a.id, "j1", 1_700, 1_250).await);
    assert!(used(a.id, "j2", 1_400, 1_250).await);
    // Deleting the app deletes its jtis.
    assert!(store.delete_client(a.id).await.expect("delete"));
}

async fn rfc7523_an_apps_auth_method_and_jwks_are_stored(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = store.create_user(new_user("owner")).await.expect("owner");
    let mut new = new_client("client_k", owner.id, ClientStatus::Approved);
    new.auth_method = AuthMethod::PrivateKeyJwt;
    new.jwks = Some(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"abc"}]}"#.into());
    let created = store.create_client(new.clone()).await.expect("create");
    assert_eq!(created.auth_method, AuthMethod::PrivateKeyJwt);
    assert_eq!(created.jwks, new.jwks);
    let read = store
        .client_by_client_id("client_k")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.auth_method, AuthMethod::PrivateKeyJwt);
    assert_eq!(read.jwks, new.jwks);
    let plain = store
        .create_client(new_client("client_p", owner.id, ClientStatus::Approved))
        .await
        .expect("plain");
    assert_eq!(plain.auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(plain.jwks, None);
}
