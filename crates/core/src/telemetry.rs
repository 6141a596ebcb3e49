//! Business metrics: what the domain decided, counted at the one place each outcome is decided
//! (the token service's `token`, the sign-in audit records, the rate limiter). They go through
//! the `metrics` facade; the web crate installs the Prometheus recorder that `/metrics` renders,
//! and without one (the CLI, unit tests) each count is a no-op.
//!
//! Every label value comes from a closed set written in this code (a grant type, an RFC 6749
//! error code, a sign-in method, a limit's kind), never from a request: no client ids, user
//! names or addresses, so the number of series stays bounded.

use crate::oauth::TokenError;

/// The tracing target of the spans meant for OTLP (a request, the store calls it made). Only
/// the OTLP layer enables it; the log output turns it off, so with OTLP off these spans are
/// disabled callsites that cost one cached check.
pub const TRACE_TARGET: &str = "keyward::otel";
use crate::oauth::tokens::Grant;

/// The log target of security events (sign-ins and their failures, lock-outs, unlocks, failed
/// client authentication), each with the client address and the account or client: what an
/// operator filters or ships to a SIEM.
pub const SECURITY_TARGET: &str = "keyward::security";

/// Token endpoint answers: `grant_type`, and `result` = `ok` or the RFC 6749 error code.
pub const TOKEN_GRANTS: &str = "keyward_token_grants_total";
/// Sign-ins: `method` (`password`, `passkey`, `upstream:<provider>`, `second_factor`) and
/// `result` (`ok`, `second_factor_required`, or why it was refused).
pub const LOGINS: &str = "keyward_logins_total";
/// Attempts a rate limit refused: `limit` is the counter's kind (`login:ip`, `token:client`...).
pub const THROTTLE_REFUSALS: &str = "keyward_throttle_refusals_total";
/// Guessing budgets used up (delays start): `budget` is `account`. Each refusal that follows is
/// a throttle refusal, counted there.
pub const LOGIN_LOCKOUTS: &str = "keyward_login_lockouts_total";
/// Live, fully signed-in sessions, read from the store at scrape time.
pub const ACTIVE_SESSIONS: &str = "keyward_active_sessions";

/// The `grant_type` label of a parsed grant.
pub fn grant_type(grant: &Grant) -> &'static str {
    match grant {
        Grant::AuthorizationCode { .. } => "authorization_code",
        Grant::RefreshToken { .. } => "refresh_token",
        Grant::ClientCredentials { .. } => "client_credentials",
        Grant::DeviceCode { .. } => "device_code",
    }
}

/// Counts one token endpoint answer.
pub fn token_grant<T>(grant: &Grant, result: &Result<T, TokenError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    };
    metrics::counter!(TOKEN_GRANTS, "grant_type" => grant_type(grant), "result" => outcome)
        .increment(1);
}

/// Counts one sign-in outcome. `method` is one of the fixed names above; an upstream login
/// passes the provider's name, which is one of the providers built into Keyward.
pub fn login(method: LoginMethod<'_>, result: &'static str) {
    let method = match method {
        LoginMethod::Named(name) => metrics::SharedString::const_str(name),
        LoginMethod::Upstream(provider) => format!("upstream:{provider}").into(),
    };
    metrics::counter!(LOGINS, "method" => method, "result" => result).increment(1);
}

/// Counts one guessing budget used up.
pub fn login_lockout(budget: &'static str) {
    metrics::counter!(LOGIN_LOCKOUTS, "budget" => budget).increment(1);
}

/// How a sign-in was attempted, as the `method` label names it.
#[derive(Debug, Clone, Copy)]
pub enum LoginMethod<'a> {
    /// `password`, `passkey`, `second_factor`.
    Named(&'static str),
    /// `upstream:<provider>`.
    Upstream(&'a str),
}

/// Counts one refusal by the rate limit whose counter is `key` (`kind:…:id`). The label is
/// the kind, the key's first two parts, which are always written in code: the rest may be an
/// address or a name.
pub fn throttle_refusal(key: &str) {
    metrics::counter!(THROTTLE_REFUSALS, "limit" => limit_kind(key).to_owned()).increment(1);
}

/// `login:ip:2001:db8::1` → `login:ip`; `login:user:42` → `login:user`.
pub fn limit_kind(key: &str) -> &str {
    let mut colons = key.match_indices(':').map(|(i, _)| i);
    match (colons.next(), colons.next()) {
        (Some(_), Some(second)) => &key[..second],
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_label_is_the_kind_never_the_address_or_name() {
        assert_eq!(limit_kind("login:ip:2001:db8::1"), "login:ip");
        assert_eq!(limit_kind("login:user:42"), "login:user");
        assert_eq!(limit_kind("mail:verify:address:a@b.c"), "mail:verify");
        assert_eq!(limit_kind("token:client:kw_abc"), "token:client");
        assert_eq!(limit_kind("odd"), "odd");
    }
}
