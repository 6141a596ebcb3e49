//! Registration, login, self, logout, password change, developer tokens.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    a_user_registers_logs_in_reads_self_and_logs_out,
    usernames_are_unique_regardless_of_case,
    wrong_password_and_unknown_user_get_the_same_answer,
    unknown_users_cost_as_much_time_as_known_ones,
    registration_can_be_switched_off_by_an_admin,
    invalid_fields_are_refused_in_the_envelope,
    a_password_change_needs_the_old_one_and_ends_other_sessions,
    developer_tokens_are_shown_once_and_replace_each_other,
    new_api_user_header_must_name_the_caller,
    concurrent_registrations_of_one_name_let_exactly_one_win,
    health_and_readiness_answer,
    a_refused_self_update_changes_nothing,
);

async fn a_user_registers_logs_in_reads_self_and_logs_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();

    let (status, body) = post_json(
        &client,
        &app.url("/api/user/register"),
        json!({"username": "alice", "password": "correct horse battery"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["username"], "alice");
    assert!(body["data"].get("password_hash").is_none());
    // Registration does not log in (new-api behaviour).
    let (status, _) = get_json(&client, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let res = client
        .post(app.url("/api/user/login"))
        .json(&json!({"username": "alice", "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    let cookie = crate::helpers::set_cookie(&res, "keyward_session").expect("session cookie");
    assert!(cookie.starts_with("keyward_session=ses_"), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain-http deployment must not set Secure"
    );
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["username"], "alice");
    assert_eq!(body["data"]["role"], 1);
    assert_eq!(body["data"]["status"], 1);

    let (status, me) = get_json(&client, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::OK);
    let data = &me["data"];
    assert_eq!(data["username"], "alice");
    assert_eq!(data["display_name"], "alice");
    assert!(data["uuid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(
        data["user_number"]
            .as_str()
            .is_some_and(|n| n.starts_with("u_"))
    );
    assert_eq!(data["quota"], 0);
    assert!(data["last_login_time"].as_i64().is_some_and(|t| t > 0));

    // Logout kills the session on the server: replaying the old cookie is refused.
    let session_value = cookie.split(';').next().expect("pair").to_owned();
    let (status, body) = get_json(&client, &app.url("/api/user/logout")).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true))
    );
    let replay = reqwest::Client::new()
        .get(app.url("/api/user/self"))
        .header("cookie", &session_value)
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn usernames_are_unique_regardless_of_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("Bob", "password-123").await;
    let (status, body) = post_json(
        &app.client(),
        &app.url("/api/user/register"),
        json!({"username": "bob", "password": "password-456"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], false);
    assert_eq!(body["message"], "用户名已存在，或已注销");
    // The original account is untouched and logs in under any case.
    app.login("BOB", "password-123").await;
}

async fn wrong_password_and_unknown_user_get_the_same_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("carol", "password-123").await;
    let client = app.client();
    let url = app.url("/api/user/login");
    let wrong = post_json(
        &client,
        &url,
        json!({"username": "carol", "password": "nope-nope"}),
    )
    .await;
    let unknown = post_json(
        &client,
        &url,
        json!({"username": "nobody", "password": "nope-nope"}),
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.0, StatusCode::OK);
    assert_eq!(wrong.1["success"], false);
    assert_eq!(wrong.1["message"], "用户名或密码错误，或用户已被封禁");
    let (status, _) = get_json(&client, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn unknown_users_cost_as_much_time_as_known_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("dave", "password-123").await;
    let client = app.client();
    let url = app.url("/api/user/login");
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // Under the per-account limit (5) for each name.
    for i in 0..4 {
        let start = std::time::Instant::now();
        post_json(
            &client,
            &url,
            json!({"username": "dave", "password": format!("bad-{i}-pass")}),
        )
        .await;
        known.push(start.elapsed());
        let start = std::time::Instant::now();
        post_json(
            &client,
            &url,
            json!({"username": format!("ghost{i}"), "password": "bad-pass-x"}),
        )
        .await;
        unknown.push(start.elapsed());
    }
    known.sort();
    unknown.sort();
    // Medians: an unknown name must still pay for a full argon2 verification.
    let (k, u) = (known[2], unknown[2]);
    assert!(
        u * 2 >= k,
        "unknown user answered much faster ({u:?}) than a known one ({k:?})"
    );
}

async fn registration_can_be_switched_off_by_an_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"register_enabled": false}))
        .send()
        .await
        .expect("settings");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["register_enabled"], false);

    let (status, body) = post_json(
        &app.client(),
        &app.url("/api/user/register"),
        json!({"username": "eve", "password": "password-123"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], false);
    assert_eq!(body["message"], "管理员关闭了新用户注册");
    let (_, body) = post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": "eve", "password": "password-123"}),
    )
    .await;
    assert_eq!(
        body["success"], false,
        "the refused registration created nothing"
    );

    // Password logins can be closed too, with new-api's message.
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"password_login_enabled": false}))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK);
    let (_, body) = post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": crate::helpers::ADMIN, "password": crate::helpers::ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(body["message"], "管理员关闭了密码登录");
}

async fn invalid_fields_are_refused_in_the_envelope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let url = app.url("/api/user/register");
    for (username, password) in [
        ("", "password-123"),
        ("has space", "password-123"),
        ("a@b.example", "password-123"),
        ("nul\u{0}byte", "password-123"),
        ("twentyonecharacters21", "password-123"),
        ("shortpw", "1234567"),
        ("longpw", &"x".repeat(129)),
    ] {
        let (status, body) = post_json(
            &client,
            &url,
            json!({"username": username, "password": password}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{username:?}");
        assert_eq!(body["success"], false, "{username:?} accepted");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (_, body) = post_json(
        &client,
        &url,
        json!({"username": "ok", "password": "password-123", "display_name": "bad\u{7}bell"}),
    )
    .await;
    assert_eq!(body["success"], false);
    // None of the refused registrations left an account behind.
    let admin = app.admin().await;
    let (_, list) = get_json(&admin, &app.url("/api/admin/users?page_size=100")).await;
    assert_eq!(
        list["data"]["items"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );
}

async fn a_password_change_needs_the_old_one_and_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (phone, _) = app.user("frank").await;
    let laptop = app.login("frank", "password-123").await;

    let res = laptop
        .put(app.url("/api/user/self"))
        .json(&json!({"password": "brand-new-pass", "original_password": "wrong-old"}))
        .send()
        .await
        .expect("put");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(false))
    );
    assert_eq!(body["message"], "原密码错误");

    let res = laptop
        .put(app.url("/api/user/self"))
        .json(&json!({"password": "brand-new-pass", "original_password": "password-123", "display_name": "Frank F"}))
        .send()
        .await
        .expect("put");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["data"]["display_name"], "Frank F");

    // The other device is logged out; this one got a fresh session.
    let (status, _) = get_json(&phone, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get_json(&laptop, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = post_json(
        &app.client(),
        &app.url("/api/user/login"),
        json!({"username": "frank", "password": "password-123"}),
    )
    .await;
    assert_eq!(body["success"], false);
    app.login("frank", "brand-new-pass").await;
}

async fn developer_tokens_are_shown_once_and_replace_each_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, id) = app.user("grace").await;
    let (status, body) = get_json(&client, &app.url("/api/user/token")).await;
    assert_eq!(status, StatusCode::OK);
    let first = body["data"].as_str().expect("token").to_owned();
    assert!(first.starts_with("kwd_") && first.len() >= 40, "{first}");

    let bare = reqwest::Client::new();
    let me = |token: String| {
        let bare = bare.clone();
        let url = app.url("/api/user/self");
        async move { into_parts(bare.get(url).bearer_auth(token).send().await.expect("self")).await }
    };
    let (status, body) = me(first.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["id"], id);

    // A token cannot mint its successor.
    let res = bare
        .get(app.url("/api/user/token"))
        .bearer_auth(&first)
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (_, body) = get_json(&client, &app.url("/api/user/token")).await;
    let second = body["data"].as_str().expect("token").to_owned();
    assert_ne!(first, second);
    assert_eq!(me(first).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(second).await.0, StatusCode::OK);
    assert_eq!(me("kwd_forged".into()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me("garbage".into()).await.0, StatusCode::UNAUTHORIZED);
}

async fn new_api_user_header_must_name_the_caller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, id) = app.user("heidi").await;
    let ok = client
        .get(app.url("/api/user/self"))
        .header("New-Api-User", id.to_string())
        .send()
        .await
        .expect("self");
    assert_eq!(ok.status(), StatusCode::OK);
    let other = client
        .get(app.url("/api/user/self"))
        .header("New-Api-User", (id + 1).to_string())
        .send()
        .await
        .expect("self");
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    let junk = client
        .get(app.url("/api/user/self"))
        .header("New-Api-User", "x")
        .send()
        .await
        .expect("self");
    assert_eq!(junk.status(), StatusCode::UNAUTHORIZED);
}

async fn concurrent_registrations_of_one_name_let_exactly_one_win(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = app.client();
        let url = app.url("/api/user/register");
        tasks.push(tokio::spawn(async move {
            post_json(
                &client,
                &url,
                json!({"username": "race", "password": format!("password-{i}")}),
            )
            .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["success"] == true {
            wins += 1;
        } else {
            assert_eq!(body["message"], "用户名已存在，或已注销");
        }
    }
    assert_eq!(wins, 1);
}

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    for path in ["/healthz", "/readyz"] {
        let res = client.get(app.url(path)).send().await.expect("probe");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let (status, body) = get_json(&client, &app.url("/api/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["success"], false);
    let res = client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.expect("text");
    assert!(
        text.contains("http_requests_total") && text.contains(r#"path="/healthz""#),
        "{text}"
    );
    assert!(
        !text.contains("/api/nope"),
        "raw paths must not become labels"
    );
    app.stop().await;
}

async fn a_refused_self_update_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.user("gina").await;
    let update = |body: Value| {
        let (client, url) = (&client, app.url("/api/user/self"));
        async move { into_parts(client.put(url).json(&body).send().await.expect("put")).await }
    };
    // A wrong current password refuses the whole request: the new name is not saved either.
    let (_, body) = update(json!({
        "display_name": "Renamed",
        "password": "brand-new-pass",
        "original_password": "wrong-old",
    }))
    .await;
    assert_eq!(body["success"], false, "{body}");
    // And a bad name refuses the password change with it.
    let (_, body) = update(json!({
        "display_name": "x".repeat(21),
        "password": "brand-new-pass",
        "original_password": "password-123",
    }))
    .await;
    assert_eq!(body["success"], false, "{body}");
    let (_, me) = get_json(&client, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["display_name"], "gina", "{me}");
    app.login("gina", "password-123").await;

    let (_, body) = update(json!({"display_name": "Gina G"})).await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["data"]["display_name"], "Gina G");
}
