//! Nodes starting together on a fresh database, and a node started before its database: every
//! node comes up, the first admin and the signing keys are made once.

use crate::helpers::{Backend, TestApp, TestDatabase, get_json, postgres_base_url, test_config};
use crate::on_both_backends;
use keyward::app::Node;
use reqwest::StatusCode;

on_both_backends!(nodes_started_together_on_a_fresh_database_all_come_up_with_one_admin);

async fn nodes_started_together_on_a_fresh_database_all_come_up_with_one_admin(backend: Backend) {
    for _ in 0..5 {
        let db = TestDatabase::new(backend).await;
        // No configured admin: each node would generate one.
        let config = || {
            let mut config = test_config(&db);
            config.admin_username = None;
            config.admin_password = None;
            config
        };
        let (a, b) = tokio::join!(
            TestApp::start(db.clone(), config()),
            TestApp::start(db.clone(), config())
        );
        let store = keyward::app::open_store(&db.url, 1).await.expect("store");
        assert_eq!(store.count_admins().await.expect("count"), 1);
        // One key per algorithm, the same at both nodes.
        let (_, at_a) = get_json(&a.client(), &a.url("/oauth2/jwks")).await;
        let (status, at_b) = get_json(&b.client(), &b.url("/oauth2/jwks")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(at_a, at_b);
        let algs: Vec<&str> = at_a["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["alg"].as_str())
            .collect();
        let mut distinct = algs.clone();
        distinct.dedup();
        assert_eq!(algs, distinct, "{at_a}");
    }
}

/// A node whose PostgreSQL database does not exist yet keeps trying, and comes up once it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (KEYWARD_TEST_DATABASE_URL)"]
async fn a_node_started_before_its_database_comes_up_when_the_database_does() {
    let base = postgres_base_url().expect("KEYWARD_TEST_DATABASE_URL");
    let name = format!("kwlate_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(&base).expect("url");
    url.set_path(&format!("/{name}"));
    let db = TestDatabase::new(Backend::Postgres).await;
    let mut config = test_config(&db);
    config.database_url = url.to_string();
    config.database_wait_secs = 60;
    let admin = sqlx::PgPool::connect(&base).await.expect("postgres");
    let created = std::sync::atomic::AtomicBool::new(false);
    let build = async {
        let node = Node::build(config).await;
        assert!(
            created.load(std::sync::atomic::Ordering::SeqCst),
            "came up before its database existed: {:?}",
            node.as_ref().err()
        );
        node
    };
    let create = async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        created.store(true, std::sync::atomic::Ordering::SeqCst);
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create database");
    };
    let (node, ()) = tokio::join!(build, create);
    let node = node.expect("the node came up");
    node.bootstrap().await.expect("admin and keys");
    assert_eq!(node.state.store.count_admins().await.expect("count"), 1);
    drop(node);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .expect("drop database");
}
