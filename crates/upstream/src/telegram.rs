//! The Telegram Login Widget: the data is signed with HMAC-SHA256 keyed by SHA-256 of the bot
//! token, over the sorted `key=value` lines of every field but `hash`
//! (core.telegram.org/widgets/login). Compared in constant time; stale data is refused.

use crate::{ExternalIdentity, UpstreamError, clean};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Verifies widget data and returns the identity it proves. `now` and `max_age` in seconds.
pub fn verify(
    fields: &BTreeMap<String, String>,
    bot_token: &str,
    max_age: i64,
    now: i64,
) -> Result<ExternalIdentity, UpstreamError> {
    let bad = || UpstreamError::Refused("Telegram data is not valid".into());
    if bot_token.is_empty() {
        return Err(UpstreamError::Config("no bot token".into()));
    }
    let hash = fields.get("hash").ok_or_else(bad)?;
    let expected = hex::decode(hash).map_err(|_| bad())?;
    let check_string = fields
        .iter()
        .filter(|(k, _)| k.as_str() != "hash")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let key = Sha256::digest(bot_token.as_bytes());
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| bad())?;
    mac.update(check_string.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).map_err(|_| bad())?;

    let auth_date: i64 = fields
        .get("auth_date")
        .and_then(|d| d.parse().ok())
        .ok_or_else(bad)?;
    if auth_date > now + 60 || now - auth_date > max_age {
        return Err(UpstreamError::Refused("Telegram data is too old".into()));
    }
    let id = fields
        .get("id")
        .filter(|id| !id.is_empty() && id.len() <= 32)
        .ok_or_else(bad)?;
    let first = fields
        .get("first_name")
        .map(String::as_str)
        .unwrap_or_default();
    let last = fields
        .get("last_name")
        .map(String::as_str)
        .unwrap_or_default();
    let username = fields
        .get("username")
        .map(String::as_str)
        .unwrap_or_default();
    let name = format!("{first} {last}");
    Ok(ExternalIdentity {
        provider: "telegram",
        subject: id.clone(),
        handle: clean(username, 64),
        display_name: clean(
            if name.trim().is_empty() {
                username
            } else {
                name.trim()
            },
            20,
        ),
        verified_email: None,
        avatar_url: clean(
            fields
                .get("photo_url")
                .map(String::as_str)
                .unwrap_or_default(),
            500,
        ),
    })
}

/// Signs widget data the way Telegram does; for tests and fakes.
pub fn sign(fields: &BTreeMap<String, String>, bot_token: &str) -> String {
    let check_string = fields
        .iter()
        .filter(|(k, _)| k.as_str() != "hash")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let key = Sha256::digest(bot_token.as_bytes());
    match <Hmac<Sha256> as Mac>::new_from_slice(&key) {
        Ok(mut mac) => {
            mac.update(check_string.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> BTreeMap<String, String> {
        [
            ("id", "42"),
            ("first_name", "Ann"),
            ("username", "ann"),
            ("auth_date", "1000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn accepts_valid_data_and_refuses_any_change() {
        let mut fields = data();
        let hash = sign(&fields, "123:ABC");
        fields.insert("hash".into(), hash.clone());
        let identity = verify(&fields, "123:ABC", 86_400, 1_100).expect("valid");
        assert_eq!(identity.subject, "42");
        assert_eq!(identity.display_name, "Ann");
        // One flipped character of the hash, or of a field, or another bot's token.
        let mut flipped = hash.clone().into_bytes();
        flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
        fields.insert("hash".into(), String::from_utf8(flipped).expect("utf8"));
        assert!(verify(&fields, "123:ABC", 86_400, 1_100).is_err());
        fields.insert("hash".into(), hash);
        fields.insert("first_name".into(), "Bnn".into());
        assert!(verify(&fields, "123:ABC", 86_400, 1_100).is_err());
        fields.insert("first_name".into(), "Ann".into());
        assert!(verify(&fields, "999:XYZ", 86_400, 1_100).is_err());
    }

    #[test]
    fn refuses_stale_or_future_data() {
        let mut fields = data();
        let hash = sign(&fields, "t");
        fields.insert("hash".into(), hash);
        assert!(verify(&fields, "t", 86_400, 1_000 + 86_400).is_ok());
        assert!(verify(&fields, "t", 86_400, 1_000 + 86_401).is_err());
        assert!(verify(&fields, "t", 86_400, 800).is_err());
    }
}
