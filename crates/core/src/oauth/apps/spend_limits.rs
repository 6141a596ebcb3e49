//! The limits users set at consent for apps that spend their balance (issue #19): what each app
//! spent against its limit, and changing a limit afterwards. Lowering applies at once; raising
//! needs the user's confirmation, as consent did, and never comes from a developer token (the
//! caller says which by `confirmed`).

use super::Apps;
use crate::audit::action;
use crate::billing::limit::{SpendLimit, is_raise};
use crate::billing::spend::LimitState;
use crate::model::{Client, Consent, User};
use crate::store::StoreError;
use serde_json::json;

/// A consent's limit with what the app spent under it, in quota units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitUse {
    pub limit: SpendLimit,
    /// Charges minus refunds in the limit's current period (for `total`: since the consent).
    pub spent_this_period: i64,
    /// Charges minus refunds since the consent was given.
    pub spent_total: i64,
    /// What the app may still spend this period; 0 after the user lowered the limit below
    /// what was spent.
    pub remaining: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LimitChangeError {
    /// No such app, no consent to it, or a consent without a limit (no `balance:spend`):
    /// another user's consent looks the same as none.
    #[error("授权不存在，或该应用没有消费限额")]
    NotFound,
    /// The new limit may allow more than the current one: the user confirms it first.
    #[error("提高消费限额需要在浏览器中确认")]
    NeedsConfirmation {
        client: Box<Client>,
        old: SpendLimit,
    },
    /// The limit changed between reading and writing it (another tab, another request).
    #[error("消费限额刚刚被修改，请刷新后重试")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change that applied (or that changed nothing: `old == new`).
#[derive(Debug, Clone)]
pub struct LimitChanged {
    pub client: Client,
    pub old: SpendLimit,
    pub new: SpendLimit,
    pub raised: bool,
}

impl Apps {
    /// What the app spent under `consent`'s limit; `None` when the consent has no limit.
    pub async fn limit_use(&self, consent: &Consent) -> Result<Option<LimitUse>, StoreError> {
        let Some(limit) = consent.spend_limit else {
            return Ok(None);
        };
        let (user, client) = (consent.user_id, consent.client);
        let since = limit.window_start(self.clock.now(), consent.created_at);
        let spent_this_period = self.store.spent_by_client(user, client, since).await?;
        let spent_total = if since == consent.created_at {
            spent_this_period
        } else {
            self.store
                .spent_by_client(user, client, consent.created_at)
                .await?
        };
        Ok(Some(LimitUse {
            limit,
            spent_this_period,
            spent_total,
            remaining: LimitState {
                limit,
                spent: spent_this_period,
            }
            .remaining(),
        }))
    }

    /// Sets the limit of `user`'s consent to the app `client_id` to `new`. A lowering
    /// ([`is_raise`]) applies at once; a raise only when `confirmed` (the confirmation page's
    /// POST, or a JSON call with a browser session), else [`LimitChangeError::NeedsConfirmation`]
    /// and nothing changes. The write is conditional on the limit the rule was judged against.
    pub async fn change_spend_limit(
        &self,
        user: &User,
        client_id: &str,
        new: SpendLimit,
        confirmed: bool,
        ip: &str,
    ) -> Result<LimitChanged, LimitChangeError> {
        if client_id.len() > 128 {
            return Err(LimitChangeError::NotFound);
        }
        let client = self
            .store
            .client_by_client_id(client_id)
            .await?
            .ok_or(LimitChangeError::NotFound)?;
        let old = self
            .store
            .consent(user.id, client.id)
            .await?
            .and_then(|c| c.spend_limit)
            .ok_or(LimitChangeError::NotFound)?;
        let raised = is_raise(old, new);
        if old == new {
            return Ok(LimitChanged {
                client,
                old,
                new,
                raised: false,
            });
        }
        if raised && !confirmed {
            return Err(LimitChangeError::NeedsConfirmation {
                client: Box::new(client),
                old,
            });
        }
        if !self
            .store
            .change_spend_limit(user.id, client.id, old, new)
            .await?
        {
            return Err(LimitChangeError::Changed);
        }
        let detail = json!({
            "old": old.to_string(),
            "new": new.to_string(),
            "raised": raised,
        });
        self.audit(
            Some(user),
            action::CONSENT_LIMIT_CHANGED,
            &client,
            detail,
            ip,
        )
        .await;
        Ok(LimitChanged {
            client,
            old,
            new,
            raised,
        })
    }
}
