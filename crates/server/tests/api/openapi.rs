//! `/api/openapi.json`: an OpenAPI 3 document of every JSON endpoint, generated from the code.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    the_openapi_document_describes_every_json_endpoint,
    every_documented_operation_is_served,
);

/// Every JSON endpoint of the five families (SPEC §1), as (method, path).
const JSON_ENDPOINTS: &[(&str, &str)] = &[
    // A: 2libra.
    ("post", "/api/oauth/token"),
    ("get", "/api/oauth/me"),
    // B: new-api provider and developer API.
    ("post", "/api/oauth2/token"),
    ("get", "/api/oauth2/userinfo"),
    ("get", "/api/oauth2/topup"),
    ("post", "/api/oauth_apps"),
    ("get", "/api/oauth_apps"),
    ("get", "/api/oauth_apps/{id}"),
    ("delete", "/api/oauth_apps/{id}"),
    ("patch", "/api/oauth_apps/{id}"),
    ("post", "/api/oauth_apps/{id}/secret"),
    ("post", "/api/oauth_apps/{id}/reveal"),
    ("delete", "/api/oauth_apps/{id}/change"),
    // C: OpenID Connect.
    ("get", "/.well-known/openid-configuration"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/oauth2/jwks"),
    ("get", "/oauth2/userinfo"),
    ("post", "/oauth2/userinfo"),
    ("post", "/oauth2/revoke"),
    ("post", "/oauth2/introspect"),
    ("post", "/oauth2/register"),
    ("get", "/oauth2/register/{client_id}"),
    ("put", "/oauth2/register/{client_id}"),
    ("delete", "/oauth2/register/{client_id}"),
    // D: the login module.
    ("get", "/api/oauth/state"),
    ("get", "/api/oauth/github"),
    ("get", "/api/oauth/oidc"),
    ("get", "/api/oauth/linuxdo"),
    ("get", "/api/oauth/{provider}/start"),
    ("get", "/api/oauth/wechat"),
    ("get", "/api/oauth/wechat/bind"),
    ("post", "/api/oauth/wechat/bind"),
    ("get", "/api/oauth/telegram/login"),
    ("post", "/api/oauth/telegram/login"),
    ("get", "/api/oauth/telegram/bind"),
    ("get", "/api/oauth/email/bind"),
    ("post", "/api/oauth/email/bind"),
    // E: account and admin.
    ("post", "/api/user/register"),
    ("post", "/api/user/login"),
    ("post", "/api/user/login/2fa"),
    ("get", "/api/user/logout"),
    ("get", "/api/user/self"),
    ("put", "/api/user/self"),
    ("get", "/api/user/token"),
    ("get", "/api/user/2fa/status"),
    ("post", "/api/user/2fa/setup"),
    ("post", "/api/user/2fa/enable"),
    ("post", "/api/user/2fa/disable"),
    ("get", "/api/user/authorizations"),
    ("delete", "/api/user/authorizations/{client_id}"),
    ("get", "/api/user/identities"),
    ("delete", "/api/user/identities/{provider}"),
    ("get", "/api/status"),
    ("get", "/api/verification"),
    ("get", "/api/reset_password"),
    ("post", "/api/user/reset"),
    ("get", "/api/admin/oauth_apps"),
    ("patch", "/api/admin/oauth_apps/{id}"),
    // approve, reject, disable
    ("post", "/api/admin/oauth_apps/{id}/{decision}"),
    ("post", "/api/admin/oauth_apps/{id}/change/{decision}"),
    ("get", "/api/admin/users"),
    ("patch", "/api/admin/users/{id}"),
    ("get", "/api/admin/settings"),
    ("put", "/api/admin/settings"),
    ("get", "/api/admin/audit"),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn fetch_document(app: &TestApp) -> Value {
    let res = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("get openapi.json");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/json"))
    );
    let text = res.text().await.expect("body");
    // It is an OpenAPI document by the model of a library that reads them...
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_str(&text).expect("parses as an OpenAPI document");
    assert!(!parsed.paths.paths.is_empty());
    serde_json::from_str(&text).expect("JSON")
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

async fn the_openapi_document_describes_every_json_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = fetch_document(&app).await;

    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "OpenAPI 3: {}",
        doc["openapi"]
    );
    let mut missing = Vec::new();
    for (method, path) in JSON_ENDPOINTS {
        let operation = &doc["paths"][path][method];
        if !operation.is_object() {
            missing.push(format!("{method} {path}"));
            continue;
        }
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.starts_with('3')),
            "{method} {path} documents a success"
        );
        assert!(
            responses.contains_key("500"),
            "{method} {path} gets its family's errors"
        );
    }
    assert!(missing.is_empty(), "not documented: {missing:?}");

    // Operation ids are unique (tools such as schemathesis select and report by them).
    let mut ids = std::collections::HashSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for method in METHODS {
            if let Some(id) = item[method]["operationId"].as_str() {
                assert!(ids.insert(id.to_owned()), "operationId {id} repeats");
            }
        }
    }

    // The envelopes are the real ones, per family.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Failure"]["properties"]["success"]["enum"],
        serde_json::json!([false])
    );
    let login = &doc["paths"]["/api/user/login"]["post"];
    assert!(login["responses"]["400"].is_object() && login["responses"]["429"].is_object());
    let token = &doc["paths"]["/api/oauth2/token"]["post"];
    assert!(
        token["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object(),
        "the token endpoint takes a form"
    );
    let me = &doc["paths"]["/api/oauth/me"]["get"]["responses"];
    assert!(me["401"]["content"]["application/json"].is_object());

    // Security schemes: developer token, access token, session cookie, client Basic auth.
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for name in ["developer_token", "access_token", "session", "client_basic"] {
        assert!(schemes.contains_key(name), "security scheme {name}");
    }
    assert_eq!(schemes["session"]["in"], "cookie");

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas[name].is_object(), "dangling $ref {r}");
    }
    app.stop().await;
}

/// The document names only routes that exist: each documented operation answers its method
/// (not 405) and is not the fallback's 404.
async fn every_documented_operation_is_served(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = fetch_document(&app).await;
    let client = app.client();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 50, "{} paths", paths.len());
    for (path, item) in paths {
        let concrete = path
            .replace("{provider}", "github")
            .replace("{client_id}", "client_x")
            .replace("{id}", "1");
        for method in METHODS.iter().filter(|m| item[**m].is_object()) {
            let request = match *method {
                "get" => client.get(app.url(&concrete)),
                "put" => client.put(app.url(&concrete)),
                "post" => client.post(app.url(&concrete)),
                "delete" => client.delete(app.url(&concrete)),
                _ => client.patch(app.url(&concrete)),
            };
            let res = request.send().await.expect("request");
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(status == StatusCode::NOT_FOUND && body.contains("未找到")),
                "{method} {path} is not routed"
            );
            assert!(!status.is_server_error(), "{method} {path}: {status}");
        }
    }
    app.stop().await;
}
