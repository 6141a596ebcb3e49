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
