//! Resource servers (RFC 8707).

use crate::rows::resource_from_row;
use crate::{PostgresStore, fetch_all, fetch_optional};
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewResource, Resource, ResourcePatch, ResourcePk, ResourceScope};
use keyward_core::store::{ResourceStore, StoreError, StoreResult};

macro_rules! columns {
    () => {
        "id, identifier, name_zh, name_en, scopes, token_format, signing_alg, \
         access_token_ttl_secs, introspection_client, enabled, created_at, updated_at"
    };
}

fn scopes_json(scopes: &[ResourceScope]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl ResourceStore for PostgresStore {
    async fn create_resource(&self, r: NewResource) -> StoreResult<Resource> {
        let id: ResourcePk = sqlx::query_scalar(
            "INSERT INTO resources (identifier, name_zh, name_en, scopes, token_format, \
             signing_alg, access_token_ttl_secs, introspection_client, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(&r.identifier)
        .bind(&r.name_zh)
        .bind(&r.name_en)
        .bind(scopes_json(&r.scopes))
        .bind(r.token_format.as_str())
        .bind(r.signing_alg.as_str())
        .bind(r.access_token_ttl_secs)
        .bind(&r.introspection_client_id)
        .bind(r.created_at)
        .fetch_one(self.pool())
        .await
        .map_err(crate::store_error)?;
        self.resource_by_id(id)
            .await?
            .ok_or_else(|| StoreError::backend("the new resource is gone"))
    }

    async fn resource_by_id(&self, id: ResourcePk) -> StoreResult<Option<Resource>> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM resources WHERE id = $1");
        fetch_optional(self.pool(), sqlx::query(SQL).bind(id), resource_from_row).await
    }

    async fn resource_by_identifier(&self, identifier: &str) -> StoreResult<Option<Resource>> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM resources WHERE identifier = $1"
        );
        let query = sqlx::query(SQL).bind(identifier);
        fetch_optional(self.pool(), query, resource_from_row).await
    }

    async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM resources ORDER BY id");
        fetch_all(self.pool(), sqlx::query(SQL), resource_from_row).await
    }

    async fn patch_resource(
        &self,
        id: ResourcePk,
        patch: &ResourcePatch,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE resources SET name_zh = COALESCE($2, name_zh), \
             name_en = COALESCE($3, name_en), scopes = COALESCE($4, scopes), \
             token_format = COALESCE($5, token_format), signing_alg = COALESCE($6, signing_alg), \
             access_token_ttl_secs = COALESCE($7, access_token_ttl_secs), \
             enabled = COALESCE($8, enabled), updated_at = $9, \
             introspection_client = CASE WHEN $10 THEN $11 ELSE introspection_client END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(&patch.name_zh)
        .bind(&patch.name_en)
        .bind(patch.scopes.as_deref().map(scopes_json))
        .bind(patch.token_format.map(|f| f.as_str()))
        .bind(patch.signing_alg.map(|a| a.as_str()))
        .bind(patch.access_token_ttl_secs)
        .bind(patch.enabled)
        .bind(now)
        .bind(patch.introspection_client_id.is_some())
        .bind(patch.introspection_client_id.clone().flatten());
        self.changed(query).await
    }
}
