//! The audit log: who did what to which app, account or consent.

use crate::SqliteStore;
use crate::rows::audit_entry_from_row;
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
        const SQL: &str = "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip FROM audit_log \
             WHERE ?1 IS NULL OR action = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3";
        self.read_all(
            SQL,
            params![action, page.limit, page.offset],
            audit_entry_from_row,
        )
    }
}
