//! Resource servers (issue 14 #1–3): admins register APIs; RFC 8707 `resource` binds a token to
//! one of them; RFC 9068 JWT access tokens verify offline against `jwks_uri`.

use crate::helpers::{Backend, TestApp, get_json, into_parts, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    admins_register_resources_with_checked_fields_and_an_audit_trail,
    rfc8707_2_a_code_flow_with_resource_binds_the_access_token_to_that_api,
    rfc8707_2_bad_resources_answer_invalid_target_and_foreign_scopes_invalid_scope,
    rfc8707_2_2_a_refresh_may_only_narrow_the_grants_resources,
    rfc8707_consent_is_remembered_per_app_resource_and_scopes,
    rfc8707_the_consent_page_names_the_api_in_the_pages_language,
    rfc9068_jwt_access_tokens_verify_offline_against_jwks_with_the_audience,
    rfc7662_the_apis_own_app_introspects_tokens_bound_to_it_and_nothing_else,
    rfc8414_3_1_metadata_at_the_issuers_path_and_resource_support_advertised,
);

const FILES: &str = "https://files.example.com";
const MCP: &str = "https://mcp.example.com/mcp";

async fn create_resource(app: &TestApp, admin: &Client, body: Value) -> (StatusCode, Value) {
    post_json(admin, &app.url("/api/admin/resources"), body).await
}

/// Registers an API and returns its id; panics on refusal.
async fn resource(app: &TestApp, body: Value) -> i64 {
    let admin = app.admin().await;
    let (status, created) = create_resource(app, &admin, body).await;
    assert_eq!(
        (status, &created["success"]),
        (StatusCode::OK, &json!(true)),
        "{created}"
    );
    created["data"]["id"].as_i64().expect("id")
}

fn files() -> Value {
    json!({
        "identifier": FILES,
        "name": "文件服务",
        "name_en": "Files",
        "scopes": [
            {"name": "files:read", "description": "读取你的文件", "description_en": "Read your files"},
            {"name": "files:write", "description": "修改你的文件", "description_en": "Change your files"},
        ],
    })
}

async fn patch_json(client: &Client, url: &str, body: Value) -> (StatusCode, Value) {
    into_parts(client.patch(url).json(&body).send().await.expect("patch")).await
}

/// A web app, an API and a logged-in user.
struct World {
    app: TestApp,
    registered: RegisteredApp,
    browser: Client,
}

async fn world(backend: Backend) -> World {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(&app, &developer, json!({})).await;
    let (browser, _) = app.user("user").await;
    World {
        app,
        registered,
        browser,
    }
}

impl World {
    fn authorize_params<'a>(
        &'a self,
        scope: &'a str,
        resources: &[&'a str],
    ) -> Vec<(&'a str, &'a str)> {
        let mut params = vec![
            ("client_id", self.registered.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st"),
        ];
        params.extend(resources.iter().map(|r| ("resource", *r)));
        params
    }

    async fn code(&self, scope: &str, resources: &[&str]) -> String {
        let params = self.authorize_params(scope, resources);
        obtain_code(&self.app, &self.browser, "/oauth/authorize", &params).await
    }

    async fn exchange(&self, code: &str, resources: &[&str]) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", self.registered.client_id.as_str()),
            ("client_secret", self.registered.client_secret.as_str()),
        ];
        form.extend(resources.iter().map(|r| ("resource", *r)));
        token_b(&self.app, &form).await
    }

    async fn refresh(&self, refresh_token: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", self.registered.client_id.as_str()),
            ("client_secret", self.registered.client_secret.as_str()),
        ];
        form.extend_from_slice(extra);
        token_b(&self.app, &form).await
    }

    async fn introspect(&self, creds: (&str, &str), token: &str) -> Value {
        let res = reqwest::Client::new()
            .post(self.app.url("/oauth2/introspect"))
            .basic_auth(creds.0, Some(creds.1))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect");
        let (status, body) = into_parts(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    fn creds(&self) -> (&str, &str) {
        (&self.registered.client_id, &self.registered.client_secret)
    }

    /// The error an authorize request is sent back to the app with.
    async fn authorize_error(&self, scope: &str, resources: &[&str]) -> (String, String) {
        let params = self.authorize_params(scope, resources);
        let (status, location, body) =
            authorize(&self.app, &self.browser, "/oauth/authorize", &params).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let location = location.expect("location");
        assert!(location.starts_with(CALLBACK), "{location}");
        (
            param(&location, "error").unwrap_or_default(),
            param(&location, "error_description").unwrap_or_default(),
        )
    }
}

async fn admins_register_resources_with_checked_fields_and_an_audit_trail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, created) = create_resource(&app, &admin, files()).await;
    assert_eq!(status, StatusCode::OK);
    let data = &created["data"];
    assert_eq!(data["identifier"], FILES);
    assert_eq!(data["token_format"], "opaque", "opaque is the default");
    assert_eq!(data["access_token_ttl_secs"], 3600);
    assert_eq!(data["enabled"], true);
    assert_eq!(data["scopes"][0]["description_en"], "Read your files");
    let id = data["id"].as_i64().expect("id");

    // Each bad field is refused, and nothing is written.
    let refused = [
        json!({"identifier": FILES, "name": "again"}),
        json!({"identifier": "http://files.example.com", "name": "plain http"}),
        json!({"identifier": "https://a.example.com/#x", "name": "fragment"}),
        json!({"identifier": "/api", "name": "relative"}),
        json!({"identifier": "https://u:p@a.example.com", "name": "userinfo"}),
        json!({"identifier": app.url(""), "name": "the issuer"}),
        json!({"identifier": "https://b.example.com", "name": ""}),
        json!({"identifier": "https://b.example.com", "name": "b", "scopes": [{"name": "profile"}]}),
        json!({"identifier": "https://b.example.com", "name": "b", "scopes": [{"name": "two words"}]}),
        json!({"identifier": "https://b.example.com", "name": "b", "token_format": "jwt", "access_token_ttl_secs": 7200}),
        json!({"identifier": "https://b.example.com", "name": "b", "token_format": "paseto"}),
        json!({"identifier": "https://b.example.com", "name": "b", "introspection_client_id": "client_nobody"}),
    ];
    for body in refused {
        let (status, answer) = create_resource(&app, &admin, body.clone()).await;
        assert_eq!(
            (status, &answer["success"]),
            (StatusCode::OK, &json!(false)),
            "{body} → {answer}"
        );
    }
    let (_, list) = get_json(&admin, &app.url("/api/admin/resources")).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    // A loopback API may use plain http.
    let (_, loopback) = create_resource(
        &app,
        &admin,
        json!({"identifier": "http://127.0.0.1:9000/api", "name": "dev", "token_format": "jwt"}),
    )
    .await;
    assert_eq!(
        loopback["data"]["access_token_ttl_secs"], 300,
        "JWTs are short by default"
    );

    let url = app.url(&format!("/api/admin/resources/{id}"));
    let (_, patched) = patch_json(
        &admin,
        &url,
        json!({"enabled": false, "name_en": "File store"}),
    )
    .await;
    assert_eq!(
        (&patched["data"]["enabled"], &patched["data"]["name_en"]),
        (&json!(false), &json!("File store"))
    );
    let (_, fixed) = patch_json(&admin, &url, json!({"identifier": "https://other.example"})).await;
    assert_eq!(fixed["success"], false, "the identifier is fixed: {fixed}");
    let (status, _) = get_json(&admin, &app.url("/api/admin/resources/999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (user, _) = app.user("mallory").await;
    let (status, _) = create_resource(
        &app,
        &user,
        json!({"identifier": "https://m.example", "name": "m"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");

    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?action=resource.updated")).await;
    assert!(audit.to_string().contains(FILES), "{audit}");
    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?action=resource.created")).await;
    assert!(audit.to_string().contains(FILES), "{audit}");
}

async fn rfc8707_2_a_code_flow_with_resource_binds_the_access_token_to_that_api(backend: Backend) {
    let w = world(backend).await;
    resource(&w.app, files()).await;
    // The consent page names the API and each scope in words.
    let params = w.authorize_params("profile files:read", &[FILES]);
    let (status, _, html) = authorize(&w.app, &w.browser, "/oauth/authorize", &params).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("文件服务") && html.contains("读取你的文件"),
        "{html}"
    );
    assert!(!html.contains("修改你的文件"), "only what is asked");
    let (status, location) = answer_consent(&w.app, &w.browser, &html, "approve").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = param(&location.expect("location"), "code").expect("code");

    let (status, tokens) = w.exchange(&code, &[FILES]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        tokens["scope"], "files:read",
        "the API's token carries the API's scopes"
    );
    let access = tokens["access_token"].as_str().expect("access");
    let active = w.introspect(w.creds(), access).await;
    assert_eq!(
        (&active["active"], &active["aud"]),
        (&json!(true), &json!(FILES)),
        "{active}"
    );
    assert_eq!(active["scope"], "files:read");

    // Keyward's own userinfo refuses a token bound to another audience.
    let (status, _) = userinfo_b(&w.app, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = me_a(&w.app, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The same grant gives a token for Keyward itself when asked by the issuer's URL.
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let issuer = w.app.url("");
    let (status, own) = w.refresh(refresh, &[("resource", issuer.as_str())]).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["scope"], "profile");
    let (status, info) = userinfo_b(&w.app, own["access_token"].as_str().expect("access")).await;
    assert_eq!(status, StatusCode::OK, "{info}");
}

async fn rfc8707_2_bad_resources_answer_invalid_target_and_foreign_scopes_invalid_scope(
    backend: Backend,
) {
    let w = world(backend).await;
    let files_id = resource(&w.app, files()).await;
    resource(
        &w.app,
        json!({"identifier": MCP, "name": "MCP", "scopes": [{"name": "mcp:tools"}]}),
    )
    .await;
    for (resources, why) in [
        (vec!["https://files.example.com/#frag"], "fragment"),
        (vec!["files.example.com"], "relative"),
        (vec!["https://unknown.example.com"], "unknown"),
    ] {
        let (error, _) = w.authorize_error("profile", &resources).await;
        assert_eq!(error, "invalid_target", "{why}");
    }
    let (error, _) = w.authorize_error("profile mcp:tools", &[FILES]).await;
    assert_eq!(error, "invalid_scope", "a scope of an API not asked for");

    // An app an admin limited to the MCP server may not name the file API.
    let admin = w.app.admin().await;
    let url = w
        .app
        .url(&format!("/api/admin/oauth_apps/{}", w.registered.id));
    let (_, limited) = patch_json(&admin, &url, json!({"allowed_resources": [MCP]})).await;
    assert_eq!(
        limited["data"]["allowed_resources"],
        json!([MCP]),
        "{limited}"
    );
    let (error, _) = w.authorize_error("files:read", &[FILES]).await;
    assert_eq!(error, "invalid_target", "not allowed for this app");
    let (_, lifted) = patch_json(&admin, &url, json!({"allowed_resources": null})).await;
    assert!(
        lifted["data"].get("allowed_resources").is_none(),
        "{lifted}"
    );

    // A disabled API is unknown to new requests, and its tokens are dead.
    let code = w.code("files:read", &[FILES]).await;
    let (_, tokens) = w.exchange(&code, &[FILES]).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let resource_url = w.app.url(&format!("/api/admin/resources/{files_id}"));
    patch_json(&admin, &resource_url, json!({"enabled": false})).await;
    let (error, _) = w.authorize_error("files:read", &[FILES]).await;
    assert_eq!(error, "invalid_target", "disabled");
    let dead = w.introspect(w.creds(), &access).await;
    assert_eq!(dead["active"], false, "{dead}");

    // At the token endpoint: client credentials need the API listed for the app; one audience.
    let cc = |resources: Vec<&'static str>| {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", w.registered.client_id.as_str()),
            ("client_secret", w.registered.client_secret.as_str()),
        ];
        form.extend(resources.into_iter().map(|r| ("resource", r)));
        form
    };
    let (status, body) = token_b(&w.app, &cc(vec![MCP])).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("unauthorized_client")),
        "{body}"
    );
    let (developer, _) = w.app.user("ops").await;
    let service = register_app(
        &w.app,
        &developer,
        json!({"grant_types": ["client_credentials"], "redirect_uri": ""}),
    )
    .await;
    let service_url = w.app.url(&format!("/api/admin/oauth_apps/{}", service.id));
    patch_json(&admin, &service_url, json!({"allowed_resources": [MCP]})).await;
    let form = |resources: &[&'static str]| {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", service.client_id.as_str()),
            ("client_secret", service.client_secret.as_str()),
        ];
        form.extend(resources.iter().map(|r| ("resource", *r)));
        form
    };
    for (resources, expected) in [
        (vec!["https://unknown.example.com"], "invalid_target"),
        (vec![FILES], "invalid_target"),
        (vec![MCP, MCP, FILES], "invalid_target"),
        (vec!["https://mcp.example.com/mcp#x"], "invalid_target"),
    ] {
        let (status, body) = token_b(&w.app, &form(&resources)).await;
        assert_eq!(
            (status, &body["error"]),
            (StatusCode::BAD_REQUEST, &json!(expected)),
            "{resources:?}: {body}"
        );
    }
    let mut scoped = form(&[MCP]);
    scoped.push(("scope", "files:read"));
    let (status, body) = token_b(&w.app, &scoped).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_scope")),
        "{body}"
    );
    let (status, body) = token_b(&w.app, &form(&[MCP])).await;
    assert_eq!(
        (status, &body["scope"]),
        (StatusCode::OK, &json!("mcp:tools")),
        "{body}"
    );
}

async fn rfc8707_2_2_a_refresh_may_only_narrow_the_grants_resources(backend: Backend) {
    let w = world(backend).await;
    resource(&w.app, files()).await;
    resource(
        &w.app,
        json!({"identifier": MCP, "name": "MCP", "scopes": [{"name": "mcp:tools"}]}),
    )
    .await;
    let code = w
        .code("files:read files:write mcp:tools", &[FILES, MCP])
        .await;
    let (status, body) = w.exchange(&code, &[]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_target")),
        "two APIs: name one"
    );
    // That failure spent nothing: the code still works.
    let (status, tokens) = w.exchange(&code, &[MCP]).await;
    assert_eq!(
        (status, &tokens["scope"]),
        (StatusCode::OK, &json!("mcp:tools")),
        "{tokens}"
    );
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let (status, files_token) = w
        .refresh(&refresh, &[("resource", FILES), ("scope", "files:read")])
        .await;
    assert_eq!(
        (status, &files_token["scope"]),
        (StatusCode::OK, &json!("files:read")),
        "narrowed: {files_token}"
    );
    let refresh = files_token["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, body) = w
        .refresh(&refresh, &[("resource", "https://other.example.com")])
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_target")),
        "{body}"
    );
    let (status, body) = w
        .refresh(&refresh, &[("resource", FILES), ("scope", "mcp:tools")])
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_scope")),
        "{body}"
    );
    // The refresh token kept the whole grant: both APIs are still reachable.
    let (status, full) = w.refresh(&refresh, &[("resource", FILES)]).await;
    assert_eq!(
        (status, &full["scope"]),
        (StatusCode::OK, &json!("files:read files:write")),
        "{full}"
    );
}

async fn rfc8707_consent_is_remembered_per_app_resource_and_scopes(backend: Backend) {
    let w = world(backend).await;
    resource(&w.app, files()).await;
    resource(
        &w.app,
        json!({"identifier": MCP, "name": "MCP", "scopes": [{"name": "mcp:tools"}]}),
    )
    .await;
    w.code("files:read", &[FILES]).await;
    let asks = |scope: &'static str, resources: Vec<&'static str>| {
        let w = &w;
        async move {
            let params = w.authorize_params(scope, &resources);
            let (status, _, _) = authorize(&w.app, &w.browser, "/oauth/authorize", &params).await;
            status == StatusCode::OK
        }
    };
    assert!(!asks("files:read", vec![FILES]).await, "remembered");
    assert!(
        asks("files:read files:write", vec![FILES]).await,
        "a new scope on the API"
    );
    assert!(asks("mcp:tools", vec![MCP]).await, "another API");

    // The user sees the API among what they authorized, and revoking ends it.
    let (_, mine) = get_json(&w.browser, &w.app.url("/api/user/authorizations")).await;
    assert_eq!(
        mine["data"][0]["resources"],
        json!([{"resource": FILES, "scopes": ["files:read"]}]),
        "{mine}"
    );
    let (_, _, html) = page(&w.browser, &w.app.url("/user/authorizations")).await;
    assert!(
        html.contains("https://files.example.com: files:read"),
        "{html}"
    );
}

async fn rfc8707_the_consent_page_names_the_api_in_the_pages_language(backend: Backend) {
    let w = world(backend).await;
    resource(&w.app, files()).await;
    let params = w.authorize_params("files:read", &[FILES]);
    let query = serde_urlencoded::to_string(&params).expect("query");
    let html = w
        .browser
        .get(w.app.url(&format!("/oauth/authorize?{query}")))
        .header("accept-language", "en")
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("body");
    assert!(
        html.contains("Files") && html.contains("Read your files (files:read)"),
        "{html}"
    );
    assert!(
        !html.contains("文件服务") && !html.contains("读取你的文件"),
        "English only: {html}"
    );
}

/// Verifies `token` with the published keys, as a resource server would with a stock library.
async fn verify(
    app: &TestApp,
    token: &str,
    audience: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = decode_header(token)?;
    let jwks: JwkSet = reqwest::get(app.url("/oauth2/jwks"))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let kid = header.kid.clone().expect("kid");
    let jwk = jwks.find(&kid).expect("key published");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[app.url("")]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk)?, &validation).map(|d| d.claims)
}

async fn rfc9068_jwt_access_tokens_verify_offline_against_jwks_with_the_audience(backend: Backend) {
    let w = world(backend).await;
    let mut es = files();
    es["token_format"] = json!("jwt");
    es["signing_alg"] = json!("ES256");
    resource(&w.app, es).await;
    resource(
        &w.app,
        json!({"identifier": MCP, "name": "MCP", "scopes": [{"name": "mcp:tools"}],
               "token_format": "jwt", "signing_alg": "RS256", "access_token_ttl_secs": 120}),
    )
    .await;

    // A user's token, from the code flow.
    let code = w.code("files:read", &[FILES]).await;
    let (status, tokens) = w.exchange(&code, &[FILES]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let jwt = tokens["access_token"].as_str().expect("jwt").to_owned();
    let header = decode_header(&jwt).expect("a JWS");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let claims = verify(&w.app, &jwt, FILES)
        .await
        .expect("verifies with the audience");
    assert_eq!(claims["client_id"], w.registered.client_id.as_str());
    assert_eq!(claims["scope"], "files:read");
    assert!(
        claims["auth_time"].is_i64() && claims["jti"].is_string(),
        "{claims}"
    );
    assert!(
        claims.get("preferred_username").is_none(),
        "no name without the profile scope: {claims}"
    );
    // With `profile` in the grant, the API learns the user's name from the token itself.
    let code = w.code("profile files:read", &[FILES]).await;
    let (status, named) = w.exchange(&code, &[FILES]).await;
    assert_eq!(status, StatusCode::OK, "{named}");
    let named = verify(&w.app, named["access_token"].as_str().expect("jwt"), FILES)
        .await
        .expect("verifies");
    assert_eq!(named["preferred_username"], "user", "{named}");
    assert_eq!(
        named["scope"], "files:read",
        "an API token carries its API's scopes only"
    );
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        300
    );
    assert!(
        verify(&w.app, &jwt, MCP).await.is_err(),
        "another audience refuses it"
    );
    assert_eq!(tokens["expires_in"], 300);

    // Introspection and revocation still answer for it.
    let active = w.introspect(w.creds(), &jwt).await;
    assert_eq!(
        (&active["active"], &active["aud"]),
        (&json!(true), &json!(FILES)),
        "{active}"
    );
    let res = reqwest::Client::new()
        .post(w.app.url("/oauth2/revoke"))
        .basic_auth(w.creds().0, Some(w.creds().1))
        .form(&[("token", jwt.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), StatusCode::OK);
    let revoked = w.introspect(w.creds(), &jwt).await;
    assert_eq!(
        revoked["active"], false,
        "a revoked JWT is inactive at introspection"
    );
    // A forged token with the same claims is not found.
    let mut forged = jwt.clone();
    forged.pop();
    forged.push(if jwt.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(w.introspect(w.creds(), &forged).await["active"], false);

    // An app's own token (client credentials), RS256: `sub` is the app.
    let (developer, _) = w.app.user("ops").await;
    let service = register_app(
        &w.app,
        &developer,
        json!({"grant_types": ["client_credentials"], "redirect_uri": ""}),
    )
    .await;
    let admin = w.app.admin().await;
    let url = w.app.url(&format!("/api/admin/oauth_apps/{}", service.id));
    patch_json(&admin, &url, json!({"allowed_resources": [MCP]})).await;
    let (status, body) = token_b(
        &w.app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &service.client_id),
            ("client_secret", &service.client_secret),
            ("resource", MCP),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jwt = body["access_token"].as_str().expect("jwt");
    assert_eq!(
        decode_header(jwt).expect("jws").alg,
        jsonwebtoken::Algorithm::RS256
    );
    let claims = verify(&w.app, jwt, MCP).await.expect("verifies");
    assert_eq!(claims["sub"], service.client_id.as_str(), "RFC 9068 §2.2");
    assert!(claims.get("auth_time").is_none());
    assert_eq!(body["expires_in"], 120);
}

async fn rfc7662_the_apis_own_app_introspects_tokens_bound_to_it_and_nothing_else(
    backend: Backend,
) {
    let w = world(backend).await;
    let (developer, _) = w.app.user("api-team").await;
    let api_app = register_app(
        &w.app,
        &developer,
        json!({"grant_types": ["client_credentials"], "redirect_uri": ""}),
    )
    .await;
    let mut body = files();
    body["introspection_client_id"] = json!(api_app.client_id);
    let id = resource(&w.app, body).await;
    let api = (api_app.client_id.as_str(), api_app.client_secret.as_str());

    let code = w.code("profile files:read", &[FILES]).await;
    let (_, bound) = w.exchange(&code, &[FILES]).await;
    let bound = bound["access_token"].as_str().expect("access").to_owned();
    let code = w.code("profile", &[]).await;
    let (_, own) = w.exchange(&code, &[]).await;
    let own = own["access_token"].as_str().expect("access").to_owned();

    let active = w.introspect(api, &bound).await;
    assert_eq!(
        (&active["active"], &active["aud"]),
        (&json!(true), &json!(FILES)),
        "{active}"
    );
    assert_eq!(
        active["client_id"],
        w.registered.client_id.as_str(),
        "the app that holds it"
    );
    assert_eq!(
        w.introspect(api, &own).await["active"],
        false,
        "not bound to its API"
    );

    let admin = w.app.admin().await;
    let url = w.app.url(&format!("/api/admin/resources/{id}"));
    patch_json(&admin, &url, json!({"introspection_client_id": ""})).await;
    assert_eq!(
        w.introspect(api, &bound).await["active"],
        false,
        "no longer its API's app"
    );
}

async fn status_of(app: &TestApp, path: &str) -> StatusCode {
    app.client()
        .get(app.url(path))
        .send()
        .await
        .expect("get")
        .status()
}

async fn rfc8414_3_1_metadata_at_the_issuers_path_and_resource_support_advertised(
    backend: Backend,
) {
    let plain = TestApp::spawn(backend).await;
    let (_, doc) = get_json(
        &plain.client(),
        &plain.url("/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(doc["resource_indicators_supported"], true, "{doc}");
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let status = status_of(&plain, "/.well-known/oauth-authorization-server/auth").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no path in this issuer");
    plain.stop().await;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let app = TestApp::spawn_with(backend, |config| {
        config.listen = format!("127.0.0.1:{port}");
        config.public_url = Some(format!("http://127.0.0.1:{port}/auth"));
    })
    .await;
    let (status, doc) = get_json(
        &app.client(),
        &app.url("/.well-known/oauth-authorization-server/auth"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["issuer"], format!("http://127.0.0.1:{port}/auth"));
    let status = status_of(&app, "/.well-known/oauth-authorization-server/other").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
