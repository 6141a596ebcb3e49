//! Concurrent registrations: one e-mail address and one upstream identity each end up with
//! exactly one account. (One user name: `accounts.rs`.)

use crate::fakes::{CLIENT_ID, CLIENT_SECRET, FakeServer, Grant};
use crate::helpers::{Backend, TestApp, TestDatabase, get_json, into_parts};
use crate::on_both_backends;
use keyward_core::StoreError;
use keyward_core::model::{NewUser, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    concurrent_verifications_of_one_address_let_exactly_one_account_have_it,
    concurrent_first_logins_of_one_identity_make_exactly_one_account,
    concurrent_first_logins_with_one_address_give_it_to_exactly_one_account,
);

pub(crate) fn new_user(name: &str) -> NewUser {
    NewUser {
        uuid: uuid::Uuid::new_v4(),
        username: name.into(),
        display_name: name.into(),
        email: None,
        email_verified: false,
        password_hash: None,
        role: Role::User,
        quota: 0,
        aff_code: format!("AFF{name}"),
        inviter_id: None,
        created_at: 1_000,
    }
}

/// The store rule under e-mail binding (`/api/oauth/email/bind` ends in it): of many accounts
/// verifying one address at once, one gets it and the rest are told it is taken.
async fn concurrent_verifications_of_one_address_let_exactly_one_account_have_it(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = keyward::app::open_store(&db.url, 8).await.expect("store");
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(
            store
                .create_user(new_user(&format!("v{i}")))
                .await
                .expect("user")
                .id,
        );
    }
    let mut tasks = Vec::new();
    for id in users {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .set_verified_email(id, "shared@example.com", 2_000)
                .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict(keyward_core::store::Conflict::Email)) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(wins, 1);
    assert!(
        store
            .user_by_verified_email("shared@example.com")
            .await
            .expect("lookup")
            .is_some()
    );
}

async fn github_app(backend: Backend) -> (TestApp, FakeServer) {
    let fakes = FakeServer::start().await;
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let res = admin
        .put(app.url("/api/admin/settings"))
        .json(&json!({"github_enabled": true, "github_client_id": CLIENT_ID, "github_client_secret": CLIENT_SECRET, "github_web_base": fakes.base, "github_api_base": fakes.base}))
        .send()
        .await
        .expect("settings");
    assert_eq!(into_parts(res).await.1["success"], true);
    (app, fakes)
}

/// Several browsers finish a GitHub login at the same moment; returns each answer.
async fn concurrent_logins(app: &TestApp, fakes: &FakeServer, grants: Vec<Grant>) -> Vec<Value> {
    let mut requests = Vec::new();
    for grant in grants {
        let browser = app.client();
        let (_, state) = get_json(&browser, &app.url("/api/oauth/state")).await;
        let state = state["data"].as_str().expect("state").to_owned();
        let code = fakes.issue_code(grant);
        let url = app.url(&format!("/api/oauth/github?code={code}&state={state}"));
        requests.push((browser, url));
    }
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(browser, url)| tokio::spawn(async move { get_json(&browser, &url).await }))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
        answers.push(body);
    }
    answers
}

async fn github_accounts(app: &TestApp) -> Vec<Value> {
    let admin = app.admin().await;
    let (_, list) = get_json(&admin, &app.url("/api/admin/users?keyword=github_")).await;
    list["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|u| {
            u["username"]
                .as_str()
                .is_some_and(|n| n.starts_with("github_"))
        })
        .cloned()
        .collect()
}

async fn concurrent_first_logins_of_one_identity_make_exactly_one_account(backend: Backend) {
    let (app, fakes) = github_app(backend).await;
    let grant = Grant {
        subject: "7007".into(),
        login: "twin".into(),
        email: Some(("twin@example.com".into(), true)),
        ..Grant::default()
    };
    let answers = concurrent_logins(&app, &fakes, vec![grant; 4]).await;
    // Every browser is logged in, all into the same account.
    for body in &answers {
        assert_eq!(body["success"], true, "{body}");
        assert_eq!(body["data"]["user"]["id"], answers[0]["data"]["user"]["id"]);
    }
    let accounts = github_accounts(&app).await;
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0]["email"], "twin@example.com");
}

async fn concurrent_first_logins_with_one_address_give_it_to_exactly_one_account(backend: Backend) {
    let (app, fakes) = github_app(backend).await;
    let grants = (0..4)
        .map(|i| Grant {
            subject: format!("80{i}"),
            login: format!("sibling{i}"),
            email: Some(("family@example.com".into(), true)),
            ..Grant::default()
        })
        .collect();
    let answers = concurrent_logins(&app, &fakes, grants).await;
    for body in &answers {
        assert_eq!(body["success"], true, "{body}");
    }
    let accounts = github_accounts(&app).await;
    assert_eq!(accounts.len(), 4, "{accounts:?}");
    let holders = accounts
        .iter()
        .filter(|u| u["email"] == "family@example.com")
        .count();
    assert_eq!(holders, 1, "{accounts:?}");
}
