//! The official MCP TypeScript SDK on both sides of Keyward: the example MCP server
//! (`examples/mcp-server`, the SDK's resource-server helpers) and an MCP client whose OAuth flow
//! is the SDK's own (`clients/node/mcp-client.mjs`). The client starts with nothing but the MCP
//! server's URL; the 401, RFC 9728, RFC 8414, PKCE and `resource` are all the SDK's doing. The
//! test plays the user (login, consent, following the redirect to the client's loopback port)
//! and checks what the tool answered. The three ways an MCP client gets its identity: an app
//! registered in the console, a Client ID Metadata Document, dynamic registration (RFC 7591).

use crate::PASSWORD;
use crate::harness::{Harness, Running};
use crate::helpers::{self, TestApp};
use crate::oauth_support::{answer_consent, page, register_app, token_b};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::io::Write as _;
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto::aws_lc_rs};

const SCOPE: &str = "mcp:tools";

/// The example MCP server, running, and registered in Keyward as a JWT-format API with `SCOPE`.
struct McpServer {
    /// Held: the server stops when the test ends.
    _node: Running,
    /// Its resource identifier, which is also the URL MCP clients connect to.
    resource: String,
}

async fn start_mcp_server(app: &TestApp) -> McpServer {
    let mut node = Harness::mcp_server_example().run("server.mjs", &[&app.base, SCOPE]);
    let listening = node.next_event().await;
    assert_eq!(listening["event"], "listening", "{listening}");
    let resource = listening["resource"].as_str().expect("resource").to_owned();
    assert_eq!(listening["url"], resource.as_str(), "{listening}");
    register_api(app, &resource, "MCP example").await;
    McpServer {
        _node: node,
        resource,
    }
}

/// `POST /api/admin/resources`: an API whose tokens are RFC 9068 JWTs, with `SCOPE`.
async fn register_api(app: &TestApp, identifier: &str, name: &str) {
    let admin = app.admin().await;
    let (_, created) = helpers::post_json(
        &admin,
        &app.url("/api/admin/resources"),
        json!({"identifier": identifier, "name": name, "token_format": "jwt", "signing_alg": "ES256",
               "scopes": [{"name": SCOPE, "description": "调用工具", "description_en": "Call its tools"}]}),
    )
    .await;
    assert_eq!(created["success"], true, "{created}");
}

/// `PUT /api/admin/settings` with `changes`.
async fn change_settings(app: &TestApp, changes: Value) {
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&changes)
        .send()
        .await
        .expect("settings");
    let (status, body) = helpers::into_parts(res).await;
    assert_eq!(
        (status, &body["success"]),
        (StatusCode::OK, &json!(true)),
        "{changes}: {body}"
    );
}

/// A signed-in user, and the `sub` Keyward gives them (their UUID).
async fn user(app: &TestApp) -> (Client, String) {
    app.register("nora", PASSWORD).await;
    let browser = app.login("nora", PASSWORD).await;
    let (_, me) = helpers::get_json(&browser, &app.url("/api/user/self")).await;
    let uuid = me["data"]["uuid"].as_str().expect("uuid").to_owned();
    (browser, uuid)
}

/// What one run of the SDK client showed: the consent page and its closing `tool` line.
struct Run {
    consent: String,
    tool: Value,
    /// Every `client_id` the SDK saved.
    client_ids: Vec<String>,
}

/// Runs `mcp-client.mjs` in `mode` against `server` and plays the user: opens the authorization
/// URL the SDK made (checking it carries PKCE S256 and the resource), approves on the consent
/// page, and follows the redirect to the client's loopback port.
async fn run_client(app: &TestApp, browser: &Client, server: &McpServer, mode: &[&str]) -> Run {
    let mut args = vec![server.resource.as_str()];
    args.extend(mode);
    let mut node = Harness::find().run("mcp-client.mjs", &args);
    let started = loop {
        let event = node.next_event().await;
        if event["event"] == "authorize" {
            break event;
        }
        assert_eq!(event["event"], "client", "{event}");
    };
    let url = started["url"].as_str().expect("url");
    let redirect_uri = started["redirect_uri"].as_str().expect("redirect_uri");
    let query: Vec<(String, String)> = reqwest::Url::parse(url)
        .expect("authorization URL")
        .query_pairs()
        .into_owned()
        .collect();
    for (name, value) in [
        ("response_type", "code"),
        ("code_challenge_method", "S256"),
        ("resource", server.resource.as_str()),
        ("redirect_uri", redirect_uri),
        // The server's challenge asks for its scope and Keyward's `profile` (for the name).
        ("scope", &format!("{SCOPE} profile")),
    ] {
        assert!(
            query.iter().any(|(n, v)| n == name && v == value),
            "{name}={value} in {url}"
        );
    }

    let (status, _, consent) = page(browser, url).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert!(consent.contains("调用工具"), "the API's scope: {consent}");
    let (status, location) = answer_consent(app, browser, &consent, "approve").await;
    let location = location.unwrap_or_else(|| panic!("no redirect after consent: {status}"));
    assert!(
        location.starts_with(redirect_uri),
        "{location} vs {redirect_uri}"
    );
    let landed = reqwest::get(&location)
        .await
        .expect("the client's loopback listener");
    assert_eq!(landed.status(), StatusCode::OK);

    let (success, events) = node.finish().await;
    assert!(success, "the SDK client failed: {events:?}");
    let tool = events.last().cloned().unwrap_or(Value::Null);
    assert_eq!(tool["event"], "tool", "{events:?}");
    assert_eq!(tool["scope"], SCOPE, "{tool}");
    let client_ids = events
        .iter()
        .filter(|e| e["event"] == "client")
        .filter_map(|e| e["client_id"].as_str().map(str::to_owned))
        .collect();
    Run {
        consent,
        tool,
        client_ids,
    }
}

/// The `WWW-Authenticate` header of a request to the MCP endpoint with `token`, which must be
/// refused with 401.
async fn refused(resource: &str, token: Option<&str>) -> String {
    let mut request = reqwest::Client::new()
        .post(resource)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.expect("the MCP server");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    res.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A console-registered public app with a portless loopback redirect (RFC 8252 §7.3): the SDK
/// is handed its client_id and registers nothing. The example server also answers RFC 9728 at
/// both well-known paths, challenges without an error code when no token is sent, and refuses a
/// valid Keyward JWT minted for another API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Node harness (npm ci in clients/node and examples/mcp-server; KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn mcp_sdk_client_signs_in_with_a_preregistered_app_and_calls_the_tool() {
    let app = TestApp::spawn(helpers::Backend::Sqlite).await;
    let server = start_mcp_server(&app).await;
    let (developer, _) = app.user("developer").await;
    let agent = register_app(
        &app,
        &developer,
        json!({"name": "MCP Test Agent", "public": true,
               "redirect_uri": "http://127.0.0.1/callback", "scopes": "openid profile"}),
    )
    .await;
    let (browser, uuid) = user(&app).await;

    let run = run_client(
        &app,
        &browser,
        &server,
        &["preregistered", &agent.client_id],
    )
    .await;
    assert!(run.consent.contains("MCP Test Agent"), "{}", run.consent);
    let text = run.tool["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("You are nora (user ")
            && text.contains(&uuid)
            && text.contains(&agent.client_id),
        "{text}"
    );
    // Registered nothing: the only identity it saved is the one it was given.
    assert!(
        run.client_ids.iter().all(|id| *id == agent.client_id),
        "{:?}",
        run.client_ids
    );

    // RFC 9728, at the path-suffixed and the root well-known URL alike.
    let origin = server.resource.trim_end_matches("/mcp");
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, metadata) =
            helpers::get_json(&reqwest::Client::new(), &format!("{origin}{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(metadata["resource"], server.resource.as_str(), "{metadata}");
        assert_eq!(metadata["authorization_servers"], json!([app.base]));
        assert_eq!(metadata["scopes_supported"], json!([SCOPE, "profile"]));
    }
    // No token: a challenge pointing at the metadata, without an error code (RFC 6750 §3.1).
    let challenge = refused(&server.resource, None).await;
    let pointer =
        format!("resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\"");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains(&pointer), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");

    // A token Keyward signed for another API (client credentials of a service listed for it)
    // is refused: its audience is not this server.
    let other = "https://files.example.com/api";
    register_api(&app, other, "Files").await;
    let service = register_app(
        &app,
        &developer,
        json!({"name": "Files service", "grant_types": ["client_credentials"], "redirect_uri": ""}),
    )
    .await;
    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/oauth_apps/{}", service.id)))
        .json(&json!({"allowed_resources": [other]}))
        .send()
        .await
        .expect("list the API for the service");
    assert_eq!(res.status(), StatusCode::OK);
    let (status, tokens) = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", service.client_id.as_str()),
            ("client_secret", service.client_secret.as_str()),
            ("resource", other),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let foreign = tokens["access_token"].as_str().expect("access_token");
    assert_eq!(foreign.split('.').count(), 3, "a JWT: {foreign}");
    let challenge = refused(&server.resource, Some(foreign)).await;
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(&pointer), "{challenge}");
}

/// An https server on 127.0.0.1 serving one JSON document, with a certificate from a throwaway
/// CA that Keyward trusts through `outbound_ca_file`.
struct DocumentServer {
    /// Where the document is.
    url: String,
    /// The CA's certificate (PEM), as Keyward's `outbound_ca_file`.
    ca_file: tempfile::NamedTempFile,
}

impl DocumentServer {
    /// Serves the document `make` writes from its own URL (`path` on the server) to every GET.
    async fn start(path: &str, make: impl FnOnce(&str) -> Value) -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Keyward throwaway test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("CA certificate");
        let leaf_key = rcgen::KeyPair::generate().expect("server key");
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&leaf_key, &ca)
            .expect("server certificate");
        let mut ca_file = tempfile::NamedTempFile::new().expect("temp file");
        ca_file.write_all(ca.pem().as_bytes()).expect("write CA");

        let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let url = format!("https://127.0.0.1:{port}{path}");
        let body: Arc<str> = make(&url).to_string().into();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, body) = (acceptor.clone(), body.clone());
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = answer(&mut tls, &body).await;
                    }
                });
            }
        });
        Self { url, ca_file }
    }
}

/// Reads one request's head and answers it with `body`, whatever it asked.
async fn answer(
    tls: &mut tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    body: &str,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(reply.as_bytes()).await?;
    tls.shutdown().await
}

/// The client is its Client ID Metadata Document, at an https URL Keyward fetches (here on
/// 127.0.0.1, trusted through `outbound_ca_file` and let through by
/// `client_metadata_allow_loopback`): no registration, no console. Its loopback redirect has no
/// port and matches the SDK's port (RFC 8252 §7.3). The consent page says where the app comes
/// from. Needs Client ID Metadata Documents (`client_metadata_documents`,
/// `self_registered_client_resources`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Node harness (npm ci in clients/node and examples/mcp-server; KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn mcp_sdk_client_identifies_itself_by_a_client_metadata_document() {
    let documents = DocumentServer::start("/mcp-agent/client.json", |url| {
        json!({
            "client_id": url,
            "client_name": "MCP Test Agent",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })
    })
    .await;
    let client_id = documents.url.clone();
    let ca_file = documents.ca_file.path().to_str().expect("path").to_owned();
    let app = TestApp::spawn_with(helpers::Backend::Sqlite, |config| {
        config.outbound_ca_file = Some(ca_file);
    })
    .await;
    let server = start_mcp_server(&app).await;
    // Self-registered clients reach only the APIs listed for them.
    change_settings(
        &app,
        json!({"client_metadata_documents": "on", "client_metadata_allow_loopback": true,
               "self_registered_client_resources": [server.resource]}),
    )
    .await;
    // The SDK uses the document only when Keyward says it takes one; else it would register.
    let (status, discovery) = helpers::get_json(
        &reqwest::Client::new(),
        &app.url("/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        discovery["client_id_metadata_document_supported"], true,
        "{discovery}"
    );
    let (browser, uuid) = user(&app).await;

    let run = run_client(&app, &browser, &server, &["cimd", &client_id]).await;
    assert_eq!(run.client_ids, vec![client_id.clone()]);
    assert!(run.consent.contains("MCP Test Agent"), "{}", run.consent);
    // Where the document lives, in the page's text (not only in attributes or hidden fields).
    let page_text: String = run
        .consent
        .split('<')
        .filter_map(|part| part.split_once('>').map(|(_, text)| text))
        .collect();
    assert!(page_text.contains("127.0.0.1"), "{}", run.consent);
    assert!(
        run.consent
            .contains("<strong class=\"client-host\">127.0.0.1</strong>")
            && page_text.contains("本站未审核此应用"),
        "the host stands out and the page says no one reviewed the client: {}",
        run.consent
    );
    let text = run.tool["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("You are nora (user ") && text.contains(&uuid) && text.contains(&client_id),
        "{text}"
    );

    // The admins see it (host, name, one user's consent) and block it: it cannot start again.
    let admin = app.admin().await;
    let (status, _, listing) = page(&admin, &app.url("/admin/client-documents")).await;
    assert_eq!(status, StatusCode::OK);
    let row = listing
        .split("<tr id=\"client-")
        .nth(1)
        .expect("one row")
        .split("</tr>")
        .next()
        .unwrap_or_default();
    assert!(
        row.contains("<strong>127.0.0.1</strong>")
            && row.contains("MCP Test Agent")
            && row.contains("<td>1</td>"),
        "{row}"
    );
    let pk: String = row.chars().take_while(char::is_ascii_digit).collect();
    let res = admin
        .post(app.url(&format!("/admin/apps/{pk}/review")))
        .form(&[
            ("csrf_token", crate::oauth_support::csrf(&listing)),
            ("decision", "disable".into()),
            ("reason", "blocked".into()),
            ("return_to", "/admin/client-documents".into()),
        ])
        .send()
        .await
        .expect("block");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut again = reqwest::Url::parse(&app.url("/oauth/authorize")).expect("url");
    again
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", "http://127.0.0.1:5000/callback")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    let (status, _, refused) = page(&browser, again.as_str()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("管理员已封禁该客户端"), "{refused}");
}

/// No client information at all: the SDK registers at `registration_endpoint` (RFC 7591) with
/// its loopback redirect, then signs in as that app. Needs dynamic registration open to the
/// API (`dynamic_registration`, `self_registered_client_resources`). The SDK's request is a
/// typical MCP client's: no `application_type`, and `scope` is the API's scope (`mcp:tools`,
/// from the 401), not one of Keyward's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Node harness (npm ci in clients/node and examples/mcp-server; KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn mcp_sdk_client_registers_dynamically() {
    let app = TestApp::spawn(helpers::Backend::Sqlite).await;
    let server = start_mcp_server(&app).await;
    change_settings(
        &app,
        json!({"dynamic_registration": "open", "self_registered_client_resources": [server.resource]}),
    )
    .await;
    let (browser, uuid) = user(&app).await;

    let run = run_client(&app, &browser, &server, &["dcr"]).await;
    let [client_id] = run.client_ids.as_slice() else {
        panic!("one registration: {:?}", run.client_ids);
    };
    assert!(run.consent.contains("MCP Test Agent"), "{}", run.consent);
    assert!(
        run.consent.contains("本站未审核此应用"),
        "a self-registered client is marked as not reviewed: {}",
        run.consent
    );
    let text = run.tool["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("You are nora (user ")
            && text.contains(&uuid)
            && text.contains(client_id.as_str()),
        "{text}"
    );
}
