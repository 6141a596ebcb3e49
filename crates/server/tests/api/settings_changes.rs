//! Admins changing settings at the same time, on two nodes of one database: a change writes
//! only what it changes, against the stored document, and a form left open does not undo what
//! others changed since; the audit log says what changed.

use crate::helpers::{Backend, TestApp, TestDatabase, get_json, into_parts, test_config};
use crate::oauth_support::{page, submit};
use crate::on_both_backends;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    changes_through_two_nodes_never_undo_each_other,
    a_settings_page_left_open_changes_only_what_its_admin_changed,
    turning_on_email_verification_needs_a_mail_server,
);

/// The settings document as stored, past every node's cache.
async fn stored(db: &TestDatabase) -> Value {
    let store = keyward::app::open_store(&db.url, 1).await.expect("store");
    let text = store
        .load_settings()
        .await
        .expect("load")
        .expect("a document");
    serde_json::from_str(&text).expect("json")
}

async fn put(admin: &Client, app: &TestApp, change: Value) -> Value {
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&change)
        .send()
        .await
        .expect("settings");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The detail of the latest `settings.updated` record.
async fn last_change(admin: &Client, app: &TestApp) -> Value {
    let (_, audit) = get_json(admin, &app.url("/api/admin/audit?action=settings.updated")).await;
    audit["data"]["items"][0]["detail"].clone()
}

async fn registration_open(app: &TestApp) -> bool {
    let res = app
        .client()
        .post(app.url("/api/user/register"))
        .json(&json!({"username": "latecomer", "password": "password-123"}))
        .send()
        .await
        .expect("register");
    let (_, body) = into_parts(res).await;
    body["success"] == true
}

async fn changes_through_two_nodes_never_undo_each_other(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    let admin = a.admin().await;
    // A has the document in memory, registration on.
    let (_, before) = get_json(&admin, &a.url("/api/admin/settings")).await;
    assert_eq!(before["data"]["register_enabled"], true);

    // Registration off through B, then the site's name through A, at once.
    put(&admin, &b, json!({"register_enabled": false})).await;
    let answer = put(&admin, &a, json!({"system_name": "MyForum"})).await;

    assert_eq!(answer["data"]["register_enabled"], false, "{answer}");
    let document = stored(&db).await;
    assert_eq!(
        (
            document["register_enabled"].clone(),
            document["system_name"].clone()
        ),
        (json!(false), json!("MyForum")),
        "{document}"
    );
    assert!(!registration_open(&a).await, "A serves the stored document");
    assert!(!registration_open(&b).await);
    // Each record names its own change alone, with the old and the new value.
    assert_eq!(
        last_change(&admin, &a).await["changed"],
        json!({"system_name": {"old": "Keyward", "new": "MyForum"}})
    );
}

/// A settings section's form as the browser has it, with `changes` made by its admin.
fn edited(html: &str, action: &str, changes: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let mut fields = keyward_testkit::form_fields(html, action);
    for (name, value) in changes {
        fields.retain(|(k, _)| k != name);
        if let Some(value) = value {
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    fields
}

async fn post_form(
    client: &Client,
    url: &str,
    fields: &[(String, String)],
) -> (StatusCode, Option<String>, String) {
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    submit(client, url, &form).await
}

async fn a_settings_page_left_open_changes_only_what_its_admin_changed(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    let admin = a.admin().await;
    let url = a.url("/admin/settings/access");
    let (status, _, html) = page(&admin, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"register_enabled\" value=\"1\" checked"));

    // While the page is open, registration is turned off through B.
    put(&admin, &b, json!({"register_enabled": false})).await;
    // The admin changes the quota on the open page and saves it, box still ticked.
    let form = edited(
        &html,
        "/admin/settings/access",
        &[("quota_for_new_user", Some("25"))],
    );
    let (status, location, body) = post_form(&admin, &url, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some("/admin/settings/access?done=saved")
    );
    let document = stored(&db).await;
    assert_eq!(document["register_enabled"], false, "{document}");
    assert_eq!(document["quota_for_new_user"], 25, "{document}");
    assert_eq!(
        last_change(&admin, &a).await["changed"],
        json!({"quota_for_new_user": {"old": 0, "new": 25}})
    );

    // Both change the same setting: the page opened earlier is told, in its language, and
    // nothing of its form is written.
    let english = a.admin().await;
    let html = english
        .get(&url)
        .header("accept-language", "en")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    put(&admin, &b, json!({"quota_for_new_user": 7})).await;
    let form = edited(
        &html,
        "/admin/settings/access",
        &[
            ("quota_for_new_user", Some("9")),
            ("password_login_enabled", None),
        ],
    );
    let res = english
        .post(&url)
        .header("accept-language", "en")
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.expect("html");
    assert!(body.contains("Someone else changed this setting"), "{body}");
    let document = stored(&db).await;
    assert_eq!(document["quota_for_new_user"], 7, "{document}");
    assert_eq!(
        document["password_login_enabled"], true,
        "nothing of the refused form: {document}"
    );
}

async fn turning_on_email_verification_needs_a_mail_server(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"email_verification_enabled": true}))
        .send()
        .await
        .expect("settings");
    let (_, body) = into_parts(res).await;
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["message"].as_str().unwrap_or("").contains("SMTP"),
        "{body}"
    );

    // The page says it in its language, at the box.
    let url = app.url("/admin/settings/access");
    let res = admin
        .get(&url)
        .header("accept-language", "en")
        .send()
        .await
        .expect("page");
    let html = res.text().await.expect("html");
    let form = edited(
        &html,
        "/admin/settings/access",
        &[("email_verification_enabled", Some("1"))],
    );
    let res = admin
        .post(&url)
        .header("accept-language", "en")
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.expect("html");
    assert!(
        body.contains("E-mail verification cannot be turned on before a mail (SMTP) server"),
        "{body}"
    );
    assert!(body.contains("id=\"s-email_verification_enabled-error\""));
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["email_verification_enabled"], false);

    // What needs mail says why it cannot be had, in the page's language too.
    let mut english = reqwest::header::HeaderMap::new();
    english.insert("accept-language", "en".parse().expect("header"));
    let visitor = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(english)
        .build()
        .expect("client");
    let (_, _, html) = page(&visitor, &app.url("/reset")).await;
    let token = crate::oauth_support::csrf(&html);
    let (_, _, body) = submit(
        &visitor,
        &app.url("/reset"),
        &[("csrf_token", &token), ("email", "someone@example.org")],
    )
    .await;
    assert!(
        body.contains("No mail can be sent: the administrator has not set up SMTP."),
        "{body}"
    );

    // With a mail server it can be turned on, in one change or after.
    put(
        &admin,
        &app,
        json!({"smtp_host": "127.0.0.1", "email_verification_enabled": true}),
    )
    .await;
    let (_, settings) = get_json(&admin, &app.url("/api/admin/settings")).await;
    assert_eq!(settings["data"]["email_verification_enabled"], true);
}

/// PostgreSQL tells every node of a change at once (the settings table's notification): node
/// B serves A's change well within the few seconds it would otherwise keep its copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (KEYWARD_TEST_DATABASE_URL)"]
async fn a_change_at_one_postgres_node_is_served_by_the_other_at_once() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let a = TestApp::start(db.clone(), test_config(&db)).await;
    let b = TestApp::start(db.clone(), test_config(&db)).await;
    let admin = a.admin().await;
    // B's listener connects on its own; a read made before would be kept for seconds.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let read_at_b = || async {
        let (_, settings) = get_json(&admin, &b.url("/api/admin/settings")).await;
        settings["data"]["system_name"].clone()
    };
    // B reads the document (and keeps it), and its listener is up.
    assert_eq!(read_at_b().await, "Keyward");
    let started = std::time::Instant::now();
    put(&admin, &a, json!({"system_name": "MyForum"})).await;
    loop {
        if read_at_b().await == "MyForum" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_millis(1000),
            "B still serves its old copy"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
