//! Top-up codes, the ledger, charges and refunds.

use crate::ledger::{self, record};
use crate::rows::topup_code_from_row;
use crate::{PostgresStore, backend, execute, fetch_all, fetch_optional};
use async_trait::async_trait;
use keyward_core::billing::MAX_QUOTA;
use keyward_core::billing::ledger::{Discrepancy, EntryKind, LedgerEntry, NewEntry};
use keyward_core::billing::spend::{ChargeRequest, RefundRequest, SpendOutcome};
use keyward_core::billing::topup::{NewTopUpCode, Redemption, TopUpCode};
use keyward_core::clock::UnixTime;
use keyward_core::model::{ClientPk, UserId};
use keyward_core::secret::SecretHash;
use keyward_core::store::{BillingStore, Page, StoreResult};

#[async_trait]
impl BillingStore for PostgresStore {
    async fn create_topup_codes(&self, codes: &[NewTopUpCode]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for code in codes {
            let insert = sqlx::query(
                "INSERT INTO topup_codes (code_hash, label, amount, created_by, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(code.hash.as_bytes())
            .bind(&code.label)
            .bind(code.amount)
            .bind(code.created_by)
            .bind(code.created_at)
            .bind(code.expires_at);
            execute(&mut *tx, insert).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn redeem_topup_code(
        &self,
        hash: &SecretHash,
        user: UserId,
        now: UnixTime,
    ) -> StoreResult<Redemption> {
        let mut tx = self.begin().await?;
        // The user's row lock orders this user's redemptions, so the headroom read here holds
        // until the credit; the code's row lock (the conditional update) decides races for one
        // code: a concurrent redemption waits, then finds it used and changes nothing.
        let quota: Option<i64> =
            sqlx::query_scalar("SELECT quota FROM users WHERE id = $1 AND status = 1 FOR UPDATE")
                .bind(user)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        // A code whose owner cannot be credited stays unused.
        let Some(quota) = quota else {
            return Ok(Redemption::Invalid);
        };
        let claimed: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE topup_codes SET redeemed_by = $2, redeemed_at = $3 \
             WHERE code_hash = $1 AND redeemed_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $3) AND amount <= $4 RETURNING id, amount",
        )
        .bind(hash.as_bytes())
        .bind(user)
        .bind(now)
        .bind(MAX_QUOTA.saturating_sub(quota))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some((id, amount)) = claimed else {
            let live = sqlx::query(
                "SELECT 1 FROM topup_codes WHERE code_hash = $1 AND redeemed_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2)",
            );
            let live = live.bind(hash.as_bytes()).bind(now);
            return Ok(match fetch_optional(&mut *tx, live, |_| Ok(())).await? {
                Some(()) => Redemption::QuotaFull,
                None => Redemption::Invalid,
            });
        };
        let credit =
            sqlx::query("UPDATE users SET quota = quota + $2, updated_at = $3 WHERE id = $1");
        execute(&mut *tx, credit.bind(user).bind(amount).bind(now)).await?;
        let entry = NewEntry::by(user, EntryKind::TopUp, (amount, 0), Some(user), now);
        record(&mut *tx, &entry).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Redemption::Credited { id, amount })
    }

    async fn list_topup_codes(&self, page: Page) -> StoreResult<Vec<TopUpCode>> {
        let query = sqlx::query(
            "SELECT c.id, c.label, c.amount, c.created_by, c.created_at, c.expires_at, \
             c.redeemed_by, c.redeemed_at, u.username AS redeemed_by_name \
             FROM topup_codes c LEFT JOIN users u ON u.id = c.redeemed_by \
             ORDER BY c.id DESC LIMIT $1 OFFSET $2",
        );
        fetch_all(
            self.pool(),
            query.bind(page.limit).bind(page.offset),
            topup_code_from_row,
        )
        .await
    }

    async fn ledger_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<LedgerEntry>> {
        let query = sqlx::query(ledger::ENTRIES_OF_USER)
            .bind(user)
            .bind(page.limit)
            .bind(page.offset);
        fetch_all(self.pool(), query, ledger::entry_from_row).await
    }

    async fn ledger_discrepancies(&self) -> StoreResult<Vec<Discrepancy>> {
        let query = sqlx::query(ledger::DISCREPANCIES);
        fetch_all(self.pool(), query, ledger::discrepancy_from_row).await
    }

    async fn spent_by_client(
        &self,
        user: UserId,
        client: ClientPk,
        since: UnixTime,
    ) -> StoreResult<i64> {
        let query = sqlx::query(ledger::SPENT)
            .bind(user)
            .bind(client)
            .bind(since);
        fetch_optional(self.pool(), query, |row| sqlx::Row::try_get(row, 0))
            .await
            .map(Option::unwrap_or_default)
    }

    async fn charge(&self, request: &ChargeRequest) -> StoreResult<SpendOutcome> {
        crate::spending::charge(self.begin().await?, request).await
    }

    async fn refund(&self, request: &RefundRequest) -> StoreResult<SpendOutcome> {
        crate::spending::refund(self.begin().await?, request).await
    }
}
