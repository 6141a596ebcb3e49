//! `keyward migrate-data` and `keyward migrate --dry-run`: the databases opened by URL, the
//! checks and the copy of core's `datamove` run on them, and what the operator is shown.

use crate::config::Config;
use anyhow::{Context as _, bail};
use keyward_core::datamove::copy::{self, TableReport};
use keyward_core::datamove::{DumpRead, DumpWrite};
use keyward_core::store::schema::SchemaState;
use keyward_store_postgres::dump::PgDump;
use keyward_store_sqlite::dump::{SqliteDump, path_of};
use std::io::Write as _;

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn check_scheme(url: &str) -> anyhow::Result<()> {
    if is_postgres(url) || url.starts_with("sqlite:") {
        Ok(())
    } else {
        bail!("a database URL must start with sqlite:// or postgres://")
    }
}

/// The database at `url` opened read-only; `None` for a SQLite file that does not exist.
async fn open_reader(url: &str) -> anyhow::Result<Option<Box<dyn DumpRead>>> {
    check_scheme(url)?;
    if is_postgres(url) {
        let dump = PgDump::open_source(url)
            .await
            .context("opening the PostgreSQL database")?;
        return Ok(Some(Box::new(dump)));
    }
    if !path_of(url)?.exists() {
        return Ok(None);
    }
    let dump = SqliteDump::open_source(url).context("opening the SQLite database")?;
    Ok(Some(Box::new(dump)))
}

async fn open_writer(url: &str) -> anyhow::Result<Box<dyn DumpWrite>> {
    Ok(if is_postgres(url) {
        Box::new(PgDump::open_target(url).await?)
    } else {
        Box::new(SqliteDump::open_target(url)?)
    })
}

/// The schema state of the database at `url`, read without changing it (a SQLite file that
/// does not exist has nothing applied).
pub async fn schema_state(url: &str) -> anyhow::Result<SchemaState> {
    match open_reader(url).await? {
        Some(mut reader) => Ok(reader.schema_state().await?),
        None => Ok(SchemaState {
            applied: Vec::new(),
            known: keyward_store_sqlite::known_migrations(),
        }),
    }
}

/// `keyward migrate --dry-run`: the migrations `keyward migrate` would apply, one per line.
pub async fn dry_run(config: &Config, json: bool) -> anyhow::Result<()> {
    let state = schema_state(&config.database_url).await?;
    state.check_not_newer()?;
    let pending = state.pending();
    if json {
        println!("{}", serde_json::to_string_pretty(&pending)?);
    } else if pending.is_empty() {
        eprintln!("the schema is up to date: nothing to apply");
    } else {
        for migration in pending {
            println!("{} {}", migration.version, migration.description);
        }
    }
    Ok(())
}

/// `keyward migrate-data --from URL --to URL`.
pub async fn migrate_data(config: &Config, from: &str, to: &str, json: bool) -> anyhow::Result<()> {
    check_scheme(from)?;
    check_scheme(to)?;
    if from.trim_end_matches('/') == to.trim_end_matches('/') {
        bail!("--from and --to name the same database");
    }
    let master = crate::app::master_key(config, false)?;

    let mut source = open_reader(from)
        .await?
        .context("the source: there is no SQLite database at that path")?;
    copy::check_source(source.as_mut(), &master).await?;
    if let Some(mut target) = open_reader(to).await? {
        copy::check_target_empty(target.as_mut()).await?;
    }
    // Migrated by this binary, then filled in one transaction.
    drop(
        crate::app::open_store(to, 1)
            .await
            .context("migrating the target")?,
    );
    let target = open_writer(to).await.context("opening the target")?;
    let mut stderr = std::io::stderr();
    let mut progress = |table: &str, done: u64, total: u64| {
        let _ = writeln!(stderr, "{table}: {done}/{total} rows");
    };
    let reports = copy::copy(source.as_mut(), target, &mut progress).await?;
    print_summary(&reports, json)
}

fn print_summary(reports: &[TableReport], json: bool) -> anyhow::Result<()> {
    let rows: u64 = reports.iter().map(|r| r.rows).sum();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "tables": reports,
                "rows": rows,
                "verified": true,
            }))?
        );
        return Ok(());
    }
    println!(
        "{:<24} {:>10}  checksum (sha-256 sum of rows)",
        "table", "rows"
    );
    for report in reports {
        println!(
            "{:<24} {:>10}  {}",
            report.table, report.rows, report.checksum
        );
    }
    println!("copied and verified {} tables, {rows} rows", reports.len());
    Ok(())
}
