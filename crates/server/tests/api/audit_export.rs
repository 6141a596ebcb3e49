//! `keyward audit export`: the audit log as JSON lines, run as the real binary against the
//! database a node is serving.

use crate::helpers::{Backend, TestApp, TestDatabase, test_config};
use crate::oauth_support::register_app;
use crate::on_both_backends;
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

on_both_backends!(entries_made_through_the_api_are_exported_in_order_and_resume_after_an_id);

fn export(db: &TestDatabase, args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["audit", "export"])
        .args(args)
        .env("KEYWARD_DATABASE_URL", &db.url)
        .env_remove("KEYWARD_SECRET_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("run keyward");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

fn ids(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|l| l["id"].as_i64().expect("id"))
        .collect()
}

async fn entries_made_through_the_api_are_exported_in_order_and_resume_after_an_id(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let (developer, user_id) = app.user("auditee").await;
    register_app(&app, &developer, json!({})).await;

    let all = export(&db, &[]);
    let all_ids = ids(&all);
    assert!(
        all_ids.windows(2).all(|w| w[0] < w[1]),
        "in id order: {all_ids:?}"
    );
    let actions: Vec<&str> = all.iter().filter_map(|l| l["action"].as_str()).collect();
    for action in [
        "user.registered",
        "user.signed_in",
        "app.created",
        "app.approved",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    let signed_in = all
        .iter()
        .find(|l| l["action"] == "user.signed_in" && l["actor_id"] == user_id)
        .expect("the user's sign-in");
    assert_eq!(signed_in["detail"]["method"], "password", "{signed_in}");
    assert!(signed_in["at"].as_i64().is_some() && signed_in["ip"].is_string());

    // Resuming after an id gives exactly what follows it, without duplicates.
    let middle = all_ids[all_ids.len() / 2];
    let rest = export(&db, &["--after", &middle.to_string()]);
    assert_eq!(
        ids(&rest),
        all_ids
            .iter()
            .copied()
            .filter(|&id| id > middle)
            .collect::<Vec<_>>()
    );
    let last = *all_ids.last().expect("entries");
    assert!(export(&db, &["--after", &last.to_string()]).is_empty());

    // Following: a new entry appears as a line of the running export.
    let mut follower = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["audit", "export", "--follow", "--after", &last.to_string()])
        .env("KEYWARD_DATABASE_URL", &db.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("follow");
    let stdout = follower.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("line")).is_err() {
                break;
            }
        }
    });
    app.login("auditee", "password-123").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        match rx.try_recv() {
            Ok(line) => break line,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no line from --follow: {e}"),
        }
    };
    let line: Value = serde_json::from_str(&line).expect("JSON line");
    assert_eq!(line["action"], "user.signed_in");
    assert!(line["id"].as_i64().expect("id") > last);
    crate::served::terminate(follower.id());
    assert!(
        follower.wait().expect("exit").success(),
        "SIGTERM ends it cleanly"
    );
    app.stop().await;
}

#[test]
fn a_negative_after_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["audit", "export", "--after", "-5"])
        .env("KEYWARD_DATABASE_URL", "sqlite://unused.db")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(!std::path::Path::new("unused.db").exists());
}
