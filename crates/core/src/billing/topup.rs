//! Top-up codes: an admin generates codes worth an amount of quota; a user redeems one, once.
//! A code is 256 random bits shown once at generation and stored only as its SHA-256. Redeeming
//! marks the code used and adds the amount in one transaction, so of concurrent redemptions
//! exactly one wins; each attempt takes a slot per user and per IP before the code is looked up,
//! and a success gives them back, so only failures count; failures all look the same.

use crate::audit::{self, action};
use crate::clock::{Clock, UnixTime};
use crate::limits::{self, Limit, LimitError, RateLimiter};
use crate::model::{User, UserId};
use crate::secret::{Secret, SecretHash};
use crate::store::{Page, Store, StoreError};
use std::sync::Arc;

/// Prefix of top-up codes, so that secret scanners recognise leaked ones.
pub const TOPUP_PREFIX: &str = "kwtop_";
pub const MAX_CODES_PER_BATCH: i64 = 100;
/// Keeps `quota + amount` far from overflowing.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
pub const MAX_LABEL_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum TopUpError {
    #[error("生成数量必须在 1 到 100 之间")]
    BadCount,
    #[error("额度必须为正整数")]
    BadAmount,
    #[error("过期时间必须晚于现在")]
    BadExpiry,
    #[error("名称不能超过 64 个字符")]
    BadLabel,
    /// One message for an unknown, used or expired code: the answer must not tell which.
    #[error("兑换码无效或已被使用")]
    InvalidCode,
    #[error("尝试次数过多，请 {retry_after} 秒后再试")]
    Throttled { retry_after: i64 },
    #[error("额度已达上限，无法兑换")]
    QuotaFull,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LimitError> for TopUpError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::Throttled { retry_after },
            LimitError::Store(e) => Self::Store(e),
        }
    }
}

/// What redeeming a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    Credited {
        id: i64,
        amount: i64,
    },
    /// An unknown, used or expired code, or a user who cannot be credited (disabled).
    Invalid,
    /// The amount would take the quota over [`crate::billing::MAX_QUOTA`]: the code stays unused.
    QuotaFull,
}

/// A code as stored: never the code itself.
#[derive(Debug, Clone)]
pub struct TopUpCode {
    pub id: i64,
    pub label: String,
    pub amount: i64,
    pub created_by: Option<UserId>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub redeemed_by: Option<UserId>,
    /// The redeemer's user name, for listings.
    pub redeemed_by_name: Option<String>,
    pub redeemed_at: Option<UnixTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopUpStatus {
    Unused,
    Used,
    Expired,
}

impl TopUpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unused => "unused",
            Self::Used => "used",
            Self::Expired => "expired",
        }
    }
}

impl TopUpCode {
    pub fn status(&self, now: UnixTime) -> TopUpStatus {
        if self.redeemed_at.is_some() {
            TopUpStatus::Used
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TopUpStatus::Expired
        } else {
            TopUpStatus::Unused
        }
    }
}

/// What the store keeps of a new code.
#[derive(Debug, Clone)]
pub struct NewTopUpCode {
    pub hash: SecretHash,
    pub label: String,
    pub amount: i64,
    pub created_by: UserId,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
}

/// An admin's order for codes.
#[derive(Debug, Clone)]
pub struct Generate<'a> {
    pub amount: i64,
    pub count: i64,
    pub label: Option<&'a str>,
    pub expires_at: Option<UnixTime>,
}

/// How hard guessing codes is made.
#[derive(Debug, Clone, Copy)]
pub struct TopUpPolicy {
    pub window_secs: i64,
    pub max_failures_per_user: i64,
    pub max_failures_per_ip: i64,
}

impl Default for TopUpPolicy {
    fn default() -> Self {
        Self {
            window_secs: 15 * 60,
            max_failures_per_user: 10,
            max_failures_per_ip: 30,
        }
    }
}

pub struct TopUps {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: TopUpPolicy,
    limiter: RateLimiter,
}

impl TopUps {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policy: TopUpPolicy) -> Self {
        Self {
            limiter: RateLimiter::new(store.clone(), clock.clone()),
            store,
            clock,
            policy,
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Creates `count` codes in one transaction and returns them in clear, this once. The
    /// caller checks that `admin` is an admin.
    pub async fn generate(
        &self,
        admin: &User,
        order: Generate<'_>,
        ip: &str,
    ) -> Result<Vec<Secret>, TopUpError> {
        if !(1..=MAX_CODES_PER_BATCH).contains(&order.count) {
            return Err(TopUpError::BadCount);
        }
        if !(1..=MAX_AMOUNT).contains(&order.amount) {
            return Err(TopUpError::BadAmount);
        }
        let now = self.clock.now();
        if order.expires_at.is_some_and(|at| at <= now) {
            return Err(TopUpError::BadExpiry);
        }
        let label = order.label.map(str::trim).unwrap_or_default();
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(TopUpError::BadLabel);
        }
        let codes: Vec<Secret> = (0..order.count)
            .map(|_| Secret::generate(TOPUP_PREFIX))
            .collect();
        let rows: Vec<NewTopUpCode> = codes
            .iter()
            .map(|code| NewTopUpCode {
                hash: code.hash(),
                label: label.to_owned(),
                amount: order.amount,
                created_by: admin.id,
                created_at: now,
                expires_at: order.expires_at,
            })
            .collect();
        self.store.create_topup_codes(&rows).await?;
        audit::record(
            self.store.as_ref(),
            now,
            Some(admin.id),
            action::TOPUP_GENERATED,
            label,
            serde_json::json!({"amount": order.amount, "count": order.count, "expires_at": order.expires_at}),
            ip,
        )
        .await;
        Ok(codes)
    }

    /// Redeems `code` for `user`; returns the quota added.
    pub async fn redeem(&self, user: &User, code: &str, ip: &str) -> Result<i64, TopUpError> {
        let now = self.clock.now();
        let budget = [
            (
                limits::key("topup:user", &user.id.to_string()),
                Limit::new(self.policy.max_failures_per_user, self.policy.window_secs),
            ),
            (
                limits::key("topup:ip", ip),
                Limit::new(self.policy.max_failures_per_ip, self.policy.window_secs),
            ),
        ];
        let code = code.trim();
        let redeem = async {
            if code.starts_with(TOPUP_PREFIX) && code.len() <= 128 && user.is_enabled() {
                self.store
                    .redeem_topup_code(&SecretHash::of(code), user.id, now)
                    .await
                    .map_err(TopUpError::from)
            } else {
                Ok(Redemption::Invalid)
            }
        };
        let redeemed = self
            .limiter
            .attempt(
                &budget,
                |outcome| matches!(outcome, Ok(Redemption::Invalid)),
                redeem,
            )
            .await?;
        let (id, amount) = match redeemed {
            Redemption::Credited { id, amount } => (id, amount),
            Redemption::Invalid => return Err(TopUpError::InvalidCode),
            Redemption::QuotaFull => return Err(TopUpError::QuotaFull),
        };
        audit::record(
            self.store.as_ref(),
            now,
            Some(user.id),
            action::TOPUP_REDEEMED,
            id.to_string(),
            serde_json::json!({"amount": amount}),
            ip,
        )
        .await;
        Ok(amount)
    }

    /// Newest first; never the codes.
    pub async fn list(&self, page: Page) -> Result<Vec<TopUpCode>, TopUpError> {
        Ok(self.store.list_topup_codes(page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(redeemed_at: Option<i64>, expires_at: Option<i64>) -> TopUpCode {
        TopUpCode {
            id: 1,
            label: String::new(),
            amount: 5,
            created_by: None,
            created_at: 0,
            expires_at,
            redeemed_by: None,
            redeemed_by_name: None,
            redeemed_at,
        }
    }

    #[test]
    fn status_says_used_before_expired() {
        assert_eq!(code(None, None).status(100), TopUpStatus::Unused);
        assert_eq!(code(None, Some(101)).status(100), TopUpStatus::Unused);
        assert_eq!(code(None, Some(100)).status(100), TopUpStatus::Expired);
        assert_eq!(code(Some(50), Some(60)).status(100), TopUpStatus::Used);
    }
}
