//! Every row this backend reads, mapped to its domain type: one function per type, each
//! reading its columns by name (the queries alias the ones that would clash in a join).

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
use sqlx::Row;
use sqlx::postgres::PgRow;

/// A column whose value the row holds but the domain refuses (`reason`).
pub(crate) fn decode_error(column: &str, reason: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: reason.to_owned().into(),
    }
}

pub(crate) fn hash_column(row: &PgRow, column: &str) -> Result<Option<SecretHash>, sqlx::Error> {
    let bytes: Option<Vec<u8>> = row.try_get(column)?;
    bytes
        .map(|b| SecretHash::from_slice(&b).ok_or_else(|| decode_error(column, "not 32 bytes")))
        .transpose()
}

pub(crate) fn required_hash(row: &PgRow, column: &str) -> Result<SecretHash, sqlx::Error> {
    hash_column(row, column)?.ok_or_else(|| decode_error(column, "null"))
}

pub(crate) fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    let role: i64 = row.try_get("role")?;
    let status: i64 = row.try_get("status")?;
    Ok(User {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        password_hash: row.try_get("password_hash")?,
        avatar_url: row.try_get("avatar_url")?,
        level: row.try_get("level")?,
        role: Role::from_i64(role).ok_or_else(|| decode_error("role", &role.to_string()))?,
        status: UserStatus::from_i64(status)
            .ok_or_else(|| decode_error("status", &status.to_string()))?,
        quota: row.try_get("quota")?,
        used_quota: row.try_get("used_quota")?,
        aff_code: row.try_get("aff_code")?,
        inviter_id: row.try_get("inviter_id")?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
        totp_enabled: row.try_get("totp_enabled")?,
    })
}

pub(crate) fn session_from_row(row: &PgRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id_hash: required_hash(row, "id_hash")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        expires_at: row.try_get("expires_at")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        mfa_pending: row.try_get::<i64, _>("mfa_pending")? != 0,
    })
}

pub(crate) fn scopes_column(row: &PgRow, column: &str) -> Result<ScopeSet, sqlx::Error> {
    let text: String = row.try_get(column)?;
    ScopeSet::parse(&text).map_err(|_| decode_error(column, "unknown scope"))
}

pub(crate) fn resources_column(row: &PgRow, column: &str) -> Result<ResourceGrants, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Ok(ResourceGrants::from_storage(&text))
}

pub(crate) fn resource_from_row(row: &PgRow) -> Result<Resource, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    let format: String = row.try_get("token_format")?;
    let alg: String = row.try_get("signing_alg")?;
    Ok(Resource {
        id: row.try_get("id")?,
        identifier: row.try_get("identifier")?,
        name_zh: row.try_get("name_zh")?,
        name_en: row.try_get("name_en")?,
        scopes: serde_json::from_str(&scopes)
            .map_err(|e| decode_error("scopes", &e.to_string()))?,
        token_format: TokenFormat::parse(&format)
            .ok_or_else(|| decode_error("token_format", &format))?,
        signing_alg: SigningAlg::parse(&alg).ok_or_else(|| decode_error("signing_alg", &alg))?,
        access_token_ttl_secs: row.try_get("access_token_ttl_secs")?,
        introspection_client_id: row.try_get("introspection_client")?,
        enabled: row.try_get("enabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn json_list(row: &PgRow, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| decode_error(column, &e.to_string()))
}

pub(crate) fn client_from_row(row: &PgRow) -> Result<Client, sqlx::Error> {
    let grants: String = row.try_get("grant_types")?;
    let status: String = row.try_get("status")?;
    let alg: String = row.try_get("id_token_alg")?;
    let method: String = row.try_get("token_endpoint_auth_method")?;
    let kind: String = row.try_get("kind")?;
    Ok(Client {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        redirect_uris: json_list(row, "redirect_uris")?,
        post_logout_redirect_uris: json_list(row, "post_logout_redirect_uris")?,
        allowed_scopes: scopes_column(row, "allowed_scopes")?,
        grant_types: grants.split(' ').filter_map(GrantType::parse).collect(),
        public: row.try_get("public")?,
        secret_hash: hash_column(row, "secret_hash")?,
        previous_secret_hash: hash_column(row, "previous_secret_hash")?,
        previous_secret_expires_at: row.try_get("previous_secret_expires_at")?,
        secret_revealed_at: row.try_get("secret_revealed_at")?,
        status: ClientStatus::parse(&status).ok_or_else(|| decode_error("status", &status))?,
        review_note: row.try_get("review_note")?,
        trusted: row.try_get("trusted")?,
        may_spend: row.try_get("may_spend")?,
        billing_service: row.try_get("billing_service")?,
        id_token_alg: SigningAlg::parse(&alg).ok_or_else(|| decode_error("id_token_alg", &alg))?,
        allowed_resources: row
            .try_get::<Option<String>, _>("allowed_resources")?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| decode_error("allowed_resources", &e.to_string()))?,
        auth_method: AuthMethod::parse(&method)
            .ok_or_else(|| decode_error("token_endpoint_auth_method", &method))?,
        jwks: row.try_get("jwks")?,
        jwks_uri: row.try_get("jwks_uri")?,
        kind: ClientKind::parse(&kind).ok_or_else(|| decode_error("kind", &kind))?,
        registration_token_hash: hash_column(row, "registration_token_hash")?,
        metadata_expires_at: row.try_get("metadata_expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        logo_uri: row.try_get("logo_uri")?,
        client_uri: row.try_get("client_uri")?,
        policy_uri: row.try_get("policy_uri")?,
        pending_change: row
            .try_get::<Option<String>, _>("pending_change")?
            .and_then(|text| ClientDetails::from_json(&text)),
        pending_since: row.try_get("pending_since")?,
        reviewed_at: row.try_get("reviewed_at")?,
        created_at: row.try_get("client_created_at")?,
        updated_at: row.try_get("client_updated_at")?,
    })
}

pub(crate) fn consent_from_row(row: &PgRow) -> Result<Consent, sqlx::Error> {
    Ok(Consent {
        user_id: row.try_get("consent_user_id")?,
        client: row.try_get("consent_client")?,
        scopes: ScopeSet::from_bits(row.try_get("consent_scopes")?),
        resources: resources_column(row, "consent_resources")?,
        spend_limit: SpendLimit::from_columns(
            row.try_get("consent_spend_limit")?,
            row.try_get::<Option<String>, _>("consent_spend_period")?
                .as_deref(),
        ),
        created_at: row.try_get("consent_created_at")?,
        updated_at: row.try_get("consent_updated_at")?,
        last_used_at: row.try_get("consent_last_used_at")?,
    })
}

pub(crate) fn token_from_row(row: &PgRow) -> Result<TokenRecord, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(TokenRecord {
        hash: required_hash(row, "token_hash")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| decode_error("kind", &kind))?,
        family_id: row.try_get("family_id")?,
        client: row.try_get("client")?,
        user_id: row.try_get("family_user_id")?,
        scopes: scopes_column(row, "scopes")?,
        resources: resources_column(row, "resources")?,
        created_at: row.try_get("token_created_at")?,
        expires_at: row.try_get("token_expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("token_revoked_at")?,
        auth_time: row.try_get("auth_time")?,
    })
}

pub(crate) fn access_from_row(row: &PgRow) -> Result<AccessContext, sqlx::Error> {
    let token = token_from_row(row)?;
    let user = match token.user_id {
        Some(_) => Some(user_from_row(row)?),
        None => None,
    };
    Ok(AccessContext {
        token,
        client_id: row.try_get("client_id")?,
        client_scopes: scopes_column(row, "allowed_scopes")?,
        user,
    })
}

/// A token and the user of its family (`user_columns!()` from a `LEFT JOIN`: `None` when it has
/// none, or they no longer exist).
pub(crate) fn token_and_user_from_row(
    row: &PgRow,
) -> Result<(TokenRecord, Option<User>), sqlx::Error> {
    let token = token_from_row(row)?;
    let user = match row.try_get::<Option<UserId>, _>("id")? {
        Some(_) => Some(user_from_row(row)?),
        None => None,
    };
    Ok((token, user))
}

pub(crate) fn identity_from_row(row: &PgRow) -> Result<Identity, sqlx::Error> {
    Ok(Identity {
        provider: row.try_get("provider")?,
        subject: row.try_get("subject")?,
        user_id: row.try_get("user_id")?,
        display: row.try_get("display")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn two_factor_from_row(row: &PgRow) -> Result<TwoFactorRecord, sqlx::Error> {
    Ok(TwoFactorRecord {
        secret: row.try_get("totp_secret")?,
        enabled: row.try_get("totp_enabled")?,
        last_step: row.try_get("totp_last_step")?,
        recovery_codes: row.try_get("recovery_codes")?,
    })
}

pub(crate) fn audit_entry_from_row(row: &PgRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor_id: row.try_get("actor_id")?,
        actor_pseudonym: row.try_get("actor_pseudonym")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail: row.try_get("detail")?,
        ip: row.try_get("ip")?,
    })
}

pub(crate) fn topup_code_from_row(row: &PgRow) -> Result<TopUpCode, sqlx::Error> {
    Ok(TopUpCode {
        id: row.try_get("id")?,
        label: row.try_get("label")?,
        amount: row.try_get("amount")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        redeemed_by: row.try_get("redeemed_by")?,
        redeemed_by_name: row.try_get("redeemed_by_name")?,
        redeemed_at: row.try_get("redeemed_at")?,
    })
}

pub(crate) fn upstream_state_from_row(row: &PgRow) -> Result<UpstreamState, sqlx::Error> {
    Ok(UpstreamState {
        state_hash: required_hash(row, "state_hash")?,
        browser_hash: required_hash(row, "browser_hash")?,
        provider: row.try_get("provider")?,
        bind_user: row.try_get("user_id")?,
        aff_code: row.try_get("aff_code")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
        nonce: row.try_get("nonce")?,
        return_to: row.try_get("return_to")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(crate) fn stored_key_from_row(row: &PgRow) -> Result<StoredKey, sqlx::Error> {
    Ok(StoredKey {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        private_key: row.try_get("private_key")?,
        public_jwk: row.try_get("public_jwk")?,
        created_at: row.try_get("created_at")?,
        not_before: row.try_get("not_before")?,
    })
}

pub(crate) fn auth_code_from_row(row: &PgRow) -> Result<AuthCode, sqlx::Error> {
    Ok(AuthCode {
        hash: required_hash(row, "code_hash")?,
        client: row.try_get("client")?,
        user_id: row.try_get("user_id")?,
        redirect_uri: row.try_get("redirect_uri")?,
        scopes: scopes_column(row, "scopes")?,
        resources: resources_column(row, "resources")?,
        code_challenge: row.try_get("code_challenge")?,
        nonce: row.try_get("nonce")?,
        auth_time: row.try_get("auth_time")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
    })
}
