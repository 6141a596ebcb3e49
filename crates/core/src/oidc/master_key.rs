//! The key that encrypts private signing keys at rest (AES-256-GCM). It comes from the operator's
//! configuration, or from a key file generated beside the embedded database; it never goes into
//! the database it protects.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 32 bytes in base64")]
    Format,
    #[error("decryption failed: wrong master key or damaged data")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&crate::secret::random_bytes(32));
        Self(bytes)
    }

    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::Format)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::Format)?;
        Ok(Self(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn key(&self) -> Result<LessSafeKey, MasterKeyError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| MasterKeyError::Encrypt)
    }

    /// `nonce || ciphertext || tag`, with `label` bound as associated data so that a value
    /// encrypted for one purpose cannot be passed off as another.
    pub fn encrypt(&self, label: &str, plain: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let nonce_bytes = crate::secret::random_bytes(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(&nonce_bytes).map_err(|_| MasterKeyError::Encrypt)?;
        let mut buffer = plain.to_vec();
        self.key()?
            .seal_in_place_append_tag(nonce, Aad::from(label.as_bytes()), &mut buffer)
            .map_err(|_| MasterKeyError::Encrypt)?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    /// A 256-bit key for one purpose, `HMAC-SHA256(master, label)`: every purpose gets its own
    /// key, and none of them reveals the master key or another purpose's key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.0);
        let tag = aws_lc_rs::hmac::sign(&key, label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    pub fn decrypt(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Decrypt)?;
        let mut buffer = data.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut buffer)
            .map_err(|_| MasterKeyError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering_or_the_wrong_key_or_label() {
        let key = MasterKey::generate();
        let sealed = key.encrypt("signing-key", b"private").expect("encrypt");
        assert_eq!(
            key.decrypt("signing-key", &sealed).expect("decrypt"),
            b"private"
        );
        assert!(key.decrypt("other", &sealed).is_err());
        assert!(
            MasterKey::generate()
                .decrypt("signing-key", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(key.decrypt("signing-key", &tampered).is_err());
        let again = MasterKey::from_base64(&key.to_base64()).expect("base64");
        assert_eq!(
            again.decrypt("signing-key", &sealed).expect("decrypt"),
            b"private"
        );
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn derived_keys_depend_on_the_label_and_the_master_key() {
        let key = MasterKey::generate();
        assert_eq!(key.derive("a"), key.derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_ne!(key.derive("a"), MasterKey::generate().derive("a"));
        assert_ne!(key.derive("a"), key.0);
    }
}
