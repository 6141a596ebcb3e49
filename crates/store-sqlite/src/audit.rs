//! The audit log: who did what to which app, account or consent.

use crate::SqliteStore;
use async_trait::async_trait;
use keyward_core::model::{AuditEntry, NewAuditEntry};
use keyward_core::store::{AuditStore, Page, StoreResult};
use rusqlite::params;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        self.append_one(
            "INSERT INTO audit_log (at, actor_id, action, target, detail, ip) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                entry.at,
                entry.actor_id,
                entry.action,
                entry.target,
                entry.detail,
                entry.ip,
            ),
        )
        .await
        .map(drop)
    }

    async fn list_audit(&self, action: Option<&str>, page: Page) -> StoreResult<Vec<AuditEntry>> {
        const SQL: &str = "SELECT id, at, actor_id, action, target, detail, ip FROM audit_log \
             WHERE ?1 IS NULL OR action = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3";
        self.read_all(SQL, params![action, page.limit, page.offset], |row| {
            Ok(AuditEntry {
                id: row.get("id")?,
                at: row.get("at")?,
                actor_id: row.get("actor_id")?,
                action: row.get("action")?,
                target: row.get("target")?,
                detail: row.get("detail")?,
                ip: row.get("ip")?,
            })
        })
    }
}
