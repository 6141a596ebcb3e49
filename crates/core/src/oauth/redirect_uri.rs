//! Redirect URIs: what an app may register, and the exact-match rule at authorization time.

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("重定向 URI 必须是完整的 http/https 地址")]
    NotAbsoluteHttp,
    #[error("重定向 URI 不能包含片段 (#)")]
    Fragment,
    #[error("重定向 URI 不能包含用户名或密码")]
    Userinfo,
    #[error("非本机地址的重定向 URI 必须使用 https")]
    InsecureHttp,
    #[error("重定向 URI 过长")]
    TooLong,
}

pub const MAX_LEN: usize = 2000;

/// Checks one URI for registration (SPEC §3.1): absolute http/https, no fragment, no userinfo,
/// and plain http only for loopback hosts unless `allow_http` is set by the operator.
pub fn validate(uri: &str, allow_http: bool) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_LEN {
        return Err(RedirectUriError::TooLong);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RedirectUriError::NotAbsoluteHttp);
    }
    let lower = uri.to_ascii_lowercase();
    let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(RedirectUriError::NotAbsoluteHttp);
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(RedirectUriError::Userinfo);
    }
    let host = host_of(authority);
    if host.is_empty() || authority.contains('\\') || display_host(uri).is_none() {
        return Err(RedirectUriError::NotAbsoluteHttp);
    }
    if !https && !allow_http && !is_loopback(host) {
        return Err(RedirectUriError::InsecureHttp);
    }
    Ok(())
}

fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The authorization-time rule: the requested URI must equal a registered one byte for byte. No
/// prefix, wildcard or normalisation matching, which is how open redirectors are born.
pub fn is_registered<'a>(
    requested: &str,
    registered: impl IntoIterator<Item = &'a String>,
) -> bool {
    registered.into_iter().any(|r| r == requested)
}

/// The host shown on the consent page, so the user sees where they will be sent: parsed as a
/// browser would, lower-cased, an international name as punycode (so `аpple.com` with a
/// Cyrillic `а` cannot pass for `apple.com`), with a port that is not the scheme's default.
/// `None` for a URI no browser would follow.
pub fn display_host(uri: &str) -> Option<String> {
    let parsed = url::Url::parse(uri).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        assert!(validate("https://app.example.com/cb", false).is_ok());
        assert!(validate("https://app.example.com:8443/cb?x=1", false).is_ok());
        assert!(validate("http://127.0.0.1:8080/cb", false).is_ok());
        assert!(validate("http://localhost/cb", false).is_ok());
        assert!(validate("http://[::1]:9/cb", false).is_ok());
        assert_eq!(
            validate("http://app.example.com/cb", false),
            Err(RedirectUriError::InsecureHttp)
        );
        assert!(validate("http://app.example.com/cb", true).is_ok());
        assert_eq!(
            validate("https://app.example.com/cb#x", false),
            Err(RedirectUriError::Fragment)
        );
        assert_eq!(
            validate("https://user:pw@evil.example/cb", false),
            Err(RedirectUriError::Userinfo)
        );
        assert_eq!(
            validate("http://localhost@evil.example/", false),
            Err(RedirectUriError::Userinfo)
        );
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "ftp://x.y/",
            "https://",
            "https:///x",
            "https://a b/",
            "custom.scheme:/cb",
            "http://xn--.aa/cb",
        ] {
            assert_eq!(
                validate(bad, false),
                Err(RedirectUriError::NotAbsoluteHttp),
                "{bad}"
            );
        }
        assert_eq!(
            validate(&format!("https://x.y/{}", "a".repeat(2000)), false),
            Err(RedirectUriError::TooLong)
        );
    }

    #[test]
    fn matching_is_exact() {
        let registered = vec!["https://app.example.com/cb".to_owned()];
        assert!(is_registered("https://app.example.com/cb", &registered));
        for near in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
            "https://app.example.com/c",
            "https://app.example.com/cb/../evil",
            "https://app.example.com.evil.io/cb",
        ] {
            assert!(!is_registered(near, &registered), "{near}");
        }
    }

    #[test]
    fn consent_page_shows_the_parsed_host() {
        let shown = |uri| display_host(uri).unwrap_or_default();
        assert_eq!(
            shown("https://app.example.com:8443/cb?x"),
            "app.example.com:8443"
        );
        assert_eq!(shown("HTTPS://App.Example.COM/cb"), "app.example.com");
        assert_eq!(shown("https://app.example.com:443/cb"), "app.example.com");
        assert_eq!(shown("https://аpple.com/cb"), "xn--pple-43d.com");
        assert_eq!(shown("http://[::1]:9/cb"), "[::1]:9");
        assert_eq!(display_host("javascript:alert(1)"), None);
        assert_eq!(display_host("https://"), None);
    }
}

/// Properties over arbitrary input (SECURITY.md, "Fuzzing").
#[cfg(test)]
mod props {
    use super::*;
    use crate::test_support::hostile_text;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        hostile_text("(https?|HTTP|javascript)://[a-zA-Z0-9.@:\\[\\]/?#%\\\\ -]{0,60}")
    }

    /// A URI an app could register.
    fn registrable() -> impl Strategy<Value = String> {
        (
            prop::bool::ANY,
            // Not `xn--…`: most such labels are invalid punycode, which registration refuses.
            "[a-wyz][a-z0-9-]{0,20}(\\.[a-z]{2,6}){1,2}",
            proptest::option::of(1u16..),
            "(/[a-zA-Z0-9._~%-]{0,12}){0,4}",
            proptest::option::of("[a-z0-9=&%]{0,20}"),
        )
            .prop_map(|(https, host, port, path, query)| {
                let scheme = if https { "https" } else { "http" };
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                let query = query.map(|q| format!("?{q}")).unwrap_or_default();
                format!("{scheme}://{host}{port}{path}{query}")
            })
    }

    /// A small edit of a URI: the kind of near-miss open redirectors are made of.
    fn mutate(uri: &str, at: prop::sample::Index, how: u8, ch: char) -> String {
        let chars: Vec<char> = uri.chars().collect();
        let i = at.index(chars.len() + 1);
        let mut out = chars.clone();
        match how % 7 {
            0 => out.insert(i, ch),
            1 if i < chars.len() => {
                out.remove(i);
            }
            2 if i < chars.len() => out[i] = out[i].to_ascii_uppercase(),
            3 => return format!("{uri}/"),
            4 => return format!("{uri}#x"),
            5 => return format!("{uri}%2F..%2Fevil"),
            _ => return uri.replacen("://", "://evil.example@", 1),
        }
        out.into_iter().collect()
    }

    proptest! {
        #[test]
        fn validation_never_panics_and_accepts_only_plain_http_uris(
            uri in text(),
            allow_http in any::<bool>(),
        ) {
            if validate(&uri, allow_http).is_ok() {
                let lower = uri.to_ascii_lowercase();
                prop_assert!(lower.starts_with("https://") || lower.starts_with("http://"));
                prop_assert!(!uri.contains('#'));
                prop_assert!(!uri.chars().any(|c| c.is_whitespace() || c.is_control()));
                prop_assert!(uri.len() <= MAX_LEN);
                let authority = lower
                    .split_once("://")
                    .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or_default())
                    .unwrap_or_default();
                prop_assert!(!authority.contains('@') && !authority.is_empty());
            }
        }

        #[test]
        fn matching_is_byte_equality(
            requested in text(),
            registered in vec(text(), 0..4),
        ) {
            prop_assert_eq!(
                is_registered(&requested, &registered),
                registered.iter().any(|r| r.as_bytes() == requested.as_bytes())
            );
        }

        #[test]
        fn registered_uris_match_and_their_mutations_never_do(
            uri in registrable(),
            at in any::<prop::sample::Index>(),
            how in any::<u8>(),
            ch in any::<char>(),
        ) {
            prop_assert!(validate(&uri, true).is_ok(), "{}", uri);
            let registered = vec![uri.clone()];
            prop_assert!(is_registered(&uri, &registered));
            let near = mutate(&uri, at, how, ch);
            prop_assume!(near != uri);
            prop_assert!(!is_registered(&near, &registered), "{}", near);
        }

        #[test]
        fn the_displayed_host_is_plain_lower_case_ascii(uri in text()) {
            if let Some(host) = display_host(&uri) {
                prop_assert!(!host.is_empty());
                prop_assert!(host.chars().all(|c| c.is_ascii_graphic() && !c.is_ascii_uppercase()));
            }
        }

        #[test]
        fn every_registrable_uri_has_a_host_to_show(uri in text(), allow_http in any::<bool>()) {
            if validate(&uri, allow_http).is_ok() {
                prop_assert!(display_host(&uri).is_some(), "{}", uri);
            }
        }
    }
}
