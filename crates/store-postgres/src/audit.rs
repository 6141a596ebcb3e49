//! The audit log: who did what to which app, account or consent.

use crate::rows::audit_entry_from_row;
use crate::{PostgresStore, fetch_all};
use async_trait::async_trait;
use keyward_core::model::{AuditEntry, NewAuditEntry};
use keyward_core::store::{AuditFilter, AuditStore, Page, StoreResult};

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

    async fn list_audit(
        &self,
        filter: &AuditFilter<'_>,
        page: Page,
    ) -> StoreResult<Vec<AuditEntry>> {
        let query = sqlx::query(
            "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip FROM audit_log \
             WHERE ($1::TEXT IS NULL OR action = $1) AND ($2::BIGINT IS NULL OR actor_id = $2) \
             AND ($3::BIGINT IS NULL OR at >= $3) AND ($4::BIGINT IS NULL OR at < $4) \
             ORDER BY id DESC LIMIT $5 OFFSET $6",
        );
        let query = query
            .bind(filter.action)
            .bind(filter.actor)
            .bind(filter.since)
            .bind(filter.until)
            .bind(page.limit)
            .bind(page.offset);
        fetch_all(self.pool(), query, audit_entry_from_row).await
    }

    async fn audit_after(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let query = sqlx::query(
            "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip FROM audit_log \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit);
        fetch_all(self.pool(), query, audit_entry_from_row).await
    }
}
