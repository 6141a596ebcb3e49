//! `keyward backup`: the real binary copies a node's SQLite file while the node mints tokens;
//! the copy restores to a node on which everything answered before the backup still works.

use crate::helpers::{Backend, TestApp, TestDatabase, get_json, into_parts, test_config};
use crate::oauth_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `keyward backup ARGS…` on the database at `url`.
fn backup(url: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("dir");
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("backup")
        .args(args)
        .env("KEYWARD_DATABASE_URL", url)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run keyward backup")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A client_credentials grant's access token.
async fn mint(client: &reqwest::Client, app: &TestApp, registered: &RegisteredApp) -> String {
    let res = client
        .post(app.url("/api/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("token");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn active(app: &TestApp, registered: &RegisteredApp, token: &str) -> bool {
    let res = reqwest::Client::new()
        .post(app.url("/oauth2/introspect"))
        .form(&[
            ("token", token),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("introspect");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["active"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_backed_up_while_it_mints_tokens_restores_with_everything_answered_before() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let (developer, _) = app.user("backer").await;
    let registered = Arc::new(
        register_app(
            &app,
            &developer,
            json!({"scopes": "profile", "grant_types": "authorization_code refresh_token client_credentials"}),
        )
        .await,
    );
    let (browser, _) = app.user("alice").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "profile"),
        ("state", "s"),
    ];
    let code = obtain_code(&app, &browser, "/oauth/authorize", &params).await;
    let (status, pair) = token_b(
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
    assert_eq!(status, StatusCode::OK, "{pair}");

    // Tokens are minted all through the backup, by two clients at once.
    let minted = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (minted, stop, registered) = (minted.clone(), stop.clone(), registered.clone());
            let app = TestApp::external(app.base.clone(), db.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                while !stop.load(Ordering::SeqCst) {
                    let token = mint(&client, &app, &registered).await;
                    minted.lock().expect("lock").push(token);
                }
            })
        })
        .collect();
    while minted.lock().expect("lock").len() < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answered_before = minted.lock().expect("lock").clone();
    let out_dir = tempfile::tempdir().expect("dir");
    let copy = out_dir.path().join("keyward-backup.db");
    let url = db.url.clone();
    let copy_arg = copy.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || backup(&url, &[&copy_arg, "--json"]))
        .await
        .expect("backup task");
    let during = minted.lock().expect("lock").len() - answered_before.len();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["integrity_check"], "ok");
    assert_eq!(
        report["bytes"].as_u64(),
        Some(std::fs::metadata(&copy).expect("copy").len())
    );
    // Answered after the copy was complete: not in it.
    let after = mint(&reqwest::Client::new(), &app, &registered).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.expect("load task");
    }
    assert_eq!(
        files_in(out_dir.path()),
        ["keyward-backup.db"],
        "no temporary file is left"
    );
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&copy).expect("copy").permissions()
        ) & 0o777,
        0o600,
        "the copy holds every account: readable by its owner only"
    );
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", copy.display()))
        .await
        .expect("open the copy");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok");
    pool.close().await;

    // Restore: stop the node, put the copy where a node's database goes, start a node on it with
    // the same master key. The copy goes to a folder of its own rather than over the live file:
    // here the stopped node is in this process, and may hold its connections to that path a
    // moment longer (a real restore stops the process first, docs/operations.md).
    app.stop().await;
    let restore_dir = tempfile::tempdir().expect("dir");
    let restored_file = restore_dir.path().join("keyward.db");
    std::fs::copy(&copy, &restored_file).expect("restore the copy");
    let restored_db = db.sqlite_file(&restored_file);
    let restored = TestApp::start(restored_db.clone(), test_config(&restored_db)).await;

    restored.login("alice", "password-123").await;
    assert_eq!(
        get_json(&browser, &restored.url("/api/user/self")).await.0,
        StatusCode::OK,
        "alice's browser session is in the copy"
    );
    let access = pair["access_token"].as_str().expect("access");
    assert_eq!(userinfo_b(&restored, access).await.0, StatusCode::OK);
    let (status, refreshed) = token_b(
        &restored,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                pair["refresh_token"].as_str().expect("refresh"),
            ),
            ("client_id", &registered.client_id),
            ("client_secret", &registered.client_secret),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    for token in &answered_before {
        assert!(
            active(&restored, &registered, token).await,
            "a token answered before the backup is in it"
        );
    }
    assert!(
        !active(&restored, &registered, &after).await,
        "the copy is the state of one moment before it finished"
    );
    eprintln!(
        "backup: {} tokens answered before it, {during} while it ran",
        answered_before.len()
    );
    restored.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_never_replaces_a_file_nor_writes_where_it_cannot() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    app.stop().await;
    let dir = tempfile::tempdir().expect("dir");

    let precious = dir.path().join("precious.db");
    std::fs::write(&precious, "do not touch").expect("write");
    let out = backup(&db.url, &[&precious.to_string_lossy()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&precious).expect("read"),
        "do not touch"
    );

    let missing_dir = dir.path().join("no-such-dir").join("backup.db");
    let out = backup(&db.url, &[&missing_dir.to_string_lossy()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("does not exist"), "{stderr}");

    let under_a_file = precious.join("backup.db");
    let out = backup(&db.url, &[&under_a_file.to_string_lossy()]);
    assert!(!out.status.success());

    // A directory nobody, not even root, can create a file in.
    #[cfg(target_os = "linux")]
    {
        let out = backup(&db.url, &["/proc/self/keyward-backup.db"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("cannot write in /proc/self"), "{stderr}");
    }

    // A mistyped database path is not made into a new, empty database and backed up.
    let nowhere = dir.path().join("nowhere.db");
    let out = backup(
        &format!("sqlite://{}", nowhere.display()),
        &[&dir.path().join("copy.db").to_string_lossy()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no SQLite database"), "{stderr}");

    assert_eq!(files_in(dir.path()), ["precious.db"], "nothing was written");
}

#[test]
fn a_postgresql_database_is_sent_to_its_own_tools() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("backup.db");
    // Refused before any connection: no server is needed, nor contacted.
    let out = backup(
        "postgres://postgres@127.0.0.1:5432/kw_never_contacted",
        &[&file.to_string_lossy()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(stderr.contains("master key"), "{stderr}");
    assert!(stderr.contains("docs/operations.md"), "{stderr}");
    assert!(!file.exists());
}
