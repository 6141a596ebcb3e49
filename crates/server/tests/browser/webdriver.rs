//! Headless Chromium through chromedriver, started by the test on a free port, with a fresh
//! profile; small helpers that wait generously (the machine may be loaded).

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

pub struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

fn find(program: &str, env: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).map(PathBuf::from) {
        return path.exists().then_some(path);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.exists())
    })
}

impl Browser {
    /// Fails the test when chromedriver or Chromium is missing: the tests that need them are
    /// `#[ignore]`d, and whoever runs them asked for a browser.
    pub async fn start() -> Self {
        let driver = find("chromedriver", "CHROMEDRIVER");
        let chromium =
            find("chromium", "CHROMIUM").or_else(|| find("chromium-browser", "CHROMIUM"));
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            panic!("a browser test needs chromedriver and chromium (or CHROMEDRIVER and CHROMIUM)");
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if !ready {
            let _ = child.kill();
            panic!("chromedriver did not start");
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args}),
        );
        let client = ClientBuilder::rustls()
            .expect("connector")
            .capabilities(caps)
            .connect(&url)
            .await;
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                let _ = child.kill();
                panic!("no WebDriver session: {e}");
            }
        };
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        Self {
            client,
            driver: child,
            _profile: profile,
            shots,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    pub async fn wait_displayed(&self, css: &str) {
        let element = self.wait_for(css).await;
        for _ in 0..150 {
            if element.is_displayed().await.unwrap_or(false) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{css} never became visible");
    }

    /// Whether the first element matching `css` is shown now.
    pub async fn displayed(&self, css: &str) -> bool {
        self.wait_for(css)
            .await
            .is_displayed()
            .await
            .expect("displayed")
    }

    pub async fn wait_text(&self, css: &str, part: &str) {
        for _ in 0..150 {
            if self.text(css).await.contains(part) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{css} never showed {part:?}");
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    pub async fn value(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Clicks and, for a submit button, lets the browser start the navigation it causes.
    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.expect("click");
    }

    /// Signs in through the /login page and waits to land on `return_to`.
    pub async fn login(&self, app: &crate::TestApp, user: &str, password: &str, return_to: &str) {
        let query = serde_urlencoded::to_string([("return_to", return_to)]).expect("query");
        self.goto(&app.url(&format!("/login?{query}"))).await;
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        for _ in 0..150 {
            if self.path().await == return_to {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "login as {user} did not reach {return_to}: at {}",
            self.path().await
        );
    }

    /// Forgets the session (as a fresh browser would be).
    pub async fn sign_out(&self, app: &crate::TestApp) {
        self.goto(&app.url("/static/keyward.css")).await;
        self.client.delete_all_cookies().await.expect("cookies");
    }

    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client.get_all_cookies().await.expect("cookies")
    }

    pub async fn restore_cookies(&self, app: &crate::TestApp, cookies: Vec<Cookie<'static>>) {
        self.goto(&app.url("/static/keyward.css")).await;
        for cookie in cookies {
            self.client.add_cookie(cookie).await.expect("add cookie");
        }
    }

    /// Opens `url` and takes both screenshots.
    pub async fn shoot(&self, url: &str, name: &str) {
        self.goto(url).await;
        self.wait_for("main").await;
        self.screenshots(name).await;
    }

    /// The current page at desktop and phone widths, then back to desktop.
    pub async fn screenshots(&self, name: &str) {
        for (suffix, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
            self.client.set_window_size(w, h).await.expect("resize");
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = self.client.screenshot().await.expect("screenshot");
            let path = self.shots.join(format!("{name}-{suffix}.png"));
            std::fs::write(&path, png).expect("write screenshot");
        }
        self.client
            .set_window_size(DESKTOP.0, DESKTOP.1)
            .await
            .expect("resize");
    }

    /// Adds a WebDriver virtual authenticator (WebAuthn §11): a platform passkey provider that
    /// holds discoverable credentials and verifies the user, answering every ceremony at once.
    pub async fn add_virtual_authenticator(&self) -> String {
        let added = self
            .client
            .issue_cmd(Call::post(
                "webauthn/authenticator",
                json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                }),
            ))
            .await
            .expect("virtual authenticator");
        added.as_str().expect("authenticator id").to_owned()
    }

    /// The credentials the virtual authenticator `id` holds.
    pub async fn virtual_credentials(&self, id: &str) -> Vec<serde_json::Value> {
        let listed = self
            .client
            .issue_cmd(Call::get(&format!(
                "webauthn/authenticator/{id}/credentials"
            )))
            .await
            .expect("credentials");
        listed.as_array().cloned().unwrap_or_default()
    }

    /// Takes the virtual authenticator `id` away, with its credentials.
    pub async fn remove_virtual_authenticator(&self, id: &str) {
        self.client
            .issue_cmd(Call::delete(&format!("webauthn/authenticator/{id}")))
            .await
            .expect("remove the virtual authenticator");
    }

    /// Resizes the window (the page is not reloaded) and lets the layout settle.
    pub async fn resize(&self, (w, h): (u32, u32)) {
        self.client.set_window_size(w, h).await.expect("resize");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    /// Emulates `prefers-color-scheme` (Chrome DevTools' `Emulation.setEmulatedMedia`, through
    /// chromedriver's `goog/cdp/execute`); it holds across navigations.
    pub async fn color_scheme(&self, scheme: &str) {
        self.client
            .issue_cmd(Call::post(
                "goog/cdp/execute",
                json!({
                    "cmd": "Emulation.setEmulatedMedia",
                    "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
                }),
            ))
            .await
            .expect("emulate the colour scheme");
    }

    /// Writes a screenshot of the window as it is to `<name>.png`.
    pub async fn screenshot_as(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Runs `script` in the page (WebDriver script injection: not subject to the page's CSP).
    pub async fn execute(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("execute script")
    }

    /// Runs `script`, which calls its last argument with the answer.
    pub async fn execute_async(&self, script: &str) -> serde_json::Value {
        self.client
            .execute_async(script, vec![])
            .await
            .expect("execute async script")
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A WebDriver command of the session that fantoccini has no method for.
#[derive(Debug)]
struct Call {
    method: axum::http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl Call {
    fn post(path: &str, body: serde_json::Value) -> Self {
        Self {
            method: axum::http::Method::POST,
            path: path.to_owned(),
            body: Some(body),
        }
    }

    fn get(path: &str) -> Self {
        Self {
            method: axum::http::Method::GET,
            path: path.to_owned(),
            body: None,
        }
    }

    fn delete(path: &str) -> Self {
        Self {
            method: axum::http::Method::DELETE,
            path: path.to_owned(),
            body: None,
        }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Call {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(serde_json::Value::to_string),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed assertion must not leave chromedriver (and its Chromium) behind.
        let _ = self.driver.kill();
    }
}
