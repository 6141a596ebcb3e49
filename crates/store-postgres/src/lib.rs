//! Keyward's storage on PostgreSQL: the backend for several nodes sharing one database. Every
//! piece of state a request needs (sessions, throttle counters, settings, tokens) lives here, so
//! any node can answer any request. Transactions run at READ COMMITTED; every contended write is
//! a single conditional statement whose row lock decides races (e.g. code redemption).
//!
//! A request's cost here is mostly its round trips to the server, so the hot writes are one
//! statement each (grants.rs), a pooled connection is not pinged before each use, and apps by
//! client_id, signing keys and failure counters are kept in memory between the changes every
//! node is notified of (changes.rs).

/// The user columns every query that returns a user selects, from a table aliased `u`.
macro_rules! user_columns {
    () => {
        "u.id, u.uuid, u.username, u.display_name, u.email, u.email_verified, u.password_hash, \
         u.avatar_url, u.level, u.role, u.status, u.quota, u.used_quota, u.aff_code, \
         u.inviter_id, u.created_at, u.last_login_at, u.totp_enabled"
    };
}

mod accounts;
mod audit;
mod billing;
mod changes;
mod deletion;
mod device;
pub mod dump;
mod federation;
mod grants;
mod keys;
mod ledger;
mod lifecycle;
mod oauth;
mod passkeys;
mod resources;
mod rows;
mod spending;
mod startup;
pub use startup::StartupLock;

use async_trait::async_trait;
use changes::Table;
use keyward_core::clock::UnixTime;
use keyward_core::model::Client;
use keyward_core::model::{NewUser, UserId};
use keyward_core::store::cache::Cache;
use keyward_core::store::schema::{Migration, SchemaState};
use keyward_core::store::{Conflict, MaintenanceStore, StoreError, StoreResult};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgExecutor, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection as _, Postgres, Transaction, migrate::Migrator};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Prepared statements kept per connection: every query this crate runs, with room to spare
/// (sqlx's default of 100 would evict and prepare again).
const STATEMENT_CACHE: usize = 512;
/// A pooled connection idle for longer is pinged before use; one in steady use is not (a ping is
/// a round trip, as much as the query it would precede).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Apps by client_id, between the changes `changes` is notified of.
    clients: Arc<Cache<String, Client>>,
    /// Failure counters as last read (`count`, `window_start`; `None`: no row), likewise.
    throttle: Arc<Cache<String, Option<(i64, UnixTime)>>>,
    changes: Arc<changes::Changes>,
    _listener: Arc<AbortOnDrop>,
}

/// Stops the change listener when the last clone of the store goes.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://...`) with a pool of `max_connections`, and starts
    /// listening for other nodes' changes.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(backend)?
            .application_name("keyward")
            .statement_cache_capacity(STATEMENT_CACHE);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IF_IDLE_FOR {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        let changes = Arc::new(changes::Changes::default());
        let listener = changes::listen(options, changes.clone());
        Ok(Self {
            pool,
            clients: Arc::new(Cache::new()),
            throttle: Arc::new(Cache::new()),
            changes,
            _listener: Arc::new(AbortOnDrop(listener)),
        })
    }

    /// The migration history against this release's migrations.
    pub async fn schema_state(&self) -> StoreResult<SchemaState> {
        let mut connection = self.pool.acquire().await.map_err(backend)?;
        schema_state_on(&mut connection).await
    }

    /// Runs pending migrations under the start-up lock (`startup.rs`), on its connection, so
    /// that nodes starting together take turns. Refuses, changing nothing, a database a newer
    /// release migrated.
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut lock = self.lock_startup().await?;
        let migrated = migrate_on(&mut lock.connection).await;
        lock.release().await?;
        migrated
    }
}

async fn migrate_on(connection: &mut sqlx::PgConnection) -> StoreResult<()> {
    schema_state_on(connection)
        .await?
        .check_not_newer()
        .map_err(backend)?;
    MIGRATOR.run(connection).await.map_err(backend)
}

/// The versions in the migration history (none before the first migration) against the
/// migrations this release carries.
pub(crate) async fn schema_state_on(
    connection: &mut sqlx::PgConnection,
) -> StoreResult<SchemaState> {
    let has_history: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *connection)
            .await
            .map_err(backend)?;
    let applied = if has_history {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *connection)
            .await
            .map_err(backend)?
    } else {
        Vec::new()
    };
    Ok(SchemaState {
        applied,
        known: known_migrations(),
    })
}

/// The migrations this release carries, in order (PostgreSQL has 0015, which SQLite does not).
pub fn known_migrations() -> Vec<Migration> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| Migration {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect()
}

/// A statement with its parameters bound, ready to run on the pool or in a transaction.
pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Runs `query`; returns the number of rows it changed.
pub(crate) async fn execute<'c>(on: impl PgExecutor<'c>, query: PgQuery<'_>) -> StoreResult<u64> {
    let done = query.execute(on).await.map_err(store_error)?;
    Ok(done.rows_affected())
}

/// The first row `query` returns, mapped by `map`; `None` when it returns none.
pub(crate) async fn fetch_optional<'c, T>(
    on: impl PgExecutor<'c>,
    query: PgQuery<'_>,
    map: impl FnOnce(&PgRow) -> Result<T, sqlx::Error>,
) -> StoreResult<Option<T>> {
    let row = query.fetch_optional(on).await.map_err(store_error)?;
    row.as_ref().map(map).transpose().map_err(backend)
}

/// Every row `query` returns, each mapped by `map`.
pub(crate) async fn fetch_all<'c, T>(
    on: impl PgExecutor<'c>,
    query: PgQuery<'_>,
    map: impl FnMut(&PgRow) -> Result<T, sqlx::Error>,
) -> StoreResult<Vec<T>> {
    let rows = query.fetch_all(on).await.map_err(store_error)?;
    rows.iter()
        .map(map)
        .collect::<Result<_, _>>()
        .map_err(backend)
}

/// Inserts a user row (on the pool or inside a transaction); returns its id.
pub(crate) async fn insert_user<'c>(
    on: impl PgExecutor<'c>,
    user: &NewUser,
) -> StoreResult<UserId> {
    // A deleted account's name is held for a while (`username_holds`), as if still taken.
    // One statement with the new-user quota's ledger entry, so that it needs no transaction.
    let id: Option<UserId> = sqlx::query_scalar(
        "WITH created AS (INSERT INTO users (uuid, username, username_lower, display_name, email, \
         email_verified, password_hash, role, quota, aff_code, inviter_id, created_at, \
         updated_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12 \
         WHERE NOT EXISTS (SELECT 1 FROM username_holds WHERE name_lower = $3 AND until > $12) \
         RETURNING id, quota), \
         opened AS (INSERT INTO ledger (user_id, kind, quota_delta, quota_after, used_after, \
         created_at) SELECT id, 'signup', quota, quota, 0, $12 FROM created WHERE quota <> 0) \
         SELECT id FROM created",
    )
    .bind(user.uuid)
    .bind(&user.username)
    .bind(user.username.to_lowercase())
    .bind(&user.display_name)
    .bind(&user.email)
    .bind(user.email_verified)
    .bind(&user.password_hash)
    .bind(user.role.as_i64())
    .bind(user.quota)
    .bind(&user.aff_code)
    .bind(user.inviter_id)
    .bind(user.created_at)
    .fetch_optional(on)
    .await
    .map_err(store_error)?;
    id.ok_or(StoreError::Conflict(Conflict::Username))
}

pub(crate) fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Backend(e.into())
}

/// Maps a failed statement to `Conflict` when a uniqueness rule refused it, by the constraint's
/// name, to `Backend` (with sqlx's error as the source) otherwise.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
        && let Some(conflict) = db.constraint().and_then(conflict_of)
    {
        return StoreError::Conflict(conflict);
    }
    backend(e)
}

/// The rule behind a unique constraint or index, by its name in the migrations (the SQLite twin
/// reads the column list instead).
fn conflict_of(constraint: &str) -> Option<Conflict> {
    Some(match constraint {
        "users_username_lower" => Conflict::Username,
        "users_verified_email" => Conflict::Email,
        "users_aff_code" => Conflict::AffCode,
        "users_uuid_key" => Conflict::Uuid,
        "identities_pkey" => Conflict::Identity,
        "identities_user_provider" => Conflict::IdentityProvider,
        "clients_client_id_key" => Conflict::ClientId,
        "resources_identifier_key" => Conflict::ResourceIdentifier,
        "signing_keys_pkey" => Conflict::SigningKey,
        "passkeys_credential_id_key" => Conflict::PasskeyCredential,
        "sessions_pkey"
        | "webauthn_challenges_pkey"
        | "passkey_handles_handle_key"
        | "auth_codes_pkey"
        | "device_codes_pkey"
        | "device_codes_user_code_hash_key"
        | "tokens_pkey"
        | "upstream_states_pkey"
        | "developer_tokens_pkey"
        | "topup_codes_code_hash_key" => Conflict::Secret,
        _ => return None,
    })
}

impl PostgresStore {
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `query` on the pool; returns whether it changed a row.
    pub(crate) async fn changed(&self, query: PgQuery<'_>) -> StoreResult<bool> {
        Ok(execute(self.pool(), query).await? > 0)
    }

    /// `changed` for a statement that changes apps: the cached ones are dropped once it commits.
    pub(crate) async fn clients_changed(&self, query: PgQuery<'_>) -> StoreResult<bool> {
        let changed = self.changed(query).await;
        self.changes.made_here(Table::Clients);
        changed
    }

    /// Runs `query` on the pool, for its effect alone.
    pub(crate) async fn run(&self, query: PgQuery<'_>) -> StoreResult<()> {
        execute(self.pool(), query).await.map(drop)
    }

    /// A transaction at READ COMMITTED: contended rows are guarded by conditional updates or
    /// row locks, not by isolation.
    pub(crate) async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(backend)
    }
}

/// All areas: maintenance below, the rest in the sibling modules.
impl keyward_core::store::Store for PostgresStore {
    fn settings_generation(&self) -> Option<u64> {
        self.changes.generation(changes::Table::Settings)
    }
}

#[async_trait]
impl MaintenanceStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        execute(&self.pool, sqlx::query("SELECT 1")).await.map(drop)
    }

    async fn count_live_sessions(&self, now: UnixTime) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND mfa_pending = 0",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)
    }

    async fn purge_expired(&self, now: UnixTime, throttle_window: i64) -> StoreResult<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now);
        let windows = sqlx::query("DELETE FROM throttle WHERE window_start <= $1 - $2")
            .bind(now)
            .bind(throttle_window);
        let mut removed = execute(&self.pool, sessions).await?;
        removed += execute(&self.pool, windows).await?;
        self.changes.made_here(Table::Throttle);
        // Codes stay until they expire, so a replay is still recognised until then; a family
        // goes once its last token has expired.
        for sql in [
            "DELETE FROM auth_codes WHERE expires_at <= $1",
            "DELETE FROM device_codes WHERE expires_at <= $1",
            "DELETE FROM client_assertion_jtis WHERE expires_at <= $1",
            "DELETE FROM webauthn_challenges WHERE expires_at <= $1",
            "DELETE FROM tokens WHERE expires_at <= $1",
            "DELETE FROM token_families WHERE created_at <= $1 - 600 \
             AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.family_id = token_families.id)",
        ] {
            removed += execute(&self.pool, sqlx::query(sql).bind(now)).await?;
        }
        Ok(removed)
    }
}
