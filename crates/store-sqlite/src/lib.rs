//! Keyward's storage on an embedded SQLite file: the zero-configuration default.
//!
//! SQLite has one writer at a time. Every write here is a single statement, or a transaction
//! opened with `BEGIN IMMEDIATE` so that it takes the write lock up front instead of failing
//! with `SQLITE_BUSY` when it upgrades from a read.

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
mod db;
mod federation;
mod keys;
mod oauth;

use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewUser, Role, Session, User, UserId, UserStatus};
use keyward_core::secret::SecretHash;
use keyward_core::store::{MaintenanceStore, StoreError, StoreResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, migrate::Migrator};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct SqliteStore {
    /// Reads, in parallel.
    pool: SqlitePool,
    /// Every write, through one connection: SQLite has one writer at a time, and queueing
    /// writers here (asynchronously) beats having them sleep in SQLite's busy handler.
    writer: SqlitePool,
    /// The hot reads and writes, inline on rusqlite (db.rs).
    db: std::sync::Arc<db::Db>,
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
        let db = std::sync::Arc::new(db::Db::open(options.get_filename())?);
        let open = |max: u32| {
            SqlitePoolOptions::new()
                .max_connections(max)
                .connect_with(options.clone())
        };
        let writer = open(1).await.map_err(backend)?;
        let pool = open(8).await.map_err(backend)?;
        Ok(Self { pool, writer, db })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.writer).await.map_err(backend)
    }
}

/// Inserts a user row (on a pool or inside a transaction); returns its id.
pub(crate) async fn insert_user<'e, E>(executor: E, user: &NewUser) -> StoreResult<UserId>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query_scalar(
        "INSERT INTO users (uuid, username, username_lower, display_name, email, \
         email_verified, password_hash, role, quota, aff_code, inviter_id, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
         RETURNING id",
    )
    .bind(user.uuid.to_string())
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
    .fetch_one(executor)
    .await
    .map_err(write_error)
}

/// Column access shared by sqlx rows and rusqlite rows (fast.rs), so each mapper is written once.
pub(crate) trait Columns {
    fn col<T>(&self, name: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: rusqlite::types::FromSql;
}

impl Columns for SqliteRow {
    fn col<T>(&self, name: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: rusqlite::types::FromSql,
    {
        self.try_get(name)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn col<T>(&self, name: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: rusqlite::types::FromSql,
    {
        self.get(name).map_err(|e| sqlx::Error::ColumnDecode {
            index: name.to_owned(),
            source: e.into(),
        })
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Maps a failed write to `Conflict` when a uniqueness rule refused it.
pub(crate) fn write_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict {
            what: conflict_subject(db.message()),
        };
    }
    backend(e)
}

/// What a uniqueness rule protected, from SQLite's message, which names the column
/// (`UNIQUE constraint failed: users.username_lower`).
pub(crate) fn conflict_subject(message: &str) -> &'static str {
    if message.contains("username") {
        "username"
    } else if message.contains("aff_code") {
        "aff_code"
    } else if message.contains("email") {
        "email"
    } else if message.contains("uuid") {
        "uuid"
    } else {
        "record"
    }
}

pub(crate) fn user_from_row(row: &impl Columns) -> Result<User, sqlx::Error> {
    let decode = |column: &str, reason: String| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: reason.into(),
    };
    let uuid: String = row.col("uuid")?;
    let role: i64 = row.col("role")?;
    let status: i64 = row.col("status")?;
    Ok(User {
        id: row.col("id")?,
        uuid: uuid::Uuid::parse_str(&uuid).map_err(|e| decode("uuid", e.to_string()))?,
        username: row.col("username")?,
        display_name: row.col("display_name")?,
        email: row.col("email")?,
        email_verified: row.col("email_verified")?,
        password_hash: row.col("password_hash")?,
        avatar_url: row.col("avatar_url")?,
        level: row.col("level")?,
        role: Role::from_i64(role).ok_or_else(|| decode("role", role.to_string()))?,
        status: UserStatus::from_i64(status).ok_or_else(|| decode("status", status.to_string()))?,
        quota: row.col("quota")?,
        used_quota: row.col("used_quota")?,
        aff_code: row.col("aff_code")?,
        inviter_id: row.col("inviter_id")?,
        created_at: row.col("created_at")?,
        last_login_at: row.col("last_login_at")?,
        totp_enabled: row.col("totp_enabled")?,
    })
}

pub(crate) fn session_from_row(row: &impl Columns) -> Result<Session, sqlx::Error> {
    let hash: Vec<u8> = row.col("id_hash")?;
    Ok(Session {
        id_hash: SecretHash::from_slice(&hash).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "id_hash".into(),
            source: "not 32 bytes".into(),
        })?,
        user_id: row.col("user_id")?,
        created_at: row.col("created_at")?,
        last_seen_at: row.col("last_seen_at")?,
        expires_at: row.col("expires_at")?,
        ip: row.col("ip")?,
        user_agent: row.col("user_agent")?,
        mfa_pending: row.col::<i64>("mfa_pending")? != 0,
    })
}

impl SqliteStore {
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub(crate) fn db(&self) -> &db::Db {
        &self.db
    }

    pub(crate) async fn one_user(&self, sql: &'static str, key: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from_row).transpose().map_err(backend)
    }

    /// Runs an `UPDATE users ... WHERE id = $1` whose other parameters are bound by `bind`;
    /// returns whether a row changed.
    pub(crate) async fn update_user(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> StoreResult<bool> {
        let done = query.execute(&self.writer).await.map_err(write_error)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl MaintenanceStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn purge_expired(&self, now: UnixTime, throttle_window: i64) -> StoreResult<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.writer())
            .await
            .map_err(backend)?
            .rows_affected();
        let windows = sqlx::query("DELETE FROM throttle WHERE window_start <= $1 - $2")
            .bind(now)
            .bind(throttle_window)
            .execute(self.writer())
            .await
            .map_err(backend)?
            .rows_affected();
        let mut removed = sessions + windows;
        // Codes stay until they expire, so a replay is still recognised until then; a family
        // goes once its last token has expired.
        for sql in [
            "DELETE FROM auth_codes WHERE expires_at <= $1",
            "DELETE FROM tokens WHERE expires_at <= $1",
            "DELETE FROM token_families WHERE created_at <= $1 - 600 \
             AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.family_id = token_families.id)",
        ] {
            removed += sqlx::query(sql)
                .bind(now)
                .execute(&self.writer)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        Ok(removed)
    }
}
