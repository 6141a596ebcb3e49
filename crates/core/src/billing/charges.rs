//! The charge and refund endpoints' one core call each: who is asking (a user's grant with
//! `balance:spend`, or the billing service's client-credentials token), the shape of the
//! request, the per-grant rate limit, then the store's atomic application of
//! [`super::spend`]'s rules; and, for a charge that crossed a mark of the limit or a refund,
//! the user's notice ([`super::notices`]).

use super::ledger::LedgerEntry;
use super::notices::{self, SpendNotice};
use super::spend::{
    self, BadSpend, ChargeRequest, Receipt, RefundRequest, SpendOutcome, check_amount,
    check_description, check_key,
};
use crate::accounts::email::MailContext;
use crate::clock::Clock;
use crate::limits::{self, Limit, LimitError, RateLimiter};
use crate::model::{AccessContext, UserId};
use crate::oauth::scope::Scope;
use crate::settings::{SettingsCache, SettingsError};
use crate::store::{Page, Store, StoreError};
use std::sync::Arc;

/// How many charges and refunds a minute: per user grant, and per billing-service app, which
/// meters every user of the platform and so needs far more (config `spend_requests_per_minute`,
/// `billing_service_requests_per_minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendRates {
    pub per_grant: i64,
    pub per_billing_service: i64,
}

impl Default for SpendRates {
    fn default() -> Self {
        Self {
            per_grant: 600,
            per_billing_service: 60_000,
        }
    }
}

/// Every refusal, as a kind; the web layer words and codes them (RFC 6750-style JSON).
#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    #[error(transparent)]
    BadRequest(#[from] BadSpend),
    #[error("user_id is only for the billing service, and names the user it charges")]
    UserId,
    /// Expired or revoked token, disabled user or app, consent gone, app no longer allowed.
    #[error("the access token is invalid or expired")]
    InvalidToken,
    #[error("the token does not carry balance:spend")]
    InsufficientScope,
    #[error("the user set no spending limit for this app: send them through consent again")]
    NoLimit,
    #[error("the charge is above what the user's limit still allows")]
    LimitExceeded { remaining: i64 },
    #[error("the balance is too low")]
    InsufficientBalance,
    #[error("this idempotency_key was used with another request")]
    IdempotencyConflict,
    #[error("no such charge of this app")]
    UnknownCharge,
    #[error("the charge is older than the refund window")]
    RefundWindowClosed,
    #[error("the amount is above what is still refundable of the charge")]
    AboveRefundable { refundable: i64 },
    #[error("too many requests, retry after {retry_after} seconds")]
    Throttled { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

impl From<LimitError> for SpendError {
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::Exceeded { retry_after } => Self::Throttled { retry_after },
            LimitError::Store(e) => Self::Store(e),
        }
    }
}

/// A charge as the app sent it.
#[derive(Debug, Clone)]
pub struct ChargeOrder {
    pub amount: i64,
    pub idempotency_key: String,
    pub description: String,
    /// Only from the billing service: the user it charges.
    pub user_id: Option<UserId>,
}

/// A refund as the app sent it.
#[derive(Debug, Clone)]
pub struct RefundOrder {
    pub charge_id: i64,
    pub amount: i64,
    pub idempotency_key: String,
}

/// Who spends: a user's grant, or the billing service naming a user.
struct Spender {
    user: Option<UserId>,
    family: Option<i64>,
    throttle: String,
    per_minute: i64,
}

pub struct Spending {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: Arc<SettingsCache>,
    limiter: RateLimiter,
    rates: SpendRates,
}

impl Spending {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<SettingsCache>) -> Self {
        Self {
            limiter: RateLimiter::new(store.clone(), clock.clone()),
            store,
            clock,
            settings,
            rates: SpendRates::default(),
        }
    }

    pub fn with_rates(self, rates: SpendRates) -> Self {
        Self { rates, ..self }
    }

    /// A user's token needs `balance:spend` and names no user; a client-credentials token (no
    /// user) is the billing service's, which the store checks, and must name one.
    fn spender(
        &self,
        context: &AccessContext,
        named: Option<UserId>,
    ) -> Result<Spender, SpendError> {
        let token = &context.token;
        match &context.user {
            Some(user) => {
                if !token.scopes.contains(Scope::BalanceSpend) {
                    return Err(SpendError::InsufficientScope);
                }
                if named.is_some_and(|id| id != user.id) {
                    return Err(SpendError::UserId);
                }
                Ok(Spender {
                    user: Some(user.id),
                    family: Some(token.family_id),
                    throttle: limits::key("spend:grant", &token.family_id.to_string()),
                    per_minute: self.rates.per_grant,
                })
            }
            None => Ok(Spender {
                user: named,
                family: None,
                throttle: limits::key("spend:client", &token.client.to_string()),
                per_minute: self.rates.per_billing_service,
            }),
        }
    }

    async fn throttle(&self, spender: &Spender) -> Result<(), SpendError> {
        let limit = Limit::new(spender.per_minute.max(1), 60);
        Ok(self
            .limiter
            .consume(&[(spender.throttle.clone(), limit)])
            .await?)
    }

    /// Applies a charge; `mail` tells the user when it took the app's spending across 80 % or
    /// 100 % of the limit.
    pub async fn charge(
        &self,
        context: &AccessContext,
        order: ChargeOrder,
        mail: &MailContext<'_>,
    ) -> Result<(Receipt, bool), SpendError> {
        check_amount(order.amount)?;
        check_key(&order.idempotency_key)?;
        check_description(&order.description)?;
        let spender = self.spender(context, order.user_id)?;
        let Some(user) = spender.user else {
            return Err(SpendError::UserId);
        };
        self.throttle(&spender).await?;
        let request = ChargeRequest {
            user,
            client: context.token.client,
            family: spender.family,
            amount: order.amount,
            request_hash: spend::charge_hash(user, order.amount, &order.description),
            idempotency_key: order.idempotency_key,
            description: order.description,
            now: self.clock.now(),
        };
        let (receipt, replayed) = settle(self.store.charge(&request).await?)?;
        // A retry's receipt carries no mark: the first answer's notice was the only one.
        if let Some(reached) = receipt.reached {
            self.notify(context, mail, |app| SpendNotice::LimitReached {
                app,
                reached,
            })
            .await;
        }
        Ok((receipt, replayed))
    }

    /// Applies a refund; `mail` tells the user of a refund through their grant (the billing
    /// service's refunds, like its charges, are the platform's own metering and not mailed).
    pub async fn refund(
        &self,
        context: &AccessContext,
        order: RefundOrder,
        mail: &MailContext<'_>,
    ) -> Result<(Receipt, bool), SpendError> {
        check_amount(order.amount)?;
        check_key(&order.idempotency_key)?;
        let spender = self.spender(context, None)?;
        self.throttle(&spender).await?;
        let window_secs = self.settings.get().await?.refund_window_secs;
        let request = RefundRequest {
            client: context.token.client,
            user: spender.user,
            family: spender.family,
            charge_id: order.charge_id,
            amount: order.amount,
            request_hash: spend::refund_hash(order.charge_id, order.amount),
            idempotency_key: order.idempotency_key,
            window_secs,
            now: self.clock.now(),
        };
        let (receipt, replayed) = settle(self.store.refund(&request).await?)?;
        if !replayed {
            self.notify(context, mail, |app| SpendNotice::Refunded {
                app,
                charge_id: receipt.charge_id,
                amount: receipt.amount,
                quota: receipt.quota,
                used_quota: receipt.used_quota,
            })
            .await;
        }
        Ok((receipt, replayed))
    }

    /// Mails the notice to the user of the token, if any, naming the app. Only in-memory reads
    /// (the token's user, the app by client_id, the settings) happen before the answer; the
    /// mailer sends in the background. Best effort: the money already moved.
    async fn notify(
        &self,
        context: &AccessContext,
        mail: &MailContext<'_>,
        notice: impl FnOnce(String) -> SpendNotice,
    ) {
        let Some(user) = &context.user else {
            return;
        };
        let app = match self.store.client_by_client_id(&context.client_id).await {
            Ok(Some(client)) => client.name,
            Ok(None) => context.client_id.clone(),
            Err(e) => {
                tracing::warn!(user.id = user.id, error = %e, "spending notice not sent");
                return;
            }
        };
        notices::send(mail, user, &notice(app)).await;
    }

    /// A user's statement, newest first.
    pub async fn statement(
        &self,
        user: UserId,
        page: Page,
    ) -> Result<Vec<LedgerEntry>, SpendError> {
        Ok(self.store.ledger_of_user(user, page).await?)
    }
}

/// The receipt, and whether it answers a retry (nothing moved); or the refusal.
fn settle(outcome: SpendOutcome) -> Result<(Receipt, bool), SpendError> {
    match outcome {
        SpendOutcome::Done(receipt) => Ok((receipt, false)),
        SpendOutcome::Replayed(receipt) => Ok((receipt, true)),
        SpendOutcome::IdempotencyConflict => Err(SpendError::IdempotencyConflict),
        SpendOutcome::NotAllowed => Err(SpendError::InvalidToken),
        SpendOutcome::NoLimit => Err(SpendError::NoLimit),
        SpendOutcome::LimitExceeded { remaining } => Err(SpendError::LimitExceeded { remaining }),
        SpendOutcome::InsufficientBalance => Err(SpendError::InsufficientBalance),
        SpendOutcome::UnknownCharge => Err(SpendError::UnknownCharge),
        SpendOutcome::RefundWindowClosed => Err(SpendError::RefundWindowClosed),
        SpendOutcome::AboveRefundable { refundable } => {
            Err(SpendError::AboveRefundable { refundable })
        }
    }
}
