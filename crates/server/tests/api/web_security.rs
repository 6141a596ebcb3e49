//! Issue 20, an attacker's walk: developer tokens that outlive what should end them, admins
//! reaching root's recovery paths, login and write CSRF, and the smaller findings.

use crate::fakes::Grant;
use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::login_module::{code_in, env, state_for, wait_for_mail};
use crate::oauth_support::{csrf, page, submit};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

on_both_backends!(
    a_developer_token_dies_with_a_password_change,
    a_developer_token_dies_with_a_password_reset,
    a_developer_token_dies_when_other_sessions_end,
    a_developer_token_dies_when_the_account_is_disabled,
    a_developer_token_cannot_set_the_password_or_bind_an_email,
    only_root_changes_where_recovery_mail_and_identities_come_from,
    the_register_page_counts_against_the_same_per_ip_limit,
    another_site_cannot_log_a_browser_in,
    telegram_and_wechat_get_logins_are_bound_to_their_browser,
    cookie_writes_need_json_and_this_origin_and_tokens_still_work,
    an_upstream_login_from_a_page_asks_for_the_second_factor,
    the_login_page_shows_fixed_words_for_error_codes,
    status_reports_the_email_verification_setting,
    userinfo_answers_its_cors_preflight,
);

async fn developer_token(app: &TestApp, browser: &Client) -> String {
    let (status, body) = get_json(browser, &app.url("/api/user/token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_str().expect("token").to_owned()
}

/// `GET /api/user/self` with only the token: its status.
async fn token_works(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/user/self"))
        .bearer_auth(token)
        .send()
        .await
        .expect("self")
        .status()
}

async fn with_token(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    into_parts(req.send().await.expect("request")).await
}

async fn a_developer_token_dies_with_a_password_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = app.user("tokenholder").await;
    let token = developer_token(&app, &browser).await;
    assert_eq!(token_works(&app, &token).await, StatusCode::OK);
    let res = browser
        .put(app.url("/api/user/self"))
        .json(&json!({"password": "brand-new-pass-1", "original_password": "password-123"}))
        .send()
        .await
        .expect("change");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    assert_eq!(token_works(&app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn a_developer_token_dies_with_a_password_reset(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let (browser, _) = app.user("resetter").await;
    get_json(
        &browser,
        &app.url("/api/verification?email=resetter@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    let (_, body) = get_json(
        &browser,
        &app.url(&format!(
            "/api/oauth/email/bind?email=resetter@example.com&code={code}"
        )),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let token = developer_token(app, &browser).await;
    get_json(
        &app.client(),
        &app.url("/api/reset_password?email=resetter@example.com"),
    )
    .await;
    let mails = wait_for_mail(&env, 2).await;
    let link = mails[1]
        .lines()
        .find(|l| l.contains("/user/reset?"))
        .expect("link")
        .trim()
        .to_owned();
    let query: BTreeMap<String, String> =
        serde_urlencoded::from_str(link.split_once('?').expect("query").1).expect("params");
    let (_, body) = post_json(
        &app.client(),
        &app.url("/api/user/reset"),
        json!({"email": "resetter@example.com", "token": query["token"], "password": "chosen-new-pass"}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(token_works(app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn a_developer_token_dies_when_other_sessions_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _) = app.user("ender").await;
    let token = developer_token(&app, &browser).await;
    let (_, _, html) = page(&browser, &app.url("/user/security")).await;
    let (status, location, _) = submit(
        &browser,
        &app.url("/user/security/sessions/others"),
        &[("csrf_token", &csrf(&html))],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location:?}");
    assert_eq!(token_works(&app, &token).await, StatusCode::UNAUTHORIZED);
    // The browser that asked stays signed in.
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
}

async fn a_developer_token_dies_when_the_account_is_disabled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, id) = app.user("suspended").await;
    let token = developer_token(&app, &browser).await;
    let admin = app.admin().await;
    for status in [2, 1] {
        let res = admin
            .patch(app.url(&format!("/api/admin/users/{id}")))
            .json(&json!({ "status": status }))
            .send()
            .await
            .expect("patch");
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Enabled again, the account does not get its old token back.
    assert_eq!(token_works(&app, &token).await, StatusCode::UNAUTHORIZED);
}

async fn a_developer_token_cannot_set_the_password_or_bind_an_email(backend: Backend) {
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let (browser, _) = app.user("leaked").await;
    let token = developer_token(app, &browser).await;

    // Setting the password would turn the token into a session (and a password).
    let (status, _) = with_token(
        app,
        reqwest::Method::PUT,
        "/api/user/self",
        &token,
        Some(json!({"password": "attacker-pass-1", "original_password": "password-123"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.login("leaked", "password-123").await;
    // The display name is not a way in: the token may still change it.
    let (status, body) = with_token(
        app,
        reqwest::Method::PUT,
        "/api/user/self",
        &token,
        Some(json!({"display_name": "Renamed"})),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );

    // Nor may it ask for a code for the account, or bind an address with one.
    let (status, _) = with_token(
        app,
        reqwest::Method::GET,
        "/api/verification?email=attacker@example.com",
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    get_json(
        &app.client(),
        &app.url("/api/verification?email=attacker@example.com"),
    )
    .await;
    let code = code_in(&wait_for_mail(&env, 1).await[0]);
    let (status, _) = with_token(
        app,
        reqwest::Method::GET,
        &format!("/api/oauth/email/bind?email=attacker@example.com&code={code}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = with_token(
        app,
        reqwest::Method::POST,
        "/api/oauth/email/bind",
        &token,
        Some(json!({"email": "attacker@example.com", "code": code})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = get_json(&browser, &app.url("/api/user/self")).await;
    assert_eq!(me["data"]["email"], "", "{me}");
}

/// Root makes `name` an admin (role 10); returns the admin's browser.
async fn an_admin(app: &TestApp, name: &str) -> Client {
    let (_, id) = app.user(name).await;
    let root = app.admin().await;
    let res = root
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .json(&json!({"role": 10}))
        .send()
        .await
        .expect("promote");
    assert_eq!(res.status(), StatusCode::OK);
    app.login(name, "password-123").await
}

async fn only_root_changes_where_recovery_mail_and_identities_come_from(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = an_admin(&app, "deputy").await;
    let (_, before) = get_json(&admin, &app.url("/api/admin/settings")).await;
    let before = before["data"].clone();
    for change in [
        json!({"smtp_host": "mail.attacker.example"}),
        json!({"smtp_port": 2525, "system_name": "x"}),
        json!({"oidc_token_endpoint": "https://attacker.example/token"}),
        json!({"github_client_id": "attacker-app"}),
        json!({"github_client_secret": "attacker-secret"}),
        json!({"smtp_password": ""}),
    ] {
        let res = admin
            .put(app.url("/api/admin/settings"))
            .json(&change)
            .send()
            .await
            .expect("put");
        let (status, body) = into_parts(res).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{change}: {body}");
        let (_, after) = get_json(&admin, &app.url("/api/admin/settings")).await;
        assert_eq!(after["data"], before, "{change} changed nothing");
    }
    // The rest stays the admin's; sending a root-only field back unchanged is no change.
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"system_name": "Deputy's", "smtp_host": before["smtp_host"]}))
        .send()
        .await
        .expect("put");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );

    // The page shows the fields but lets the admin edit none of them, and ignores them if sent.
    let (_, _, html) = page(&admin, &app.url("/admin/settings/mail")).await;
    let smtp = html
        .split("<input")
        .find(|i| i.contains("name=\"smtp_host\""))
        .expect("smtp_host field");
    assert!(smtp.contains("disabled"), "{smtp}");
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&[
            ("csrf_token", csrf(&html).as_str()),
            ("smtp_host", "mail.attacker.example"),
            ("smtp_port", "587"),
            ("smtp_security", "starttls"),
            ("quota_per_unit", "1000"),
            ("password_login_enabled", "1"),
            ("register_enabled", "1"),
            ("password_register_enabled", "1"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, after) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(after["data"]["smtp_host"], before["smtp_host"]);

    // Root may, and the change is audited by name.
    let root = app.admin().await;
    let (_, _, html) = page(&root, &app.url("/admin/settings/mail")).await;
    let smtp = html
        .split("<input")
        .find(|i| i.contains("name=\"smtp_host\""))
        .expect("smtp_host field");
    assert!(!smtp.contains("disabled"), "{smtp}");
    let res = root
        .put(app.url("/api/admin/settings"))
        .json(&json!({"smtp_host": "127.0.0.1"}))
        .send()
        .await
        .expect("put");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    let (_, audit) = get_json(&root, &app.url("/api/admin/audit?action=settings.updated")).await;
    assert_eq!(
        audit["data"]["items"][0]["detail"]["root_only_changed"],
        json!(["smtp_host"]),
        "{audit}"
    );
}

async fn put_settings(app: &TestApp, change: Value) {
    let res = app
        .admin()
        .await
        .put(app.url("/api/admin/settings"))
        .json(&change)
        .send()
        .await
        .expect("settings");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

/// Registers `name` through the page from a fresh browser: the status.
async fn register_on_page(app: &TestApp, name: &str) -> StatusCode {
    let browser = app.client();
    let (_, _, html) = page(&browser, &app.url("/register")).await;
    let token = csrf(&html);
    let (status, _, _) = submit(
        &browser,
        &app.url("/register"),
        &[
            ("csrf_token", &token),
            ("return_to", "/"),
            ("username", name),
            ("password", "password-123"),
            ("password2", "password-123"),
            ("action", "register"),
        ],
    )
    .await;
    status
}

async fn the_register_page_counts_against_the_same_per_ip_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    put_settings(&app, json!({"register_max_per_ip": 2})).await;
    assert_eq!(register_on_page(&app, "first").await, StatusCode::SEE_OTHER);
    assert_eq!(
        register_on_page(&app, "second").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        register_on_page(&app, "third").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        register_on_page(&app, "fourth").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // One count for both doors.
    let (status, _) = post_json(
        &app.client(),
        &app.url("/api/user/register"),
        json!({"username": "fifth", "password": "password-123"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (_, users) = get_json(&app.admin().await, &app.url("/api/admin/users?keyword=th")).await;
    let names: Vec<&str> = users["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert!(
        !names.contains(&"third") && !names.contains(&"fourth"),
        "{names:?}"
    );
}

fn sets_a_session(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("keyward_session=") && !v.starts_with("keyward_session=;"))
}

async fn another_site_cannot_log_a_browser_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("planted", "password-123").await;
    let body = r#"{"username":"planted","password":"password-123"}"#;
    let login = || reqwest::Client::new().post(app.url("/api/user/login"));
    // A form or a no-preflight fetch from another site: text/plain, or no type at all.
    for res in [
        login()
            .header("content-type", "text/plain")
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .body(body)
            .send()
            .await
            .expect("login"),
        login()
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("login"),
        login().body(body).send().await.expect("login"),
    ] {
        // Refused by its origin (403) or, without one, by its type (415).
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::UNSUPPORTED_MEDIA_TYPE].contains(&res.status()),
            "{}",
            res.status()
        );
        assert!(!sets_a_session(&res));
    }
    // JSON, but sent for another site (or a sibling sub-domain).
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ] {
        let res = login()
            .header(name, value)
            .json(&json!({"username": "planted", "password": "password-123"}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(!sets_a_session(&res));
    }
    // This site's own pages still log in.
    let res = login()
        .header("sec-fetch-site", "same-origin")
        .header("origin", app.base.as_str())
        .json(&json!({"username": "planted", "password": "password-123"}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(sets_a_session(&res));
}

fn telegram_fields(id: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs()
        .to_string();
    let mut map: BTreeMap<String, String> =
        [("id", id), ("first_name", "Tele"), ("auth_date", &now)]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
    let hash = keyward_upstream::telegram::sign(&map, "12345:BOT");
    map.insert("hash".into(), hash);
    serde_urlencoded::to_string(&map).expect("query")
}

async fn telegram_and_wechat_get_logins_are_bound_to_their_browser(backend: Backend) {
    let env = env(backend, json!({"telegram_register_enabled": true})).await;
    let attacker = env.app.client();
    let victim = env.app.client();
    let signed = telegram_fields("4242");

    // The attacker's signed data, or WeChat code, alone logs no browser in.
    let res = victim
        .get(env.app.url(&format!("/api/oauth/telegram/login?{signed}")))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!sets_a_session(&res));
    let code = env.fakes.wechat_code("wx-attacker");
    let res = victim
        .get(env.app.url(&format!("/api/oauth/wechat?code={code}")))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!sets_a_session(&res));
    // Nor with a state the attacker's own browser got.
    let state = state_for(&env, &attacker, "?provider=telegram").await;
    let res = victim
        .get(
            env.app
                .url(&format!("/api/oauth/telegram/login?{signed}&state={state}")),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get_json(&victim, &env.app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The browser that started the flow logs in, once per state.
    let state = state_for(&env, &attacker, "?provider=telegram").await;
    let url = env
        .app
        .url(&format!("/api/oauth/telegram/login?{signed}&state={state}"));
    let (_, body) = get_json(&attacker, &url).await;
    assert_eq!(body["message"], "登录成功", "{body}");
    assert_eq!(
        get_json(&attacker, &url).await.0,
        StatusCode::FORBIDDEN,
        "single use"
    );
    let wechat = env.app.client();
    let state = state_for(&env, &wechat, "?provider=wechat").await;
    let (_, body) = get_json(
        &wechat,
        &env.app
            .url(&format!("/api/oauth/wechat?code={code}&state={state}")),
    )
    .await;
    assert_eq!(body["message"], "登录成功", "{body}");
    // The document says so.
    let (_, doc) = get_json(&wechat, &env.app.url("/api/openapi.json")).await;
    for path in ["/api/oauth/telegram/login", "/api/oauth/wechat"] {
        let names: Vec<&str> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(names.contains(&"state"), "{path}: {names:?}");
        if path.contains("telegram") {
            assert!(
                names.contains(&"hash") && names.contains(&"id"),
                "{names:?}"
            );
        }
    }
    // A state for another provider does not do.
    let state = state_for(&env, &wechat, "?provider=github").await;
    let (status, _) = get_json(
        &wechat,
        &env.app
            .url(&format!("/api/oauth/telegram/login?{signed}&state={state}")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn cookie_writes_need_json_and_this_origin_and_tokens_still_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (developer, _) = app.user("builder").await;
    let token = developer_token(&app, &developer).await;
    let apps = |client: &Client| {
        let client = client.clone();
        let url = app.url("/api/admin/oauth_apps");
        async move {
            get_json(&client, &url).await.1["data"]["items"]
                .as_array()
                .map(Vec::len)
        }
    };
    let new_app = r#"{"name":"Sneaky","redirect_uri":"http://127.0.0.1:9/cb"}"#;

    // A sibling sub-domain's text/plain POST with the cookie creates nothing.
    let before = apps(&admin).await;
    let res = admin
        .post(app.url("/api/oauth_apps"))
        .header("content-type", "text/plain")
        .header("sec-fetch-site", "same-site")
        .body(new_app)
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nor does a browser without Fetch Metadata: the type, then the Origin, refuse it.
    let res = admin
        .post(app.url("/api/oauth_apps"))
        .header("content-type", "text/plain")
        .body(new_app)
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = admin
        .post(app.url("/api/oauth_apps"))
        .header("origin", "https://sibling.example")
        .header("content-type", "application/json")
        .body(new_app)
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(apps(&admin).await, before, "nothing was created");

    // The developer's token is a header no other site can send: it keeps working.
    let res = reqwest::Client::new()
        .post(app.url("/api/oauth_apps"))
        .bearer_auth(&token)
        .header("origin", "https://anywhere.example")
        .json(&json!({"name": "Real", "redirect_uri": "http://127.0.0.1:9/cb"}))
        .send()
        .await
        .expect("create");
    let (status, created) = into_parts(res).await;
    assert_eq!(
        (status, created["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{created}"
    );
    let id = created["data"]["id"].as_i64().expect("id");

    // Approving by a same-site request or a foreign Origin is refused; the app stays pending.
    for (name, value) in [
        ("sec-fetch-site", "same-site"),
        ("origin", "https://sibling.example"),
    ] {
        let res = admin
            .post(app.url(&format!("/api/admin/oauth_apps/{id}/approve")))
            .header(name, value)
            .send()
            .await
            .expect("approve");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
    }
    let res = admin
        .post(app.url(&format!("/api/admin/oauth_apps/{id}/approve")))
        .header("content-type", "text/plain")
        .body(r#"{"reason":"x"}"#)
        .send()
        .await
        .expect("approve");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert_eq!(view["data"]["status"], "pending", "{view}");
    // From this site, it goes through.
    let res = admin
        .post(app.url(&format!("/api/admin/oauth_apps/{id}/approve")))
        .header("origin", app.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("approve");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

async fn an_upstream_login_from_a_page_asks_for_the_second_factor(backend: Backend) {
    use keyward_core::accounts::two_factor::TwoFactor;
    let env = env(backend, json!({})).await;
    let app = &env.app;
    let start = |browser: &Client| {
        let browser = browser.clone();
        let url = app.url("/api/oauth/github/start?intent=login&return_to=%2Ftopup");
        async move {
            let (status, location, _) = page(&browser, &url).await;
            assert_eq!(status, StatusCode::FOUND);
            let location = location.expect("location");
            let params: BTreeMap<String, String> =
                serde_urlencoded::from_str(location.split_once('?').expect("query").1)
                    .expect("params");
            params
        }
    };
    let grant = |params: &BTreeMap<String, String>| Grant {
        subject: "777001".into(),
        login: "twofa".into(),
        challenge: params.get("code_challenge").cloned(),
        ..Grant::default()
    };
    // First login registers the account; it then turns two-factor on.
    let first = app.client();
    let params = start(&first).await;
    let code = env.fakes.issue_code(grant(&params));
    let (status, location, _) = page(
        &first,
        &app.url(&format!(
            "/api/oauth/github?code={code}&state={}",
            params["state"]
        )),
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/topup"))
    );
    let (_, setup) = post_json(&first, &app.url("/api/user/2fa/setup"), json!({})).await;
    let url = setup["data"]["otpauth_url"]
        .as_str()
        .expect("url")
        .to_owned();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs()
    };
    let code = TwoFactor::code_for(&url, now()).expect("code");
    let (_, body) = post_json(
        &first,
        &app.url("/api/user/2fa/enable"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");

    // Another browser logs in with GitHub from the page: it is sent to the second step.
    let browser = app.client();
    let params = start(&browser).await;
    let code = env.fakes.issue_code(grant(&params));
    let (status, location, _) = page(
        &browser,
        &app.url(&format!(
            "/api/oauth/github?code={code}&state={}",
            params["state"]
        )),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("location");
    assert!(location.starts_with("/login/2fa?"), "{location}");
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, html) = page(&browser, &app.url(&location)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("action=\"/login/2fa\""), "{html}");
    let code = TwoFactor::code_for(&url, now() + 30).expect("code");
    let (status, location, body) = submit(
        &browser,
        &app.url("/login/2fa"),
        &[
            ("csrf_token", &csrf(&html)),
            ("return_to", "/topup"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/topup")),
        "{body}"
    );
    assert_eq!(
        get_json(&browser, &app.url("/api/user/self")).await.0,
        StatusCode::OK
    );
}

async fn the_login_page_shows_fixed_words_for_error_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.client();
    let injected = "Your account is locked. Call +1 555 0100 to unlock it";
    let (status, _, html) = page(
        &browser,
        &app.url(&format!("/login?error={}", injected.replace(' ', "+"))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("555 0100"), "{html}");
    assert!(
        html.contains("登录失败，请重试"),
        "an unknown code gets the generic words"
    );
    let (_, _, html) = page(&browser, &app.url("/login?error=state")).await;
    assert!(
        html.contains("登录请求已过期或来自其他浏览器，请重试"),
        "{html}"
    );
    let english = reqwest::Client::new()
        .get(app.url("/login?error=state"))
        .header("accept-language", "en")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(english.contains("The sign-in request expired"), "{english}");
    let (_, _, html) = page(&browser, &app.url("/login")).await;
    assert!(!html.contains("role=\"alert\""), "no error, no alert");
    // The security page reads the same codes.
    let (user, _) = app.user("reader").await;
    let (_, _, html) = page(
        &user,
        &app.url("/user/security?error=Send+your+password+to+x"),
    )
    .await;
    assert!(!html.contains("Send your password"), "{html}");
}

async fn status_reports_the_email_verification_setting(backend: Backend) {
    let env = env(backend, json!({})).await;
    let anonymous = env.app.client();
    let (_, status) = get_json(&anonymous, &env.app.url("/api/status")).await;
    assert_eq!(
        status["data"]["email_verification"], false,
        "SMTP is set, the switch is off"
    );
    put_settings(&env.app, json!({"email_verification_enabled": true})).await;
    let (_, status) = get_json(&anonymous, &env.app.url("/api/status")).await;
    assert_eq!(status["data"]["email_verification"], true);
}

async fn userinfo_answers_its_cors_preflight(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/oauth2/userinfo"))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert!(res.status().is_success(), "{}", res.status());
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    assert_eq!(header("access-control-allow-origin"), "*");
    assert!(header("access-control-allow-methods").contains("get"));
    assert!(header("access-control-allow-methods").contains("post"));
    assert!(header("access-control-allow-headers").contains("authorization"));
    assert!(
        header("access-control-max-age")
            .parse::<u64>()
            .is_ok_and(|s| s > 0)
    );
    assert!(
        res.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}
