//! Dynamic client registration (RFC 7591) and management (RFC 7592): off by default and then
//! invisible; open or under review; every hostile field refused with nothing stored; scopes
//! narrowed; rate limited per IP; a registration managed only with its own token; unused
//! clients purged; every step audited.

use crate::helpers::{
    Backend, TestApp, TestDatabase, get_json, into_parts, post_json, test_config,
};
use crate::oauth_support::*;
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    rfc7591_off_by_default_the_endpoint_is_missing_and_not_advertised,
    rfc7591_an_open_registration_completes_a_pkce_code_flow_and_users_always_consent,
    rfc7591_under_review_a_client_waits_for_an_admin,
    rfc7591_3_2_2_hostile_metadata_is_refused_and_nothing_is_stored,
    rfc7591_3_2_1_requested_scopes_are_narrowed_to_the_operators_cap,
    registrations_over_the_per_ip_limit_are_refused_and_create_nothing,
    rfc7592_a_registration_is_managed_with_its_own_token_only,
    unused_dynamic_clients_are_purged_and_used_ones_kept,
    the_settings_page_offers_the_mode_as_a_choice_and_apis_one_per_line,
    rfc7591_a_typical_mcp_client_registers_without_application_type_for_its_apis_scope,
);

const VERIFIER: &str = "dynamic-client-verifier-0123456789-0123456789-0123456789";

async fn set(app: &TestApp, settings: Value) {
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&settings)
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

async fn with_registration(backend: Backend, mode: &str) -> TestApp {
    let app = TestApp::spawn(backend).await;
    set(&app, json!({"dynamic_registration": mode})).await;
    app
}

async fn register(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let res = app
        .client()
        .post(app.url("/oauth2/register"))
        .json(body)
        .send()
        .await
        .expect("register");
    lenient(res).await
}

/// Status and JSON body; `null` for the empty bodies of 204 and 404.
async fn lenient(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn web_client() -> Value {
    json!({
        "client_name": "Dynamic App",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile offline_access",
    })
}

/// Every app the admin API lists, whatever its status.
async fn all_clients(app: &TestApp) -> Vec<Value> {
    let admin = app.admin().await;
    let (status, body) = get_json(&admin, &app.url("/api/admin/oauth_apps?page_size=100")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn manage(
    app: &TestApp,
    method: reqwest::Method,
    client_id: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client()
        .request(method, app.url(&format!("/oauth2/register/{client_id}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    lenient(request.send().await.expect("manage")).await
}

fn authorize_params<'a>(client_id: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "st"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("auto_authorize", "true"),
    ]
}

async fn audit_actions(app: &TestApp, action: &str) -> Vec<Value> {
    let admin = app.admin().await;
    let (_, body) = get_json(
        &admin,
        &app.url(&format!("/api/admin/audit?action={action}")),
    )
    .await;
    body["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn rfc7591_off_by_default_the_endpoint_is_missing_and_not_advertised(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, _) = register(&app, &web_client()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = app
        .client()
        .post(app.url("/oauth2/register"))
        .body(web_client().to_string())
        .send()
        .await
        .expect("register");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "off whatever the body says"
    );
    let (status, _) = manage(&app, reqwest::Method::GET, "client_x", "t", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let (_, doc) = get_json(&app.client(), &app.url(path)).await;
        assert!(doc.get("registration_endpoint").is_none(), "{doc}");
    }
    assert!(all_clients(&app).await.is_empty());

    set(&app, json!({"dynamic_registration": "open"})).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let (_, doc) = get_json(&app.client(), &app.url(path)).await;
        assert_eq!(
            doc["registration_endpoint"],
            json!(app.url("/oauth2/register")),
            "{doc}"
        );
    }
}

async fn rfc7591_an_open_registration_completes_a_pkce_code_flow_and_users_always_consent(
    backend: Backend,
) {
    let app = with_registration(backend, "open").await;
    let (status, reg) = register(&app, &web_client()).await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    let client_id = reg["client_id"].as_str().expect("client_id");
    let secret = reg["client_secret"].as_str().expect("client_secret");
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["application_type"], "web");
    assert_eq!(
        reg["registration_client_uri"],
        json!(app.url(&format!("/oauth2/register/{client_id}")))
    );
    assert!(
        reg["registration_access_token"]
            .as_str()
            .is_some_and(|t| t.len() > 30)
    );
    assert!(reg["client_id_issued_at"].as_i64().is_some());

    let (browser, _) = app.user("user").await;
    let challenge = keyward_core::oauth::pkce::s256_challenge(VERIFIER);
    let params = authorize_params(client_id, &challenge);
    // auto_authorize=true: still the consent page, which says who the client claims to be.
    let (status, location, html) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!((status, location), (StatusCode::OK, None), "{html}");
    assert!(html.contains("Dynamic App"), "{html}");
    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    let (status, tokens) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", client_id),
            ("client_secret", secret),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].as_str().is_some(), "{tokens}");
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");

    // An admin marking it trusted changes nothing for a client that described itself.
    let id = all_clients(&app).await[0]["id"].as_i64().expect("id");
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{id}")))
        .json(&json!({"trusted": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), StatusCode::OK);
    let (other, _) = app.user("other").await;
    let (status, location, _) = authorize(&app, &other, "/oauth/authorize", &params).await;
    assert_eq!((status, location), (StatusCode::OK, None));

    let audit = audit_actions(&app, "client.registered").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["target"], json!(client_id), "{audit:?}");
    assert!(
        audit[0]["ip"]
            .as_str()
            .is_some_and(|ip| ip.contains("127.0.0.1")),
        "{audit:?}"
    );
}

async fn rfc7591_under_review_a_client_waits_for_an_admin(backend: Backend) {
    let app = with_registration(backend, "review").await;
    let (status, reg) = register(&app, &web_client()).await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    let client_id = reg["client_id"].as_str().expect("client_id");
    // No owner will ever read it in the console: the secret is in this answer or nowhere.
    let secret = reg["client_secret"].as_str().expect("client_secret");

    let (browser, _) = app.user("user").await;
    let challenge = keyward_core::oauth::pkce::s256_challenge(VERIFIER);
    let params = authorize_params(client_id, &challenge);
    let (status, location, _) = authorize(&app, &browser, "/oauth/authorize", &params).await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));

    let admin = app.admin().await;
    let (_, _, overview) = crate::oauth_support::page(&admin, &app.url("/admin")).await;
    assert!(
        overview.contains("Dynamic App"),
        "pending on the admin page"
    );
    let clients = all_clients(&app).await;
    assert_eq!(clients[0]["status"], "pending");
    let id = clients[0]["id"].as_i64().expect("id");
    let (status, approved) = post_json(
        &admin,
        &app.url(&format!("/api/admin/oauth_apps/{id}/approve")),
        json!({}),
    )
    .await;
    assert_eq!(
        approved["data"]["status"], "approved",
        "{status} {approved}"
    );
    assert!(
        approved["data"]
            .get("client_secret")
            .is_none_or(Value::is_null)
    );

    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    let (status, tokens) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", client_id),
            ("client_secret", secret),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

async fn rfc7591_3_2_2_hostile_metadata_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = with_registration(backend, "open").await;
    set(&app, json!({"dynamic_registration_max_per_ip": 100})).await;
    let with = |extra: Value| {
        let mut body = web_client();
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body
    };
    let many: Vec<String> = (0..1000)
        .map(|i| format!("https://a.example/{i}"))
        .collect();
    let eleven: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
    let private_jwk = json!({"keys": [{"kty": "EC", "crv": "P-256", "d": "AAAA",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let cases = [
        (
            with(json!({"redirect_uris": ["javascript:alert(1)"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["data:text/html,<script>"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://app.example.com/cb#x"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["http://app.example.com/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "web"})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": eleven})),
            "invalid_redirect_uri",
        ),
        (with(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        // Too large a body to read at all.
        (
            with(json!({"redirect_uris": many})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"client_name": "x".repeat(10_000)})),
            "invalid_client_metadata",
        ),
        (with(json!({"client_name": 42})), "invalid_client_metadata"),
        (
            with(json!({"redirect_uris": CALLBACK})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"grant_types": ["client_credentials"]})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "magic"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": private_jwk})),
            "invalid_client_metadata",
        ),
        (
            with(
                json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []},
                "jwks_uri": "https://app.example.com/jwks"}),
            ),
            "invalid_client_metadata",
        ),
        (
            with(json!({"scope": "openid root"})),
            "invalid_client_metadata",
        ),
        // Spending is an admin's decision, never self-service (issue #19).
        (
            with(json!({"scope": "openid balance:spend"})),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (body, error) in cases {
        let (status, answer) = register(&app, &body).await;
        assert_eq!(
            (status, answer["error"].clone()),
            (StatusCode::BAD_REQUEST, json!(error)),
            "{answer} for {}",
            body.to_string().chars().take(200).collect::<String>()
        );
    }
    let res = app
        .client()
        .post(app.url("/oauth2/register"))
        .header("content-type", "application/json")
        .body("{\"redirect_uris\": [")
        .send()
        .await
        .expect("register");
    let (status, answer) = lenient(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let res = app
        .client()
        .post(app.url("/oauth2/register"))
        .header("content-type", "text/plain")
        .body(web_client().to_string())
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(all_clients(&app).await.is_empty(), "nothing stored");
    assert!(audit_actions(&app, "client.registered").await.is_empty());
}

async fn rfc7591_3_2_1_requested_scopes_are_narrowed_to_the_operators_cap(backend: Backend) {
    let app = with_registration(backend, "open").await;
    set(
        &app,
        json!({"self_registered_client_scopes": "openid profile"}),
    )
    .await;
    let mut body = web_client();
    body["scope"] = json!("openid profile email balance offline_access");
    let (status, reg) = register(&app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    assert_eq!(reg["scope"], "openid profile");
    assert_eq!(all_clients(&app).await[0]["scopes"], "openid profile");
}

async fn registrations_over_the_per_ip_limit_are_refused_and_create_nothing(backend: Backend) {
    let app = with_registration(backend, "open").await;
    set(&app, json!({"dynamic_registration_max_per_ip": 2})).await;
    for _ in 0..2 {
        let (status, reg) = register(&app, &web_client()).await;
        assert_eq!(status, StatusCode::CREATED, "{reg}");
    }
    let res = app
        .client()
        .post(app.url("/oauth2/register"))
        .json(&web_client())
        .send()
        .await
        .expect("register");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after > 0);
    assert_eq!(all_clients(&app).await.len(), 2);
}

async fn rfc7592_a_registration_is_managed_with_its_own_token_only(backend: Backend) {
    let app = with_registration(backend, "open").await;
    let (_, first) = register(&app, &web_client()).await;
    let (_, second) = register(&app, &web_client()).await;
    let id = first["client_id"].as_str().expect("client_id");
    let token = first["registration_access_token"].as_str().expect("token");
    let other_token = second["registration_access_token"].as_str().expect("token");
    let get = reqwest::Method::GET;

    let (status, read) = manage(&app, get.clone(), id, token, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["client_id"], json!(id));
    assert_eq!(read["client_name"], "Dynamic App");
    assert!(read.get("client_secret").is_none(), "never shown again");

    // A wrong token, another client's token, no token, a console app: all the same 401.
    let (developer, _) = app.user("developer").await;
    let console = register_app(&app, &developer, json!({})).await;
    for (client_id, bearer) in [
        (id, "kwrg_wrong"),
        (id, other_token),
        (console.client_id.as_str(), token),
        (console.client_id.as_str(), console.client_secret.as_str()),
        ("client_nonexistent", token),
    ] {
        let (status, body) = manage(&app, get.clone(), client_id, bearer, None).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::UNAUTHORIZED, json!("invalid_token")),
            "{client_id} {body}"
        );
    }
    let res = app
        .client()
        .get(app.url(&format!("/oauth2/register/{id}")))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = manage(&app, reqwest::Method::DELETE, id, other_token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Update: the same rules as registration, and the body names the client.
    let mut update = web_client();
    update["client_name"] = json!("Renamed App");
    let (status, body) = manage(&app, reqwest::Method::PUT, id, token, Some(&update)).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_client_metadata")),
        "client_id is required: {body}"
    );
    update["client_id"] = json!(id);
    update["client_secret"] = json!("secret_not_it");
    let (status, body) = manage(&app, reqwest::Method::PUT, id, token, Some(&update)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a wrong secret: {body}");
    update["client_secret"] = first["client_secret"].clone();
    update["redirect_uris"] = json!(["javascript:alert(1)"]);
    let (status, body) = manage(&app, reqwest::Method::PUT, id, token, Some(&update)).await;
    assert_eq!(body["error"], "invalid_redirect_uri", "{status} {body}");
    update["redirect_uris"] = json!([CALLBACK, "https://app.example.com/second"]);
    let (status, body) = manage(&app, reqwest::Method::PUT, id, token, Some(&update)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client_name"], "Renamed App");
    let (_, read) = manage(&app, get.clone(), id, token, None).await;
    assert_eq!(
        read["redirect_uris"].as_array().map(Vec::len),
        Some(2),
        "{read}"
    );

    let (status, _) = manage(&app, reqwest::Method::DELETE, id, token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = manage(&app, get.clone(), id, token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = token_b(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "kwrt_x"),
            ("client_id", id),
            (
                "client_secret",
                first["client_secret"].as_str().unwrap_or_default(),
            ),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_client", "{status} {body}");
    let clients = all_clients(&app).await;
    assert!(clients.iter().all(|c| c["client_id"] != json!(id)));

    for action in ["client.registration_updated", "client.registration_deleted"] {
        let audit = audit_actions(&app, action).await;
        assert_eq!(audit.len(), 1, "{action}: {audit:?}");
        assert_eq!(audit[0]["target"], json!(id));
    }
}

async fn unused_dynamic_clients_are_purged_and_used_ones_kept(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 2).await.expect("store");
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    set(&app, json!({"dynamic_registration": "open"})).await;
    let (_, unused) = register(&app, &web_client()).await;
    let (_, used) = register(&app, &web_client()).await;
    let used_id = used["client_id"].as_str().expect("client_id");

    let (browser, _): (Client, i64) = app.user("user").await;
    let challenge = keyward_core::oauth::pkce::s256_challenge(VERIFIER);
    let code = obtain_code(
        &app,
        &browser,
        "/oauth/authorize",
        &authorize_params(used_id, &challenge),
    )
    .await;
    let (status, _) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", used_id),
            (
                "client_secret",
                used["client_secret"].as_str().unwrap_or_default(),
            ),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Nothing is old enough yet.
    let created = unused["client_id_issued_at"].as_i64().expect("issued at");
    assert_eq!(
        store
            .purge_unused_dynamic_clients(created - 1)
            .await
            .expect("purge"),
        0
    );
    // Once both are past the cut-off, only the one nobody used goes.
    assert_eq!(
        store
            .purge_unused_dynamic_clients(created + 60)
            .await
            .expect("purge"),
        1
    );
    let left: Vec<Value> = all_clients(&app).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["client_id"], json!(used_id));
}

async fn the_settings_page_offers_the_mode_as_a_choice_and_apis_one_per_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (_, _, html) = page(&admin, &app.url("/admin/settings/apps")).await;
    assert!(
        html.contains("<select id=\"s-dynamic_registration\""),
        "{html}"
    );
    assert!(html.contains("<option value=\"off\" selected>"), "{html}");
    assert!(html.contains("<textarea id=\"s-self_registered_client_resources\""));
    let form = [
        ("csrf_token", csrf(&html)),
        ("register_enabled", "1".into()),
        ("password_login_enabled", "1".into()),
        ("password_register_enabled", "1".into()),
        ("dynamic_registration", "review".into()),
        ("dynamic_registration_max_per_ip", "3".into()),
        ("dynamic_client_purge_days", "7".into()),
        ("self_registered_client_scopes", "openid profile".into()),
        (
            "self_registered_client_resources",
            "https://api.example.com\r\n\r\n  https://mcp.example.com \r\n".into(),
        ),
    ];
    let res = admin
        .post(app.url("/admin/settings"))
        .form(&form)
        .send()
        .await
        .expect("post");
    let status = res.status();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    let d = &settings["data"];
    assert_eq!(d["dynamic_registration"], "review");
    assert_eq!(d["dynamic_registration_max_per_ip"], 3);
    assert_eq!(d["dynamic_client_purge_days"], 7);
    assert_eq!(d["self_registered_client_scopes"], "openid profile");
    assert_eq!(
        d["self_registered_client_resources"],
        json!(["https://api.example.com", "https://mcp.example.com"])
    );
    let (_, _, html) = page(&admin, &app.url("/admin/settings/apps")).await;
    assert!(
        html.contains("<option value=\"review\" selected>"),
        "{html}"
    );

    // A new client gets the operator's list as its APIs.
    let (status, reg) = register(&app, &web_client()).await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    assert_eq!(reg["scope"], "openid profile");
    let clients = all_clients(&app).await;
    assert_eq!(
        clients[0]["allowed_resources"],
        json!(["https://api.example.com", "https://mcp.example.com"])
    );
    assert_eq!(clients[0]["status"], "pending");
}

/// What the MCP SDK sends: no `application_type`, a loopback redirect, `none`, and its API's
/// scope rather than one of Keyward's. Accepted as a native public client; an unknown scope is not.
async fn rfc7591_a_typical_mcp_client_registers_without_application_type_for_its_apis_scope(
    backend: Backend,
) {
    let app = with_registration(backend, "open").await;
    let admin = app.admin().await;
    let api = "https://mcp.example.com/mcp";
    let (status, created) = post_json(
        &admin,
        &app.url("/api/admin/resources"),
        json!({"identifier": api, "name": "MCP", "token_format": "jwt",
            "scopes": [{"name": "mcp:tools", "description": "tools"}]}),
    )
    .await;
    assert_eq!(
        (status, &created["success"]),
        (StatusCode::OK, &json!(true)),
        "{created}"
    );
    set(&app, json!({"self_registered_client_resources": [api]})).await;
    let sdk = json!({
        "client_name": "MCP Test Agent",
        "redirect_uris": ["http://127.0.0.1:43123/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "mcp:tools",
    });
    let (status, reg) = register(&app, &sdk).await;
    assert_eq!(status, StatusCode::CREATED, "{reg}");
    assert_eq!(reg["application_type"], "native");
    assert!(reg.get("client_secret").is_none(), "{reg}");
    let mut unknown = sdk.clone();
    unknown["scope"] = json!("mcp:admin");
    let (status, body) = register(&app, &unknown).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_client_metadata"))
    );
}
