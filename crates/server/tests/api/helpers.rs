//! A real Keyward node on a random loopback port with a fresh database, and an HTTP client.

use keyward::app::Node;
use keyward::config::Config;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN: &str = "root";
pub const ADMIN_PASSWORD: &str = "admin-password-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from an `async fn(Backend)`. The PostgreSQL variant is
/// `#[ignore]`d, so that without a database it is reported as skipped, never as passed;
/// `scripts/test.sh` runs it (`-- --ignored`) when `KEYWARD_TEST_DATABASE_URL` is set, and run
/// without that variable it fails.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL (KEYWARD_TEST_DATABASE_URL)"]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            }
        )+
    };
}

pub fn postgres_base_url() -> Option<String> {
    std::env::var("KEYWARD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database nobody else uses (clones share it, e.g. for a second node): a new SQLite file, or a new schema in the test PostgreSQL
/// database (the run's throwaway database is dropped by `.ci/run`).
#[derive(Clone)]
pub struct TestDatabase {
    pub url: String,
    /// The master key every node on this database shares.
    pub secret_key: String,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl TestDatabase {
    /// The SQLite file `file` (its folder kept by the caller), with this database's master key.
    pub fn sqlite_file(&self, file: &std::path::Path) -> Self {
        Self {
            url: format!("sqlite://{}", file.display()),
            secret_key: self.secret_key.clone(),
            _dir: None,
        }
    }

    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
                Self {
                    url,
                    secret_key: master_key(),
                    _dir: Some(std::sync::Arc::new(dir)),
                }
            }
            Backend::Postgres => {
                let base = postgres_base_url().unwrap_or_else(|| {
                    panic!("a PostgreSQL test needs KEYWARD_TEST_DATABASE_URL (postgres://…)")
                });
                let schema = format!("kwt_{}", uuid::Uuid::new_v4().simple());
                let pool = sqlx::PgPool::connect(&base)
                    .await
                    .expect("connect to test PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&pool)
                    .await
                    .expect("create schema");
                pool.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Self {
                    url,
                    secret_key: master_key(),
                    _dir: None,
                }
            }
        }
    }
}

impl TestDatabase {
    /// Runs one statement behind the node's back: for a state no API makes (an account with no
    /// password and no identity, say).
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.expect("sqlite");
            sqlx::query(sql).execute(&pool).await.expect("statement");
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("postgres");
            sqlx::query(sql).execute(&pool).await.expect("statement");
            pool.close().await;
        }
    }
}

fn master_key() -> String {
    keyward_core::oidc::MasterKey::generate().to_base64()
}

pub fn test_config(db: &TestDatabase) -> Config {
    Config {
        secret_key: Some(db.secret_key.clone()),
        key_cache_secs: 1,
        listen: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        database_max_connections: 5,
        admin_username: Some(ADMIN.into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Config::default()
    }
}

pub struct TestApp {
    pub base: String,
    /// Held so that a SQLite file outlives the server.
    _db: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a node whose configuration `adjust` may change first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDatabase::new(backend).await;
        let mut config = test_config(&db);
        adjust(&mut config);
        Self::start(db, config).await
    }

    /// A node whose `public_url` (and `base`) name `localhost` rather than the loopback address:
    /// WebAuthn refuses IP addresses, so the passkey tests need a host name.
    pub async fn spawn_at_localhost(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let config = test_config(&db);
        Self::start_named(db, config, "localhost").await
    }

    pub async fn start(db: TestDatabase, config: Config) -> Self {
        Self::start_named(db, config, "127.0.0.1").await
    }

    /// Starts a node on a loopback port, reached at `http://<host>:<port>`, which is also its
    /// `public_url` unless the configuration names one.
    async fn start_named(db: TestDatabase, config: Config, host: &str) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = config;
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{host}:{}", addr.port()));
        }
        let node = Node::build(config).await.expect("build node");
        node.bootstrap().await.expect("admin and signing keys");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(node.serve(listener, async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{host}:{}", addr.port()),
            _db: db,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// A node started elsewhere (e.g. the real binary in a child process) at `base`.
    pub fn external(base: String, db: TestDatabase) -> Self {
        Self {
            base,
            _db: db,
            shutdown: None,
            server: None,
        }
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs one statement on the node's database (see [`TestDatabase::execute`]).
    pub async fn execute_sql(&self, sql: &str) {
        self._db.execute(sql).await;
    }

    /// Fails the test unless every user's ledger adds up to their `quota` and `used_quota`.
    pub async fn assert_ledger_adds_up(&self) {
        let store = keyward::app::open_store(&self._db.url, 2)
            .await
            .expect("store");
        assert_ledger_adds_up(store.as_ref()).await;
    }

    /// Signals shutdown and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }

    pub async fn register(&self, username: &str, password: &str) -> Value {
        let res = self
            .client()
            .post(self.url("/api/user/register"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("register");
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["success"], true, "register failed: {body}");
        body
    }

    /// A fresh client logged in as `username`.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let client = self.client();
        let body = post_json(
            &client,
            &self.url("/api/user/login"),
            json!({"username": username, "password": password}),
        )
        .await;
        assert_eq!(body.1["success"], true, "login failed: {}", body.1);
        client
    }

    pub async fn admin(&self) -> Client {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// Registers and logs in a user; returns the client and the user's id.
    pub async fn user(&self, username: &str) -> (Client, i64) {
        let body = self.register(username, "password-123").await;
        let id = body["data"]["id"].as_i64().expect("id");
        (self.login(username, "password-123").await, id)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The ledger invariant: for every user, the entries' deltas add up to `quota` and
/// `used_quota`. Checked after every scenario that moves a balance.
pub async fn assert_ledger_adds_up(store: &dyn keyward_core::Store) {
    let wrong = store.ledger_discrepancies().await.expect("ledger");
    assert!(wrong.is_empty(), "the ledger does not add up: {wrong:?}");
}

/// The `Set-Cookie` header of `res` that sets the cookie `name` (an answer may set several, in
/// no fixed order).
pub fn set_cookie(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

pub async fn post_json(client: &Client, url: &str, body: Value) -> (StatusCode, Value) {
    into_parts(client.post(url).json(&body).send().await.expect("request")).await
}

pub async fn get_json(client: &Client, url: &str) -> (StatusCode, Value) {
    into_parts(client.get(url).send().await.expect("request")).await
}

pub async fn into_parts(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}
