//! The audit log: who did what to which app, account or consent.

use crate::rows::audit_entry_from_row;
use crate::{PostgresStore, fetch_all};
use async_trait::async_trait;
use keyward_core::model::{AuditEntry, NewAuditEntry};
use keyward_core::store::{AuditStore, Page, StoreResult};

#[async_trait]
impl AuditStore for PostgresStore {
    async fn audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO audit_log (at, actor_id, action, target, detail, ip) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.at)
        .bind(entry.actor_id)
        .bind(entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .bind(&entry.ip);
        self.run(query).await
    }

    async fn list_audit(&self, action: Option<&str>, page: Page) -> StoreResult<Vec<AuditEntry>> {
        let query = sqlx::query(
            "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip FROM audit_log \
             WHERE $1 IS NULL OR action = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        );
        let query = query.bind(action).bind(page.limit).bind(page.offset);
        fetch_all(self.pool(), query, audit_entry_from_row).await
    }
}
