//! The audit log: who did what to which app, account or consent.

use crate::{SqliteStore, backend};
use async_trait::async_trait;
use keyward_core::model::{AuditEntry, NewAuditEntry};
use keyward_core::store::{AuditStore, Page, StoreResult};
use sqlx::Row;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, action, target, detail, ip) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.at)
        .bind(entry.actor_id)
        .bind(entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .bind(&entry.ip)
        .execute(self.writer())
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn list_audit(&self, action: Option<&str>, page: Page) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, action, target, detail, ip FROM audit_log \
             WHERE $1 IS NULL OR action = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(action)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                    ip: row.try_get("ip")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(backend)
    }
}
