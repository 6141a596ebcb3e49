//! `AccountStore`: users, sessions, two-factor records, developer tokens, settings.

use super::{PAGE, new_session, new_user, store};
use crate::helpers::Backend;
use crate::on_both_backends;
use keyward_core::model::{Role, TwoFactorRecord, UserStatus};
use keyward_core::secret::SecretHash;
use keyward_core::store::{Page, UserListQuery, UserPatch};

on_both_backends!(
    users_are_found_by_id_login_and_referral_code_or_not_at_all,
    user_writes_apply_to_existing_users_only,
    sessions_are_live_until_they_expire_and_end_one_or_all_at_once,
    two_factor_steps_and_recovery_codes_are_used_once,
    developer_tokens_and_settings_are_replaced,
    throttle_counters_count_in_fixed_windows_and_clear,
);

async fn users_are_found_by_id_login_and_referral_code_or_not_at_all(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut new = new_user("Alice");
    new.email = Some("alice@example.com".into());
    new.email_verified = true;
    new.role = Role::Admin;
    new.quota = 7;
    let alice = store.create_user(new.clone()).await.expect("alice");
    assert_eq!(
        (alice.username.as_str(), alice.uuid, alice.quota, alice.role),
        ("Alice", new.uuid, 7, Role::Admin)
    );
    assert_eq!(alice.status, UserStatus::Enabled);
    let mut unverified = new_user("bob");
    unverified.email = Some("bob@example.com".into());
    let bob = store.create_user(unverified).await.expect("bob");

    assert_eq!(
        store.user_by_id(alice.id).await.expect("read"),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_id(999_999).await.expect("read"), None);
    // By the folded name, or by a verified address only.
    for login in [" ALICE ", "alice@example.com"] {
        let key = keyward_core::accounts::validate::login_key(login);
        let found = store.user_by_login(&key).await.expect("read");
        assert_eq!(found.map(|u| u.id), Some(alice.id), "{login}");
    }
    assert_eq!(
        store.user_by_login("bob@example.com").await.expect("read"),
        None
    );
    assert_eq!(store.user_by_login("nobody").await.expect("read"), None);
    let found = store.user_by_aff_code(&alice.aff_code).await.expect("read");
    assert_eq!(found.map(|u| u.id), Some(alice.id));
    assert_eq!(store.user_by_aff_code("nope").await.expect("read"), None);
    assert_eq!(store.count_admins().await.expect("count"), 1);

    // Newest first, searched by name, paged.
    let all = store
        .list_users(&UserListQuery::search(None), PAGE)
        .await
        .expect("list");
    assert_eq!(
        all.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![bob.id, alice.id]
    );
    let searched = store
        .list_users(&UserListQuery::search(Some("ali")), PAGE)
        .await
        .expect("search");
    assert_eq!(
        searched.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![alice.id]
    );
    let second = Page {
        offset: 1,
        limit: 1,
    };
    let paged = store
        .list_users(&UserListQuery::search(None), second)
        .await
        .expect("page");
    assert_eq!(
        paged.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![alice.id]
    );
}

async fn user_writes_apply_to_existing_users_only(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let missing = 999_999;

    let patch = UserPatch {
        quota: Some(50),
        used_quota: Some(5),
        level: Some(2),
        role: Some(Role::Admin),
        status: None,
        by: None,
    };
    assert!(
        store
            .patch_user(alice.id, &patch, 2_000)
            .await
            .expect("patch")
    );
    assert!(
        !store
            .patch_user(missing, &patch, 2_000)
            .await
            .expect("patch")
    );
    let read = store
        .user_by_id(alice.id)
        .await
        .expect("read")
        .expect("alice");
    assert_eq!(
        (
            read.quota,
            read.used_quota,
            read.level,
            read.role,
            read.status
        ),
        (50, 5, 2, Role::Admin, UserStatus::Enabled)
    );
    assert_eq!(store.count_admins().await.expect("count"), 1);

    assert!(
        store
            .set_password_hash(alice.id, "$argon2id$x", 2_000)
            .await
            .expect("set")
    );
    assert!(
        !store
            .set_password_hash(missing, "$argon2id$x", 2_000)
            .await
            .expect("set")
    );
    assert!(
        store
            .set_display_name(alice.id, "Alice A.", 2_000)
            .await
            .expect("set")
    );
    assert!(
        !store
            .set_display_name(missing, "x", 2_000)
            .await
            .expect("set")
    );
    store.record_login(alice.id, 2_500).await.expect("login");
    let read = store
        .user_by_id(alice.id)
        .await
        .expect("read")
        .expect("alice");
    assert_eq!(read.password_hash.as_deref(), Some("$argon2id$x"));
    assert_eq!(read.display_name, "Alice A.");
    assert_eq!(read.last_login_at, Some(2_500));

    // Quota changes are conditional: never below zero, never for a missing user.
    assert_eq!(
        store
            .adjust_quota(alice.id, -50, 3_000)
            .await
            .expect("debit"),
        Some(0)
    );
    assert_eq!(
        store
            .adjust_quota(alice.id, -1, 3_000)
            .await
            .expect("debit"),
        None
    );
    assert_eq!(
        store.adjust_quota(missing, 5, 3_000).await.expect("credit"),
        None
    );

    // Disabling ends every session in the same write.
    store
        .create_session(new_session("s1", alice.id, 9_000))
        .await
        .expect("session");
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..UserPatch::default()
    };
    assert!(
        store
            .patch_user(alice.id, &disable, 3_000)
            .await
            .expect("disable")
    );
    let live = store
        .session_with_user(&SecretHash::of("s1"), 3_000, 60)
        .await
        .expect("read");
    assert!(live.is_none());
}

async fn sessions_are_live_until_they_expire_and_end_one_or_all_at_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let bob = store.create_user(new_user("bob")).await.expect("bob");
    for secret in ["a1", "a2"] {
        store
            .create_session(new_session(secret, alice.id, 9_000))
            .await
            .expect("session");
    }
    store
        .create_session(new_session("b1", bob.id, 9_000))
        .await
        .expect("session");
    let mut pending = new_session("a-pending", alice.id, 9_000);
    pending.mfa_pending = true;
    store.create_session(pending).await.expect("pending");
    let hash = |s: &str| SecretHash::of(s);

    // Live until `expires_at`; `last_seen_at` moves only after `touch_after` seconds.
    let (session, user) = store
        .session_with_user(&hash("a1"), 1_030, 60)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        (session.user_id, user.id, session.last_seen_at),
        (alice.id, alice.id, 1_000)
    );
    let (session, _) = store
        .session_with_user(&hash("a1"), 1_100, 60)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(session.last_seen_at, 1_100);
    assert!(
        store
            .session_with_user(&hash("a1"), 9_000, 60)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .session_with_user(&hash("none"), 1_100, 60)
            .await
            .expect("read")
            .is_none()
    );

    // A session waiting for its second factor is only found as such.
    assert!(
        store
            .session_with_user(&hash("a-pending"), 1_100, 60)
            .await
            .expect("read")
            .is_none()
    );
    let found = store
        .pending_session_with_user(&hash("a-pending"), 1_100)
        .await
        .expect("read");
    assert_eq!(
        found.map(|(s, u)| (s.mfa_pending, u.id)),
        Some((true, alice.id))
    );
    assert!(
        store
            .pending_session_with_user(&hash("a1"), 1_100)
            .await
            .expect("read")
            .is_none()
    );

    let listed = store
        .list_user_sessions(alice.id, 1_200)
        .await
        .expect("list");
    let mut listed: Vec<_> = listed.into_iter().map(|s| s.id_hash).collect();
    listed.sort_by_key(|h| h.0);
    let mut expected = vec![hash("a1"), hash("a2")];
    expected.sort_by_key(|h| h.0);
    assert!(listed == expected, "the live, fully signed-in sessions");

    // One session, only the owner's.
    assert!(
        !store
            .delete_user_session(bob.id, &hash("a2"))
            .await
            .expect("delete")
    );
    assert!(
        store
            .delete_user_session(alice.id, &hash("a2"))
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_user_session(alice.id, &hash("a2"))
            .await
            .expect("delete")
    );
    store.delete_session(&hash("a1")).await.expect("delete");
    store
        .delete_session(&hash("a1"))
        .await
        .expect("deleting nothing is fine");
    assert!(
        store
            .session_with_user(&hash("a1"), 1_200, 60)
            .await
            .expect("read")
            .is_none()
    );
    // All of a user's, and nobody else's.
    store
        .create_session(new_session("a3", alice.id, 9_000))
        .await
        .expect("session");
    assert_eq!(
        store
            .delete_user_sessions(alice.id)
            .await
            .expect("delete all"),
        2
    );
    assert!(
        store
            .session_with_user(&hash("b1"), 1_200, 60)
            .await
            .expect("read")
            .is_some()
    );
}

async fn two_factor_steps_and_recovery_codes_are_used_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let empty = store.two_factor(alice.id).await.expect("read");
    assert_eq!((empty.secret, empty.enabled), (None, false));
    let missing = store
        .two_factor(999_999)
        .await
        .expect("a missing user has none");
    assert!(!missing.enabled);

    let record = TwoFactorRecord {
        secret: Some(vec![9, 8, 7]),
        enabled: true,
        last_step: 10,
        recovery_codes: "[\"a\",\"b\"]".into(),
    };
    store
        .set_two_factor(alice.id, &record, 2_000)
        .await
        .expect("set");
    let read = store.two_factor(alice.id).await.expect("read");
    assert_eq!(
        (
            read.secret,
            read.enabled,
            read.last_step,
            read.recovery_codes.as_str()
        ),
        (Some(vec![9, 8, 7]), true, 10, "[\"a\",\"b\"]")
    );
    let user = store
        .user_by_id(alice.id)
        .await
        .expect("read")
        .expect("alice");
    assert!(user.totp_enabled);

    // A step is accepted once, and never an earlier one.
    assert!(store.advance_totp_step(alice.id, 11).await.expect("step"));
    assert!(!store.advance_totp_step(alice.id, 11).await.expect("replay"));
    assert!(!store.advance_totp_step(alice.id, 5).await.expect("earlier"));
    // The list is swapped only from what the caller read.
    assert!(
        store
            .replace_recovery_codes(alice.id, "[\"a\",\"b\"]", "[\"b\"]")
            .await
            .expect("swap")
    );
    assert!(
        !store
            .replace_recovery_codes(alice.id, "[\"a\",\"b\"]", "[\"a\"]")
            .await
            .expect("stale swap")
    );
    assert_eq!(
        store
            .two_factor(alice.id)
            .await
            .expect("read")
            .recovery_codes,
        "[\"b\"]"
    );
}

async fn developer_tokens_and_settings_are_replaced(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = store.create_user(new_user("alice")).await.expect("alice");
    let (old, new) = (SecretHash::of("dev-old"), SecretHash::of("dev-new"));
    assert!(
        store
            .user_by_developer_token(&old)
            .await
            .expect("read")
            .is_none()
    );
    store
        .replace_developer_token(alice.id, &old, 1_000)
        .await
        .expect("issue");
    let found = store.user_by_developer_token(&old).await.expect("read");
    assert_eq!(found.map(|u| u.id), Some(alice.id));
    store
        .replace_developer_token(alice.id, &new, 2_000)
        .await
        .expect("replace");
    assert!(
        store
            .user_by_developer_token(&old)
            .await
            .expect("read")
            .is_none()
    );
    let found = store.user_by_developer_token(&new).await.expect("read");
    assert_eq!(found.map(|u| u.id), Some(alice.id));

    // The settings document is replaced only from the version the writer read.
    assert_eq!(store.load_settings().await.expect("load"), None);
    let swap = |expected: Option<&'static str>, json: &'static str| {
        let store = store.clone();
        async move {
            store
                .swap_settings(expected, json, 1_000)
                .await
                .expect("swap")
        }
    };
    assert!(swap(None, "{\"a\":1}").await);
    assert!(!swap(None, "{\"a\":9}").await, "one is stored already");
    assert!(swap(Some("{\"a\":1}"), "{\"a\":2}").await);
    assert!(
        !swap(Some("{\"a\":1}"), "{\"a\":3}").await,
        "read before the last change"
    );
    assert_eq!(
        store.load_settings().await.expect("load").as_deref(),
        Some("{\"a\":2}")
    );
}

async fn throttle_counters_count_in_fixed_windows_and_clear(backend: Backend) {
    let (_db, store) = store(backend).await;
    assert_eq!(
        store.throttle_count("k", 60, 1_000).await.expect("read"),
        None
    );
    assert_eq!(store.throttle_hit("k", 60, 1_000).await.expect("hit"), 1);
    assert_eq!(store.throttle_hit("k", 60, 1_059).await.expect("hit"), 2);
    assert_eq!(
        store.throttle_hit("other", 60, 1_059).await.expect("hit"),
        1
    );
    assert_eq!(
        store.throttle_count("k", 60, 1_059).await.expect("read"),
        Some((2, 1_000))
    );
    // The window ends `window` seconds after it started; the next hit starts a new one.
    assert_eq!(
        store.throttle_count("k", 60, 1_060).await.expect("read"),
        None
    );
    assert_eq!(store.throttle_hit("k", 60, 1_060).await.expect("hit"), 1);
    assert_eq!(
        store.throttle_count("k", 60, 1_061).await.expect("read"),
        Some((1, 1_060))
    );
    store.throttle_clear("k").await.expect("clear");
    store
        .throttle_clear("never")
        .await
        .expect("clearing nothing is fine");
    assert_eq!(
        store.throttle_count("k", 60, 1_061).await.expect("read"),
        None
    );
    assert_eq!(
        store
            .throttle_count("other", 60, 1_061)
            .await
            .expect("read"),
        Some((1, 1_059))
    );
}
