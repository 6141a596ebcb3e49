//! The client-authentication throttle shared by the token, revocation and introspection
//! endpoints: failed authentications and grants count against the client_id and the address.
//!
//! Design, for a success path with one throttle read and no throttle write:
//! - before the work, one read of the address's counter: an address over its budget is refused
//!   outright (429) and its attempt is not counted (PostgreSQL serves this read from memory
//!   until a counter changes at any node, so a success costs no round trip for it);
//! - the work runs; a success writes nothing;
//! - a counted failure is then counted with one atomic increment-then-compare per counter (the
//!   limiter's `consume`), and the answer depends on the count that increment returned, so
//!   concurrent failures cannot both slip under a budget. The failure that goes over the
//!   address's budget, and a failed client authentication once the client_id's budget is
//!   exhausted, are answered 429.
//!
//! Revocation and introspection make that read after a failed authentication instead of before
//! it (see `TokenService::authenticate_throttled`): they only authenticate the client, whose
//! secret cannot be guessed faster, so failures are refused and counted exactly as here while a
//! success costs nothing.
//!
//! The per-client budget never refuses a client that authenticates correctly: a client_id is
//! public, so refusing its correct credentials would let anyone lock an app out. Reserving
//! before the work (`reserve`/`release`) would bound a burst from a fresh address exactly, but
//! adds two writes to every success; the bound here is the budget plus the requests already in
//! flight when it is reached, each of which is still counted.

use crate::limits::{Keyed, LimitError, RateLimiter, key};
use crate::oauth::TokenError;
use crate::settings::Settings;
use std::slice;

pub(super) struct FailureBudget {
    per_ip: Keyed,
    per_client: Keyed,
}

impl FailureBudget {
    pub(super) fn new(settings: &Settings, client_id: &str, ip: &str) -> Self {
        Self {
            per_ip: (key("token:ip", ip), settings.token_failures_per_ip()),
            per_client: (
                key("token:client", client_id),
                settings.token_failures_per_client(),
            ),
        }
    }

    /// Refuses an address that is over its budget. One store read.
    pub(super) async fn check(&self, limits: &RateLimiter) -> Result<(), TokenError> {
        Ok(limits.check(slice::from_ref(&self.per_ip)).await?)
    }

    /// Counts a failure that looks like guessing, and turns it into a 429 when that goes over
    /// a budget; anything else passes through untouched (and unwritten).
    pub(super) async fn settle<T>(
        &self,
        limits: &RateLimiter,
        result: Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        let error = match result {
            Err(error) if error.counts_as_failure() => error,
            other => return other,
        };
        let per_ip = limits.consume(slice::from_ref(&self.per_ip)).await;
        let per_client = limits.consume(slice::from_ref(&self.per_client)).await;
        per_ip?;
        match per_client {
            Err(LimitError::Store(e)) => return Err(e.into()),
            Err(over) if error.is_client_authentication() => return Err(over.into()),
            _ => {}
        }
        Err(error)
    }
}
