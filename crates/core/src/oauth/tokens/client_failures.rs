//! Failed client authentication at the token endpoint, made visible: a warning in the security
//! log and an audit record, each with the claimed `client_id` and the caller's address. The
//! count is `keyward_token_grants_total{result="invalid_client"}`, already kept for every
//! answer; the failure budget (`token_failures_*`) bounds how many records a guesser can cause.

use super::{TokenRequest, TokenService};
use crate::audit::{self, action};
use crate::oauth::TokenError;

impl TokenService {
    pub(super) async fn record_client_failure(
        &self,
        request: &TokenRequest,
        error: &TokenError,
        ip: &str,
    ) {
        if !error.is_client_authentication() {
            return;
        }
        let client_id: String = request.client.client_id.chars().take(128).collect();
        let grant_type = crate::telemetry::grant_type(&request.grant);
        let reason = match error {
            TokenError::UnknownClient => "unknown_client",
            TokenError::BadClientSecret => "wrong_secret",
            _ => "bad_assertion",
        };
        tracing::warn!(
            target: crate::telemetry::SECURITY_TARGET,
            event = "client_auth_failed",
            client_id = %client_id,
            grant_type,
            reason,
            client = %ip,
            "client authentication failed at the token endpoint"
        );
        audit::record(
            self.store.as_ref(),
            self.clock.now(),
            None,
            action::CLIENT_AUTH_FAILED,
            client_id,
            serde_json::json!({ "reason": reason, "grant_type": grant_type }),
            &ip.chars().take(64).collect::<String>(),
        )
        .await;
    }
}
