//! A tiny third-party app ("relying party") on loopback, written the way the integration guide
//! says: `/start` sends the browser to authorize with state and PKCE; `/callback` checks the
//! state, swaps the code server-side with the secret its owner copied from the console, calls
//! userinfo and greets the user by name.

use aws_lc_rs::digest::{SHA256, digest};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Inner {
    client_id: String,
    client_secret: String,
    /// state → PKCE verifier of logins under way.
    pending: HashMap<String, String>,
    last_token: Option<String>,
}

#[derive(Clone)]
struct Rp {
    keyward: String,
    redirect_uri: String,
    inner: Arc<Mutex<Inner>>,
}

pub struct SampleApp {
    base: String,
    pub redirect_uri: String,
    keyward: String,
    inner: Arc<Mutex<Inner>>,
}

impl SampleApp {
    pub async fn start(keyward: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let inner = Arc::new(Mutex::new(Inner::default()));
        let rp = Rp {
            keyward: keyward.to_owned(),
            redirect_uri: format!("{base}/callback"),
            inner: inner.clone(),
        };
        let router = Router::new()
            .route("/start", get(start))
            .route("/callback", get(callback))
            .with_state(rp);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            redirect_uri: format!("{base}/callback"),
            base,
            keyward: keyward.to_owned(),
            inner,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn configure(&self, client_id: &str, client_secret: &str) {
        let mut inner = self.inner.lock().expect("lock");
        inner.client_id = client_id.to_owned();
        inner.client_secret = client_secret.to_owned();
    }

    pub fn last_token(&self) -> Option<String> {
        self.inner.lock().expect("lock").last_token.clone()
    }

    pub async fn userinfo_status(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/api/oauth2/userinfo", self.keyward))
            .bearer_auth(token)
            .send()
            .await
            .expect("userinfo")
            .status()
            .as_u16()
    }
}

fn random() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

async fn start(State(rp): State<Rp>) -> Response {
    let state = random();
    let verifier = format!("{}{}", random(), random());
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref());
    let client_id = {
        let mut inner = rp.inner.lock().expect("lock");
        inner.pending.insert(state.clone(), verifier);
        inner.client_id.clone()
    };
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", rp.redirect_uri.as_str()),
        ("scope", "profile balance"),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .expect("query");
    Redirect::to(&format!("{}/oauth/authorize?{query}", rp.keyward)).into_response()
}

async fn callback(State(rp): State<Rp>, Query(params): Query<HashMap<String, String>>) -> Response {
    let state = params.get("state").cloned().unwrap_or_default();
    let (verifier, client_id, secret) = {
        let mut inner = rp.inner.lock().expect("lock");
        let Some(verifier) = inner.pending.remove(&state) else {
            return (StatusCode::BAD_REQUEST, "unknown state").into_response();
        };
        (
            verifier,
            inner.client_id.clone(),
            inner.client_secret.clone(),
        )
    };
    let Some(code) = params.get("code") else {
        return (StatusCode::BAD_REQUEST, format!("no code: {params:?}")).into_response();
    };
    let http = reqwest::Client::new();
    let token: serde_json::Value = match http
        .post(format!("{}/api/oauth2/token", rp.keyward))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", rp.redirect_uri.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
    {
        Ok(res) => res.json().await.unwrap_or_default(),
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let Some(access) = token["access_token"].as_str().map(str::to_owned) else {
        return (StatusCode::BAD_GATEWAY, format!("token refused: {token}")).into_response();
    };
    let user: serde_json::Value = match http
        .get(format!("{}/api/oauth2/userinfo", rp.keyward))
        .bearer_auth(&access)
        .send()
        .await
    {
        Ok(res) => res.json().await.unwrap_or_default(),
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    rp.inner.lock().expect("lock").last_token = Some(access);
    let name = user["username"]
        .as_str()
        .unwrap_or_default()
        .replace(['<', '&'], "");
    Html(format!(
        "<!doctype html><title>Sample Notes</title><main><p>Signed in as \
         <strong id=\"signed-in\">{name}</strong></p></main>"
    ))
    .into_response()
}
