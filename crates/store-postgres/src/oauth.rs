//! Apps, consents, authorization codes, token families and tokens.

use crate::changes::Table;
use crate::grants::{self, Gate};
use crate::rows::{
    access_from_row, auth_code_from_row, client_from_row, consent_from_row,
    token_and_user_from_row, token_from_row,
};
use crate::{PgQuery, PostgresStore, backend, execute, fetch_all, fetch_optional};
use async_trait::async_trait;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::clock::UnixTime;
use keyward_core::model::{
    AccessContext, AuthCode, Client, ClientDetails, ClientKind, ClientMetadata, ClientPatch,
    ClientPk, ClientStatus, Consent, GrantType, NewClient, NewFamily, NewToken, TokenRecord, User,
    UserId,
};
use keyward_core::oauth::audience::ResourceGrants;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::secret::SecretHash;
use keyward_core::store::{OAuthStore, Page, StoreResult};
use sqlx::{Postgres, Transaction};

macro_rules! client_columns {
    () => {
        "c.id, c.client_id, c.owner_id, c.name, c.description, c.redirect_uris, \
         c.post_logout_redirect_uris, c.allowed_scopes, c.grant_types, c.public, c.secret_hash, \
         c.previous_secret_hash, c.previous_secret_expires_at, c.secret_revealed_at, c.status, \
         c.review_note, c.trusted, c.may_spend, c.billing_service, c.id_token_alg, c.allowed_resources, \
         c.token_endpoint_auth_method, c.jwks, c.jwks_uri, c.kind, c.registration_token_hash, \
         c.metadata_expires_at, c.last_used_at, c.logo_uri, c.client_uri, c.policy_uri, \
         c.pending_change, c.pending_since, c.reviewed_at, c.created_at AS client_created_at, c.updated_at AS client_updated_at"
    };
}

macro_rules! token_columns {
    () => {
        "t.token_hash, t.kind, t.family_id, f.client, f.user_id AS family_user_id, t.scopes, \
         t.resources, \
         t.created_at AS token_created_at, t.expires_at AS token_expires_at, t.used_at, \
         COALESCE(t.revoked_at, f.revoked_at) AS token_revoked_at, f.auth_time"
    };
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl PostgresStore {
    /// The app `query` (selecting `client_columns!()`) finds.
    async fn one_client(&self, query: PgQuery<'_>) -> StoreResult<Option<Client>> {
        fetch_optional(self.pool(), query, client_from_row).await
    }

    /// The apps `query` (selecting `client_columns!()`) finds.
    async fn clients_where(&self, query: PgQuery<'_>) -> StoreResult<Vec<Client>> {
        fetch_all(self.pool(), query, client_from_row).await
    }
}

#[async_trait]
impl OAuthStore for PostgresStore {
    async fn create_client(&self, c: NewClient) -> StoreResult<Client> {
        let pk: ClientPk = sqlx::query_scalar(
            "INSERT INTO clients (client_id, owner_id, name, description, redirect_uris, \
             allowed_scopes, grant_types, public, secret_hash, secret_revealed_at, status, \
             created_at, updated_at, post_logout_redirect_uris, id_token_alg, \
             token_endpoint_auth_method, jwks, jwks_uri, kind, registration_token_hash, \
             metadata_expires_at, logo_uri, client_uri, policy_uri) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23) RETURNING id",
        )
        .bind(&c.client_id)
        .bind(c.owner_id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(to_json(&c.redirect_uris))
        .bind(c.allowed_scopes.to_string())
        .bind(GrantType::join(&c.grant_types))
        .bind(c.public)
        .bind(c.secret_hash.as_ref().map(SecretHash::as_bytes))
        .bind(c.secret_revealed_at)
        .bind(c.status.as_str())
        .bind(c.created_at)
        .bind(to_json(&c.post_logout_redirect_uris))
        .bind(c.id_token_alg.as_str())
        .bind(c.auth_method.as_str())
        .bind(&c.jwks)
        .bind(&c.jwks_uri)
        .bind(c.kind.as_str())
        .bind(c.registration_token_hash.as_ref().map(SecretHash::as_bytes))
        .bind(c.metadata_expires_at)
        .bind(&c.logo_uri)
        .bind(&c.client_uri)
        .bind(&c.policy_uri)
        .fetch_one(self.pool())
        .await
        .map_err(crate::store_error)?;
        self.changes.made_here(Table::Clients);
        self.client_by_pk(pk)
            .await?
            .ok_or_else(|| backend("the inserted app is gone"))
    }

    async fn client_by_pk(&self, pk: ClientPk) -> StoreResult<Option<Client>> {
        let q = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients c WHERE c.id = $1"
        ));
        self.one_client(q.bind(pk)).await
    }

    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let generation = self.changes.generation(Table::Clients);
        if let Some(cached) = generation.and_then(|g| self.clients.get(client_id, g)) {
            return Ok(Some(cached));
        }
        let q = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients c WHERE c.client_id = $1"
        ));
        let found = self.one_client(q.bind(client_id)).await?;
        if let (Some(client), Some(generation)) = (&found, generation) {
            self.clients.insert(client_id, generation, client);
        }
        Ok(found)
    }

    async fn clients_of_owner(&self, owner: UserId) -> StoreResult<Vec<Client>> {
        let q = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients c WHERE c.owner_id = $1 ORDER BY c.id DESC"
        ));
        self.clients_where(q.bind(owner)).await
    }

    async fn list_clients(
        &self,
        status: Option<ClientStatus>,
        page: Page,
    ) -> StoreResult<Vec<Client>> {
        let q = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients c WHERE $1 IS NULL OR c.status = $1 ORDER BY c.id DESC LIMIT $2 OFFSET $3"
        ));
        self.clients_where(
            q.bind(status.map(ClientStatus::as_str))
                .bind(page.limit)
                .bind(page.offset),
        )
        .await
    }

    async fn patch_client(
        &self,
        pk: ClientPk,
        patch: &ClientPatch,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let update = sqlx::query(
            "UPDATE clients SET status = COALESCE($2, status), \
             review_note = COALESCE($3, review_note), trusted = COALESCE($4, trusted), \
             allowed_scopes = COALESCE($5, allowed_scopes), updated_at = $6, \
             reviewed_at = CASE WHEN $2 = 'approved' THEN $6 ELSE reviewed_at END, \
             allowed_resources = CASE WHEN $7 THEN $8 ELSE allowed_resources END, \
             may_spend = COALESCE($9, may_spend), \
             billing_service = COALESCE($10, billing_service) WHERE id = $1",
        )
        .bind(pk)
        .bind(patch.status.map(ClientStatus::as_str))
        .bind(&patch.review_note)
        .bind(patch.trusted)
        .bind(patch.allowed_scopes.map(|s| s.to_string()))
        .bind(now)
        .bind(patch.allowed_resources.is_some())
        .bind(
            patch
                .allowed_resources
                .as_ref()
                .and_then(|list| list.as_deref().map(to_json)),
        )
        .bind(patch.may_spend)
        .bind(patch.billing_service);
        let changed = execute(&mut *tx, update).await?;
        // An app that is no longer approved loses every code and token at once and for good.
        if patch.status.is_some_and(|s| s != ClientStatus::Approved) {
            cut_off_client(&mut tx, pk, now).await?;
        }
        tx.commit().await.map_err(backend)?;
        self.changes.made_here(Table::Clients);
        Ok(changed > 0)
    }

    async fn reveal_secret(
        &self,
        pk: ClientPk,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE clients SET secret_hash = $2, secret_revealed_at = $3, updated_at = $3 \
             WHERE id = $1 AND status = 'approved' AND NOT public AND secret_revealed_at IS NULL",
        );
        self.clients_changed(query.bind(pk).bind(hash.as_bytes()).bind(now))
            .await
    }

    async fn rotate_secret(
        &self,
        pk: ClientPk,
        hash: &SecretHash,
        previous_expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE clients SET \
               previous_secret_hash = CASE WHEN $3 IS NULL THEN NULL ELSE secret_hash END, \
               previous_secret_expires_at = $3, \
               secret_hash = $2, secret_revealed_at = $4, updated_at = $4 \
             WHERE id = $1 AND NOT public",
        )
        .bind(pk)
        .bind(hash.as_bytes())
        .bind(previous_expires_at)
        .bind(now);
        self.clients_changed(query).await
    }

    async fn clients_with_pending_change(&self, page: Page) -> StoreResult<Vec<Client>> {
        let q = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients c WHERE c.pending_change IS NOT NULL \
             ORDER BY c.pending_since, c.id LIMIT $1 OFFSET $2"
        ));
        self.clients_where(q.bind(page.limit).bind(page.offset))
            .await
    }

    async fn edit_client(
        &self,
        pk: ClientPk,
        d: &ClientDetails,
        pending: Option<(&ClientDetails, UnixTime)>,
        reviewed: Option<Option<UnixTime>>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE clients SET name = $2, description = $3, redirect_uris = $4, \
               post_logout_redirect_uris = $5, allowed_scopes = $6, logo_uri = $7, \
               client_uri = $8, policy_uri = $9, pending_change = $10, pending_since = $11, \
               updated_at = $12, \
               reviewed_at = CASE WHEN $13 THEN $14 ELSE reviewed_at END \
             WHERE id = $1 AND kind = 'console'",
        )
        .bind(pk)
        .bind(&d.name)
        .bind(&d.description)
        .bind(to_json(&d.redirect_uris))
        .bind(to_json(&d.post_logout_redirect_uris))
        .bind(d.scope_set().to_string())
        .bind(&d.logo_uri)
        .bind(&d.client_uri)
        .bind(&d.policy_uri)
        .bind(pending.map(|(change, _)| change.to_json()))
        .bind(pending.map(|(_, since)| since))
        .bind(now)
        .bind(reviewed.is_some())
        .bind(reviewed.flatten());
        self.clients_changed(query).await
    }

    async fn delete_client(&self, pk: ClientPk) -> StoreResult<bool> {
        self.clients_changed(sqlx::query("DELETE FROM clients WHERE id = $1").bind(pk))
            .await
    }

    async fn purge_unused_dynamic_clients(&self, created_before: UnixTime) -> StoreResult<u64> {
        // Foreign keys cascade to the client's pending codes and device codes.
        let query = sqlx::query(
            "DELETE FROM clients WHERE kind = 'dynamic' AND created_at <= $1 \
             AND last_used_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.client = clients.id) \
             AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.client = clients.id)",
        )
        .bind(created_before);
        let purged = execute(self.pool(), query).await?;
        self.changes.made_here(Table::Clients);
        Ok(purged)
    }

    async fn update_client_metadata(
        &self,
        pk: ClientPk,
        m: &ClientMetadata,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.clients_changed(
            sqlx::query(
                "UPDATE clients SET name = $2, redirect_uris = $3, grant_types = $4, \
                 allowed_scopes = $5, public = $6, token_endpoint_auth_method = $7, jwks = $8, \
                 jwks_uri = $9, metadata_expires_at = $10, updated_at = $11 \
                 WHERE id = $1 AND kind <> 'console'",
            )
            .bind(pk)
            .bind(&m.name)
            .bind(to_json(&m.redirect_uris))
            .bind(GrantType::join(&m.grant_types))
            .bind(m.allowed_scopes.to_string())
            .bind(m.public)
            .bind(m.auth_method.as_str())
            .bind(&m.jwks)
            .bind(&m.jwks_uri)
            .bind(m.metadata_expires_at)
            .bind(now),
        )
        .await
    }

    async fn clients_of_kind(
        &self,
        kind: ClientKind,
        page: Page,
    ) -> StoreResult<Vec<(Client, i64)>> {
        let q = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            ", (SELECT COUNT(*) FROM consents k WHERE k.client = c.id) AS consent_count \
             FROM clients c WHERE c.kind = $1 \
             ORDER BY COALESCE(c.last_used_at, c.created_at) DESC, c.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(kind.as_str())
        .bind(page.limit)
        .bind(page.offset);
        fetch_all(self.pool(), q, |row| {
            Ok((
                client_from_row(row)?,
                sqlx::Row::try_get(row, "consent_count")?,
            ))
        })
        .await
    }

    async fn touch_client(&self, pk: ClientPk, now: UnixTime, every: i64) -> StoreResult<()> {
        self.clients_changed(
            sqlx::query(
                "UPDATE clients SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2 - $3)",
            )
            .bind(pk)
            .bind(now)
            .bind(every),
        )
        .await
        .map(drop)
    }

    async fn use_assertion_jti(
        &self,
        client: ClientPk,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.changed(
            sqlx::query(
                "INSERT INTO client_assertion_jtis (client, jti, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (client, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 WHERE client_assertion_jtis.expires_at <= $4",
            )
            .bind(client)
            .bind(jti)
            .bind(expires_at)
            .bind(now),
        )
        .await
    }

    async fn consent(&self, user: UserId, client: ClientPk) -> StoreResult<Option<Consent>> {
        let query = sqlx::query(
            "SELECT user_id AS consent_user_id, client AS consent_client, scopes AS consent_scopes, \
             resources AS consent_resources, \
             created_at AS consent_created_at, updated_at AS consent_updated_at, \
             last_used_at AS consent_last_used_at, spend_limit AS consent_spend_limit, \
             spend_period AS consent_spend_period FROM consents WHERE user_id = $1 AND client = $2",
        );
        fetch_optional(self.pool(), query.bind(user).bind(client), consent_from_row).await
    }

    async fn save_consent(
        &self,
        user: UserId,
        client: ClientPk,
        scopes: ScopeSet,
        resources: &ResourceGrants,
        spend_limit: Option<SpendLimit>,
        now: UnixTime,
    ) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO consents (user_id, client, scopes, resources, created_at, updated_at, \
             spend_limit, spend_period) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) \
             ON CONFLICT (user_id, client) \
             DO UPDATE SET scopes = consents.scopes | excluded.scopes, \
             resources = excluded.resources, updated_at = excluded.updated_at, \
             spend_limit = COALESCE(excluded.spend_limit, consents.spend_limit), \
             spend_period = COALESCE(excluded.spend_period, consents.spend_period)",
        );
        let query = query.bind(user).bind(client).bind(scopes.bits());
        let query = query.bind(resources.to_storage()).bind(now);
        self.run(
            query
                .bind(spend_limit.map(|l| l.amount))
                .bind(spend_limit.map(|l| l.period.as_str())),
        )
        .await
    }

    async fn change_spend_limit(
        &self,
        user: UserId,
        client: ClientPk,
        expected: SpendLimit,
        new: SpendLimit,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE consents SET spend_limit = $3, spend_period = $4 \
             WHERE user_id = $1 AND client = $2 AND spend_limit = $5 AND spend_period = $6",
        );
        let query = query.bind(user).bind(client);
        let query = query.bind(new.amount).bind(new.period.as_str());
        self.changed(query.bind(expected.amount).bind(expected.period.as_str()))
            .await
    }

    async fn consents_of_user(&self, user: UserId) -> StoreResult<Vec<(Consent, Client)>> {
        let query = sqlx::query(concat!(
            "SELECT g.user_id AS consent_user_id, g.client AS consent_client, \
             g.scopes AS consent_scopes, g.resources AS consent_resources, \
             g.created_at AS consent_created_at, \
             g.updated_at AS consent_updated_at, g.last_used_at AS consent_last_used_at, \
             g.spend_limit AS consent_spend_limit, g.spend_period AS consent_spend_period, ",
            client_columns!(),
            " FROM consents g JOIN clients c ON c.id = g.client WHERE g.user_id = $1 \
              ORDER BY g.updated_at DESC"
        ));
        fetch_all(self.pool(), query.bind(user), |row| {
            Ok((consent_from_row(row)?, client_from_row(row)?))
        })
        .await
    }

    async fn revoke_consent(
        &self,
        user: UserId,
        client: ClientPk,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let forget = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client = $2");
        let consents = execute(&mut *tx, forget.bind(user).bind(client)).await?;
        let revoke = sqlx::query(
            "UPDATE token_families SET revoked_at = $3 \
             WHERE user_id = $1 AND client = $2 AND revoked_at IS NULL",
        );
        let families = execute(&mut *tx, revoke.bind(user).bind(client).bind(now)).await?;
        let codes = sqlx::query("DELETE FROM auth_codes WHERE user_id = $1 AND client = $2");
        execute(&mut *tx, codes.bind(user).bind(client)).await?;
        // A device approved but not yet collected gets nothing either (RFC 8628).
        let devices = sqlx::query(
            "UPDATE device_codes SET status = 'denied' \
             WHERE user_id = $1 AND client = $2 AND status = 'approved'",
        );
        execute(&mut *tx, devices.bind(user).bind(client)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(consents + families > 0)
    }

    async fn create_code(&self, code: AuthCode) -> StoreResult<()> {
        let query = sqlx::query(
            "INSERT INTO auth_codes (code_hash, client, user_id, redirect_uri, scopes, \
             code_challenge, nonce, auth_time, created_at, expires_at, resources) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(code.hash.as_bytes())
        .bind(code.client)
        .bind(code.user_id)
        .bind(&code.redirect_uri)
        .bind(code.scopes.to_string())
        .bind(&code.code_challenge)
        .bind(&code.nonce)
        .bind(code.auth_time)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.resources.to_storage());
        self.run(query).await
    }

    async fn code_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<AuthCode>> {
        let query = sqlx::query(
            "SELECT code_hash, client, user_id, redirect_uri, scopes, resources, code_challenge, nonce, \
             auth_time, created_at, expires_at, used_at FROM auth_codes WHERE code_hash = $1",
        );
        fetch_optional(self.pool(), query.bind(hash.as_bytes()), auth_code_from_row).await
    }

    async fn redeem_code(
        &self,
        hash: &SecretHash,
        family: NewFamily,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        grants::start_family(self.pool(), Gate::Code(hash), &family, tokens, now).await
    }

    async fn revoke_code_family(&self, code: &SecretHash, now: UnixTime) -> StoreResult<u64> {
        let query = sqlx::query(
            "UPDATE token_families SET revoked_at = $2 WHERE code_hash = $1 AND revoked_at IS NULL",
        );
        execute(self.pool(), query.bind(code.as_bytes()).bind(now)).await
    }

    async fn issue_family(&self, family: NewFamily, tokens: &[NewToken]) -> StoreResult<i64> {
        let now = family.created_at;
        grants::start_family(self.pool(), Gate::None, &family, tokens, now)
            .await?
            .ok_or_else(|| backend("the new token family is gone"))
    }

    async fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens t JOIN token_families f ON f.id = t.family_id WHERE t.token_hash = $1"
        ));
        fetch_optional(self.pool(), query.bind(hash.as_bytes()), token_from_row).await
    }

    async fn token_with_user(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<(TokenRecord, Option<User>)>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            user_columns!(),
            " FROM tokens t JOIN token_families f ON f.id = t.family_id \
              LEFT JOIN users u ON u.id = f.user_id WHERE t.token_hash = $1"
        ));
        fetch_optional(
            self.pool(),
            query.bind(hash.as_bytes()),
            token_and_user_from_row,
        )
        .await
    }

    async fn rotate_refresh(
        &self,
        old: &SecretHash,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<bool> {
        grants::rotate_refresh(self.pool(), old, tokens, now).await
    }

    async fn revoke_family(&self, family_id: i64, now: UnixTime) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        );
        self.run(query.bind(family_id).bind(now)).await
    }

    async fn revoke_token(&self, hash: &SecretHash, now: UnixTime) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
        );
        self.run(query.bind(hash.as_bytes()).bind(now)).await
    }

    async fn access_context(
        &self,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<AccessContext>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            ", c.client_id, c.allowed_scopes, ",
            user_columns!(),
            " FROM tokens t JOIN token_families f ON f.id = t.family_id \
              JOIN clients c ON c.id = f.client \
              LEFT JOIN users u ON u.id = f.user_id \
              WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 \
                AND t.revoked_at IS NULL AND f.revoked_at IS NULL AND c.status = 'approved' \
                AND (f.user_id IS NULL OR u.status = 1)"
        ));
        let query = query.bind(hash.as_bytes()).bind(now);
        fetch_optional(self.pool(), query, access_from_row).await
    }
}

/// What an app that is no longer approved loses, at once and for good: every token and code
/// (an admin's disabling, and the disabling of a deleted account's apps).
pub(crate) async fn cut_off_client(
    tx: &mut Transaction<'static, Postgres>,
    pk: ClientPk,
    now: UnixTime,
) -> StoreResult<()> {
    let revoke = sqlx::query(
        "UPDATE token_families SET revoked_at = $2 WHERE client = $1 AND revoked_at IS NULL",
    );
    execute(&mut **tx, revoke.bind(pk).bind(now)).await?;
    let forget = sqlx::query("DELETE FROM auth_codes WHERE client = $1");
    execute(&mut **tx, forget.bind(pk)).await?;
    Ok(())
}
