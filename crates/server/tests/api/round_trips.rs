//! What each hot request costs PostgreSQL in round trips (docs/scaling.md, "What a request
//! costs the database"): on PostgreSQL a request's CPU is mostly its round trips, so each
//! benchmark scenario is held to its count here. Counted in the real binary from sqlx's own log
//! of every statement it runs (`sqlx::query` at debug), plus one `BEGIN` per transaction (sqlx
//! sends it without logging it), after a warm-up request of the same kind, so that the caches
//! are filled as in steady state. Before the change that brought these numbers down (issue
//! 18 #4): authorize 3, code exchange 4, userinfo 1, introspection 1, client_credentials 2,
//! refresh 4, device poll 3. Before the charge's and refund's reads under the user's lock were
//! one statement and their writes another (issue 18 #4, #19): charge 12, refund 13.

use crate::device_flow::{DEVICE_GRANT, device_authorization};
use crate::helpers::{Backend, TestDatabase, into_parts};
use crate::oauth_support::*;
use crate::served::Served;
use crate::spending::{allow_spending, bearer_post, charge_body, set_quota, token_with_limit};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// The statements the node sent since `from` (a length of its log), and the log's new length.
fn statements_since(served: &Served, from: usize) -> (Vec<String>, usize) {
    let log = served.log();
    let statements = log
        .get(from..)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["target"] == "sqlx::query")
        // The settings document is re-read every 2 s whatever the request (settings.rs): not a
        // cost of any one request.
        .filter(|event| {
            !event["fields"]["db.statement"]
                .as_str()
                .is_some_and(|sql| sql.contains("FROM settings"))
        })
        .map(|event| {
            // sqlx logs a statement of four words or fewer (`COMMIT`) as its summary alone,
            // with an empty `db.statement`.
            event["fields"]["db.statement"]
                .as_str()
                .filter(|sql| !sql.trim().is_empty())
                .or_else(|| event["fields"]["summary"].as_str())
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect();
    (statements, log.len())
}

/// Round trips: every statement logged, and the unlogged `BEGIN` of each transaction ended.
fn round_trips(statements: &[String]) -> usize {
    let transactions = statements
        .iter()
        .filter(|s| {
            let s = s.to_ascii_uppercase();
            s.starts_with("COMMIT") || s.starts_with("ROLLBACK")
        })
        .count();
    statements.len() + transactions
}

struct Meter<'a> {
    served: &'a Served,
    /// Another installation's schema in the same database, whose every cached table changes
    /// before each counted request: its notifications reach this node too, and must not empty
    /// its caches.
    neighbour: sqlx::PgPool,
    at: usize,
    counted: Vec<(&'static str, usize, Vec<String>)>,
}

impl<'a> Meter<'a> {
    fn new(served: &'a Served, neighbour: sqlx::PgPool) -> Self {
        Self {
            served,
            neighbour,
            at: 0,
            counted: Vec::new(),
        }
    }

    /// Skips what was logged so far, after the neighbour changed each of its cached tables
    /// (statement triggers fire on an update of no rows too).
    async fn reset(&mut self) {
        for (table, column) in [
            ("clients", "client_id"),
            ("settings", "key"),
            ("signing_keys", "kid"),
            ("throttle", "key"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {column} = {column} WHERE false"
            )))
            .execute(&self.neighbour)
            .await
            .expect("neighbour change");
        }
        settle().await;
        self.at = statements_since(self.served, 0).1;
    }

    /// Counts what was logged since the last reset as one `scenario` request.
    async fn count(&mut self, scenario: &'static str) {
        settle().await;
        let (statements, at) = statements_since(self.served, self.at);
        self.at = at;
        let n = round_trips(&statements);
        // The fewest of the rounds: a cached read may be dropped now and then (every node
        // starts its caches over every 30 s, changes.rs).
        match self
            .counted
            .iter_mut()
            .find(|(name, _, _)| *name == scenario)
        {
            Some(counted) if counted.1 <= n => {}
            Some(counted) => *counted = (scenario, n, statements),
            None => self.counted.push((scenario, n, statements)),
        }
    }

    fn report(&self) -> String {
        self.counted
            .iter()
            .map(|(name, n, statements)| format!("{name}: {n} {statements:#?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn of(&self, scenario: &str) -> usize {
        self.counted
            .iter()
            .find(|(name, _, _)| *name == scenario)
            .map_or(usize::MAX, |(_, n, _)| *n)
    }
}

/// The log is written as the request runs; a moment lets its last lines land.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (KEYWARD_TEST_DATABASE_URL)"]
async fn each_hot_request_costs_postgresql_its_counted_round_trips() {
    // A schema in the run's shared database, where other tests' writes notify every node too.
    let db = TestDatabase::new(Backend::Postgres).await;
    let neighbour_db = TestDatabase::new(Backend::Postgres).await;
    drop(Served::start(&neighbour_db, &[]).await);
    let neighbour = sqlx::PgPool::connect(&neighbour_db.url)
        .await
        .expect("neighbour");
    let served = Served::start(
        &db,
        &[
            ("RUST_LOG", "warn,sqlx::query=debug"),
            ("KEYWARD_LOG_FORMAT", "json"),
        ],
    )
    .await;
    let app = &served.app;
    let (developer, _) = app.user("dev").await;
    let registered = register_app(
        app,
        &developer,
        json!({
            "scopes": "profile balance offline_access",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT],
        }),
    )
    .await;
    let (browser, browser_id) = app.user("uma").await;
    let authorize_params = [
        ("client_id", registered.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "profile balance offline_access"),
        ("state", "s"),
    ];
    let secret = registered.client_secret.as_str();
    let client_id = registered.client_id.as_str();
    let exchange = |code: String| async move {
        let (status, tokens) = token_b(
            app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("client_id", client_id),
                ("client_secret", secret),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    };
    // Consent is remembered from here on: authorize answers with a code at once.
    let tokens =
        exchange(obtain_code(app, &browser, "/oauth/authorize", &authorize_params).await).await;
    let mut meter = Meter::new(&served, neighbour);

    // Each scenario: a warm-up, then the counted requests.
    for counted in [false, true, true, true] {
        meter.reset().await;
        let (location, code) = {
            let (status, location, body) =
                authorize(app, &browser, "/oauth/authorize", &authorize_params).await;
            assert_eq!(status, StatusCode::FOUND, "{body}");
            let location = location.expect("location");
            (location.clone(), param(&location, "code").expect("code"))
        };
        assert!(location.starts_with(CALLBACK));
        if counted {
            meter.count("authorize").await;
        }
        meter.reset().await;
        let fresh = exchange(code).await;
        if counted {
            meter.count("code").await;
        }

        meter.reset().await;
        let access = fresh["access_token"].as_str().expect("access_token");
        let (status, body) = userinfo_b(app, access).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if counted {
            meter.count("userinfo").await;
        }

        meter.reset().await;
        let res = reqwest::Client::new()
            .post(app.url("/oauth2/introspect"))
            .basic_auth(client_id, Some(secret))
            .form(&[("token", access)])
            .send()
            .await
            .expect("introspect");
        let (status, body) = into_parts(res).await;
        assert_eq!((status, &body["active"]), (StatusCode::OK, &json!(true)));
        if counted {
            meter.count("introspect").await;
        }

        meter.reset().await;
        let res = reqwest::Client::new()
            .post(app.url("/api/oauth2/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "balance")])
            .send()
            .await
            .expect("client_credentials");
        let (status, body) = into_parts(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if counted {
            meter.count("client_credentials").await;
        }

        meter.reset().await;
        let refresh = fresh["refresh_token"].as_str().expect("refresh_token");
        let (status, body) = token_b(
            app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", client_id),
                ("client_secret", secret),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if counted {
            meter.count("refresh").await;
        }
    }

    let (status, started) = device_authorization(
        app,
        &[
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "balance"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let device_code = started["device_code"].as_str().expect("device_code");
    for counted in [false, true, true, true] {
        meter.reset().await;
        let res = reqwest::Client::new()
            .post(app.url("/api/oauth2/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", DEVICE_GRANT), ("device_code", device_code)])
            .send()
            .await
            .expect("poll");
        let (status, body) = into_parts(res).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        if counted {
            meter.count("device_poll").await;
        }
    }
    drop(tokens);

    // Charges and refunds through a user's grant with a limit (issue 19).
    allow_spending(app, registered.id, json!({"may_spend": true})).await;
    set_quota(app, browser_id, 5000).await;
    let spend = token_with_limit(app, &browser, &registered, "1", "month").await;
    let (status, first) = bearer_post(
        app,
        "/api/oauth2/balance/charge",
        &spend,
        charge_body(100, "rt-first"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let charged = first["charge_id"].as_i64().expect("charge_id");
    for (round, counted) in [false, true, true, true].into_iter().enumerate() {
        meter.reset().await;
        let (status, body) = bearer_post(
            app,
            "/api/oauth2/balance/charge",
            &spend,
            charge_body(1, &format!("rt-charge-{round}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if counted {
            meter.count("charge").await;
        }
        meter.reset().await;
        let (status, body) = bearer_post(
            app,
            "/api/oauth2/balance/refund",
            &spend,
            json!({"charge_id": charged, "amount": 1, "idempotency_key": format!("rt-refund-{round}")}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if counted {
            meter.count("refund").await;
        }
    }

    let report = meter.report();
    println!("{report}");
    let limits = [
        ("userinfo", 1),
        ("introspect", 1),
        ("client_credentials", 1),
        ("refresh", 2),
        ("authorize", 3),
        ("code", 3),
        ("device_poll", 1),
        ("charge", 6),
        ("refund", 6),
    ];
    let counted: Vec<(&str, usize, usize)> = limits
        .iter()
        .map(|&(scenario, most)| (scenario, meter.of(scenario), most))
        .collect();
    drop(meter);
    drop(served);
    for (scenario, count, most) in counted {
        assert!(
            count <= most,
            "{scenario} costs more than {most} round trips:\n{report}"
        );
    }
}
