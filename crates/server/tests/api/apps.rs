//! The developer API: validation, ownership, review, deletion.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    app_registrations_are_validated,
    apps_are_private_to_their_owner,
    a_rejected_app_cannot_be_used_until_approved,
    deleting_an_app_kills_its_tokens,
    without_review_the_secret_comes_with_the_creation,
    widening_an_app_waits_for_review_while_the_approved_one_keeps_working,
    only_the_owner_edits_an_app_and_fields_are_checked,
    the_first_secret_can_be_revealed_by_an_explicit_post_once,
);

async fn create(app: &TestApp, client: &reqwest::Client, body: Value) -> (StatusCode, Value) {
    post_json(client, &app.url("/api/oauth_apps"), body).await
}

async fn app_registrations_are_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (dev, _) = app.user("vera").await;
    let long = format!("https://a.example/{}", "x".repeat(2100));
    let too_many: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
    let bad = [
        json!({"name": "", "redirect_uri": CALLBACK}),
        json!({"name": "x".repeat(51), "redirect_uri": CALLBACK}),
        json!({"name": "ok", "description": "d".repeat(501), "redirect_uri": CALLBACK}),
        json!({"name": "ok"}),
        json!({"name": "ok", "redirect_uri": "javascript:alert(1)"}),
        json!({"name": "ok", "redirect_uri": "https://a.example/cb#frag"}),
        json!({"name": "ok", "redirect_uri": "http://a.example/cb"}),
        json!({"name": "ok", "redirect_uri": long}),
        json!({"name": "ok", "redirect_uris": too_many}),
        json!({"name": "ok", "redirect_uri": CALLBACK, "scopes": ["profile", "root"]}),
        json!({"name": "ok", "redirect_uri": CALLBACK, "scopes": []}),
        json!({"name": "ok", "redirect_uri": CALLBACK, "grant_types": ["password"]}),
        json!({"name": "ok", "redirect_uri": CALLBACK, "public": true, "grant_types": ["client_credentials"]}),
    ];
    for body in bad {
        let (status, value) = create(&app, &dev, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(value["success"], false, "{body} accepted: {value}");
    }
    for body in [
        json!("not an object"),
        json!({"name": 5, "redirect_uri": CALLBACK}),
    ] {
        let (status, _) = create(&app, &dev, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (_, list) = get_json(&dev, &app.url("/api/oauth_apps")).await;
    assert_eq!(
        list["data"].as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );
    // Loopback http is fine for native apps; scopes may be a string.
    let (_, value) = create(&app, &dev, json!({"name": "cli", "redirect_uris": ["http://127.0.0.1:9/cb", "http://localhost/cb"], "scopes": "openid profile"})).await;
    assert_eq!(value["success"], true, "{value}");
    assert_eq!(value["data"]["scopes"], "openid profile");
    assert_eq!(
        value["data"]["grant_types"],
        "authorization_code refresh_token"
    );
    // Anonymous callers cannot register.
    let (status, _) = create(
        &app,
        &app.client(),
        json!({"name": "x", "redirect_uri": CALLBACK}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn apps_are_private_to_their_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.user("wanda").await;
    let registered = register_app(&app, &owner, json!({})).await;
    let (intruder, _) = app.user("xena").await;
    let path = format!("/api/oauth_apps/{}", registered.id);
    let (status, _) = get_json(&intruder, &app.url(&path)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = intruder
        .delete(app.url(&path))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, list) = get_json(&intruder, &app.url("/api/oauth_apps")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
    let (status, view) = get_json(&owner, &app.url(&path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["data"]["client_id"], registered.client_id.as_str());
}

async fn a_rejected_app_cannot_be_used_until_approved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (dev, _) = app.user("yuri").await;
    let (_, created) = create(
        &app,
        &dev,
        json!({"name": "Later", "redirect_uri": CALLBACK}),
    )
    .await;
    let id = created["data"]["id"].as_i64().expect("id");
    let client_id = created["data"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let admin = app.admin().await;
    let (_, pending) = get_json(&admin, &app.url("/api/admin/oauth_apps?status=pending")).await;
    assert!(
        pending["data"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|a| a["id"] == id)
    );
    let (_, rejected) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/reject")),
        json!({"reason": "describe your app"}),
    )
    .await;
    assert_eq!(rejected["data"]["status"], "rejected");
    let (_, view) = get_json(&dev, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert_eq!(view["data"]["review_note"], "describe your app");
    assert!(
        view["data"].get("client_secret").is_none(),
        "a rejected app gets no secret"
    );
    let (browser, _) = app.user("zed").await;
    let params = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("state", "s"),
    ];
    let (status, location, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));
    // Rejecting twice is refused; approving later works and the secret appears once.
    let (_, again) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/reject")),
        json!({}),
    )
    .await;
    assert_eq!(again["success"], false);
    post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/approve")),
        json!({}),
    )
    .await;
    let (_, view) = get_json(&dev, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert!(
        view["data"]["client_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("secret_"))
    );
    let (status, _, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!(status, StatusCode::OK);
    // Ordinary users cannot review.
    let (status, _) = post_json(
        &dev,
        &app.url(&format!("/api/admin/oauth_apps/{id}/disable")),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn deleting_an_app_kills_its_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (dev, _) = app.user("walt").await;
    let registered = register_app(&app, &dev, json!({})).await;
    let (browser, _) = app.user("ursa").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("state", "s"),
    ];
    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    let (_, tokens) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
        ],
    )
    .await;
    let access = tokens["access_token"].as_str().expect("access");
    assert_eq!(userinfo_b(&app, access).await.0, StatusCode::OK);
    let res = dev
        .delete(app.url(&format!("/api/oauth_apps/{}", registered.id)))
        .send()
        .await
        .expect("delete");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(userinfo_b(&app, access).await.0, StatusCode::UNAUTHORIZED);
    let (_, list) = get_json(&browser, &app.url("/api/user/authorizations")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
}

async fn without_review_the_secret_comes_with_the_creation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"app_review_required": false}))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK);
    let (dev, _) = app.user("quincy").await;
    let (_, created) = create(&app, &dev, json!({"name": "我的第三方应用", "description": "应用描述信息", "redirect_uri": "https://yourapp.com/oauth/callback"})).await;
    assert_eq!(created["success"], true);
    assert_eq!(created["message"], "应用创建成功");
    let data = &created["data"];
    for key in [
        "id",
        "name",
        "client_id",
        "client_secret",
        "redirect_uri",
        "created_time",
    ] {
        assert!(!data[key].is_null(), "{key} missing from {data}");
    }
    assert_eq!(data["status"], "approved");
    let (_, view) = get_json(&dev, &app.url(&format!("/api/oauth_apps/{}", data["id"]))).await;
    assert!(
        view["data"].get("client_secret").is_none(),
        "shown exactly once"
    );
}

async fn patch(
    app: &TestApp,
    client: &reqwest::Client,
    id: i64,
    body: Value,
) -> (StatusCode, Value) {
    let res = client
        .patch(app.url(&format!("/api/oauth_apps/{id}")))
        .json(&body)
        .send()
        .await
        .expect("patch");
    into_parts(res).await
}

/// The authorize request of `client_id` to `redirect_uri` with `scope`, for a signed-in browser:
/// whether the consent page (or a code) comes back rather than a refusal.
async fn authorizes(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
) -> bool {
    let (status, location, body) = authorize(
        app,
        browser,
        "/oauth/authorize",
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "s"),
        ],
    )
    .await;
    match status {
        StatusCode::OK => body.contains("name=\"decision\""),
        StatusCode::FOUND => {
            location.is_some_and(|l| l.starts_with(redirect_uri) && param(&l, "code").is_some())
        }
        _ => false,
    }
}

async fn audit_actions(app: &TestApp, action: &str) -> Vec<Value> {
    let admin = app.admin().await;
    let (_, audit) = get_json(
        &admin,
        &app.url(&format!("/api/admin/audit?action={action}")),
    )
    .await;
    audit["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn widening_an_app_waits_for_review_while_the_approved_one_keeps_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (dev, _) = app.user("wanda").await;
    let registered = register_app(&app, &dev, json!({"scopes": "profile balance"})).await;
    let id = registered.id;
    let (browser, _) = app.user("user").await;
    const NEW: &str = "https://other.example.net/cb";

    // A new host and a new scope wait; the description applies at once.
    let (status, edited) = patch(
        &app,
        &dev,
        id,
        json!({
            "redirect_uris": [CALLBACK, NEW],
            "scopes": ["profile", "balance", "email"],
            "description": "Now with two callbacks",
            "client_uri": "https://app.example.com/",
        }),
    )
    .await;
    assert_eq!(
        (status, edited["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{edited}"
    );
    let data = &edited["data"];
    assert_eq!(data["redirect_uris"], json!([CALLBACK]), "{edited}");
    assert_eq!(data["scopes"], "profile balance");
    assert_eq!(data["description"], "Now with two callbacks");
    assert_eq!(data["client_uri"], "https://app.example.com/");
    assert_eq!(data["status"], "approved");
    assert_eq!(
        data["pending_change"]["redirect_uris"],
        json!([CALLBACK, NEW])
    );
    assert_eq!(data["pending_change"]["scopes"], "profile email balance");
    assert!(
        data["pending_change"]["requested_time"].is_i64(),
        "{edited}"
    );
    let admin = app.admin().await;
    let (_, waiting) = get_json(&admin, &app.url("/api/admin/oauth_apps?status=changes")).await;
    assert_eq!(waiting["data"]["items"][0]["id"], id, "{waiting}");

    // Meanwhile the approved configuration works and the asked-for one does not.
    let cid = registered.client_id.as_str();
    assert!(authorizes(&app, &browser, cid, CALLBACK, "profile").await);
    assert!(!authorizes(&app, &browser, cid, NEW, "profile").await);
    assert!(!authorizes(&app, &browser, cid, CALLBACK, "email").await);

    // An admin approves the change: it is in force, as asked for.
    let (_, approved) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/change/approve")),
        json!({}),
    )
    .await;
    assert_eq!(approved["success"], true, "{approved}");
    assert_eq!(approved["data"]["redirect_uris"], json!([CALLBACK, NEW]));
    assert!(approved["data"].get("pending_change").is_none());
    assert_eq!(approved["data"]["reviewed"], true);
    assert!(authorizes(&app, &browser, cid, NEW, "email").await);

    // Narrowing applies at once, without review.
    let (_, narrowed) = patch(
        &app,
        &dev,
        id,
        json!({"redirect_uris": [NEW], "scopes": "profile"}),
    )
    .await;
    assert_eq!(narrowed["success"], true, "{narrowed}");
    assert_eq!(narrowed["data"]["redirect_uris"], json!([NEW]));
    assert_eq!(narrowed["data"]["scopes"], "profile");
    assert!(
        narrowed["data"].get("pending_change").is_none(),
        "{narrowed}"
    );
    assert!(!authorizes(&app, &browser, cid, CALLBACK, "profile").await);

    // A new name waits too (users trust the reviewed one); the owner may withdraw it, and an
    // admin may reject the next one.
    let (_, renamed) = patch(&app, &dev, id, json!({"name": "Totally Official"})).await;
    assert_eq!(renamed["data"]["name"], "Test App");
    assert_eq!(
        renamed["data"]["pending_change"]["name"],
        "Totally Official"
    );
    let res = dev
        .delete(app.url(&format!("/api/oauth_apps/{id}/change")))
        .send()
        .await
        .expect("withdraw");
    let (_, withdrawn) = into_parts(res).await;
    assert_eq!(withdrawn["success"], true, "{withdrawn}");
    assert!(withdrawn["data"].get("pending_change").is_none());
    patch(
        &app,
        &dev,
        id,
        json!({"logo_uri": "https://cdn.example.com/logo.png"}),
    )
    .await;
    let (_, rejected) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/change/reject")),
        json!({}),
    )
    .await;
    assert_eq!(rejected["success"], true, "{rejected}");
    assert!(rejected["data"].get("logo_uri").is_none(), "{rejected}");
    let (_, again) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/change/reject")),
        json!({}),
    )
    .await;
    assert_eq!(again["success"], false, "nothing waits: {again}");

    // Audited: each edit with what applied and what waits, and each decision.
    let edits = audit_actions(&app, "app.edited").await;
    assert_eq!(edits.len(), 4, "{edits:?}");
    assert!(
        edits
            .iter()
            .all(|e| e["target"] == registered.client_id.as_str())
    );
    let first = edits.last().expect("first edit");
    assert_eq!(
        first["detail"]["applied"],
        json!(["description", "client_uri"]),
        "{first}"
    );
    assert_eq!(
        first["detail"]["pending"],
        json!(["redirect_uris", "scopes"]),
        "{first}"
    );
    for action in [
        "app.change_approved",
        "app.change_rejected",
        "app.change_withdrawn",
    ] {
        assert_eq!(audit_actions(&app, action).await.len(), 1, "{action}");
    }
}

async fn only_the_owner_edits_an_app_and_fields_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (dev, _) = app.user("olga").await;
    let registered = register_app(&app, &dev, json!({})).await;
    let id = registered.id;
    let (stranger, _) = app.user("stranger").await;
    let (_, refused) = patch(&app, &stranger, id, json!({"description": "mine now"})).await;
    assert_eq!(refused["success"], false, "{refused}");
    let (_, refused) = patch(&app, &app.admin().await, id, json!({"description": "x"})).await;
    assert_eq!(refused["success"], false, "not even an admin: {refused}");
    let res = stranger
        .delete(app.url(&format!("/api/oauth_apps/{id}/change")))
        .send()
        .await
        .expect("withdraw");
    assert_eq!(into_parts(res).await.1["success"], false);
    for body in [
        json!({"logo_uri": "http://cdn.example.com/logo.png"}),
        json!({"client_uri": "javascript:alert(1)"}),
        json!({"policy_uri": "ftp://x.example/"}),
        json!({"redirect_uris": []}),
        json!({"redirect_uris": ["http://app.example.com/cb"]}),
        json!({"post_logout_redirect_uris": ["https://x.example/#f"]}),
        json!({"scopes": "root"}),
        json!({"name": ""}),
    ] {
        let (_, value) = patch(&app, &dev, id, body.clone()).await;
        assert_eq!(value["success"], false, "{body} accepted: {value}");
    }
    let (status, _) = patch(&app, &dev, id, json!({"secret_hash": "x"})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused"
    );
    let (_, view) = get_json(&dev, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert_eq!(
        view["data"]["description"], "An app under test",
        "nothing changed"
    );
    assert!(audit_actions(&app, "app.edited").await.is_empty());
}

async fn the_first_secret_can_be_revealed_by_an_explicit_post_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (dev, _) = app.user("rhea").await;
    let (_, created) = create_app(
        &app,
        &dev,
        &json!({"name": "Explicit", "redirect_uri": CALLBACK, "grant_types": ["client_credentials"]}),
    )
    .await;
    let id = created["data"]["id"].as_i64().expect("id");
    let url = app.url(&format!("/api/oauth_apps/{id}/reveal"));
    let (_, early) = post_json(&dev, &url, json!({})).await;
    assert_eq!(early["success"], false, "not before approval: {early}");
    let admin = app.admin().await;
    post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/approve")),
        json!({}),
    )
    .await;
    // The list never mints one.
    let (_, list) = get_json(&dev, &app.url("/api/oauth_apps")).await;
    assert_eq!(list["data"][0]["secret_revealed"], false, "{list}");
    let (_, revealed) = post_json(&dev, &url, json!({})).await;
    let secret = revealed["data"]["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let client_id = revealed["data"]["client_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = post_json(&dev, &url, json!({})).await;
    assert_eq!(again["success"], false, "once: {again}");
    let (_, view) = get_json(&dev, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert!(view["data"].get("client_secret").is_none(), "{view}");
}
