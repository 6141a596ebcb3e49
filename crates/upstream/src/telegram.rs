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
    // The signature covers `key=value` lines joined by newlines, so a newline inside a field (or
    // an `=` inside a key) could move text from one field to another without changing the
    // signed string. Telegram never sends either.
    if fields
        .iter()
        .any(|(k, v)| k.is_empty() || k.contains(['=', '\n']) || v.contains('\n'))
    {
        return Err(bad());
    }
    let hash = fields.get("hash").ok_or_else(bad)?;
    let expected = hex::decode(hash).map_err(|_| bad())?;
    // `verify_slice` compares in constant time.
    signature(fields, bot_token)
        .ok_or_else(bad)?
        .verify_slice(&expected)
        .map_err(|_| bad())?;

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
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let username = field("username");
    let name = format!("{} {}", field("first_name"), field("last_name"));
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
        avatar_url: clean(field("photo_url"), 500),
    })
}

/// Signs widget data the way Telegram does; for tests and fakes.
pub fn sign(fields: &BTreeMap<String, String>, bot_token: &str) -> String {
    signature(fields, bot_token)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// The HMAC over the signed string of `fields`, ready to finish or to compare; `None` only if
/// the key were refused (HMAC takes a key of any length).
fn signature(fields: &BTreeMap<String, String>, bot_token: &str) -> Option<Hmac<Sha256>> {
    let check_string = fields
        .iter()
        .filter(|(k, _)| k.as_str() != "hash")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let key = Sha256::digest(bot_token.as_bytes());
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(check_string.as_bytes());
    Some(mac)
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
    fn a_field_cannot_swallow_its_neighbour() {
        let mut fields = data();
        let hash = sign(&fields, "t");
        // "id=42\nusername=ann" signs the same bytes as the two fields apart.
        fields.remove("username");
        fields.insert("id".into(), "42\nusername=ann".into());
        fields.insert("hash".into(), hash);
        assert_eq!(sign(&fields, "t"), fields["hash"]);
        assert!(verify(&fields, "t", 86_400, 1_100).is_err());
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

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
#[cfg(test)]
mod props {
    use super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    const TOKEN: &str = "123456:BOT-token";
    const NOW: i64 = 1_700_000_000;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            vec(any::<char>(), 0..1500).prop_map(String::from_iter),
            "[a-z0-9_=\n ]{0,40}",
        ]
    }

    /// Widget data as Telegram signs it: plain values, a fresh `auth_date`.
    fn payload() -> impl Strategy<Value = BTreeMap<String, String>> {
        (
            "[1-9][0-9]{0,11}",
            "[^\n]{0,30}",
            proptest::option::of("[^\n]{0,30}"),
            proptest::option::of("[a-zA-Z0-9_]{5,32}"),
            proptest::option::of("https://t[.]me/i/[a-z0-9/]{1,40}[.]jpg"),
            0i64..3600,
        )
            .prop_map(|(id, first, last, username, photo, age)| {
                let mut map = BTreeMap::new();
                map.insert("id".to_owned(), id);
                map.insert("first_name".to_owned(), first);
                map.insert("auth_date".to_owned(), (NOW - age).to_string());
                for (k, v) in [
                    ("last_name", last),
                    ("username", username),
                    ("photo_url", photo),
                ] {
                    if let Some(v) = v {
                        map.insert(k.to_owned(), v);
                    }
                }
                map
            })
    }

    fn signed(mut map: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let hash = sign(&map, TOKEN);
        map.insert("hash".into(), hash);
        map
    }

    proptest! {
        #[test]
        fn arbitrary_data_never_panics(
            fields in btree_map(text(), text(), 0..8),
            token in text(),
            max_age in any::<i64>(),
            now in any::<i64>(),
        ) {
            let _ = verify(&fields, &token, max_age, now);
        }

        #[test]
        fn correctly_signed_data_verifies(data in payload()) {
            let identity = verify(&signed(data.clone()), TOKEN, 86_400, NOW);
            prop_assert!(identity.is_ok(), "{:?}", identity.err());
            prop_assert_eq!(identity.map(|i| i.subject).ok(), data.get("id").cloned());
        }

        #[test]
        fn changing_any_one_field_breaks_the_signature(
            data in payload(),
            pick in any::<prop::sample::Index>(),
            value in text(),
        ) {
            let good = signed(data);
            let keys: Vec<String> = good.keys().cloned().collect();
            let key = pick.get(&keys).clone();
            prop_assume!(good[&key] != value);
            let mut bad = good.clone();
            bad.insert(key, value);
            prop_assert!(verify(&bad, TOKEN, 86_400, NOW).is_err());
        }

        #[test]
        fn removing_or_adding_a_field_breaks_the_signature(
            data in payload(),
            pick in any::<prop::sample::Index>(),
            extra in ("[a-z_]{1,12}", text()),
        ) {
            let good = signed(data);
            let keys: Vec<String> = good.keys().filter(|k| *k != "hash").cloned().collect();
            let mut removed = good.clone();
            removed.remove(pick.get(&keys));
            prop_assert!(verify(&removed, TOKEN, 86_400, NOW).is_err());
            prop_assume!(!good.contains_key(&extra.0));
            let mut added = good.clone();
            added.insert(extra.0, extra.1);
            prop_assert!(verify(&added, TOKEN, 86_400, NOW).is_err());
        }

        #[test]
        fn merging_neighbouring_fields_never_verifies(
            data in payload(),
            pick in any::<prop::sample::Index>(),
        ) {
            let good = signed(data.clone());
            // Fold field i+1 into field i as "value\nkey=value": the signed string is unchanged.
            let keys: Vec<String> = data.keys().cloned().collect();
            prop_assume!(keys.len() >= 2);
            let i = pick.index(keys.len() - 1);
            let mut merged = good.clone();
            let next = merged.remove(&keys[i + 1]).unwrap_or_default();
            let joined = format!("{}\n{}={}", good[&keys[i]], keys[i + 1], next);
            merged.insert(keys[i].clone(), joined);
            prop_assert_eq!(sign(&merged, TOKEN), good["hash"].clone());
            prop_assert!(verify(&merged, TOKEN, 86_400, NOW).is_err());
        }

        #[test]
        fn another_bots_token_never_verifies(data in payload(), token in text()) {
            prop_assume!(token != TOKEN);
            prop_assert!(verify(&signed(data), &token, 86_400, NOW).is_err());
        }
    }
}
