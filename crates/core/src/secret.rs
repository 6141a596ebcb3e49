//! Random credentials and how they are kept: every bearer secret Keyward hands out (session ids,
//! developer tokens, later codes and OAuth tokens) is 256 bits from the OS CSPRNG, shown once, and
//! stored only as its SHA-256. A high-entropy secret needs no slow hash: SHA-256 of 256 random bits
//! cannot be brute-forced, and it keeps lookups to one indexed equality match.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt;

/// Bytes of entropy in every generated bearer secret.
pub const SECRET_BYTES: usize = 32;

/// A credential in clear text. Its `Debug` never shows the value, so it cannot reach a log by
/// accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh secret: `prefix` followed by 256 random bits in base64url. The prefix makes leaked
    /// credentials recognisable to secret scanners.
    pub fn generate(prefix: &str) -> Self {
        Self(format!("{prefix}{}", random_base64url(SECRET_BYTES)))
    }

    pub fn from_string(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256 of a secret: what the database holds and looks up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(value: &str) -> Self {
        Self(Sha256::digest(value.as_bytes()).into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Rebuild from a stored column; `None` when the column does not hold 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// A value derived from a secret for one purpose, such as the CSRF token of a session: it proves
/// knowledge of the secret without revealing it.
pub fn derive(purpose: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// `n` bytes from the OS CSPRNG, base64url without padding.
pub fn random_base64url(n: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// `len` characters drawn uniformly from `alphabet` with the OS CSPRNG (rejection sampling, so
/// no character is favoured).
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes(len * 2) {
            if usize::from(byte) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    out
}

pub const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` bytes from the OS CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS generator failing means the machine cannot make secrets at all; there is no safe
    // fallback, so this is the one place Keyward stops rather than degrade.
    #[expect(
        clippy::expect_used,
        reason = "no safe way to continue without an OS CSPRNG"
    )]
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf
}

/// Constant-time equality for secrets compared in memory (the database lookup by hash needs none).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_prefixed_long_and_distinct() {
        let a = Secret::generate("dev_");
        let b = Secret::generate("dev_");
        assert!(a.expose().starts_with("dev_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn random_string_uses_only_the_alphabet() {
        let s = random_string(b"ab", 64);
        assert_eq!(s.len(), 64);
        assert!(s.chars().all(|c| c == 'a' || c == 'b'));
        assert!(s.contains('a') && s.contains('b'));
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
