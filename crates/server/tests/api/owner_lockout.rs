//! Nobody can lock the owner out (#21 item 5): a browser that signed in keeps a guessing budget
//! of its own (its device cookie), everyone else's guesses are slowed down, not locked, and
//! still bounded; an admin (API or page) or the command line clears an account's counters.

use crate::helpers::{ADMIN, Backend, TestApp, TestDatabase, get_json, post_json, test_config};
use crate::oauth_support::{csrf, page, submit};
use crate::on_both_backends;
use keyward_core::accounts::delay_before;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    fifty_guesses_from_elsewhere_leave_the_owners_browser_able_to_sign_in,
    an_admin_and_the_command_line_clear_an_accounts_counters,
);

async fn login(
    client: &Client,
    app: &TestApp,
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    post_json(
        client,
        &app.url("/api/user/login"),
        json!({"username": username, "password": password}),
    )
    .await
}

async fn fifty_guesses_from_elsewhere_leave_the_owners_browser_able_to_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("owen", "password-123").await;
    let owners_browser = app.login("owen", "password-123").await;
    get_json(&owners_browser, &app.url("/api/user/logout")).await;

    // The attacker: fifty wrong passwords, each from a fresh browser.
    let started = std::time::Instant::now();
    let mut tested = 0;
    for i in 0..50 {
        let (status, body) = login(&app.client(), &app, "owen", &format!("guess-{i}-x")).await;
        match status {
            StatusCode::OK => {
                assert_eq!(body["success"], false);
                tested += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}: {body}"),
        }
    }
    // Bounded: the five free attempts, and only the delayed ones whose time came while the
    // loop ran (30 s, 90 s... after the window started).
    let elapsed = i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX) + 1;
    let delayed = (1..50)
        .take_while(|&k| delay_before(k, 900) <= elapsed)
        .count();
    assert!(
        (5..=5 + delayed).contains(&tested),
        "{tested} guesses were tested in {elapsed} s"
    );
    // The owner's browser gets in at once with the right password.
    let (status, body) = login(&owners_browser, &app, "owen", "password-123").await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
}

/// Uses up the account's free attempts: wrong guesses until one is refused, then the right
/// password is refused too (tried again when a delayed slot opened in between: a success
/// clears the counters).
async fn exhaust(app: &TestApp, username: &str) {
    for _ in 0..5 {
        for i in 0..20 {
            let (status, _) = login(&app.client(), app, username, &format!("guess-{i}-x")).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
        }
        let (status, _) = login(&app.client(), app, username, "password-123").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return;
        }
    }
    panic!("{username}'s attempts were never used up");
}

async fn an_admin_and_the_command_line_clear_an_accounts_counters(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let app = TestApp::start(db.clone(), test_config(&db)).await;
    let body = app.register("ursula", "password-123").await;
    let id = body["data"]["id"].as_i64().expect("id");
    let admin = app.admin().await;

    exhaust(&app, "ursula").await;
    let (status, body) = post_json(
        &admin,
        &app.url(&format!("/api/admin/users/{id}/unlock")),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    let (status, body) = login(&app.client(), &app, "ursula", "password-123").await;
    assert_eq!(body["success"], true, "{status} {body}");
    let (status, _) = post_json(
        &admin,
        &app.url("/api/admin/users/999999/unlock"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not for anyone but an admin.
    let (user, _) = app.user("victor").await;
    let (status, _) = post_json(
        &user,
        &app.url(&format!("/api/admin/users/{id}/unlock")),
        json!({}),
    )
    .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );

    exhaust(&app, "ursula").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["user", "unlock", "ursula", "--json"])
        .env("KEYWARD_DATABASE_URL", &db.url)
        .env("KEYWARD_SECRET_KEY", &db.secret_key)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run keyward");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, body) = login(&app.client(), &app, "ursula", "password-123").await;
    assert_eq!(body["success"], true, "{body}");

    // The button on the admin's page of the user.
    exhaust(&app, "ursula").await;
    let user_page = app.url(&format!("/admin/users/{id}"));
    let (_, _, html) = page(&admin, &user_page).await;
    assert!(
        html.contains(&format!("action=\"/admin/users/{id}/unlock\"")),
        "{html}"
    );
    let token = csrf(&html);
    let (status, location, _) = submit(
        &admin,
        &app.url(&format!("/admin/users/{id}/unlock")),
        &[("csrf_token", token.as_str())],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some(format!("/admin/users/{id}").as_str())
        )
    );
    let (_, body) = login(&app.client(), &app, "ursula", "password-123").await;
    assert_eq!(body["success"], true, "{body}");

    // Every unlock is audited, the admin's with the admin as actor.
    let (_, audit) = get_json(&admin, &app.url("/api/admin/audit?action=user.unlocked")).await;
    let items = audit["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 3, "{audit}");
    let target = id.to_string();
    assert!(items.iter().all(|e| e["target"] == target.as_str()));
    assert!(
        items.iter().any(|e| e["actor_id"].is_null()),
        "the command line: {audit}"
    );
    let (_, me) = get_json(&admin, &app.url("/api/user/self")).await;
    assert!(
        items.iter().any(|e| e["actor_id"] == me["data"]["id"]),
        "{ADMIN}: {audit}"
    );
}
