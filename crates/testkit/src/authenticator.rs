//! A software WebAuthn authenticator (a "platform" passkey with user verification, ES256, no
//! attestation), for tests that enrol and use passkeys without a browser. It answers the JSON
//! options Keyward's begin endpoints return with the JSON a browser's `credential.toJSON()`
//! gives. Its fields are public so that a test can make it misbehave: another origin or RP id,
//! a counter turned back, no user verification.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

/// One credential the authenticator holds.
pub struct Credential {
    pub id: Vec<u8>,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    /// The signature counter; each assertion adds one first.
    pub counter: u32,
    key: EcdsaKeyPair,
}

pub struct SoftAuthenticator {
    /// The origin it puts in `clientDataJSON`, as a browser would for the page's site.
    pub origin: String,
    /// Sign for this RP id instead of the one the options name (a phishing site's).
    pub rp_id_override: Option<String>,
    /// Whether it says the user was verified (PIN, biometrics).
    pub user_verified: bool,
    pub credentials: Vec<Credential>,
    rng: SystemRandom,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url from the server")
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR encoding");
    out
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing in {value}"))
        .to_owned()
}

/// `{"publicKey": …}` whether the server's `data` or the envelope around it is given.
fn public_key(options: &Value) -> &Value {
    options
        .pointer("/data/publicKey")
        .or_else(|| options.get("publicKey"))
        .unwrap_or_else(|| panic!("no publicKey in {options}"))
}

impl SoftAuthenticator {
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            rp_id_override: None,
            user_verified: true,
            credentials: Vec::new(),
            rng: SystemRandom::new(),
        }
    }

    fn flags(&self) -> u8 {
        if self.user_verified { UP | UV } else { UP }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn rp_hash(&self, rp_id: &str) -> Vec<u8> {
        let rp_id = self.rp_id_override.as_deref().unwrap_or(rp_id);
        Sha256::digest(rp_id.as_bytes()).to_vec()
    }

    /// Answers `navigator.credentials.create()` options with a new credential, which it keeps.
    pub fn register(&mut self, options: &Value) -> Value {
        let options = public_key(options);
        let challenge = text(options, "/challenge");
        let rp_id = text(options, "/rp/id");
        let user_handle = unb64(&text(options, "/user/id"));
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.rng)
            .expect("P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .expect("P-256 key");
        // SEC1 uncompressed point: 0x04 ‖ x ‖ y.
        let point = key.public_key().as_ref().to_vec();
        let cose_key = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
            (
                Cbor::Integer((-2).into()),
                Cbor::Bytes(point[1..33].to_vec()),
            ),
            (
                Cbor::Integer((-3).into()),
                Cbor::Bytes(point[33..65].to_vec()),
            ),
        ]);
        let id: Vec<u8> = (0..32).map(|_| rand_byte(&self.rng)).collect();
        let mut auth_data = self.rp_hash(&rp_id);
        auth_data.push(self.flags() | AT);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]);
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cbor(&cose_key));
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let client_data = self.client_data("webauthn.create", &challenge);
        self.credentials.push(Credential {
            id: id.clone(),
            rp_id,
            user_handle,
            counter: 0,
            key,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&cbor(&attestation)),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// Answers `navigator.credentials.get()` options with the credential at `index`, whether or
    /// not the options allow it (the server must judge).
    pub fn assert_with(&mut self, options: &Value, index: usize) -> Value {
        let options = public_key(options);
        let challenge = text(options, "/challenge");
        let rp_id = options
            .get("rpId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let client_data = self.client_data("webauthn.get", &challenge);
        let flags = self.flags();
        let mut auth_data = self.rp_hash(&rp_id);
        let credential = &mut self.credentials[index];
        credential.counter += 1;
        auth_data.push(flags);
        auth_data.extend_from_slice(&credential.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature = credential
            .key
            .sign(&self.rng, &signed)
            .expect("ECDSA signature");
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&credential.user_handle),
            },
            "extensions": {},
        })
    }

    /// As a browser would: the first credential the options allow, or (no allow-list, a
    /// discoverable sign-in) the first one for the RP.
    pub fn assert(&mut self, options: &Value) -> Value {
        let allowed: Vec<Vec<u8>> = public_key(options)
            .get("allowCredentials")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| c.get("id").and_then(Value::as_str).map(unb64))
                    .collect()
            })
            .unwrap_or_default();
        let index = self
            .credentials
            .iter()
            .position(|c| allowed.is_empty() || allowed.contains(&c.id))
            .expect("a credential the options allow");
        self.assert_with(options, index)
    }
}

fn rand_byte(rng: &SystemRandom) -> u8 {
    let mut byte = [0u8; 1];
    aws_lc_rs::rand::SecureRandom::fill(rng, &mut byte).expect("random byte");
    byte[0]
}
