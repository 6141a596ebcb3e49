//! The life of an account (#16): e-mail change, export, security activity and the admin's view
//! of a user's ways in, through the JSON API and the pages, with each refusal changing nothing.

use crate::fakes::FakeServer;
use crate::helpers::{
    Backend, TestApp, TestDatabase, get_json, into_parts, post_json, test_config,
};
use crate::login_module::code_in;
use crate::oauth_support::{CALLBACK, obtain_code, page, register_app, token_b};
use crate::on_both_backends;
use crate::two_factor::{enrol, now};
use keyward_core::Store;
use keyward_core::model::NewSession;
use keyward_core::secret::Secret;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

on_both_backends!(
    an_email_change_needs_a_recent_sign_in_and_the_code_sent_to_the_new_address,
    an_email_change_refuses_foreign_codes_taken_addresses_and_bad_bodies,
    the_export_holds_the_users_data_and_no_secret,
    the_activity_lists_the_users_own_sign_ins_and_security_changes,
    admins_see_ways_in_and_reset_two_factor_only_below_their_rank,
    an_upstream_sign_in_is_listed_with_its_provider,
);

struct Life {
    app: TestApp,
    fakes: FakeServer,
    store: Arc<dyn Store>,
}

/// A node with SMTP pointed at the fake, and a store on its database for the checks.
async fn life(backend: Backend) -> Life {
    let fakes = FakeServer::start().await;
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({
            "smtp_host": "127.0.0.1", "smtp_port": fakes.smtp_port, "smtp_security": "none",
            "smtp_from": "Keyward <noreply@keyward.test>",
        }))
        .send()
        .await
        .expect("settings");
    assert_eq!(into_parts(res).await.1["success"], true);
    Life { app, fakes, store }
}

impl Life {
    async fn mails(&self, count: usize) -> Vec<String> {
        for _ in 0..60 {
            if self.fakes.mails().len() >= count {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.fakes.mails()
    }

    /// Binds `email` to `client`'s account with a mailed code.
    async fn bind(&self, client: &Client, email: &str) {
        let before = self.fakes.mails().len();
        let (_, body) = get_json(
            client,
            &self.app.url(&format!("/api/verification?email={email}")),
        )
        .await;
        assert_eq!(body["success"], true, "{body}");
        let code = code_in(&self.mails(before + 1).await[before]);
        let (_, body) = get_json(
            client,
            &self
                .app
                .url(&format!("/api/oauth/email/bind?email={email}&code={code}")),
        )
        .await;
        assert_eq!(body["success"], true, "{body}");
    }

    async fn email_of(&self, id: i64) -> Option<String> {
        let user = self
            .store
            .user_by_id(id)
            .await
            .expect("read")
            .expect("user");
        user.email.filter(|_| user.email_verified)
    }

    /// A browser whose session signed in an hour ago: not recent.
    async fn stale_browser(&self, user_id: i64) -> Client {
        let secret = Secret::generate("ses_");
        let at = i64::try_from(now()).expect("time") - 3600;
        self.store
            .create_session(NewSession {
                id_hash: secret.hash(),
                user_id,
                created_at: at,
                expires_at: at + 86_400,
                ip: "192.0.2.9".into(),
                user_agent: "old browser".into(),
                mfa_pending: false,
            })
            .await
            .expect("session");
        let mut headers = reqwest::header::HeaderMap::new();
        let cookie = format!("keyward_session={}", secret.expose());
        headers.insert(reqwest::header::COOKIE, cookie.parse().expect("header"));
        Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }
}

async fn an_email_change_needs_a_recent_sign_in_and_the_code_sent_to_the_new_address(
    backend: Backend,
) {
    let env = life(backend).await;
    let app = &env.app;
    let (fresh, id) = app.user("ada").await;
    env.bind(&fresh, "old@example.com").await;
    let mails = env.fakes.mails().len();

    // Without a recent sign-in: refused before anything is sent or changed.
    let stale = env.stale_browser(id).await;
    let (status, body) = post_json(
        &stale,
        &app.url("/api/user/email/change/code"),
        json!({"email": "new@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["message"], "请重新登录后再进行此操作");
    let (status, _) = post_json(
        &stale,
        &app.url("/api/user/email/change"),
        json!({"email": "new@example.com", "code": "123456"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The page sends such a user to sign in again.
    let (_, _, html) = page(&stale, &app.url("/user/security")).await;
    let token = crate::oauth_support::csrf(&html);
    let (status, location, _) = crate::oauth_support::submit(
        &stale,
        &app.url("/user/security/email/change"),
        &[
            ("csrf_token", &token),
            ("email", "new@example.com"),
            ("action", "send_code"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/login?prompt=login&return_to=%2Fuser%2Fsecurity")
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(env.fakes.mails().len(), mails, "no mail went out");
    assert_eq!(env.email_of(id).await.as_deref(), Some("old@example.com"));

    // Recently signed in: the code goes to the new address, and the old one stays until it is
    // entered.
    let (_, body) = post_json(
        &fresh,
        &app.url("/api/user/email/change/code"),
        json!({"email": "new@example.com"}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let mail = env.mails(mails + 1).await[mails].clone();
    assert!(mail.contains("new@example.com"), "{mail}");
    let code = code_in(&mail);
    assert_eq!(env.email_of(id).await.as_deref(), Some("old@example.com"));

    let (_, body) = post_json(
        &fresh,
        &app.url("/api/user/email/change"),
        json!({"email": "new@example.com", "code": "000000"}),
    )
    .await;
    assert_eq!(
        (body["success"].clone(), body["message"].clone()),
        (json!(false), json!("验证码无效或已过期"))
    );
    assert_eq!(env.email_of(id).await.as_deref(), Some("old@example.com"));

    let (_, body) = post_json(
        &fresh,
        &app.url("/api/user/email/change"),
        json!({"email": "new@example.com", "code": code}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(env.email_of(id).await.as_deref(), Some("new@example.com"));
    let notice = env.mails(mails + 2).await[mails + 1].clone();
    assert!(
        notice.contains("old@example.com") && notice.contains("e-mail address was changed"),
        "{notice}"
    );

    // Replayed: used up.
    let (_, body) = post_json(
        &fresh,
        &app.url("/api/user/email/change"),
        json!({"email": "new@example.com", "code": code}),
    )
    .await;
    assert_eq!(body["success"], false);

    // Recorded for the user.
    let (_, activity) = get_json(&fresh, &app.url("/api/user/activity")).await;
    assert_eq!(
        activity["data"]["items"][0]["action"], "email.changed",
        "{activity}"
    );
}

async fn an_email_change_refuses_foreign_codes_taken_addresses_and_bad_bodies(backend: Backend) {
    let env = life(backend).await;
    let app = &env.app;
    let (ada, id) = app.user("ada").await;
    let (eve, _) = app.user("eve").await;
    env.bind(&ada, "ada@example.com").await;
    env.bind(&eve, "eve@example.com").await;

    // A binding code (another purpose) does not change an address.
    let before = env.fakes.mails().len();
    get_json(&ada, &app.url("/api/verification?email=fresh@example.com")).await;
    let verify_code = code_in(&env.mails(before + 1).await[before]);
    let (_, body) = post_json(
        &ada,
        &app.url("/api/user/email/change"),
        json!({"email": "fresh@example.com", "code": verify_code}),
    )
    .await;
    assert_eq!(body["success"], false, "{body}");
    // Nor may the binding path replace a verified address.
    let (_, body) = get_json(
        &ada,
        &app.url(&format!(
            "/api/oauth/email/bind?email=fresh@example.com&code={verify_code}"
        )),
    )
    .await;
    assert_eq!(body["success"], false, "{body}");

    // Eve's change code is for Eve's account only.
    let before = env.fakes.mails().len();
    post_json(
        &eve,
        &app.url("/api/user/email/change/code"),
        json!({"email": "eve2@example.com"}),
    )
    .await;
    let eves = code_in(&env.mails(before + 1).await[before]);
    let (_, body) = post_json(
        &ada,
        &app.url("/api/user/email/change"),
        json!({"email": "eve2@example.com", "code": eves}),
    )
    .await;
    assert_eq!(body["success"], false, "{body}");

    // Eve's address: the same answer as a free one, and no mail.
    let before = env.fakes.mails().len();
    let (_, body) = post_json(
        &ada,
        &app.url("/api/user/email/change/code"),
        json!({"email": "eve@example.com"}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(env.fakes.mails().len(), before);

    // Malformed, unknown fields and oversized bodies.
    let (status, _) = into_parts(
        ada.post(app.url("/api/user/email/change"))
            .header("content-type", "application/json")
            .body("[]")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert!(status.is_client_error());
    // The oversized body goes last: the server closes that connection after refusing it.
    for raw in [
        "{".to_owned(),
        r#"{"email": 5}"#.to_owned(),
        r#"{"email": "x@example.com", "user_id": 1}"#.to_owned(),
        format!(r#"{{"email": "{}@example.com"}}"#, "a".repeat(2_000_000)),
    ] {
        let res = ada
            .post(app.url("/api/user/email/change/code"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("request");
        assert!(res.status().is_client_error(), "{}", res.status());
    }

    assert_eq!(env.email_of(id).await.as_deref(), Some("ada@example.com"));
}

/// Every string in `value`, recursively.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

async fn the_export_holds_the_users_data_and_no_secret(backend: Backend) {
    let env = life(backend).await;
    let app = &env.app;
    let (ada, id) = app.user("ada").await;
    env.bind(&ada, "ada@example.com").await;
    let registered = register_app(app, &ada, json!({"name": "Ada's App"})).await;
    let (_, token) = get_json(&ada, &app.url("/api/user/token")).await;
    let developer_token = token["data"].as_str().expect("token").to_owned();
    let code = obtain_code(
        app,
        &ada,
        "/api/oauth2/authorize",
        &[
            ("client_id", &registered.client_id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "profile"),
            ("state", "s1"),
        ],
    )
    .await;
    let (_, tokens) = token_b(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let (otpauth, recovery) = enrol(app, &ada).await;
    let totp_secret = otpauth
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .expect("secret")
        .to_owned();
    let stored = env.store.user_by_id(id).await.expect("read").expect("user");
    let password_hash = stored.password_hash.clone().expect("hash");
    let sessions = env
        .store
        .list_user_sessions(id, i64::try_from(now()).expect("t"))
        .await
        .expect("sessions");
    let session_hashes: Vec<String> = sessions
        .iter()
        .map(|s| {
            s.id_hash
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();

    // A developer token may not export.
    let res = reqwest::Client::new()
        .get(app.url("/api/user/export"))
        .bearer_auth(&developer_token)
        .send()
        .await
        .expect("export");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = ada
        .get(app.url("/api/user/export?user_id=1&id=1"))
        .send()
        .await
        .expect("export");
    let disposition = res
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"keyward-export-ada.json\""
    );
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(
        data["profile"]["id"], id,
        "its own account, whatever the query"
    );
    assert_eq!(data["profile"]["username"], "ada");
    assert_eq!(data["profile"]["email"], "ada@example.com");
    assert_eq!(data["profile"]["has_password"], true);
    assert_eq!(data["two_factor"]["enabled"], true);
    assert_eq!(data["apps"][0]["client_id"], registered.client_id.as_str());
    assert_eq!(
        data["consents"][0]["client_id"],
        registered.client_id.as_str()
    );
    assert!(!data["sessions"].as_array().expect("sessions").is_empty());
    let actions: Vec<&str> = data["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for wanted in [
        "user.signed_in",
        "email.bound",
        "app.created",
        "two_factor.enabled",
    ] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }

    let mut secrets = vec![
        "password-123".to_owned(),
        password_hash,
        developer_token,
        registered.client_secret.clone(),
        access,
        totp_secret,
    ];
    secrets.extend(recovery);
    secrets.extend(session_hashes);
    if let Some(refresh) = tokens["refresh_token"].as_str() {
        secrets.push(refresh.to_owned());
    }
    let text = body.to_string();
    let mut all = Vec::new();
    strings(&body, &mut all);
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the export holds a secret: {secret}"
        );
    }
    for field in [
        "password_hash",
        "secret_hash",
        "client_secret",
        "totp_secret",
        "recovery_codes",
        "id_hash",
    ] {
        assert!(!all.iter().any(|s| s == field), "a {field} field");
    }

    // The page's download: the same document, as a file.
    let res = ada
        .get(app.url("/user/security/export"))
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("attachment;"))
    );
    let file: Value = res.json().await.expect("json file");
    assert_eq!(file["profile"]["id"], id);
    let text = file.to_string();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the file holds a secret: {secret}"
        );
    }

    // Another user gets their own, with nothing of Ada's.
    let (bob, bob_id) = app.user("bob").await;
    let (_, theirs) = get_json(&bob, &app.url("/api/user/export")).await;
    assert_eq!(theirs["data"]["profile"]["id"], bob_id);
    let text = theirs.to_string();
    assert!(!text.contains("ada@example.com") && !text.contains(&registered.client_id));
}

async fn the_activity_lists_the_users_own_sign_ins_and_security_changes(backend: Backend) {
    let env = life(backend).await;
    let app = &env.app;
    let (ada, id) = app.user("ada").await;
    let (bob, _) = app.user("bob").await;
    let phone = app.client();
    let res = phone
        .post(app.url("/api/user/login"))
        .header("user-agent", "AdaPhone/1.0")
        .json(&json!({"username": "ada", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    assert_eq!(into_parts(res).await.1["success"], true);
    // A wrong password is no sign-in.
    post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": "ada", "password": "wrong-password"}),
    )
    .await;
    let res = ada
        .put(app.url("/api/user/self"))
        .json(&json!({"original_password": "password-123", "password": "password-456"}))
        .send()
        .await
        .expect("change");
    assert_eq!(into_parts(res).await.1["success"], true);

    let (status, body) = get_json(&ada, &app.url("/api/user/activity?user_id=1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["data"]["items"].as_array().expect("items").clone();
    let actions: Vec<&str> = items.iter().filter_map(|i| i["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["password.changed", "user.signed_in", "user.signed_in"],
        "{body}"
    );
    assert_eq!(items[1]["method"], "password");
    assert_eq!(items[1]["user_agent"], "AdaPhone/1.0");
    assert_eq!(items[1]["ip"], "127.0.0.1");

    // Bob sees only his own sign-in.
    let (_, theirs) = get_json(&bob, &app.url(&format!("/api/user/activity?id={id}"))).await;
    let theirs = theirs["data"]["items"].as_array().expect("items").clone();
    assert_eq!(theirs.len(), 1, "{theirs:?}");

    // Bounded pages.
    let (_, big) = get_json(
        &bob,
        &app.url("/api/user/activity?page_size=100000&p=99999"),
    )
    .await;
    assert_eq!(big["data"]["page_size"], 50);
    assert_eq!(big["data"]["items"], json!([]));

    // A developer token may not read it.
    let (_, token) = get_json(&bob, &app.url("/api/user/token")).await;
    let res = reqwest::Client::new()
        .get(app.url("/api/user/activity"))
        .bearer_auth(token["data"].as_str().expect("token"))
        .send()
        .await
        .expect("activity");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The page, in both languages.
    let ada = app.login("ada", "password-456").await;
    let (status, _, html) = page(&ada, &app.url("/user/security/activity")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("修改密码") && html.contains("AdaPhone/1.0"),
        "{html}"
    );
    let res = ada
        .get(app.url("/user/security/activity"))
        .header("accept-language", "en")
        .send()
        .await
        .expect("page");
    let html = res.text().await.expect("html");
    assert!(html.contains("Password changed"), "{html}");
}

async fn admins_see_ways_in_and_reset_two_factor_only_below_their_rank(backend: Backend) {
    let env = life(backend).await;
    let app = &env.app;
    let root = app.admin().await;
    let (helper, helper_id) = app.user("helper").await;
    let (peer, peer_id) = app.user("peer").await;
    let (ada, id) = app.user("ada").await;
    for who in [helper_id, peer_id] {
        let res = root
            .patch(app.url(&format!("/api/admin/users/{who}")))
            .json(&json!({"role": 10}))
            .send()
            .await
            .expect("promote");
        assert_eq!(into_parts(res).await.1["success"], true);
    }
    enrol(app, &peer).await;
    enrol(app, &ada).await;
    env.bind(&ada, "ada@example.com").await;
    // A password sign-in while two-factor is on is listed, saying the second factor was asked.
    let (_, pending) = post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": "ada", "password": "password-123"}),
    )
    .await;
    assert_eq!(pending["data"]["require_2fa"], true, "{pending}");
    let (_, activity) = get_json(&ada, &app.url("/api/user/activity")).await;
    let first = &activity["data"]["items"][0];
    assert_eq!(
        (
            first["action"].clone(),
            first["second_factor_asked"].clone()
        ),
        (json!("user.signed_in"), json!(true)),
        "{activity}"
    );

    let (_, ways) = get_json(&helper, &app.url(&format!("/api/admin/users/{id}/ways_in"))).await;
    assert_eq!(ways["success"], true, "{ways}");
    assert_eq!(ways["data"]["has_password"], true);
    assert_eq!(ways["data"]["two_factor"], true);
    assert_eq!(ways["data"]["identities"], json!([]));

    // Not for a peer: nothing read, nothing changed.
    let (_, refused) = get_json(
        &helper,
        &app.url(&format!("/api/admin/users/{peer_id}/ways_in")),
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    let (_, refused) = post_json(
        &helper,
        &app.url(&format!("/api/admin/users/{peer_id}/2fa/reset")),
        json!({}),
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    assert!(
        env.store
            .user_by_id(peer_id)
            .await
            .expect("read")
            .expect("peer")
            .totp_enabled
    );
    // Nor for a plain user.
    let (status, _) = post_json(
        &ada,
        &app.url(&format!("/api/admin/users/{peer_id}/2fa/reset")),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        env.store
            .user_by_id(peer_id)
            .await
            .expect("read")
            .expect("peer")
            .totp_enabled
    );

    let before = env.fakes.mails().len();
    let (_, reset) = post_json(
        &helper,
        &app.url(&format!("/api/admin/users/{id}/2fa/reset")),
        json!({}),
    )
    .await;
    assert_eq!(reset["success"], true, "{reset}");
    assert!(
        !env.store
            .user_by_id(id)
            .await
            .expect("read")
            .expect("ada")
            .totp_enabled
    );
    let notice = env.mails(before + 1).await[before].clone();
    assert!(
        notice.contains("ada@example.com") && notice.contains("administrator turned off"),
        "{notice}"
    );
    let (_, again) = post_json(
        &helper,
        &app.url(&format!("/api/admin/users/{id}/2fa/reset")),
        json!({}),
    )
    .await;
    assert_eq!(
        (again["success"].clone(), again["message"].clone()),
        (json!(false), json!("该用户未开启两步验证"))
    );

    // The peer's 2FA, reset by root from the page.
    let (_, _, html) = page(&root, &app.url(&format!("/admin/users/{peer_id}/ways_in"))).await;
    let token = crate::oauth_support::csrf(&html);
    let (status, location, _) = crate::oauth_support::submit(
        &root,
        &app.url(&format!("/admin/users/{peer_id}/2fa/reset")),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(
        (status, location),
        (
            StatusCode::SEE_OTHER,
            Some(format!("/admin/users/{peer_id}/ways_in"))
        )
    );
    assert!(
        !env.store
            .user_by_id(peer_id)
            .await
            .expect("read")
            .expect("peer")
            .totp_enabled
    );

    // Ada sees who did it.
    let (_, activity) = get_json(&ada, &app.url("/api/user/activity")).await;
    assert_eq!(
        activity["data"]["items"][0]["action"], "two_factor.reset",
        "{activity}"
    );
    assert_eq!(activity["data"]["items"][0]["by_other"], true);
    // And a user cannot read the admin's view.
    let (status, _) = get_json(&ada, &app.url(&format!("/api/admin/users/{id}/ways_in"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn an_upstream_sign_in_is_listed_with_its_provider(backend: Backend) {
    let env = crate::login_module::env(backend, json!({})).await;
    let browser = env.app.client();
    let grant = crate::login_module::github_grant("9001", "octo");
    let (_, body) = crate::login_module::github_login(&env, &browser, grant).await;
    assert_eq!(body["success"], true, "{body}");
    let (_, activity) = get_json(&browser, &env.app.url("/api/user/activity")).await;
    let items = activity["data"]["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{activity}");
    assert_eq!(items[0]["action"], "user.signed_in");
    assert_eq!(items[0]["method"], "upstream:github");
}
