//! The SQLite connections, on rusqlite, used synchronously on the calling thread.
//!
//! sqlx runs every SQLite connection on a worker thread of its own, so each statement would pay
//! a pool checkout and two thread hand-offs: several times the cost of the statement itself, an
//! indexed lookup or insert in pages already in memory. Here a read runs inline on one of a few
//! read-only connections (in WAL mode a reader never waits for the writer), and a write runs
//! inline on the one read-write connection, under a mutex: SQLite has one writer at a time, and
//! queueing writers on a mutex beats having them sleep in SQLite's busy handler. The closures
//! are synchronous, so no lock is ever held across an `.await`.
//!
//! Nothing is cached: every read sees the committed state, including changes made by other
//! processes (the CLI) on the same file. A write is durable when `write` returns: in WAL mode
//! with `synchronous = NORMAL` the commit is in the log file, which survives the process being
//! killed (not a power cut: that is `synchronous = FULL`).

use crate::backend;
use keyward_core::store::{StoreError, StoreResult};
use rusqlite::types::{FromSql, ValueRef};
use rusqlite::{Connection, OpenFlags, Params, Row, Transaction, TransactionBehavior};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Read connections kept open between calls; more are opened when needed, then dropped.
const MAX_IDLE: usize = 16;
/// Prepared statements kept per connection: every query this crate runs, with room to spare.
const STATEMENT_CACHE: usize = 128;

pub(crate) struct Db {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
}

impl Db {
    /// Opens (creating if missing) the database file at `path` in WAL mode.
    pub(crate) fn open(path: &Path) -> StoreResult<Self> {
        let writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(backend)?;
        // Only another process (the CLI) can hold the write lock while this one waits.
        writer
            .busy_timeout(Duration::from_secs(5))
            .map_err(backend)?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            writer: Mutex::new(writer),
        })
    }

    /// Runs `read` on an idle read-only connection.
    pub(crate) fn read<R>(
        &self,
        read: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match idle {
            Some(connection) => connection,
            None => self.open_reader()?,
        };
        let result = read(&connection);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
        result
    }

    /// Runs `write` in a transaction that takes the write lock up front (`BEGIN IMMEDIATE`, so it
    /// never fails upgrading from a read), committed if it returns `Ok`, rolled back otherwise.
    pub(crate) fn write<R>(
        &self,
        write: impl FnOnce(&Transaction<'_>) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.transaction(write, |_| true)
    }

    /// Like `write`, but `Ok(None)` rolls back too: for a write that finds halfway through that
    /// it must not happen.
    pub(crate) fn write_if_some<R>(
        &self,
        write: impl FnOnce(&Transaction<'_>) -> StoreResult<Option<R>>,
    ) -> StoreResult<Option<R>> {
        self.transaction(write, Option::is_some)
    }

    fn transaction<R>(
        &self,
        write: impl FnOnce(&Transaction<'_>) -> StoreResult<R>,
        keep: impl FnOnce(&R) -> bool,
    ) -> StoreResult<R> {
        // A panic inside `write` dropped its transaction, which rolled it back: the connection
        // is sound, so a poisoned lock is taken over rather than failing every later write.
        let mut connection = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        // On `Err`, dropping `tx` rolls it back.
        let result = write(&tx)?;
        if keep(&result) {
            tx.commit().map_err(backend)?;
        } else {
            tx.rollback().map_err(backend)?;
        }
        Ok(result)
    }

    fn open_reader(&self) -> StoreResult<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        // A WAL reader waits only in rare moments (e.g. a WAL reset); never for long here,
        // since this runs on an async worker thread.
        connection
            .busy_timeout(Duration::from_millis(250))
            .map_err(backend)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }
}

/// A result row whose columns the mappers find by name. rusqlite's `Row::get("name")` reads
/// every column's name from SQLite on each lookup (some 450 name reads to map a bearer token's
/// 30-column row: an eighth of a userinfo request); here the names are read once per row, and
/// a lookup tries the column after the previous one first, since mappers read in SELECT order.
pub(crate) struct Cols<'a, 's> {
    row: &'a Row<'s>,
    names: Vec<&'a str>,
    next: Cell<usize>,
}

/// A column by name, or by position.
pub(crate) trait Column {
    fn position(self, cols: &Cols<'_, '_>) -> rusqlite::Result<usize>;
}

impl Column for usize {
    fn position(self, _: &Cols<'_, '_>) -> rusqlite::Result<usize> {
        Ok(self)
    }
}

impl Column for &str {
    fn position(self, cols: &Cols<'_, '_>) -> rusqlite::Result<usize> {
        cols.index(self)
    }
}

impl<'a, 's> Cols<'a, 's> {
    fn new(row: &'a Row<'s>) -> Self {
        Self {
            row,
            names: row.as_ref().column_names(),
            next: Cell::new(0),
        }
    }

    /// The position of column `name` (ASCII case-insensitive, as SQLite names are).
    pub(crate) fn index(&self, name: &str) -> rusqlite::Result<usize> {
        let count = self.names.len();
        let start = self.next.get();
        (0..count)
            .map(|k| (start + k) % count)
            .find(|&i| self.names[i].eq_ignore_ascii_case(name))
            .inspect(|&i| self.next.set(i + 1))
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))
    }

    pub(crate) fn get<I: Column, T: FromSql>(&self, column: I) -> rusqlite::Result<T> {
        self.row.get(column.position(self)?)
    }

    pub(crate) fn get_ref(&self, index: usize) -> rusqlite::Result<ValueRef<'_>> {
        self.row.get_ref(index)
    }
}

/// The first row of `sql` with `params`, mapped by `map`.
pub(crate) fn first_row<R>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnOnce(&Cols<'_, '_>) -> rusqlite::Result<R>,
) -> StoreResult<Option<R>> {
    let mut statement = connection.prepare_cached(sql).map_err(store_error)?;
    let mut rows = statement.query(params).map_err(store_error)?;
    match rows.next().map_err(store_error)? {
        Some(row) => map(&Cols::new(row)).map(Some).map_err(store_error),
        None => Ok(None),
    }
}

/// Every row of `sql` with `params`, mapped by `map`.
pub(crate) fn all_rows<R>(
    connection: &Connection,
    sql: &str,
    params: impl Params,
    mut map: impl FnMut(&Cols<'_, '_>) -> rusqlite::Result<R>,
) -> StoreResult<Vec<R>> {
    let mut statement = connection.prepare_cached(sql).map_err(store_error)?;
    let mut rows = statement.query(params).map_err(store_error)?;
    let mut all = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        all.push(map(&Cols::new(row)).map_err(store_error)?);
    }
    Ok(all)
}

/// Runs one statement; returns the number of rows it changed.
pub(crate) fn execute(connection: &Connection, sql: &str, params: impl Params) -> StoreResult<u64> {
    let mut statement = connection.prepare_cached(sql).map_err(store_error)?;
    let changed = statement.execute(params).map_err(store_error)?;
    Ok(changed as u64)
}

/// Maps a failed statement to `Conflict` when a uniqueness rule refused it, to `Backend`
/// otherwise.
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    match unique_violation(&e) {
        Some(message) => StoreError::Conflict {
            what: conflict_subject(message),
        },
        None => backend(e),
    }
}

/// SQLite's message when a uniqueness rule refused a statement. It names the columns
/// (`UNIQUE constraint failed: users.username_lower`).
pub(crate) fn unique_violation(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(failure, message)
            if matches!(
                failure.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            Some(message.as_deref().unwrap_or_default())
        }
        _ => None,
    }
}

/// What a uniqueness rule protected, from the columns it names.
fn conflict_subject(message: &str) -> &'static str {
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
