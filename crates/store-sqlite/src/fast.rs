//! The hottest reads — a bearer token's context, a client by its id — on rusqlite,
//! synchronously on the calling thread.
//!
//! sqlx runs every SQLite connection on a worker thread of its own, so each query pays a pool
//! checkout and two thread hand-offs: several times the cost of the query itself, an indexed
//! lookup in pages already in memory. In WAL mode a reader never waits for the writer, so running
//! these few reads inline is cheaper than the hand-off. Nothing is cached: every call reads the
//! committed state, including changes made by other processes (the CLI) on the same file.

use crate::backend;
use keyward_core::store::StoreResult;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Connections kept open between calls; more are opened when needed, then dropped.
const MAX_IDLE: usize = 16;

pub(crate) struct FastReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl FastReads {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle read-only connection.
    pub(crate) fn read<R>(
        &self,
        read: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = read(&connection);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
        result
    }

    fn open(&self) -> StoreResult<Connection> {
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
        Ok(connection)
    }
}

/// The first row of `sql` with `params`, mapped by `map`.
pub(crate) fn first_row<R>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnOnce(&rusqlite::Row<'_>) -> Result<R, sqlx::Error>,
) -> StoreResult<Option<R>> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => map(row).map(Some).map_err(backend),
        None => Ok(None),
    }
}
