//! Local fakes of the upstream services: GitHub, an OpenID Connect provider (discovery, JWKS,
//! PKCE, signed id_tokens), LinuxDO, a WeChat verification server, and an SMTP sink. One HTTP
//! server on a random loopback port serves all of them.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub const CLIENT_ID: &str = "upstream-client";
pub const CLIENT_SECRET: &str = "upstream-secret";
pub const WECHAT_TOKEN: &str = "wechat-server-token";

/// What a fake code stands for.
#[derive(Clone, Default)]
pub struct Grant {
    pub subject: String,
    pub login: String,
    pub email: Option<(String, bool)>,
    pub nonce: Option<String>,
    pub challenge: Option<String>,
    pub trust_level: i64,
}

#[derive(Default)]
pub struct Fakes {
    pub codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, Grant>>,
    pub wechat_codes: Mutex<HashMap<String, String>>,
    pub mails: Mutex<Vec<String>>,
    /// When set, every provider endpoint answers 500 (an upstream outage).
    pub broken: Mutex<bool>,
    base: Mutex<String>,
    key: Mutex<Option<(jsonwebtoken::EncodingKey, Value)>>,
}

pub struct FakeServer {
    pub base: String,
    pub smtp_port: u16,
    pub state: Arc<Fakes>,
}

impl FakeServer {
    pub async fn start() -> Self {
        let state = Arc::new(Fakes::default());
        let pair =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
        let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> =
            aws_lc_rs::encoding::AsDer::as_der(&pair).expect("der");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key");
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::RS256)
                .expect("jwk");
        jwk.common.key_id = Some("fake-key".into());
        *state.key.lock().expect("lock") =
            Some((key, serde_json::to_value(&jwk).expect("jwk json")));

        let app = Router::new()
            .route("/login/oauth/access_token", post(github_token))
            .route("/user", get(github_user))
            .route("/user/emails", get(github_emails))
            .route("/oidc/.well-known/openid-configuration", get(discovery))
            .route("/oidc/jwks", get(jwks))
            .route("/oidc/token", post(oidc_token))
            .route("/oidc/userinfo", get(oidc_userinfo))
            .route("/linuxdo/token", post(linuxdo_token))
            .route("/linuxdo/user", get(linuxdo_user))
            .route("/api/wechat/user", get(wechat_user))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        *state.base.lock().expect("lock") = base.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let smtp_port = smtp_sink(state.clone()).await;
        Self {
            base,
            smtp_port,
            state,
        }
    }

    /// A code the fake provider will accept once.
    pub fn issue_code(&self, grant: Grant) -> String {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        self.state
            .codes
            .lock()
            .expect("lock")
            .insert(code.clone(), grant);
        code
    }

    pub fn wechat_code(&self, openid: &str) -> String {
        let code = format!("{:06}", rand_digits());
        self.state
            .wechat_codes
            .lock()
            .expect("lock")
            .insert(code.clone(), openid.to_owned());
        code
    }

    pub fn mails(&self) -> Vec<String> {
        self.state.mails.lock().expect("lock").clone()
    }

    pub fn set_broken(&self, broken: bool) {
        *self.state.broken.lock().expect("lock") = broken;
    }
}

fn rand_digits() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 1_000_000
}

fn broken(state: &Fakes) -> bool {
    *state.broken.lock().expect("lock")
}

fn take_code(state: &Fakes, code: &str) -> Option<Grant> {
    state.codes.lock().expect("lock").remove(code)
}

fn new_token(state: &Fakes, grant: Grant) -> String {
    let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
    state
        .tokens
        .lock()
        .expect("lock")
        .insert(token.clone(), grant);
    token
}

fn bearer_grant(state: &Fakes, headers: &HeaderMap) -> Option<Grant> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_owned();
    state.tokens.lock().expect("lock").get(&token).cloned()
}

fn pkce_ok(grant: &Grant, verifier: Option<&String>) -> bool {
    match (&grant.challenge, verifier) {
        (Some(challenge), Some(v)) => keyward_core::oauth::pkce::s256_challenge(v) == *challenge,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

async fn github_token(
    State(state): State<Arc<Fakes>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if broken(&state) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let ok_client = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    let grant = form.get("code").and_then(|c| take_code(&state, c));
    match grant {
        Some(grant) if ok_client && pkce_ok(&grant, form.get("code_verifier")) => Json(json!({"access_token": new_token(&state, grant), "token_type": "bearer"})).into_response(),
        _ => Json(json!({"error": "bad_verification_code", "error_description": "<script>alert(1)</script>"})).into_response(),
    }
}

async fn github_user(State(state): State<Arc<Fakes>>, headers: HeaderMap) -> Response {
    match bearer_grant(&state, &headers) {
        Some(g) => Json(json!({"id": g.subject.parse::<i64>().unwrap_or(0), "login": g.login, "name": format!("{} Name", g.login), "avatar_url": "https://avatars.example/1"})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn github_emails(State(state): State<Arc<Fakes>>, headers: HeaderMap) -> Response {
    match bearer_grant(&state, &headers) {
        Some(g) => Json(match g.email {
            Some((email, verified)) => {
                json!([{"email": email, "primary": true, "verified": verified}])
            }
            None => json!([]),
        })
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn discovery(State(state): State<Arc<Fakes>>) -> Response {
    let base = format!("{}/oidc", state.base.lock().expect("lock"));
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

async fn jwks(State(state): State<Arc<Fakes>>) -> Response {
    let jwk = state
        .key
        .lock()
        .expect("lock")
        .as_ref()
        .map(|(_, jwk)| jwk.clone());
    Json(json!({"keys": [jwk]})).into_response()
}

async fn oidc_token(
    State(state): State<Arc<Fakes>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if broken(&state) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let ok_client = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Basic {basic}"))
        || (form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET));
    let Some(grant) = form
        .get("code")
        .and_then(|c| take_code(&state, c))
        .filter(|g| ok_client && pkce_ok(g, form.get("code_verifier")))
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let base = format!("{}/oidc", state.base.lock().expect("lock"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let mut claims =
        json!({"iss": base, "sub": grant.subject, "aud": CLIENT_ID, "iat": now, "exp": now + 300});
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("fake-key".into());
    let id_token = {
        let guard = state.key.lock().expect("lock");
        let (key, _) = guard.as_ref().expect("key");
        jsonwebtoken::encode(&header, &claims, key).expect("sign")
    };
    Json(json!({"access_token": new_token(&state, grant), "token_type": "Bearer", "expires_in": 300, "id_token": id_token})).into_response()
}

async fn oidc_userinfo(State(state): State<Arc<Fakes>>, headers: HeaderMap) -> Response {
    match bearer_grant(&state, &headers) {
        Some(g) => {
            let mut body = json!({"sub": g.subject, "preferred_username": g.login, "name": format!("{} Name", g.login)});
            if let Some((email, verified)) = g.email {
                body["email"] = json!(email);
                body["email_verified"] = json!(verified);
            }
            Json(body).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn linuxdo_token(
    State(state): State<Arc<Fakes>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let ok_client = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Basic {basic}"));
    match form.get("code").and_then(|c| take_code(&state, c)) {
        Some(grant) if ok_client => {
            Json(json!({"access_token": new_token(&state, grant)})).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "bad code"})),
        )
            .into_response(),
    }
}

async fn linuxdo_user(State(state): State<Arc<Fakes>>, headers: HeaderMap) -> Response {
    match bearer_grant(&state, &headers) {
        Some(g) => Json(json!({"id": g.subject.parse::<i64>().unwrap_or(0), "username": g.login, "name": g.login, "trust_level": g.trust_level, "active": true, "silenced": false})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn wechat_user(
    State(state): State<Arc<Fakes>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(WECHAT_TOKEN) {
        return Json(json!({"success": false, "message": "unauthorized"})).into_response();
    }
    let openid = query
        .get("code")
        .and_then(|c| state.wechat_codes.lock().expect("lock").remove(c));
    match openid {
        Some(openid) => {
            Json(json!({"success": true, "message": "", "data": openid})).into_response()
        }
        None => Json(json!({"success": true, "message": "", "data": ""})).into_response(),
    }
}

/// A minimal SMTP server that accepts every message and keeps its text.
async fn smtp_sink(state: Arc<Fakes>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind smtp");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake.smtp ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let raw = data.take().unwrap_or_default();
                            state.mails.lock().expect("lock").push(decode_mail(&raw));
                            let _ = write.write_all(b"250 OK\r\n").await;
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split(' ')
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-fake.smtp\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    port
}

/// The message's text: headers as they are, the body decoded from base64 or quoted-printable.
fn decode_mail(raw: &str) -> String {
    use base64::Engine as _;
    let (headers, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let lower = headers.to_ascii_lowercase();
    let decoded = if lower.contains("content-transfer-encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(joined)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        let soft = body.replace("=\n", "");
        let bytes = soft.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&soft[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap_or_default()
    } else {
        body.to_owned()
    };
    format!("{headers}\n\n{decoded}")
}
