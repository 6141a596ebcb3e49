//! A SQLite file as the source or the target of `keyward migrate-data` (core's `datamove`):
//! tables and columns as `sqlite_master` and the table pragmas describe them, rows read by
//! primary key in batches (each batch starts after the last key of the one before), rows
//! inserted one prepared statement at a time inside one transaction.

use crate::backend;
use keyward_core::datamove::{Column, DumpRead, DumpWrite, Kind, Row, Table, Value};
use keyward_core::store::StoreResult;
use keyward_core::store::schema::SchemaState;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags, params_from_iter};
use sqlx::sqlite::SqliteConnectOptions;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteDump {
    connection: Connection,
    cursor: Option<Cursor>,
}

/// Where reading the open table has got to.
struct Cursor {
    /// `SELECT <key columns>, <columns> FROM <table>`.
    select: String,
    order: String,
    key_columns: Vec<String>,
    /// The key of the last row read; `None` before the first batch.
    after: Option<Vec<SqlValue>>,
    done: bool,
}

/// The file a `sqlite://` URL names.
pub fn path_of(url: &str) -> StoreResult<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).map_err(backend)?;
    Ok(options.get_filename().to_path_buf())
}

impl SqliteDump {
    /// Opens the file at `url` read-only, in one read transaction: every table is read from
    /// the same snapshot, and nothing in the file can change.
    pub fn open_source(url: &str) -> StoreResult<Self> {
        let path = path_of(url)?;
        if !path.exists() {
            return Err(backend(format!(
                "there is no SQLite database at {}",
                path.display()
            )));
        }
        let connection = open(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection
            .execute_batch("PRAGMA query_only = ON; BEGIN;")
            .map_err(backend)?;
        Ok(Self {
            connection,
            cursor: None,
        })
    }

    /// Opens the (migrated) file at `url` for writing, in the one transaction that
    /// [`DumpWrite::commit`] commits. Foreign keys are checked at the commit.
    pub fn open_target(url: &str) -> StoreResult<Self> {
        let path = path_of(url)?;
        let connection = open(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE; PRAGMA defer_foreign_keys = ON;",
            )
            .map_err(backend)?;
        Ok(Self {
            connection,
            cursor: None,
        })
    }

    fn read_batch(&mut self, max: usize) -> StoreResult<Vec<Row>> {
        let Some(cursor) = self.cursor.as_mut() else {
            return Err(backend("no table is open"));
        };
        if cursor.done {
            return Ok(Vec::new());
        }
        let keys = cursor.key_columns.len();
        let (sql, mut params) = match &cursor.after {
            None => (
                format!("{} {} LIMIT ?", cursor.select, cursor.order),
                Vec::new(),
            ),
            Some(after) => {
                let marks = vec!["?"; keys].join(", ");
                (
                    format!(
                        "{} WHERE ({}) > ({marks}) {} LIMIT ?",
                        cursor.select,
                        cursor.key_columns.join(", "),
                        cursor.order
                    ),
                    after.clone(),
                )
            }
        };
        params.push(SqlValue::Integer(i64::try_from(max).unwrap_or(i64::MAX)));
        let mut statement = self.connection.prepare_cached(&sql).map_err(backend)?;
        let mut rows = statement.query(params_from_iter(params)).map_err(backend)?;
        let mut batch = Vec::new();
        let mut last_key = None;
        while let Some(row) = rows.next().map_err(backend)? {
            let width = row.as_ref().column_count();
            let mut key = Vec::with_capacity(keys);
            for i in 0..keys {
                key.push(row.get::<_, SqlValue>(i).map_err(backend)?);
            }
            let mut values = Vec::with_capacity(width - keys);
            for i in keys..width {
                values.push(value_of(row.get_ref(i).map_err(backend)?)?);
            }
            batch.push(values);
            last_key = Some(key);
        }
        if batch.len() < max {
            cursor.done = true;
        }
        if last_key.is_some() {
            cursor.after = last_key;
        }
        Ok(batch)
    }

    fn table_sql(&self, table: &str) -> StoreResult<String> {
        self.connection
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .map_err(backend)
    }

    fn has_table(&self, name: &str) -> StoreResult<bool> {
        let n: i64 = self
            .connection
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .map_err(backend)?;
        Ok(n > 0)
    }
}

fn open(path: &Path, flags: OpenFlags) -> StoreResult<Connection> {
    let connection = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| backend(format!("opening {}: {e}", path.display())))?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(backend)?;
    Ok(connection)
}

/// An identifier in double quotes (names come from the schema, never from input).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn value_of(value: ValueRef<'_>) -> StoreResult<Value> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|_| backend("a text value is not UTF-8"))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Integer(n) => SqlValue::Integer(*n),
        Value::Real(r) => SqlValue::Real(*r),
        Value::Text(s) => SqlValue::Text(s.clone()),
        Value::Bytes(b) => SqlValue::Blob(b.clone()),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Uuid(u) => SqlValue::Text(u.hyphenated().to_string()),
    }
}

/// A column's kind from its declared type (the migrations declare only these three).
fn kind_of(table: &str, column: &str, declared: &str) -> StoreResult<Kind> {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" => Ok(Kind::Integer),
        "TEXT" => Ok(Kind::Text),
        "BLOB" => Ok(Kind::Bytes),
        other => Err(backend(format!(
            "column {table}.{column} has the type {other:?}, which migrate-data does not know"
        ))),
    }
}

#[async_trait::async_trait]
impl DumpRead for SqliteDump {
    async fn schema_state(&mut self) -> StoreResult<SchemaState> {
        crate::schema_state_on(&self.connection)
    }

    async fn tables(&mut self) -> StoreResult<Vec<Table>> {
        let names: Vec<String> = {
            let mut statement = self
                .connection
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' \
                     ORDER BY name",
                )
                .map_err(backend)?;
            statement
                .query_map([], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(backend)?
        };
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let mut columns = Vec::new();
            let mut key: Vec<(i64, String, String)> = Vec::new();
            {
                let mut statement = self
                    .connection
                    .prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")
                    .map_err(backend)?;
                let mut rows = statement.query([&name]).map_err(backend)?;
                while let Some(row) = rows.next().map_err(backend)? {
                    let column: String = row.get(0).map_err(backend)?;
                    let declared: String = row.get(1).map_err(backend)?;
                    let pk: i64 = row.get(2).map_err(backend)?;
                    if pk > 0 {
                        key.push((pk, column.clone(), declared.to_ascii_uppercase()));
                    }
                    columns.push(Column {
                        kind: kind_of(&name, &column, &declared)?,
                        name: column,
                    });
                }
            }
            if key.is_empty() {
                return Err(backend(format!(
                    "table {name} has no primary key, which migrate-data reads rows by"
                )));
            }
            key.sort();
            let parents: Vec<String> = {
                let mut statement = self
                    .connection
                    .prepare("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)")
                    .map_err(backend)?;
                statement
                    .query_map([&name], |r| r.get(0))
                    .and_then(Iterator::collect)
                    .map_err(backend)?
            };
            // A lone INTEGER PRIMARY KEY is the rowid, which SQLite generates.
            let generated_id = match key.as_slice() {
                [(_, column, declared)] if declared == "INTEGER" => Some(column.clone()),
                _ => None,
            };
            tables.push(Table {
                key: key.into_iter().map(|(_, column, _)| column).collect(),
                name,
                columns,
                parents,
                generated_id,
            });
        }
        Ok(tables)
    }

    async fn count(&mut self, table: &Table) -> StoreResult<u64> {
        let n: i64 = self
            .connection
            .query_row(
                &format!("SELECT COUNT(*) FROM {}", quote(&table.name)),
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        Ok(n.unsigned_abs())
    }

    async fn open_table(&mut self, table: &Table, columns: &[String]) -> StoreResult<()> {
        let key_columns: Vec<String> = table.key.iter().map(|k| quote(k)).collect();
        let selected: Vec<String> = key_columns
            .iter()
            .cloned()
            .chain(columns.iter().map(|c| quote(c)))
            .collect();
        self.cursor = Some(Cursor {
            select: format!("SELECT {} FROM {}", selected.join(", "), quote(&table.name)),
            order: format!("ORDER BY {}", key_columns.join(", ")),
            key_columns,
            after: None,
            done: false,
        });
        Ok(())
    }

    async fn next_rows(&mut self, max: usize) -> StoreResult<Vec<Row>> {
        self.read_batch(max.max(1))
    }

    async fn id_high_water(&mut self, table: &Table) -> StoreResult<Option<i64>> {
        let Some(id) = &table.generated_id else {
            return Ok(None);
        };
        let highest: i64 = self
            .connection
            .query_row(
                &format!(
                    "SELECT COALESCE(MAX({}), 0) FROM {}",
                    quote(id),
                    quote(&table.name)
                ),
                [],
                |r| r.get(0),
            )
            .map_err(backend)?;
        // AUTOINCREMENT remembers ids of deleted rows too.
        let remembered: Option<i64> = if self.has_table("sqlite_sequence")? {
            self.connection
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = ?1",
                    [&table.name],
                    |r| r.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(backend(e)),
                })?
        } else {
            None
        };
        Ok(Some(highest.max(remembered.unwrap_or(0))))
    }
}

#[async_trait::async_trait]
impl DumpWrite for SqliteDump {
    async fn insert(&mut self, table: &Table, columns: &[String], rows: &[Row]) -> StoreResult<()> {
        let names: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({marks})",
            quote(&table.name),
            names.join(", ")
        );
        let mut statement = self.connection.prepare_cached(&sql).map_err(backend)?;
        for row in rows {
            statement
                .execute(params_from_iter(row.iter().map(sql_value)))
                .map_err(|e| backend(format!("inserting into {}: {e}", table.name)))?;
        }
        Ok(())
    }

    async fn raise_id_high_water(&mut self, table: &Table, high_water: i64) -> StoreResult<()> {
        // Without AUTOINCREMENT SQLite takes the next id after the highest present: nothing to
        // move. With it, `sqlite_sequence` holds the highest id ever handed out.
        if table.generated_id.is_none()
            || high_water <= 0
            || !self
                .table_sql(&table.name)?
                .to_ascii_uppercase()
                .contains("AUTOINCREMENT")
        {
            return Ok(());
        }
        let changed = self
            .connection
            .execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, ?2) WHERE name = ?1",
                rusqlite::params![table.name, high_water],
            )
            .map_err(backend)?;
        if changed == 0 {
            self.connection
                .execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                    rusqlite::params![table.name, high_water],
                )
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.connection
            .execute_batch("COMMIT")
            .map_err(|e| backend(format!("committing: {e}")))
    }
}
