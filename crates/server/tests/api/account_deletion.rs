//! Account deletion (#16): `DELETE /api/user/self` and `DELETE /api/admin/users/{id}`.

use crate::helpers::{
    ADMIN, Backend, TestApp, TestDatabase, get_json, into_parts, post_json, test_config,
};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    deletion_needs_a_recent_sign_in_a_confirmation_and_a_browser_session,
    after_deletion_nothing_of_the_account_works_on_any_node,
    the_name_is_free_again_after_the_hold,
    the_last_root_cannot_delete_itself,
    admins_delete_accounts_below_their_rank,
    the_security_page_deletes_the_account,
    the_admin_page_deletes_an_account,
);

/// `DELETE url` with a JSON body, as `client`.
async fn delete_json(client: &Client, url: &str, body: Value) -> (StatusCode, Value) {
    into_parts(client.delete(url).json(&body).send().await.expect("delete")).await
}

async fn delete_self(app: &TestApp, client: &Client, confirm: &str) -> (StatusCode, Value) {
    delete_json(
        client,
        &app.url("/api/user/self"),
        json!({"confirm": confirm}),
    )
    .await
}

/// Makes every session on `db` an hour old: no sign-in is recent any more.
async fn age_sessions(backend: Backend, db: &TestDatabase) {
    let sql = "UPDATE sessions SET created_at = created_at - 3600";
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
            sqlx::query(sql).execute(&pool).await.expect("age");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            sqlx::query(sql).execute(&pool).await.expect("age");
            pool.close().await;
        }
    }
}

async fn exists(app: &TestApp, id: i64) -> bool {
    let admin = app.admin().await;
    let (_, users) = get_json(&admin, &app.url("/api/admin/users?page_size=100")).await;
    users["data"]["items"]
        .as_array()
        .expect("users")
        .iter()
        .any(|u| u["id"] == id)
}

async fn developer_token(app: &TestApp, client: &Client) -> String {
    let (_, token) = get_json(client, &app.url("/api/user/token")).await;
    token["data"].as_str().expect("developer token").to_owned()
}

async fn audit_log(app: &TestApp) -> Vec<Value> {
    let admin = app.admin().await;
    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?page_size=200")).await;
    audit["data"]["items"].as_array().expect("items").clone()
}

async fn deletion_needs_a_recent_sign_in_a_confirmation_and_a_browser_session(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let (alice, alice_id) = app.user("alice").await;
    let (_bob, bob_id) = app.user("bob").await;

    // Without the confirmation, or with another name (bob's: there is no id to pass), nothing.
    for confirm in ["", "alic", "bob", "alice@example.com"] {
        let (status, body) = delete_self(&app, &alice, confirm).await;
        assert_eq!(
            (status, body["success"].clone()),
            (StatusCode::OK, json!(false)),
            "{body}"
        );
    }
    let (status, _) = delete_json(&alice, &app.url("/api/user/self"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // Naming another account in new-api's header is refused before anything else.
    let res = alice
        .delete(app.url("/api/user/self"))
        .header("New-Api-User", bob_id.to_string())
        .json(&json!({"confirm": "bob"}))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A developer token is not a browser session, even with the right confirmation.
    let token = developer_token(&app, &alice).await;
    let res = reqwest::Client::new()
        .delete(app.url("/api/user/self"))
        .bearer_auth(&token)
        .json(&json!({"confirm": "alice"}))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Malformed JSON.
    let res = alice
        .delete(app.url("/api/user/self"))
        .header("content-type", "application/json")
        .body("{\"confirm\":")
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // An hour-old sign-in is not recent.
    age_sessions(backend, &db).await;
    let (status, body) = delete_self(&app, &alice, "alice").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(exists(&app, alice_id).await && exists(&app, bob_id).await);
    let (status, me) = get_json(&alice, &app.url("/api/user/self")).await;
    assert_eq!(
        (status, me["data"]["id"].clone()),
        (StatusCode::OK, json!(alice_id))
    );

    // Signed in again, with the name typed (any case): gone, and the cookie with it.
    let alice = app.login("alice", "password-123").await;
    let (status, body) = delete_self(&app, &alice, " ALICE ").await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    assert!(!exists(&app, alice_id).await);
    assert!(exists(&app, bob_id).await);
}

async fn after_deletion_nothing_of_the_account_works_on_any_node(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    let (bob, _) = a.user("bob").await;
    let bob_app = register_app(&a, &bob, json!({"scopes": "openid profile offline_access"})).await;
    let (alice, alice_id) = a.user("Alice").await;
    let alice_app = register_app(
        &a,
        &alice,
        json!({"grant_types": ["authorization_code", "client_credentials"]}),
    )
    .await;
    let alice_token = developer_token(&a, &alice).await;

    // Alice authorizes Bob's app: one code redeemed for tokens, one left unredeemed.
    let params = [
        ("client_id", bob_app.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile offline_access"),
        ("state", "s"),
        ("nonce", "n"),
    ];
    let redeem = |code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", CALLBACK.to_owned()),
            ("client_id", bob_app.client_id.clone()),
            ("client_secret", bob_app.client_secret.clone()),
        ]
    };
    let code = obtain_code(&a, &alice, "/oauth/authorize", &params).await;
    let spare_code = obtain_code(&a, &alice, "/oauth/authorize", &params).await;
    let tokens = into_parts(
        reqwest::Client::new()
            .post(a.url("/api/oauth2/token"))
            .form(&redeem(code))
            .send()
            .await
            .expect("token"),
    )
    .await
    .1;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(userinfo_b(&b, &access).await.0, StatusCode::OK);
    // Her app's own client_credentials token works.
    let cc = |app: &RegisteredApp| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", app.client_id.clone()),
            ("client_secret", app.client_secret.clone()),
        ]
    };
    let (status, cc_tokens) = into_parts(
        reqwest::Client::new()
            .post(a.url("/api/oauth2/token"))
            .form(&cc(&alice_app))
            .send()
            .await
            .expect("cc"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cc_tokens}");
    let cc_access = cc_tokens["access_token"].as_str().expect("cc").to_owned();
    let introspect = |node: &TestApp, token: String| {
        reqwest::Client::new()
            .post(node.url("/oauth2/introspect"))
            .basic_auth(&alice_app.client_id, Some(&alice_app.client_secret))
            .form(&[("token", token)])
            .send()
    };
    let active = introspect(&b, cc_access.clone()).await.expect("introspect");
    assert_eq!(into_parts(active).await.1["active"], true);

    let (status, body) = delete_self(&a, &alice, "alice").await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );

    // At the other node: the old cookie, the developer token, the tokens and the code are dead.
    let (status, _) = get_json(&alice, &b.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .get(b.url("/api/user/self"))
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("self");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo_b(&b, &access).await.0, StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .get(b.url("/oauth2/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let refreshed = reqwest::Client::new()
        .post(b.url("/api/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", bob_app.client_id.as_str()),
            ("client_secret", bob_app.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    let spare = reqwest::Client::new()
        .post(b.url("/api/oauth2/token"))
        .form(&redeem(spare_code))
        .send()
        .await
        .expect("code");
    assert_eq!(spare.status(), StatusCode::BAD_REQUEST);
    // Her app is disabled, not deleted: it gets no token and its token is no longer active.
    let admin = b.admin().await;
    let (_, view) = get_json(&admin, &b.url("/api/admin/oauth_apps?page_size=100")).await;
    let kept = view["data"]["items"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|app| app["client_id"] == alice_app.client_id.as_str())
        .cloned()
        .expect("her app is kept");
    assert_eq!(kept["status"], "disabled", "{kept}");
    let (status, _) = into_parts(
        reqwest::Client::new()
            .post(b.url("/api/oauth2/token"))
            .form(&cc(&alice_app))
            .send()
            .await
            .expect("cc"),
    )
    .await;
    assert!(status.is_client_error());
    let res = introspect(&b, cc_access).await.expect("introspect");
    let (status, body) = into_parts(res).await;
    assert!(
        status.is_client_error() || body["active"] == false,
        "{body}"
    );

    // The name is held, without case, at every door.
    let (_, refused) = post_json(
        &b.client(),
        &b.url("/api/user/register"),
        json!({"username": "alice", "password": "password-123"}),
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    assert!(!exists(&b, alice_id).await);

    // The audit log keeps a pseudonym, and nothing that names her.
    let log = audit_log(&b).await;
    let deleted = log
        .iter()
        .find(|e| e["action"] == "user.deleted")
        .expect("the deletion is audited");
    let pseudonym = deleted["target"].as_str().expect("pseudonym");
    assert!(pseudonym.starts_with("deleted-user:"), "{deleted}");
    assert_eq!(deleted["actor_id"], Value::Null);
    assert_eq!(deleted["actor_pseudonym"], pseudonym);
    let consent = log
        .iter()
        .find(|e| e["action"] == "consent.granted" && e["target"] == bob_app.client_id.as_str())
        .expect("her consent");
    assert_eq!(consent["actor_id"], Value::Null, "{consent}");
    assert_eq!(consent["actor_pseudonym"], pseudonym, "{consent}");
    for entry in &log {
        let text = entry.to_string().to_lowercase();
        assert!(
            !text.contains("\"alice\"") && !text.contains(&format!("\"actor_id\":{alice_id},")),
            "{entry}"
        );
    }
    let disabled = log
        .iter()
        .find(|e| e["action"] == "app.disabled" && e["target"] == alice_app.client_id.as_str())
        .expect("her app's disabling is audited");
    assert_eq!(disabled["detail"]["owner"], pseudonym);
}

async fn the_name_is_free_again_after_the_hold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"deleted_username_hold_days": 0}))
        .send()
        .await
        .expect("settings");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], true, "{body}");
    let (alice, _) = app.user("alice").await;
    let (_, body) = delete_self(&app, &alice, "alice").await;
    assert_eq!(body["success"], true, "{body}");
    app.register("Alice", "password-456").await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"deleted_username_hold_days": -1}))
        .send()
        .await
        .expect("settings");
    assert_eq!(into_parts(res).await.1["success"], false);
}

async fn the_last_root_cannot_delete_itself(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.admin().await;
    let (_, me) = get_json(&root, &app.url("/api/user/self")).await;
    let root_id = me["data"]["id"].as_i64().expect("id");
    let (status, body) = delete_self(&app, &root, ADMIN).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(false)),
        "{body}"
    );
    let (status, body) = delete_json(
        &root,
        &app.url(&format!("/api/admin/users/{root_id}")),
        json!({"confirm": ADMIN}),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(false)),
        "{body}"
    );
    assert!(exists(&app, root_id).await);
    assert!(
        audit_log(&app)
            .await
            .iter()
            .all(|e| e["action"] != "user.deleted")
    );

    // With a second root, the first may go.
    let (_, second_id) = app.user("second").await;
    let res = root
        .patch(app.url(&format!("/api/admin/users/{second_id}")))
        .json(&json!({"role": "root"}))
        .send()
        .await
        .expect("promote");
    assert_eq!(into_parts(res).await.1["success"], true);
    let (_, body) = delete_self(&app, &root, ADMIN).await;
    assert_eq!(body["success"], true, "{body}");
}

async fn admins_delete_accounts_below_their_rank(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.admin().await;
    let (_, admin_id) = app.user("moderator").await;
    let (_, other_admin_id) = app.user("moderator2").await;
    for id in [admin_id, other_admin_id] {
        let res = root
            .patch(app.url(&format!("/api/admin/users/{id}")))
            .json(&json!({"role": "admin"}))
            .send()
            .await
            .expect("promote");
        assert_eq!(into_parts(res).await.1["success"], true);
    }
    let moderator = app.login("moderator", "password-123").await;
    let (carol, carol_id) = app.user("carol").await;
    let (_, dave_id) = app.user("dave").await;
    let url = |id: i64| app.url(&format!("/api/admin/users/{id}"));

    // A plain user cannot use the admin route.
    let (status, _) = delete_json(&carol, &url(dave_id), json!({"confirm": "dave"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor can an admin's developer token.
    let token = developer_token(&app, &moderator).await;
    let res = reqwest::Client::new()
        .delete(url(carol_id))
        .bearer_auth(&token)
        .json(&json!({"confirm": "carol"}))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Not an account of one's own rank; not without the name; not one that does not exist.
    let (_, body) = delete_json(
        &moderator,
        &url(other_admin_id),
        json!({"confirm": "moderator2"}),
    )
    .await;
    assert_eq!(body["success"], false, "{body}");
    let (_, body) = delete_json(&moderator, &url(carol_id), json!({"confirm": "dave"})).await;
    assert_eq!(body["success"], false, "{body}");
    let (status, _) = delete_json(&moderator, &url(999_999), json!({"confirm": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(exists(&app, carol_id).await && exists(&app, other_admin_id).await);

    let (_, body) = delete_json(&moderator, &url(carol_id), json!({"confirm": "Carol"})).await;
    assert_eq!(body["success"], true, "{body}");
    assert!(!exists(&app, carol_id).await);
    let (status, _) = get_json(&carol, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let deleted = audit_log(&app)
        .await
        .into_iter()
        .find(|e| e["action"] == "user.deleted")
        .expect("audited");
    assert_eq!(deleted["actor_id"], admin_id, "{deleted}");
    assert_eq!(deleted["detail"]["by"], "admin", "{deleted}");
    assert!(
        deleted["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("deleted-user:"))
    );
    // Root deletes an admin.
    let (_, body) = delete_json(
        &root,
        &url(other_admin_id),
        json!({"confirm": "moderator2"}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
}

async fn the_security_page_deletes_the_account(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let (alice, alice_id) = app.user("alice").await;
    let (status, _, html) = page(&alice, &app.url("/user/security")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("action=\"/user/security/delete\""), "{html}");
    assert!(html.contains("注销账户"), "{html}");
    let token = csrf(&html);
    let res = alice
        .get(app.url("/user/security"))
        .header("accept-language", "en")
        .send()
        .await
        .expect("page");
    let english = res.text().await.expect("html");
    assert!(english.contains("Delete account"), "{english}");

    // A wrong name: refused on the page, in its language, and nothing changes.
    let (status, _, html) = submit(
        &alice,
        &app.url("/user/security/delete"),
        &[("csrf_token", &token), ("confirm", "bob")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("请输入该账户的用户名以确认注销"), "{html}");
    // Without the CSRF token: refused.
    let (status, _, _) = submit(
        &alice,
        &app.url("/user/security/delete"),
        &[("confirm", "alice")],
    )
    .await;
    assert!(status.is_client_error());
    assert!(exists(&app, alice_id).await);
    // An old sign-in: sent to sign in again, and back.
    age_sessions(backend, &db).await;
    let (status, location, _) = submit(
        &alice,
        &app.url("/user/security/delete"),
        &[("csrf_token", &token), ("confirm", "alice")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/login?prompt=login&return_to=%2Fuser%2Fsecurity")
    );
    assert!(exists(&app, alice_id).await);

    let alice = app.login("alice", "password-123").await;
    let (_, _, html) = page(&alice, &app.url("/user/security")).await;
    let (status, location, _) = submit(
        &alice,
        &app.url("/user/security/delete"),
        &[("csrf_token", &csrf(&html)), ("confirm", "Alice")],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login"))
    );
    assert!(!exists(&app, alice_id).await);
    let (status, location, _) = page(&alice, &app.url("/user/security")).await;
    assert!(
        status == StatusCode::SEE_OTHER || status == StatusCode::UNAUTHORIZED,
        "{status} {location:?}"
    );
}

async fn the_admin_page_deletes_an_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.admin().await;
    let (carol, carol_id) = app.user("carol").await;
    let (_, dave_id) = app.user("dave").await;
    let (status, _, html) = page(&root, &app.url(&format!("/admin/users/{carol_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let action = format!("action=\"/admin/users/{carol_id}/delete\"");
    assert!(html.contains(&action), "{html}");
    let token = csrf(&html);
    let url = |id: i64| app.url(&format!("/admin/users/{id}/delete"));

    // A plain user cannot.
    let (_, _, carol_html) = page(&carol, &app.url("/user/security")).await;
    let (status, _, _) = submit(
        &carol,
        &url(dave_id),
        &[("csrf_token", &csrf(&carol_html)), ("confirm", "dave")],
    )
    .await;
    assert!(
        status.is_client_error() || status == StatusCode::SEE_OTHER,
        "{status}"
    );
    // Without the name typed: refused, nothing changes.
    let (status, _, _) = submit(
        &root,
        &url(carol_id),
        &[("csrf_token", &token), ("confirm", "")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(exists(&app, carol_id).await && exists(&app, dave_id).await);

    let (status, location, _) = submit(
        &root,
        &url(carol_id),
        &[
            ("csrf_token", &token),
            ("confirm", "carol"),
            ("return_to", "/admin/users"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin/users"))
    );
    assert!(!exists(&app, carol_id).await);
    let deleted = audit_log(&app)
        .await
        .into_iter()
        .find(|e| e["action"] == "user.deleted")
        .expect("audited");
    assert_eq!(deleted["detail"]["by"], "admin", "{deleted}");
    assert!(deleted["actor_id"].is_i64(), "{deleted}");
}
