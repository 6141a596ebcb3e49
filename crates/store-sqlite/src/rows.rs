//! Every row this backend reads, mapped to its domain type: one function per type, each
//! reading its columns by name (the queries alias the ones that would clash in a join).

use crate::db::Cols;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::billing::topup::TopUpCode;
use keyward_core::model::{
    AccessContext, AuditEntry, AuthCode, AuthMethod, Client, ClientDetails, ClientKind,
    ClientStatus, Consent, GrantType, Identity, Resource, Role, Session, StoredKey, TokenFormat,
    TokenKind, TokenRecord, TwoFactorRecord, UpstreamState, User, UserId, UserStatus,
};
use keyward_core::oauth::audience::ResourceGrants;
use keyward_core::oauth::scope::ScopeSet;
use keyward_core::oidc::SigningAlg;
use keyward_core::secret::SecretHash;
use rusqlite::types::FromSql;

/// Reads column `name` as `F` and converts it with `parse`; a value `parse` refuses fails like
/// a value of the wrong type.
pub(crate) fn parsed<F, T, E>(
    row: &Cols<'_, '_>,
    name: &str,
    parse: impl FnOnce(F) -> Result<T, E>,
) -> rusqlite::Result<T>
where
    F: FromSql,
    E: std::fmt::Display,
{
    let index = row.index(name)?;
    let raw = row.get(index)?;
    parse(raw).map_err(|e| {
        let data_type = row
            .get_ref(index)
            .map_or(rusqlite::types::Type::Null, |value| value.data_type());
        rusqlite::Error::FromSqlConversionFailure(index, data_type, format!("{name}: {e}").into())
    })
}

pub(crate) fn hash_column(row: &Cols<'_, '_>, name: &str) -> rusqlite::Result<Option<SecretHash>> {
    parsed(row, name, |bytes: Option<Vec<u8>>| {
        bytes
            .map(|b| SecretHash::from_slice(&b).ok_or("not 32 bytes"))
            .transpose()
    })
}

pub(crate) fn required_hash(row: &Cols<'_, '_>, name: &str) -> rusqlite::Result<SecretHash> {
    parsed(row, name, |bytes: Vec<u8>| {
        SecretHash::from_slice(&bytes).ok_or("not 32 bytes")
    })
}

pub(crate) fn user_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get("id")?,
        uuid: parsed(row, "uuid", |text: String| uuid::Uuid::parse_str(&text))?,
        username: row.get("username")?,
        display_name: row.get("display_name")?,
        email: row.get("email")?,
        email_verified: row.get("email_verified")?,
        password_hash: row.get("password_hash")?,
        avatar_url: row.get("avatar_url")?,
        level: row.get("level")?,
        role: parsed(row, "role", |role: i64| Role::from_i64(role).ok_or(role))?,
        status: parsed(row, "status", |status: i64| {
            UserStatus::from_i64(status).ok_or(status)
        })?,
        quota: row.get("quota")?,
        used_quota: row.get("used_quota")?,
        aff_code: row.get("aff_code")?,
        inviter_id: row.get("inviter_id")?,
        created_at: row.get("created_at")?,
        last_login_at: row.get("last_login_at")?,
        totp_enabled: row.get("totp_enabled")?,
    })
}

pub(crate) fn session_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id_hash: required_hash(row, "id_hash")?,
        user_id: row.get("user_id")?,
        created_at: row.get("created_at")?,
        last_seen_at: row.get("last_seen_at")?,
        expires_at: row.get("expires_at")?,
        ip: row.get("ip")?,
        user_agent: row.get("user_agent")?,
        mfa_pending: row.get::<_, i64>("mfa_pending")? != 0,
    })
}

pub(crate) fn scopes_column(row: &Cols<'_, '_>, column: &str) -> rusqlite::Result<ScopeSet> {
    parsed(row, column, |text: String| {
        ScopeSet::parse(&text).map_err(|_| "unknown scope")
    })
}

pub(crate) fn resources_column(
    row: &Cols<'_, '_>,
    column: &str,
) -> rusqlite::Result<ResourceGrants> {
    let text: String = row.get(column)?;
    Ok(ResourceGrants::from_storage(&text))
}

pub(crate) fn resource_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<Resource> {
    Ok(Resource {
        id: row.get("id")?,
        identifier: row.get("identifier")?,
        name_zh: row.get("name_zh")?,
        name_en: row.get("name_en")?,
        scopes: parsed(row, "scopes", |text: String| serde_json::from_str(&text))?,
        token_format: parsed(row, "token_format", |f: String| {
            TokenFormat::parse(&f).ok_or(f)
        })?,
        signing_alg: parsed(row, "signing_alg", |alg: String| {
            SigningAlg::parse(&alg).ok_or(alg)
        })?,
        access_token_ttl_secs: row.get("access_token_ttl_secs")?,
        introspection_client_id: row.get("introspection_client")?,
        enabled: row.get("enabled")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

pub(crate) fn json_list(row: &Cols<'_, '_>, column: &str) -> rusqlite::Result<Vec<String>> {
    parsed(row, column, |text: String| serde_json::from_str(&text))
}

pub(crate) fn client_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<Client> {
    let grants: String = row.get("grant_types")?;
    Ok(Client {
        id: row.get("id")?,
        client_id: row.get("client_id")?,
        owner_id: row.get("owner_id")?,
        name: row.get("name")?,
        description: row.get("description")?,
        redirect_uris: json_list(row, "redirect_uris")?,
        post_logout_redirect_uris: json_list(row, "post_logout_redirect_uris")?,
        allowed_scopes: scopes_column(row, "allowed_scopes")?,
        grant_types: grants.split(' ').filter_map(GrantType::parse).collect(),
        public: row.get("public")?,
        secret_hash: hash_column(row, "secret_hash")?,
        previous_secret_hash: hash_column(row, "previous_secret_hash")?,
        previous_secret_expires_at: row.get("previous_secret_expires_at")?,
        secret_revealed_at: row.get("secret_revealed_at")?,
        status: parsed(row, "status", |status: String| {
            ClientStatus::parse(&status).ok_or(status)
        })?,
        review_note: row.get("review_note")?,
        trusted: row.get("trusted")?,
        may_spend: row.get("may_spend")?,
        billing_service: row.get("billing_service")?,
        id_token_alg: parsed(row, "id_token_alg", |alg: String| {
            SigningAlg::parse(&alg).ok_or(alg)
        })?,
        allowed_resources: parsed(row, "allowed_resources", |text: Option<String>| {
            text.map(|t| serde_json::from_str(&t)).transpose()
        })?,
        auth_method: parsed(row, "token_endpoint_auth_method", |m: String| {
            AuthMethod::parse(&m).ok_or(m)
        })?,
        jwks: row.get("jwks")?,
        jwks_uri: row.get("jwks_uri")?,
        kind: parsed(row, "kind", |k: String| ClientKind::parse(&k).ok_or(k))?,
        registration_token_hash: hash_column(row, "registration_token_hash")?,
        metadata_expires_at: row.get("metadata_expires_at")?,
        last_used_at: row.get("last_used_at")?,
        logo_uri: row.get("logo_uri")?,
        client_uri: row.get("client_uri")?,
        policy_uri: row.get("policy_uri")?,
        pending_change: row
            .get::<_, Option<String>>("pending_change")?
            .and_then(|text| ClientDetails::from_json(&text)),
        pending_since: row.get("pending_since")?,
        reviewed_at: row.get("reviewed_at")?,
        created_at: row.get("client_created_at")?,
        updated_at: row.get("client_updated_at")?,
    })
}

pub(crate) fn consent_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<Consent> {
    Ok(Consent {
        user_id: row.get("consent_user_id")?,
        client: row.get("consent_client")?,
        scopes: ScopeSet::from_bits(row.get("consent_scopes")?),
        resources: resources_column(row, "consent_resources")?,
        spend_limit: SpendLimit::from_columns(
            row.get("consent_spend_limit")?,
            row.get::<_, Option<String>>("consent_spend_period")?
                .as_deref(),
        ),
        created_at: row.get("consent_created_at")?,
        updated_at: row.get("consent_updated_at")?,
        last_used_at: row.get("consent_last_used_at")?,
    })
}

pub(crate) fn token_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        hash: required_hash(row, "token_hash")?,
        kind: parsed(row, "kind", |kind: String| {
            TokenKind::parse(&kind).ok_or(kind)
        })?,
        family_id: row.get("family_id")?,
        client: row.get("client")?,
        user_id: row.get("family_user_id")?,
        scopes: scopes_column(row, "scopes")?,
        resources: resources_column(row, "resources")?,
        created_at: row.get("token_created_at")?,
        expires_at: row.get("token_expires_at")?,
        used_at: row.get("used_at")?,
        revoked_at: row.get("token_revoked_at")?,
        auth_time: row.get("auth_time")?,
    })
}

/// A token and the user of its family (`user_columns!()` from a `LEFT JOIN`: `None` when it has
/// none, or they no longer exist).
pub(crate) fn token_and_user_from_row(
    row: &Cols<'_, '_>,
) -> rusqlite::Result<(TokenRecord, Option<User>)> {
    let token = token_from_row(row)?;
    let user = match row.get::<_, Option<UserId>>("id")? {
        Some(_) => Some(user_from_row(row)?),
        None => None,
    };
    Ok((token, user))
}

pub(crate) fn access_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<AccessContext> {
    let token = token_from_row(row)?;
    let user = match token.user_id {
        Some(_) => Some(user_from_row(row)?),
        None => None,
    };
    Ok(AccessContext {
        token,
        client_id: row.get("client_id")?,
        client_scopes: scopes_column(row, "allowed_scopes")?,
        user,
    })
}

pub(crate) fn identity_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<Identity> {
    Ok(Identity {
        provider: row.get("provider")?,
        subject: row.get("subject")?,
        user_id: row.get("user_id")?,
        display: row.get("display")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn auth_code_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<AuthCode> {
    Ok(AuthCode {
        hash: required_hash(row, "code_hash")?,
        client: row.get("client")?,
        user_id: row.get("user_id")?,
        redirect_uri: row.get("redirect_uri")?,
        scopes: scopes_column(row, "scopes")?,
        resources: resources_column(row, "resources")?,
        code_challenge: row.get("code_challenge")?,
        nonce: row.get("nonce")?,
        auth_time: row.get("auth_time")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        used_at: row.get("used_at")?,
    })
}

pub(crate) fn stored_key_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        kid: row.get("kid")?,
        alg: row.get("alg")?,
        private_key: row.get("private_key")?,
        public_jwk: row.get("public_jwk")?,
        created_at: row.get("created_at")?,
        not_before: row.get("not_before")?,
    })
}

pub(crate) fn upstream_state_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<UpstreamState> {
    Ok(UpstreamState {
        state_hash: required_hash(row, "state_hash")?,
        browser_hash: required_hash(row, "browser_hash")?,
        provider: row.get("provider")?,
        bind_user: row.get("user_id")?,
        aff_code: row.get("aff_code")?,
        pkce_verifier: row.get("pkce_verifier")?,
        nonce: row.get("nonce")?,
        return_to: row.get("return_to")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}

pub(crate) fn topup_code_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<TopUpCode> {
    Ok(TopUpCode {
        id: row.get("id")?,
        label: row.get("label")?,
        amount: row.get("amount")?,
        created_by: row.get("created_by")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        redeemed_by: row.get("redeemed_by")?,
        redeemed_by_name: row.get("redeemed_by_name")?,
        redeemed_at: row.get("redeemed_at")?,
    })
}

pub(crate) fn audit_entry_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.get("id")?,
        at: row.get("at")?,
        actor_id: row.get("actor_id")?,
        actor_pseudonym: row.get("actor_pseudonym")?,
        action: row.get("action")?,
        target: row.get("target")?,
        detail: row.get("detail")?,
        ip: row.get("ip")?,
    })
}

pub(crate) fn two_factor_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<TwoFactorRecord> {
    Ok(TwoFactorRecord {
        secret: row.get("totp_secret")?,
        enabled: row.get("totp_enabled")?,
        last_step: row.get("totp_last_step")?,
        recovery_codes: row.get("recovery_codes")?,
    })
}
