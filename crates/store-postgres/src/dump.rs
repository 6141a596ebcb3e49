//! A PostgreSQL database as the source or the target of `keyward migrate-data` (core's
//! `datamove`): tables, columns, keys and foreign keys as the catalog describes them in the
//! connection's schema, rows read by primary key through a cursor, rows inserted in multi-row
//! statements, all in one transaction: REPEATABLE READ READ ONLY for a source (one consistent
//! snapshot, even while a node still writes), and for a target the transaction that `commit`
//! ends.

use crate::backend;
use keyward_core::datamove::{Column, DumpRead, DumpWrite, Kind, Row, Table, Value};
use keyward_core::store::StoreResult;
use keyward_core::store::schema::SchemaState;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Connection as _, Postgres, QueryBuilder, Row as _};

const CURSOR: &str = "keyward_dump";

pub struct PgDump {
    connection: PgConnection,
    /// The connection's schema (`search_path`), where the tables are.
    schema: String,
    /// The kinds of the columns the open cursor returns; `None` when no cursor is open.
    cursor: Option<Vec<Kind>>,
}

impl PgDump {
    /// Opens `url` for reading only, in one REPEATABLE READ transaction.
    pub async fn open_source(url: &str) -> StoreResult<Self> {
        Self::open(url, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await
    }

    /// Opens the (migrated) database at `url` in the transaction that
    /// [`DumpWrite::commit`] commits.
    pub async fn open_target(url: &str) -> StoreResult<Self> {
        Self::open(url, "BEGIN").await
    }

    async fn open(url: &str, begin: &'static str) -> StoreResult<Self> {
        let mut connection = PgConnection::connect(url).await.map_err(backend)?;
        sqlx::raw_sql(begin)
            .execute(&mut connection)
            .await
            .map_err(backend)?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&mut connection)
            .await
            .map_err(backend)?;
        Ok(Self {
            connection,
            schema,
            cursor: None,
        })
    }

    /// `table` qualified by the schema and quoted, for SQL text and for `::regclass`.
    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", quote(&self.schema), quote(table))
    }

    async fn run(&mut self, sql: String) -> StoreResult<()> {
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut self.connection)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn names(&mut self, sql: &'static str, bind: &str) -> StoreResult<Vec<String>> {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_all(&mut self.connection)
            .await
            .map_err(backend)
    }
}

/// An identifier in double quotes (names come from the catalog, never from input).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn kind_of(table: &str, column: &str, data_type: &str) -> StoreResult<Kind> {
    Ok(match data_type {
        "bigint" => Kind::Integer,
        "text" => Kind::Text,
        "boolean" => Kind::Bool,
        "bytea" => Kind::Bytes,
        "uuid" => Kind::Uuid,
        other => {
            return Err(backend(format!(
                "column {table}.{column} has the type {other}, which migrate-data does not know"
            )));
        }
    })
}

fn value_of(row: &PgRow, i: usize, kind: Kind) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        Kind::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::Integer),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
        Kind::Uuid => row.try_get::<Option<uuid::Uuid>, _>(i)?.map(Value::Uuid),
    }
    .unwrap_or(Value::Null))
}

#[async_trait::async_trait]
impl DumpRead for PgDump {
    async fn schema_state(&mut self) -> StoreResult<SchemaState> {
        crate::schema_state_on(&mut self.connection).await
    }

    async fn tables(&mut self) -> StoreResult<Vec<Table>> {
        let names = self
            .names(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = $1 AND table_type = 'BASE TABLE' \
                 AND table_name <> '_sqlx_migrations' ORDER BY table_name",
                &self.schema.clone(),
            )
            .await?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text, is_identity::text \
                 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 \
                 ORDER BY ordinal_position",
            )
            .bind(&self.schema)
            .bind(&name)
            .fetch_all(&mut self.connection)
            .await
            .map_err(backend)?;
            let mut columns = Vec::with_capacity(rows.len());
            let mut generated_id = None;
            for (column, data_type, identity) in rows {
                if identity == "YES" {
                    generated_id = Some(column.clone());
                }
                columns.push(Column {
                    kind: kind_of(&name, &column, &data_type)?,
                    name: column,
                });
            }
            let relation = self.qualified(&name);
            let key = self
                .names(
                    "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a \
                     ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                     WHERE i.indrelid = $1::regclass AND i.indisprimary \
                     ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    &relation,
                )
                .await?;
            if key.is_empty() {
                return Err(backend(format!(
                    "table {name} has no primary key, which migrate-data reads rows by"
                )));
            }
            let parents = self
                .names(
                    "SELECT DISTINCT p.relname::text FROM pg_constraint c \
                     JOIN pg_class p ON p.oid = c.confrelid \
                     WHERE c.contype = 'f' AND c.conrelid = $1::regclass",
                    &relation,
                )
                .await?;
            tables.push(Table {
                name,
                columns,
                key,
                parents,
                generated_id,
            });
        }
        Ok(tables)
    }

    async fn count(&mut self, table: &Table) -> StoreResult<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.qualified(&table.name));
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .persistent(false)
            .fetch_one(&mut self.connection)
            .await
            .map_err(backend)?;
        Ok(n.unsigned_abs())
    }

    async fn open_table(&mut self, table: &Table, columns: &[String]) -> StoreResult<()> {
        if self.cursor.take().is_some() {
            self.run(format!("CLOSE {CURSOR}")).await?;
        }
        let kinds = columns
            .iter()
            .map(|c| {
                table
                    .column(c)
                    .map(|c| c.kind)
                    .ok_or_else(|| backend(format!("no column {}.{c}", table.name)))
            })
            .collect::<StoreResult<Vec<Kind>>>()?;
        // Text keys in byte order, as SQLite sorts them, whatever the database's collation.
        let order: Vec<String> = table
            .key
            .iter()
            .map(|k| match table.column(k).map(|c| c.kind) {
                Some(Kind::Text) => format!("{} COLLATE \"C\"", quote(k)),
                _ => quote(k),
            })
            .collect();
        let selected: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        self.run(format!(
            "DECLARE {CURSOR} NO SCROLL CURSOR FOR SELECT {} FROM {} ORDER BY {}",
            selected.join(", "),
            self.qualified(&table.name),
            order.join(", ")
        ))
        .await?;
        self.cursor = Some(kinds);
        Ok(())
    }

    async fn next_rows(&mut self, max: usize) -> StoreResult<Vec<Row>> {
        let Some(kinds) = self.cursor.clone() else {
            return Err(backend("no table is open"));
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "FETCH FORWARD {} FROM {CURSOR}",
            max.max(1)
        )))
        .persistent(false)
        .fetch_all(&mut self.connection)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                kinds
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| value_of(row, i, *kind))
                    .collect::<Result<Row, _>>()
            })
            .collect::<Result<Vec<Row>, _>>()
            .map_err(backend)
    }

    async fn id_high_water(&mut self, table: &Table) -> StoreResult<Option<i64>> {
        let Some(id) = &table.generated_id else {
            return Ok(None);
        };
        // The sequence remembers ids of deleted rows too.
        let sql = format!(
            "SELECT GREATEST(COALESCE(MAX({id}), 0), \
             COALESCE(pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass), 0)) \
             FROM {table}",
            id = quote(id),
            table = self.qualified(&table.name)
        );
        let high: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.qualified(&table.name))
            .bind(id)
            .persistent(false)
            .fetch_one(&mut self.connection)
            .await
            .map_err(backend)?;
        Ok(Some(high))
    }
}

#[async_trait::async_trait]
impl DumpWrite for PgDump {
    async fn insert(&mut self, table: &Table, columns: &[String], rows: &[Row]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let kinds = columns
            .iter()
            .map(|c| {
                table
                    .column(c)
                    .map(|c| c.kind)
                    .ok_or_else(|| backend(format!("no column {}.{c}", table.name)))
            })
            .collect::<StoreResult<Vec<Kind>>>()?;
        let names: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        // Ids are copied, not generated anew.
        let overriding = if table.generated_id.is_some() {
            " OVERRIDING SYSTEM VALUE "
        } else {
            " "
        };
        let mut insert = QueryBuilder::<Postgres>::new(format!(
            "INSERT INTO {} ({}){overriding}",
            self.qualified(&table.name),
            names.join(", ")
        ));
        insert.push_values(rows, |mut values, row| {
            for (value, kind) in row.iter().zip(&kinds) {
                match (value, kind) {
                    (Value::Null, Kind::Integer) => values.push_bind(None::<i64>),
                    (Value::Null, Kind::Text) => values.push_bind(None::<String>),
                    (Value::Null, Kind::Bytes) => values.push_bind(None::<Vec<u8>>),
                    (Value::Null, Kind::Bool) => values.push_bind(None::<bool>),
                    (Value::Null, Kind::Uuid) => values.push_bind(None::<uuid::Uuid>),
                    (Value::Integer(n), _) => values.push_bind(*n),
                    (Value::Real(r), _) => values.push_bind(*r),
                    (Value::Text(s), _) => values.push_bind(s.clone()),
                    (Value::Bytes(b), _) => values.push_bind(b.clone()),
                    (Value::Bool(b), _) => values.push_bind(*b),
                    (Value::Uuid(u), _) => values.push_bind(*u),
                };
            }
        });
        insert
            .build()
            .persistent(false)
            .execute(&mut self.connection)
            .await
            .map(drop)
            .map_err(|e| backend(format!("inserting into {}: {e}", table.name)))
    }

    async fn raise_id_high_water(&mut self, table: &Table, high_water: i64) -> StoreResult<()> {
        let Some(id) = &table.generated_id else {
            return Ok(());
        };
        // The next id is past both the source's counter and every copied id; an unused
        // counter (0) stays unused, so that the next id is 1.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(v, 1), v >= 1) FROM \
             (SELECT GREATEST($3, COALESCE(MAX({id}), 0)) AS v FROM {table}) AS high",
            id = quote(id),
            table = self.qualified(&table.name)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(self.qualified(&table.name))
            .bind(id)
            .bind(high_water)
            .persistent(false)
            .execute(&mut self.connection)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        sqlx::raw_sql("COMMIT")
            .execute(&mut self.connection)
            .await
            .map(drop)
            .map_err(|e| backend(format!("committing: {e}")))
    }
}
