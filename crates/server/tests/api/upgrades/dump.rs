//! A database's rows as a text dump of `INSERT` statements (reviewable in a diff), and loading
//! such a dump into a new database at the schema it was made on.
//!
//! The dump holds rows, not the schema: the schema of a release is its migrations, which never
//! change once released (sqlx refuses a migration whose checksum differs from the history's), so
//! the loader rebuilds it by applying the migrations up to the dump's schema version, then
//! replaces every row, the migration history included, with the dump's. A node started on the
//! result migrates from exactly where the release that made the dump left it.

use super::schema::migrate_up_to;
use crate::helpers::{Backend, TestDatabase};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};
use std::str::FromStr as _;

/// One connection to a test database.
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    pub(crate) async fn open(db: &TestDatabase) -> Self {
        // One connection, so that a PRAGMA applies to every later statement.
        if db.url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(&db.url)
                .expect("url")
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::pool::PoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("open SQLite");
            Self::Sqlite(pool)
        } else {
            let pool = sqlx::pool::PoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .expect("connect to PostgreSQL");
            Self::Postgres(pool)
        }
    }

    /// The first column of every row of `sql`, with `bind` as its one parameter if given.
    pub(crate) async fn lines_with(&self, sql: &str, bind: Option<&str>) -> Vec<String> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Self::Sqlite(pool) => {
                let query = sqlx::query_scalar::<_, String>(sql);
                let query = match bind {
                    Some(value) => query.bind(value.to_owned()),
                    None => query,
                };
                query.fetch_all(pool).await
            }
            Self::Postgres(pool) => {
                let query = sqlx::query_scalar::<_, String>(sql);
                let query = match bind {
                    Some(value) => query.bind(value.to_owned()),
                    None => query,
                };
                query.fetch_all(pool).await
            }
        }
        .expect("query")
    }

    pub(crate) async fn lines(&self, sql: &str) -> Vec<String> {
        self.lines_with(sql, None).await
    }

    /// Runs `script` (several statements) outside a transaction: for a PRAGMA, which a
    /// transaction would ignore.
    async fn execute(&self, script: &str) {
        let script = AssertSqlSafe(script.to_owned());
        match self {
            Self::Sqlite(pool) => sqlx::raw_sql(script).execute(pool).await.map(drop),
            Self::Postgres(pool) => sqlx::raw_sql(script).execute(pool).await.map(drop),
        }
        .expect("script");
    }

    /// Runs `script` (several statements), all or nothing.
    async fn execute_script(&self, script: &str) {
        let script = AssertSqlSafe(script.to_owned());
        match self {
            Self::Sqlite(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                sqlx::raw_sql(script)
                    .execute(&mut *tx)
                    .await
                    .expect("script");
                tx.commit().await.expect("commit");
            }
            Self::Postgres(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                sqlx::raw_sql(script)
                    .execute(&mut *tx)
                    .await
                    .expect("script");
                tx.commit().await.expect("commit");
            }
        }
    }

    pub(crate) async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// Every table, parents before the tables that reference them (then by name).
    async fn tables(&self) -> Vec<String> {
        let (tables, parents_sql) = match self {
            Self::Sqlite(_) => (
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)",
            ),
            Self::Postgres(_) => (
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
                "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint \
                 WHERE contype = 'f' AND conrelid = $1::regclass",
            ),
        };
        let mut left = Vec::new();
        for table in self.lines(tables).await {
            let parents: Vec<String> = self
                .lines_with(parents_sql, Some(&table))
                .await
                .into_iter()
                .filter(|p| *p != table)
                .collect();
            left.push((table, parents));
        }
        let mut ordered: Vec<String> = Vec::new();
        while !left.is_empty() {
            let ready = left
                .iter()
                .position(|(_, parents)| parents.iter().all(|p| ordered.contains(p)))
                .expect("foreign keys without a cycle");
            ordered.push(left.remove(ready).0);
        }
        ordered
    }

    /// What dumping `table` needs to know of it.
    async fn columns(&self, table: &str) -> Columns {
        match self {
            Self::Sqlite(_) => {
                let names = self
                    .lines_with(
                        "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
                        Some(table),
                    )
                    .await;
                let key = self
                    .lines_with(
                        "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
                        Some(table),
                    )
                    .await;
                let columns = names
                    .into_iter()
                    .map(|c| {
                        let render = format!("quote(\"{c}\")");
                        (c, render)
                    })
                    .collect();
                Columns {
                    columns,
                    identity: false,
                    key,
                }
            }
            Self::Postgres(_) => {
                let rows = self
                    .lines_with(
                        "SELECT column_name || ' ' || is_identity || ' ' || data_type \
                         FROM information_schema.columns WHERE table_schema = current_schema() \
                         AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position",
                        Some(table),
                    )
                    .await;
                let key = self
                    .lines_with(
                        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                         ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                         WHERE i.indrelid = $1::regclass AND i.indisprimary \
                         ORDER BY array_position(i.indkey::int2[], a.attnum)",
                        Some(table),
                    )
                    .await;
                let mut identity = false;
                let columns = rows
                    .iter()
                    .map(|row| {
                        let mut parts = row.splitn(3, ' ');
                        let name = parts.next().unwrap_or_default().to_owned();
                        identity |= parts.next() == Some("YES");
                        let render = match parts.next().unwrap_or_default() {
                            "bigint" | "integer" | "smallint" | "numeric" | "real"
                            | "double precision" | "boolean" => {
                                format!("coalesce(\"{name}\"::text, 'NULL')")
                            }
                            "bytea" => format!(
                                "coalesce('''\\x' || encode(\"{name}\", 'hex') || '''', 'NULL')"
                            ),
                            _ => format!("quote_nullable(\"{name}\"::text)"),
                        };
                        (name, render)
                    })
                    .collect();
                Columns {
                    columns,
                    identity,
                    key,
                }
            }
        }
    }
}

/// A table's columns as a dump needs them.
struct Columns {
    /// Each column's name and the SQL expression that renders its value as a literal.
    columns: Vec<(String, String)>,
    /// Whether an identity column is among them (PostgreSQL: inserting it needs `OVERRIDING`).
    identity: bool,
    /// The primary key's columns, the order of the dumped rows.
    key: Vec<String>,
}

/// Every row of every table of `db` as `INSERT` statements, one per line: parents before
/// children, rows in primary key order, so that two dumps of similar databases diff well.
pub(crate) async fn dump(db: &TestDatabase, header: &str) -> String {
    let db = Db::open(db).await;
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("-- {line}\n"));
    }
    for table in db.tables().await {
        let Columns {
            columns,
            identity,
            key,
        } = db.columns(&table).await;
        let names: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
        let values: Vec<&str> = columns.iter().map(|(_, r)| r.as_str()).collect();
        let order = if key.is_empty() {
            names.clone()
        } else {
            key.iter().map(|c| format!("\"{c}\"")).collect()
        };
        let rows = db
            .lines(&format!(
                "SELECT {} FROM \"{table}\" ORDER BY {}",
                values.join(" || ', ' || "),
                order.join(", ")
            ))
            .await;
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("\n-- {table}\n"));
        let overriding = if identity {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        for row in rows {
            out.push_str(&format!(
                "INSERT INTO \"{table}\" ({}){overriding} VALUES ({row});\n",
                names.join(", ")
            ));
        }
    }
    if let Db::Sqlite(_) = db {
        // AUTOINCREMENT's high-water marks: the inserts above set them to the highest id, but a
        // deleted row's id must stay unused, as it was.
        let marks = db
            .lines("SELECT quote(name) || ', ' || seq FROM sqlite_sequence ORDER BY name")
            .await;
        out.push_str("\n-- sqlite_sequence\nDELETE FROM sqlite_sequence;\n");
        for mark in marks {
            out.push_str(&format!(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ({mark});\n"
            ));
        }
    }
    db.close().await;
    out
}

/// Loads `dump`, made at schema `version`, into the new database `target`.
pub(crate) async fn load(target: &TestDatabase, backend: Backend, version: i64, dump: &str) {
    migrate_up_to(target, backend, version).await;
    let db = Db::open(target).await;
    // What the migrations wrote (their history, any rows they seed) gives way to the dump's.
    let tables = db.tables().await;
    match &db {
        Db::Sqlite(_) => {
            let mut script = String::from("PRAGMA foreign_keys = OFF;\n");
            for table in tables.iter().rev() {
                script.push_str(&format!("DELETE FROM \"{table}\";\n"));
            }
            script.push_str("DELETE FROM sqlite_sequence;\nPRAGMA foreign_keys = ON;\n");
            db.execute(&script).await;
        }
        Db::Postgres(_) => {
            let all: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
            db.execute_script(&format!("TRUNCATE {} CASCADE;", all.join(", ")))
                .await;
        }
    }
    db.execute_script(dump).await;
    match &db {
        Db::Sqlite(_) => {
            let broken = db
                .lines("SELECT \"table\" || ' ' || rowid FROM pragma_foreign_key_check")
                .await;
            assert!(broken.is_empty(), "dangling references: {broken:?}");
        }
        Db::Postgres(_) => {
            // Identity columns continue after the loaded rows, as in the dumped database.
            let identities = db
                .lines(
                    "SELECT table_name || ' ' || column_name FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND is_identity = 'YES'",
                )
                .await;
            for identity in identities {
                let (table, column) = identity.split_once(' ').expect("table and column");
                db.lines(&format!(
                    "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), \
                     coalesce(max(\"{column}\"), 0) + 1, false)::text FROM \"{table}\""
                ))
                .await;
            }
        }
    }
    db.close().await;
}
