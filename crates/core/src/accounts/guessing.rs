//! The guessing budget of a password attempt. A browser that signed in to the account before
//! (its device token, [`super::devices`]) has a budget of its own. Every other attempt shares the
//! anonymous budget of the account, and of the name typed, and the client address's: the first
//! failures of a window are free, then each further attempt waits, twice as long as the one
//! before (1/30, 3/30, 7/30, 15/30 of the window from its start: 30, 90, 210, 450 s by default),
//! instead of a hard lock-out. So guessing stays bounded — at most `max + 4` guesses per account
//! and window — while the owner's own browser always gets in with the right password.

use super::admin::UserEditError;
use super::{AccountError, Accounts, ClientInfo, validate};
use crate::audit::{self, action};
use crate::clock::UnixTime;
use crate::limits::{self, Keyed, Limit, Reservation};
use crate::model::{User, UserId};
use crate::store::StoreError;

/// The wait before the first attempt past the free ones is this share of the window.
const FIRST_DELAY_SHARE: i64 = 30;

/// Seconds from a window's start until the `extra`-th attempt past the free ones may run: 1, 3,
/// 7, 15... thirtieths of the window, and the whole window from the fifth on: four more
/// attempts per window at most.
pub fn delay_before(extra: i64, window_secs: i64) -> i64 {
    if extra <= 0 {
        return 0;
    }
    let first = (window_secs / FIRST_DELAY_SHARE).max(1);
    let doubled = 1_i64.checked_shl(u32::try_from(extra.min(62)).unwrap_or(62));
    doubled
        .map_or(i64::MAX, |d| first.saturating_mul(d - 1))
        .min(window_secs)
}

/// The counters an attempt is counted against.
pub(super) enum Budget {
    /// A browser the account knows: its own counter only.
    Device(Keyed),
    /// Anyone else: the account's counters (progressive) and the address's (hard).
    Anonymous { account: Vec<Keyed>, ip: Keyed },
}

/// The slots an attempt took, settled once its outcome is known.
pub(super) struct Taken {
    hard: Reservation,
    ramped: Vec<Keyed>,
    at: UnixTime,
    /// This attempt used the last free slot of an account counter: delays start now.
    last_free: bool,
}

impl Accounts {
    pub(super) fn budget(
        &self,
        identifier: &str,
        user: Option<&User>,
        client: &ClientInfo,
    ) -> Budget {
        let limit = Limit::new(
            self.policy.max_failures_per_account,
            self.policy.window_secs,
        );
        let device = match (&self.devices, user, &client.device) {
            (Some(key), Some(user), Some(token)) => key.verify(token.expose(), user.id),
            _ => None,
        };
        if let Some(id) = device {
            return Budget::Device((format!("login:device:{id}"), limit));
        }
        let mut account = vec![(limits::key("login:account", identifier), limit)];
        if let Some(user) = user {
            account.push((format!("login:user:{}", user.id), limit));
        }
        let ip = (
            limits::key("login:ip", &client.ip),
            Limit::new(self.policy.max_failures_per_ip, self.policy.window_secs),
        );
        Budget::Anonymous { account, ip }
    }

    /// Takes this attempt's slots, or refuses it (`Throttled`) taking none.
    pub(super) async fn take(&self, budget: &Budget) -> Result<Taken, AccountError> {
        let at = self.clock.now();
        match budget {
            Budget::Device(counter) => Ok(Taken {
                hard: self.limiter.reserve(std::slice::from_ref(counter)).await?,
                ramped: Vec::new(),
                at,
                last_free: false,
            }),
            Budget::Anonymous { account, ip } => {
                let mut ramped = Vec::new();
                let mut last_free = false;
                for counter in account {
                    match self.ramp(counter, at).await {
                        Ok(count) => {
                            last_free |= count == counter.1.max;
                            ramped.push(counter.clone());
                        }
                        Err(e) => {
                            self.give_back(&ramped, at).await;
                            return Err(e);
                        }
                    }
                }
                match self.limiter.reserve(std::slice::from_ref(ip)).await {
                    Ok(hard) => Ok(Taken {
                        hard,
                        ramped,
                        at,
                        last_free,
                    }),
                    Err(e) => {
                        self.give_back(&ramped, at).await;
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// Counts the attempt against a progressive counter; refused (and not counted) while the
    /// wait for the next attempt past the free ones is running.
    async fn ramp(&self, (key, limit): &Keyed, at: UnixTime) -> Result<i64, AccountError> {
        if limit.max <= 0 || limit.window_secs <= 0 {
            return Ok(0);
        }
        let count = self.store.throttle_hit(key, limit.window_secs, at).await?;
        if count <= limit.max {
            return Ok(count);
        }
        let since = self
            .store
            .throttle_count(key, limit.window_secs, at)
            .await?
            .map_or(at, |(_, since)| since);
        let opens = since + delay_before(count - limit.max, limit.window_secs);
        if at >= opens {
            return Ok(count);
        }
        self.store
            .throttle_release(key, limit.window_secs, at)
            .await?;
        crate::telemetry::throttle_refusal(key);
        Err(AccountError::Throttled {
            retry_after: (opens - at).max(1),
        })
    }

    async fn give_back(&self, ramped: &[Keyed], at: UnixTime) {
        for (key, limit) in ramped {
            if let Err(e) = self
                .store
                .throttle_release(key, limit.window_secs, at)
                .await
            {
                tracing::warn!(error = %e, "rate limit slot not given back");
            }
        }
    }

    /// Settles the slots of an attempt: a wrong guess keeps them (and, when it used the
    /// account's last free one, is recorded as the start of delays); a success frees the
    /// budget it used; a refusal or outage, which tested nothing, gives them back.
    pub(super) async fn settle<T>(
        &self,
        budget: &Budget,
        taken: Taken,
        outcome: &Result<T, AccountError>,
        login: &str,
        user: Option<&User>,
        client: &ClientInfo,
    ) -> Result<(), StoreError> {
        match outcome {
            Err(AccountError::InvalidCredentials) => {
                if taken.last_free {
                    self.record_delays_started(login, user, client).await;
                }
                Ok(())
            }
            Ok(_) => {
                self.limiter.release(taken.hard).await?;
                let used: Vec<&str> = match budget {
                    Budget::Device((key, _)) => vec![key],
                    Budget::Anonymous { account, .. } => {
                        account.iter().map(|(k, _)| k.as_str()).collect()
                    }
                };
                // The owner got in: the failures of this budget were their typos.
                for key in used {
                    self.limiter.clear(key).await?;
                }
                Ok(())
            }
            Err(_) => {
                self.give_back(&taken.ramped, taken.at).await;
                self.limiter.release(taken.hard).await
            }
        }
    }

    async fn record_delays_started(&self, login: &str, user: Option<&User>, client: &ClientInfo) {
        crate::telemetry::login_lockout("account");
        tracing::warn!(
            target: crate::telemetry::SECURITY_TARGET,
            event = "login_throttled",
            login = %super::truncate(login, 64),
            user.id = user.map(|u| u.id),
            client = %client.ip,
            "password guessing budget used up: further attempts from unknown browsers wait"
        );
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            None,
            action::SIGN_IN_THROTTLED,
            user.map(|u| u.id.to_string()).unwrap_or_default(),
            serde_json::json!({
                "login": super::truncate(login, 64),
                "budget": "account",
            }),
            &super::truncate(&client.ip, 64),
        )
        .await;
    }

    /// [`Accounts::unlock`] by an admin (the caller checked the role), for the user `id`.
    pub async fn unlock_by_admin(
        &self,
        admin: &User,
        id: UserId,
        ip: &str,
    ) -> Result<User, UserEditError> {
        let user = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserEditError::NotFound)?;
        self.unlock(&user, Some(admin.id), ip).await?;
        Ok(user)
    }

    /// Clears every guessing counter of `user` (the password's, by name, address and account,
    /// and the second step's), as if no attempt had failed; audited, with `actor` the admin or
    /// `None` for the command line. Device budgets are their browsers' own and stay.
    pub async fn unlock(
        &self,
        user: &User,
        actor: Option<UserId>,
        ip: &str,
    ) -> Result<(), StoreError> {
        let mut keys = vec![
            limits::key("login:account", &validate::login_key(&user.username)),
            format!("login:user:{}", user.id),
            limits::key("totp:login", &user.id.to_string()),
            limits::key("totp:manage", &user.id.to_string()),
        ];
        if let Some(email) = &user.email {
            keys.push(limits::key("login:account", &validate::login_key(email)));
        }
        for key in &keys {
            self.limiter.clear(key).await?;
        }
        tracing::info!(
            target: crate::telemetry::SECURITY_TARGET,
            event = "login_unlocked",
            user.id = user.id,
            actor = actor,
            client = %ip,
            "guessing counters cleared"
        );
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            actor,
            action::USER_UNLOCKED,
            user.id.to_string(),
            serde_json::json!({ "username": user.username, "by": if actor.is_some() { "admin" } else { "cli" } }),
            &super::truncate(ip, 64),
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_stop_at_the_window() {
        let waits: Vec<i64> = (0..=5).map(|k| delay_before(k, 900)).collect();
        assert_eq!(waits, [0, 30, 90, 210, 450, 900]);
        assert_eq!(delay_before(i64::MAX, 900), 900);
        assert_eq!(delay_before(1, 10), 1, "at least a second");
        // How many attempts past the free ones fit in a window, whatever its length: the bound
        // on guessing.
        for window in [1, 10, 30, 60, 900, 86_400] {
            let extra = (1..100)
                .take_while(|&k| delay_before(k, window) < window)
                .count();
            assert!(extra <= 4, "{window}");
            assert!(window < 30 || extra == 4, "{window}");
        }
    }
}
