//! Passkeys over the JSON API, with the software authenticator of `keyward_testkit`: enrolment
//! after a recent sign-in, sign-in with no password (and no second factor after it), a passkey
//! as the second factor, the challenge bound to the browser and used once, and every bad input
//! the issue lists refused with nothing changed.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::on_both_backends;
use crate::two_factor::enrol as enrol_totp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_testkit::authenticator::SoftAuthenticator;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_passkey_is_enrolled_then_signs_in_with_no_password_or_second_factor,
    a_passkey_stands_in_for_the_totp_code_after_a_password,
    a_ceremony_belongs_to_the_browser_that_began_it_and_is_used_once,
    answers_for_another_origin_rp_or_challenge_are_refused,
    a_counter_that_goes_back_is_refused_and_audited,
    unknown_removed_and_foreign_credentials_are_refused,
    passkeys_are_renamed_and_removed_but_never_the_last_way_in,
    developer_tokens_and_malformed_bodies_change_nothing,
    enrolment_needs_a_recent_sign_in,
    an_admin_removes_a_lost_passkey_within_their_rank,
    passkeys_are_exported_shown_to_admins_and_their_changes_mailed,
);

fn origin(app: &TestApp) -> String {
    app.base.clone()
}

/// Enrols a passkey named `name` for `client`'s (freshly signed-in) user.
async fn enrol(app: &TestApp, client: &Client, key: &mut SoftAuthenticator, name: &str) -> Value {
    let (status, begun) = post_json(
        client,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{begun}");
    assert_eq!(begun["success"], true, "{begun}");
    let options = &begun["data"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost", "{begun}");
    assert_eq!(
        options["authenticatorSelection"]["residentKey"], "required",
        "{begun}"
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"], "required",
        "{begun}"
    );
    assert_eq!(options["attestation"], "none", "{begun}");
    let credential = key.register(&begun["data"]);
    let (_, done) = post_json(
        client,
        &app.url("/api/user/passkey/register/finish"),
        json!({"name": name, "credential": credential}),
    )
    .await;
    done
}

async fn sign_in(app: &TestApp, key: &mut SoftAuthenticator) -> (Client, Value) {
    let client = app.client();
    let (status, begun) = post_json(
        &client,
        &app.url("/api/user/passkey/login/begin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{begun}");
    assert_eq!(begun["data"]["mediation"], "conditional", "{begun}");
    let answer = key.assert(&begun["data"]);
    let (_, done) = post_json(&client, &app.url("/api/user/passkey/login/finish"), answer).await;
    (client, done)
}

async fn passkeys(client: &Client, app: &TestApp) -> Vec<Value> {
    let (_, list) = get_json(client, &app.url("/api/user/passkey")).await;
    list["data"].as_array().cloned().unwrap_or_default()
}

async fn self_name(client: &Client, app: &TestApp) -> Value {
    let (_, me) = get_json(client, &app.url("/api/user/self")).await;
    me["data"]["username"].clone()
}

async fn a_passkey_is_enrolled_then_signs_in_with_no_password_or_second_factor(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (client, user_id) = app.user("alice").await;
    // Two-factor on: a passkey sign-in still needs no code (the user is verified).
    enrol_totp(&app, &client).await;
    let mut key = SoftAuthenticator::new(&origin(&app));
    let done = enrol(&app, &client, &mut key, "  Laptop  ").await;
    assert_eq!(done["success"], true, "{done}");
    assert_eq!(done["data"]["name"], "Laptop");
    let listed = passkeys(&client, &app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["last_used_at"], Value::Null);
    // The user handle is random, not the account id.
    let handle = &key.credentials[0].user_handle;
    assert_eq!(handle.len(), 16);
    assert_ne!(handle, &user_id.to_string().into_bytes());

    let (browser, signed_in) = sign_in(&app, &mut key).await;
    assert_eq!(signed_in["success"], true, "{signed_in}");
    assert_eq!(signed_in["data"]["username"], "alice", "{signed_in}");
    assert_eq!(signed_in["data"].get("require_2fa"), None, "{signed_in}");
    assert_eq!(self_name(&browser, &app).await, "alice");
    let listed = passkeys(&browser, &app).await;
    assert!(listed[0]["last_used_at"].is_i64(), "{listed:?}");
    app.stop().await;
}

async fn a_passkey_stands_in_for_the_totp_code_after_a_password(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (client, _) = app.user("alice").await;
    enrol_totp(&app, &client).await;
    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &client, &mut key, "Phone").await["success"],
        true
    );

    let browser = app.client();
    let (_, step) = post_json(
        &browser,
        &app.url("/api/user/login"),
        json!({"username": "alice", "password": "password-123"}),
    )
    .await;
    assert_eq!(step["data"]["require_2fa"], true, "{step}");
    // The pending session opens nothing yet.
    let (status, _) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, begun) = post_json(
        &browser,
        &app.url("/api/user/login/2fa/passkey/begin"),
        json!({}),
    )
    .await;
    assert_eq!(begun["success"], true, "{begun}");
    let allowed = begun["data"]["publicKey"]["allowCredentials"]
        .as_array()
        .expect("allow list");
    assert_eq!(allowed.len(), 1, "only alice's passkeys: {begun}");
    let answer = key.assert(&begun["data"]);
    let (_, done) = post_json(
        &browser,
        &app.url("/api/user/login/2fa/passkey/finish"),
        answer,
    )
    .await;
    assert_eq!(done["success"], true, "{done}");
    assert_eq!(self_name(&browser, &app).await, "alice");

    // Without a pending login there is nothing to begin.
    let (status, _) = post_json(
        &app.client(),
        &app.url("/api/user/login/2fa/passkey/begin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn a_ceremony_belongs_to_the_browser_that_began_it_and_is_used_once(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (client, _) = app.user("alice").await;
    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &client, &mut key, "Laptop").await["success"],
        true
    );

    // Begun in one browser, finished in another: refused.
    let (_, begun) = post_json(
        &app.client(),
        &app.url("/api/user/passkey/login/begin"),
        json!({}),
    )
    .await;
    let answer = key.assert(&begun["data"]);
    let other = app.client();
    let (_, refused) = post_json(
        &other,
        &app.url("/api/user/passkey/login/finish"),
        answer.clone(),
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(refused["message"], "验证已过期，请重试");
    let (status, _) = get_json(&other, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Used once: the same browser replaying its own answer (its challenge cookie put back by
    // hand) is refused the second time.
    let (cookie, begun) = begin_raw(&app).await;
    let answer = key.assert(&begun["data"]);
    for expected in [true, false] {
        let res = app
            .client()
            .post(app.url("/api/user/passkey/login/finish"))
            .header("cookie", format!("keyward_passkey={cookie}"))
            .json(&answer)
            .send()
            .await
            .expect("finish");
        let (_, done) = into_parts(res).await;
        assert_eq!(done["success"], expected, "{done}");
        if !expected {
            assert_eq!(done["message"], "验证已过期，请重试");
        }
    }

    // An enrolment challenge does not finish a sign-in.
    let (_, begun) = post_json(
        &client,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    let mut spare = SoftAuthenticator::new(&origin(&app));
    let credential = spare.register(&begun["data"]);
    let (_, refused) = post_json(
        &client,
        &app.url("/api/user/passkey/login/finish"),
        credential,
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(passkeys(&client, &app).await.len(), 1);
    app.stop().await;
}

/// A sign-in begun by a client without a cookie jar: the challenge cookie (checked for its
/// attributes) and the answer.
async fn begin_raw(app: &TestApp) -> (String, Value) {
    let res = app
        .client()
        .post(app.url("/api/user/passkey/login/begin"))
        .json(&json!({}))
        .send()
        .await
        .expect("begin");
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let attrs = set_cookie.to_ascii_lowercase();
    assert!(attrs.contains("httponly"), "{set_cookie}");
    assert!(attrs.contains("samesite=strict"), "{set_cookie}");
    assert!(attrs.contains("path=/api/user/"), "{set_cookie}");
    let cookie = set_cookie
        .strip_prefix("keyward_passkey=")
        .and_then(|v| v.split(';').next())
        .expect("challenge cookie")
        .to_owned();
    let (_, body) = into_parts(res).await;
    (cookie, body)
}

async fn answers_for_another_origin_rp_or_challenge_are_refused(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (client, _) = app.user("alice").await;

    // Enrolment from a phishing origin, for another RP, or without user verification.
    for tweak in ["origin", "rp", "uv"] {
        let mut key = SoftAuthenticator::new(&origin(&app));
        match tweak {
            "origin" => key.origin = "http://localhost.evil.example".into(),
            "rp" => key.rp_id_override = Some("evil.example".into()),
            _ => key.user_verified = false,
        }
        let done = enrol(&app, &client, &mut key, "Bad").await;
        assert_eq!(done["success"], false, "{tweak}: {done}");
        assert_eq!(done["message"], "通行密钥验证失败", "{tweak}");
    }
    assert!(passkeys(&client, &app).await.is_empty());

    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &client, &mut key, "Laptop").await["success"],
        true
    );
    for tweak in ["origin", "rp", "uv", "challenge"] {
        let browser = app.client();
        let (_, begun) = post_json(
            &browser,
            &app.url("/api/user/passkey/login/begin"),
            json!({}),
        )
        .await;
        let mut options = begun["data"].clone();
        key.origin = origin(&app);
        key.rp_id_override = None;
        key.user_verified = true;
        match tweak {
            "origin" => key.origin = "https://localhost:1".into(),
            "rp" => key.rp_id_override = Some("127.0.0.1".into()),
            "uv" => key.user_verified = false,
            _ => {
                options["publicKey"]["challenge"] =
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()
            }
        }
        let answer = key.assert(&options);
        let (_, refused) =
            post_json(&browser, &app.url("/api/user/passkey/login/finish"), answer).await;
        assert_eq!(refused["success"], false, "{tweak}: {refused}");
        assert_eq!(refused["message"], "通行密钥验证失败", "{tweak}");
        let (status, _) = get_json(&browser, &app.url("/api/user/self")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{tweak}");
    }
    app.stop().await;
}

async fn a_counter_that_goes_back_is_refused_and_audited(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (client, user_id) = app.user("alice").await;
    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &client, &mut key, "Laptop").await["success"],
        true
    );
    for _ in 0..3 {
        assert_eq!(sign_in(&app, &mut key).await.1["success"], true);
    }
    let used_at = passkeys(&client, &app).await[0]["last_used_at"].clone();
    // A clone of the authenticator as it was after the first use.
    key.credentials[0].counter = 1;
    let (browser, refused) = sign_in(&app, &mut key).await;
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(
        refused["message"],
        "通行密钥的签名计数异常，已拒绝；请联系管理员"
    );
    let (status, _) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(passkeys(&client, &app).await[0]["last_used_at"], used_at);
    let admin = app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &app.url("/api/admin/audit?action=passkey.counter_regression"),
    )
    .await;
    let entry = &audit["data"]["items"][0];
    assert_eq!(entry["target"], user_id.to_string(), "{audit}");
    assert_eq!(entry["detail"]["name"], "Laptop", "{audit}");
    app.stop().await;
}

async fn unknown_removed_and_foreign_credentials_are_refused(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (alice, _) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let mut alice_key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &alice, &mut alice_key, "A").await["success"],
        true
    );

    // A credential this site never registered.
    let mut stranger = SoftAuthenticator::new(&origin(&app));
    let (_, begun) = post_json(
        &app.client(),
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    assert_eq!(begun["success"], false, "no session, no enrolment: {begun}");
    let (_, begun) = post_json(
        &bob,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    stranger.register(&begun["data"]);
    let (_, refused) = sign_in(&app, &mut stranger).await;
    assert_eq!(refused["message"], "通行密钥不存在或已被删除", "{refused}");

    // Alice's credential presented under Bob's user handle.
    let (_, begun) = post_json(
        &bob,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    let mut bob_key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        post_json(
            &bob,
            &app.url("/api/user/passkey/register/finish"),
            json!({"name": "B", "credential": bob_key.register(&begun["data"])}),
        )
        .await
        .1["success"],
        true
    );
    let bob_handle = bob_key.credentials[0].user_handle.clone();
    let real_handle = std::mem::replace(&mut alice_key.credentials[0].user_handle, bob_handle);
    let (browser, refused) = sign_in(&app, &mut alice_key).await;
    assert_eq!(refused["message"], "通行密钥不存在或已被删除", "{refused}");
    let (status, _) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    alice_key.credentials[0].user_handle = real_handle;

    // Bob's passkey as the second factor of Alice's login: not hers.
    enrol_totp(&app, &alice).await;
    let browser = app.client();
    post_json(
        &browser,
        &app.url("/api/user/login"),
        json!({"username": "alice", "password": "password-123"}),
    )
    .await;
    let (_, begun) = post_json(
        &browser,
        &app.url("/api/user/login/2fa/passkey/begin"),
        json!({}),
    )
    .await;
    let answer = bob_key.assert_with(&begun["data"], 0);
    let (_, refused) = post_json(
        &browser,
        &app.url("/api/user/login/2fa/passkey/finish"),
        answer,
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    let (status, _) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Removed: it signs in no more.
    let id = passkeys(&alice, &app).await[0]["id"].as_i64().expect("id");
    let (_, removed) = into_parts(
        alice
            .delete(app.url(&format!("/api/user/passkey/{id}")))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(removed["success"], true, "{removed}");
    let (_, refused) = sign_in(&app, &mut alice_key).await;
    assert_eq!(refused["message"], "通行密钥不存在或已被删除", "{refused}");
    app.stop().await;
}

async fn passkeys_are_renamed_and_removed_but_never_the_last_way_in(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (alice, _) = app.user("alice").await;
    let (bob, _) = app.user("bob").await;
    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &alice, &mut key, "Laptop").await["success"],
        true
    );
    let id = passkeys(&alice, &app).await[0]["id"].as_i64().expect("id");
    let url = app.url(&format!("/api/user/passkey/{id}"));

    let patch = |client: &Client, name: &str| {
        client
            .patch(url.clone())
            .json(&json!({ "name": name }))
            .send()
    };
    let (_, renamed) = into_parts(patch(&alice, "Work laptop").await.expect("patch")).await;
    assert_eq!(renamed["success"], true, "{renamed}");
    for bad in ["", "   ", &"x".repeat(65)] {
        let (_, refused) = into_parts(patch(&alice, bad).await.expect("patch")).await;
        assert_eq!(refused["success"], false, "{bad:?}: {refused}");
    }
    // Bob can neither rename nor remove Alice's passkey.
    let (_, refused) = into_parts(patch(&bob, "mine").await.expect("patch")).await;
    assert_eq!(refused["message"], "通行密钥不存在", "{refused}");
    let (_, refused) = into_parts(bob.delete(url.clone()).send().await.expect("delete")).await;
    assert_eq!(refused["message"], "通行密钥不存在", "{refused}");
    assert_eq!(passkeys(&alice, &app).await[0]["name"], "Work laptop");

    // With no password the passkey is the account's last way in (an account made upstream that
    // unlinked its provider looks so).
    let me = user_id_of(&alice, &app).await;
    clear_password(&app, me).await;
    let (_, refused) = into_parts(alice.delete(url.clone()).send().await.expect("delete")).await;
    assert_eq!(
        refused["message"], "这是账户的最后一种登录方式，不能删除",
        "{refused}"
    );
    assert_eq!(passkeys(&alice, &app).await.len(), 1);
    // A second passkey makes the first removable.
    let mut second = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &alice, &mut second, "Phone").await["success"],
        true
    );
    let (_, removed) = into_parts(alice.delete(url).send().await.expect("delete")).await;
    assert_eq!(removed["success"], true, "{removed}");
    app.stop().await;
}

async fn user_id_of(client: &Client, app: &TestApp) -> i64 {
    let (_, me) = get_json(client, &app.url("/api/user/self")).await;
    me["data"]["id"].as_i64().expect("id")
}

/// Leaves the account with no password, as one made through an upstream provider has.
async fn clear_password(app: &TestApp, user: i64) {
    app.execute_sql(&format!(
        "UPDATE users SET password_hash = NULL WHERE id = {user}"
    ))
    .await;
}

async fn developer_tokens_and_malformed_bodies_change_nothing(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (alice, _) = app.user("alice").await;
    let (_, token) = get_json(&alice, &app.url("/api/user/token")).await;
    let token = token["data"].as_str().expect("token").to_owned();
    let with_token = app.client();
    let (status, refused) = into_parts(
        with_token
            .post(app.url("/api/user/passkey/register/begin"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .expect("begin"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    let mut key = SoftAuthenticator::new(&origin(&app));
    let (_, begun) = post_json(
        &alice,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    let credential = key.register(&begun["data"]);
    // Not a credential at all: refused, nothing stored.
    let (_, refused) = post_json(
        &alice,
        &app.url("/api/user/passkey/register/finish"),
        json!({"name": "x", "credential": {"id": 5}}),
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");
    // Not JSON.
    let (status, _) = into_parts(
        alice
            .post(app.url("/api/user/passkey/login/finish"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The malformed finish spent the challenge: the good answer now finds none.
    let (_, refused) = post_json(
        &alice,
        &app.url("/api/user/passkey/register/finish"),
        json!({"name": "Laptop", "credential": credential}),
    )
    .await;
    assert_eq!(refused["message"], "验证已过期，请重试", "{refused}");
    assert!(passkeys(&alice, &app).await.is_empty());
    // Oversized (last: the server answers before reading it all and drops the connection).
    let (status, _) = post_json(
        &alice,
        &app.url("/api/user/passkey/register/finish"),
        json!({"name": "x", "credential": {"id": "a".repeat(2_000_000)}}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        passkeys(&app.login("alice", "password-123").await, &app)
            .await
            .is_empty()
    );
    app.stop().await;
}

async fn enrolment_needs_a_recent_sign_in(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (alice, user_id) = app.user("alice").await;
    // The session's login was 11 minutes ago.
    app.execute_sql(&format!(
        "UPDATE sessions SET created_at = created_at - 660 WHERE user_id = {user_id}"
    ))
    .await;
    let (status, refused) = post_json(
        &alice,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["message"], "请重新登录后再进行此操作");
    // The page offers signing in again instead of the button.
    let page = alice
        .get(app.url("/user/security"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(!page.contains("id=\"passkey-add\""), "no enrolment button");
    assert!(
        page.contains("/login?prompt=login"),
        "a way to sign in again"
    );
    // Signing in again makes it recent.
    let fresh = app.login("alice", "password-123").await;
    let (_, begun) = post_json(
        &fresh,
        &app.url("/api/user/passkey/register/begin"),
        json!({}),
    )
    .await;
    assert_eq!(begun["success"], true, "{begun}");
    app.stop().await;
}

async fn an_admin_removes_a_lost_passkey_within_their_rank(backend: Backend) {
    let app = TestApp::spawn_at_localhost(backend).await;
    let (alice, alice_id) = app.user("alice").await;
    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &alice, &mut key, "Lost phone").await["success"],
        true
    );
    let passkey = passkeys(&alice, &app).await[0]["id"].as_i64().expect("id");
    let root = app.admin().await;
    let (_, listed) = get_json(
        &root,
        &app.url(&format!("/api/admin/users/{alice_id}/passkeys")),
    )
    .await;
    assert_eq!(listed["data"][0]["name"], "Lost phone", "{listed}");

    // A plain user cannot; an admin cannot act on the root above them.
    let (bob, _) = app.user("bob").await;
    let url = app.url(&format!("/api/admin/users/{alice_id}/passkeys/{passkey}"));
    let (status, _) = into_parts(bob.delete(url.clone()).send().await.expect("delete")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let root_id = user_id_of(&root, &app).await;
    let (_, carol_id) = app.user("carol").await;
    let (_, made) = into_parts(
        root.patch(app.url(&format!("/api/admin/users/{carol_id}")))
            .json(&json!({"role": 10}))
            .send()
            .await
            .expect("promote"),
    )
    .await;
    assert_eq!(made["success"], true, "{made}");
    let carol = app.login("carol", "password-123").await;
    let (_, refused) = get_json(
        &carol,
        &app.url(&format!("/api/admin/users/{root_id}/passkeys")),
    )
    .await;
    assert_eq!(refused["success"], false, "{refused}");

    let (_, removed) = into_parts(carol.delete(url).send().await.expect("delete")).await;
    assert_eq!(removed["success"], true, "{removed}");
    assert!(passkeys(&alice, &app).await.is_empty());
    let (_, refused) = sign_in(&app, &mut key).await;
    assert_eq!(refused["message"], "通行密钥不存在或已被删除", "{refused}");
    let (_, audit) = get_json(&root, &app.url("/api/admin/audit?action=passkey.removed")).await;
    let entry = &audit["data"]["items"][0];
    assert_eq!(entry["target"], alice_id.to_string(), "{audit}");
    assert_eq!(entry["detail"]["by_admin"], true, "{audit}");
    app.stop().await;
}

/// The mails the fake SMTP server has, once there are at least `count`.
async fn mails(fakes: &crate::fakes::FakeServer, count: usize) -> Vec<String> {
    for _ in 0..100 {
        if fakes.mails().len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    fakes.mails()
}

async fn passkeys_are_exported_shown_to_admins_and_their_changes_mailed(backend: Backend) {
    let fakes = crate::fakes::FakeServer::start().await;
    let app = TestApp::spawn_at_localhost(backend).await;
    let root = app.admin().await;
    let (_, saved) = into_parts(
        root.put(app.url("/api/admin/settings"))
            .json(&json!({
                "smtp_host": "127.0.0.1", "smtp_port": fakes.smtp_port, "smtp_security": "none",
                "smtp_from": "Keyward <noreply@keyward.test>",
            }))
            .send()
            .await
            .expect("settings"),
    )
    .await;
    assert_eq!(saved["success"], true, "{saved}");
    let (alice, alice_id) = app.user("alice").await;
    app.execute_sql(&format!(
        "UPDATE users SET email = 'alice@example.com', email_verified = TRUE WHERE id = {alice_id}"
    ))
    .await;

    let mut key = SoftAuthenticator::new(&origin(&app));
    assert_eq!(
        enrol(&app, &alice, &mut key, "Laptop").await["success"],
        true
    );
    let added = mails(&fakes, 1).await;
    assert!(
        added
            .iter()
            .any(|m| m.contains("alice@example.com") && m.contains("Laptop")),
        "{added:?}"
    );

    // The export lists it by name and date, and holds nothing of the key.
    let (_, export) = get_json(&alice, &app.url("/api/user/export")).await;
    assert_eq!(export["data"]["passkeys"][0]["name"], "Laptop", "{export}");
    let text = export.to_string();
    let credential_id = URL_SAFE_NO_PAD.encode(&key.credentials[0].id);
    assert!(
        !text.contains(&credential_id),
        "no credential id in the export"
    );
    assert!(
        !text.contains("sign_count") && !text.contains("\"cred\""),
        "{text}"
    );

    // The admin sees it among the ways in and removes it; alice is told.
    let (_, ways) = get_json(
        &root,
        &app.url(&format!("/api/admin/users/{alice_id}/ways_in")),
    )
    .await;
    assert_eq!(ways["data"]["passkeys"][0]["name"], "Laptop", "{ways}");
    let id = ways["data"]["passkeys"][0]["id"].as_i64().expect("id");
    let before = fakes.mails().len();
    let (_, removed) = into_parts(
        root.delete(app.url(&format!("/api/admin/users/{alice_id}/passkeys/{id}")))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(removed["success"], true, "{removed}");
    let told = mails(&fakes, before + 1).await;
    assert!(
        told[before..]
            .iter()
            .any(|m| m.contains("An administrator removed the passkey")),
        "{told:?}"
    );

    // Deleting the account mails its last address.
    let before = fakes.mails().len();
    let (_, deleted) = into_parts(
        alice
            .delete(app.url("/api/user/self"))
            .json(&json!({"confirm": "alice"}))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(deleted["success"], true, "{deleted}");
    let told = mails(&fakes, before + 1).await;
    assert!(
        told[before..]
            .iter()
            .any(|m| m.contains("alice@example.com") && m.contains("Your account was deleted")),
        "{told:?}"
    );
    app.stop().await;
}
