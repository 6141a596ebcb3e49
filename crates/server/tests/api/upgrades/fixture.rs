//! Fixture databases, one per release, kept in `fixtures/upgrade/<release>/`: a dump per backend
//! (`sqlite.sql`, `postgres.sql`), what a client of that release held (`sqlite.json`,
//! `postgres.json`: passwords, tokens, the TOTP secret's URL) and the test-only master key the
//! release encrypted its secrets with (`master.key`). Every later release loads each of them,
//! starts a node on it (which migrates it) and checks that its users, tokens, app and consent
//! still work.
//!
//! The tokens are made with lifetimes of a hundred years (`FOREVER`: `access_token_ttl_secs`,
//! `refresh_token_ttl_secs`, `session_ttl_secs`, `id_token_ttl_secs`), so that a fixture never
//! expires. `KEYWARD_WRITE_UPGRADE_FIXTURE=1` makes the round-trip test below write this
//! release's fixture into the repository (docs/operations.md, "Upgrades").

use super::dump::{dump, load};
use super::schema::{binary_migrate, history_of};
use crate::helpers::{Backend, TestApp, TestDatabase, get_json, post_json, test_config};
use crate::oauth_support::*;
use crate::on_both_backends;
use crate::two_factor::{enrol, now};
use keyward_core::accounts::two_factor::TwoFactor;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

on_both_backends!(
    this_release_makes_a_fixture_that_loads_and_serves,
    every_kept_fixture_migrates_and_still_serves,
);

/// A hundred years, in seconds.
const FOREVER: i64 = 100 * 365 * 24 * 3600;
const PASSWORD: &str = "password-123";
const SCOPE: &str = "openid profile offline_access";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/fixtures/upgrade")
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// What a client of the release that made the fixture held.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    release: String,
    /// The last migration the fixture had run.
    schema_version: i64,
    /// The node's public URL then: its id_tokens' `iss`.
    issuer: String,
    /// Every user's password.
    password: String,
    user: String,
    totp_user: String,
    otpauth_url: String,
    client_id: String,
    client_secret: String,
    access_token: String,
    refresh_token: String,
    id_token: String,
}

/// Makes this release's fixture for `backend` with master key `key`: a user who consented to an
/// app and holds its tokens, a user with TOTP, the app's developer. Returns the manifest and the
/// dump.
async fn make(backend: Backend, key: &str) -> (Manifest, String) {
    let mut db = TestDatabase::new(backend).await;
    db.secret_key = key.to_owned();
    let mut config = test_config(&db);
    config.access_token_ttl_secs = FOREVER;
    config.refresh_token_ttl_secs = FOREVER;
    config.session_ttl_secs = FOREVER;
    config.id_token_ttl_secs = FOREVER;
    let app = TestApp::start(db.clone(), config).await;

    let (developer, _) = app.user("fixture-developer").await;
    let registered = register_app(
        &app,
        &developer,
        json!({"name": "Fixture App", "scopes": SCOPE,
               "grant_types": "authorization_code refresh_token"}),
    )
    .await;
    let (browser, _) = app.user("fixture-user").await;
    let code = obtain_code(
        &app,
        &browser,
        "/oauth/authorize",
        &authorize_params(&registered),
    )
    .await;
    let (status, tokens) = token_b(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (totp, _) = app.user("fixture-totp").await;
    let (otpauth_url, _) = enrol(&app, &totp).await;
    let issuer = app.base.clone();
    app.stop().await;

    let history = history_of(&db).await;
    let schema_version = history
        .last()
        .and_then(|line| line.split(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("a migrated database");
    let field = |name: &str| tokens[name].as_str().expect(name).to_owned();
    let manifest = Manifest {
        release: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        issuer,
        password: PASSWORD.to_owned(),
        user: "fixture-user".to_owned(),
        totp_user: "fixture-totp".to_owned(),
        otpauth_url,
        client_id: registered.client_id,
        client_secret: registered.client_secret,
        access_token: field("access_token"),
        refresh_token: field("refresh_token"),
        id_token: field("id_token"),
    };
    let header = format!(
        "Keyward {} upgrade fixture ({}), schema version {schema_version}: rows only; the \
         schema is the migrations up to that version.\nMade by \
         `KEYWARD_WRITE_UPGRADE_FIXTURE=1 cargo test -p keyward --test api -- --include-ignored \
         this_release_makes_a_fixture` (docs/operations.md, \"Upgrades\").",
        manifest.release,
        backend_name(backend)
    );
    let sql = dump(&db, &header).await;
    (manifest, sql)
}

fn authorize_params(registered: &RegisteredApp) -> [(&str, &str); 6] {
    [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", SCOPE),
        ("state", "fixture"),
        ("nonce", "fixture-nonce"),
    ]
}

/// Loads a fixture into a new database and starts a node of this release on it.
async fn serve(backend: Backend, key: &str, manifest: &Manifest, sql: &str) -> TestApp {
    let mut db = TestDatabase::new(backend).await;
    db.secret_key = key.trim().to_owned();
    load(&db, backend, manifest.schema_version, sql).await;
    let history = history_of(&db).await;
    assert!(
        history
            .last()
            .is_some_and(|last| last.starts_with(&format!("{} ", manifest.schema_version))),
        "the fixture's own history is restored: {history:#?}"
    );
    // The real binary migrates it first, as an operator's `keyward migrate` would.
    binary_migrate(&db);
    let config = test_config(&db);
    TestApp::start(db, config).await
}

/// Checks that what the fixture's clients held still works on `app`.
async fn check(app: &TestApp, m: &Manifest, what: &str) {
    // Users log in with their password; the TOTP user with a code from the enrolled secret (the
    // next time step: the current one may be the enrolment's own).
    let user = app.login(&m.user, &m.password).await;
    let totp = app.client();
    let (_, body) = post_json(
        &totp,
        &app.url("/api/user/login"),
        json!({"username": m.totp_user, "password": m.password}),
    )
    .await;
    assert_eq!(body["data"]["require_2fa"], true, "{what}: {body}");
    let code = TwoFactor::code_for(&m.otpauth_url, now() + 30).expect("code");
    let (_, body) = post_json(
        &totp,
        &app.url("/api/user/login/2fa"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(body["success"], true, "{what}: TOTP: {body}");

    // The access token works at userinfo; the id_token verifies against the node's JWKS.
    let (status, info) = oidc_userinfo(app, &m.access_token).await;
    assert_eq!(status, StatusCode::OK, "{what}: userinfo: {info}");
    let claims = verify_id_token(app, &m.id_token, &m.client_id, &m.issuer).await;
    assert_eq!(claims["sub"], info["sub"], "{what}");

    // The refresh token refreshes, and what it gets works too.
    let (status, refreshed) = token_b(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &m.refresh_token),
            ("client_id", &m.client_id),
            ("client_secret", &m.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{what}: refresh: {refreshed}");
    let access = refreshed["access_token"].as_str().expect("access token");
    assert_eq!(oidc_userinfo(app, access).await.0, StatusCode::OK, "{what}");
    if let Some(id_token) = refreshed["id_token"].as_str() {
        verify_id_token(app, id_token, &m.client_id, &app.base).await;
    }

    // The app and the user's consent are still there: authorizing again skips the consent page.
    let (_, list) = get_json(&user, &app.url("/api/user/authorizations")).await;
    assert!(
        list["data"]
            .as_array()
            .is_some_and(|apps| apps.iter().any(|a| a["client_id"] == m.client_id.as_str())),
        "{what}: {list}"
    );
    let registered = RegisteredApp {
        id: 0,
        client_id: m.client_id.clone(),
        client_secret: m.client_secret.clone(),
    };
    let (status, location, body) = authorize(
        app,
        &user,
        "/oauth/authorize",
        &authorize_params(&registered),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FOUND,
        "{what}: consent asked again: {body}"
    );
    assert!(
        location.is_some_and(|l| l.starts_with(CALLBACK) && l.contains("code=")),
        "{what}"
    );
}

/// `GET /oauth2/userinfo` (OpenID Connect) with `token`.
async fn oidc_userinfo(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo");
    crate::helpers::into_parts(res).await
}

/// Verifies `token`'s signature with the key of the node's JWKS it names, and its `aud`,
/// `iss` and `exp`; returns its claims.
async fn verify_id_token(app: &TestApp, token: &str, client_id: &str, issuer: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("id_token header");
    let kid = header.kid.expect("kid");
    let (_, jwks) = get_json(&app.client(), &app.url("/oauth2/jwks")).await;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .unwrap_or_else(|| panic!("key {kid} is not published: {jwks}"));
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the id_token verifies")
        .claims
}

/// This release's fixture, made, dumped, loaded into a new database and checked there: the
/// generator and the loader are tested on every run, not only when a release writes its
/// fixture. With `KEYWARD_WRITE_UPGRADE_FIXTURE=1` the fixture is also written to the repository.
async fn this_release_makes_a_fixture_that_loads_and_serves(backend: Backend) {
    let dir = fixtures_dir().join(env!("CARGO_PKG_VERSION"));
    let write = std::env::var("KEYWARD_WRITE_UPGRADE_FIXTURE").is_ok_and(|v| v == "1");
    let key = if write {
        release_key(&dir)
    } else {
        keyward_core::oidc::MasterKey::generate().to_base64()
    };
    let (manifest, sql) = make(backend, &key).await;
    let app = serve(backend, &key, &manifest, &sql).await;
    check(&app, &manifest, "this release's fixture").await;
    app.stop().await;

    if write {
        let name = backend_name(backend);
        let (sql_file, json_file) = (
            dir.join(format!("{name}.sql")),
            dir.join(format!("{name}.json")),
        );
        assert!(
            !sql_file.exists(),
            "{} exists: a release's fixture is made once (delete it to make it again)",
            sql_file.display()
        );
        std::fs::write(&sql_file, sql).expect("dump");
        let manifest = serde_json::to_string_pretty(&manifest).expect("manifest");
        std::fs::write(json_file, format!("{manifest}\n")).expect("manifest");
    }
}

/// The release's test-only master key in `dir`, made by whichever backend's run comes first (a
/// hard link does not replace a key another run made meanwhile).
fn release_key(dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("fixture dir");
    let path = dir.join("master.key");
    if !path.exists() {
        let made = dir.join(format!(".master.key.{}", uuid::Uuid::new_v4()));
        let key = keyward_core::oidc::MasterKey::generate().to_base64();
        std::fs::write(&made, format!("{key}\n")).expect("key");
        let _ = std::fs::hard_link(&made, &path);
        std::fs::remove_file(&made).expect("remove");
    }
    std::fs::read_to_string(path)
        .expect("master.key")
        .trim()
        .to_owned()
}

/// Every release's fixture kept in the repository, loaded and migrated by this release.
async fn every_kept_fixture_migrates_and_still_serves(backend: Backend) {
    let name = backend_name(backend);
    let mut releases: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/upgrade")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join(format!("{name}.sql")).exists())
        .collect();
    releases.sort();
    assert!(
        !releases.is_empty(),
        "no {name} fixture in {}",
        fixtures_dir().display()
    );
    for release in releases {
        let read = |file: &str| {
            std::fs::read_to_string(release.join(file))
                .unwrap_or_else(|e| panic!("{}: {e}", release.join(file).display()))
        };
        let manifest: Manifest =
            serde_json::from_str(&read(&format!("{name}.json"))).expect("manifest");
        let key = read("master.key");
        let app = serve(backend, &key, &manifest, &read(&format!("{name}.sql"))).await;
        check(
            &app,
            &manifest,
            &format!("the {} fixture", manifest.release),
        )
        .await;
        // Migration 0016 opened a ledger entry per account that existed before it.
        app.assert_ledger_adds_up().await;
        app.stop().await;
    }
}
