//! What the API suite does not reach: migrating a file again, the names conflicts carry, and a
//! write that rolls back while answering `Ok`.

use crate::SqliteStore;
use crate::db::first_row;
use keyward_core::billing::topup::NewTopUpCode;
use keyward_core::model::{Identity, NewUser, Role, UserStatus};
use keyward_core::secret::SecretHash;
use keyward_core::store::{
    AccountStore, BillingStore, FederationStore, MaintenanceStore, Page, StoreError, UserPatch,
};
use std::path::PathBuf;

/// A database file in a directory of its own, removed when dropped.
struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "keyward-store-sqlite-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Self { dir }
    }

    async fn open(&self) -> SqliteStore {
        let url = format!("sqlite://{}", self.dir.join("keyward.db").display());
        let store = SqliteStore::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        uuid: uuid::Uuid::new_v4(),
        username: name.into(),
        display_name: name.into(),
        email: None,
        email_verified: false,
        password_hash: None,
        role: Role::User,
        quota: 0,
        aff_code: format!("aff-{name}"),
        inviter_id: None,
        created_at: 1_000,
    }
}

fn identity(subject: &str, user_id: i64) -> Identity {
    Identity {
        provider: "github".into(),
        subject: subject.into(),
        user_id,
        display: String::new(),
        created_at: 1_000,
    }
}

fn conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Conflict { what }) => what,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_migrated_file_opens_again_with_its_data_and_history() {
    let db = TempDb::new();
    let store = db.open().await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    drop(store);

    let store = db.open().await;
    store.ping().await.expect("ping");
    let found = store.user_by_login("alice").await.expect("read");
    assert_eq!(found.map(|u| u.id), Some(alice.id));
    let applied: Option<i64> = store
        .db()
        .read(|c| {
            first_row(c, "SELECT COUNT(*) FROM _sqlx_migrations", [], |row| {
                row.get(0)
            })
        })
        .expect("history");
    let known = crate::MIGRATOR.iter().count();
    assert_eq!(applied, Some(i64::try_from(known).expect("count")));
}

#[tokio::test]
async fn an_in_memory_database_is_refused() {
    assert!(SqliteStore::connect("sqlite::memory:").await.is_err());
}

#[tokio::test]
async fn conflicts_name_the_rule_that_refused_the_write() {
    let db = TempDb::new();
    let store = db.open().await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");

    assert_eq!(
        conflict(store.create_user(new_user("Alice")).await),
        "username"
    );
    let mut same_code = new_user("carol");
    same_code.aff_code = alice.aff_code.clone();
    assert_eq!(conflict(store.create_user(same_code).await), "aff_code");

    store
        .link_identity(identity("1", alice.id))
        .await
        .expect("link");
    store
        .link_identity(identity("1", alice.id))
        .await
        .expect("link again");
    assert_eq!(
        conflict(store.link_identity(identity("1", bob.id)).await),
        "identity"
    );
    assert_eq!(
        conflict(store.link_identity(identity("2", alice.id)).await),
        "identity_provider"
    );

    // The account and its identity go in together or not at all.
    let taken = store
        .create_user_with_identity(new_user("dave"), identity("1", 0))
        .await;
    assert_eq!(conflict(taken), "identity");
    assert!(store.user_by_login("dave").await.expect("read").is_none());
    let dave = store
        .create_user_with_identity(new_user("dave"), identity("3", 0))
        .await
        .expect("dave");
    let linked = store.identity("github", "3").await.expect("read");
    assert_eq!(linked.map(|i| i.user_id), Some(dave.id));
}

#[tokio::test]
async fn a_code_claimed_for_a_disabled_account_stays_unused() {
    let db = TempDb::new();
    let store = db.open().await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    assert!(
        store
            .patch_user(bob.id, &disable, 1_000)
            .await
            .expect("patch")
    );
    let hash = SecretHash::of("code");
    let code = NewTopUpCode {
        hash,
        label: String::new(),
        amount: 25,
        created_by: alice.id,
        created_at: 1_000,
        expires_at: None,
    };
    store.create_topup_codes(&[code]).await.expect("codes");

    assert_eq!(
        store
            .redeem_topup_code(&hash, bob.id, 1_001)
            .await
            .expect("bob"),
        None
    );
    let listed = store
        .list_topup_codes(Page {
            offset: 0,
            limit: 10,
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].redeemed_by, None);

    let redeemed = store
        .redeem_topup_code(&hash, alice.id, 1_002)
        .await
        .expect("alice");
    assert_eq!(redeemed, Some((listed[0].id, 25)));
    let quota = store
        .user_by_id(alice.id)
        .await
        .expect("read")
        .map(|u| u.quota);
    assert_eq!(quota, Some(25));
    assert_eq!(
        store
            .redeem_topup_code(&hash, alice.id, 1_003)
            .await
            .expect("again"),
        None
    );
}
