//! The README's first five minutes: `examples/sample-app`, registered and approved like any app,
//! signs a user in (login, consent, the code exchanged on its server) and shows her balance.

use crate::harness::Harness;
use crate::helpers::TestApp;
use crate::oauth_support::{answer_consent, page, register_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node (KEYWARD_REQUIRE_STOCK_CLIENTS)"]
async fn the_sample_app_signs_a_user_in_and_shows_her_balance() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        free.local_addr().expect("addr").port()
    };
    let (developer, _) = app.user("developer").await;
    let registered = register_app(
        &app,
        &developer,
        json!({
            "name": "Sample app",
            "redirect_uri": format!("http://127.0.0.1:{port}/callback"),
            "scopes": "openid profile balance",
        }),
    )
    .await;
    let port_text = port.to_string();
    let mut sample = Harness::sample_app().run_with(
        "app.mjs",
        &[],
        &[
            ("KEYWARD_URL", app.base.as_str()),
            ("CLIENT_ID", registered.client_id.as_str()),
            ("CLIENT_SECRET", registered.client_secret.as_str()),
            ("PORT", port_text.as_str()),
        ],
    );
    assert_eq!(sample.next_event().await["event"], "listening");
    let home = format!("http://127.0.0.1:{port}");

    // One browser (one cookie jar) for the sample app and the platform, as in real life.
    let (browser, _) = app.user("uma").await;
    let (status, to_platform, _) = page(&browser, &format!("{home}/login")).await;
    assert_eq!(status, StatusCode::FOUND);
    let to_platform = to_platform.expect("to the authorization endpoint");
    assert!(
        to_platform.starts_with(&app.url("/oauth/authorize?")),
        "{to_platform}"
    );
    let (status, _, consent) = page(&browser, &to_platform).await;
    assert_eq!(status, StatusCode::OK, "{consent}");
    assert!(consent.contains("Sample app"), "{consent}");
    let (_, back) = answer_consent(&app, &browser, &consent, "approve").await;
    let back = back.expect("back to the sample app");
    assert!(
        back.starts_with(&format!("{home}/callback?code=")),
        "{back}"
    );
    let (status, to_home, body) = page(&browser, &back).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(to_home.as_deref(), Some("/"));
    let signed_in = sample.next_event().await;
    assert_eq!(signed_in["event"], "signed_in", "{signed_in}");
    assert_eq!(signed_in["username"], "uma");
    let (_, _, body) = page(&browser, &home).await;
    assert!(
        body.contains(r#"<strong id="signed-in">uma</strong>"#),
        "{body}"
    );
    assert!(body.contains(r#"<span id="balance">"#), "{body}");

    // A callback this browser did not start is refused.
    let (status, _, body) = page(&browser, &back).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
