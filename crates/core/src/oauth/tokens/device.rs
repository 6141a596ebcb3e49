//! The device-code grant at the token endpoint (RFC 8628 §3.4–3.5): the device polls with its
//! `device_code` until the user has answered at the `/device` page, then collects its tokens,
//! issued exactly as for the authorization-code grant.

use super::{Approved, IssuedTokens, TokenService};
use crate::audit::{self, action};
use crate::model::{Client, DeviceState, GrantType, NewFamily};
use crate::oauth::TokenError;
use crate::oauth::device::{DEVICE_CODE_PREFIX, SLOW_DOWN_STEP_SECS};
use crate::secret::SecretHash;
use serde_json::json;

impl TokenService {
    /// One poll of the device-code grant. The answers of RFC 8628 §3.5 in order: a code that is
    /// unknown or another client's is `invalid_grant` (as is one already spent: RFC 8628 §3.3
    /// makes it single use); a denied one `access_denied`; an expired one `expired_token`; a poll
    /// sooner than the interval after the last one `slow_down` (and the interval grows by 5 s
    /// for every later poll); an unanswered one `authorization_pending`. An approved one is
    /// answered at once, however soon (the answer is final, so waiting protects nothing), and
    /// spent in the same store transaction that stores its tokens.
    pub(super) async fn device_code(
        &self,
        client: &Client,
        device_code: &str,
        resources: &[String],
    ) -> Result<IssuedTokens, TokenError> {
        const BAD: TokenError = TokenError::InvalidGrant("invalid or used device_code");
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(TokenError::UnauthorizedClient(
                "the device_code grant is not enabled",
            ));
        }
        if !device_code.starts_with(DEVICE_CODE_PREFIX) || device_code.len() > 256 {
            return Err(BAD);
        }
        let hash = SecretHash::of(device_code);
        let now = self.clock.now();
        // The code as it was before this poll; a pending one's poll is recorded in the same step.
        let Some(stored) = self
            .store
            .poll_device_code(&hash, client.id, now, SLOW_DOWN_STEP_SECS)
            .await?
        else {
            return Err(BAD);
        };
        if stored.client != client.id {
            return Err(BAD);
        }
        let (user_id, auth_time) = match stored.state(now) {
            DeviceState::Issued => return Err(BAD),
            DeviceState::Denied => return Err(TokenError::AccessDenied),
            DeviceState::Expired => return Err(TokenError::ExpiredToken),
            DeviceState::Pending if stored.polled_too_soon(now) => {
                let interval = stored.interval_secs + SLOW_DOWN_STEP_SECS;
                return Err(TokenError::SlowDown { interval });
            }
            DeviceState::Pending => return Err(TokenError::AuthorizationPending),
            DeviceState::Approved { user_id, auth_time } => (user_id, auth_time),
        };
        let approved = Approved {
            user_id,
            auth_time,
            scopes: stored.scopes,
            resources: &stored.resources,
            nonce: None,
        };
        let minted = self.mint_approved(client, approved, resources, now).await?;
        let family = NewFamily {
            client: client.id,
            user_id: Some(user_id),
            code_hash: None,
            auth_time,
            created_at: now,
        };
        // The one commit: the device code is spent and the tokens stored together.
        let Some(family_id) = self
            .store
            .redeem_device_code(&hash, family, &minted.rows, now)
            .await?
        else {
            // A concurrent poll collected the tokens first.
            return Err(BAD);
        };
        audit::record(
            self.store.as_ref(),
            now,
            Some(user_id),
            action::DEVICE_TOKEN_ISSUED,
            client.client_id.clone(),
            json!({"family": family_id, "scopes": stored.scopes.intersection(client.allowed_scopes).to_string()}),
            "",
        )
        .await;
        Ok(minted.issued)
    }
}
