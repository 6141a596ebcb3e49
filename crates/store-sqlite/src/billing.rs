//! Top-up codes.

use crate::SqliteStore;
use crate::db::{execute, first_row};
use crate::rows::topup_code_from_row;
use async_trait::async_trait;
use keyward_core::billing::MAX_QUOTA;
use keyward_core::billing::topup::{NewTopUpCode, Redemption, TopUpCode};
use keyward_core::clock::UnixTime;
use keyward_core::model::UserId;
use keyward_core::secret::SecretHash;
use keyward_core::store::{BillingStore, Page, StoreResult};
use rusqlite::params;

#[async_trait]
impl BillingStore for SqliteStore {
    async fn create_topup_codes(&self, codes: &[NewTopUpCode]) -> StoreResult<()> {
        self.db().write(|tx| {
            for code in codes {
                execute(
                    tx,
                    "INSERT INTO topup_codes (code_hash, label, amount, created_by, created_at, \
                     expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        code.hash.as_bytes(),
                        code.label,
                        code.amount,
                        code.created_by,
                        code.created_at,
                        code.expires_at
                    ],
                )?;
            }
            Ok(())
        }).await
    }

    async fn redeem_topup_code(
        &self,
        hash: &SecretHash,
        user: UserId,
        now: UnixTime,
    ) -> StoreResult<Redemption> {
        // The write lock decides races: a concurrent redemption waits, then finds the code used
        // (or the quota fuller) and changes nothing.
        self.db()
            .write(|tx| {
                let quota: Option<i64> = first_row(
                    tx,
                    "SELECT quota FROM users WHERE id = ?1 AND status = 1",
                    [user],
                    |row| row.get(0),
                )?;
                // A code whose owner cannot be credited stays unused.
                let Some(quota) = quota else {
                    return Ok(Redemption::Invalid);
                };
                let claimed: Option<(i64, i64)> = first_row(
                    tx,
                    "UPDATE topup_codes SET redeemed_by = ?2, redeemed_at = ?3 \
                     WHERE code_hash = ?1 AND redeemed_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > ?3) AND amount <= ?4 \
                     RETURNING id, amount",
                    params![hash.as_bytes(), user, now, MAX_QUOTA.saturating_sub(quota)],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                let Some((id, amount)) = claimed else {
                    let live = first_row(
                        tx,
                        "SELECT 1 FROM topup_codes WHERE code_hash = ?1 AND redeemed_at IS NULL \
                         AND (expires_at IS NULL OR expires_at > ?2)",
                        params![hash.as_bytes(), now],
                        |_| Ok(()),
                    )?;
                    return Ok(match live {
                        Some(()) => Redemption::QuotaFull,
                        None => Redemption::Invalid,
                    });
                };
                execute(
                    tx,
                    "UPDATE users SET quota = quota + ?2, updated_at = ?3 WHERE id = ?1",
                    [user, amount, now],
                )?;
                Ok(Redemption::Credited { id, amount })
            })
            .await
    }

    async fn list_topup_codes(&self, page: Page) -> StoreResult<Vec<TopUpCode>> {
        const SQL: &str = "SELECT c.id, c.label, c.amount, c.created_by, c.created_at, \
             c.expires_at, c.redeemed_by, c.redeemed_at, u.username AS redeemed_by_name \
             FROM topup_codes c LEFT JOIN users u ON u.id = c.redeemed_by \
             ORDER BY c.id DESC LIMIT ?1 OFFSET ?2";
        self.read_all(SQL, [page.limit, page.offset], topup_code_from_row)
    }
}
