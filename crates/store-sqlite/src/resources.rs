//! Resource servers (RFC 8707).

use crate::SqliteStore;
use crate::db::execute;
use crate::rows::resource_from_row;
use async_trait::async_trait;
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewResource, Resource, ResourcePatch, ResourcePk, ResourceScope};
use keyward_core::store::{ResourceStore, StoreError, StoreResult};
use rusqlite::params;

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
impl ResourceStore for SqliteStore {
    async fn create_resource(&self, r: NewResource) -> StoreResult<Resource> {
        let id = self
            .db()
            .write(|tx| {
                execute(
                    tx,
                    "INSERT INTO resources (identifier, name_zh, name_en, scopes, token_format, \
                     signing_alg, access_token_ttl_secs, introspection_client, created_at, \
                     updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                    params![
                        r.identifier,
                        r.name_zh,
                        r.name_en,
                        scopes_json(&r.scopes),
                        r.token_format.as_str(),
                        r.signing_alg.as_str(),
                        r.access_token_ttl_secs,
                        r.introspection_client_id,
                        r.created_at
                    ],
                )?;
                Ok(tx.last_insert_rowid())
            })
            .await?;
        self.resource_by_id(id)
            .await?
            .ok_or_else(|| StoreError::backend("the new resource is gone"))
    }

    async fn resource_by_id(&self, id: ResourcePk) -> StoreResult<Option<Resource>> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM resources WHERE id = ?1");
        self.read_one(SQL, [id], resource_from_row)
    }

    async fn resource_by_identifier(&self, identifier: &str) -> StoreResult<Option<Resource>> {
        const SQL: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM resources WHERE identifier = ?1"
        );
        self.read_one(SQL, [identifier], resource_from_row)
    }

    async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        const SQL: &str = concat!("SELECT ", columns!(), " FROM resources ORDER BY id");
        self.read_all(SQL, [], resource_from_row)
    }

    async fn patch_resource(
        &self,
        id: ResourcePk,
        patch: &ResourcePatch,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // A write, not an append: disabling a resource must reach cached token checks.
        self.changed(
            "UPDATE resources SET name_zh = COALESCE(?2, name_zh), \
             name_en = COALESCE(?3, name_en), scopes = COALESCE(?4, scopes), \
             token_format = COALESCE(?5, token_format), signing_alg = COALESCE(?6, signing_alg), \
             access_token_ttl_secs = COALESCE(?7, access_token_ttl_secs), \
             enabled = COALESCE(?8, enabled), updated_at = ?9, \
             introspection_client = CASE WHEN ?10 THEN ?11 ELSE introspection_client END \
             WHERE id = ?1",
            (
                id,
                patch.name_zh.clone(),
                patch.name_en.clone(),
                patch.scopes.as_deref().map(scopes_json),
                patch.token_format.map(|f| f.as_str()),
                patch.signing_alg.map(|a| a.as_str()),
                patch.access_token_ttl_secs,
                patch.enabled,
                now,
                patch.introspection_client_id.is_some(),
                patch.introspection_client_id.clone().flatten(),
            ),
        )
        .await
    }
}
