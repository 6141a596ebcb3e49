//! What every page shares: the language switch, the navigation, and the headers.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use reqwest::StatusCode;

on_both_backends!(the_language_switch_is_remembered_and_stays_on_site);

async fn the_language_switch_is_remembered_and_stays_on_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.client();

    let zh = browser.get(app.url("/login")).send().await.expect("login");
    let zh = zh.text().await.expect("html");
    assert!(zh.contains(r#"<html lang="zh-CN">"#), "{zh}");
    assert!(zh.contains("/lang?to=en&#38;return_to=%2Flogin"), "{zh}");

    let switched = browser
        .get(app.url("/lang?to=en&return_to=%2Flogin%3Freturn_to%3D%252Fx"))
        .send()
        .await
        .expect("switch");
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()["location"], "/login?return_to=%2Fx");
    let en = browser.get(app.url("/login")).send().await.expect("login");
    let en = en.text().await.expect("html");
    assert!(en.contains(r#"<html lang="en">"#), "{en}");
    assert!(en.contains("Log in"));

    // The cookie beats Accept-Language; switching back works the same way.
    browser
        .get(app.url("/lang?to=zh&return_to=%2F"))
        .send()
        .await
        .expect("switch back");
    let zh = browser
        .get(app.url("/login"))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .expect("login");
    assert!(zh.text().await.expect("html").contains(r#"lang="zh-CN""#));

    for hostile in [
        "https%3A%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "%2F%5Cevil",
    ] {
        let res = browser
            .get(app.url(&format!("/lang?to=en&return_to={hostile}")))
            .send()
            .await
            .expect("switch");
        assert_eq!(res.headers()["location"], "/", "{hostile}");
    }
}
