//! Session cookies: rotation, expiry, disabled users, CSRF, Secure on https.

use crate::helpers::{Backend, TestApp, get_json, into_parts};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    login_rotates_the_session_id_and_kills_the_old_one,
    a_planted_session_cookie_is_never_adopted,
    sessions_expire,
    a_disabled_user_is_locked_out_at_once_everywhere,
    cross_site_requests_with_the_cookie_are_refused,
    https_deployments_get_secure_host_cookies,
);

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("keyward_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned()
}

async fn login_raw(
    app: &TestApp,
    cookie: Option<&str>,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(app.url("/api/user/login"))
        .json(&json!({"username": user, "password": password}));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.expect("login")
}

async fn self_with(app: &TestApp, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/user/self"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("self")
        .status()
}

async fn login_rotates_the_session_id_and_kills_the_old_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("ivan", "password-123").await;
    let first = session_cookie(&login_raw(&app, None, "ivan", "password-123").await);
    assert_eq!(self_with(&app, &first).await, StatusCode::OK);
    // Logging in again from the same browser issues a new id and ends the old session.
    let second = session_cookie(&login_raw(&app, Some(&first), "ivan", "password-123").await);
    assert_ne!(first, second);
    assert_eq!(self_with(&app, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(self_with(&app, &second).await, StatusCode::OK);
}

async fn a_planted_session_cookie_is_never_adopted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("judy", "password-123").await;
    let planted = "keyward_session=ses_attacker-chosen-value";
    let res = login_raw(&app, Some(planted), "judy", "password-123").await;
    let issued = session_cookie(&res);
    assert_ne!(issued, planted);
    assert_eq!(self_with(&app, planted).await, StatusCode::UNAUTHORIZED);
    assert_eq!(self_with(&app, &issued).await, StatusCode::OK);
}

async fn sessions_expire(backend: Backend) {
    // Long enough to be checked once even on a loaded machine, short enough to wait out.
    let app = TestApp::spawn_with(backend, |c| c.session_ttl_secs = 3).await;
    app.register("ken", "password-123").await;
    let cookie = session_cookie(&login_raw(&app, None, "ken", "password-123").await);
    assert_eq!(self_with(&app, &cookie).await, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    assert_eq!(self_with(&app, &cookie).await, StatusCode::UNAUTHORIZED);
}

async fn a_disabled_user_is_locked_out_at_once_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, id) = app.user("leo").await;
    let (_, token) = get_json(&client, &app.url("/api/user/token")).await;
    let token = token["data"].as_str().expect("token").to_owned();

    let admin = app.admin().await;
    let res = admin
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .json(&json!({"status": 2}))
        .send()
        .await
        .expect("disable");
    let (status, body) = into_parts(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], 2);

    // The open session, the developer token and a new login all stop working.
    let (status, _) = get_json(&client, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = reqwest::Client::new()
        .get(app.url("/api/user/self"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("self");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = into_parts(login_raw(&app, None, "leo", "password-123").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], false);
    assert_eq!(body["message"], "用户名或密码错误，或用户已被封禁");

    // Enabled again, the user can log in anew (the old session stays dead).
    let res = admin
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .json(&json!({"status": 1}))
        .send()
        .await
        .expect("enable");
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _) = get_json(&client, &app.url("/api/user/self")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.login("leo", "password-123").await;
}

async fn cross_site_requests_with_the_cookie_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.user("mallory").await;
    let res = client
        .get(app.url("/api/user/token"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client
        .get(app.url("/api/user/self"))
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .expect("self");
    assert_eq!(res.status(), StatusCode::OK);
}

async fn https_deployments_get_secure_host_cookies(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.public_url = Some("https://id.example.com".into())
    })
    .await;
    app.register("nina", "password-123").await;
    let res = login_raw(&app, None, "nina", "password-123").await;
    let header = crate::helpers::set_cookie(&res, "__Host-keyward_session").expect("cookie");
    assert!(
        header.starts_with("__Host-keyward_session=ses_"),
        "{header}"
    );
    assert!(header.contains("Secure") && header.contains("HttpOnly") && header.contains("Path=/"));
    assert!(!header.contains("Domain"));
}
