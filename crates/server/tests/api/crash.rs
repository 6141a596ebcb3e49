//! Crash safety: the real binary is killed with SIGKILL under load, restarted on the same
//! database, and every answer it gave before dying still holds — every access token it answered
//! with works, every refresh token it answered with (and did not rotate) still refreshes, no
//! code works twice and no balance changed twice.

use crate::helpers::{ADMIN, ADMIN_PASSWORD, Backend, TestApp, TestDatabase, get_json, post_json};
use crate::oauth_support::*;
use crate::on_both_backends;
use crate::topup::generate;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

on_both_backends!(answers_given_before_a_kill_survive_the_restart);

/// Authorization codes exchanged under load, each by exactly one request.
const CODES: usize = 30;
/// Top-up codes redeemed under load.
const TOPUPS: usize = 20;
const TOPUP_AMOUNT: i64 = 100;
/// Refresh-token chains rotated back to back under load.
const CHAINS: usize = 3;
const SCOPES: &str = "profile balance";
/// The retry window lets a client that lost the answer to a rotation (here: because the server
/// died) present its refresh token again and get the pair the server had already committed.
/// Without it that retry would be reuse and revoke the family, which is the documented strict
/// behaviour but leaves nothing to check about durability.
const REFRESH_GRACE_SECS: i64 = 120;

/// The real binary in a child process; killed (SIGKILL on Unix) when dropped, so a failing test
/// leaves no server behind.
pub(crate) struct Server {
    child: Child,
    pub(crate) app: TestApp,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn start(db: &TestDatabase) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("dir");
        let log = std::fs::File::create(dir.path().join("keyward.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYWARD_DATABASE_URL", &db.url)
            .env("KEYWARD_SECRET_KEY", &db.secret_key)
            .env("KEYWARD_ADMIN_USERNAME", ADMIN)
            .env("KEYWARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keyward");
        let app = TestApp::external(format!("http://127.0.0.1:{port}"), db.clone());
        let server = Self {
            child,
            app,
            _dir: dir,
        };
        // Generous: a busy machine may take a while to migrate and open the pool.
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if reqwest::get(server.app.url("/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(server._dir.path().join("keyward.log"));
                panic!("keyward did not become ready: {log:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the server answered before it died. An item whose request got no answer (the
/// connection broke) is "unanswered": it may or may not have taken effect.
#[derive(Default)]
struct Ledger {
    /// Every access token answered, from any grant.
    access_tokens: Vec<String>,
    client_credentials: usize,
    /// Codes answered as exchanged, and the refresh token each exchange answered with (never
    /// rotated: the exchanging task does not refresh).
    exchanged: Vec<String>,
    fresh_refresh_tokens: Vec<String>,
    codes_unanswered: Vec<String>,
    /// Top-up codes answered as redeemed.
    redeemed: Vec<String>,
    topups_unanswered: Vec<String>,
    /// Per chain, the refresh tokens answered in order: all but the last were rotated by an
    /// answered request.
    chains: Vec<Vec<String>>,
    rotations: usize,
    chain_rotation_unanswered: usize,
    /// Any refusal under load: none is expected before the kill.
    refused: Vec<String>,
}

type Shared = Arc<Mutex<Ledger>>;

/// A POST that returns `None` when the server gave no (complete) answer.
async fn try_send(request: reqwest::RequestBuilder) -> Option<(StatusCode, Value)> {
    let res = request.send().await.ok()?;
    let status = res.status();
    let text = res.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn load_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

async fn answers_given_before_a_kill_survive_the_restart(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let mut server = Server::start(&db).await;
    let app = &server.app;

    // Seed: an approved confidential app with all three grants, a user with a browser session,
    // codes obtained through the consent page, top-up codes.
    let admin = app.admin().await;
    let (status, body) = crate::helpers::into_parts(
        admin
            .put(app.url("/api/admin/settings"))
            .json(&json!({"refresh_reuse_grace_seconds": REFRESH_GRACE_SECS}))
            .send()
            .await
            .expect("settings"),
    )
    .await;
    assert_eq!(
        (status, body["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{body}"
    );
    let (developer, _) = app.user("crashdev").await;
    let registered = Arc::new(
        register_app(
            app,
            &developer,
            json!({
                "scopes": SCOPES,
                "grant_types": "authorization_code refresh_token client_credentials",
            }),
        )
        .await,
    );
    let (browser, _) = app.user("alice").await;
    let params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("state", "crash-state"),
    ];
    let mut codes = Vec::new();
    for _ in 0..CODES + CHAINS {
        codes.push(obtain_code(app, &browser, "/oauth/authorize", &params).await);
    }
    // The chains start from pairs obtained before the load.
    let mut chain_starts = Vec::new();
    for code in codes.split_off(CODES) {
        let (status, tokens) = token_b(app, &exchange_form(&registered, &code)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        chain_starts.push(
            tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        );
    }
    let topup_codes = generate(app, json!({"amount": TOPUP_AMOUNT, "count": TOPUPS})).await;
    let initial_quota = quota(app, &browser).await;

    // Load: client_credentials and refresh rotations all the time; code exchanges and top-up
    // redemptions paced so that they are still going when the kill comes.
    let ledger: Shared = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let code_queue = Arc::new(Mutex::new(codes));
    let topup_queue = Arc::new(Mutex::new(topup_codes.clone()));
    let codes_claimed = Arc::new(AtomicUsize::new(0));
    let topups_claimed = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let token_url = app.url("/api/oauth2/token");
    let topup_url = app.url("/api/user/topup");
    let mut tasks = Vec::new();

    for _ in 0..2 {
        let (ledger, killed, registered, url) = (
            ledger.clone(),
            killed.clone(),
            registered.clone(),
            token_url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = load_client();
            while !killed.load(Ordering::SeqCst) {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", registered.client_id.as_str()),
                    ("client_secret", registered.client_secret.as_str()),
                ];
                let Some((status, body)) = try_send(client.post(&url).form(&form)).await else {
                    break;
                };
                let mut ledger = ledger.lock().expect("lock");
                match body["access_token"].as_str() {
                    Some(token) if status == StatusCode::OK => {
                        ledger.access_tokens.push(token.to_owned());
                        ledger.client_credentials += 1;
                    }
                    _ => ledger.refused.push(format!("client_credentials: {body}")),
                }
            }
        }));
    }

    for (index, start) in chain_starts.into_iter().enumerate() {
        let (ledger, killed, registered, url) = (
            ledger.clone(),
            killed.clone(),
            registered.clone(),
            token_url.clone(),
        );
        ledger.lock().expect("lock").chains.push(vec![start]);
        tasks.push(tokio::spawn(async move {
            let client = load_client();
            while !killed.load(Ordering::SeqCst) {
                let current = ledger.lock().expect("lock").chains[index]
                    .last()
                    .cloned()
                    .expect("chain");
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", current.as_str()),
                    ("client_id", registered.client_id.as_str()),
                    ("client_secret", registered.client_secret.as_str()),
                ];
                let Some((status, body)) = try_send(client.post(&url).form(&form)).await else {
                    ledger.lock().expect("lock").chain_rotation_unanswered += 1;
                    break;
                };
                let mut ledger = ledger.lock().expect("lock");
                match (
                    body["access_token"].as_str(),
                    body["refresh_token"].as_str(),
                ) {
                    (Some(access), Some(refresh)) if status == StatusCode::OK => {
                        ledger.access_tokens.push(access.to_owned());
                        ledger.chains[index].push(refresh.to_owned());
                        ledger.rotations += 1;
                    }
                    _ => {
                        ledger.refused.push(format!("refresh: {body}"));
                        break;
                    }
                }
            }
        }));
    }

    for _ in 0..2 {
        let (ledger, killed, registered, url, queue, claimed, in_flight) = (
            ledger.clone(),
            killed.clone(),
            registered.clone(),
            token_url.clone(),
            code_queue.clone(),
            codes_claimed.clone(),
            in_flight.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = load_client();
            while !killed.load(Ordering::SeqCst) {
                let Some(code) = queue.lock().expect("lock").pop() else {
                    break;
                };
                claimed.fetch_add(1, Ordering::SeqCst);
                in_flight.fetch_add(1, Ordering::SeqCst);
                let answer =
                    try_send(client.post(&url).form(&exchange_form(&registered, &code))).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let Some((status, body)) = answer else {
                    ledger.lock().expect("lock").codes_unanswered.push(code);
                    break;
                };
                {
                    let mut ledger = ledger.lock().expect("lock");
                    match (
                        body["access_token"].as_str(),
                        body["refresh_token"].as_str(),
                    ) {
                        (Some(access), Some(refresh)) if status == StatusCode::OK => {
                            ledger.access_tokens.push(access.to_owned());
                            ledger.fresh_refresh_tokens.push(refresh.to_owned());
                            ledger.exchanged.push(code);
                        }
                        _ => ledger.refused.push(format!("code exchange: {body}")),
                    }
                }
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        }));
    }

    for _ in 0..2 {
        let (ledger, killed, browser, url, queue, claimed, in_flight) = (
            ledger.clone(),
            killed.clone(),
            browser.clone(),
            topup_url.clone(),
            topup_queue.clone(),
            topups_claimed.clone(),
            in_flight.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !killed.load(Ordering::SeqCst) {
                let Some(code) = queue.lock().expect("lock").pop() else {
                    break;
                };
                claimed.fetch_add(1, Ordering::SeqCst);
                in_flight.fetch_add(1, Ordering::SeqCst);
                let answer = try_send(browser.post(&url).json(&json!({"key": code}))).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let Some((status, body)) = answer else {
                    ledger.lock().expect("lock").topups_unanswered.push(code);
                    break;
                };
                {
                    let mut ledger = ledger.lock().expect("lock");
                    if status == StatusCode::OK
                        && body["success"] == true
                        && body["data"] == TOPUP_AMOUNT
                    {
                        ledger.redeemed.push(code);
                    } else {
                        ledger.refused.push(format!("top-up ({status}): {body}"));
                    }
                }
                tokio::time::sleep(Duration::from_millis(180)).await;
            }
        }));
    }

    // The kill comes from its own task while the load runs: after at least a second and once
    // half the codes were sent (progress, not time, so a slow machine still kills mid-load),
    // preferably while a code exchange or redemption is on the wire.
    let load_started = Instant::now();
    let deadline = load_started + Duration::from_secs(120);
    loop {
        let progressed = codes_claimed.load(Ordering::SeqCst) >= CODES / 2
            && topups_claimed.load(Ordering::SeqCst) >= TOPUPS / 2;
        if (load_started.elapsed() >= Duration::from_secs(1) && progressed)
            || Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let aim = Instant::now() + Duration::from_millis(500);
    while in_flight.load(Ordering::SeqCst) == 0 && Instant::now() < aim {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    killed.store(true, Ordering::SeqCst);
    let killer = tokio::spawn(async move {
        server.kill();
        server
    });
    let server = killer.await.expect("killer");
    for task in tasks {
        task.await.expect("load task");
    }
    drop(server);

    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("tasks finished")
        .into_inner()
        .expect("ledger");
    assert!(
        ledger.refused.is_empty(),
        "requests were refused before the kill: {:?}",
        ledger.refused
    );
    assert!(
        ledger.client_credentials > 0
            && ledger.rotations > 0
            && !ledger.exchanged.is_empty()
            && !ledger.redeemed.is_empty(),
        "the load did some of everything before the kill"
    );

    // Restart on the same database with the same key, on a new port.
    let server = Server::start(&db).await;
    let app = &server.app;
    let client = load_client();

    // 1. Every access token answered still works. Rotation leaves earlier access tokens alive
    //    until they expire (only the refresh token dies), so none is superseded. Checked first:
    //    the replays below revoke families on purpose.
    for token in &ledger.access_tokens {
        let (status, body) = introspect(&client, app, &registered, token).await;
        assert_eq!(
            (status, body["active"].clone(), body["token_type"].clone()),
            (StatusCode::OK, json!(true), json!("Bearer")),
            "an answered access token died in the crash: {body}"
        );
    }

    // 2. Every answered refresh token that no answered request rotated still refreshes: the
    //    ones code exchanges answered with, and the last of each chain. A chain whose rotation
    //    was in flight may have been rotated without an answer; then this is the client's
    //    retry within the grace window and gets the committed pair.
    let tails = ledger.chains.iter().map(|c| c.last().expect("chain"));
    for token in ledger.fresh_refresh_tokens.iter().chain(tails) {
        let (status, body) = token_b(app, &refresh_form(&registered, token)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "an answered, unrotated refresh token no longer refreshes: {body}"
        );
        let access = body["access_token"].as_str().expect("access");
        assert_eq!(
            introspect(&client, app, &registered, access).await.1["active"],
            true
        );
    }
    //    A refresh token rotated by an answered request stays dead: presenting it is reuse.
    for chain in ledger.chains.iter().filter(|c| c.len() > 1) {
        let (status, body) = token_b(app, &refresh_form(&registered, &chain[0])).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_grant")),
            "a rotated refresh token came back to life: {body}"
        );
    }

    // 3. No code works twice: an exchange that was answered is remembered, and a code whose
    //    exchange got no answer (or was never sent) works at most once.
    for code in &ledger.exchanged {
        let (status, body) = token_b(app, &exchange_form(&registered, code)).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_grant")),
            "an exchanged code worked again after the crash: {body}"
        );
    }
    let unsent = code_queue.lock().expect("lock").clone();
    let mut in_flight_codes_uncommitted = 0;
    for (code, was_sent) in ledger
        .codes_unanswered
        .iter()
        .map(|c| (c, true))
        .chain(unsent.iter().map(|c| (c, false)))
    {
        let (status, body) = token_b(app, &exchange_form(&registered, code)).await;
        // A code never sent was never touched, so it works; one in flight may have been spent.
        assert!(
            was_sent || status == StatusCode::OK,
            "an unsent code was lost: {body}"
        );
        if was_sent && status == StatusCode::OK {
            in_flight_codes_uncommitted += 1;
        }
        let (status, body) = token_b(app, &exchange_form(&registered, code)).await;
        assert_eq!(
            (status, body["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_grant")),
            "a code worked twice: {body}"
        );
    }

    // 4. No balance changed twice: the quota rose by every answered redemption, plus at most
    //    the ones in flight; a redeemed code cannot be redeemed again, by anyone; redeeming
    //    every remaining code ends exactly at one credit per code.
    let alice = app.login("alice", "password-123").await;
    let after_restart = quota(app, &alice).await;
    let answered = TOPUP_AMOUNT * ledger.redeemed.len() as i64;
    let in_flight_max = TOPUP_AMOUNT * ledger.topups_unanswered.len() as i64;
    assert!(
        after_restart >= initial_quota + answered
            && after_restart <= initial_quota + answered + in_flight_max,
        "quota {after_restart}: initial {initial_quota} + answered {answered} \
         (+ at most {in_flight_max} in flight)"
    );
    // Failed redemptions are throttled per user (10 per 15 min), so the replays are spread
    // over a few fresh users; what matters is that nobody gets the credit again.
    for (i, batch) in ledger.redeemed.chunks(5).enumerate() {
        let (other, _) = app.user(&format!("replayer{i}")).await;
        for code in batch {
            let (status, body) =
                post_json(&other, &app.url("/api/user/topup"), json!({"key": code})).await;
            assert_eq!(
                (status, body["success"].clone()),
                (StatusCode::OK, json!(false)),
                "a redeemed top-up code worked again after the crash: {body}"
            );
        }
    }
    let untouched = topup_queue.lock().expect("lock").clone();
    for code in ledger.topups_unanswered.iter().chain(&untouched) {
        let (status, body) =
            post_json(&alice, &app.url("/api/user/topup"), json!({"key": code})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let final_quota = quota(app, &alice).await;
    assert_eq!(
        final_quota,
        initial_quota + TOPUP_AMOUNT * TOPUPS as i64,
        "every top-up code credited exactly once"
    );

    eprintln!(
        "crash ({backend:?}): killed after {load_secs:.1} s of load; answered {} access tokens \
         ({} client_credentials, {} refresh rotations, {} code exchanges), {} top-up redemptions; \
         in flight at kill: {} code exchanges ({} of them still unspent after the restart), \
         {} refresh rotations, {} top-ups ({} of them had been credited); {} codes and {} top-up \
         codes never sent",
        ledger.access_tokens.len(),
        ledger.client_credentials,
        ledger.rotations,
        ledger.exchanged.len(),
        ledger.redeemed.len(),
        ledger.codes_unanswered.len(),
        in_flight_codes_uncommitted,
        ledger.chain_rotation_unanswered,
        ledger.topups_unanswered.len(),
        (after_restart - initial_quota - answered) / TOPUP_AMOUNT,
        unsent.len(),
        untouched.len(),
    );
}

fn exchange_form<'a>(registered: &'a RegisteredApp, code: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ]
}

fn refresh_form<'a>(registered: &'a RegisteredApp, token: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", registered.client_id.as_str()),
        ("client_secret", registered.client_secret.as_str()),
    ]
}

async fn introspect(
    client: &Client,
    app: &TestApp,
    registered: &RegisteredApp,
    token: &str,
) -> (StatusCode, Value) {
    let res = client
        .post(app.url("/oauth2/introspect"))
        .form(&[
            ("token", token),
            ("client_id", registered.client_id.as_str()),
            ("client_secret", registered.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("introspect");
    crate::helpers::into_parts(res).await
}

async fn quota(app: &TestApp, client: &Client) -> i64 {
    let (_, me) = get_json(client, &app.url("/api/user/self")).await;
    me["data"]["quota"].as_i64().expect("quota")
}
