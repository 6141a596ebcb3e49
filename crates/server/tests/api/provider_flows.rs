//! The seed documents' flows, end to end: a developer registers an app, an admin approves it,
//! a user signs in to it, and the app reads the user — in both API families.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    the_2libra_flow_works_as_its_document_describes,
    the_new_api_flow_works_as_its_document_describes,
);

async fn the_2libra_flow_works_as_its_document_describes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("devon").await;
    let registered = register_app(&app, &developer, json!({"scopes": ["profile"]})).await;
    assert!(registered.client_id.starts_with("client_"));
    assert!(
        registered.client_secret.starts_with("secret_") && registered.client_secret.len() >= 50
    );

    // The secret was shown once: the next read does not carry it.
    let (_, again) = get_json(
        &developer,
        &app.url(&format!("/api/oauth_apps/{}", registered.id)),
    )
    .await;
    assert!(again["data"].get("client_secret").is_none(), "{again}");
    assert_eq!(again["data"]["secret_revealed"], true);

    // A user, not logged in, is sent to log in and comes back.
    let (_, user_id) = app.user("uma").await;
    let browser = app.client();
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "profile"),
        ("state", "xyz123"),
    ];
    let (status, location, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!(status, StatusCode::FOUND);
    let login = location.expect("login redirect");
    assert!(login.starts_with("/login?return_to="), "{login}");
    let page = browser
        .get(app.url(&login))
        .send()
        .await
        .expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers().get("content-security-policy").is_some());
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<form method="post" action="/login">"#));
    let mut fields = hidden_fields(&html);
    fields.push(("username".into(), "uma".into()));
    fields.push(("password".into(), "password-123".into()));
    let res = browser
        .post(app.url("/login"))
        .form(&fields)
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("back")
        .to_owned();
    assert!(back.starts_with("/oauth/authorize?"), "{back}");

    // Consent page, approve, code.
    let res = browser.get(app.url(&back)).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let html = res.text().await.expect("consent");
    assert!(html.contains(r#"<form method="post" action="/oauth/authorize">"#));
    assert!(
        html.contains(r#"name="decision" value="approve""#)
            && html.contains(r#"name="decision" value="deny""#)
    );
    assert!(html.contains("Test App") && html.contains("app.example.com"));
    let (status, location) = answer_consent(&app, &browser, &html, "approve").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("callback");
    assert!(
        location.starts_with(&format!("{CALLBACK}?code=")),
        "{location}"
    );
    assert_eq!(param(&location, "state").as_deref(), Some("xyz123"));
    let code = param(&location, "code").expect("code");

    // Step 3 of the document, byte for byte: a form POST with the client secret.
    let res = reqwest::Client::new()
        .post(app.url("/api/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={code}&client_id={}&client_secret={}&redirect_uri={}",
            registered.client_id,
            registered.client_secret,
            "https%3A%2F%2Fapp.example.com%2Foauth%2Fcallback"
        ))
        .send()
        .await
        .expect("token");
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let (status, token) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["c"], 0);
    assert_eq!(token["m"], "请求成功");
    assert_eq!(token["d"]["token_type"], "Bearer");
    assert_eq!(token["d"]["expires_in"], 7200);
    assert_eq!(token["d"]["scope"], "profile");
    let access = token["d"]["access_token"].as_str().expect("access token");

    // Step 4.
    let (status, me) = me_a(&app, access).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["c"].clone(), me["m"].clone()),
        (json!(0), json!("请求成功"))
    );
    let d = &me["d"];
    assert_eq!(d["username"], "uma");
    assert_eq!(d["user_number"], format!("u_{}", 100_000 + user_id));
    assert!(
        d["id"].as_str().is_some_and(|id| id.len() == 36),
        "id is the UUID: {d}"
    );
    assert!(d["level"].is_i64() && d["avatar_url"].is_string());

    // The code was single use: the seed's message, and the first tokens die (replay).
    let (status, replay) = post_json(
        &reqwest::Client::new(),
        &app.url("/api/oauth/token"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{replay}");
    let res = reqwest::Client::new()
        .post(app.url("/api/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .expect("replay");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["m"], "无效或已过期的授权码");
    assert!(body["c"].as_i64().is_some_and(|c| c != 0) && body["d"].is_null());
    let (status, body) = me_a(&app, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["m"], "无效或已过期的访问令牌");
}

async fn the_new_api_flow_works_as_its_document_describes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("dana").await;
    let registered = register_app(&app, &developer, json!({})).await;
    let (browser, user_id) = app.user("ulysses").await;
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/users/{user_id}")))
        .json(&json!({"quota": 1_000_000, "used_quota": 250_000}))
        .send()
        .await
        .expect("quota");
    assert_eq!(res.status(), StatusCode::OK);

    // auto_authorize=true on an app the user never approved still shows the consent page.
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "profile balance"),
        ("state", "st-1"),
        ("auto_authorize", "true"),
    ];
    let (status, location, _) = authorize(&app, &browser, "/api/oauth2/authorize", &params).await;
    assert_eq!((status, location), (StatusCode::OK, None));
    let code = obtain_code(&app, &browser, "/api/oauth2/authorize", &params).await;

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ];
    let (status, tokens) = token_b(&app, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 7200);
    assert_eq!(tokens["scope"], "profile balance");
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let (status, info) = userinfo_b(&app, &access).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["id"], user_id);
    assert_eq!(info["username"], "ulysses");
    assert_eq!(info["quota"], 1_000_000);
    assert_eq!(info["used_quota"], 250_000);
    assert_eq!(info["balance_formatted"], "750.00");
    assert_eq!(info["status"], 1);
    assert!(info["created_time"].as_i64().is_some_and(|t| t > 0));
    assert!(info.get("email").is_some());

    // Now that consent is remembered, auto_authorize answers at once.
    let (status, location, _) = authorize(&app, &browser, "/api/oauth2/authorize", &params).await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(param(&location.expect("location"), "code").is_some());

    let res = reqwest::Client::new()
        .get(app.url("/api/oauth2/topup"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("topup");
    let (status, topup) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(topup["topup_url"], app.url("/topup"));

    // Refresh rotates: new pair, the old refresh token is dead.
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ];
    let (status, rotated) = token_b(&app, &refresh_form).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let access2 = rotated["access_token"].as_str().expect("access").to_owned();
    assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
    assert_eq!(userinfo_b(&app, &access2).await.0, StatusCode::OK);

    // The user sees the app among their authorizations, then revokes it: every token dies.
    let (_, list) = get_json(&browser, &app.url("/api/user/authorizations")).await;
    let items = list["data"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["client_id"], registered.client_id.as_str());
    assert_eq!(items[0]["scopes"], "profile balance");
    assert!(
        items[0]["granted_time"].as_i64().is_some()
            && items[0]["last_used_time"].as_i64().is_some()
    );
    let res = browser
        .delete(app.url(&format!(
            "/api/user/authorizations/{}",
            registered.client_id
        )))
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(userinfo_b(&app, &access).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo_b(&app, &access2).await.0, StatusCode::UNAUTHORIZED);
    let refresh2 = rotated["refresh_token"].as_str().expect("refresh");
    let (status, body) = token_b(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh2),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    let (_, list) = get_json(&browser, &app.url("/api/user/authorizations")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
    // And consent is asked for again.
    let (status, _, _) = authorize(&app, &browser, "/api/oauth2/authorize", &params).await;
    assert_eq!(status, StatusCode::OK);

    // The audit log saw it all.
    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit")).await;
    let actions: Vec<&str> = audit["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for expected in [
        "app.created",
        "app.approved",
        "app.secret_revealed",
        "consent.granted",
        "consent.revoked",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
}
