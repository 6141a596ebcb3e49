//! The key ring: generation, encryption at rest, rotation with overlap, and the JWKS.
//!
//! A key's life is derived from two timestamps, so every node agrees without coordination:
//! - from `created_at` it is published in the JWKS;
//! - from `not_before` it signs (the newest such key of its algorithm wins);
//! - once a newer key of the same algorithm signs, it stays published for one id_token lifetime
//!   (and a margin), so everything it signed can still be verified; then it is deleted.

use super::MasterKey;
use super::jws::JwsSigner;
use crate::clock::{Clock, UnixTime};
use crate::model::StoredKey;
use crate::store::{Store, StoreError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Extra time a retired key stays published, for clock skew and JWKS caches.
const RETIRE_MARGIN: i64 = 300;
const ENCRYPTION_LABEL: &str = "keyward-signing-key";

/// Whether `master` opens a stored key's `private_key`: the proof that a database's keys were
/// sealed with this master key (e.g. before `migrate-data` copies them).
pub fn master_opens(master: &MasterKey, private_key: &[u8]) -> bool {
    master.decrypt(ENCRYPTION_LABEL, private_key).is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Rs256,
    Es256,
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("no signing key for {0}")]
    NoKey(&'static str),
    #[error("signing key unusable: {0}")]
    Unusable(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct LiveKey {
    kid: String,
    alg: SigningAlg,
    created_at: UnixTime,
    not_before: UnixTime,
    signer: JwsSigner,
    jwk: Jwk,
}

#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// How long id_tokens live; a retired key stays published that long.
    pub id_token_ttl_secs: i64,
    /// How long a node trusts its copy of the key list before re-reading it, when the store
    /// cannot tell when the keys change (`KeyStore::signing_keys_version`).
    pub cache: Duration,
}

pub struct KeyRing {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    master: MasterKey,
    policy: KeyPolicy,
    cache: RwLock<Option<Cached>>,
}

/// The keys as last read, and how to tell whether that read is still good.
struct Cached {
    /// The store's `signing_keys_version` before the read, if it could tell one.
    version: Option<u64>,
    read_at: Instant,
    /// Which rows the keys were built from: a read that finds the same rows keeps them, so a
    /// moved version that changed nothing costs a read, not a decryption.
    rows: Vec<(String, UnixTime, UnixTime)>,
    keys: Arc<Vec<LiveKey>>,
}

impl Cached {
    /// Good while the store's version has not moved; with no version to go by (the backend
    /// cannot tell, e.g. while PostgreSQL's notifications are down), for `ttl`.
    fn serves(&self, version: Option<u64>, ttl: Duration) -> bool {
        match (self.version, version) {
            (Some(cached), Some(now)) => cached == now,
            _ => self.read_at.elapsed() < ttl,
        }
    }
}

impl KeyRing {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: MasterKey,
        policy: KeyPolicy,
    ) -> Self {
        Self {
            store,
            clock,
            master,
            policy,
            cache: RwLock::new(None),
        }
    }

    pub fn policy(&self) -> KeyPolicy {
        self.policy
    }

    /// Makes sure every algorithm has a key; run at start.
    pub async fn ensure_keys(&self) -> Result<(), KeyError> {
        let keys = self.load(true).await?;
        for alg in SigningAlg::ALL {
            if !keys.iter().any(|k| k.alg == alg) {
                self.add_key(alg, 0).await?;
            }
        }
        Ok(())
    }

    /// Adds a new key for `alg` that is published now and signs after `activate_after` seconds.
    pub async fn rotate(&self, alg: SigningAlg, activate_after: i64) -> Result<String, KeyError> {
        let kid = self.add_key(alg, activate_after.max(0)).await?;
        self.purge().await?;
        Ok(kid)
    }

    async fn add_key(&self, alg: SigningAlg, activate_after: i64) -> Result<String, KeyError> {
        let der = generate(alg)?;
        let encoding = encoding_key(alg, &der)?;
        let mut jwk = Jwk::from_encoding_key(&encoding, alg.jwt())
            .map_err(|e| KeyError::Unusable(e.to_string()))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeyError::Unusable(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let now = self.clock.now();
        // Strictly after every existing key of this algorithm, so "the newest key signs" never
        // depends on a tie broken by chance (timestamps are whole seconds).
        let latest = self
            .load(true)
            .await?
            .iter()
            .filter(|k| k.alg == alg)
            .map(|k| k.not_before)
            .max();
        let not_before = latest.map_or(now + activate_after, |l| (now + activate_after).max(l + 1));
        let private_key = self
            .master
            .encrypt(ENCRYPTION_LABEL, &der)
            .map_err(|e| KeyError::Unusable(e.to_string()))?;
        self.store
            .insert_signing_key(StoredKey {
                kid: kid.clone(),
                alg: alg.as_str().to_owned(),
                private_key,
                public_jwk: serde_json::to_string(&jwk)
                    .map_err(|e| KeyError::Unusable(e.to_string()))?,
                created_at: now,
                not_before,
            })
            .await?;
        self.invalidate();
        Ok(kid)
    }

    fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.write() {
            *cache = None;
        }
    }

    async fn load(&self, fresh: bool) -> Result<Arc<Vec<LiveKey>>, KeyError> {
        let version = self.store.signing_keys_version().await?;
        if !fresh
            && let Ok(guard) = self.cache.read()
            && let Some(cached) = guard.as_ref()
            && cached.serves(version, self.policy.cache)
        {
            return Ok(cached.keys.clone());
        }
        let stored = self.store.signing_keys().await?;
        let rows: Vec<(String, UnixTime, UnixTime)> = stored
            .iter()
            .map(|k| (k.kid.clone(), k.created_at, k.not_before))
            .collect();
        let unchanged = self.cache.read().ok().and_then(|guard| {
            guard
                .as_ref()
                .filter(|c| c.rows == rows)
                .map(|c| c.keys.clone())
        });
        let keys = match unchanged {
            Some(keys) => keys,
            None => Arc::new(self.open(stored)?),
        };
        if let Ok(mut cache) = self.cache.write() {
            *cache = Some(Cached {
                version,
                read_at: Instant::now(),
                rows,
                keys: keys.clone(),
            });
        }
        Ok(keys)
    }

    /// Decrypts and parses stored keys; rows of an algorithm this release does not know are
    /// skipped.
    fn open(&self, stored: Vec<StoredKey>) -> Result<Vec<LiveKey>, KeyError> {
        let mut keys = Vec::new();
        for stored in stored {
            let Some(alg) = SigningAlg::parse(&stored.alg) else {
                continue;
            };
            let der = self
                .master
                .decrypt(ENCRYPTION_LABEL, &stored.private_key)
                .map_err(|e| KeyError::Unusable(format!("{}: {e}", stored.kid)))?;
            let jwk: Jwk = serde_json::from_str(&stored.public_jwk)
                .map_err(|e| KeyError::Unusable(e.to_string()))?;
            keys.push(LiveKey {
                signer: JwsSigner::from_pkcs8(alg, &der)?,
                kid: stored.kid,
                alg,
                created_at: stored.created_at,
                not_before: stored.not_before,
                jwk,
            });
        }
        Ok(keys)
    }

    /// The key that signs for `alg` now: the newest one whose `not_before` has passed.
    fn signer(keys: &[LiveKey], alg: SigningAlg, now: UnixTime) -> Option<&LiveKey> {
        keys.iter()
            .filter(|k| k.alg == alg && k.not_before <= now)
            .max_by(|a, b| {
                (a.not_before, a.created_at, &a.kid).cmp(&(b.not_before, b.created_at, &b.kid))
            })
    }

    /// Whether `key` is still needed: it signs, will sign, or signed tokens that may be alive.
    fn published(&self, keys: &[LiveKey], key: &LiveKey, now: UnixTime) -> bool {
        let Some(signer) = Self::signer(keys, key.alg, now) else {
            return true;
        };
        if signer.kid == key.kid || key.not_before > now {
            return true;
        }
        // Superseded: kept until the tokens it could have signed (id_tokens and JWT access
        // tokens) have expired.
        let longest = self
            .policy
            .id_token_ttl_secs
            .max(crate::oauth::resources::JWT_TTL_MAX);
        signer.not_before + longest + RETIRE_MARGIN > now
    }

    pub async fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        claims: &T,
    ) -> Result<String, KeyError> {
        self.sign_typed(alg, "JWT", claims).await
    }

    /// [`Self::sign`] with the header's `typ` set, e.g. `at+jwt` (RFC 9068 §2.1).
    pub async fn sign_typed<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyError> {
        let keys = self.load(false).await?;
        let key =
            Self::signer(&keys, alg, self.clock.now()).ok_or(KeyError::NoKey(alg.as_str()))?;
        let mut header = Header::new(alg.jwt());
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        key.signer.sign(&header, claims)
    }

    /// The public keys to publish at `jwks_uri`.
    pub async fn jwks(&self) -> Result<serde_json::Value, KeyError> {
        let keys = self.load(false).await?;
        let now = self.clock.now();
        let published: Vec<&Jwk> = keys
            .iter()
            .filter(|k| self.published(&keys, k, now))
            .map(|k| &k.jwk)
            .collect();
        Ok(serde_json::json!({ "keys": published }))
    }

    /// Decoding keys for tokens this provider signed (e.g. an `id_token_hint`), by `kid`.
    pub async fn decoding_key(
        &self,
        kid: &str,
    ) -> Result<Option<(SigningAlg, DecodingKey)>, KeyError> {
        let keys = self.load(false).await?;
        let Some(key) = keys.iter().find(|k| k.kid == kid) else {
            return Ok(None);
        };
        let decoding =
            DecodingKey::from_jwk(&key.jwk).map_err(|e| KeyError::Unusable(e.to_string()))?;
        Ok(Some((key.alg, decoding)))
    }

    /// Deletes keys that neither sign nor cover live tokens any more.
    pub async fn purge(&self) -> Result<u64, KeyError> {
        let keys = self.load(true).await?;
        let now = self.clock.now();
        let mut removed = 0;
        for key in keys.iter().filter(|k| !self.published(&keys, k, now)) {
            self.store.delete_signing_key(&key.kid).await?;
            removed += 1;
        }
        if removed > 0 {
            self.invalidate();
        }
        Ok(removed)
    }
}

/// A fresh private key as PKCS#8 v1 DER.
fn generate(alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
    let der = match alg {
        SigningAlg::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> =
                pair.as_der().map_err(|_| KeyError::Generate)?;
            der.as_ref().to_vec()
        }
        SigningAlg::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec(),
        SigningAlg::EdDsa => Ed25519KeyPair::generate()
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec(),
    };
    Ok(der)
}

fn encoding_key(alg: SigningAlg, pkcs8: &[u8]) -> Result<EncodingKey, KeyError> {
    let unusable = |e: jsonwebtoken::errors::Error| KeyError::Unusable(e.to_string());
    match alg {
        // jsonwebtoken's DER constructor wants PKCS#1 for RSA; its PEM one takes PKCS#8.
        SigningAlg::Rs256 => {
            EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8).as_bytes()).map_err(unusable)
        }
        SigningAlg::Es256 => Ok(EncodingKey::from_ec_der(pkcs8)),
        SigningAlg::EdDsa => Ok(EncodingKey::from_ed_der(pkcs8)),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
