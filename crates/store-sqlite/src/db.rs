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
//! Writes are committed in groups (`Db::write`), and the log is copied back into the database
//! file by a thread of its own, off the request path (`checkpointer`). Reads see the committed
//! state, including changes made by other processes (the CLI) on the same file; the two reads
//! kept in memory (`keyward_core::store::cache`) are tied to `Db::generation`.
//!
//! A write is durable when `write` returns: in WAL mode with `synchronous = NORMAL` the commit
//! is in the log file, which survives the process being killed (not a power cut: that is
//! `synchronous = FULL`).

use crate::backend;
use keyward_core::store::{Conflict, StoreError, StoreResult};
use rusqlite::types::{FromSql, ValueRef};
use rusqlite::{Connection, OpenFlags, Params, Row};
use std::cell::Cell;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

/// Read connections kept open between calls; more are opened when needed, then dropped.
const MAX_IDLE: usize = 16;
/// Prepared statements kept per connection: every query this crate runs, with room to spare.
const STATEMENT_CACHE: usize = 128;
/// How often the checkpointer copies the log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// Log pages after which a commit checkpoints by itself, should the checkpointer fall behind.
/// Far above what accumulates between its rounds (at 8,000, refresh grants at half the
/// benchmark's rate got there first, every 270 ms).
const BACKSTOP_CHECKPOINT_PAGES: u32 = 32_000;
/// The log file is cut back to this size after a checkpoint has emptied it.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;
/// Failed commits remembered for the requests still waiting on them.
const FAILED_BATCHES_KEPT: usize = 16;

pub(crate) struct Db {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    writes: Arc<Writes>,
    /// Ends the checkpointer thread when the store is dropped.
    _checkpointer: Option<std::sync::mpsc::Sender<()>>,
}

/// The write side, shared with the checkpointer: it commits the open batch itself when it needs
/// the log to stand still.
struct Writes {
    writer: Mutex<Writer>,
    /// Moves on with every commit that may change what a cached read returns (`keyward_core::store::cache`).
    generation: AtomicU64,
}

/// The read-write connection and the batch of writes its open transaction holds.
struct Writer {
    connection: Connection,
    /// Writes in the open transaction, not yet committed; 0 when no transaction is open.
    pending: usize,
    /// The batch that writes join now; each commit moves on to the next.
    batch: u64,
    /// Recent batches whose commit failed, with the reason.
    failed: VecDeque<(u64, String)>,
    /// Whether the open batch holds a write that may change a cached read.
    invalidates: bool,
    /// SQLite's `data_version` as last seen: it changes when another process commits.
    data_version: i64,
}

impl Db {
    /// Opens (creating if missing) the database file at `path` in WAL mode.
    pub(crate) fn open(path: &Path) -> StoreResult<Self> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        // Checkpoints run on a thread of their own (`checkpointer`), not inside a commit on the
        // request path; the automatic one stays as a backstop for when that thread falls behind.
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
                 PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES}; \
                 PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
            ))
            .map_err(backend)?;
        // Only another process (the CLI) can hold the write lock while this one waits.
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(backend)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let writes = Arc::new(Writes {
            writer: Mutex::new(Writer {
                connection,
                pending: 0,
                batch: 0,
                failed: VecDeque::new(),
                invalidates: false,
                data_version: 0,
            }),
            generation: AtomicU64::new(0),
        });
        Ok(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            _checkpointer: checkpointer(path, Arc::downgrade(&writes)),
            writes,
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

    /// Runs `write` atomically (all of its statements or none) and returns once it is committed.
    ///
    /// Group commit: `write` runs at once, inline, inside a savepoint of the writer's open
    /// transaction (`BEGIN IMMEDIATE`, so it never fails upgrading from a read); then the task
    /// yields, so that the other requests ready to run can add their writes, and the first of
    /// them to resume commits the whole batch. One commit (its log writes, its locks) serves
    /// many writes, and pages they share (the last leaf of a table, of an index) are written
    /// once. Nothing is answered before its batch is committed.
    pub(crate) async fn write<R>(
        &self,
        write: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.batched(write, |_| true, true).await
    }

    /// `write` for writes that only add rows (tokens, codes, sessions, counters, consents) or
    /// mark a code or refresh token used: nothing a cached read returns (`keyward_core::store::cache`), so the
    /// cached reads stay valid.
    pub(crate) async fn append<R>(
        &self,
        write: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.batched(write, |_| true, false).await
    }

    async fn batched<R>(
        &self,
        write: impl FnOnce(&Connection) -> StoreResult<R>,
        keep: impl FnOnce(&R) -> bool,
        invalidates: bool,
    ) -> StoreResult<R> {
        let (result, batch) = self.run(write, keep, invalidates)?;
        let Some(batch) = batch else {
            return result;
        };
        // Whatever happens to this request from here on, its batch gets committed.
        let commit = Commit {
            db: self,
            batch: Some(batch),
        };
        tokio::task::yield_now().await;
        let committed = commit.now();
        match result {
            // A write that was kept stands or falls with its batch; one that was undone only
            // waited so that what it saw is committed before it answers.
            Ok(value) if committed.is_err() => committed.map(|()| value),
            other => other,
        }
    }

    /// Runs `write` in a savepoint of the open transaction (opening one if needed). Returns its
    /// result and the batch to wait for, if any writes are pending.
    fn run<R>(
        &self,
        write: impl FnOnce(&Connection) -> StoreResult<R>,
        keep: impl FnOnce(&R) -> bool,
        invalidates: bool,
    ) -> StoreResult<(StoreResult<R>, Option<u64>)> {
        let mut writer = self.writes.lock();
        if writer.pending == 0 && writer.connection.is_autocommit() {
            run(&writer.connection, "BEGIN IMMEDIATE").map_err(backend)?;
        }
        let step = (|| {
            let savepoint = Savepoint::start(&writer.connection)?;
            let result = write(&writer.connection);
            let kept = matches!(&result, Ok(value) if keep(value));
            if kept {
                savepoint.release()?;
            } else {
                savepoint.undo()?;
            }
            Ok((result, kept))
        })();
        if let Ok((_, true)) = &step {
            writer.pending += 1;
            writer.invalidates |= invalidates;
        }
        if writer.pending == 0 {
            // Nothing of anyone's to commit (this write was undone, or its savepoint failed):
            // end the transaction, so the write lock is not held.
            run(&writer.connection, "ROLLBACK").map_err(backend)?;
            return step.map(|(result, _)| (result, None));
        }
        let (result, _) = step?;
        Ok((result, Some(writer.batch)))
    }

    /// The generation cached reads are tagged with (`keyward_core::store::cache`), after asking SQLite whether
    /// another process (the CLI, another node on the same file) committed since the last call;
    /// if so, the generation moves on. The writer's `data_version` changes only with other
    /// connections' commits, and reading it costs a fraction of the query it saves.
    pub(crate) fn generation(&self) -> u64 {
        let generation = &self.writes.generation;
        let mut writer = self.writes.lock();
        let version = writer
            .connection
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut pragma| pragma.query_row([], |row| row.get::<_, i64>(0)));
        // Unknown counts as changed.
        if version.as_ref().ok() != Some(&writer.data_version) {
            writer.data_version = version.unwrap_or_default();
            generation.fetch_add(1, Ordering::AcqRel);
        }
        generation.load(Ordering::Acquire)
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

impl Writes {
    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic inside a write undid its savepoint (`Savepoint` below): the connection is
        // sound, so a poisoned lock is taken over rather than failing every later write.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `batch` if it is still open; otherwise tells how its commit went.
    fn commit(&self, batch: u64) -> StoreResult<()> {
        let mut writer = self.lock();
        if writer.batch != batch {
            return match writer.failed.iter().find(|(b, _)| *b == batch) {
                Some((_, reason)) => Err(backend(reason.clone())),
                None => Ok(()),
            };
        }
        self.commit_open(&mut writer)
    }

    /// Commits the open batch, if any; its requests find it committed when they resume.
    fn commit_open(&self, writer: &mut Writer) -> StoreResult<()> {
        if writer.pending == 0 {
            return Ok(());
        }
        let batch = writer.batch;
        metrics::histogram!("keyward_sqlite_writes_per_commit").record(writer.pending as f64);
        writer.batch += 1;
        writer.pending = 0;
        let outcome = run(&writer.connection, "COMMIT");
        // After the commit, and before anyone in the batch answers: a read cached from here on
        // sees the new state, and one cached before is no longer served.
        if std::mem::take(&mut writer.invalidates) {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        if let Err(e) = outcome {
            if !writer.connection.is_autocommit() {
                let _ = run(&writer.connection, "ROLLBACK");
            }
            tracing::error!(error = %e, "SQLite commit failed; the batch's writes are undone");
            if writer.failed.len() == FAILED_BATCHES_KEPT {
                writer.failed.pop_front();
            }
            writer.failed.push_back((batch, e.to_string()));
            return Err(backend(e));
        }
        Ok(())
    }
}

/// Commits its batch when dropped, unless `now` did: a request cancelled while it waited (the
/// client went away) still has its write committed, and the lock is not held forever.
struct Commit<'a> {
    db: &'a Db,
    batch: Option<u64>,
}

impl Commit<'_> {
    fn now(mut self) -> StoreResult<()> {
        match self.batch.take() {
            Some(batch) => self.db.writes.commit(batch),
            None => Ok(()),
        }
    }
}

impl Drop for Commit<'_> {
    fn drop(&mut self) {
        if let Some(batch) = self.batch.take() {
            let _ = self.db.writes.commit(batch);
        }
    }
}

/// One write's savepoint in the batch's transaction; undone if dropped unreleased (a panic).
struct Savepoint<'c> {
    connection: &'c Connection,
    open: bool,
}

impl<'c> Savepoint<'c> {
    fn start(connection: &'c Connection) -> StoreResult<Self> {
        run(connection, "SAVEPOINT write").map_err(backend)?;
        Ok(Self {
            connection,
            open: true,
        })
    }

    fn release(mut self) -> StoreResult<()> {
        self.open = false;
        run(self.connection, "RELEASE write").map_err(backend)
    }

    fn undo(mut self) -> StoreResult<()> {
        self.open = false;
        run(self.connection, "ROLLBACK TO write")
            .and_then(|()| run(self.connection, "RELEASE write"))
            .map_err(backend)
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = run(self.connection, "ROLLBACK TO write")
                .and_then(|()| run(self.connection, "RELEASE write"));
        }
    }
}

/// Runs a statement without parameters, prepared once per connection (`execute_batch` would
/// parse it again on every call).
fn run(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(drop)
}

/// Copies the log back into the database file every `CHECKPOINT_EVERY`, on a thread and a
/// connection of its own, so that the log starts again from its beginning instead of growing.
///
/// SQLite starts the log again (at the next commit) only after a checkpoint has copied every
/// frame and synced the database file. A `PASSIVE` checkpoint overtaken by new commits copies
/// what it saw but syncs nothing, so under steady writes it never gets there: the log grew
/// until a commit ran the backstop checkpoint itself, two fsyncs of tens of milliseconds on a
/// request's thread every few hundred milliseconds. So each round (`checkpoint`) copies and
/// flushes with writes going on, then holds them off for the few frames left.
fn checkpointer(path: &Path, writes: Weak<Writes>) -> Option<std::sync::mpsc::Sender<()>> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    let log = log_path(path);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut seen = None;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                let Some(writes) = writes.upgrade() else {
                    break;
                };
                if let Err(e) = checkpoint(&connection, &log, &writes, &mut seen) {
                    tracing::warn!(error = %e, "SQLite checkpoint failed");
                }
            }
        })
        .ok()?;
    Some(stop)
}

/// One round of the checkpointer. `seen` is SQLite's `data_version` at the last round's start.
fn checkpoint(
    connection: &Connection,
    log: &Path,
    writes: &Writes,
    seen: &mut Option<i64>,
) -> StoreResult<()> {
    // Nothing committed since the last round began: nothing to copy, and no reason to flush the
    // file system or to hold writes off.
    let version = connection
        .query_row("PRAGMA data_version", [], |row| row.get(0))
        .map_err(backend)?;
    if seen.replace(version) == Some(version) {
        return Ok(());
    }
    // The bulk, with writes going on: the frames copied, then everything flushed to the disk,
    // twice (the second pass has only what came during the first), so the syncs that follow
    // under the lock have little left to write.
    for _ in 0..2 {
        copy_log(connection)?;
        flush(log).map_err(backend)?;
    }
    // The rest with the log standing still: the open batch is committed first (its requests
    // find it so when they resume), then nothing is appended until the copy has reached the
    // log's end and the database file is synced.
    let mut writer = writes.lock();
    writes.commit_open(&mut writer)?;
    copy_log(connection)
}

/// A `PASSIVE` checkpoint: copies what it can of the log, waiting for no reader or writer.
fn copy_log(connection: &Connection) -> StoreResult<()> {
    connection
        .execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
        .map_err(backend)
}

/// The log file SQLite keeps beside the database file.
pub(crate) fn log_path(path: &Path) -> PathBuf {
    let mut log = path.as_os_str().to_owned();
    log.push("-wal");
    PathBuf::from(log)
}

/// Writes the log and the pages copied from it to the disk. The database file is not opened
/// here: closing a handle of one's own on it would drop the process's POSIX locks on it,
/// SQLite's included; so on Linux the log's file system is synced (`syncfs`), which covers
/// both; elsewhere only the log.
fn flush(log: &Path) -> std::io::Result<()> {
    let file = match std::fs::File::open(log) {
        Ok(file) => file,
        // No log yet: nothing written since the database was opened.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    #[cfg(target_os = "linux")]
    return rustix::fs::syncfs(&file).map_err(std::io::Error::from);
    #[cfg(not(target_os = "linux"))]
    return file.sync_data();
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

/// Maps a failed statement to `Conflict` when a uniqueness rule refused it, to `Backend` (with
/// SQLite's error as the source) otherwise.
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    match unique_violation(&e).and_then(conflict_of) {
        Some(conflict) => StoreError::Conflict(conflict),
        None => backend(e),
    }
}

/// SQLite's message when a uniqueness rule refused a statement.
fn unique_violation(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(failure, message)
            if matches!(
                failure.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            message.as_deref()
        }
        _ => None,
    }
}

/// The rule behind `UNIQUE constraint failed: <table>.<column>, …`: SQLite names the index's
/// columns, not the index (the PostgreSQL twin is `write_error`'s constraint names).
fn conflict_of(message: &str) -> Option<Conflict> {
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    Some(match columns {
        "users.username_lower" => Conflict::Username,
        "users.email" => Conflict::Email,
        "users.aff_code" => Conflict::AffCode,
        "users.uuid" => Conflict::Uuid,
        "identities.provider, identities.subject" => Conflict::Identity,
        "identities.user_id, identities.provider" => Conflict::IdentityProvider,
        "clients.client_id" => Conflict::ClientId,
        "resources.identifier" => Conflict::ResourceIdentifier,
        "signing_keys.kid" => Conflict::SigningKey,
        "passkeys.credential_id" => Conflict::PasskeyCredential,
        "sessions.id_hash"
        | "webauthn_challenges.id_hash"
        | "passkey_handles.handle"
        | "auth_codes.code_hash"
        | "device_codes.device_code_hash"
        | "device_codes.user_code_hash"
        | "tokens.token_hash"
        | "upstream_states.state_hash"
        | "developer_tokens.token_hash"
        | "topup_codes.code_hash" => Conflict::Secret,
        _ => return None,
    })
}
