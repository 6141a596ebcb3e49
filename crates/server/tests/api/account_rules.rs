//! Account rules that must hold under concurrency and at the edges: an account keeps a way in,
//! codes asked for an address do not block its owner's password reset, quotas stay in range.

use crate::admin::patch;
use crate::helpers::{Backend, TestApp, TestDatabase, get_json, post_json, test_config};
use crate::login_module::{code_in, env, wait_for_mail};
use crate::on_both_backends;
use crate::races::new_user;
use crate::topup::{generate, quota};
use keyward_core::billing::MAX_QUOTA;
use keyward_core::model::{Identity, NewSession};
use keyward_core::secret::SecretHash;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    two_unlinks_at_once_leave_a_passwordless_account_one_way_in,
    codes_asked_for_a_taken_address_do_not_block_its_password_reset,
    quotas_stay_in_range_and_a_full_one_refuses_top_ups,
);

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        .try_into()
        .expect("i64")
}

/// Accounts made through two upstream providers, with no password: of two unlinks sent at
/// once, exactly one goes through; the other is told it is the last way in. Several accounts,
/// so that the race is run more than once.
async fn two_unlinks_at_once_leave_a_passwordless_account_one_way_in(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 4).await.expect("store");
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let now = unix_now();
    for round in 0..6 {
        let identity = |provider: &str, user_id: i64| Identity {
            provider: provider.into(),
            subject: format!("{provider}-{round}"),
            user_id,
            display: format!("{provider} user"),
            created_at: now,
        };
        let user = store
            .create_user_with_identity(
                new_user(&format!("two-ways-{round}")),
                identity("github", 0),
            )
            .await
            .expect("user");
        store
            .link_identity(identity("oidc", user.id))
            .await
            .expect("second identity");
        let cookie = format!("ses_unlinkrace{round}{}", uuid::Uuid::new_v4().simple());
        store
            .create_session(NewSession {
                id_hash: SecretHash::of(&cookie),
                user_id: user.id,
                created_at: now,
                expires_at: now + 3600,
                ip: "127.0.0.1".into(),
                user_agent: "test".into(),
                mfa_pending: false,
            })
            .await
            .expect("session");
        let unlink = |provider: &str| {
            app.client()
                .delete(app.url(&format!("/api/user/identities/{provider}")))
                .header("cookie", format!("keyward_session={cookie}"))
                .send()
        };
        let (a, b) = tokio::join!(unlink("github"), unlink("oidc"));
        let mut unlinked = 0;
        for res in [a, b] {
            let body: serde_json::Value = res.expect("unlink").json().await.expect("json");
            if body["success"] == true {
                unlinked += 1;
            } else {
                let message = body["message"].as_str().unwrap_or_default();
                assert!(message.contains("唯一的登录方式"), "{body}");
            }
        }
        assert_eq!(unlinked, 1, "round {round}");
        let left = store.identities_of_user(user.id).await.expect("identities");
        assert_eq!(left.len(), 1, "round {round}");
    }
    // Each unlink is in the audit log.
    let admin = app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &app.url("/api/admin/audit?action=identity.unlinked"),
    )
    .await;
    assert_eq!(
        audit.to_string().matches("identity.unlinked").count(),
        6,
        "{audit}"
    );
}

/// Codes asked for someone's address (which is taken, so no mail goes out) use the code
/// budget of the address only: its owner's reset link still goes out.
async fn codes_asked_for_a_taken_address_do_not_block_its_password_reset(backend: Backend) {
    let env = env(backend, json!({"mail_max_per_address": 3})).await;
    let (owner, _) = env.app.user("reset-owner").await;
    get_json(
        &owner,
        &env.app.url("/api/verification?email=owner@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    let (_, bound) = get_json(
        &owner,
        &env.app.url(&format!(
            "/api/oauth/email/bind?email=owner@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(bound["success"], true, "{bound}");

    let stranger = env.app.client();
    let mut refused = false;
    for _ in 0..5 {
        let (status, _) = get_json(
            &stranger,
            &env.app.url("/api/verification?email=owner@example.com"),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "codes for the address are limited");

    let (status, body) = get_json(
        &stranger,
        &env.app.url("/api/reset_password?email=owner@example.com"),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    let mails = wait_for_mail(&env, 2).await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].contains("/user/reset?"), "{}", mails[1]);
}

/// No quota above `MAX_QUOTA` can be set (admin edit, new-user setting), and a top-up that
/// would pass it is refused with a clear message, leaving the code unused; the store refuses
/// sums that would overflow instead of failing or turning the column into a REAL.
async fn quotas_stay_in_range_and_a_full_one_refuses_top_ups(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let admin = app.admin().await;
    let (user, id) = app.user("rich").await;

    let (_, body) = patch(&admin, &app, id, json!({"quota": i64::MAX})).await;
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("额度不能超过"),
        "{body}"
    );
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"quota_for_new_user": i64::MAX}))
        .send()
        .await
        .expect("settings");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["success"], false, "{body}");

    let (_, body) = patch(&admin, &app, id, json!({"quota": MAX_QUOTA - 10})).await;
    assert_eq!(body["success"], true, "{body}");
    let codes = generate(&app, json!({"amount": 100, "count": 1})).await;
    let (_, body) = post_json(&user, &app.url("/api/user/topup"), json!({"key": codes[0]})).await;
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["message"], "额度已达上限，无法兑换", "{body}");
    assert_eq!(quota(&app, &user).await, MAX_QUOTA - 10);
    let (_, list) = get_json(&admin, &app.url("/api/admin/topup_codes")).await;
    assert!(
        list.to_string().contains("unused"),
        "the code stays unused: {list}"
    );
    let (status, _) = get_json(&admin, &app.url("/api/admin/users")).await;
    assert_eq!(status, StatusCode::OK);

    // Sums past the bound, or past i64, are refused by the store itself.
    assert_eq!(
        store.adjust_quota(id, 11, 2_000).await.expect("adjust"),
        None
    );
    assert_eq!(
        store
            .adjust_quota(id, i64::MAX, 2_000)
            .await
            .expect("adjust"),
        None
    );
    assert_eq!(
        store
            .adjust_quota(id, i64::MIN, 2_000)
            .await
            .expect("adjust"),
        None
    );
    assert_eq!(
        store.adjust_quota(id, 10, 2_000).await.expect("adjust"),
        Some(MAX_QUOTA)
    );
}
