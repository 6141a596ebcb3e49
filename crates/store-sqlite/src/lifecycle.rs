//! The life of an account: the audit records about one user.

use crate::SqliteStore;
use crate::rows::audit_entry_from_row;
use async_trait::async_trait;
use keyward_core::model::AuditEntry;
use keyward_core::store::{LifecycleStore, StoreError, StoreResult, UserAuditQuery};
use rusqlite::params;

#[async_trait]
impl LifecycleStore for SqliteStore {
    async fn audit_about_user(&self, query: &UserAuditQuery<'_>) -> StoreResult<Vec<AuditEntry>> {
        // The actions travel as one JSON array, read back by json_each: no SQL built from input.
        const SQL: &str = "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip \
             FROM audit_log \
             WHERE (target = ?2 AND action IN (SELECT value FROM json_each(?3))) \
                OR (?4 AND actor_id = ?1) \
             ORDER BY id DESC LIMIT ?5 OFFSET ?6";
        let actions = serde_json::to_string(query.actions).map_err(StoreError::backend)?;
        self.read_all(
            SQL,
            params![
                query.user,
                query.user.to_string(),
                actions,
                query.include_acted,
                query.page.limit,
                query.page.offset
            ],
            audit_entry_from_row,
        )
    }
}
