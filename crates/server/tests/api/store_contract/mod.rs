//! The storage contract: every `Store` method called directly, on SQLite and PostgreSQL, against
//! what crates/core/src/store.rs documents (not-found is `Ok(None)`, the conflicts each uniqueness
//! rule names, conditional updates that take effect once). The SQLite-only cache tests stay in
//! crates/store-sqlite/src/tests.rs.

mod accounts;
mod admin_listings;
mod app_cache;
mod assertions;
mod billing;
mod deletion;
mod device;
mod dynamic_purge;
mod federation;
mod hot_reads;
mod keys_and_audit;
mod ledger;
mod lifecycle;
mod oauth;
mod passkeys;
mod resources;
mod schema;
mod self_registered;
mod spend_limits;
mod spending;

use crate::helpers::{Backend, TestDatabase};
use crate::on_both_backends;
use keyward_core::Store;
use keyward_core::model::{
    ClientStatus, GrantType, Identity, NewClient, NewSession, NewUser, Role, TokenKind,
};
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::{Conflict, Page, StoreError};
use std::sync::Arc;

/// A migrated store on a fresh database; keep the `TestDatabase` alive as long as the store.
pub(super) async fn store(backend: Backend) -> (TestDatabase, Arc<dyn Store>) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 4).await.expect("store");
    (db, store)
}

pub(super) fn new_user(name: &str) -> NewUser {
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

pub(super) fn identity(subject: &str, user_id: i64) -> Identity {
    Identity {
        provider: "github".into(),
        subject: subject.into(),
        user_id,
        display: format!("gh-{subject}"),
        created_at: 1_000,
    }
}

pub(super) fn new_client(client_id: &str, owner: i64, status: ClientStatus) -> NewClient {
    NewClient {
        client_id: client_id.into(),
        owner_id: Some(owner),
        name: client_id.into(),
        description: String::new(),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        id_token_alg: keyward_core::oidc::SigningAlg::Rs256,
        auth_method: keyward_core::model::AuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        kind: keyward_core::model::ClientKind::Console,
        registration_token_hash: None,
        metadata_expires_at: None,
        allowed_scopes: ScopeSet::parse("profile balance").expect("scopes"),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        public: false,
        logo_uri: None,
        client_uri: None,
        policy_uri: None,
        status,
        secret_hash: None,
        secret_revealed_at: None,
        created_at: 1_000,
    }
}

pub(super) fn new_session(secret: &str, user_id: i64, expires_at: i64) -> NewSession {
    NewSession {
        id_hash: SecretHash::of(secret),
        user_id,
        created_at: 1_000,
        expires_at,
        ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        mfa_pending: false,
    }
}

pub(super) const PAGE: Page = Page {
    offset: 0,
    limit: 50,
};

/// The rule a write broke; panics on anything but a conflict.
pub(super) fn conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Conflict {
    match result {
        Err(StoreError::Conflict(conflict)) => conflict,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

on_both_backends!(
    conflicts_name_the_rule_that_refused_the_write,
    a_failed_write_keeps_its_cause_for_the_logs_and_not_for_clients,
);

async fn conflicts_name_the_rule_that_refused_the_write(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");

    // Users: the name without case, the referral code, the uuid, a verified address.
    assert_eq!(
        conflict(store.create_user(new_user("Alice")).await),
        Conflict::Username
    );
    let mut same_code = new_user("carol");
    same_code.aff_code = alice.aff_code.clone();
    assert_eq!(
        conflict(store.create_user(same_code).await),
        Conflict::AffCode
    );
    let mut same_uuid = new_user("carol");
    same_uuid.uuid = alice.uuid;
    assert_eq!(conflict(store.create_user(same_uuid).await), Conflict::Uuid);
    store
        .set_verified_email(alice.id, "a@example.com", 1_000)
        .await
        .expect("verify");
    assert_eq!(
        conflict(
            store
                .set_verified_email(bob.id, "a@example.com", 1_000)
                .await
        ),
        Conflict::Email
    );
    let mut same_email = new_user("carol");
    same_email.email = Some("a@example.com".into());
    same_email.email_verified = true;
    assert_eq!(
        conflict(store.create_user(same_email).await),
        Conflict::Email
    );
    // An unverified address may repeat.
    let mut unverified = new_user("carol");
    unverified.email = Some("a@example.com".into());
    store.create_user(unverified).await.expect("carol");

    // Identities: linking again is a no-op; someone else's, or a second of the provider, is not.
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
        Conflict::Identity
    );
    assert_eq!(
        conflict(store.link_identity(identity("2", alice.id)).await),
        Conflict::IdentityProvider
    );
    // The account and its identity go in together or not at all.
    let taken = store
        .create_user_with_identity(new_user("dave"), identity("1", 0))
        .await;
    assert_eq!(conflict(taken), Conflict::Identity);
    assert!(store.user_by_login("dave").await.expect("read").is_none());
    let taken = store
        .create_user_with_identity(new_user("ALICE"), identity("9", 0))
        .await;
    assert_eq!(conflict(taken), Conflict::Username);
    assert!(store.identity("github", "9").await.expect("read").is_none());
    let dave = store
        .create_user_with_identity(new_user("dave"), identity("3", 0))
        .await
        .expect("dave");
    let linked = store.identity("github", "3").await.expect("read");
    assert_eq!(linked.map(|i| i.user_id), Some(dave.id));

    // Apps, codes, tokens, sessions, keys.
    let app = new_client("client_same", alice.id, ClientStatus::Pending);
    let app_pk = store.create_client(app.clone()).await.expect("app").id;
    assert_eq!(conflict(store.create_client(app).await), Conflict::ClientId);
    let code = oauth::code("c", app_pk, alice.id, 9_000);
    store.create_code(code.clone()).await.expect("code");
    assert_eq!(conflict(store.create_code(code).await), Conflict::Secret);
    let tokens = [oauth::token("t", TokenKind::Access)];
    let family = oauth::family(app_pk, Some(alice.id), None);
    store
        .issue_family(family.clone(), &tokens)
        .await
        .expect("token");
    assert_eq!(
        conflict(store.issue_family(family, &tokens).await),
        Conflict::Secret
    );
    let session = new_session("s", alice.id, 9_000);
    store
        .create_session(session.clone())
        .await
        .expect("session");
    assert_eq!(
        conflict(store.create_session(session).await),
        Conflict::Secret
    );
    store
        .insert_signing_key(keys_and_audit::key("k1"))
        .await
        .expect("key");
    assert_eq!(
        conflict(store.insert_signing_key(keys_and_audit::key("k1")).await),
        Conflict::SigningKey
    );
}

async fn a_failed_write_keeps_its_cause_for_the_logs_and_not_for_clients(backend: Backend) {
    let (_db, store) = store(backend).await;
    // A session of nobody: the foreign key refuses it, which is no uniqueness rule.
    let failed = store
        .create_session(new_session("orphan", 424_242, 9_000))
        .await
        .expect_err("no such user");
    let StoreError::Backend(_) = &failed else {
        panic!("expected a backend failure, got {failed:?}");
    };
    let cause = std::error::Error::source(&failed).expect("the database's error as the source");
    assert!(
        cause.to_string().to_lowercase().contains("foreign key"),
        "{cause}"
    );
    assert!(failed.to_string().starts_with("storage failure"));
}

/// A PostgreSQL test that cannot run must not count as passed: every PostgreSQL variant is
/// `#[ignore]`d (reported as skipped), every SQLite one runs. Asks this test binary itself.
#[test]
fn postgres_variants_are_skipped_not_passed_unless_asked_for() {
    let list = |ignored: bool| {
        let mut command = std::process::Command::new(std::env::current_exe().expect("exe"));
        command.args(["--list", "--format", "terse", "store_contract::"]);
        if ignored {
            command.arg("--ignored");
        }
        let out = command.output().expect("list tests");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let ignored = list(true);
    let all = list(false);
    let postgres = all
        .lines()
        .filter(|l| l.contains("::postgres: test"))
        .count();
    assert!(postgres > 10, "{all}");
    assert_eq!(
        ignored
            .lines()
            .filter(|l| l.contains("::postgres: test"))
            .count(),
        postgres,
        "{ignored}"
    );
    assert!(!ignored.contains("::sqlite: test"), "{ignored}");
}
