//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OIDC Core §9) over HTTP, on
//! both backends: an app registers a public JWK Set and signs assertions with its own key at
//! the token, introspection and revocation endpoints.

use crate::helpers::{
    Backend, TestApp, TestDatabase, get_json, into_parts, post_json, test_config,
};
use crate::oauth_support::*;
use crate::on_both_backends;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

on_both_backends!(
    rfc7523_2_2_a_client_gets_tokens_by_client_credentials_and_code_with_its_key,
    rfc7523_3_refused_assertions_are_invalid_client,
    rfc7523_3_a_jti_is_used_once,
    rfc7523_2_2_one_method_per_client_and_per_request,
    rfc7523_2_2_introspection_and_revocation_accept_an_assertion,
    rfc7591_jwks_registration_is_validated,
    rfc7523_3_refused_assertions_count_against_the_failure_budgets,
    rfc7523_3_a_jti_used_at_one_node_is_a_replay_at_another_and_after_a_restart,
    rfc8628_3_1_the_device_authorization_endpoint_accepts_an_assertion,
);

const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Key {
    der: Vec<u8>,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(der.as_ref()).expect("pair");
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    Key {
        der: der.as_ref().to_vec(),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"}),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

fn claims(client_id: &str, aud: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now() + 60,
        "iat": now(), "jti": uuid::Uuid::new_v4().to_string()})
}

fn sign(key: &Key, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&key.der)).expect("sign")
}

/// A developer registers a `private_key_jwt` app with `jwks`, an admin approves it; no secret.
async fn register(app: &TestApp, jwks: Value) -> String {
    let (developer, _) = app.user("dev").await;
    let (status, created) = create_app(
        app,
        &developer,
        &json!({"name": "Signed", "redirect_uri": CALLBACK,
            "grant_types": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}),
    )
    .await;
    assert_eq!(
        (status, created["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{created}"
    );
    let id = created["data"]["id"].as_i64().expect("id");
    let admin = app.admin().await;
    let url = app.url(&format!("/api/admin/oauth_apps/{id}/approve"));
    let (status, _) = post_json(&admin, &url, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = get_json(&developer, &app.url(&format!("/api/oauth_apps/{id}"))).await;
    assert_eq!(
        view["data"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    assert_eq!(view["data"]["jwks"], jwks);
    assert!(view["data"].get("client_secret").is_none(), "{view}");
    view["data"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("post");
    into_parts(res).await
}

/// The status of a POST whose body may be empty (revocation answers 200 with nothing).
async fn post_status(app: &TestApp, path: &str, form: &[(&str, &str)]) -> StatusCode {
    reqwest::Client::new()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("post")
        .status()
}

async fn client_credentials(app: &TestApp, assertion: &str) -> (StatusCode, Value) {
    token_b(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", TYPE),
            ("client_assertion", assertion),
        ],
    )
    .await
}

fn refused(answer: &(StatusCode, Value)) -> bool {
    answer.0 == StatusCode::UNAUTHORIZED && answer.1["error"] == "invalid_client"
}

async fn rfc7523_2_2_a_client_gets_tokens_by_client_credentials_and_code_with_its_key(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let k = key("k1");
    let client_id = register(&app, json!({"keys": [k.jwk]})).await;
    let token_url = app.url("/api/oauth2/token");
    let (status, body) =
        client_credentials(&app, &sign(&k, "k1", &claims(&client_id, &token_url))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    // The issuer is an audience too.
    let issuer = app.url("").trim_end_matches('/').to_owned();
    let (status, body) =
        client_credentials(&app, &sign(&k, "k1", &claims(&client_id, &issuer))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (browser, _) = app.user("alice").await;
    let params = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "profile"),
        ("state", "s"),
    ];
    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    let assertion = sign(&k, "k1", &claims(&client_id, &token_url));
    let (status, body) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client_id),
            ("client_assertion_type", TYPE),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
}

async fn rfc7523_3_refused_assertions_are_invalid_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let k = key("k1");
    let client_id = register(&app, json!({"keys": [k.jwk]})).await;
    let token_url = app.url("/api/oauth2/token");
    let good = || claims(&client_id, &token_url);
    let with = |name: &str, value: Value| {
        let mut c = good();
        c[name] = value;
        c
    };
    let stranger = key("k1");
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
        URL_SAFE_NO_PAD.encode(good().to_string())
    );
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let secret = serde_json::to_vec(&k.jwk).expect("json");
        jsonwebtoken::encode(&header, &good(), &EncodingKey::from_secret(&secret)).expect("hs")
    };
    let cases = [
        (
            "wrong audience",
            sign(&k, "k1", &with("aud", json!(app.url("/oauth2/revoke")))),
        ),
        ("expired", sign(&k, "k1", &with("exp", json!(now() - 120)))),
        (
            "exp too far ahead",
            sign(&k, "k1", &with("exp", json!(now() + 3600))),
        ),
        ("no exp", sign(&k, "k1", &with("exp", Value::Null))),
        ("no jti", sign(&k, "k1", &with("jti", Value::Null))),
        ("unknown kid", sign(&k, "k9", &good())),
        ("key not registered", sign(&stranger, "k1", &good())),
        ("alg none", none),
        ("HS256 with the public key as secret", hs256),
    ];
    for (why, assertion) in &cases {
        let answer = client_credentials(&app, assertion).await;
        assert!(refused(&answer), "{why}: {answer:?}");
    }
    // An assertion for another client_id: iss/sub name the other app, which has no keys.
    let other = register_app(&app, &app.user("dev2").await.0, json!({})).await;
    let answer =
        client_credentials(&app, &sign(&k, "k1", &claims(&other.client_id, &token_url))).await;
    assert!(refused(&answer), "{answer:?}");
    // iss of one app, sub of another.
    let answer =
        client_credentials(&app, &sign(&k, "k1", &with("iss", json!(other.client_id)))).await;
    assert!(refused(&answer), "{answer:?}");
}

async fn rfc7523_3_a_jti_is_used_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let k = key("k1");
    let client_id = register(&app, json!({"keys": [k.jwk]})).await;
    let assertion = sign(&k, "k1", &claims(&client_id, &app.url("/api/oauth2/token")));
    assert_eq!(client_credentials(&app, &assertion).await.0, StatusCode::OK);
    let replay = client_credentials(&app, &assertion).await;
    assert!(refused(&replay), "{replay:?}");
    // Nor at another endpoint whose audience it names: the issuer as audience.
    let issuer = app.url("").trim_end_matches('/').to_owned();
    let mut c = claims(&client_id, &issuer);
    let once = sign(&k, "k1", &c);
    assert_eq!(client_credentials(&app, &once).await.0, StatusCode::OK);
    let (status, _) = post_form(
        &app,
        "/oauth2/introspect",
        &[
            ("token", "x"),
            ("client_assertion_type", TYPE),
            ("client_assertion", &once),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A fresh jti works again.
    c["jti"] = json!("fresh");
    assert_eq!(
        client_credentials(&app, &sign(&k, "k1", &c)).await.0,
        StatusCode::OK
    );
}

async fn rfc7523_2_2_one_method_per_client_and_per_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let k = key("k1");
    let client_id = register(&app, json!({"keys": [k.jwk]})).await;
    let token_url = app.url("/api/oauth2/token");
    // A secret sent by a private_key_jwt app.
    let answer = token_b(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "kws_anything"),
        ],
    )
    .await;
    assert!(refused(&answer), "{answer:?}");
    // An assertion sent by a secret app (whose "keys" it does not have).
    let secret_app = register_app(
        &app,
        &app.user("dev2").await.0,
        json!({"grant_types": ["client_credentials"]}),
    )
    .await;
    let answer = client_credentials(
        &app,
        &sign(&k, "k1", &claims(&secret_app.client_id, &token_url)),
    )
    .await;
    assert!(refused(&answer), "{answer:?}");
    // Both methods at once; a client_id that is not the assertion's.
    let assertion = sign(&k, "k1", &claims(&client_id, &token_url));
    for extra in [
        ("client_secret", "x"),
        ("client_id", secret_app.client_id.as_str()),
    ] {
        let (status, body) = token_b(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", TYPE),
                ("client_assertion", &assertion),
                extra,
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_request")),
            "{extra:?}"
        );
    }
}

async fn rfc7523_2_2_introspection_and_revocation_accept_an_assertion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let k = key("k1");
    let client_id = register(&app, json!({"keys": [k.jwk]})).await;
    let assertion = sign(&k, "k1", &claims(&client_id, &app.url("/api/oauth2/token")));
    let (_, issued) = client_credentials(&app, &assertion).await;
    let token = issued["access_token"].as_str().expect("token");
    let at = |path: &str| sign(&k, "k1", &claims(&client_id, &app.url(path)));

    let introspect = at("/oauth2/introspect");
    let form = [
        ("token", token),
        ("client_assertion_type", TYPE),
        ("client_assertion", &introspect),
    ];
    let (status, body) = post_form(&app, "/oauth2/introspect", &form).await;
    assert_eq!(
        (status, body["active"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    // The introspection endpoint's assertion is not good at the revocation endpoint.
    let wrong = at("/oauth2/introspect");
    let form = [
        ("token", token),
        ("client_assertion_type", TYPE),
        ("client_assertion", &wrong),
    ];
    assert_eq!(
        post_status(&app, "/oauth2/revoke", &form).await,
        StatusCode::UNAUTHORIZED
    );

    let revoke = at("/oauth2/revoke");
    let form = [
        ("token", token),
        ("client_assertion_type", TYPE),
        ("client_assertion", &revoke),
    ];
    assert_eq!(
        post_status(&app, "/oauth2/revoke", &form).await,
        StatusCode::OK
    );
    let again = at("/oauth2/introspect");
    let form = [
        ("token", token),
        ("client_assertion_type", TYPE),
        ("client_assertion", &again),
    ];
    let (_, body) = post_form(&app, "/oauth2/introspect", &form).await;
    assert_eq!(body["active"], false, "{body}");
}

async fn rfc7591_jwks_registration_is_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("dev").await;
    let mut private = key("k1").jwk;
    private["d"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let six: Vec<Value> = (0..6).map(|i| key(&format!("k{i}")).jwk).collect();
    for (why, extra) in [
        (
            "private key",
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [private]}}),
        ),
        (
            "six keys",
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": six}}),
        ),
        (
            "no keys",
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
        ),
        (
            "unknown kty",
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}}),
        ),
        (
            "jwks without the method",
            json!({"jwks": {"keys": [key("k").jwk]}}),
        ),
        (
            "unknown method",
            json!({"token_endpoint_auth_method": "tls_client_auth"}),
        ),
        (
            "jwks_uri without private_key_jwt (never silently a secret app)",
            json!({"jwks_uri": "https://app.example.com/jwks"}),
        ),
        (
            "jwks_uri over plain http",
            json!({"token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": "http://app.example.com/jwks"}),
        ),
        (
            "public with a method",
            json!({"public": true, "token_endpoint_auth_method": "client_secret_basic"}),
        ),
    ] {
        let mut body = json!({"name": "x", "redirect_uri": CALLBACK});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (status, answer) = create_app(&app, &developer, &body).await;
        assert_eq!(
            (status, answer["success"].clone()),
            (StatusCode::OK, json!(false)),
            "{why}: {answer}"
        );
    }
}

async fn rfc7523_3_refused_assertions_count_against_the_failure_budgets(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("range")];
    })
    .await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(
            &json!({"token_failures_max_per_client": 4, "token_failures_max_per_ip": 2,
            "token_failures_window_secs": 600}),
        )
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK);
    let k = key("k1");
    let client_id = register(&app, json!({"keys": [k.jwk]})).await;
    let stranger = key("k1");
    for (path, address) in [
        ("/api/oauth2/token", "198.51.100.1"),
        ("/oauth2/introspect", "198.51.100.2"),
    ] {
        let send = |assertion: String| {
            let app = &app;
            async move {
                reqwest::Client::new()
                    .post(app.url(path))
                    .header("X-Forwarded-For", address)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("token", "kwat_x"),
                        ("client_assertion_type", TYPE),
                        ("client_assertion", &assertion),
                    ])
                    .send()
                    .await
                    .expect("post")
                    .status()
            }
        };
        let forged = || sign(&stranger, "k1", &claims(&client_id, &app.url(path)));
        for _ in 0..2 {
            assert_eq!(send(forged()).await, StatusCode::UNAUTHORIZED, "{path}");
        }
        assert_eq!(
            send(forged()).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{path}"
        );
    }
    // Four failures for the client: its forged assertions are refused from anywhere, a good
    // one is not (the client_id is public; a correct credential is never locked out).
    let good = sign(&k, "k1", &claims(&client_id, &app.url("/api/oauth2/token")));
    let forged = sign(
        &stranger,
        "k1",
        &claims(&client_id, &app.url("/api/oauth2/token")),
    );
    let from = |assertion: String| {
        let app = &app;
        async move {
            reqwest::Client::new()
                .post(app.url("/api/oauth2/token"))
                .header("X-Forwarded-For", "203.0.113.1")
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", TYPE),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .expect("post")
                .status()
        }
    };
    assert_eq!(from(forged).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from(good).await, StatusCode::OK);
}

async fn rfc7523_3_a_jti_used_at_one_node_is_a_replay_at_another_and_after_a_restart(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    // Node B serves the same issuer (as behind one load balancer).
    let mut config = test_config(&db);
    config.public_url = Some(a.base.clone());
    let b = TestApp::start(db.clone(), config.clone()).await;
    let k = key("k1");
    let client_id = register(&a, json!({"keys": [k.jwk]})).await;
    let assertion = sign(&k, "k1", &claims(&client_id, &a.url("/api/oauth2/token")));
    let at = |node: &TestApp| {
        let request = reqwest::Client::new()
            .post(node.url("/api/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", TYPE),
                ("client_assertion", assertion.as_str()),
            ]);
        async move { request.send().await.expect("post").status() }
    };
    assert_eq!(at(&a).await, StatusCode::OK);
    assert_eq!(at(&b).await, StatusCode::UNAUTHORIZED);
    // A restarted node remembers it too.
    a.stop().await;
    let restarted = TestApp::start(db.clone(), config).await;
    assert_eq!(at(&restarted).await, StatusCode::UNAUTHORIZED);
}

async fn rfc8628_3_1_the_device_authorization_endpoint_accepts_an_assertion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (developer, _) = app.user("dev").await;
    let k = key("k1");
    let (status, created) = create_app(
        &app,
        &developer,
        &json!({"name": "Device", "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
            "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [k.jwk]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["data"]["id"].as_i64().expect("id");
    let admin = app.admin().await;
    let url = app.url(&format!("/api/admin/oauth_apps/{id}/approve"));
    assert_eq!(post_json(&admin, &url, json!({})).await.0, StatusCode::OK);
    let client_id = created["data"]["client_id"].as_str().expect("client_id");
    let ask = |aud: String| {
        let assertion = sign(&k, "k1", &claims(client_id, &aud));
        let app = &app;
        async move {
            post_form(
                app,
                "/oauth2/device_authorization",
                &[
                    ("scope", "profile"),
                    ("client_assertion_type", TYPE),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    let (status, body) = ask(app.url("/oauth2/device_authorization")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["device_code"].is_string(), "{body}");
    let refused = ask(app.url("/oauth2/revoke")).await;
    assert_eq!(refused.0, StatusCode::UNAUTHORIZED, "{:?}", refused.1);
}
