//! The life of an account: the audit records about one user.

use crate::rows::audit_entry_from_row;
use crate::{PostgresStore, fetch_all};
use async_trait::async_trait;
use keyward_core::model::AuditEntry;
use keyward_core::store::{LifecycleStore, StoreResult, UserAuditQuery};

#[async_trait]
impl LifecycleStore for PostgresStore {
    async fn audit_about_user(&self, query: &UserAuditQuery<'_>) -> StoreResult<Vec<AuditEntry>> {
        let actions: Vec<String> = query.actions.iter().map(|a| (*a).to_owned()).collect();
        let sql = sqlx::query(
            "SELECT id, at, actor_id, actor_pseudonym, action, target, detail, ip \
             FROM audit_log \
             WHERE (target = $2 AND action = ANY($3)) OR ($4 AND actor_id = $1) \
             ORDER BY id DESC LIMIT $5 OFFSET $6",
        )
        .bind(query.user)
        .bind(query.user.to_string())
        .bind(actions)
        .bind(query.include_acted)
        .bind(query.page.limit)
        .bind(query.page.offset);
        fetch_all(self.pool(), sql, audit_entry_from_row).await
    }
}
