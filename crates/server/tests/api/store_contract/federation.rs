//! `FederationStore`: upstream login states, identities, verified addresses, verification codes
//! and operator secrets.

use super::{identity, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{CodeCheck, UpstreamState};
use keyward_core::secret::SecretHash;
use keyward_core::store::{CodeAttempt, MailedCode, Unlink};

on_both_backends!(
    an_upstream_state_is_taken_once_and_only_while_live,
    identities_are_listed_and_unlinked_per_provider,
    verification_codes_work_once_and_die_after_the_last_allowed_miss,
    operator_secrets_are_stored_replaced_and_deleted,
);

fn state(secret: &str, bind_user: Option<i64>, expires_at: i64) -> UpstreamState {
    UpstreamState {
        state_hash: SecretHash::of(secret),
        browser_hash: SecretHash::of("browser"),
        provider: "github".into(),
        bind_user,
        aff_code: "AFF".into(),
        pkce_verifier: Some("verifier".into()),
        nonce: None,
        return_to: "/console".into(),
        created_at: 1_000,
        expires_at,
    }
}

async fn an_upstream_state_is_taken_once_and_only_while_live(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    store
        .create_upstream_state(state("login", None, 1_600))
        .await
        .expect("login");
    store
        .create_upstream_state(state("bind", Some(alice.id), 1_600))
        .await
        .expect("bind");
    let taken = store
        .take_upstream_state(&SecretHash::of("bind"), 1_100)
        .await
        .expect("take")
        .expect("live");
    assert!(taken.browser_hash == SecretHash::of("browser"));
    assert_eq!(
        (
            taken.bind_user,
            taken.aff_code.as_str(),
            taken.pkce_verifier.as_deref()
        ),
        (Some(alice.id), "AFF", Some("verifier"))
    );
    assert_eq!(taken.return_to, "/console");
    let again = store
        .take_upstream_state(&SecretHash::of("bind"), 1_100)
        .await
        .expect("take");
    assert!(again.is_none(), "a state works once");
    // An expired state is not given out, and is gone too.
    let late = store
        .take_upstream_state(&SecretHash::of("login"), 1_600)
        .await
        .expect("take");
    assert!(late.is_none());
    let early = store
        .take_upstream_state(&SecretHash::of("login"), 1_100)
        .await
        .expect("take");
    assert!(early.is_none());
}

async fn identities_are_listed_and_unlinked_per_provider(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    assert!(store.identity("github", "1").await.expect("read").is_none());
    store
        .link_identity(identity("1", alice.id))
        .await
        .expect("github");
    let mut google = identity("g1", alice.id);
    google.provider = "google".into();
    store.link_identity(google).await.expect("google");
    let found = store
        .identity("github", "1")
        .await
        .expect("read")
        .expect("identity");
    assert_eq!((found.user_id, found.display.as_str()), (alice.id, "gh-1"));
    let providers: Vec<_> = store
        .identities_of_user(alice.id)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.provider)
        .collect();
    assert_eq!(providers, vec!["github".to_owned(), "google".to_owned()]);

    let unlink = |provider: &'static str| {
        let store = store.clone();
        async move {
            store
                .unlink_identity_keeping_a_way_in(alice.id, provider)
                .await
                .expect("unlink")
        }
    };
    assert_eq!(unlink("github").await, Unlink::Unlinked);
    assert_eq!(unlink("github").await, Unlink::NotLinked);
    // Without a password, the one identity left is the account's last way in.
    assert_eq!(unlink("google").await, Unlink::LastWayIn);
    assert!(store.identity("github", "1").await.expect("read").is_none());
    assert_eq!(
        store
            .identities_of_user(alice.id)
            .await
            .expect("list")
            .len(),
        1
    );

    // A verified address finds its account; an unverified one does not.
    assert!(
        store
            .user_by_verified_email("a@example.com")
            .await
            .expect("read")
            .is_none()
    );
    store
        .set_verified_email(alice.id, "a@example.com", 2_000)
        .await
        .expect("verify");
    let found = store
        .user_by_verified_email("a@example.com")
        .await
        .expect("read");
    assert_eq!(
        found.map(|u| (u.id, u.email_verified)),
        Some((alice.id, true))
    );
}

async fn verification_codes_work_once_and_die_after_the_last_allowed_miss(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let (purpose, email) = ("verify", "a@example.com");
    let check = |attempt: &'static str, now| {
        let store = store.clone();
        async move {
            store
                .check_code(&CodeAttempt {
                    purpose,
                    email,
                    hash: &SecretHash::of(attempt),
                    max_attempts: 3,
                    now,
                })
                .await
                .expect("check")
        }
    };
    assert_eq!(check("123456", 1_000).await, CodeCheck::Missing);

    let put = |code: &'static str, expires_at| {
        let store = store.clone();
        async move {
            store
                .put_code(&MailedCode {
                    purpose,
                    email,
                    user: Some(alice.id),
                    hash: &SecretHash::of(code),
                    created_at: 1_000,
                    expires_at,
                })
                .await
                .expect("put");
        }
    };
    put("111111", 1_600).await;
    assert_eq!(check("000000", 1_100).await, CodeCheck::Wrong);
    assert_eq!(
        check("111111", 1_100).await,
        CodeCheck::Valid(Some(alice.id))
    );
    assert_eq!(
        check("111111", 1_100).await,
        CodeCheck::Missing,
        "a code works once"
    );

    // The third miss (of three allowed) deletes the code: the right one no longer works.
    put("222222", 1_600).await;
    assert_eq!(check("000000", 1_100).await, CodeCheck::Wrong);
    assert_eq!(check("000001", 1_100).await, CodeCheck::Wrong);
    assert_eq!(check("000002", 1_100).await, CodeCheck::Wrong);
    assert_eq!(check("222222", 1_100).await, CodeCheck::Missing);

    // A new code replaces the old one and its misses; an expired code is missing.
    put("333333", 1_600).await;
    put("444444", 1_600).await;
    assert_eq!(check("333333", 1_100).await, CodeCheck::Wrong);
    assert_eq!(check("444444", 1_600).await, CodeCheck::Missing);
    // Codes of another purpose or address are apart.
    store
        .put_code(&MailedCode {
            purpose: "reset",
            email,
            user: None,
            hash: &SecretHash::of("555555"),
            created_at: 1_000,
            expires_at: 1_600,
        })
        .await
        .expect("put");
    let other = store
        .check_code(&CodeAttempt {
            purpose: "reset",
            email,
            hash: &SecretHash::of("555555"),
            max_attempts: 3,
            now: 1_100,
        })
        .await
        .expect("check");
    assert_eq!(other, CodeCheck::Valid(None));
}

async fn operator_secrets_are_stored_replaced_and_deleted(backend: Backend) {
    let (_db, store) = store(backend).await;
    assert_eq!(store.operator_secret("smtp").await.expect("read"), None);
    store
        .put_operator_secret("smtp", b"one", 1_000)
        .await
        .expect("put");
    store
        .put_operator_secret("smtp", b"two", 2_000)
        .await
        .expect("replace");
    store
        .put_operator_secret("github", b"gh", 2_000)
        .await
        .expect("put");
    assert_eq!(
        store.operator_secret("smtp").await.expect("read"),
        Some(b"two".to_vec())
    );
    store.delete_operator_secret("smtp").await.expect("delete");
    store
        .delete_operator_secret("smtp")
        .await
        .expect("deleting nothing is fine");
    assert_eq!(store.operator_secret("smtp").await.expect("read"), None);
    assert_eq!(
        store.operator_secret("github").await.expect("read"),
        Some(b"gh".to_vec())
    );
}
