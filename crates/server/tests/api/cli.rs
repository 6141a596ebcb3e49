//! The operator's command line, run as the real binary.

use crate::helpers::{Backend, TestApp, TestDatabase, test_config};
use crate::on_both_backends;
use serde_json::Value;
use std::process::{Command, Output};

on_both_backends!(user_commands_create_promote_fund_and_disable);

fn keyward(db: &TestDatabase, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
    cmd.args(args)
        .env("KEYWARD_DATABASE_URL", &db.url)
        .env("KEYWARD_SECRET_KEY", &db.secret_key)
        .env_remove("KEYWARD_USER_PASSWORD")
        .stdin(std::process::Stdio::null());
    if let Some(password) = password {
        cmd.env("KEYWARD_USER_PASSWORD", password);
    }
    cmd.output().expect("run keyward")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

async fn user_commands_create_promote_fund_and_disable(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let out = keyward(&db, &["migrate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let created = json_of(&keyward(
        &db,
        &["user", "create", "xavier", "--json"],
        Some("password-123"),
    ));
    assert_eq!(created["username"], "xavier");
    assert_eq!(created["role"], 1);
    let promoted = json_of(&keyward(
        &db,
        &["user", "set-role", "xavier", "admin", "--json"],
        None,
    ));
    assert_eq!(promoted["role"], 10);
    let funded = json_of(&keyward(
        &db,
        &["user", "set-quota", "Xavier", "5000", "--json"],
        None,
    ));
    assert_eq!(funded["quota"], 5000);
    let disabled = json_of(&keyward(
        &db,
        &["user", "disable", "xavier", "--json"],
        None,
    ));
    assert_eq!(disabled["status"], 2);

    // Refusals exit non-zero with a message and no password ever on the command line.
    assert!(
        !keyward(&db, &["user", "create", "nopass"], None)
            .status
            .success()
    );
    assert!(
        !keyward(&db, &["user", "set-quota", "xavier", "--", "-1"], None)
            .status
            .success()
    );
    assert!(
        !keyward(&db, &["user", "disable", "nobody"], None)
            .status
            .success()
    );
    let dup = keyward(&db, &["user", "create", "XAVIER"], Some("password-123"));
    assert!(!dup.status.success());

    // The server on the same database sees what the CLI did: a disabled user cannot log in.
    let config = test_config(&db);
    let app = TestApp::start(db, config).await;
    let (_, body) = crate::helpers::post_json(
        &app.client(),
        &app.url("/api/user/login"),
        serde_json::json!({"username": "xavier", "password": "password-123"}),
    )
    .await;
    assert_eq!(body["success"], false);
}

#[test]
fn a_bad_outbound_ca_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_pem = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "not a certificate").expect("write");
    let missing = dir.path().join("missing.pem");
    for file in [&not_pem, &missing] {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .env("KEYWARD_OUTBOUND_CA_FILE", file)
            .env("KEYWARD_DATABASE_URL", "sqlite://unused-by-this-test.db")
            .env("KEYWARD_LISTEN", "127.0.0.1:0")
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run keyward");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {}", file.display());
        assert!(stderr.contains("outbound_ca_file"), "{stderr}");
        assert!(stderr.contains(&*file.to_string_lossy()), "{stderr}");
    }
    assert!(
        !dir.path().join("unused-by-this-test.db").exists(),
        "the CA file is checked before the database is opened"
    );
}

#[test]
fn help_documents_every_fixed_configuration_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("--help")
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "listen",
        "public_url",
        "database_url",
        "admin_username",
        "admin_password",
        "outbound_ca_file",
        "otlp_endpoint",
        "otlp_service_name",
        "KEYWARD_",
    ] {
        assert!(text.contains(key), "--help does not mention {key}");
    }
}
