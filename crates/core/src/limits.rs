//! Rate limits on abuse-prone actions (registration, token requests, e-mail sending, WeChat and
//! TOTP codes). Counters are fixed windows in the store's `throttle` table, so on PostgreSQL
//! every node counts against the same numbers; on SQLite there is one node anyway.
//!
//! Guessing limits *reserve* the attempt before the work (`reserve`: one atomic
//! increment-then-compare per counter), so a burst of parallel attempts cannot all pass a check
//! before any failure is written; a success that is free gives its slot back (`release`).
//! Actions that cost something even when they succeed (sending mail) `consume` instead, which
//! keeps the count. `check` + `record` (read before, write after a failure) remain only where
//! the work between them is too short for a burst to matter and the success path must not write.

use crate::clock::{Clock, UnixTime};
use crate::store::{MAX_THROTTLE_KEYS, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// At most `max` events per fixed window of `window_secs`. `max` 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub max: i64,
    pub window_secs: i64,
}

impl Limit {
    pub const fn new(max: i64, window_secs: i64) -> Self {
        Self { max, window_secs }
    }

    fn is_off(self) -> bool {
        self.max <= 0 || self.window_secs <= 0
    }
}

/// A counter name and the limit that applies to it, e.g. `("register:ip:192.0.2.1", limit)`.
pub type Keyed = (String, Limit);

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("too many requests, retry after {retry_after} seconds")]
    Exceeded { retry_after: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct RateLimiter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl RateLimiter {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Refuses when any counter has reached its limit in its current window. Reads only: one
    /// store read for all the counters whose limit is on, none when every limit is off.
    pub async fn check(&self, keys: &[Keyed]) -> Result<(), LimitError> {
        let now = self.clock.now();
        let on: Vec<(&str, Limit)> = keys
            .iter()
            .filter(|(_, l)| !l.is_off())
            .map(|(key, limit)| (key.as_str(), *limit))
            .collect();
        for batch in on.chunks(MAX_THROTTLE_KEYS) {
            let asked: Vec<(&str, i64)> = batch
                .iter()
                .map(|&(key, limit)| (key, limit.window_secs))
                .collect();
            let counts = self.store.throttle_counts(&asked, now).await?;
            if counts.len() != batch.len() {
                return Err(StoreError::backend(format!(
                    "{} throttle counters read for {} keys",
                    counts.len(),
                    batch.len()
                ))
                .into());
            }
            for (&(key, limit), count) in batch.iter().zip(counts) {
                if let Some((count, since)) = count
                    && count >= limit.max
                {
                    crate::telemetry::throttle_refusal(key);
                    return Err(exceeded(since, limit, now));
                }
            }
        }
        Ok(())
    }

    /// Counts one failure against every counter.
    pub async fn record(&self, keys: &[Keyed]) -> Result<(), StoreError> {
        let now = self.clock.now();
        for (key, limit) in keys.iter().filter(|(_, l)| !l.is_off()) {
            self.store.throttle_hit(key, limit.window_secs, now).await?;
        }
        Ok(())
    }

    /// Counts this attempt against every counter and refuses it if it goes over a limit. The
    /// increment is one atomic statement, so concurrent attempts cannot slip past together.
    pub async fn consume(&self, keys: &[Keyed]) -> Result<(), LimitError> {
        let now = self.clock.now();
        for (key, limit) in keys.iter().filter(|(_, l)| !l.is_off()) {
            let count = self.store.throttle_hit(key, limit.window_secs, now).await?;
            if count > limit.max {
                crate::telemetry::throttle_refusal(key);
                let since = self.window_start(key, *limit, now).await?;
                return Err(exceeded(since, *limit, now));
            }
        }
        Ok(())
    }

    /// Counts this attempt against every counter *before* the work it guards, and refuses it when
    /// that takes any counter over its limit. The returned reservation is kept (a failure stays
    /// counted) unless given back with [`RateLimiter::release`].
    pub async fn reserve(&self, keys: &[Keyed]) -> Result<Reservation, LimitError> {
        let at = self.clock.now();
        let mut taken = Vec::new();
        for (key, limit) in keys.iter().filter(|(_, l)| !l.is_off()) {
            let count = self.store.throttle_hit(key, limit.window_secs, at).await?;
            taken.push((key.clone(), *limit));
            if count > limit.max {
                crate::telemetry::throttle_refusal(key);
                let since = self.window_start(key, *limit, at).await?;
                // A refused attempt does no work, so it takes no slot: only the attempts that
                // ran stay counted, and slots given back by successes can be used again.
                self.release(Reservation { taken, at }).await?;
                return Err(exceeded(since, *limit, at));
            }
        }
        Ok(Reservation { taken, at })
    }

    /// When the counter of `key` started counting its current window (`now` if it is empty):
    /// `Retry-After` runs from there.
    async fn window_start(
        &self,
        key: &str,
        limit: Limit,
        now: UnixTime,
    ) -> Result<UnixTime, StoreError> {
        Ok(self
            .store
            .throttle_count(key, limit.window_secs, now)
            .await?
            .map_or(now, |(_, since)| since))
    }

    /// Gives a reservation's slots back: the attempt succeeded and successes are not counted.
    pub async fn release(&self, reservation: Reservation) -> Result<(), StoreError> {
        for (key, limit) in &reservation.taken {
            self.store
                .throttle_release(key, limit.window_secs, reservation.at)
                .await?;
        }
        Ok(())
    }

    /// Runs `work` as one guess against `keys`: its slot is reserved before the work starts,
    /// kept when `wrong_guess` says the outcome was one, and given back otherwise (a success,
    /// or a refusal or outage that tested nothing).
    pub async fn attempt<T, E>(
        &self,
        keys: &[Keyed],
        wrong_guess: impl FnOnce(&Result<T, E>) -> bool,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        E: From<LimitError>,
    {
        let reservation = self.reserve(keys).await?;
        let outcome = work.await;
        if wrong_guess(&outcome) {
            return outcome;
        }
        if let Err(e) = self.release(reservation).await {
            // The slot stays taken, as if the attempt had failed: harmless, and the outcome
            // (perhaps a redeemed code) must still reach the caller.
            tracing::warn!(error = %e, "rate limit slot not given back");
        }
        outcome
    }

    /// Forgets a counter (after a success that proves the failures were honest mistakes).
    pub async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.store.throttle_clear(key).await
    }
}

/// Attempts counted by [`RateLimiter::reserve`]; dropping it keeps them counted.
#[derive(Debug)]
#[must_use = "a reservation is kept as a failure unless released"]
pub struct Reservation {
    taken: Vec<Keyed>,
    at: UnixTime,
}

/// Seconds until the window that refused the request ends; at least 1.
fn exceeded(since: UnixTime, limit: Limit, now: UnixTime) -> LimitError {
    LimitError::Exceeded {
        retry_after: (since + limit.window_secs - now).max(1),
    }
}

/// A counter name with an untrusted part (a client id, an e-mail address) cut to a bounded
/// length, so that hostile input cannot bloat the throttle table.
pub fn key(kind: &str, id: &str) -> String {
    let id: String = id.chars().take(128).collect();
    format!("{kind}:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_counts_down_to_the_end_of_the_window() {
        let limit = Limit::new(3, 600);
        let LimitError::Exceeded { retry_after } = exceeded(1000, limit, 1100) else {
            panic!("exceeded");
        };
        assert_eq!(retry_after, 500);
        let LimitError::Exceeded { retry_after } = exceeded(1000, limit, 5000) else {
            panic!("exceeded");
        };
        assert_eq!(retry_after, 1);
    }

    #[test]
    fn keys_are_bounded() {
        assert_eq!(key("mail:address", "a@b.c"), "mail:address:a@b.c");
        assert_eq!(key("x", &"é".repeat(1000)).chars().count(), 130);
        assert!(Limit::new(0, 60).is_off() && !Limit::new(1, 60).is_off());
    }
}
