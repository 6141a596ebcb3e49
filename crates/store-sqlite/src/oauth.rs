//! Apps, consents, authorization codes, token families and tokens.

use crate::db::{execute, first_row, store_error};
use crate::rows::{
    access_from_row, auth_code_from_row, client_from_row, consent_from_row,
    token_and_user_from_row, token_from_row,
};
use crate::{SqliteStore, backend};
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
use rusqlite::{Connection, OptionalExtension, params};

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

const CLIENT_BY_PK: &str = concat!(
    "SELECT ",
    client_columns!(),
    " FROM clients c WHERE c.id = ?1"
);

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn insert_tokens(
    tx: &Connection,
    family_id: i64,
    tokens: &[NewToken],
    now: UnixTime,
) -> StoreResult<()> {
    for token in tokens {
        execute(
            tx,
            "INSERT INTO tokens (token_hash, kind, family_id, scopes, resources, created_at, \
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token.hash.as_bytes(),
                token.kind.as_str(),
                family_id,
                token.scopes.to_string(),
                token.resources.to_storage(),
                now,
                token.expires_at
            ],
        )?;
    }
    Ok(())
}

fn insert_family(tx: &Connection, family: &NewFamily) -> StoreResult<i64> {
    execute(
        tx,
        "INSERT INTO token_families (client, user_id, code_hash, auth_time, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            family.client,
            family.user_id,
            family.code_hash.as_ref().map(SecretHash::as_bytes),
            family.auth_time,
            family.created_at
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The first tokens of a grant a user approved (a code, a device authorization): the family,
/// its tokens, and the consent marked as used now.
pub(crate) fn start_grant_family(
    tx: &Connection,
    family: &NewFamily,
    tokens: &[NewToken],
    now: UnixTime,
) -> StoreResult<i64> {
    let family_id = insert_family(tx, family)?;
    insert_tokens(tx, family_id, tokens, now)?;
    if let Some(user) = family.user_id {
        touch_consent(tx, user, family.client, now)?;
    }
    Ok(family_id)
}

fn touch_consent(
    tx: &Connection,
    user: UserId,
    client: ClientPk,
    now: UnixTime,
) -> StoreResult<()> {
    execute(
        tx,
        "UPDATE consents SET last_used_at = ?3 WHERE user_id = ?1 AND client = ?2",
        params![user, client, now],
    )
    .map(drop)
}

impl SqliteStore {
    /// The apps `sql` (selecting `client_columns!()`) finds with `params`.
    fn clients_where(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<Client>> {
        self.read_all(sql, params, client_from_row)
    }
}

#[async_trait]
impl OAuthStore for SqliteStore {
    async fn create_client(&self, c: NewClient) -> StoreResult<Client> {
        self.db()
            .write(|tx| {
                execute(
                    tx,
                    "INSERT INTO clients (client_id, owner_id, name, description, redirect_uris, \
                 allowed_scopes, grant_types, public, secret_hash, secret_revealed_at, status, \
                 created_at, updated_at, post_logout_redirect_uris, id_token_alg, \
                 token_endpoint_auth_method, jwks, jwks_uri, kind, registration_token_hash, \
                 metadata_expires_at, logo_uri, client_uri, policy_uri) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
                    params![
                        c.client_id,
                        c.owner_id,
                        c.name,
                        c.description,
                        to_json(&c.redirect_uris),
                        c.allowed_scopes.to_string(),
                        GrantType::join(&c.grant_types),
                        c.public,
                        c.secret_hash.as_ref().map(SecretHash::as_bytes),
                        c.secret_revealed_at,
                        c.status.as_str(),
                        c.created_at,
                        to_json(&c.post_logout_redirect_uris),
                        c.id_token_alg.as_str(),
                        c.auth_method.as_str(),
                        c.jwks,
                        c.jwks_uri,
                        c.kind.as_str(),
                        c.registration_token_hash.as_ref().map(SecretHash::as_bytes),
                        c.metadata_expires_at,
                        c.logo_uri,
                        c.client_uri,
                        c.policy_uri
                    ],
                )?;
                let pk = tx.last_insert_rowid();
                first_row(tx, CLIENT_BY_PK, [pk], client_from_row)?
                    .ok_or_else(|| backend("the inserted app is gone"))
            })
            .await
    }

    async fn client_by_pk(&self, pk: ClientPk) -> StoreResult<Option<Client>> {
        self.read_one(CLIENT_BY_PK, [pk], client_from_row)
    }

    async fn client_by_client_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
        const SQL: &str = concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients c WHERE c.client_id = ?1"
        );
        let generation = self.db().generation();
        self.clients.get_or_read(
            client_id,
            generation,
            |_| true,
            || self.read_one(SQL, [client_id], client_from_row),
        )
    }

    async fn clients_of_owner(&self, owner: UserId) -> StoreResult<Vec<Client>> {
        self.clients_where(
            concat!(
                "SELECT ",
                client_columns!(),
                " FROM clients c WHERE c.owner_id = ?1 ORDER BY c.id DESC"
            ),
            [owner],
        )
    }

    async fn list_clients(
        &self,
        status: Option<ClientStatus>,
        page: Page,
    ) -> StoreResult<Vec<Client>> {
        self.clients_where(
            concat!(
                "SELECT ",
                client_columns!(),
                " FROM clients c WHERE ?1 IS NULL OR c.status = ?1 \
                 ORDER BY c.id DESC LIMIT ?2 OFFSET ?3"
            ),
            params![status.map(ClientStatus::as_str), page.limit, page.offset],
        )
    }

    async fn patch_client(
        &self,
        pk: ClientPk,
        patch: &ClientPatch,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.db()
            .write(|tx| {
                let changed = execute(
                    tx,
                    "UPDATE clients SET status = COALESCE(?2, status), \
                 review_note = COALESCE(?3, review_note), trusted = COALESCE(?4, trusted), \
                 reviewed_at = CASE WHEN ?2 = 'approved' THEN ?6 ELSE reviewed_at END, \
                 allowed_scopes = COALESCE(?5, allowed_scopes), updated_at = ?6, \
                 allowed_resources = CASE WHEN ?7 THEN ?8 ELSE allowed_resources END, \
                 may_spend = COALESCE(?9, may_spend), \
                 billing_service = COALESCE(?10, billing_service) WHERE id = ?1",
                    params![
                        pk,
                        patch.status.map(ClientStatus::as_str),
                        patch.review_note,
                        patch.trusted,
                        patch.allowed_scopes.map(|s| s.to_string()),
                        now,
                        patch.allowed_resources.is_some(),
                        patch
                            .allowed_resources
                            .as_ref()
                            .and_then(|list| list.as_deref().map(to_json)),
                        patch.may_spend,
                        patch.billing_service,
                    ],
                )?;
                // An app that is no longer approved loses every code and token at once and for good.
                if patch.status.is_some_and(|s| s != ClientStatus::Approved) {
                    cut_off_client(tx, pk, now)?;
                }
                Ok(changed > 0)
            })
            .await
    }

    async fn reveal_secret(
        &self,
        pk: ClientPk,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.changed(
            "UPDATE clients SET secret_hash = ?2, secret_revealed_at = ?3, updated_at = ?3 \
             WHERE id = ?1 AND status = 'approved' AND public = 0 AND secret_revealed_at IS NULL",
            (pk, hash.as_bytes(), now),
        )
        .await
    }

    async fn rotate_secret(
        &self,
        pk: ClientPk,
        hash: &SecretHash,
        previous_expires_at: Option<UnixTime>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.changed(
            "UPDATE clients SET \
               previous_secret_hash = CASE WHEN ?3 IS NULL THEN NULL ELSE secret_hash END, \
               previous_secret_expires_at = ?3, \
               secret_hash = ?2, secret_revealed_at = ?4, updated_at = ?4 \
             WHERE id = ?1 AND public = 0",
            (pk, hash.as_bytes(), previous_expires_at, now),
        )
        .await
    }

    async fn clients_with_pending_change(&self, page: Page) -> StoreResult<Vec<Client>> {
        self.clients_where(
            concat!(
                "SELECT ",
                client_columns!(),
                " FROM clients c WHERE c.pending_change IS NOT NULL \
                 ORDER BY c.pending_since, c.id LIMIT ?1 OFFSET ?2"
            ),
            params![page.limit, page.offset],
        )
    }

    async fn edit_client(
        &self,
        pk: ClientPk,
        d: &ClientDetails,
        pending: Option<(&ClientDetails, UnixTime)>,
        reviewed: Option<Option<UnixTime>>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.changed(
            "UPDATE clients SET name = ?2, description = ?3, redirect_uris = ?4, \
               post_logout_redirect_uris = ?5, allowed_scopes = ?6, logo_uri = ?7, \
               client_uri = ?8, policy_uri = ?9, pending_change = ?10, pending_since = ?11, \
               updated_at = ?12, \
               reviewed_at = CASE WHEN ?13 THEN ?14 ELSE reviewed_at END \
             WHERE id = ?1 AND kind = 'console'",
            (
                pk,
                &d.name,
                &d.description,
                to_json(&d.redirect_uris),
                to_json(&d.post_logout_redirect_uris),
                d.scope_set().to_string(),
                &d.logo_uri,
                &d.client_uri,
                &d.policy_uri,
                pending.map(|(change, _)| change.to_json()),
                pending.map(|(_, since)| since),
                now,
                reviewed.is_some(),
                reviewed.flatten(),
            ),
        )
        .await
    }

    async fn delete_client(&self, pk: ClientPk) -> StoreResult<bool> {
        self.changed("DELETE FROM clients WHERE id = ?1", [pk])
            .await
    }

    async fn purge_unused_dynamic_clients(&self, created_before: UnixTime) -> StoreResult<u64> {
        // Foreign keys cascade to the client's pending codes and device codes.
        self.db()
            .write(|tx| {
                execute(
                    tx,
                    "DELETE FROM clients WHERE kind = 'dynamic' AND created_at <= ?1 \
             AND last_used_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.client = clients.id) \
             AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.client = clients.id)",
                    [created_before],
                )
            })
            .await
    }

    async fn update_client_metadata(
        &self,
        pk: ClientPk,
        m: &ClientMetadata,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.changed(
            "UPDATE clients SET name = ?2, redirect_uris = ?3, grant_types = ?4, \
             allowed_scopes = ?5, public = ?6, token_endpoint_auth_method = ?7, jwks = ?8, \
             jwks_uri = ?9, metadata_expires_at = ?10, updated_at = ?11 \
             WHERE id = ?1 AND kind <> 'console'",
            (
                pk,
                m.name.clone(),
                to_json(&m.redirect_uris),
                GrantType::join(&m.grant_types),
                m.allowed_scopes.to_string(),
                m.public,
                m.auth_method.as_str(),
                m.jwks.clone(),
                m.jwks_uri.clone(),
                m.metadata_expires_at,
                now,
            ),
        )
        .await
    }

    async fn clients_of_kind(
        &self,
        kind: ClientKind,
        page: Page,
    ) -> StoreResult<Vec<(Client, i64)>> {
        const SQL: &str = concat!(
            "SELECT ",
            client_columns!(),
            ", (SELECT COUNT(*) FROM consents k WHERE k.client = c.id) AS consent_count \
             FROM clients c WHERE c.kind = ?1 \
             ORDER BY COALESCE(c.last_used_at, c.created_at) DESC, c.id DESC LIMIT ?2 OFFSET ?3"
        );
        self.read_all(
            SQL,
            params![kind.as_str(), page.limit, page.offset],
            |row| Ok((client_from_row(row)?, row.get("consent_count")?)),
        )
    }

    async fn touch_client(&self, pk: ClientPk, now: UnixTime, every: i64) -> StoreResult<()> {
        self.changed(
            "UPDATE clients SET last_used_at = ?2 \
             WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - ?3)",
            (pk, now, every),
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
            "INSERT INTO client_assertion_jtis (client, jti, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (client, jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE client_assertion_jtis.expires_at <= ?4",
            (client, jti.to_owned(), expires_at, now),
        )
        .await
    }

    async fn consent(&self, user: UserId, client: ClientPk) -> StoreResult<Option<Consent>> {
        const SQL: &str = "SELECT user_id AS consent_user_id, client AS consent_client, \
             scopes AS consent_scopes, resources AS consent_resources, \
             created_at AS consent_created_at, \
             updated_at AS consent_updated_at, last_used_at AS consent_last_used_at, \
             spend_limit AS consent_spend_limit, spend_period AS consent_spend_period \
             FROM consents WHERE user_id = ?1 AND client = ?2";
        self.read_one(SQL, [user, client], consent_from_row)
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
        self.append_one(
            "INSERT INTO consents (user_id, client, scopes, resources, created_at, updated_at, \
             spend_limit, spend_period) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) \
             ON CONFLICT (user_id, client) \
             DO UPDATE SET scopes = consents.scopes | excluded.scopes, \
             resources = excluded.resources, updated_at = excluded.updated_at, \
             spend_limit = COALESCE(excluded.spend_limit, consents.spend_limit), \
             spend_period = COALESCE(excluded.spend_period, consents.spend_period)",
            (
                user,
                client,
                scopes.bits(),
                resources.to_storage(),
                now,
                spend_limit.map(|l| l.amount),
                spend_limit.map(|l| l.period.as_str()),
            ),
        )
        .await
        .map(drop)
    }

    async fn consents_of_user(&self, user: UserId) -> StoreResult<Vec<(Consent, Client)>> {
        const SQL: &str = concat!(
            "SELECT g.user_id AS consent_user_id, g.client AS consent_client, \
             g.scopes AS consent_scopes, g.resources AS consent_resources, \
             g.created_at AS consent_created_at, \
             g.updated_at AS consent_updated_at, g.last_used_at AS consent_last_used_at, \
             g.spend_limit AS consent_spend_limit, g.spend_period AS consent_spend_period, ",
            client_columns!(),
            " FROM consents g JOIN clients c ON c.id = g.client WHERE g.user_id = ?1 \
              ORDER BY g.updated_at DESC"
        );
        self.read_all(SQL, [user], |row| {
            Ok((consent_from_row(row)?, client_from_row(row)?))
        })
    }

    async fn revoke_consent(
        &self,
        user: UserId,
        client: ClientPk,
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.db()
            .write(|tx| {
                let consents = execute(
                    tx,
                    "DELETE FROM consents WHERE user_id = ?1 AND client = ?2",
                    [user, client],
                )?;
                let families = execute(
                    tx,
                    "UPDATE token_families SET revoked_at = ?3 \
                 WHERE user_id = ?1 AND client = ?2 AND revoked_at IS NULL",
                    [user, client, now],
                )?;
                execute(
                    tx,
                    "DELETE FROM auth_codes WHERE user_id = ?1 AND client = ?2",
                    [user, client],
                )?;
                // A device approved but not yet collected gets nothing either (RFC 8628).
                execute(
                    tx,
                    "UPDATE device_codes SET status = 'denied' \
                     WHERE user_id = ?1 AND client = ?2 AND status = 'approved'",
                    [user, client],
                )?;
                Ok(consents + families > 0)
            })
            .await
    }

    async fn change_spend_limit(
        &self,
        user: UserId,
        client: ClientPk,
        expected: SpendLimit,
        new: SpendLimit,
    ) -> StoreResult<bool> {
        self.changed(
            "UPDATE consents SET spend_limit = ?3, spend_period = ?4 \
             WHERE user_id = ?1 AND client = ?2 AND spend_limit = ?5 AND spend_period = ?6",
            (
                user,
                client,
                new.amount,
                new.period.as_str(),
                expected.amount,
                expected.period.as_str(),
            ),
        )
        .await
    }

    async fn create_code(&self, code: AuthCode) -> StoreResult<()> {
        self.append_one(
            "INSERT INTO auth_codes (code_hash, client, user_id, redirect_uri, scopes, \
             code_challenge, nonce, auth_time, created_at, expires_at, resources) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            (
                code.hash.as_bytes(),
                code.client,
                code.user_id,
                &code.redirect_uri,
                code.scopes.to_string(),
                &code.code_challenge,
                &code.nonce,
                code.auth_time,
                code.created_at,
                code.expires_at,
                code.resources.to_storage(),
            ),
        )
        .await
        .map(drop)
    }

    async fn code_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<AuthCode>> {
        const SQL: &str = "SELECT code_hash, client, user_id, redirect_uri, scopes, resources, \
             code_challenge, nonce, auth_time, created_at, expires_at, used_at \
             FROM auth_codes WHERE code_hash = ?1";
        self.read_one(SQL, [hash.as_bytes()], auth_code_from_row)
    }

    async fn redeem_code(
        &self,
        hash: &SecretHash,
        family: NewFamily,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        self.db()
            .append(|tx| {
                let won = execute(
                    tx,
                    "UPDATE auth_codes SET used_at = ?2 \
                 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![hash.as_bytes(), now],
                )? == 1;
                if !won {
                    return Ok(None);
                }
                start_grant_family(tx, &family, tokens, now).map(Some)
            })
            .await
    }

    async fn revoke_code_family(&self, code: &SecretHash, now: UnixTime) -> StoreResult<u64> {
        self.write_one(
            "UPDATE token_families SET revoked_at = ?2 WHERE code_hash = ?1 AND revoked_at IS NULL",
            (code.as_bytes(), now),
        )
        .await
    }

    async fn issue_family(&self, family: NewFamily, tokens: &[NewToken]) -> StoreResult<i64> {
        self.db()
            .append(|tx| {
                let family_id = insert_family(tx, &family)?;
                insert_tokens(tx, family_id, tokens, family.created_at)?;
                Ok(family_id)
            })
            .await
    }

    async fn token_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens t JOIN token_families f ON f.id = t.family_id WHERE t.token_hash = ?1"
        );
        self.read_one(SQL, [hash.as_bytes()], token_from_row)
    }

    async fn token_with_user(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<(TokenRecord, Option<User>)>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            user_columns!(),
            " FROM tokens t JOIN token_families f ON f.id = t.family_id \
              LEFT JOIN users u ON u.id = f.user_id WHERE t.token_hash = ?1"
        );
        self.read_one(SQL, [hash.as_bytes()], token_and_user_from_row)
    }

    async fn rotate_refresh(
        &self,
        old: &SecretHash,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<bool> {
        self.db()
            .append(|tx| {
                let family: Option<(i64, Option<UserId>, ClientPk)> = tx
                    .prepare_cached(
                        "UPDATE tokens SET used_at = ?2 \
                     WHERE token_hash = ?1 AND kind = 'refresh' AND used_at IS NULL \
                       AND revoked_at IS NULL AND expires_at > ?2 \
                       AND EXISTS (SELECT 1 FROM token_families f \
                                   WHERE f.id = tokens.family_id AND f.revoked_at IS NULL) \
                     RETURNING family_id, \
                       (SELECT user_id FROM token_families WHERE id = family_id), \
                       (SELECT client FROM token_families WHERE id = family_id)",
                    )
                    .and_then(|mut update| {
                        update
                            .query_row(params![old.as_bytes(), now], |row| {
                                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                            })
                            .optional()
                    })
                    .map_err(store_error)?;
                let Some((family_id, user, client)) = family else {
                    return Ok(false);
                };
                insert_tokens(tx, family_id, tokens, now)?;
                if let Some(user) = user {
                    touch_consent(tx, user, client, now)?;
                }
                Ok(true)
            })
            .await
    }

    async fn revoke_family(&self, family_id: i64, now: UnixTime) -> StoreResult<()> {
        self.write_one(
            "UPDATE token_families SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            (family_id, now),
        )
        .await
        .map(drop)
    }

    async fn revoke_token(&self, hash: &SecretHash, now: UnixTime) -> StoreResult<()> {
        self.write_one(
            "UPDATE tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
            (hash.as_bytes(), now),
        )
        .await
        .map(drop)
    }

    async fn access_context(
        &self,
        hash: &SecretHash,
        now: UnixTime,
    ) -> StoreResult<Option<AccessContext>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            ", c.client_id, c.allowed_scopes, ",
            user_columns!(),
            " FROM tokens t JOIN token_families f ON f.id = t.family_id \
              JOIN clients c ON c.id = f.client \
              LEFT JOIN users u ON u.id = f.user_id \
              WHERE t.token_hash = ?1 AND t.kind = 'access' AND t.expires_at > ?2 \
                AND t.revoked_at IS NULL AND f.revoked_at IS NULL AND c.status = 'approved' \
                AND (f.user_id IS NULL OR u.status = 1)"
        );
        let generation = self.db().generation();
        self.contexts.get_or_read(
            hash,
            generation,
            |context| context.token.expires_at > now,
            || self.read_one(SQL, params![hash.as_bytes(), now], access_from_row),
        )
    }
}

/// What an app that is no longer approved loses, at once and for good: every token and code
/// (an admin's disabling, and the disabling of a deleted account's apps).
pub(crate) fn cut_off_client(
    tx: &rusqlite::Connection,
    pk: ClientPk,
    now: UnixTime,
) -> StoreResult<()> {
    execute(
        tx,
        "UPDATE token_families SET revoked_at = ?2 WHERE client = ?1 AND revoked_at IS NULL",
        [pk, now],
    )?;
    execute(tx, "DELETE FROM auth_codes WHERE client = ?1", [pk])?;
    Ok(())
}
