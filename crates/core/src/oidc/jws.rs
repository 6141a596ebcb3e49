//! Compact JWS signing with private keys parsed once.
//!
//! jsonwebtoken parses (and for RSA fully re-validates) the private key on every signature,
//! which costs more than an RS256 signature itself. The key ring keeps aws-lc-rs key pairs in
//! memory instead and signs here; the header and claims are serialized by serde and verified
//! in tests by independent libraries (jsonwebtoken, openidconnect).

use super::keys::{KeyError, SigningAlg};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

pub enum JwsSigner {
    Rs256(RsaKeyPair),
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

impl JwsSigner {
    /// Parses a PKCS#8 private key once.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, KeyError> {
        let unusable = |e: aws_lc_rs::error::KeyRejected| KeyError::Unusable(e.to_string());
        Ok(match alg {
            SigningAlg::Rs256 => Self::Rs256(RsaKeyPair::from_pkcs8(der).map_err(unusable)?),
            SigningAlg::Es256 => Self::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(unusable)?,
            ),
            SigningAlg::EdDsa => {
                Self::EdDsa(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(unusable)?)
            }
        })
    }

    /// `base64url(header) . base64url(claims) . base64url(signature)`.
    pub fn sign<H: Serialize, C: Serialize>(
        &self,
        header: &H,
        claims: &C,
    ) -> Result<String, KeyError> {
        let json = |e: serde_json::Error| KeyError::Sign(e.to_string());
        let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).map_err(json)?);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims).map_err(json)?, &mut token);
        let signature = self.signature(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    fn signature(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Sign("signature failed".into());
        match self {
            Self::Rs256(pair) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
            Self::Es256(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            Self::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::KeyPair as _;
    use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, decode};

    #[derive(Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        exp: i64,
    }

    /// Every algorithm's token verifies with an independent implementation (jsonwebtoken).
    #[test]
    fn tokens_verify_with_jsonwebtoken() {
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
        let rsa_der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa)
            .expect("der");
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|p| p.to_pkcs8v1())
            .expect("ec");
        let ed = Ed25519KeyPair::generate()
            .and_then(|p| p.to_pkcs8v1())
            .expect("ed");
        let cases = [
            (
                SigningAlg::Rs256,
                rsa_der.as_ref().to_vec(),
                Algorithm::RS256,
            ),
            (SigningAlg::Es256, ec.as_ref().to_vec(), Algorithm::ES256),
            (SigningAlg::EdDsa, ed.as_ref().to_vec(), Algorithm::EdDSA),
        ];
        for (alg, der, jwt_alg) in cases {
            let signer = JwsSigner::from_pkcs8(alg, &der).expect("parse");
            let public = match &signer {
                JwsSigner::Rs256(p) => DecodingKey::from_rsa_der(p.public_key().as_ref()),
                JwsSigner::Es256(p) => DecodingKey::from_ec_der(p.public_key().as_ref()),
                JwsSigner::EdDsa(p) => DecodingKey::from_ed_der(p.public_key().as_ref()),
            };
            let claims = Claims {
                sub: "alice".into(),
                exp: 4_000_000_000,
            };
            let mut header = Header::new(jwt_alg);
            header.kid = Some("k1".into());
            let token = signer.sign(&header, &claims).expect("sign");
            let decoded =
                decode::<Claims>(&token, &public, &Validation::new(jwt_alg)).expect("verify");
            assert_eq!(decoded.claims.sub, "alice");
            assert_eq!(decoded.header.kid.as_deref(), Some("k1"));

            // A changed payload no longer verifies.
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory","exp":4000000000}"#);
            parts[1] = &forged;
            assert!(
                decode::<Claims>(&parts.join("."), &public, &Validation::new(jwt_alg)).is_err()
            );
        }
    }
}
