//! Migrations are forward-only and run from wherever a database stands: a database at each
//! earlier schema (the migrations up to k applied, as the release that had only those left it)
//! is brought by the binary's `migrate` to exactly the schema and history of a fresh database.

use super::dump::Db;
use crate::helpers::{Backend, TestDatabase};
use crate::on_both_backends;
use sqlx::migrate::Migrator;
use std::path::PathBuf;
use std::process::Command;

on_both_backends!(every_earlier_schema_migrates_to_the_current_one);

/// The migrations directory of `backend`'s store.
fn migrations_dir(backend: Backend) -> PathBuf {
    let store = match backend {
        Backend::Sqlite => "store-sqlite",
        Backend::Postgres => "store-postgres",
    };
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(store)
        .join("migrations")
}

/// The migrator of a release whose last migration was `last`.
pub(crate) async fn migrator_up_to(backend: Backend, last: i64) -> Migrator {
    let mut migrator = Migrator::new(migrations_dir(backend))
        .await
        .expect("read the migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= last)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator
}

/// Applies the migrations up to `last` to `db`, as the release that had only those would have.
pub(crate) async fn migrate_up_to(db: &TestDatabase, backend: Backend, last: i64) {
    let migrator = migrator_up_to(backend, last).await;
    let db = Db::open(db).await;
    match &db {
        Db::Sqlite(pool) => migrator.run(pool).await,
        Db::Postgres(pool) => migrator.run(pool).await,
    }
    .unwrap_or_else(|e| panic!("migrating to {last}: {e}"));
    db.close().await;
}

/// `keyward migrate` on `db`, with the real binary.
pub(crate) fn binary_migrate(db: &TestDatabase) {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("migrate")
        .env("KEYWARD_DATABASE_URL", &db.url)
        .env("KEYWARD_SECRET_KEY", &db.secret_key)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run keyward migrate");
    assert!(
        out.status.success(),
        "keyward migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every table, column, index, constraint and trigger, one line each, in a stable order.
pub(crate) async fn schema_of(db: &TestDatabase) -> Vec<String> {
    let db = Db::open(db).await;
    let lines = match &db {
        Db::Sqlite(_) => {
            db.lines(
                "SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || coalesce(sql, '') \
                 FROM sqlite_master ORDER BY type, name",
            )
            .await
        }
        Db::Postgres(_) => {
            let mut lines = db
                .lines(
                    "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type \
                     || ' null=' || is_nullable || ' default=' || coalesce(column_default, '-') \
                     || ' identity=' || is_identity || ' #' || ordinal_position \
                     FROM information_schema.columns WHERE table_schema = current_schema() \
                     ORDER BY table_name, ordinal_position",
                )
                .await;
            // Index definitions name the schema, which differs from database to database here.
            lines.extend(
                db.lines(
                    "SELECT 'index ' || indexname || ': ' \
                     || replace(indexdef, current_schema() || '.', '') \
                     FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
                )
                .await,
            );
            lines.extend(
                db.lines(
                    "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ': ' \
                     || pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE connamespace = current_schema()::regnamespace \
                     ORDER BY conrelid::regclass::text, conname",
                )
                .await,
            );
            lines.extend(
                db.lines(
                    "SELECT 'trigger ' || event_object_table || ' ' || trigger_name || ': ' \
                     || action_statement FROM information_schema.triggers \
                     WHERE trigger_schema = current_schema() ORDER BY 1",
                )
                .await,
            );
            lines
        }
    };
    db.close().await;
    lines
}

/// The migration history: version, description, checksum and outcome of each migration run.
pub(crate) async fn history_of(db: &TestDatabase) -> Vec<String> {
    let db = Db::open(db).await;
    let sql = match &db {
        Db::Sqlite(_) => {
            "SELECT version || ' ' || description || ' ' || hex(checksum) || ' ' || success \
             FROM _sqlx_migrations ORDER BY version"
        }
        Db::Postgres(_) => {
            "SELECT version || ' ' || description || ' ' || encode(checksum, 'hex') || ' ' \
             || success FROM _sqlx_migrations ORDER BY version"
        }
    };
    let lines = db.lines(sql).await;
    db.close().await;
    lines
}

/// Fails listing the lines one schema has and the other lacks.
pub(crate) fn assert_same_schema(found: &[String], expected: &[String], what: &str) {
    let missing: Vec<&String> = expected.iter().filter(|l| !found.contains(l)).collect();
    let extra: Vec<&String> = found.iter().filter(|l| !expected.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && found.len() == expected.len(),
        "{what}: not the current schema\n  missing: {missing:#?}\n  extra: {extra:#?}"
    );
}

async fn every_earlier_schema_migrates_to_the_current_one(backend: Backend) {
    let fresh = TestDatabase::new(backend).await;
    binary_migrate(&fresh);
    let current = schema_of(&fresh).await;
    let history = history_of(&fresh).await;
    let versions: Vec<i64> = migrator_up_to(backend, i64::MAX)
        .await
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(history.len(), versions.len(), "{history:#?}");

    // Every release before this one: the schema after each migration but the last.
    for (applied, &version) in versions[..versions.len() - 1].iter().enumerate() {
        let db = TestDatabase::new(backend).await;
        migrate_up_to(&db, backend, version).await;
        assert_eq!(
            history_of(&db).await,
            history[..=applied],
            "the database stands at schema {version}"
        );
        binary_migrate(&db);
        assert_same_schema(
            &schema_of(&db).await,
            &current,
            &format!("migrated from schema {version}"),
        );
        assert_eq!(
            history_of(&db).await,
            history,
            "history after migrating from {version}"
        );
    }
}
