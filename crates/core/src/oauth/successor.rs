//! The tokens that replace a refresh token when it is rotated, derived from it with a server-side
//! key instead of drawn at random. The database keeps only hashes, so this is what lets an honest
//! retry of a rotation (the answer was lost on the way back) be given the very same new pair
//! within the operator's grace window: the server can compute it again from the presented token.
//! Without the key the pair cannot be computed, so it is as unguessable as a random one.

use super::{ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};
use crate::oidc::MasterKey;
use crate::secret::Secret;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const LABEL: &str = "keyward-refresh-successor-v1";

#[derive(Clone)]
pub struct SuccessorKey(hmac::Key);

impl SuccessorKey {
    /// The key every node derives from the shared master key, so any node can answer a retry.
    pub fn new(master: &MasterKey) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, &master.derive(LABEL)))
    }

    /// The access and refresh tokens that succeed `refresh_token`.
    pub fn successors(&self, refresh_token: &str) -> (Secret, Secret) {
        let one = |purpose: &str, prefix: &str| {
            let mut context = hmac::Context::with_key(&self.0);
            context.update(purpose.as_bytes());
            context.update(&[0]);
            context.update(refresh_token.as_bytes());
            let tag = context.sign();
            Secret::from_string(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(tag.as_ref())))
        };
        (
            one("access", ACCESS_TOKEN_PREFIX),
            one("refresh", REFRESH_TOKEN_PREFIX),
        )
    }
}

impl std::fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuccessorKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_are_stable_per_token_and_key_and_distinct_from_each_other() {
        let master = MasterKey::generate();
        let key = SuccessorKey::new(&master);
        let (access, refresh) = key.successors("kwrt_one");
        let (access2, refresh2) = key.successors("kwrt_one");
        assert_eq!((&access, &refresh), (&access2, &refresh2));
        assert!(access.expose().starts_with(ACCESS_TOKEN_PREFIX));
        assert!(refresh.expose().starts_with(REFRESH_TOKEN_PREFIX));
        assert_ne!(access.expose()[5..], refresh.expose()[5..]);
        assert_ne!(key.successors("kwrt_two").1, refresh);
        let other = SuccessorKey::new(&MasterKey::generate());
        assert_ne!(other.successors("kwrt_one").1, refresh);
        // 256 bits, like a random token.
        assert_eq!(refresh.expose().len(), REFRESH_TOKEN_PREFIX.len() + 43);
    }
}
