//! The audit log: who did what to which app, account or consent.

use crate::SqliteStore;
use crate::db::{all_rows, execute};
use async_trait::async_trait;
use keyward_core::model::{AuditEntry, NewAuditEntry};
use keyward_core::store::{AuditStore, Page, StoreResult};
use rusqlite::params;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        self.db()
            .append(|tx| {
                execute(
                    tx,
                    "INSERT INTO audit_log (at, actor_id, action, target, detail, ip) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        entry.at,
                        entry.actor_id,
                        entry.action,
                        entry.target,
                        entry.detail,
                        entry.ip
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn list_audit(&self, action: Option<&str>, page: Page) -> StoreResult<Vec<AuditEntry>> {
        self.db().read(|c| {
            all_rows(
                c,
                "SELECT id, at, actor_id, action, target, detail, ip FROM audit_log \
                 WHERE ?1 IS NULL OR action = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
                params![action, page.limit, page.offset],
                |row| {
                    Ok(AuditEntry {
                        id: row.get("id")?,
                        at: row.get("at")?,
                        actor_id: row.get("actor_id")?,
                        action: row.get("action")?,
                        target: row.get("target")?,
                        detail: row.get("detail")?,
                        ip: row.get("ip")?,
                    })
                },
            )
        })
    }
}
