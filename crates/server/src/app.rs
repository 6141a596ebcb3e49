//! Building and running a Keyward node: the store chosen by URL, the domain services, the router.

use crate::config::Config;
use anyhow::Context as _;
use keyward_core::accounts::devices::DeviceKey;
use keyward_core::accounts::{Accounts, LoginPolicy, PasswordHasher};
use keyward_core::limits::RateLimiter;
use keyward_core::model::Role;
use keyward_core::oauth::Lifetimes;
use keyward_core::oauth::apps::Apps;
use keyward_core::oauth::authorize::Authorizer;
use keyward_core::oauth::directory::ClientDirectory;
use keyward_core::oauth::successor::SuccessorKey;
use keyward_core::oauth::tokens::{TokenService, TokenServiceParts};
use keyward_core::oidc::keys::KeyPolicy;
use keyward_core::oidc::{KeyRing, MasterKey};
use keyward_core::settings::SettingsCache;
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use keyward_core::{Clock, SystemClock};
use keyward_store_postgres::PostgresStore;
use keyward_store_sqlite::SqliteStore;
use keyward_web::{AppState, Services, WebConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Opens the database named by `url` and brings its schema up to date.
pub async fn open_store(url: &str, max_connections: u32) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open(url, max_connections, Duration::ZERO).await?.0)
}

/// The database's start-up lock (each store's `startup.rs`): held by one node at a time while
/// it migrates the schema (inside `migrate`) and while it creates the first admin and the
/// signing keys ([`Node::bootstrap`]).
#[derive(Clone)]
enum Locker {
    Postgres(PostgresStore),
    Sqlite(Box<SqliteStore>),
}

enum Held {
    Postgres(keyward_store_postgres::StartupLock),
    Sqlite(keyward_store_sqlite::StartupLock),
}

impl Locker {
    async fn lock(&self) -> anyhow::Result<Held> {
        Ok(match self {
            Self::Postgres(store) => Held::Postgres(store.lock_startup().await?),
            Self::Sqlite(store) => Held::Sqlite(store.lock_startup().await?),
        })
    }
}

impl Held {
    async fn release(self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(lock) => lock.release().await?,
            Self::Sqlite(lock) => lock.release()?,
        }
        Ok(())
    }
}

/// Opens and migrates the database, trying again with growing pauses for up to `wait` while
/// a PostgreSQL server does not answer (started after the node, or still recovering).
async fn open(
    url: &str,
    max_connections: u32,
    wait: Duration,
) -> anyhow::Result<(Arc<dyn Store>, Locker)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(250);
        let store = loop {
            match PostgresStore::connect(url, max_connections).await {
                Ok(store) => break store,
                Err(e) if started.elapsed() + pause < wait => {
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = pause.as_millis(),
                        gives_up_in_secs = wait.saturating_sub(started.elapsed()).as_secs(),
                        "the database does not answer yet; trying again"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                Err(e) => return Err(e).context("connecting to PostgreSQL"),
            }
        };
        store.migrate().await.context("migrating PostgreSQL")?;
        Ok((Arc::new(store.clone()), Locker::Postgres(store)))
    } else if url.starts_with("sqlite:") {
        let store = SqliteStore::connect(url).await.context("opening SQLite")?;
        store.migrate().await.context("migrating SQLite")?;
        Ok((Arc::new(store.clone()), Locker::Sqlite(Box::new(store))))
    } else {
        anyhow::bail!("database_url must start with sqlite:// or postgres://")
    }
}

/// The master key: from configuration, else from the key file, which is created (readable by
/// this user only) on first start when `create` says so.
pub fn master_key(config: &Config, create: bool) -> anyhow::Result<MasterKey> {
    if let Some(text) = &config.secret_key {
        return MasterKey::from_base64(text).context("secret_key");
    }
    let path = std::path::Path::new(&config.key_file);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            MasterKey::from_base64(&text).with_context(|| format!("reading {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => anyhow::bail!(
            "no master key: secret_key is unset and the key_file {} does not exist",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_private(path, &key.to_base64())
                .with_context(|| format!("creating {}", path.display()))?;
            tracing::info!(path = %path.display(), "created the master key file");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The extra CAs of `outbound_ca_file`, trusted by every outbound https call.
fn outbound_roots(path: Option<&str>) -> anyhow::Result<keyward_upstream::ExtraRoots> {
    let Some(path) = path else {
        return Ok(keyward_upstream::ExtraRoots::default());
    };
    let roots = keyward_upstream::ExtraRoots::from_pem_file(std::path::Path::new(path))
        .context("outbound_ca_file")?;
    tracing::info!(
        path,
        certificates = roots.len(),
        "trusting extra CAs for outbound https"
    );
    Ok(roots)
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// One node's services, ready to serve.
pub struct Node {
    pub state: AppState,
    pub config: Config,
    locker: Locker,
}

impl Node {
    /// A node that serves: on first start it creates the master key file.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, true).await
    }

    /// A node for an operator command: it needs the master key but never creates one, so a
    /// command run without it fails without leaving a stray key file behind.
    pub async fn for_command(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, false).await
    }

    async fn build_with(config: Config, create_key: bool) -> anyhow::Result<Self> {
        // Before anything else: a bad CA file is a start-up error, not a failed login later.
        let outbound_roots = outbound_roots(config.outbound_ca_file.as_deref())?;
        let (mut store, locker) = open(
            &config.database_url,
            config.database_max_connections,
            Duration::from_secs(config.database_wait_secs),
        )
        .await?;
        if crate::telemetry::traces_url(&config).is_some() {
            // Only when tracing: otherwise the store is called directly, with no wrapper.
            let system = if config.database_url.starts_with("sqlite:") {
                "sqlite"
            } else {
                "postgresql"
            };
            store = Arc::new(crate::traced_store::TracedStore::new(store, system));
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let hasher = PasswordHasher::new().context("setting up password hashing")?;
        let policy = LoginPolicy {
            window_secs: config.login_window_secs,
            max_failures_per_account: config.login_max_failures_per_account,
            max_failures_per_ip: config.login_max_failures_per_ip,
            session_ttl_secs: config.session_ttl_secs,
        };
        let lifetimes = Lifetimes {
            code_secs: config.authorization_code_ttl_secs,
            access_token_secs: config.access_token_ttl_secs,
            refresh_token_secs: config.refresh_token_ttl_secs,
        };
        let web = WebConfig {
            public_url: config.public_url(),
            trusted_proxies: config.trusted_proxies.clone(),
            body_limit: config.body_limit_bytes,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
        };
        let master = master_key(&config, create_key)?;
        let accounts = Arc::new(
            Accounts::new(store.clone(), clock.clone(), hasher, policy)
                .with_device_key(DeviceKey::new(&master)),
        );
        let vault = Arc::new(Vault::new(store.clone(), clock.clone(), master.clone()));
        let master_for_2fa = master.clone();
        let successor_key = SuccessorKey::new(&master);
        let keys = Arc::new(KeyRing::new(
            store.clone(),
            clock.clone(),
            master,
            KeyPolicy {
                id_token_ttl_secs: config.id_token_ttl_secs,
                cache: Duration::from_secs(config.key_cache_secs),
            },
        ));
        let passkeys = Arc::new(keyward_core::accounts::passkeys::Passkeys::new(
            store.clone(),
            clock.clone(),
            &web.public_url,
        ));
        let limits = Arc::new(RateLimiter::new(store.clone(), clock.clone()));
        let settings = Arc::new(SettingsCache::new(store.clone(), Duration::from_secs(2)));
        let two_factor = Arc::new(keyward_core::accounts::two_factor::TwoFactor::new(
            store.clone(),
            clock.clone(),
            master_for_2fa,
            settings.clone(),
        ));
        let fetcher = keyward_upstream::GuardedFetcher::new(
            &outbound_roots,
            keyward_upstream::FetchLimits::default(),
        )
        .context("building the guarded outbound fetcher")?;
        let clients = Arc::new(ClientDirectory::new(
            store.clone(),
            settings.clone(),
            clock.clone(),
            Arc::new(keyward_web::outbound::GuardedDocuments(fetcher)),
        ));
        let tokens = Arc::new(TokenService::new(TokenServiceParts {
            store: store.clone(),
            clock: clock.clone(),
            lifetimes,
            successor_key,
            keys: keys.clone(),
            issuer: web.public_url.clone(),
            limits: limits.clone(),
            settings: settings.clone(),
            audiences: keyward_web::oidc::discovery::assertion_audiences(&web.public_url),
            clients: clients.clone(),
        }));
        let device = Arc::new(keyward_core::oauth::device::DeviceService::new(
            tokens.clone(),
            store.clone(),
            clock.clone(),
            limits.clone(),
            &web.public_url,
            config.device_code_ttl_secs,
        ));
        let state = AppState::new(Services {
            device,
            keys,
            vault,
            two_factor,
            passkeys,
            spending: Arc::new(
                keyward_core::billing::charges::Spending::new(
                    store.clone(),
                    clock.clone(),
                    settings.clone(),
                )
                .with_rates(keyward_core::billing::charges::SpendRates {
                    per_grant: config.spend_requests_per_minute,
                    per_billing_service: config.billing_service_requests_per_minute,
                }),
            ),
            topups: Arc::new(keyward_core::billing::topup::TopUps::new(
                store.clone(),
                clock.clone(),
                keyward_core::billing::topup::TopUpPolicy::default(),
            )),
            http: keyward_upstream::Http::with_roots(&outbound_roots)
                .context("building the outbound HTTP client")?,
            accounts,
            apps: Arc::new(Apps::new(store.clone(), clock.clone(), settings.clone())),
            registrations: Arc::new(keyward_core::oauth::registration::Registrations::new(
                store.clone(),
                clock.clone(),
                settings.clone(),
            )),
            tokens,
            limits,
            authorizer: Arc::new(Authorizer::new(
                store.clone(),
                clock.clone(),
                lifetimes,
                web.public_url.clone(),
                clients.clone(),
            )),
            clients,
            resources: Arc::new(keyward_core::oauth::resources::Resources::new(
                store.clone(),
                clock,
                web.public_url.clone(),
            )),
            settings,
            store,
            config: Arc::new(web),
        });
        Ok(Self {
            state,
            config,
            locker,
        })
    }

    /// What a serving node needs once per database, made by whichever node comes first: the
    /// first admin and the signing keys. Under the start-up lock, so nodes starting together
    /// take turns, and the later ones find it all made.
    pub async fn bootstrap(&self) -> anyhow::Result<()> {
        let lock = self
            .locker
            .lock()
            .await
            .context("taking the start-up lock")?;
        let made = async {
            self.bootstrap_admin().await?;
            self.ensure_keys().await
        }
        .await;
        lock.release()
            .await
            .context("releasing the start-up lock")?;
        made
    }

    /// Makes sure someone can administer this instance: the configured admin, or else, on a
    /// database with no admin at all, a generated one whose password is printed this once (by
    /// the node that made it). Call it through [`Node::bootstrap`], under the lock.
    pub async fn bootstrap_admin(&self) -> anyhow::Result<()> {
        let accounts = &self.state.accounts;
        if let (Some(name), Some(password)) =
            (&self.config.admin_username, &self.config.admin_password)
        {
            match accounts.ensure_admin(name, password).await? {
                Some(admin) => tracing::info!(user.id = admin.id, "created the configured admin"),
                None => tracing::info!("an admin exists already; none created"),
            }
            return Ok(());
        }
        if self.state.store.count_admins().await? > 0 {
            tracing::info!("an admin exists already; none generated");
            return Ok(());
        }
        let password = keyward_core::secret::random_string(keyward_core::secret::ALPHANUMERIC, 20);
        let username = "admin";
        accounts
            .create_user(username, &password, Role::Root)
            .await
            .with_context(|| {
                format!("creating the first admin '{username}' (set KEYWARD_ADMIN_USERNAME)")
            })?;
        // Straight to the operator's terminal, not through the log pipeline.
        println!(
            "\n  Keyward created the first admin account. This password is shown only once:\n\n    \
             username: {username}\n    password: {password}\n\n  Log in (POST {url}/api/user/login) \
             and change it (PUT {url}/api/user/self).\n",
            url = self.state.config.public_url
        );
        Ok(())
    }

    /// Makes sure there is a signing key for every algorithm.
    pub async fn ensure_keys(&self) -> anyhow::Result<()> {
        self.state
            .keys
            .ensure_keys()
            .await
            .context("preparing signing keys")
    }

    /// Serves on `listener` (plain TCP, or [`crate::tls::TlsListener`]) until `shutdown`
    /// resolves, then finishes in-flight requests.
    pub async fn serve<L>(
        self,
        listener: L,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()>
    where
        L: axum::serve::Listener<Addr = SocketAddr>,
        SocketAddr:
            for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
    {
        let purge = tokio::spawn(purge_loop(self.state.clone()));
        let app = keyward_web::router(self.state);
        let result = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        purge.abort();
        result.context("serving HTTP")
    }
}

/// Deletes expired sessions and stale throttle windows, and dynamic clients nobody ever used,
/// every ten minutes, so storage does not grow without bound.
async fn purge_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        // Counters live as long as their longest window, login's or a rate limit's.
        let limit_window = match state.settings.get().await {
            Ok(settings) => settings.longest_limit_window(),
            Err(_) => keyward_core::settings::MAX_LIMIT_WINDOW_SECS,
        };
        let window = state.accounts.policy().window_secs.max(limit_window);
        match state
            .store
            .purge_expired(state.accounts.now(), window)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired records"),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
        match state.registrations.purge_unused().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(clients = n, "purged unused dynamic clients"),
            Err(e) => tracing::warn!(error = %e, "dynamic client purge failed"),
        }
        if let Err(e) = state.keys.purge().await {
            tracing::warn!(error = %e, "key purge failed");
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
