//! A device authorization (RFC 8628): the codes a device was given, and what the user decided.

use crate::billing::limit::SpendLimit;
use crate::clock::UnixTime;
use crate::model::{ClientPk, UserId};
use crate::oauth::audience::ResourceGrants;
use crate::oauth::scope::ScopeSet;
use crate::secret::SecretHash;

/// A device authorization to store: both codes only as hashes.
#[derive(Debug, Clone)]
pub struct NewDeviceCode {
    pub device_code_hash: SecretHash,
    /// The hash of the normalised user code (`crate::oauth::device::normalise_user_code`).
    pub user_code_hash: SecretHash,
    pub client: ClientPk,
    pub scopes: ScopeSet,
    /// The APIs asked for (RFC 8707), with their scopes.
    pub resources: ResourceGrants,
    /// The polling interval the device was told (RFC 8628 §3.2).
    pub interval_secs: i64,
    /// The limit the app suggested for `balance:spend`, to pre-fill the consent form.
    pub suggested_limit: Option<SpendLimit>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// What the user did with a device authorization, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved it at the `/device` page; tokens not yet issued.
    Approved {
        user_id: UserId,
        auth_time: UnixTime,
    },
    /// The user said no.
    Denied,
    /// Tokens were issued for it: spent.
    Issued { user_id: UserId },
}

impl DeviceStatus {
    /// The value of the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved { .. } => "approved",
            Self::Denied => "denied",
            Self::Issued { .. } => "issued",
        }
    }

    /// From the `status`, `user_id` and `auth_time` columns; `None` for a row that breaks the
    /// lifecycle (approved or issued without a user).
    pub fn from_columns(
        status: &str,
        user_id: Option<UserId>,
        auth_time: Option<UnixTime>,
    ) -> Option<Self> {
        Some(match (status, user_id, auth_time) {
            ("pending", _, _) => Self::Pending,
            ("approved", Some(user_id), Some(auth_time)) => Self::Approved { user_id, auth_time },
            ("denied", _, _) => Self::Denied,
            ("issued", Some(user_id), _) => Self::Issued { user_id },
            _ => return None,
        })
    }
}

/// A stored device authorization.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code_hash: SecretHash,
    pub user_code_hash: SecretHash,
    pub client: ClientPk,
    pub scopes: ScopeSet,
    pub resources: ResourceGrants,
    pub status: DeviceStatus,
    /// The interval the device must keep between polls; grows with each `slow_down`.
    pub interval_secs: i64,
    pub suggested_limit: Option<SpendLimit>,
    pub last_polled_at: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Where a device authorization stands at a given time: its status, with expiry applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    Approved {
        user_id: UserId,
        auth_time: UnixTime,
    },
    Denied,
    /// Spent: tokens were issued for it.
    Issued,
    /// Not decided, or approved and not collected, before `expires_at`.
    Expired,
}

impl DeviceCode {
    /// The one place the lifecycle is read: a spent or denied code stays so after expiry, an
    /// undecided or uncollected one expires.
    pub fn state(&self, now: UnixTime) -> DeviceState {
        match self.status {
            DeviceStatus::Issued { .. } => DeviceState::Issued,
            DeviceStatus::Denied => DeviceState::Denied,
            _ if self.expires_at <= now => DeviceState::Expired,
            DeviceStatus::Pending => DeviceState::Pending,
            DeviceStatus::Approved { user_id, auth_time } => {
                DeviceState::Approved { user_id, auth_time }
            }
        }
    }

    /// Whether this poll came sooner than the interval after the last one (RFC 8628 §3.5
    /// `slow_down`).
    pub fn polled_too_soon(&self, now: UnixTime) -> bool {
        self.last_polled_at
            .is_some_and(|last| now - last < self.interval_secs)
    }
}

/// The user's answer at the `/device` page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecision {
    Approve {
        user_id: UserId,
        auth_time: UnixTime,
    },
    Deny,
}
