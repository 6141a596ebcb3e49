//! Keyward's storage on an embedded SQLite file: the zero-configuration default.
//!
//! Every statement runs on rusqlite, synchronously on the calling thread (db.rs): reads on a
//! few read-only connections, writes on the one read-write connection of the process, each
//! write a `BEGIN IMMEDIATE` transaction so that it takes the write lock up front instead of
//! failing with `SQLITE_BUSY` when it upgrades from a read. sqlx only runs the migrations, on a
//! connection of its own, so that databases it migrated before keep their history.

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
mod backup;
mod billing;
mod db;
mod deletion;
mod device;
pub mod dump;
mod federation;
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
#[cfg(test)]
mod tests;

pub use backup::{BackupError, BackupReport, backup};

use async_trait::async_trait;
use db::{Cols, all_rows, execute, first_row};
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewUser, User};
use keyward_core::secret::SecretHash;
use keyward_core::store::cache::Cache;
use keyward_core::store::schema::{Migration, SchemaState};
use keyward_core::store::{MaintenanceStore, StoreError, StoreResult};
use rusqlite::{Connection, Params, params};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection as _, migrate::Migrator};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?1");

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct SqliteStore {
    /// Where `migrate` connects.
    options: SqliteConnectOptions,
    db: Arc<db::Db>,
    /// Bearer tokens' contexts and apps by client_id, between the writes that change them.
    contexts: Arc<Cache<SecretHash, keyward_core::model::AccessContext>>,
    clients: Arc<Cache<String, keyward_core::model::Client>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        if url.contains(":memory:") {
            // Every connection would get a database of its own.
            return Err(backend(
                "an in-memory SQLite database is not supported: give a file (a temporary one \
                 for a throwaway run)",
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let db = Arc::new(db::Db::open(options.get_filename())?);
        Ok(Self {
            options,
            db,
            contexts: Arc::new(Cache::new()),
            clients: Arc::new(Cache::new()),
        })
    }

    /// The migration history against this release's migrations.
    pub async fn schema_state(&self) -> StoreResult<SchemaState> {
        self.db.read(schema_state_on)
    }

    /// Brings the schema up to date on a sqlx connection of its own, closed when done, under the
    /// start-up lock (`startup.rs`), so that nodes starting together take turns. Refuses,
    /// changing nothing, a database a newer release migrated.
    pub async fn migrate(&self) -> StoreResult<()> {
        let lock = self.lock_startup().await?;
        let migrated = self.migrate_locked().await;
        lock.release()?;
        migrated
    }

    async fn migrate_locked(&self) -> StoreResult<()> {
        self.schema_state()
            .await?
            .check_not_newer()
            .map_err(backend)?;
        let mut connection = self.options.connect().await.map_err(backend)?;
        let migrated = MIGRATOR.run(&mut connection).await.map_err(backend);
        connection.close().await.map_err(backend)?;
        migrated
    }

    pub(crate) fn db(&self) -> &db::Db {
        &self.db
    }

    /// The first row of `sql` with `params`, mapped by `map`.
    pub(crate) fn read_one<R>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Cols<'_, '_>) -> rusqlite::Result<R>,
    ) -> StoreResult<Option<R>> {
        self.db.read(|c| first_row(c, sql, params, map))
    }

    /// Every row of `sql` with `params`, mapped by `map`.
    pub(crate) fn read_all<R>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnMut(&Cols<'_, '_>) -> rusqlite::Result<R>,
    ) -> StoreResult<Vec<R>> {
        self.db.read(|c| all_rows(c, sql, params, map))
    }

    /// Runs one statement as a write of its own (`Db::write`); returns the rows it changed.
    pub(crate) async fn write_one(
        &self,
        sql: &str,
        params: impl Params + Send,
    ) -> StoreResult<u64> {
        self.db.write(|tx| execute(tx, sql, params)).await
    }

    /// `write_one` for a statement that changes nothing a cached read returns (`Db::append`).
    pub(crate) async fn append_one(
        &self,
        sql: &str,
        params: impl Params + Send,
    ) -> StoreResult<u64> {
        self.db.append(|tx| execute(tx, sql, params)).await
    }
}

/// The versions in `connection`'s migration history (none before the first migration) against
/// the migrations this release carries.
pub(crate) fn schema_state_on(connection: &Connection) -> StoreResult<SchemaState> {
    let has_history: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let applied = if has_history > 0 {
        let mut statement = connection
            .prepare("SELECT version FROM _sqlx_migrations ORDER BY version")
            .map_err(backend)?;
        statement
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(backend)?
    } else {
        Vec::new()
    };
    Ok(SchemaState {
        applied,
        known: known_migrations(),
    })
}

/// The migrations this release carries, in order.
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

/// Inserts a user row; returns it as stored.
pub(crate) fn insert_user(tx: &Connection, user: &NewUser) -> StoreResult<User> {
    // A deleted account's name is held for a while (`username_holds`), as if still taken.
    let held: Option<i64> = first_row(
        tx,
        "SELECT 1 FROM username_holds WHERE name_lower = ?1 AND until > ?2",
        params![user.username.to_lowercase(), user.created_at],
        |r| r.get(0),
    )?;
    if held.is_some() {
        return Err(StoreError::Conflict(
            keyward_core::store::Conflict::Username,
        ));
    }
    execute(
        tx,
        "INSERT INTO users (uuid, username, username_lower, display_name, email, \
         email_verified, password_hash, role, quota, aff_code, inviter_id, created_at, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![
            user.uuid.to_string(),
            user.username,
            user.username.to_lowercase(),
            user.display_name,
            user.email,
            user.email_verified,
            user.password_hash,
            user.role.as_i64(),
            user.quota,
            user.aff_code,
            user.inviter_id,
            user.created_at
        ],
    )?;
    let id = tx.last_insert_rowid();
    if user.quota != 0 {
        ledger::record(
            tx,
            &keyward_core::billing::ledger::NewEntry::by(
                id,
                keyward_core::billing::ledger::EntryKind::Signup,
                (user.quota, 0),
                None,
                user.created_at,
            ),
        )?;
    }
    first_row(tx, USER_BY_ID, [id], rows::user_from_row)?
        .ok_or_else(|| backend("the inserted user is gone"))
}

pub(crate) fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Backend(e.into())
}

/// All areas: maintenance below, the rest in the sibling modules.
impl keyward_core::store::Store for SqliteStore {}

#[async_trait]
impl MaintenanceStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        // A read from the file, not only a connection that answers.
        self.db().read(|c| {
            first_row(c, "SELECT COUNT(*) FROM sqlite_master", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(drop)
        })
    }

    async fn count_live_sessions(&self, now: UnixTime) -> StoreResult<i64> {
        self.read_one(
            "SELECT COUNT(*) FROM sessions WHERE expires_at > ?1 AND mfa_pending = 0",
            [now],
            |row| row.get(0),
        )
        .map(Option::unwrap_or_default)
    }

    async fn purge_expired(&self, now: UnixTime, throttle_window: i64) -> StoreResult<u64> {
        // A transaction per statement: a write on the token path waits for one delete, not for
        // the whole purge.
        let db = self.db();
        let mut removed = db
            .write(|tx| execute(tx, "DELETE FROM sessions WHERE expires_at <= ?1", [now]))
            .await?;
        removed += db
            .write(|tx| {
                execute(
                    tx,
                    "DELETE FROM throttle WHERE window_start <= ?1 - ?2",
                    [now, throttle_window],
                )
            })
            .await?;
        // Codes stay until they expire, so a replay is still recognised until then; a family
        // goes once its last token has expired.
        for sql in [
            "DELETE FROM auth_codes WHERE expires_at <= ?1",
            "DELETE FROM device_codes WHERE expires_at <= ?1",
            "DELETE FROM client_assertion_jtis WHERE expires_at <= ?1",
            "DELETE FROM webauthn_challenges WHERE expires_at <= ?1",
            "DELETE FROM tokens WHERE expires_at <= ?1",
            "DELETE FROM token_families WHERE created_at <= ?1 - 600 \
             AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.family_id = token_families.id)",
        ] {
            removed += db.write(|tx| execute(tx, sql, [now])).await?;
        }
        Ok(removed)
    }
}
