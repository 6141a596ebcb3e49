//! Device tokens: a browser that signed in to an account keeps a token, signed with a key derived
//! from the master key, that names the account. Its password attempts for that account count
//! against a budget of its own, which guesses from anywhere else cannot use up: nobody can lock
//! the owner's browser out. The token proves nothing else (it is no session), and a made-up or
//! another account's token only gets the anonymous budget.

use crate::model::UserId;
use crate::oidc::MasterKey;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const LABEL: &str = "keyward-device-token-v1";
const VERSION: &str = "d1";
/// Longer tokens are not read at all: a cookie is attacker-controlled input.
const MAX_LEN: usize = 160;

#[derive(Clone)]
pub struct DeviceKey(hmac::Key);

impl DeviceKey {
    /// The key every node derives from the shared master key, so any node knows the browser.
    pub fn new(master: &MasterKey) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, &master.derive(LABEL)))
    }

    /// A fresh token for a browser that just signed in as `user`.
    pub fn issue(&self, user: UserId) -> String {
        let nonce = crate::secret::random_base64url(16);
        let tag = hmac::sign(&self.0, message(user, &nonce).as_bytes());
        format!(
            "{VERSION}.{user}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The browser's id (its token's random part) when `token` is a genuine token for `user`.
    pub fn verify(&self, token: &str, user: UserId) -> Option<String> {
        if token.len() > MAX_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (Some(VERSION), Some(id), Some(nonce), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if id.parse::<UserId>().ok()? != user {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.0, message(user, nonce).as_bytes(), &tag).ok()?;
        Some(nonce.to_owned())
    }
}

fn message(user: UserId, nonce: &str) -> String {
    format!("{user}.{nonce}")
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_good_for_its_account_and_key_only() {
        let key = DeviceKey::new(&MasterKey::generate());
        let token = key.issue(7);
        let id = key.verify(&token, 7).expect("genuine");
        assert_eq!(id.len(), 22);
        assert_ne!(
            key.verify(&key.issue(7), 7),
            Some(id),
            "each browser its own id"
        );
        assert_eq!(key.verify(&token, 8), None, "another account");
        let forged = token.replacen(".7.", ".8.", 1);
        assert_eq!(key.verify(&forged, 8), None, "an edited account");
        let other = DeviceKey::new(&MasterKey::generate());
        assert_eq!(other.verify(&token, 7), None, "another key");
        assert_eq!(key.verify(&format!("{token}.x"), 7), None);
        assert_eq!(key.verify("", 7), None);
        assert_eq!(key.verify(&"d1.7.".repeat(100), 7), None);
    }
}
