//! Device authorizations (RFC 8628).

use crate::PostgresStore;
use crate::fetch_optional;
use crate::grants::{self, Gate};
use crate::rows::{decode_error, required_hash, resources_column, scopes_column};
use async_trait::async_trait;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::clock::UnixTime;
use keyward_core::model::{
    ClientPk, DeviceCode, DeviceDecision, DeviceStatus, NewDeviceCode, NewFamily, NewToken,
};
use keyward_core::secret::SecretHash;
use keyward_core::store::{DeviceStore, StoreResult};
use sqlx::Row;
use sqlx::postgres::PgRow;

macro_rules! select_device_code {
    ($key:literal) => {
        concat!(
            "SELECT device_code_hash, user_code_hash, client, scopes, resources, status, user_id, \
             auth_time, interval_secs, last_polled_at, created_at, expires_at, spend_limit, \
             spend_period \
             FROM device_codes WHERE ",
            $key,
            " = $1"
        )
    };
}

fn device_code_from_row(row: &PgRow) -> Result<DeviceCode, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let status =
        DeviceStatus::from_columns(&status, row.try_get("user_id")?, row.try_get("auth_time")?)
            .ok_or_else(|| decode_error("status", "inconsistent status"))?;
    Ok(DeviceCode {
        device_code_hash: required_hash(row, "device_code_hash")?,
        user_code_hash: required_hash(row, "user_code_hash")?,
        client: row.try_get("client")?,
        scopes: scopes_column(row, "scopes")?,
        resources: resources_column(row, "resources")?,
        status,
        interval_secs: row.try_get("interval_secs")?,
        suggested_limit: SpendLimit::from_columns(
            row.try_get("spend_limit")?,
            row.try_get::<Option<String>, _>("spend_period")?.as_deref(),
        ),
        last_polled_at: row.try_get("last_polled_at")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

#[async_trait]
impl DeviceStore for PostgresStore {
    async fn create_device_code(&self, code: &NewDeviceCode) -> StoreResult<()> {
        let insert = sqlx::query(
            "INSERT INTO device_codes (device_code_hash, user_code_hash, client, scopes, status, \
             interval_secs, created_at, expires_at, resources, spend_limit, spend_period) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10)",
        )
        .bind(code.device_code_hash.as_bytes())
        .bind(code.user_code_hash.as_bytes())
        .bind(code.client)
        .bind(code.scopes.to_string())
        .bind(code.interval_secs)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.resources.to_storage())
        .bind(code.suggested_limit.map(|l| l.amount))
        .bind(code.suggested_limit.map(|l| l.period.as_str()));
        self.run(insert).await
    }

    async fn device_code_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<DeviceCode>> {
        const SQL: &str = select_device_code!("device_code_hash");
        let query = sqlx::query(SQL).bind(hash.as_bytes());
        fetch_optional(self.pool(), query, device_code_from_row).await
    }

    async fn device_code_by_user_code(
        &self,
        user_code_hash: &SecretHash,
    ) -> StoreResult<Option<DeviceCode>> {
        const SQL: &str = select_device_code!("user_code_hash");
        let query = sqlx::query(SQL).bind(user_code_hash.as_bytes());
        fetch_optional(self.pool(), query, device_code_from_row).await
    }

    async fn decide_device_code(
        &self,
        user_code_hash: &SecretHash,
        decision: DeviceDecision,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let (status, user_id, auth_time) = match decision {
            DeviceDecision::Approve { user_id, auth_time } => {
                ("approved", Some(user_id), Some(auth_time))
            }
            DeviceDecision::Deny => ("denied", None, None),
        };
        let update = sqlx::query(
            "UPDATE device_codes SET status = $2, user_id = $3, auth_time = $4, decided_at = $5 \
             WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $5",
        )
        .bind(user_code_hash.as_bytes())
        .bind(status)
        .bind(user_id)
        .bind(auth_time)
        .bind(now);
        self.changed(update).await
    }

    async fn poll_device_code(
        &self,
        hash: &SecretHash,
        client: ClientPk,
        now: UnixTime,
        slow_down_secs: i64,
    ) -> StoreResult<Option<DeviceCode>> {
        // Every part of one statement sees the same snapshot: `old` is the code before the
        // update. The `CASE` is `DeviceCode::polled_too_soon`.
        let query = sqlx::query(concat!(
            "WITH old AS (",
            select_device_code!("device_code_hash"),
            "), polled AS (UPDATE device_codes d SET last_polled_at = $3, \
               interval_secs = d.interval_secs + CASE \
                 WHEN d.last_polled_at IS NOT NULL AND $3 - d.last_polled_at < d.interval_secs \
                 THEN $4 ELSE 0 END \
             WHERE d.device_code_hash = $1 AND d.client = $2 AND d.status = 'pending' \
               AND d.expires_at > $3) \
             SELECT * FROM old"
        ))
        .bind(hash.as_bytes())
        .bind(client)
        .bind(now)
        .bind(slow_down_secs);
        fetch_optional(self.pool(), query, device_code_from_row).await
    }

    async fn redeem_device_code(
        &self,
        hash: &SecretHash,
        family: NewFamily,
        tokens: &[NewToken],
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        grants::start_family(self.pool(), Gate::DeviceCode(hash), &family, tokens, now).await
    }
}
