//! The move itself: the checks that refuse before anything is written, the copy, and the
//! verification that runs before the target commits.

use super::checksum::Checksum;
use super::convert::convert;
use super::order::parents_first;
use super::{DumpRead, DumpWrite, Row, Table, Value};
use crate::oidc::MasterKey;
use crate::store::StoreError;
use crate::store::schema::SchemaError;
use serde::Serialize;

/// Rows per read and per insert (fewer for wide tables: PostgreSQL binds at most 65535
/// parameters per statement).
const BATCH_ROWS: usize = 500;
const BATCH_VALUES: usize = 30_000;

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("the source database: {0}")]
    SourceSchema(SchemaError),
    #[error("the target database: {0}")]
    TargetSchema(SchemaError),
    #[error(
        "the target database is not empty (table {table} has {rows} row(s)): migrate-data only \
         fills an empty database; give a new one, or empty this one first"
    )]
    TargetNotEmpty { table: String, rows: u64 },
    #[error(
        "this master key does not open the source's {what}: run migrate-data with the source \
         node's own secret_key or key_file"
    )]
    WrongMasterKey { what: String },
    #[error("the two databases do not have the same tables and columns: {0}")]
    SchemaMismatch(String),
    #[error("table {table}, column {column}, row with key ({key}): {reason}")]
    Value {
        table: String,
        column: String,
        key: String,
        reason: String,
    },
    #[error(
        "verification failed for table {table}: read {source_rows} row(s) (checksum {source_sum}) \
         from the source but {target_rows} (checksum {target_sum}) from the target; nothing was \
         committed"
    )]
    Mismatch {
        table: String,
        source_rows: u64,
        source_sum: String,
        target_rows: u64,
        target_sum: String,
    },
    #[error("{0}")]
    Order(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One copied table, as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    pub table: String,
    pub rows: u64,
    pub checksum: String,
}

/// Refuses a source that is not at exactly this release's schema, or whose encrypted data
/// `master` does not open (signing keys, operator secrets); returns its tables.
pub async fn check_source(
    source: &mut dyn DumpRead,
    master: &MasterKey,
) -> Result<Vec<Table>, MoveError> {
    source
        .schema_state()
        .await?
        .check_current()
        .map_err(MoveError::SourceSchema)?;
    let tables = source.tables().await?;
    // (table, name column, sealed column, whether `master` opens a row's value)
    type Opens = fn(&MasterKey, &str, &[u8]) -> bool;
    let sealed: [(&str, &str, &str, Opens); 2] = [
        ("signing_keys", "kid", "private_key", |m, _, s| {
            crate::oidc::keys::master_opens(m, s)
        }),
        ("operator_secrets", "name", "ciphertext", |m, name, s| {
            crate::vault::master_opens(m, name, s)
        }),
    ];
    for (table, name_column, sealed_column, opens) in sealed {
        let Some(shape) = tables.iter().find(|t| t.name == table) else {
            continue;
        };
        source
            .open_table(shape, &[name_column.to_owned(), sealed_column.to_owned()])
            .await?;
        loop {
            let rows = source.next_rows(BATCH_ROWS).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let (Some(Value::Text(name)), Some(Value::Bytes(sealed))) =
                    (row.first(), row.get(1))
                else {
                    continue;
                };
                if !opens(master, name, sealed) {
                    return Err(MoveError::WrongMasterKey {
                        what: format!("{table} ({name})"),
                    });
                }
            }
        }
    }
    Ok(tables)
}

/// Refuses a target migrated by a newer release, or holding any row (its migration history
/// aside). Run before the target is migrated, so that a refused target is left as it was.
pub async fn check_target_empty(target: &mut dyn DumpRead) -> Result<(), MoveError> {
    target
        .schema_state()
        .await?
        .check_not_newer()
        .map_err(MoveError::TargetSchema)?;
    for table in target.tables().await? {
        let rows = target.count(&table).await?;
        if rows > 0 {
            return Err(MoveError::TargetNotEmpty {
                table: table.name,
                rows,
            });
        }
    }
    Ok(())
}

/// Copies every table of `source` into `target` (migrated, empty, in its one transaction),
/// verifies each by count and checksum read back from the target, then commits. `progress` hears
/// (table, rows copied, rows in the source table) after every batch.
pub async fn copy(
    source: &mut dyn DumpRead,
    mut target: Box<dyn DumpWrite>,
    progress: &mut (dyn FnMut(&str, u64, u64) + Send),
) -> Result<Vec<TableReport>, MoveError> {
    let source_tables = source.tables().await?;
    let target_tables = target.tables().await?;
    same_shape(&source_tables, &target_tables)?;
    let order = parents_first(&target_tables).map_err(MoveError::Order)?;
    let mut copied = Vec::with_capacity(order.len());
    for table in order {
        let from = source_tables
            .iter()
            .find(|t| t.name == table.name)
            .ok_or_else(|| MoveError::SchemaMismatch(format!("no table {}", table.name)))?;
        let sum = copy_table(source, target.as_mut(), from, table, progress).await?;
        if let Some(_id) = &table.generated_id {
            let high_water = source.id_high_water(from).await?.unwrap_or(0);
            target.raise_id_high_water(table, high_water).await?;
        }
        copied.push((table, sum));
    }
    let mut reports = Vec::with_capacity(copied.len());
    for (table, expected) in copied {
        let found = read_back(target.as_mut(), table).await?;
        if found != expected {
            return Err(MoveError::Mismatch {
                table: table.name.clone(),
                source_rows: expected.rows,
                source_sum: expected.hex(),
                target_rows: found.rows,
                target_sum: found.hex(),
            });
        }
        reports.push(TableReport {
            table: table.name.clone(),
            rows: expected.rows,
            checksum: expected.hex(),
        });
    }
    target.commit().await?;
    Ok(reports)
}

fn batch_rows(table: &Table) -> usize {
    (BATCH_VALUES / table.columns.len().max(1)).clamp(1, BATCH_ROWS)
}

fn column_names(table: &Table) -> Vec<String> {
    table.columns.iter().map(|c| c.name.clone()).collect()
}

/// Copies one table; returns the checksum of the rows as converted for the target.
async fn copy_table(
    source: &mut dyn DumpRead,
    target: &mut dyn DumpWrite,
    from: &Table,
    table: &Table,
    progress: &mut (dyn FnMut(&str, u64, u64) + Send),
) -> Result<Checksum, MoveError> {
    let columns = column_names(table);
    let total = source.count(from).await?;
    progress(&table.name, 0, total);
    source.open_table(from, &columns).await?;
    let mut sum = Checksum::default();
    loop {
        let rows = source.next_rows(batch_rows(table)).await?;
        if rows.is_empty() {
            break;
        }
        let rows = rows
            .into_iter()
            .map(|row| convert_row(table, row))
            .collect::<Result<Vec<Row>, MoveError>>()?;
        rows.iter().for_each(|row| sum.add(row));
        target.insert(table, &columns, &rows).await?;
        progress(&table.name, sum.rows, total);
    }
    Ok(sum)
}

async fn read_back(target: &mut dyn DumpWrite, table: &Table) -> Result<Checksum, MoveError> {
    target.open_table(table, &column_names(table)).await?;
    let mut sum = Checksum::default();
    loop {
        let rows = target.next_rows(batch_rows(table)).await?;
        if rows.is_empty() {
            return Ok(sum);
        }
        rows.iter().for_each(|row| sum.add(row));
    }
}

/// `row` (in `table`'s column order) with every value of its column's kind.
fn convert_row(table: &Table, row: Row) -> Result<Row, MoveError> {
    let key = describe_key(table, &row);
    row.into_iter()
        .zip(&table.columns)
        .map(|(value, column)| {
            convert(value, column.kind).map_err(|e| MoveError::Value {
                table: table.name.clone(),
                column: column.name.clone(),
                key: key.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The row's primary key as `column = value` pairs (blobs as hex), to find it in the source.
fn describe_key(table: &Table, row: &Row) -> String {
    table
        .key
        .iter()
        .filter_map(|k| {
            let i = table.columns.iter().position(|c| c.name == *k)?;
            let shown = match row.get(i)? {
                Value::Null => "NULL".to_owned(),
                Value::Integer(n) => n.to_string(),
                Value::Real(r) => r.to_string(),
                Value::Text(s) => format!("'{s}'"),
                Value::Bytes(b) => format!(
                    "x'{}'",
                    b.iter().map(|b| format!("{b:02x}")).collect::<String>()
                ),
                Value::Bool(b) => b.to_string(),
                Value::Uuid(u) => u.to_string(),
            };
            Some(format!("{k} = {shown}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses two schemas that differ in a table or a column (by name; kinds may differ, as the
/// values convert): a table one side does not know would otherwise be skipped silently.
fn same_shape(source: &[Table], target: &[Table]) -> Result<(), MoveError> {
    let mut differences = Vec::new();
    for t in source {
        match target.iter().find(|o| o.name == t.name) {
            None => differences.push(format!("table {} is only in the source", t.name)),
            Some(o) => {
                for c in &t.columns {
                    if o.column(&c.name).is_none() {
                        differences.push(format!(
                            "column {}.{} is only in the source",
                            t.name, c.name
                        ));
                    }
                }
                for c in &o.columns {
                    if t.column(&c.name).is_none() {
                        differences.push(format!(
                            "column {}.{} is only in the target",
                            t.name, c.name
                        ));
                    }
                }
            }
        }
    }
    for t in target {
        if !source.iter().any(|o| o.name == t.name) {
            differences.push(format!("table {} is only in the target", t.name));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(MoveError::SchemaMismatch(differences.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datamove::{Column, Kind};
    use crate::store::StoreResult;
    use crate::store::schema::{Migration, SchemaState};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// An in-memory database; `lossy` makes it drop every inserted row after the first.
    struct Mem {
        tables: Vec<(Table, Vec<Row>)>,
        open: Option<(usize, Vec<usize>, usize)>,
        lossy: bool,
        committed: Arc<AtomicBool>,
    }

    fn table(name: &str, parents: &[&str], kind: Kind) -> Table {
        Table {
            name: name.into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    kind: Kind::Integer,
                },
                Column {
                    name: "flag".into(),
                    kind,
                },
            ],
            key: vec!["id".into()],
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
            generated_id: None,
        }
    }

    fn mem(tables: Vec<(Table, Vec<Row>)>, lossy: bool) -> (Mem, Arc<AtomicBool>) {
        let committed = Arc::new(AtomicBool::new(false));
        let db = Mem {
            tables,
            open: None,
            lossy,
            committed: committed.clone(),
        };
        (db, committed)
    }

    #[async_trait::async_trait]
    impl DumpRead for Mem {
        async fn schema_state(&mut self) -> StoreResult<SchemaState> {
            Ok(SchemaState {
                applied: vec![1],
                known: vec![Migration {
                    version: 1,
                    description: "one".into(),
                }],
            })
        }
        async fn tables(&mut self) -> StoreResult<Vec<Table>> {
            Ok(self.tables.iter().map(|(t, _)| t.clone()).collect())
        }
        async fn count(&mut self, table: &Table) -> StoreResult<u64> {
            let i = self.index(&table.name);
            Ok(self.tables[i].1.len() as u64)
        }
        async fn open_table(&mut self, table: &Table, columns: &[String]) -> StoreResult<()> {
            let i = self.index(&table.name);
            let positions = columns
                .iter()
                .filter_map(|c| self.tables[i].0.columns.iter().position(|o| o.name == *c))
                .collect();
            self.open = Some((i, positions, 0));
            Ok(())
        }
        async fn next_rows(&mut self, max: usize) -> StoreResult<Vec<Row>> {
            let Some((i, positions, at)) = self.open.as_mut() else {
                return Ok(Vec::new());
            };
            let rows: Vec<Row> = self.tables[*i]
                .1
                .iter()
                .skip(*at)
                .take(max)
                .map(|row| positions.iter().map(|p| row[*p].clone()).collect())
                .collect();
            *at += rows.len();
            Ok(rows)
        }
        async fn id_high_water(&mut self, _: &Table) -> StoreResult<Option<i64>> {
            Ok(None)
        }
    }

    #[async_trait::async_trait]
    impl DumpWrite for Mem {
        async fn insert(&mut self, table: &Table, _: &[String], rows: &[Row]) -> StoreResult<()> {
            let i = self.index(&table.name);
            let keep = if self.lossy { 1 } else { rows.len() };
            self.tables[i].1.extend(rows.iter().take(keep).cloned());
            Ok(())
        }
        async fn raise_id_high_water(&mut self, _: &Table, _: i64) -> StoreResult<()> {
            Ok(())
        }
        async fn commit(self: Box<Self>) -> StoreResult<()> {
            self.committed.store(true, Ordering::SeqCst);
            Ok(())
        }
    }

    impl Mem {
        fn index(&self, name: &str) -> usize {
            self.tables
                .iter()
                .position(|(t, _)| t.name == name)
                .expect("table")
        }
    }

    fn source_rows() -> Vec<Row> {
        (1..=3)
            .map(|id| vec![Value::Integer(id), Value::Integer(id % 2)])
            .collect()
    }

    async fn run(
        target: Mem,
        source_kind: Kind,
        rows: Vec<Row>,
    ) -> Result<Vec<TableReport>, MoveError> {
        let (mut source, _) = mem(
            vec![
                (table("child", &["parent"], source_kind), Vec::new()),
                (table("parent", &[], source_kind), rows),
            ],
            false,
        );
        let mut progress = |_: &str, _: u64, _: u64| {};
        copy(&mut source, Box::new(target), &mut progress).await
    }

    fn target_tables() -> Vec<(Table, Vec<Row>)> {
        vec![
            (table("child", &["parent"], Kind::Bool), Vec::new()),
            (table("parent", &[], Kind::Bool), Vec::new()),
        ]
    }

    #[tokio::test]
    async fn a_faithful_copy_is_verified_and_committed() {
        let (target, committed) = mem(target_tables(), false);
        let reports = run(target, Kind::Integer, source_rows())
            .await
            .expect("copied");
        assert!(committed.load(Ordering::SeqCst));
        let names: Vec<&str> = reports.iter().map(|r| r.table.as_str()).collect();
        assert_eq!(names, ["parent", "child"], "parents first");
        assert_eq!(reports[0].rows, 3);
    }

    #[tokio::test]
    async fn a_target_that_loses_rows_fails_verification_and_is_not_committed() {
        let (target, committed) = mem(target_tables(), true);
        let err = run(target, Kind::Integer, source_rows())
            .await
            .expect_err("lossy");
        assert!(
            matches!(err, MoveError::Mismatch { ref table, source_rows: 3, target_rows: 1, .. } if table == "parent"),
            "{err}"
        );
        assert!(!committed.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_value_that_does_not_convert_is_named_and_nothing_is_committed() {
        let (target, committed) = mem(target_tables(), false);
        let mut rows = source_rows();
        rows[1][1] = Value::Integer(7);
        let err = run(target, Kind::Integer, rows).await.expect_err("refused");
        assert_eq!(
            err.to_string(),
            "table parent, column flag, row with key (id = 2): the integer 7 cannot be stored \
             exactly in a BOOLEAN column"
        );
        assert!(!committed.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_table_or_column_one_side_lacks_is_refused() {
        let mut tables = target_tables();
        tables.push((table("newer", &[], Kind::Bool), Vec::new()));
        tables[1].0.columns.pop();
        let (target, committed) = mem(tables, false);
        let err = run(target, Kind::Integer, source_rows())
            .await
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("column parent.flag is only in the source"),
            "{text}"
        );
        assert!(text.contains("table newer is only in the target"), "{text}");
        assert!(!committed.load(Ordering::SeqCst));
    }
}
