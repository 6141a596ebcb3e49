//! Device authorizations (RFC 8628).

use crate::SqliteStore;
use crate::db::{Cols, execute};
use crate::oauth::start_grant_family;
use crate::rows::{parsed, required_hash, resources_column, scopes_column};
use async_trait::async_trait;
use keyward_core::billing::limit::SpendLimit;
use keyward_core::clock::UnixTime;
use keyward_core::model::{
    ClientPk, DeviceCode, DeviceDecision, DeviceState, DeviceStatus, NewFamily, NewToken,
};
use keyward_core::secret::SecretHash;
use keyward_core::store::{DeviceStore, StoreResult};
use rusqlite::params;

macro_rules! select_device_code {
    ($key:literal) => {
        concat!(
            "SELECT device_code_hash, user_code_hash, client, scopes, resources, status, user_id, \
             auth_time, interval_secs, last_polled_at, created_at, expires_at, spend_limit, \
             spend_period \
             FROM device_codes WHERE ",
            $key,
            " = ?1"
        )
    };
}

fn device_code_from_row(row: &Cols<'_, '_>) -> rusqlite::Result<DeviceCode> {
    let user_id: Option<i64> = row.get("user_id")?;
    let auth_time: Option<i64> = row.get("auth_time")?;
    Ok(DeviceCode {
        device_code_hash: required_hash(row, "device_code_hash")?,
        user_code_hash: required_hash(row, "user_code_hash")?,
        client: row.get("client")?,
        scopes: scopes_column(row, "scopes")?,
        resources: resources_column(row, "resources")?,
        status: parsed(row, "status", |status: String| {
            DeviceStatus::from_columns(&status, user_id, auth_time).ok_or("inconsistent status")
        })?,
        interval_secs: row.get("interval_secs")?,
        suggested_limit: SpendLimit::from_columns(
            row.get("spend_limit")?,
            row.get::<_, Option<String>>("spend_period")?.as_deref(),
        ),
        last_polled_at: row.get("last_polled_at")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn create_device_code(
        &self,
        code: &keyward_core::model::NewDeviceCode,
    ) -> StoreResult<()> {
        self.append_one(
            "INSERT INTO device_codes (device_code_hash, user_code_hash, client, scopes, status, \
             interval_secs, created_at, expires_at, resources, spend_limit, spend_period) \
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10)",
            (
                code.device_code_hash.as_bytes(),
                code.user_code_hash.as_bytes(),
                code.client,
                code.scopes.to_string(),
                code.interval_secs,
                code.created_at,
                code.expires_at,
                code.resources.to_storage(),
                code.suggested_limit.map(|l| l.amount),
                code.suggested_limit.map(|l| l.period.as_str()),
            ),
        )
        .await
        .map(drop)
    }

    async fn device_code_by_hash(&self, hash: &SecretHash) -> StoreResult<Option<DeviceCode>> {
        const SQL: &str = select_device_code!("device_code_hash");
        self.read_one(SQL, [hash.as_bytes()], device_code_from_row)
    }

    async fn device_code_by_user_code(
        &self,
        user_code_hash: &SecretHash,
    ) -> StoreResult<Option<DeviceCode>> {
        const SQL: &str = select_device_code!("user_code_hash");
        self.read_one(SQL, [user_code_hash.as_bytes()], device_code_from_row)
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
        let changed = self
            .append_one(
                "UPDATE device_codes SET status = ?2, user_id = ?3, auth_time = ?4, \
                 decided_at = ?5 \
                 WHERE user_code_hash = ?1 AND status = 'pending' AND expires_at > ?5",
                (user_code_hash.as_bytes(), status, user_id, auth_time, now),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn poll_device_code(
        &self,
        hash: &SecretHash,
        client: ClientPk,
        now: UnixTime,
        slow_down_secs: i64,
    ) -> StoreResult<Option<DeviceCode>> {
        let Some(code) = self.device_code_by_hash(hash).await? else {
            return Ok(None);
        };
        if code.client == client && code.state(now) == DeviceState::Pending {
            let grown = if code.polled_too_soon(now) {
                slow_down_secs
            } else {
                0
            };
            self.append_one(
                "UPDATE device_codes SET last_polled_at = ?2, interval_secs = interval_secs + ?3 \
                 WHERE device_code_hash = ?1 AND status = 'pending'",
                (hash.as_bytes(), now, grown),
            )
            .await?;
        }
        Ok(Some(code))
    }

    async fn redeem_device_code(
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
                    "UPDATE device_codes SET status = 'issued' \
                     WHERE device_code_hash = ?1 AND status = 'approved' AND expires_at > ?2",
                    params![hash.as_bytes(), now],
                )? == 1;
                if !won {
                    return Ok(None);
                }
                start_grant_family(tx, &family, tokens, now).map(Some)
            })
            .await
    }
}
