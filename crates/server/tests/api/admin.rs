//! The admin API: who may call it, and what admins may change.

use crate::helpers::{Backend, TestApp, get_json, into_parts};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    admin_endpoints_refuse_anonymous_and_ordinary_users,
    an_admin_lists_searches_and_updates_users,
    admins_cannot_escalate_or_lock_themselves_out,
    an_admins_developer_token_reaches_the_admin_api,
    settings_reject_unknown_keys_and_bad_types,
);

pub(crate) async fn patch(
    client: &reqwest::Client,
    app: &TestApp,
    id: i64,
    body: Value,
) -> (StatusCode, Value) {
    into_parts(
        client
            .patch(app.url(&format!("/api/admin/users/{id}")))
            .json(&body)
            .send()
            .await
            .expect("patch"),
    )
    .await
}

async fn admin_endpoints_refuse_anonymous_and_ordinary_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("rupert").await;
    let anonymous = app.client();
    for path in ["/api/admin/users", "/api/admin/settings"] {
        assert_eq!(
            get_json(&anonymous, &app.url(path)).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, body) = get_json(&user, &app.url(path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["success"], false);
    }
    let (status, _) = patch(&user, &app, id, json!({"quota": 1_000_000})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["quota"], 0, "nothing changed");
}

async fn an_admin_lists_searches_and_updates_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("sybil").await;
    app.register("trent", "password-123").await;
    let admin = app.admin().await;

    let (status, body) = get_json(&admin, &app.url("/api/admin/users?keyword=SYB")).await;
    assert_eq!(status, StatusCode::OK);
    let items = body["data"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["username"], "sybil");
    let (_, body) = get_json(&admin, &app.url("/api/admin/users?page_size=2&p=1")).await;
    assert_eq!(body["data"]["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        body["data"]["items"][0]["username"], "trent",
        "newest first"
    );

    let (status, body) = patch(
        &admin,
        &app,
        id,
        json!({"quota": 1_000_000, "used_quota": 250_000, "level": 4}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["quota"], 1_000_000);
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(
        (
            me["data"]["quota"].clone(),
            me["data"]["used_quota"].clone(),
            me["data"]["level"].clone()
        ),
        (json!(1_000_000), json!(250_000), json!(4))
    );

    // Root promotes to admin by name; the new admin then reaches the admin API.
    let (status, body) = patch(&admin, &app, id, json!({"role": "admin"})).await;
    assert_eq!(
        (status, body["data"]["role"].clone()),
        (StatusCode::OK, json!(10))
    );
    assert_eq!(
        get_json(&user, &app.url("/api/admin/users")).await.0,
        StatusCode::OK
    );

    for bad in [
        json!({"quota": -1}),
        json!({"status": 3}),
        json!({"role": "emperor"}),
        json!({"quota": "lots"}),
        json!({"unknown": 1}),
    ] {
        let (status, body) = patch(&admin, &app, id, bad.clone()).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{bad}: {status}"
        );
        assert_eq!(body["success"], false, "{bad} accepted");
    }
    let (status, _) = patch(&admin, &app, 999_999, json!({"quota": 1})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn admins_cannot_escalate_or_lock_themselves_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = app.admin().await;
    let (_, root_me) = get_json(&root, &app.url("/api/user/self")).await;
    let root_id = root_me["data"]["id"].as_i64().expect("id");
    let (admin, admin_id) = app.user("ursula").await;
    patch(&root, &app, admin_id, json!({"role": 10})).await;
    let (_, victim_id) = app.user("victor").await;

    // A plain admin may not change roles, nor touch root.
    let (_, body) = patch(&admin, &app, victim_id, json!({"role": 100})).await;
    assert_eq!(body["success"], false);
    let (_, body) = patch(&admin, &app, admin_id, json!({"role": 100})).await;
    assert_eq!(body["success"], false);
    let (_, body) = patch(&admin, &app, root_id, json!({"status": 2})).await;
    assert_eq!(body["success"], false);
    // But may manage ordinary users.
    let (_, body) = patch(&admin, &app, victim_id, json!({"level": 2})).await;
    assert_eq!(body["success"], true, "{body}");
    // Root cannot disable itself.
    let (_, body) = patch(&root, &app, root_id, json!({"status": 2})).await;
    assert_eq!(body["success"], false);
    assert_eq!(
        get_json(&root, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
}

async fn an_admins_developer_token_reaches_the_admin_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (_, body) = get_json(&admin, &app.url("/api/user/token")).await;
    let token = body["data"].as_str().expect("token");
    let res = reqwest::Client::new()
        .get(app.url("/api/admin/users"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), StatusCode::OK);
}

async fn settings_reject_unknown_keys_and_bad_types(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    for bad in [
        json!({"no_such_setting": true}),
        json!({"register_enabled": "yes"}),
        json!({"quota_for_new_user": -5}),
    ] {
        let res = admin
            .put(app.url("/api/admin/settings"))
            .json(&bad)
            .send()
            .await
            .expect("put");
        let (status, body) = into_parts(res).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["success"], false, "{bad} accepted");
    }
    let (_, body) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(body["data"]["register_enabled"], true);
    assert_eq!(body["data"]["quota_for_new_user"], 0);

    // A new-user quota applies to registrations from then on.
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"quota_for_new_user": 500}))
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), StatusCode::OK);
    let (user, _) = app.user("wendy").await;
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["quota"], 500);
}
