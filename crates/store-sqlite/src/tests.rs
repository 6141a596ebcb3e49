//! What only SQLite has: migrating a file again, in-memory databases refused, and the cache of
//! token contexts. The storage contract both backends share is in the `api` tests
//! (`crates/server/tests/api/store_contract.rs`).

use crate::SqliteStore;
use crate::db::first_row;
use keyward_core::model::{NewUser, Role, UserStatus};
use keyward_core::secret::SecretHash;
use keyward_core::store::{AccountStore, MaintenanceStore, UserPatch};
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

/// Whether `hash` is a live access token at `now`, as the token path reads it.
async fn has_live_context(store: &SqliteStore, hash: &SecretHash, now: i64) -> bool {
    use keyward_core::store::OAuthStore;
    let context = store.access_context(hash, now).await.expect("read");
    context.is_some()
}

/// An app and a live access token of `user` for it; returns the token's hash.
async fn app_and_token(store: &SqliteStore, user: i64) -> (i64, SecretHash) {
    use keyward_core::model::{ClientStatus, GrantType, NewClient, NewFamily, NewToken, TokenKind};
    use keyward_core::oauth::scope::ScopeSet;
    use keyward_core::oidc::SigningAlg;
    use keyward_core::store::OAuthStore;
    let client = store
        .create_client(NewClient {
            client_id: format!("client-{}", uuid::Uuid::new_v4().simple()),
            owner_id: Some(user),
            name: "app".into(),
            description: String::new(),
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            allowed_scopes: ScopeSet::parse("profile balance").expect("scopes"),
            grant_types: vec![GrantType::AuthorizationCode],
            public: false,
            id_token_alg: SigningAlg::Rs256,
            auth_method: keyward_core::model::AuthMethod::ClientSecretBasic,
            jwks: None,
            jwks_uri: None,
            kind: keyward_core::model::ClientKind::Console,
            registration_token_hash: None,
            metadata_expires_at: None,
            logo_uri: None,
            client_uri: None,
            policy_uri: None,
            status: ClientStatus::Approved,
            secret_hash: Some(SecretHash::of("secret")),
            secret_revealed_at: None,
            created_at: 1_000,
        })
        .await
        .expect("client");
    let hash = SecretHash::of(&format!("token-{}", uuid::Uuid::new_v4().simple()));
    let family = NewFamily {
        client: client.id,
        user_id: Some(user),
        code_hash: None,
        auth_time: 1_000,
        created_at: 1_000,
    };
    let token = NewToken {
        hash,
        kind: TokenKind::Access,
        scopes: ScopeSet::parse("profile balance").expect("scopes"),
        resources: Default::default(),
        expires_at: 1_000_000,
    };
    store.issue_family(family, &[token]).await.expect("token");
    (client.id, hash)
}

#[tokio::test]
async fn cached_token_contexts_follow_every_write_that_changes_them() {
    use keyward_core::model::{ClientPatch, ClientStatus};
    use keyward_core::store::OAuthStore;
    let db = TempDb::new();
    let store = db.open().await;
    let user = store.create_user(new_user("carol")).await.expect("user").id;
    let (_, hash) = app_and_token(&store, user).await;
    let context = |store: &SqliteStore| {
        let store = store.clone();
        async move { store.access_context(&hash, 2_000).await.expect("read") }
    };

    let first = context(&store).await.expect("live token");
    assert_eq!(first.user.as_ref().map(|u| u.quota), Some(0));
    // Served from the cache now; a balance change must show at once.
    store.adjust_quota(user, 500, 2_000).await.expect("quota");
    let funded = context(&store).await.expect("still live");
    assert_eq!(funded.user.as_ref().map(|u| u.quota), Some(500));
    // Expiry is checked on every hit, not only when read from the file.
    assert!(!has_live_context(&store, &hash, 1_000_001).await);

    // The user disabled: refused at once, and for good (her tokens die with her account).
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    store
        .patch_user(user, &disable, 2_000)
        .await
        .expect("disable");
    assert!(context(&store).await.is_none());
    let enable = UserPatch {
        status: Some(UserStatus::Enabled),
        ..UserPatch::default()
    };
    store
        .patch_user(user, &enable, 2_000)
        .await
        .expect("enable");
    assert!(context(&store).await.is_none());

    // The app disabled: refused at once, and for good (its tokens die with it).
    let (client, hash) = app_and_token(&store, user).await;
    let context = |store: &SqliteStore| {
        let store = store.clone();
        async move { store.access_context(&hash, 2_000).await.expect("read") }
    };
    assert!(context(&store).await.is_some());
    let patch = |status| ClientPatch {
        status: Some(status),
        ..ClientPatch::default()
    };
    store
        .patch_client(client, &patch(ClientStatus::Disabled), 2_000)
        .await
        .expect("disable app");
    assert!(context(&store).await.is_none());
    store
        .patch_client(client, &patch(ClientStatus::Approved), 2_000)
        .await
        .expect("approve app");
    assert!(context(&store).await.is_none());

    // Another process (the CLI, another node) revokes a token on the same file: seen by the
    // next read here, without any write of this process.
    let (_, hash) = app_and_token(&store, user).await;
    assert!(has_live_context(&store, &hash, 2_000).await);
    let other = db.open().await;
    other.revoke_token(&hash, 2_000).await.expect("revoke");
    assert!(!has_live_context(&store, &hash, 2_000).await);
}

#[tokio::test]
async fn a_revocation_in_this_process_is_seen_by_the_next_read() {
    use keyward_core::store::OAuthStore;
    let db = TempDb::new();
    let store = db.open().await;
    let user = store.create_user(new_user("dave")).await.expect("user").id;
    let (_, hash) = app_and_token(&store, user).await;
    assert!(has_live_context(&store, &hash, 2_000).await);
    store.revoke_token(&hash, 2_000).await.expect("revoke");
    assert!(!has_live_context(&store, &hash, 2_000).await);
}

/// Migrations 0010 and 0012 rebuild the clients table (to make owner_id nullable, then
/// ON DELETE SET NULL): an app's consents, codes and tokens, which reference it with ON DELETE
/// CASCADE, must survive the rebuilds.
#[tokio::test]
async fn rebuilding_the_clients_table_keeps_what_references_it() {
    use keyward_core::model::ClientKind;
    use keyward_core::store::OAuthStore;
    use sqlx::ConnectOptions as _;
    let db = TempDb::new();
    let url = format!("sqlite://{}", db.dir.join("keyward.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    let mut connection = store.options.connect().await.expect("sqlx connection");
    crate::MIGRATOR
        .run_to(9, &mut connection)
        .await
        .expect("migrate to 0009");
    drop(connection);
    // Written as 0009 knew users (`create_user` needs the holds of 0012).
    let alice = store
        .db()
        .write(|tx| {
            crate::db::execute(
                tx,
                "INSERT INTO users (uuid, username, username_lower, display_name, role, \
                 aff_code, created_at, updated_at) \
                 VALUES ('00000000-0000-0000-0000-000000000001', 'alice', 'alice', 'alice', 1, \
                 'aff-alice', 1, 1)",
                [],
            )?;
            Ok(tx.last_insert_rowid())
        })
        .await
        .expect("alice");
    store
        .db()
        .write(move |tx| {
            crate::db::execute(
                tx,
                "INSERT INTO clients (id, client_id, owner_id, name, redirect_uris, allowed_scopes, \
                 grant_types, status, created_at, updated_at) VALUES (5, 'client_old', ?1, 'Old', \
                 '[\"https://a.example/cb\"]', 'profile', 'authorization_code', 'approved', 1, 1)",
                [alice],
            )?;
            crate::db::execute(
                tx,
                "INSERT INTO consents (user_id, client, scopes, created_at, updated_at) \
                 VALUES (?1, 5, 2, 1, 1)",
                [alice],
            )?;
            Ok(())
        })
        .await
        .expect("data of 0009");

    store.migrate().await.expect("migrate to the end");
    let client = store
        .client_by_pk(5)
        .await
        .expect("read")
        .expect("the app is still there");
    assert_eq!(
        (client.owner_id, client.kind),
        (Some(alice), ClientKind::Console)
    );
    let consent = store.consent(alice, 5).await.expect("read");
    assert!(consent.is_some(), "the consent survived the rebuild");
    let foreign_keys: Option<i64> = store
        .db()
        .read(|c| first_row(c, "PRAGMA foreign_keys", [], |row| row.get(0)))
        .expect("pragma");
    assert_eq!(foreign_keys, Some(1), "foreign keys are enforced again");
}

/// How many times the log has started again: the WAL header's checkpoint sequence number
/// (bytes 12..16), which each start increments.
fn log_starts(db_file: &std::path::Path) -> u32 {
    let header = std::fs::read(crate::db::log_path(db_file)).expect("the log file");
    u32::from_be_bytes(header[12..16].try_into().expect("a WAL header"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_steady_writes_the_checkpointer_starts_the_log_again() {
    // SQLite starts the log again only after a checkpoint that copied every frame. One that
    // new commits overtake never does; the log then grew until a request's commit ran the
    // backstop checkpoint itself (here turned off, so only the checkpointer can do it).
    let temp = TempDb::new();
    let store = std::sync::Arc::new(temp.open().await);
    store
        .db()
        .write(|tx| {
            tx.execute_batch("PRAGMA wal_autocheckpoint = 0")
                .map_err(crate::backend)
        })
        .await
        .expect("backstop off");
    let db_file = temp.dir.join("keyward.db");
    let before = log_starts(&db_file);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                while std::time::Instant::now() < until {
                    store
                        .db()
                        .append(|tx| {
                            crate::db::execute(
                                tx,
                                "INSERT INTO audit_log (at, action) VALUES (1, 'test.write')",
                                [],
                            )
                        })
                        .await
                        .expect("write");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let starts = log_starts(&db_file) - before;
    assert!(
        starts >= 2,
        "the log started again {starts} times in 2 s of steady writes (checkpoints every 200 ms)"
    );
}
