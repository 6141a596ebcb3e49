//! Seeding a fresh Keyward through its real API, the way an operator, a developer, a browser and
//! an app would: admin settings, a user, a developer token, an app, a consent, and tokens
//! obtained by real authorization-code flows.

use crate::server::Server;
use anyhow::{Context, Result, bail};
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const ADMIN: &str = "bench-admin";
pub const USER: &str = "bench-user";
pub const USER_PASSWORD: &str = "bench-user-password-123";
pub const CALLBACK: &str = "https://app.example.com/oauth/callback";
/// Everything the app may ask for.
pub const APP_SCOPES: &str = "openid profile email balance offline_access";
/// The access token the three userinfo shapes and introspection are measured with.
pub const USERINFO_SCOPES: &str = "openid profile email balance";
/// A sign-in with OpenID Connect that keeps a refresh token (access + refresh + id_token).
pub const FLOW_SCOPES: &str = "openid profile email offline_access";

/// Two resource servers (RFC 8707) with JWT access tokens (RFC 9068), one per signing algorithm.
pub const API_ES256: &str = "https://api-es256.bench.example";
pub const API_RS256: &str = "https://api-rs256.bench.example";
/// The scope both APIs define.
pub const API_SCOPE: &str = "api:read";

pub struct Seeded {
    /// The app's numeric id (admin API).
    pub app_id: i64,
    pub client_id: String,
    pub client_secret: String,
    /// `Cookie` header value of the user's browser session.
    pub session_cookie: String,
    /// An access token with [`USERINFO_SCOPES`].
    pub access_token: String,
    /// One refresh token (with the flow scope) per connection, each its own chain.
    pub refresh_tokens: Vec<String>,
    /// A device authorization (RFC 8628) that nobody answers: polling it is the device-flow
    /// poll's steady state.
    pub device_code: String,
}

/// `/oauth/authorize?...` for the seeded app.
pub fn authorize_path(client_id: &str, scope: &str, state: &str) -> Result<String> {
    authorize_path_for(client_id, scope, state, &[])
}

/// [`authorize_path`] naming `resources` (RFC 8707).
pub fn authorize_path_for(
    client_id: &str,
    scope: &str,
    state: &str,
    resources: &[&str],
) -> Result<String> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", scope),
        ("state", state),
    ];
    pairs.extend(resources.iter().map(|r| ("resource", *r)));
    Ok(format!(
        "/oauth/authorize?{}",
        serde_urlencoded::to_string(pairs)?
    ))
}

/// Reads a new-api envelope; fails unless `success` is true.
async fn envelope(res: reqwest::Response, what: &str) -> Result<Value> {
    let status = res.status();
    let text = res.text().await?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{what}: HTTP {status}, not JSON: {text}"))?;
    if !status.is_success() || value["success"] != true {
        bail!("{what} failed: HTTP {status}: {text}");
    }
    Ok(value)
}

/// Logs in and returns the session's `Cookie` header value.
async fn login(http: &Client, server: &Server, username: &str, password: &str) -> Result<String> {
    let res = http
        .post(server.url("/api/user/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?;
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.contains("keyward_session="))
        .map(str::to_owned);
    let body = envelope(res, &format!("login as {username}")).await?;
    if body["data"]["require_2fa"] == true {
        bail!("{username} has two-factor on");
    }
    cookie.with_context(|| format!("login as {username} set no session cookie"))
}

pub async fn seed(
    server: &Server,
    admin_password: &str,
    flow_scope: &str,
    id_token_alg: Option<&str>,
    connections: usize,
) -> Result<Seeded> {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // The operator: apps are approved at creation, so the secret comes with it.
    let admin = login(&http, server, ADMIN, admin_password).await?;
    let res = http
        .put(server.url("/api/admin/settings"))
        .header(COOKIE, &admin)
        .json(&json!({"app_review_required": false}))
        .send()
        .await?;
    envelope(res, "PUT /api/admin/settings").await?;

    // A user, who is also the app's developer.
    let res = http
        .post(server.url("/api/user/register"))
        .json(&json!({"username": USER, "password": USER_PASSWORD}))
        .send()
        .await?;
    envelope(res, "register").await?;
    let session = login(&http, server, USER, USER_PASSWORD).await?;
    let res = http
        .get(server.url("/api/user/token"))
        .header(COOKIE, &session)
        .send()
        .await?;
    let token = envelope(res, "GET /api/user/token").await?;
    let developer_token = token["data"]
        .as_str()
        .context("no developer token")?
        .to_owned();

    let mut app = json!({
        "name": "Bench App",
        "description": "keyward-bench",
        "redirect_uri": CALLBACK,
        "scopes": APP_SCOPES,
        "grant_types": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
    });
    if let (Some(alg), Some(fields)) = (id_token_alg, app.as_object_mut()) {
        fields.insert("id_token_signed_response_alg".into(), json!(alg));
    }
    let res = http
        .post(server.url("/api/oauth_apps"))
        .header(AUTHORIZATION, format!("Bearer {developer_token}"))
        .json(&app)
        .send()
        .await?;
    let created = envelope(res, "POST /api/oauth_apps").await?;
    let data = &created["data"];
    let client_id = data["client_id"].as_str().context("client_id")?.to_owned();
    let client_secret = match data["client_secret"].as_str() {
        Some(secret) => secret.to_owned(),
        None => {
            // Review still on (the settings change not seen yet): approve, then read it once.
            let id = data["id"].as_i64().context("app id")?;
            let res = http
                .post(server.url(&format!("/api/admin/oauth_apps/{id}/approve")))
                .header(COOKIE, &admin)
                .json(&json!({}))
                .send()
                .await?;
            envelope(res, "approve the app").await?;
            let res = http
                .get(server.url(&format!("/api/oauth_apps/{id}")))
                .header(AUTHORIZATION, format!("Bearer {developer_token}"))
                .send()
                .await?;
            let view = envelope(res, "read the app's secret").await?;
            view["data"]["client_secret"]
                .as_str()
                .context("no client secret after approval")?
                .to_owned()
        }
    };

    // The APIs, and the app listed for them (client credentials may only target listed APIs).
    for (identifier, alg) in [(API_ES256, "ES256"), (API_RS256, "RS256")] {
        let res = http
            .post(server.url("/api/admin/resources"))
            .header(COOKIE, &admin)
            .json(&json!({
                "identifier": identifier,
                "name": format!("Bench API {alg}"),
                "scopes": [{"name": API_SCOPE, "description": "bench"}],
                "token_format": "jwt",
                "signing_alg": alg,
            }))
            .send()
            .await?;
        envelope(res, "POST /api/admin/resources").await?;
    }
    let id = data["id"].as_i64().context("app id")?;
    let res = http
        .patch(server.url(&format!("/api/admin/oauth_apps/{id}")))
        .header(COOKIE, &admin)
        .json(&json!({"allowed_resources": [API_ES256, API_RS256]}))
        .send()
        .await?;
    envelope(res, "PATCH /api/admin/oauth_apps/{id}").await?;

    let app = App {
        http: &http,
        server,
        session: &session,
        client_id: &client_id,
        client_secret: &client_secret,
    };
    // The user consents once, on the page, to everything the app may ask, on Keyward and on
    // both APIs; from then on the consent is remembered.
    let everything = format!("{APP_SCOPES} {API_SCOPE}");
    app.sign_in_for(&everything, true, &[API_ES256, API_RS256])
        .await?;
    let tokens = app.sign_in(APP_SCOPES, false).await?;
    if tokens["refresh_token"].as_str().is_none() || tokens["id_token"].as_str().is_none() {
        bail!("the first sign-in gave no refresh_token or id_token: {tokens}");
    }
    let tokens = app.sign_in(USERINFO_SCOPES, false).await?;
    let access_token = tokens["access_token"]
        .as_str()
        .context("no access_token")?
        .to_owned();
    let mut refresh_tokens = Vec::with_capacity(connections);
    for _ in 0..connections {
        let tokens = app.sign_in(flow_scope, false).await?;
        refresh_tokens.push(
            tokens["refresh_token"]
                .as_str()
                .with_context(|| {
                    format!(
                        "no refresh_token for scope {flow_scope:?} \
                         (with openid it needs offline_access)"
                    )
                })?
                .to_owned(),
        );
    }
    let res = http
        .post(server.url("/oauth2/device_authorization"))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("scope", "profile")])
        .send()
        .await?;
    let status = res.status();
    let started: Value = res.json().await?;
    let device_code = started["device_code"]
        .as_str()
        .with_context(|| format!("POST /oauth2/device_authorization: HTTP {status}: {started}"))?
        .to_owned();
    Ok(Seeded {
        app_id: id,
        client_id,
        client_secret,
        session_cookie: session,
        access_token,
        refresh_tokens,
        device_code,
    })
}

/// For the charge scenario (issue #19): the admin lets the app spend and funds the user far
/// beyond any run, and the user consents to `balance:spend` with a limit no run reaches. Returns
/// an access token with `balance:spend`.
pub async fn seed_spending(
    server: &Server,
    admin_password: &str,
    seeded: &Seeded,
) -> Result<String> {
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let admin = login(&http, server, ADMIN, admin_password).await?;
    let res = http
        .patch(server.url(&format!("/api/admin/oauth_apps/{}", seeded.app_id)))
        .header(COOKIE, &admin)
        .json(&json!({"may_spend": true}))
        .send()
        .await?;
    envelope(res, "PATCH /api/admin/oauth_apps/{id} may_spend").await?;
    let res = http
        .get(server.url("/api/user/self"))
        .header(COOKIE, &seeded.session_cookie)
        .send()
        .await?;
    let me = envelope(res, "GET /api/user/self").await?;
    let user_id = me["data"]["id"].as_i64().context("user id")?;
    let res = http
        .patch(server.url(&format!("/api/admin/users/{user_id}")))
        .header(COOKIE, &admin)
        .json(&json!({"quota": 1_000_000_000_000_000_i64}))
        .send()
        .await?;
    envelope(res, "PATCH /api/admin/users/{id} quota").await?;
    let app = App {
        http: &http,
        server,
        session: &seeded.session_cookie,
        client_id: &seeded.client_id,
        client_secret: &seeded.client_secret,
    };
    let tokens = app
        .sign_in_with(
            "balance balance:spend",
            true,
            &[],
            &[("spend_amount", "1000000000"), ("spend_period", "total")],
        )
        .await?;
    tokens["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token with balance:spend")
}

struct App<'a> {
    http: &'a Client,
    server: &'a Server,
    session: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}

impl App<'_> {
    /// authorize → (consent page, when `consent`) → code → token; returns the token answer.
    async fn sign_in(&self, scope: &str, consent: bool) -> Result<Value> {
        self.sign_in_for(scope, consent, &[]).await
    }

    /// [`Self::sign_in`] naming `resources`; the token is asked for the first.
    async fn sign_in_for(&self, scope: &str, consent: bool, resources: &[&str]) -> Result<Value> {
        self.sign_in_with(scope, consent, resources, &[]).await
    }

    /// [`Self::sign_in_for`], the consent form sent with `fields` besides its hidden ones.
    async fn sign_in_with(
        &self,
        scope: &str,
        consent: bool,
        resources: &[&str],
        fields: &[(&str, &str)],
    ) -> Result<Value> {
        let extra = fields;
        let path = authorize_path_for(self.client_id, scope, "bench-seed", resources)?;
        let res = self
            .http
            .get(self.server.url(&path))
            .header(COOKIE, self.session)
            .send()
            .await?;
        let location = match (res.status(), consent) {
            (StatusCode::OK, true) => {
                let html = res.text().await?;
                let mut fields = keyward_testkit::hidden_fields(&html);
                if !fields.iter().any(|(k, _)| k == "csrf_token") {
                    bail!("no consent form in: {html}");
                }
                fields.push(("decision".into(), "approve".into()));
                fields.extend(
                    extra
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
                );
                let res = self
                    .http
                    .post(self.server.url("/oauth/authorize"))
                    .header(COOKIE, self.session)
                    .form(&fields)
                    .send()
                    .await?;
                if res.status() != StatusCode::SEE_OTHER {
                    bail!("consent answered {}: {}", res.status(), res.text().await?);
                }
                location_of(&res)?
            }
            (StatusCode::FOUND, false) => location_of(&res)?,
            (status, _) => bail!(
                "authorize for {scope:?} answered {status} (consent expected: {consent}): {}",
                res.text().await?
            ),
        };
        let code = crate::load::code_in(&location)
            .with_context(|| format!("no code in the redirect {location}"))?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("client_id", self.client_id),
            ("client_secret", self.client_secret),
        ];
        form.extend(resources.first().map(|r| ("resource", *r)));
        let res = self
            .http
            .post(self.server.url("/api/oauth2/token"))
            .form(&form)
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        if status != StatusCode::OK {
            bail!("code exchange answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}

fn location_of(res: &reqwest::Response) -> Result<String> {
    res.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .context("redirect without a Location")
}
