//! Top-up codes, the ledger, charges and refunds.

use crate::SqliteStore;
use crate::db::{execute, first_row};
use crate::ledger::{self, record};
use crate::rows::topup_code_from_row;
use async_trait::async_trait;
use keyward_core::billing::MAX_QUOTA;
use keyward_core::billing::ledger::{Discrepancy, EntryKind, LedgerEntry, NewEntry};
use keyward_core::billing::spend::{ChargeRequest, RefundRequest, SpendOutcome};
use keyward_core::billing::topup::{NewTopUpCode, Redemption, TopUpCode};
use keyward_core::clock::UnixTime;
use keyward_core::model::{ClientPk, UserId};
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
                record(
                    tx,
                    &NewEntry::by(user, EntryKind::TopUp, (amount, 0), Some(user), now),
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

    async fn ledger_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<LedgerEntry>> {
        self.read_all(
            ledger::ENTRIES_OF_USER,
            [user, page.limit, page.offset],
            ledger::entry_from_row,
        )
    }

    async fn ledger_discrepancies(&self) -> StoreResult<Vec<Discrepancy>> {
        self.read_all(ledger::DISCREPANCIES, [], ledger::discrepancy_from_row)
    }

    async fn spent_by_client(
        &self,
        user: UserId,
        client: ClientPk,
        since: UnixTime,
    ) -> StoreResult<i64> {
        self.read_one(ledger::SPENT, [user, client, since], |row| row.get(0))
            .map(Option::unwrap_or_default)
    }

    async fn charge(&self, request: &ChargeRequest) -> StoreResult<SpendOutcome> {
        self.db()
            .write(|tx| crate::spending::charge(tx, request))
            .await
    }

    async fn refund(&self, request: &RefundRequest) -> StoreResult<SpendOutcome> {
        self.db()
            .write(|tx| crate::spending::refund(tx, request))
            .await
    }
}
