//! The storage contract, exercised directly on each backend where HTTP cannot reach: expiry
//! purges and atomic balance changes.

use crate::helpers::{Backend, TestDatabase};
use crate::on_both_backends;
use keyward_core::model::{AuthCode, ClientStatus, GrantType, NewClient, NewUser, Role};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;

on_both_backends!(
    expired_sessions_codes_and_tokens_are_purged,
    quota_changes_are_atomic_and_never_go_below_zero,
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
            owner_id: user,
            name: "n".into(),
            description: String::new(),
            redirect_uris: vec!["https://a.example/cb".into()],
            post_logout_redirect_uris: vec![],
            id_token_alg: keyward_core::oidc::SigningAlg::Rs256,
            allowed_scopes: ScopeSet::parse("profile").expect("scopes"),
            grant_types: vec![GrantType::AuthorizationCode],
            public: false,
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
