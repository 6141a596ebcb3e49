//! The device authorization grant (RFC 8628, issue 14 #5) over HTTP: the endpoint, the
//! `/device` page a browser walks, and the token endpoint's polls, on both backends.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    rfc8628_3_1_a_public_cli_without_a_secret_or_redirect_uri_signs_a_user_in,
    rfc8628_3_1_an_app_without_the_device_grant_is_unauthorized_client,
    rfc8628_3_5_polling_sooner_than_the_interval_is_slow_down,
    rfc8628_3_5_a_denied_request_is_access_denied_in_both_envelopes,
    rfc8628_3_5_an_expired_device_code_is_expired_token,
    rfc8628_3_5_another_clients_device_code_is_invalid_grant,
    rfc8628_3_5_a_device_code_gives_tokens_once_then_invalid_grant,
    rfc8628_3_3_a_user_code_works_once,
    rfc8628_5_1_malformed_user_codes_are_counted_and_a_session_is_limited,
    rfc8628_5_1_wrong_user_codes_from_one_address_are_limited_across_sessions,
    rfc8628_5_4_a_trusted_app_still_asks_the_user,
    rfc8628_3_3_the_login_page_returns_to_device_with_the_code_kept,
    the_device_page_speaks_english_and_chinese,
    rfc8414_discovery_advertises_the_device_endpoint_and_grant,
    rfc8707_a_device_flow_names_an_api_and_its_token_is_bound_to_it,
    the_device_consent_tells_who_asks_and_switching_account_keeps_the_code,
);

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A registered CLI: public, device grant only, no redirect URI.
async fn cli(app: &TestApp, developer: &Client) -> RegisteredApp {
    register_app(
        app,
        developer,
        json!({
            "public": true,
            "redirect_uri": "",
            "grant_types": [DEVICE_GRANT, "refresh_token"],
            "scopes": "openid profile offline_access",
        }),
    )
    .await
}

struct Flow {
    app: TestApp,
    cli: RegisteredApp,
    /// A signed-in browser of the user at the `/device` page.
    browser: Client,
}

async fn flow(backend: Backend) -> Flow {
    flow_with(backend, |_| {}).await
}

async fn flow_with(backend: Backend, adjust: impl FnOnce(&mut keyward::config::Config)) -> Flow {
    let app = TestApp::spawn_with(backend, adjust).await;
    let (developer, _) = app.user("developer").await;
    let cli = cli(&app, &developer).await;
    let (browser, _) = app.user("alice").await;
    Flow { app, cli, browser }
}

/// `POST /oauth2/device_authorization` with a form.
pub async fn device_authorization(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/oauth2/device_authorization"))
        .form(form)
        .send()
        .await
        .expect("device authorization");
    into_parts(res).await
}

/// One poll of the token endpoint (family B).
pub async fn poll(app: &TestApp, client_id: &str, device_code: &str) -> (StatusCode, Value) {
    token_b(
        app,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ],
    )
    .await
}

/// A started device authorization: `(device_code, user_code)`.
async fn start(app: &TestApp, client_id: &str, scope: &str) -> (String, String) {
    let (status, body) =
        device_authorization(app, &[("client_id", client_id), ("scope", scope)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["device_code"]
            .as_str()
            .expect("device_code")
            .to_owned(),
        body["user_code"].as_str().expect("user_code").to_owned(),
    )
}

/// The user types `typed` at `/device`: the page that answers (status, body).
pub async fn type_code(app: &TestApp, browser: &Client, typed: &str) -> (StatusCode, String) {
    let (status, _, html) = page(browser, &app.url("/device")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let token = csrf(&html);
    let (status, _, html) = submit(
        browser,
        &app.url("/device"),
        &[("csrf_token", &token), ("user_code", typed)],
    )
    .await;
    (status, html)
}

/// The user types `user_code` and answers the consent page with `decision`.
pub async fn answer(app: &TestApp, browser: &Client, user_code: &str, decision: &str) -> String {
    let (status, consent) = type_code(app, browser, user_code).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    let (status, page) = submit_answer(app, browser, &consent, decision, &[]).await;
    assert_eq!(status, StatusCode::OK);
    page
}

/// The consent page `consent` sent with `decision` and the typed `fields` besides its hidden
/// ones: the page that answers.
pub async fn submit_answer(
    app: &TestApp,
    browser: &Client,
    consent: &str,
    decision: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form = hidden_fields(consent);
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form.push(("decision".into(), decision.into()));
    let res = browser
        .post(app.url("/device"))
        .form(&form)
        .send()
        .await
        .expect("decision");
    (res.status(), res.text().await.expect("body"))
}

async fn rfc8628_3_1_a_public_cli_without_a_secret_or_redirect_uri_signs_a_user_in(
    backend: Backend,
) {
    let f = flow(backend).await;
    let (status, body) = device_authorization(
        &f.app,
        &[("client_id", &f.cli.client_id), ("scope", "openid profile")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verification_uri"], f.app.url("/device"));
    let user_code = body["user_code"].as_str().expect("user_code");
    assert_eq!(
        body["verification_uri_complete"],
        f.app.url(&format!("/device?user_code={user_code}"))
    );
    assert_eq!(
        (body["expires_in"].clone(), body["interval"].clone()),
        (json!(600), json!(5))
    );
    let device_code = body["device_code"].as_str().expect("device_code");

    let (status, pending) = poll(&f.app, &f.cli.client_id, device_code).await;
    assert_eq!(
        (status, pending["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("authorization_pending")),
        "{pending}"
    );
    // The code typed in lower case, without its dash: the page shows the app and the scopes.
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, consent) = type_code(&f.app, &f.browser, &typed).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert!(consent.contains("Test App"), "{consent}");
    assert!(
        consent.contains(user_code),
        "the code to compare: {consent}"
    );
    assert!(
        consent.contains("name=\"decision\" value=\"approve\""),
        "{consent}"
    );
    let done = answer(&f.app, &f.browser, user_code, "approve").await;
    assert!(done.contains("Test App"), "{done}");

    let (status, tokens) = poll(&f.app, &f.cli.client_id, device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["id_token"].as_str().is_some(), "openid: {tokens}");
    assert_eq!(tokens["scope"], "openid profile");
    let access = tokens["access_token"].as_str().expect("access_token");
    let (status, me) = userinfo_b(&f.app, access).await;
    assert_eq!(
        (status, me["username"].clone()),
        (StatusCode::OK, json!("alice"))
    );

    // Approval, denial and issue are audited; the grant is among the user's authorizations.
    let admin = f.app.admin().await;
    for action in ["device.approved", "device.token_issued"] {
        let (_, audit) = get_json(
            &admin,
            &f.app.url(&format!("/api/admin/audit?action={action}")),
        )
        .await;
        assert_eq!(
            audit["data"]["items"][0]["target"], f.cli.client_id,
            "{action}: {audit}"
        );
    }
    let (_, mine) = get_json(&f.browser, &f.app.url("/api/user/authorizations")).await;
    assert!(mine.to_string().contains(&f.cli.client_id), "{mine}");
}

async fn rfc8628_3_1_an_app_without_the_device_grant_is_unauthorized_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let web = register_app(&app, &developer, json!({})).await;
    let (status, body) = device_authorization(
        &app,
        &[
            ("client_id", &web.client_id),
            ("client_secret", &web.client_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("unauthorized_client")),
        "{body}"
    );
    // At the token endpoint too, before the code is even looked at.
    let (status, body) = token_b(
        &app,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", "kwdc_whatever"),
            ("client_id", &web.client_id),
            ("client_secret", &web.client_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("unauthorized_client")),
        "{body}"
    );
    // A confidential app's client authentication is that of the token endpoint.
    let (status, body) = device_authorization(&app, &[("client_id", &web.client_id)]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    // And the scope is checked as at the authorize endpoint.
    let (developer2, _) = app.user("developer2").await;
    let cli = cli(&app, &developer2).await;
    let (status, body) =
        device_authorization(&app, &[("client_id", &cli.client_id), ("scope", "balance")]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_scope")),
        "{body}"
    );
}

async fn rfc8628_3_5_polling_sooner_than_the_interval_is_slow_down(backend: Backend) {
    let f = flow(backend).await;
    let (device_code, _) = start(&f.app, &f.cli.client_id, "profile").await;
    let (_, first) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(first["error"], "authorization_pending", "{first}");
    let (status, second) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(
        (status, second["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("slow_down")),
        "{second}"
    );
}

async fn rfc8628_3_5_a_denied_request_is_access_denied_in_both_envelopes(backend: Backend) {
    let f = flow(backend).await;
    let (device_code, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    let done = answer(&f.app, &f.browser, &user_code, "deny").await;
    assert!(done.contains("已拒绝"), "{done}");
    let (status, body) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("access_denied")),
        "{body}"
    );
    // The 2libra envelope words it in its own way.
    let res = reqwest::Client::new()
        .post(f.app.url("/api/oauth/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code.as_str()),
            ("client_id", f.cli.client_id.as_str()),
        ])
        .send()
        .await
        .expect("token");
    let (status, body) = into_parts(res).await;
    assert_eq!(
        (
            status,
            body["c"].clone(),
            body["m"].clone(),
            body["d"].clone()
        ),
        (
            StatusCode::BAD_REQUEST,
            json!(400),
            json!("用户拒绝了授权"),
            Value::Null
        ),
        "{body}"
    );
    let admin = f.app.admin().await;
    let (_, audit) = get_json(&admin, &f.app.url("/api/admin/audit?action=device.denied")).await;
    assert_eq!(
        audit["data"]["items"][0]["target"], f.cli.client_id,
        "{audit}"
    );
}

async fn rfc8628_3_5_an_expired_device_code_is_expired_token(backend: Backend) {
    let f = flow_with(backend, |c| c.device_code_ttl_secs = 1).await;
    let (device_code, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("expired_token")),
        "{body}"
    );
    // The page no longer takes its user code.
    let (status, html) = type_code(&f.app, &f.browser, &user_code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
}

async fn rfc8628_3_5_another_clients_device_code_is_invalid_grant(backend: Backend) {
    let f = flow(backend).await;
    let (developer, _) = f.app.user("mallory").await;
    let other = cli(&f.app, &developer).await;
    let (device_code, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    answer(&f.app, &f.browser, &user_code, "approve").await;
    let (status, body) = poll(&f.app, &other.client_id, &device_code).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant")),
        "{body}"
    );
    // Its own client still collects.
    let (status, body) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rfc8628_3_5_a_device_code_gives_tokens_once_then_invalid_grant(backend: Backend) {
    let f = flow(backend).await;
    let (device_code, user_code) =
        start(&f.app, &f.cli.client_id, "openid profile offline_access").await;
    answer(&f.app, &f.browser, &user_code, "approve").await;
    let (status, first) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first["refresh_token"].as_str().is_some(), "{first}");
    let (status, second) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(
        (status, second["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant")),
        "{second}"
    );
    // The first answer's tokens are untouched, and its refresh token works like any other.
    let access = first["access_token"].as_str().expect("access");
    assert_eq!(userinfo_b(&f.app, access).await.0, StatusCode::OK);
    let refresh = first["refresh_token"].as_str().expect("refresh");
    let (status, body) = token_b(
        &f.app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &f.cli.client_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rfc8628_3_3_a_user_code_works_once(backend: Backend) {
    let f = flow(backend).await;
    let (_, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    answer(&f.app, &f.browser, &user_code, "approve").await;
    let (status, html) = type_code(&f.app, &f.browser, &user_code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("已使用"), "the page says why: {html}");
    // Answering the old consent form again changes nothing.
    let token = csrf(&page(&f.browser, &f.app.url("/device")).await.2);
    let (status, _, html) = submit(
        &f.browser,
        &f.app.url("/device"),
        &[
            ("csrf_token", &token),
            ("user_code", &user_code),
            ("decision", "deny"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
}

async fn rfc8628_5_1_malformed_user_codes_are_counted_and_a_session_is_limited(backend: Backend) {
    let f = flow(backend).await;
    let (_, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    let (status, html) = type_code(&f.app, &f.browser, "AEIO-U123").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("这不是设备代码"), "malformed: {html}");
    assert!(
        html.contains("value=\"AEIO-U123\""),
        "the typed code is kept: {html}"
    );
    // Four more misses, malformed or unknown: the session's five.
    for typed in ["x", "BCDF-GHJK", "1234", "ZZZZ-ZZZZ"] {
        let (status, html) = type_code(&f.app, &f.browser, typed).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}: {html}");
    }
    // Over the limit even the right code is refused, with the "too many tries" state.
    let (status, html) = type_code(&f.app, &f.browser, &user_code).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("输入错误的次数过多"), "{html}");
}

async fn rfc8628_5_1_wrong_user_codes_from_one_address_are_limited_across_sessions(
    backend: Backend,
) {
    let f = flow(backend).await;
    let (_, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    // Twenty misses from one address, four per session (each under its own limit of five).
    for session in 0..5 {
        let browser = f.app.login("alice", "password-123").await;
        for _ in 0..4 {
            let (status, html) = type_code(&f.app, &browser, "BCDF-GHJK").await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "session {session}: {html}"
            );
        }
    }
    let fresh = f.app.login("alice", "password-123").await;
    let (status, html) = type_code(&f.app, &fresh, &user_code).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
}

async fn rfc8628_5_4_a_trusted_app_still_asks_the_user(backend: Backend) {
    let f = flow(backend).await;
    let admin = f.app.admin().await;
    let res = admin
        .patch(f.app.url(&format!("/api/admin/oauth_apps/{}", f.cli.id)))
        .json(&json!({"trusted": true}))
        .send()
        .await
        .expect("trust");
    assert_eq!(res.status(), StatusCode::OK);
    let (device_code, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    let (status, consent) = type_code(&f.app, &f.browser, &user_code).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert!(
        consent.contains("name=\"decision\" value=\"approve\""),
        "{consent}"
    );
    assert!(
        consent.contains("只有当这是你本人"),
        "the warning: {consent}"
    );
    let (_, body) = poll(&f.app, &f.cli.client_id, &device_code).await;
    assert_eq!(body["error"], "authorization_pending", "{body}");
}

async fn rfc8628_3_3_the_login_page_returns_to_device_with_the_code_kept(backend: Backend) {
    let f = flow(backend).await;
    let (_, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    let anonymous = f.app.client();
    let (status, location, _) = page(
        &anonymous,
        &f.app.url(&format!("/device?user_code={user_code}")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("to the login page");
    assert_eq!(
        location,
        format!(
            "/login?return_to=%2Fdevice%3Fuser%5Fcode%3D{}",
            user_code.replace('-', "%2D")
        )
    );
    // The login form carries the way back, and logging in goes there.
    let (_, _, login) = page(&anonymous, &f.app.url(&location)).await;
    let token = csrf(&login);
    let back = format!("/device?user_code={user_code}");
    assert!(login.contains(&format!("value=\"{back}\"")), "{login}");
    let (status, location, _) = submit(
        &anonymous,
        &f.app.url("/login"),
        &[
            ("csrf_token", &token),
            ("return_to", &back),
            ("username", "alice"),
            ("password", "password-123"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(back.as_str()))
    );
    let (status, _, entry) = page(&anonymous, &f.app.url(&back)).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert!(
        entry.contains(&format!("name=\"user_code\" value=\"{user_code}\"")),
        "prefilled: {entry}"
    );
}

async fn the_device_page_speaks_english_and_chinese(backend: Backend) {
    let f = flow(backend).await;
    let (_, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    let (_, _, zh) = page(&f.browser, &f.app.url("/device")).await;
    assert!(
        zh.contains("设备登录") && zh.contains("lang=\"zh-CN\""),
        "{zh}"
    );
    let res = f
        .browser
        .get(f.app.url("/device"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .expect("page");
    let en = res.text().await.expect("body");
    assert!(
        en.contains("Sign in on a device") && en.contains("lang=\"en\""),
        "{en}"
    );
    let token = csrf(&en);
    let res = f
        .browser
        .post(f.app.url("/device"))
        .header("accept-language", "en")
        .form(&[
            ("csrf_token", token.as_str()),
            ("user_code", user_code.as_str()),
        ])
        .send()
        .await
        .expect("consent");
    let consent = res.text().await.expect("body");
    assert!(
        consent.contains("Only continue if you started this yourself"),
        "{consent}"
    );
    assert!(
        consent.contains("Read your user name"),
        "the scope in words: {consent}"
    );
}

async fn rfc8414_discovery_advertises_the_device_endpoint_and_grant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let (status, doc) = get_json(&app.client(), &app.url(path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            doc["device_authorization_endpoint"],
            app.url("/oauth2/device_authorization"),
            "{path}"
        );
        assert!(
            doc["grant_types_supported"]
                .as_array()
                .is_some_and(|g| g.contains(&json!(DEVICE_GRANT))),
            "{path}: {doc}"
        );
    }
}

async fn rfc8707_a_device_flow_names_an_api_and_its_token_is_bound_to_it(backend: Backend) {
    const MCP: &str = "https://mcp.example.com/mcp";
    let f = flow(backend).await;
    let admin = f.app.admin().await;
    let (_, created) = post_json(
        &admin,
        &f.app.url("/api/admin/resources"),
        json!({"identifier": MCP, "name": "MCP 服务", "name_en": "MCP server",
               "scopes": [{"name": "mcp:tools", "description": "调用工具", "description_en": "Call its tools"}]}),
    )
    .await;
    assert_eq!(created["success"], true, "{created}");

    // A bad resource is refused before any code exists.
    for (resource, scope, error) in [
        ("https://unknown.example.com", "mcp:tools", "invalid_target"),
        (
            "https://mcp.example.com/mcp#x",
            "mcp:tools",
            "invalid_target",
        ),
        (MCP, "files:read", "invalid_scope"),
    ] {
        let (status, body) = device_authorization(
            &f.app,
            &[
                ("client_id", &f.cli.client_id),
                ("scope", scope),
                ("resource", resource),
            ],
        )
        .await;
        assert_eq!(
            (status, &body["error"]),
            (StatusCode::BAD_REQUEST, &json!(error)),
            "{body}"
        );
    }

    let (status, body) = device_authorization(
        &f.app,
        &[
            ("client_id", &f.cli.client_id),
            ("scope", "openid mcp:tools offline_access"),
            ("resource", MCP),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let device_code = body["device_code"]
        .as_str()
        .expect("device_code")
        .to_owned();
    let user_code = body["user_code"].as_str().expect("user_code").to_owned();
    // The consent page names the API and the scope on it.
    let (status, consent) = type_code(&f.app, &f.browser, &user_code).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        consent.contains("MCP 服务") && consent.contains("调用工具"),
        "{consent}"
    );
    answer(&f.app, &f.browser, &user_code, "approve").await;

    let (status, tokens) = token_b(
        &f.app,
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", &device_code),
            ("client_id", &f.cli.client_id),
            ("resource", MCP),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "mcp:tools", "bound to the API");
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    let (status, _) = userinfo_b(&f.app, tokens["access_token"].as_str().expect("access")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "not a token for Keyward's own APIs"
    );
    // The consent was recorded for the API too.
    let (_, mine) = get_json(&f.browser, &f.app.url("/api/user/authorizations")).await;
    assert_eq!(
        mine["data"][0]["resources"],
        json!([{"resource": MCP, "scopes": ["mcp:tools"]}]),
        "{mine}"
    );
}

async fn the_device_consent_tells_who_asks_and_switching_account_keeps_the_code(backend: Backend) {
    let f = flow(backend).await;
    let (_, user_code) = start(&f.app, &f.cli.client_id, "profile").await;
    let (status, consent) = type_code(&f.app, &f.browser, &user_code).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert!(
        consent.contains("<strong>developer</strong>"),
        "the owner: {consent}"
    );
    assert!(consent.contains("已经平台审核"), "{consent}");
    assert!(consent.contains("href=\"/user/authorizations\""));
    assert!(consent.contains("formaction=\"/switch-account\""));
    // "Not you?": signed out, and the login page returns to /device with the code filled in.
    let fields = hidden_fields(&consent);
    let res = f
        .browser
        .post(f.app.url("/switch-account"))
        .form(&fields)
        .send()
        .await
        .expect("switch");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let query = location.strip_prefix("/login?").expect("to the login page");
    let return_to: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
    let expected = format!(
        "/device?{}",
        serde_urlencoded::to_string([("user_code", &user_code)]).expect("query")
    );
    assert_eq!(return_to, vec![("return_to".to_owned(), expected)]);
    let (status, location, _) = page(&f.browser, &f.app.url("/device")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");
    assert!(location.expect("login").starts_with("/login"));
}
