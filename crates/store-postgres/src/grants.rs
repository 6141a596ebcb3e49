//! The writes of a token grant, each one statement: one round trip, atomic without a
//! transaction (`BEGIN`, the statements, `COMMIT` were five to eight round trips).
//!
//! A grant that redeems something (a code, a device authorization, a refresh token) puts the
//! conditional update first, in a `WITH`: its row lock decides a race, and everything after it
//! happens only if it matched. A family and its tokens go in together (the tokens' foreign key is
//! checked at the end of the statement, when the family is there).

use crate::store_error;
use keyward_core::clock::UnixTime;
use keyward_core::model::{NewFamily, NewToken};
use keyward_core::secret::SecretHash;
use keyward_core::store::StoreResult;
use sqlx::PgPool;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::query::QueryScalar;

type Scalar<'q> = QueryScalar<'q, Postgres, i64, PgArguments>;

/// `WITH gate AS (…), ` then these: the family, inserted if `gate` returned a row, and its
/// tokens. Parameters: $1–$5 the family, $6 now, $7–$11 the tokens as arrays.
macro_rules! new_family {
    () => {
        "family AS (INSERT INTO token_families (client, user_id, code_hash, auth_time, created_at) \
           SELECT $1, $2, $3, $4, $5 FROM gate RETURNING id), \
         new_tokens AS (INSERT INTO tokens (token_hash, kind, family_id, scopes, resources, \
           created_at, expires_at) \
           SELECT n.hash, n.kind, family.id, n.scopes, n.resources, $6, n.expires_at \
           FROM family, unnest($7::bytea[], $8::text[], $9::text[], $10::text[], $11::bigint[]) \
             AS n(hash, kind, scopes, resources, expires_at)) "
    };
}

/// The consent the new family was granted under, marked as used.
macro_rules! consent_used {
    () => {
        ", consent AS (UPDATE consents SET last_used_at = $6 \
           WHERE user_id = $2 AND client = $1 AND EXISTS (SELECT 1 FROM family)) "
    };
}

/// A family no user approved at this moment (client credentials).
const ISSUE: &str = concat!(
    "WITH gate AS (SELECT 1), ",
    new_family!(),
    "SELECT id FROM family"
);

/// An authorization code, used once: $12 its hash.
const REDEEM_CODE: &str = concat!(
    "WITH gate AS (UPDATE auth_codes SET used_at = $6 \
       WHERE code_hash = $12 AND used_at IS NULL AND expires_at > $6 RETURNING 1), ",
    new_family!(),
    consent_used!(),
    "SELECT id FROM family"
);

/// An approved device authorization, used once: $12 its device code's hash.
const REDEEM_DEVICE_CODE: &str = concat!(
    "WITH gate AS (UPDATE device_codes SET status = 'issued' \
       WHERE device_code_hash = $12 AND status = 'approved' AND expires_at > $6 RETURNING 1), ",
    new_family!(),
    consent_used!(),
    "SELECT id FROM family"
);

/// A refresh token, used once, for new tokens in its family: $1 now, $2 its hash, $3–$7 the new
/// tokens as arrays. Returns how many it used (0 or 1).
const ROTATE_REFRESH: &str = "WITH used AS (UPDATE tokens SET used_at = $1 \
       WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL \
         AND revoked_at IS NULL AND expires_at > $1 \
         AND EXISTS (SELECT 1 FROM token_families f \
                     WHERE f.id = tokens.family_id AND f.revoked_at IS NULL) \
       RETURNING family_id), \
     family AS (SELECT f.id, f.user_id, f.client FROM token_families f \
       JOIN used ON f.id = used.family_id), \
     new_tokens AS (INSERT INTO tokens (token_hash, kind, family_id, scopes, resources, \
       created_at, expires_at) \
       SELECT n.hash, n.kind, family.id, n.scopes, n.resources, $1, n.expires_at \
       FROM family, unnest($3::bytea[], $4::text[], $5::text[], $6::text[], $7::bigint[]) \
         AS n(hash, kind, scopes, resources, expires_at)), \
     consent AS (UPDATE consents SET last_used_at = $1 FROM family \
       WHERE consents.user_id = family.user_id AND consents.client = family.client) \
     SELECT COUNT(*) FROM used";

/// What a grant redeems before its family starts.
pub(crate) enum Gate<'a> {
    /// Nothing: the client authenticated, that is all (client credentials).
    None,
    Code(&'a SecretHash),
    DeviceCode(&'a SecretHash),
}

/// Starts a family with its tokens; `None` when the gate did not open (the code was used,
/// expired, or never approved).
pub(crate) async fn start_family(
    pool: &PgPool,
    gate: Gate<'_>,
    family: &NewFamily,
    tokens: &[NewToken],
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    let (sql, redeemed) = match gate {
        Gate::None => (ISSUE, None),
        Gate::Code(hash) => (REDEEM_CODE, Some(hash)),
        Gate::DeviceCode(hash) => (REDEEM_DEVICE_CODE, Some(hash)),
    };
    let query = sqlx::query_scalar::<_, i64>(sql)
        .bind(family.client)
        .bind(family.user_id)
        .bind(family.code_hash.as_ref().map(SecretHash::as_bytes))
        .bind(family.auth_time)
        .bind(family.created_at)
        .bind(now);
    let query = bind_tokens(query, tokens);
    let query = match redeemed {
        Some(hash) => query.bind(hash.as_bytes()),
        None => query,
    };
    query.fetch_optional(pool).await.map_err(store_error)
}

/// Uses the refresh token `old` and adds `tokens` to its family; false when it was not usable
/// (used, revoked, expired, or its family revoked).
pub(crate) async fn rotate_refresh(
    pool: &PgPool,
    old: &SecretHash,
    tokens: &[NewToken],
    now: UnixTime,
) -> StoreResult<bool> {
    let query = sqlx::query_scalar::<_, i64>(ROTATE_REFRESH)
        .bind(now)
        .bind(old.as_bytes());
    let used = bind_tokens(query, tokens)
        .fetch_one(pool)
        .await
        .map_err(store_error)?;
    Ok(used == 1)
}

/// Binds the tokens column by column, as the arrays `unnest` reads.
fn bind_tokens<'q>(query: Scalar<'q>, tokens: &'q [NewToken]) -> Scalar<'q> {
    let hashes: Vec<&[u8]> = tokens.iter().map(|t| t.hash.as_bytes()).collect();
    let kinds: Vec<&str> = tokens.iter().map(|t| t.kind.as_str()).collect();
    let scopes: Vec<String> = tokens.iter().map(|t| t.scopes.to_string()).collect();
    let resources: Vec<String> = tokens.iter().map(|t| t.resources.to_storage()).collect();
    let expires: Vec<UnixTime> = tokens.iter().map(|t| t.expires_at).collect();
    query
        .bind(hashes)
        .bind(kinds)
        .bind(scopes)
        .bind(resources)
        .bind(expires)
}
