//! `keyward migrate-data` (every table from one database to another, SQLite ↔ PostgreSQL) and the
//! schema-version rules (`migrate --dry-run`, refusing a database a newer release migrated), run
//! as the real binary against databases a real node filled through the API.

use crate::helpers::{Backend, TestApp, TestDatabase, get_json, post_json, test_config};
use crate::oauth_support::{CALLBACK, code_flow, register_app, token_b, userinfo_b};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::process::{Command, Output};

on_both_backends!(
    a_moved_node_keeps_its_sessions_tokens_and_keys,
    migrate_data_refuses_and_changes_nothing,
    an_interrupted_move_leaves_nothing_and_can_be_run_again,
    dry_run_lists_pending_migrations_and_a_newer_schema_is_refused,
);

/// Runs `keyward ARGS` in an empty directory with this master key (and no configuration file).
fn keyward(secret_key: &str, database_url: Option<&str>, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    cmd.args(args)
        .current_dir(dir.path())
        .env("KEYWARD_SECRET_KEY", secret_key)
        .env_remove("KEYWARD_CONFIG")
        .stdin(std::process::Stdio::null());
    match database_url {
        Some(url) => cmd.env("KEYWARD_DATABASE_URL", url),
        None => cmd.env_remove("KEYWARD_DATABASE_URL"),
    };
    cmd.output().expect("run keyward")
}

fn move_data(secret_key: &str, from: &TestDatabase, to: &TestDatabase) -> Output {
    keyward(
        secret_key,
        None,
        &[
            "migrate-data",
            "--from",
            &from.url,
            "--to",
            &to.url,
            "--json",
        ],
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn refused(out: &Output, message: &str) {
    assert!(!out.status.success(), "succeeded: {}", stderr(out));
    assert!(stderr(out).contains(message), "{}", stderr(out));
}

/// One integer from `sql` on `db` (0 for a SQLite file that does not exist yet).
async fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        if !std::path::Path::new(path).exists() {
            return 0;
        }
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        let n = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("query");
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
        let n = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("query");
        pool.close().await;
        n
    }
}

/// The tables of `db`'s schema, the migration history aside (none for a missing SQLite file).
async fn table_names(db: &TestDatabase) -> Vec<String> {
    if let Some(path) = db.url.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        return Vec::new();
    }
    let sql = if db.url.starts_with("sqlite:") {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name"
    } else {
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations' ORDER BY table_name"
    };
    let sql = sqlx::AssertSqlSafe(sql);
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        let names = sqlx::query_scalar(sql)
            .fetch_all(&pool)
            .await
            .expect("tables");
        pool.close().await;
        names
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
        let names = sqlx::query_scalar(sql)
            .fetch_all(&pool)
            .await
            .expect("tables");
        pool.close().await;
        names
    }
}

/// Rows in every table of `db`, summed.
async fn total_rows(db: &TestDatabase) -> i64 {
    let mut total = 0;
    for table in table_names(db).await {
        total += scalar(db, &format!("SELECT COUNT(*) FROM \"{table}\"")).await;
    }
    total
}

/// What a node made through its API, to be found again after a move.
struct Made {
    browser: Client,
    user_id: i64,
    client_id: String,
    client_secret: String,
    access_token: String,
    refresh_token: String,
    id_token: String,
    topup_code: String,
    /// The otpauth URL and recovery codes of "guarded", who has TOTP on.
    totp_url: String,
    recovery: Vec<String>,
}

/// A SQLite node with real state: a logged-in user, an approved app with a consent, a code
/// exchanged for access, refresh and id tokens, a top-up code, a user with TOTP (its secret
/// sealed with the master key), audit records. Stopped.
async fn populated_source() -> (TestDatabase, Made) {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let (developer, _) = app.user("developer").await;
    let registered = register_app(
        &app,
        &developer,
        json!({"scopes": "openid profile offline_access"}),
    )
    .await;
    let (browser, user_id) = app.user("mover").await;
    let (status, tokens) = code_flow(
        &app,
        &app,
        &browser,
        &registered,
        "openid profile offline_access",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let topup = crate::topup::generate(&app, json!({"amount": 700, "count": 1})).await;
    let (guarded, _) = app.user("guarded").await;
    let (totp_url, recovery) = crate::two_factor::enrol(&app, &guarded).await;
    let text = |key: &str| tokens[key].as_str().expect(key).to_owned();
    let made = Made {
        browser,
        user_id,
        client_id: registered.client_id,
        client_secret: registered.client_secret,
        access_token: text("access_token"),
        refresh_token: text("refresh_token"),
        id_token: text("id_token"),
        topup_code: topup[0].clone(),
        totp_url,
        recovery,
    };
    app.stop().await;
    (db, made)
}

/// A new, empty database on `backend` for the node whose master key is `secret_key`.
async fn empty_database(backend: Backend, secret_key: &str) -> TestDatabase {
    let mut db = TestDatabase::new(backend).await;
    db.secret_key = secret_key.to_owned();
    db
}

fn verifies_with(token: &str, jwks: &Value) -> bool {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return false;
    };
    let Some(jwk) = jwks["keys"].as_array().and_then(|keys| {
        keys.iter()
            .find(|k| k["kid"] == header.kid.as_deref().unwrap_or(""))
    }) else {
        return false;
    };
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

/// "guarded" logs in with their password and then `second` (a TOTP code or a recovery code);
/// returns whether the second step was accepted.
async fn second_factor_login(app: &TestApp, second: &str) -> bool {
    let client = app.client();
    let (_, body) = post_json(
        &client,
        &app.url("/api/user/login"),
        json!({"username": "guarded", "password": "password-123"}),
    )
    .await;
    assert_eq!(body["data"]["require_2fa"], true, "{body}");
    let (_, body) = post_json(
        &client,
        &app.url("/api/user/login/2fa"),
        json!({"code": second}),
    )
    .await;
    body["success"] == true
}

/// Checks that the node on a moved database honours everything made before the move; returns
/// the refresh token it issued in exchange for the old one.
async fn still_works(app: &TestApp, made: &Made, refresh_token: &str, newcomer: &str) -> String {
    // The session cookie of the old node.
    let (status, me) = get_json(&made.browser, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["id"], made.user_id, "{me}");
    // The access token, at userinfo.
    let (status, info) = userinfo_b(app, &made.access_token).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    // The id_token minted before the move verifies against the new node's JWKS: same keys.
    let (_, jwks) = get_json(&app.client(), &app.url("/oauth2/jwks")).await;
    assert!(verifies_with(&made.id_token, &jwks), "{jwks}");
    // The refresh token refreshes.
    let (status, refreshed) = token_b(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &made.client_id),
            ("client_secret", &made.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    // New rows get new ids: the id counters moved past the copied ones.
    let (new_browser, new_id) = app.user(newcomer).await;
    assert!(new_id > made.user_id, "{new_id} after {}", made.user_id);
    let (status, created) = post_json(
        &new_browser,
        &app.url("/api/oauth_apps"),
        json!({"name": format!("{newcomer}'s app"), "redirect_uri": CALLBACK}),
    )
    .await;
    assert_eq!(
        (status, created["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{created}"
    );
    refreshed["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

/// The summary names every table of the target's schema, each with the target's row count.
async fn summary_covers_every_table(summary: &Value, target: &TestDatabase) {
    let reported: Vec<(String, i64)> = summary["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["table"].as_str().expect("table").to_owned(),
                t["rows"].as_i64().expect("rows"),
            )
        })
        .collect();
    let mut names: Vec<String> = reported.iter().map(|(t, _)| t.clone()).collect();
    names.sort();
    assert_eq!(names, table_names(target).await, "every table is copied");
    for (table, rows) in &reported {
        let found = scalar(target, &format!("SELECT COUNT(*) FROM \"{table}\"")).await;
        assert_eq!(found, *rows, "{table}");
    }
    for filled in [
        "users",
        "sessions",
        "clients",
        "consents",
        "auth_codes",
        "token_families",
        "tokens",
        "signing_keys",
        "audit_log",
        "topup_codes",
        "developer_tokens",
    ] {
        let rows = reported
            .iter()
            .find(|(t, _)| t == filled)
            .map_or(0, |(_, n)| *n);
        assert!(rows > 0, "{filled} was empty: {summary}");
    }
    assert_eq!(summary["verified"], true);
}

/// SQLite → `backend` → SQLite, each hop checked on a node started on the new database.
async fn a_moved_node_keeps_its_sessions_tokens_and_keys(backend: Backend) {
    let (source, made) = populated_source().await;
    let key = source.secret_key.clone();

    let middle = empty_database(backend, &key).await;
    let summary = succeeded(&move_data(&key, &source, &middle));
    summary_covers_every_table(&summary, &middle).await;
    let app = TestApp::start(middle.clone(), test_config(&middle)).await;
    let refresh = still_works(&app, &made, &made.refresh_token, "newcomer").await;
    // A top-up code made before the move is redeemed once, after it.
    let (_, redeemed) = post_json(
        &made.browser,
        &app.url("/api/user/topup"),
        json!({"key": made.topup_code}),
    )
    .await;
    assert_eq!(redeemed["success"], true, "{redeemed}");
    // The TOTP secret opens on the new node: the next time step's code logs in.
    let now = crate::two_factor::now();
    let code = keyward_core::accounts::two_factor::TwoFactor::code_for(&made.totp_url, now + 30)
        .expect("code");
    assert!(
        second_factor_login(&app, &code).await,
        "TOTP after the move"
    );
    app.stop().await;

    let last = empty_database(Backend::Sqlite, &key).await;
    let summary = succeeded(&move_data(&key, &middle, &last));
    summary_covers_every_table(&summary, &last).await;
    let app = TestApp::start(last.clone(), test_config(&last)).await;
    still_works(&app, &made, &refresh, "latecomer").await;
    // The code redeemed on the middle node stays redeemed.
    let (_, again) = post_json(
        &made.browser,
        &app.url("/api/user/topup"),
        json!({"key": made.topup_code}),
    )
    .await;
    assert_eq!(again["success"], false, "{again}");
    // The last used time step came along: that code is not accepted again; a recovery code is.
    assert!(
        !second_factor_login(&app, &code).await,
        "a TOTP code replayed"
    );
    assert!(second_factor_login(&app, &made.recovery[0]).await);
    app.stop().await;
}

async fn migrate_data_refuses_and_changes_nothing(backend: Backend) {
    let (source, _) = populated_source().await;
    let key = source.secret_key.clone();
    let source_rows = total_rows(&source).await;
    let target = empty_database(backend, &key).await;

    // The same database on both sides.
    refused(
        &move_data(&key, &source, &source),
        "--from and --to name the same database",
    );
    // Another node's master key cannot open the source's signing keys.
    let other = keyward_core::oidc::MasterKey::generate().to_base64();
    refused(
        &move_data(&other, &source, &target),
        "master key does not open",
    );
    assert!(
        table_names(&target).await.is_empty(),
        "the target was changed"
    );

    // A source a newer release migrated, then one an older release left behind.
    source.execute(&future_migration(&source)).await;
    refused(
        &move_data(&key, &source, &target),
        "migrated by a newer Keyward (schema 9999",
    );
    source
        .execute("DELETE FROM _sqlx_migrations WHERE version = 9999")
        .await;

    // A target that holds anything.
    let busy = empty_database(backend, &key).await;
    let app = TestApp::start(busy.clone(), test_config(&busy)).await;
    app.stop().await;
    let busy_rows = total_rows(&busy).await;
    refused(&move_data(&key, &source, &busy), "is not empty");
    assert_eq!(total_rows(&busy).await, busy_rows);

    // A value an old release may have left (a fractional quota in SQLite's INTEGER column) that
    // the target cannot hold exactly: named by table, column and key; no row is written.
    source
        .execute("UPDATE users SET quota = 10.5 WHERE username = 'mover'")
        .await;
    let fresh = empty_database(backend, &key).await;
    let out = move_data(&key, &source, &fresh);
    refused(&out, "table users, column quota, row with key (id = 3)");
    assert!(
        stderr(&out).contains("the real number 10.5"),
        "{}",
        stderr(&out)
    );
    assert_eq!(total_rows(&fresh).await, 0);
    source
        .execute("UPDATE users SET quota = 10 WHERE username = 'mover'")
        .await;

    source
        .execute("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .await;
    refused(
        &move_data(&key, &source, &target),
        "run `keyward migrate` on it first",
    );
    // The source was read, never written.
    assert_eq!(total_rows(&source).await, source_rows);
    assert!(
        table_names(&target).await.is_empty(),
        "the target was changed"
    );
    assert_eq!(scalar(&target, &history_tables(&target)).await, 0);
}

/// Counts the migration history table of `db` (0 or 1).
fn history_tables(db: &TestDatabase) -> String {
    if db.url.starts_with("sqlite:") {
        "SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'".into()
    } else {
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_name = '_sqlx_migrations'"
            .into()
    }
}

/// A migration history row of a release that knows version 9999.
fn future_migration(db: &TestDatabase) -> String {
    let checksum = if db.url.starts_with("sqlite:") {
        "x'00'"
    } else {
        "'\\x00'::bytea"
    };
    format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
         execution_time) VALUES (9999, 'from the future', TRUE, {checksum}, 0)"
    )
}

async fn an_interrupted_move_leaves_nothing_and_can_be_run_again(backend: Backend) {
    let (source, _) = populated_source().await;
    let key = source.secret_key.clone();
    let target = empty_database(backend, &key).await;
    succeeded_migrate(&key, &target);
    // A fault midway: inserting into tokens (filled after users, apps, codes) fails.
    if backend == Backend::Sqlite {
        target
            .execute(
                "CREATE TRIGGER fail_midway BEFORE INSERT ON tokens \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            )
            .await;
    } else {
        target
            .execute(
                "CREATE FUNCTION fail_midway() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            )
            .await;
        target
            .execute(
                "CREATE TRIGGER fail_midway BEFORE INSERT ON tokens \
                 FOR EACH ROW EXECUTE FUNCTION fail_midway()",
            )
            .await;
    }
    let out = move_data(&key, &source, &target);
    refused(&out, "injected failure");
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l.starts_with("users: ") && !l.starts_with("users: 0/")),
        "users were copied before the fault: {}",
        stderr(&out)
    );
    assert_eq!(total_rows(&target).await, 0, "nothing was committed");

    if backend == Backend::Sqlite {
        target.execute("DROP TRIGGER fail_midway").await;
    } else {
        target.execute("DROP TRIGGER fail_midway ON tokens").await;
    }
    let summary = succeeded(&move_data(&key, &source, &target));
    summary_covers_every_table(&summary, &target).await;
}

fn succeeded_migrate(key: &str, db: &TestDatabase) {
    let out = keyward(key, Some(&db.url), &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

async fn dry_run_lists_pending_migrations_and_a_newer_schema_is_refused(backend: Backend) {
    let known = match backend {
        Backend::Sqlite => keyward_store_sqlite::known_migrations(),
        Backend::Postgres => keyward_store_postgres::known_migrations(),
    };
    let db = TestDatabase::new(backend).await;
    let key = db.secret_key.clone();
    let out = keyward(&key, Some(&db.url), &["migrate", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = known
        .iter()
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    assert_eq!(lines, expected);
    let listed = succeeded(&keyward(
        &key,
        Some(&db.url),
        &["migrate", "--dry-run", "--json"],
    ));
    assert_eq!(listed.as_array().map(Vec::len), Some(known.len()));
    assert_eq!(listed[0]["version"], 1);
    // Nothing was applied.
    assert_eq!(scalar(&db, &history_tables(&db)).await, 0);

    succeeded_migrate(&key, &db);
    let listed = succeeded(&keyward(
        &key,
        Some(&db.url),
        &["migrate", "--dry-run", "--json"],
    ));
    assert_eq!(listed, json!([]));

    // A release that knows one more migration has run here.
    db.execute(&future_migration(&db)).await;
    let latest = known.last().expect("migrations").version;
    let message = format!(
        "this database was migrated by a newer Keyward (schema 9999; this release knows up to \
         {latest}): run that release or newer"
    );
    for args in [
        &["migrate"][..],
        &["migrate", "--dry-run"],
        &["user", "create", "someone"],
    ] {
        let out = keyward(&key, Some(&db.url), args);
        refused(&out, &message);
    }
    // The node refuses to start too, and nothing was changed.
    let node = keyward::app::Node::build(test_config(&db)).await;
    let err = node.err().expect("the node refused to start");
    assert!(format!("{err:#}").contains(&message), "{err:#}");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM _sqlx_migrations").await,
        i64::try_from(known.len()).expect("count") + 1
    );
}
