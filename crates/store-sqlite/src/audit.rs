//! The audit log: who did what to which app, account or consent.

use crate::SqliteStore;
use crate::rows::audit_entry_from_row;
use async_trait::async_trait;
use keyward_core::model::{AuditEntry, NewAuditEntry};
use keyward_core::store::{AuditFilter, AuditStore, Page, StoreResult};
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

    async fn list_audit(
        &self,
        filter: &AuditFilter<'_>,
        page: Page,
    ) -> StoreResult<Vec<AuditEntry>> {
        const SQL: &str = "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip \
             FROM audit_log WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR actor_id = ?2) \
             AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4) \
             ORDER BY id DESC LIMIT ?5 OFFSET ?6";
        self.read_all(
            SQL,
            params![
                filter.action,
                filter.actor,
                filter.since,
                filter.until,
                page.limit,
                page.offset
            ],
            audit_entry_from_row,
        )
    }

    async fn audit_after(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        self.read_all(
            "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip \
             FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit],
            audit_entry_from_row,
        )
    }
}
