//! The account pages: home, authorizations, top-up and the admin's top-up page. Each is
//! reachable only when signed in, and each form refuses a missing or wrong CSRF token.

use crate::helpers::{Backend, TestApp, get_json, post_json};
use crate::oauth_support::{
    CALLBACK, csrf, obtain_code, page, register_app, submit, token_b, userinfo_b,
};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    account_pages_send_anonymous_visitors_to_login,
    home_shows_the_account_and_links_everywhere,
    revoking_an_authorization_from_the_page_kills_its_tokens,
    the_topup_page_redeems_codes_and_refuses_forged_forms,
    the_admin_topup_page_generates_codes_once_for_admins_only,
);

async fn account_pages_send_anonymous_visitors_to_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    for path in [
        "/",
        "/user/authorizations",
        "/user/security",
        "/topup",
        "/admin/topup",
    ] {
        let (status, location, _) = page(&anonymous, &app.url(path)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let location = location.expect("location");
        assert!(
            location.starts_with("/login?return_to="),
            "{path}: {location}"
        );
    }
    for (path, field) in [
        ("/topup", "key"),
        ("/user/authorizations/revoke", "client_id"),
        ("/admin/topup", "amount"),
    ] {
        let (status, location, _) = submit(&anonymous, &app.url(path), &[(field, "x")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert!(location.expect("location").starts_with("/login"));
    }
}

async fn home_shows_the_account_and_links_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, id) = app.user("homer").await;
    let admin = app.admin().await;
    admin
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .json(&json!({"quota": 1_250_000, "used_quota": 250_000}))
        .send()
        .await
        .expect("patch");
    let (status, _, html) = page(&user, &app.url("/")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("homer"));
    assert!(
        html.contains("1000.00"),
        "balance as userinfo formats it: {html}"
    );
    for link in [
        "href=\"/user/setting/oauth\"",
        "href=\"/user/authorizations\"",
        "href=\"/user/security\"",
        "href=\"/topup\"",
    ] {
        assert!(html.contains(link), "{link}");
    }
    assert!(
        !html.contains("href=\"/admin/topup\""),
        "no admin links for users"
    );
    let (_, _, html) = page(&admin, &app.url("/")).await;
    assert!(html.contains("href=\"/admin/topup\""));

    let res = user
        .get(app.url("/"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .expect("page");
    let html = res.text().await.expect("html");
    assert!(
        html.contains("<h1>My account</h1>") && html.contains("Balance"),
        "{html}"
    );
}

async fn revoking_an_authorization_from_the_page_kills_its_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.user("grace").await;
    let registered = register_app(&app, &user, json!({"name": "Photo Printer"})).await;
    let code = obtain_code(
        &app,
        &user,
        "/api/oauth2/authorize",
        &[
            ("client_id", &registered.client_id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "profile balance"),
            ("state", "s1"),
        ],
    )
    .await;
    let (_, tokens) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    let access = tokens["access_token"].as_str().expect("token").to_owned();
    assert_eq!(userinfo_b(&app, &access).await.0, StatusCode::OK);

    let (status, _, html) = page(&user, &app.url("/user/authorizations")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Photo Printer"), "{html}");
    assert!(html.contains("读取你的账户余额"), "scopes in words: {html}");
    assert!(html.contains(" UTC"), "readable times: {html}");
    let token = csrf(&html);

    for bad in ["", "forged"] {
        let (status, _, _) = submit(
            &user,
            &app.url("/user/authorizations/revoke"),
            &[("csrf_token", bad), ("client_id", &registered.client_id)],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        userinfo_b(&app, &access).await.0,
        StatusCode::OK,
        "nothing changed"
    );

    let (status, location, _) = submit(
        &user,
        &app.url("/user/authorizations/revoke"),
        &[("csrf_token", &token), ("client_id", &registered.client_id)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/user/authorizations?done=revoked")
    );
    assert_eq!(
        userinfo_b(&app, &access).await.0,
        StatusCode::UNAUTHORIZED,
        "tokens died"
    );
    let (_, _, html) = page(&user, &app.url("/user/authorizations?done=revoked")).await;
    assert!(!html.contains("Photo Printer"));
    assert!(html.contains("已撤销该应用的授权"));
    let (_, list) = get_json(&user, &app.url("/api/user/authorizations")).await;
    assert_eq!(list["data"], json!([]));
}

async fn the_topup_page_redeems_codes_and_refuses_forged_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.user("payer").await;
    let code = crate::topup::generate(&app, json!({"amount": 2500, "count": 1}))
        .await
        .remove(0);
    let (status, _, html) = page(&user, &app.url("/topup")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("0.00"));
    let token = csrf(&html);

    for bad in ["", "forged"] {
        let (status, _, _) = submit(
            &user,
            &app.url("/topup"),
            &[("csrf_token", bad), ("key", &code)],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["quota"], 0, "a forged form changes nothing");

    let (status, _, html) = submit(
        &user,
        &app.url("/topup"),
        &[("csrf_token", &token), ("key", &code)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("2.50"), "the new balance: {html}");
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["quota"], 2500);

    let (_, _, html) = submit(
        &user,
        &app.url("/topup"),
        &[("csrf_token", &token), ("key", &code)],
    )
    .await;
    assert!(
        html.contains("充值码无效或已被使用"),
        "one word for the code: {html}"
    );
    assert!(!html.contains("兑换码"), "{html}");
    let (_, me) = get_json(&user, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["quota"], 2500, "once");
}

async fn the_admin_topup_page_generates_codes_once_for_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.user("notadmin").await;
    let (status, _, _) = page(&user, &app.url("/admin/topup")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, user_home) = page(&user, &app.url("/topup")).await;
    let (status, _, _) = submit(
        &user,
        &app.url("/admin/topup"),
        &[
            ("csrf_token", &csrf(&user_home)),
            ("amount", "10"),
            ("count", "1"),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a user's own token does not help"
    );

    let admin = app.admin().await;
    let (status, _, html) = page(&admin, &app.url("/admin/topup")).await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf(&html);
    let (status, _, _) = submit(
        &admin,
        &app.url("/admin/topup"),
        &[("csrf_token", "forged"), ("amount", "10"), ("count", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = get_json(&admin, &app.url("/api/admin/topup_codes")).await;
    assert_eq!(
        list["data"]["items"],
        json!([]),
        "a forged form generates nothing"
    );

    let (status, _, html) = submit(
        &admin,
        &app.url("/admin/topup"),
        &[
            ("csrf_token", &token),
            ("amount", "300"),
            ("count", "2"),
            ("label", "launch"),
            ("expires", "2999-01-01T00:00"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let codes: Vec<&str> = html
        .split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .collect();
    assert_eq!(codes.len(), 2, "{html}");
    assert!(codes.iter().all(|c| c.starts_with("kwtop_")));
    let (_, _, again) = page(&admin, &app.url("/admin/topup")).await;
    assert!(again.contains("launch") && again.contains("2999-01-01 00:00 UTC"));
    for code in &codes {
        assert!(!again.contains(&code["kwtop_".len()..]), "shown once only");
    }
    let (_, body) = post_json(&user, &app.url("/api/user/topup"), json!({"key": codes[0]})).await;
    assert_eq!(body["data"], 300, "{body}");

    let (status, _, html) = submit(
        &admin,
        &app.url("/admin/topup"),
        &[("csrf_token", &token), ("amount", "300"), ("count", "101")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("1 到 100"), "{html}");
}
