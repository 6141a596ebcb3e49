//! Moving a node's data between databases (`keyward migrate-data`): every table, every row,
//! between SQLite and PostgreSQL in either direction.
//!
//! Nothing here is written per table. Each backend describes its tables as it finds them in its
//! schema (columns with their kinds, primary key, the tables its foreign keys point at) and reads
//! and writes rows of neutral [`Value`]s ([`DumpRead`], [`DumpWrite`], in the store crates'
//! `dump.rs`). [`copy::copy`] checks that both sides have the same tables and columns, copies
//! parents before children, converts each value to the kind the target column holds (refusing,
//! by table, column and row, a value that does not convert exactly), and verifies a row count
//! and a checksum per table by reading the target back before it commits.

pub mod checksum;
pub mod convert;
pub mod copy;
pub mod order;

use crate::store::StoreResult;
use crate::store::schema::SchemaState;
use async_trait::async_trait;

/// What a column holds, as its backend declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Text,
    Bytes,
    Bool,
    Uuid,
}

/// One value as a backend read it: SQLite's storage classes plus PostgreSQL's booleans and
/// UUIDs.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    /// Only SQLite has these, e.g. a quota an old release stored as `10.0`.
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Uuid(uuid::Uuid),
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Integer => "INTEGER",
            Self::Text => "TEXT",
            Self::Bytes => "BLOB",
            Self::Bool => "BOOLEAN",
            Self::Uuid => "UUID",
        })
    }
}

pub type Row = Vec<Value>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// A table as a backend's schema describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// In the backend's column order.
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order: rows are read in this order.
    pub key: Vec<String>,
    /// The tables this one's foreign keys reference (itself included, if it does).
    pub parents: Vec<String>,
    /// The column whose values the database generates (an identity or autoincrement id), whose
    /// counter must move past the copied ids.
    pub generated_id: Option<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A database read for a move: the source (read-only, one consistent snapshot), or the target
/// reading back what it was given.
#[async_trait]
pub trait DumpRead: Send {
    /// The migration history against this release's migrations (`store::schema`).
    async fn schema_state(&mut self) -> StoreResult<SchemaState>;
    /// Every table but the migration history and the backend's own bookkeeping.
    async fn tables(&mut self) -> StoreResult<Vec<Table>>;
    async fn count(&mut self, table: &Table) -> StoreResult<u64>;
    /// Starts reading `table`'s `columns` (in that order) by primary key.
    async fn open_table(&mut self, table: &Table, columns: &[String]) -> StoreResult<()>;
    /// The next rows of the open table, at most `max`; none when it is done.
    async fn next_rows(&mut self, max: usize) -> StoreResult<Vec<Row>>;
    /// The highest id `table`'s generated column ever handed out (deleted rows included, so
    /// that their ids are never handed out again), if it has one.
    async fn id_high_water(&mut self, table: &Table) -> StoreResult<Option<i64>>;
}

/// The target of a move: everything it is given goes into one transaction, committed only by
/// [`DumpWrite::commit`]; dropped before that, it leaves nothing behind.
#[async_trait]
pub trait DumpWrite: DumpRead {
    /// Inserts `rows` of `columns` (values already of those columns' kinds), ids included.
    async fn insert(&mut self, table: &Table, columns: &[String], rows: &[Row]) -> StoreResult<()>;
    /// Moves `table`'s id counter to at least `high_water` and past every id it holds.
    async fn raise_id_high_water(&mut self, table: &Table, high_water: i64) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}
