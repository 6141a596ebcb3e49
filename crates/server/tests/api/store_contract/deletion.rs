//! `DeletionStore`: an account deleted in one transaction, with everything hanging on it; its
//! apps kept and disabled; the audit log pseudonymized; its name held; the last root kept.

use super::oauth::{code, family, token};
use super::{PAGE, conflict, identity, new_client, new_session, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::Store;
use keyward_core::model::{ClientStatus, NewAuditEntry, Role, TokenKind, User};
use keyward_core::oauth::audience::ResourceGrants;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::{AccountDeletion, Conflict, DeletionOutcome};

on_both_backends!(
    a_deleted_account_takes_everything_of_its_own_and_keeps_its_apps_disabled,
    the_last_root_is_never_deleted,
);

const HOLD_UNTIL: i64 = 50_000;

fn deletion(user: &User, pseudonym: &str, actor: Option<i64>) -> AccountDeletion {
    let mut personal = vec![
        user.username.to_lowercase(),
        user.display_name.to_lowercase(),
    ];
    personal.extend(user.email.clone());
    AccountDeletion {
        user: user.id,
        pseudonym: pseudonym.into(),
        personal,
        email: user.email.clone(),
        hold_name: user.username.to_lowercase(),
        hold_until: HOLD_UNTIL,
        now: 2_000,
        app_note: "owner deleted".into(),
        record: NewAuditEntry {
            at: 2_000,
            actor_id: actor,
            action: "user.deleted",
            target: pseudonym.into(),
            detail: "{}".into(),
            ip: String::new(),
        },
    }
}

async fn audit(store: &dyn Store, actor: i64, action: &'static str, target: &str, detail: &str) {
    store
        .audit(NewAuditEntry {
            at: 1_500,
            actor_id: Some(actor),
            action,
            target: target.into(),
            detail: detail.into(),
            ip: "192.0.2.9".into(),
        })
        .await
        .expect("audit");
}

async fn live(store: &dyn Store, secret: &str) -> bool {
    store
        .access_context(&SecretHash::of(secret), 2_001)
        .await
        .expect("context")
        .is_some()
}

async fn a_deleted_account_takes_everything_of_its_own_and_keeps_its_apps_disabled(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let store = store.as_ref();
    let mut root = new_user("root");
    root.role = Role::Root;
    let root = store.create_user(root).await.expect("root");
    let mut alice = new_user("Alice");
    alice.email = Some("alice@example.com".into());
    alice.email_verified = true;
    let alice = store.create_user(alice).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    let scopes = ScopeSet::parse("profile").expect("scopes");

    // Alice's own: a session, a developer token, an identity, a consent, a code and tokens at
    // Bob's app; her app, approved, which Bob authorized and which has tokens of its own.
    store
        .create_session(new_session("alice-session", alice.id, 9_000))
        .await
        .expect("session");
    let dev = SecretHash::of("alice-dev");
    store
        .replace_developer_token(alice.id, &dev, 1_000)
        .await
        .expect("dev token");
    store
        .link_identity(identity("77", alice.id))
        .await
        .expect("identity");
    let bob_app = store
        .create_client(new_client("client_bob", bob.id, ClientStatus::Approved))
        .await
        .expect("bob app");
    let alice_app = store
        .create_client(new_client("client_alice", alice.id, ClientStatus::Approved))
        .await
        .expect("alice app");
    let rejected = store
        .create_client(new_client(
            "client_alice_2",
            alice.id,
            ClientStatus::Rejected,
        ))
        .await
        .expect("rejected app");
    for (user, app) in [(alice.id, bob_app.id), (bob.id, alice_app.id)] {
        store
            .save_consent(user, app, scopes, &ResourceGrants::default(), None, 1_000)
            .await
            .expect("consent");
    }
    store
        .create_code(code("alice-code", bob_app.id, alice.id, 9_000))
        .await
        .expect("code");
    let families = [
        (bob_app.id, Some(alice.id), "alice-at-bob"),
        (alice_app.id, Some(bob.id), "bob-at-alice"),
        (alice_app.id, None, "alice-app-client-credentials"),
        (bob_app.id, Some(bob.id), "bob-at-bob"),
    ];
    for (app, user, secret) in families {
        store
            .issue_family(family(app, user, None), &[token(secret, TokenKind::Access)])
            .await
            .expect("family");
        assert!(live(store, secret).await, "{secret}");
    }
    store
        .create_code(code("bob-code-at-alice", alice_app.id, bob.id, 9_000))
        .await
        .expect("code");

    // The audit log: by her, about her (with her address), and a top-up code numbered like her.
    audit(
        store,
        alice.id,
        "consent.granted",
        "client_bob",
        r#"{"scopes":"profile"}"#,
    )
    .await;
    let about = r#"{"email":"alice@example.com","quota":5}"#;
    audit(store, root.id, "user.updated", &alice.id.to_string(), about).await;
    audit(store, bob.id, "topup.redeemed", &alice.id.to_string(), "{}").await;

    let pseudonym = "deleted-user:contract";
    let outcome = store
        .delete_account(&deletion(&alice, pseudonym, Some(root.id)))
        .await
        .expect("delete");
    assert_eq!(
        outcome,
        DeletionOutcome::Deleted {
            disabled_apps: vec!["client_alice".into()]
        }
    );

    // Everything of her own is gone.
    assert!(store.user_by_id(alice.id).await.expect("read").is_none());
    assert!(store.user_by_login("alice").await.expect("read").is_none());
    let session = store
        .session_with_user(&SecretHash::of("alice-session"), 2_001, 60)
        .await
        .expect("read");
    assert!(session.is_none());
    assert!(
        store
            .user_by_developer_token(&dev)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .identity("github", "77")
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .consent(alice.id, bob_app.id)
            .await
            .expect("read")
            .is_none()
    );
    let alice_code = store
        .code_by_hash(&SecretHash::of("alice-code"))
        .await
        .expect("read");
    assert!(alice_code.is_none());
    assert!(!live(store, "alice-at-bob").await);
    // Her app is kept, disabled and ownerless; what it issued is dead, Bob's consent stays.
    let kept = store
        .client_by_pk(alice_app.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.status, ClientStatus::Disabled);
    assert_eq!(kept.owner_id, None);
    assert_eq!(kept.review_note, "owner deleted");
    let kept = store
        .client_by_pk(rejected.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept.status, ClientStatus::Rejected);
    assert!(!live(store, "bob-at-alice").await);
    assert!(!live(store, "alice-app-client-credentials").await);
    let bob_code = store
        .code_by_hash(&SecretHash::of("bob-code-at-alice"))
        .await
        .expect("read");
    assert!(bob_code.is_none());
    assert!(
        store
            .consent(bob.id, alice_app.id)
            .await
            .expect("read")
            .is_some()
    );
    // Others are untouched.
    assert!(live(store, "bob-at-bob").await);
    assert!(store.user_by_id(bob.id).await.expect("read").is_some());

    // The audit log keeps the pseudonym, not her.
    let log = store
        .list_audit(&keyward_core::store::AuditFilter::default(), PAGE)
        .await
        .expect("audit");
    let by_her = log
        .iter()
        .find(|e| e.action == "consent.granted")
        .expect("by her");
    assert_eq!(by_her.actor_id, None);
    assert_eq!(by_her.actor_pseudonym.as_deref(), Some(pseudonym));
    assert_eq!(by_her.ip, "");
    let about_her = log
        .iter()
        .find(|e| e.action == "user.updated")
        .expect("about her");
    assert_eq!(about_her.actor_id, Some(root.id));
    assert_eq!(about_her.target, pseudonym);
    assert!(!about_her.detail.contains("alice"), "{}", about_her.detail);
    let topup = log
        .iter()
        .find(|e| e.action == "topup.redeemed")
        .expect("topup");
    assert_eq!(topup.target, alice.id.to_string());
    let deleted = log
        .iter()
        .find(|e| e.action == "user.deleted")
        .expect("the deletion");
    assert_eq!(
        (deleted.actor_id, deleted.target.as_str()),
        (Some(root.id), pseudonym)
    );
    for entry in &log {
        let text = format!("{} {} {}", entry.target, entry.detail, entry.ip).to_lowercase();
        assert!(!text.contains("alice"), "{entry:?}");
    }

    // The name is held, without case, by every way an account is made, until the hold ends.
    assert_eq!(
        conflict(store.create_user(new_user("ALICE")).await),
        Conflict::Username
    );
    let upstream = store
        .create_user_with_identity(new_user("alice"), identity("78", 0))
        .await;
    assert_eq!(conflict(upstream), Conflict::Username);
    let mut later = new_user("alice");
    later.created_at = HOLD_UNTIL;
    store.create_user(later).await.expect("free after the hold");

    // Gone is gone.
    let again = store
        .delete_account(&deletion(&alice, "deleted-user:again", Some(root.id)))
        .await
        .expect("delete");
    assert_eq!(again, DeletionOutcome::NotFound);
}

async fn the_last_root_is_never_deleted(backend: Backend) {
    let (_db, store) = store(backend).await;
    let store = store.as_ref();
    let mut root = new_user("root");
    root.role = Role::Root;
    let root = store.create_user(root).await.expect("root");
    store
        .create_session(new_session("root-session", root.id, 9_000))
        .await
        .expect("session");
    let refused = store
        .delete_account(&deletion(&root, "deleted-user:r1", None))
        .await
        .expect("delete");
    assert_eq!(refused, DeletionOutcome::LastRoot);
    // Nothing changed.
    assert!(store.user_by_id(root.id).await.expect("read").is_some());
    let session = store
        .session_with_user(&SecretHash::of("root-session"), 2_001, 60)
        .await
        .expect("read");
    assert!(session.is_some());
    let mut held = new_user("ROOT");
    held.created_at = 2_000;
    assert_eq!(conflict(store.create_user(held).await), Conflict::Username);
    assert!(
        store
            .list_audit(&keyward_core::store::AuditFilter::default(), PAGE)
            .await
            .expect("audit")
            .is_empty()
    );

    // With a second root, either may go.
    let mut second = new_user("root2");
    second.role = Role::Root;
    let second = store.create_user(second).await.expect("second root");
    let outcome = store
        .delete_account(&deletion(&root, "deleted-user:r1", Some(second.id)))
        .await
        .expect("delete");
    assert!(matches!(outcome, DeletionOutcome::Deleted { .. }));
    let refused = store
        .delete_account(&deletion(&second, "deleted-user:r2", None))
        .await
        .expect("delete");
    assert_eq!(refused, DeletionOutcome::LastRoot);
}
