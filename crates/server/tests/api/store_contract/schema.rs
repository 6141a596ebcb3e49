//! Migration parity: after migrating a fresh database, SQLite and PostgreSQL have the same tables,
//! columns (name, type family, nullability), primary keys and indexes. The two migration trees
//! are written by hand; this catches one of them drifting.

use crate::helpers::{Backend, TestDatabase};
use sqlx::Row;
use std::collections::BTreeSet;

/// The schema as comparable lines, e.g. `column users.email text null`.
type Schema = BTreeSet<String>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (KEYWARD_TEST_DATABASE_URL)"]
async fn both_backends_migrate_to_the_same_schema() {
    let sqlite = sqlite_schema().await;
    let postgres = postgres_schema().await;
    // Each kind of line is read on both sides (an empty reading would compare equal).
    for line in [
        "table users",
        "column users.email_verified integer not null",
        "column users.uuid text not null",
        "column sessions.id_hash bytes not null",
        "column users.email text null",
        "primary key identities (provider, subject)",
        "unique index users (uuid)",
        "unique index users (email) partial named users_verified_email",
        "index tokens (family_id) named tokens_family",
    ] {
        assert!(sqlite.contains(line), "SQLite lacks `{line}`: {sqlite:#?}");
        assert!(
            postgres.contains(line),
            "PostgreSQL lacks `{line}`: {postgres:#?}"
        );
    }
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migrations differ\nonly on SQLite: {only_sqlite:#?}\nonly on PostgreSQL: {only_postgres:#?}"
    );
}

/// SQLite has no boolean (0/1 with a CHECK) and no uuid (text): those count as the family they
/// are stored as.
fn family(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "smallint" | "boolean" => "integer",
        "text" | "uuid" | "character varying" => "text",
        "blob" | "bytea" => "bytes",
        other => panic!("a column type this test does not know: {other}"),
    }
}

fn column(table: &str, name: &str, declared: &str, nullable: bool) -> String {
    let null = if nullable { "null" } else { "not null" };
    format!("column {table}.{name} {} {null}", family(declared))
}

/// `name` is given for indexes made with `CREATE INDEX` (both trees use the same names), not for
/// those a UNIQUE constraint made (each backend names those its own way).
fn index(table: &str, columns: &str, unique: bool, partial: bool, name: Option<&str>) -> String {
    let kind = if unique { "unique index" } else { "index" };
    let partial = if partial { " partial" } else { "" };
    let name = name.map(|n| format!(" named {n}")).unwrap_or_default();
    format!("{kind} {table} ({columns}){partial}{name}")
}

async fn sqlite_schema() -> Schema {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let _store = keyward::app::open_store(&db.url, 1).await.expect("migrate");
    let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    for table in &tables {
        schema.insert(format!("table {table}"));
        let columns = sqlx::query(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY pk, cid",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .expect("columns");
        let mut key = Vec::new();
        for c in &columns {
            let name: String = c.get("name");
            let pk: i64 = c.get("pk");
            // A primary key column is never null, whatever SQLite's old quirk allows.
            let nullable = c.get::<i64, _>("notnull") == 0 && pk == 0;
            schema.insert(column(table, &name, c.get("type"), nullable));
            if pk > 0 {
                key.push(name);
            }
        }
        schema.insert(format!("primary key {table} ({})", key.join(", ")));
        let indexes = sqlx::query(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) \
             WHERE origin <> 'pk'",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .expect("indexes");
        for i in &indexes {
            let name: String = i.get("name");
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&pool)
                    .await
                    .expect("index columns");
            let explicit = i.get::<String, _>("origin") == "c";
            schema.insert(index(
                table,
                &columns.join(", "),
                i.get::<i64, _>("unique") != 0,
                i.get::<i64, _>("partial") != 0,
                explicit.then_some(name.as_str()),
            ));
        }
    }
    pool.close().await;
    schema
}

async fn postgres_schema() -> Schema {
    let db = TestDatabase::new(Backend::Postgres).await;
    let _store = keyward::app::open_store(&db.url, 1).await.expect("migrate");
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    for table in &tables {
        schema.insert(format!("table {table}"));
    }
    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
                is_nullable = 'YES' AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    for c in &columns {
        schema.insert(column(
            c.get("t"),
            c.get("c"),
            c.get("ty"),
            c.get("nullable"),
        ));
    }
    let indexes = sqlx::query(
        "SELECT t.relname::text AS t, i.relname::text AS name, ix.indisunique AS is_unique, \
                ix.indisprimary AS is_primary, ix.indpred IS NOT NULL AS partial, \
                NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid) \
                  AS explicit, \
                array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey) \
                  WITH ORDINALITY AS k(attnum, ord) JOIN pg_attribute a \
                  ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ', ') AS cols \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
           JOIN pg_class t ON t.oid = ix.indrelid \
         WHERE t.relnamespace = current_schema()::regnamespace AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .expect("indexes");
    for i in &indexes {
        let (table, columns): (String, String) = (i.get("t"), i.get("cols"));
        if i.get("is_primary") {
            schema.insert(format!("primary key {table} ({columns})"));
            continue;
        }
        let name: String = i.get("name");
        let explicit: bool = i.get("explicit");
        schema.insert(index(
            &table,
            &columns,
            i.get("is_unique"),
            i.get("partial"),
            explicit.then_some(name.as_str()),
        ));
    }
    pool.close().await;
    schema
}
