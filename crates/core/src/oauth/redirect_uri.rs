//! Redirect URIs: what an app may register, and the matching rule at authorization time — exact,
//! except the port of a loopback redirect, which a native app picks when it starts (RFC 8252).

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
    /// RFC 8252 §7.1: a reversed domain name as the scheme, and only for native (public) apps,
    /// which cannot keep a secret anyway.
    #[error(
        "自定义协议的重定向 URI 只能用于公开客户端（原生应用），且协议名须为反向域名，如 com.example.app:/callback"
    )]
    PrivateUseScheme,
}

pub const MAX_LEN: usize = 2000;

/// Checks one URI for registration (SPEC §3.1): absolute http/https, no fragment, no userinfo,
/// and plain http only for loopback hosts unless `allow_http` is set by the operator.
pub fn validate(uri: &str, allow_http: bool) -> Result<(), RedirectUriError> {
    length_and_fragment(uri)?;
    if has_blank(uri) {
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

/// Checks one redirect URI of an app: a web URI as [`validate`] has it, or, for a public client,
/// a private-use scheme named after a reversed domain (`com.example.app:/callback`, RFC 8252
/// §7.1), the way a native app on a phone or desktop receives its code.
pub fn validate_redirect(
    uri: &str,
    allow_http: bool,
    public_client: bool,
) -> Result<(), RedirectUriError> {
    match private_use_scheme(uri) {
        None => validate(uri, allow_http),
        Some(_) if !public_client => Err(RedirectUriError::PrivateUseScheme),
        Some(scheme) => {
            length_and_fragment(uri)?;
            let rest = &uri[scheme.len() + 1..];
            let valid = rest.starts_with('/') && !rest.starts_with("//") && !has_blank(rest);
            if valid {
                Ok(())
            } else {
                Err(RedirectUriError::PrivateUseScheme)
            }
        }
    }
}

/// The rules every redirect URI shares, web or private-use.
fn length_and_fragment(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_LEN {
        return Err(RedirectUriError::TooLong);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    Ok(())
}

fn has_blank(text: &str) -> bool {
    text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The scheme of `uri` when it is a private-use one: RFC 3986 scheme characters with at least
/// one dot, so `javascript:`, `data:` or `file:` never qualify, nor do http and https.
fn private_use_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    let dotted = scheme.contains('.')
        && scheme
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with(['+', '-']));
    (well_formed && dotted).then_some(scheme)
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
///
/// One exception, RFC 8252 §7.3: a native app listens on whatever loopback port is free when it
/// starts, so a registered `http://127.0.0.1/…`, `http://[::1]/…` or `http://localhost/…` matches
/// the same URI with any port — scheme, host, path and query still byte for byte. `localhost`
/// counts because many CLIs register it; browsers resolve it to loopback only.
pub fn is_registered<'a>(
    requested: &str,
    registered: impl IntoIterator<Item = &'a String>,
) -> bool {
    let loopback = LoopbackUri::parse(requested);
    registered.into_iter().any(|r| {
        r == requested || loopback.is_some_and(|wanted| LoopbackUri::parse(r) == Some(wanted))
    })
}

/// A loopback redirect URI without its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LoopbackUri<'a> {
    host: &'a str,
    /// The path and query, exactly as written.
    rest: &'a str,
}

impl<'a> LoopbackUri<'a> {
    const HOSTS: [&'static str; 3] = ["127.0.0.1", "[::1]", "localhost"];

    fn parse(uri: &'a str) -> Option<Self> {
        let after = uri.strip_prefix("http://")?;
        let end = after.find(['/', '?']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let host = Self::HOSTS.into_iter().find(|h| authority.starts_with(h))?;
        let port = &authority[host.len()..];
        let port_ok = port.is_empty()
            || port.strip_prefix(':').is_some_and(|digits| {
                (1..=5).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && digits.parse::<u16>().is_ok_and(|p| p != 0)
            });
        (port_ok && !rest.contains('#')).then_some(Self { host, rest })
    }
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

/// What a redirect URI sends users to, for deciding whether a change widens an app: the scheme
/// and lower-cased host of a web URI (any port, any path; plain http to a host registered with
/// https is a new destination), or the scheme of a private-use one.
pub fn destination(uri: &str) -> String {
    if let Some(scheme) = private_use_scheme(uri) {
        return format!("{scheme}:");
    }
    url::Url::parse(uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| format!("{}://{}", u.scheme(), h.to_ascii_lowercase()))
        })
        .unwrap_or_else(|| uri.to_owned())
}

/// Whether a redirect sends the code over plain http to a host other than this machine (the
/// consent page warns about it).
pub fn is_plain_http_remote(uri: &str) -> bool {
    let Ok(parsed) = url::Url::parse(uri) else {
        return false;
    };
    parsed.scheme() == "http"
        && !parsed
            .host_str()
            .is_some_and(|h| is_loopback(h.trim_start_matches('[').trim_end_matches(']')))
}

/// An https link an app shows about itself (logo, homepage, privacy policy): absolute https,
/// a host, no userinfo, no blanks, at most 2000 characters.
pub fn is_https_link(uri: &str) -> bool {
    if uri.len() > MAX_LEN || has_blank(uri) || !uri.to_ascii_lowercase().starts_with("https://") {
        return false;
    }
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.username().is_empty()
            && u.password().is_none()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_links_and_plain_http() {
        assert_eq!(
            destination("https://App.Example.com:8443/cb?x=1"),
            "https://app.example.com"
        );
        assert_eq!(
            destination("https://app.example.com/other"),
            "https://app.example.com"
        );
        assert_eq!(
            destination("http://app.example.com/cb"),
            "http://app.example.com"
        );
        assert_eq!(destination("com.example.app:/cb"), "com.example.app:");
        assert!(is_plain_http_remote("http://app.example.com/cb"));
        assert!(!is_plain_http_remote("http://127.0.0.1:8080/cb"));
        assert!(!is_plain_http_remote("http://localhost/cb"));
        assert!(!is_plain_http_remote("http://[::1]:9/cb"));
        assert!(!is_plain_http_remote("https://app.example.com/cb"));
        assert!(!is_plain_http_remote("com.example.app:/cb"));
        assert!(is_https_link("https://app.example.com/logo.png"));
        for bad in [
            "http://app.example.com/logo.png",
            "javascript:alert(1)",
            "https://user@app.example.com/",
            "https://a b/",
            "data:image/png;base64,AAAA",
            "/logo.png",
        ] {
            assert!(!is_https_link(bad), "{bad}");
        }
    }

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

    /// RFC 8252 §7.3: any port for a loopback redirect; everything else still exact.
    #[test]
    fn rfc8252_7_3_loopback_redirects_match_any_port() {
        let registered = vec![
            "http://127.0.0.1/callback".to_owned(),
            "http://[::1]:8080/cb?x=1".to_owned(),
            "http://localhost/oauth".to_owned(),
        ];
        for ok in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:49152/callback",
            "http://127.0.0.1:1/callback",
            "http://[::1]/cb?x=1",
            "http://[::1]:65535/cb?x=1",
            "http://localhost:3000/oauth",
        ] {
            assert!(is_registered(ok, &registered), "{ok}");
        }
        for refused in [
            // Another path or query, even by one byte.
            "http://127.0.0.1:49152/callback/",
            "http://127.0.0.1:49152/Callback",
            "http://127.0.0.1:49152/callback?x=1",
            "http://[::1]:9/cb",
            // Another loopback host than the one registered.
            "http://localhost:49152/callback",
            "http://127.0.0.2:49152/callback",
            // Not a port: a user name, a longer host, junk.
            "http://127.0.0.1:49152@evil.example/callback",
            "http://127.0.0.1.evil.example/callback",
            "http://localhost.evil.example/oauth",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:+80/callback",
            "http://127.0.0.1:49152/callback#x",
            // https is not a loopback redirect: exact only.
            "https://127.0.0.1:49152/callback",
        ] {
            assert!(!is_registered(refused, &registered), "{refused}");
        }
        // A non-loopback registration gets no port freedom.
        let web = vec!["http://app.example.com/cb".to_owned()];
        assert!(!is_registered("http://app.example.com:81/cb", &web));
    }

    /// RFC 8252 §7.1: private-use schemes, reversed domain names, for public clients only.
    #[test]
    fn rfc8252_7_1_private_use_schemes_are_for_public_clients() {
        for ok in [
            "com.example.app:/oauth2redirect",
            "io.keyward.cli:/cb?x=1",
            "com.example-app.v2:/done",
        ] {
            assert_eq!(validate_redirect(ok, false, true), Ok(()), "{ok}");
            assert_eq!(
                validate_redirect(ok, false, false),
                Err(RedirectUriError::PrivateUseScheme),
                "{ok} on a confidential client"
            );
        }
        use RedirectUriError::{Fragment, NotAbsoluteHttp, PrivateUseScheme};
        let refused = [
            ("com.example.app:cb", PrivateUseScheme),
            ("com.example.app://host/cb", PrivateUseScheme),
            ("com.example.app:/a b", PrivateUseScheme),
            ("com.example.app:/cb#x", Fragment),
            // Not private-use schemes at all.
            ("javascript:alert(1)", NotAbsoluteHttp),
            ("data:text/html,x", NotAbsoluteHttp),
            ("file:/etc/passwd", NotAbsoluteHttp),
            ("com..example:/cb", NotAbsoluteHttp),
            ("com.-example:/cb", NotAbsoluteHttp),
            ("Com.Example:/cb", NotAbsoluteHttp),
        ];
        for (uri, error) in refused {
            assert_eq!(validate_redirect(uri, false, true), Err(error), "{uri}");
        }
        // Web URIs follow the web rules whatever the client.
        assert_eq!(
            validate_redirect("https://app.example.com/cb", false, false),
            Ok(())
        );
        assert_eq!(
            validate_redirect("http://app.example.com/cb", false, true),
            Err(RedirectUriError::InsecureHttp)
        );
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

    /// The model of RFC 8252 §7.3 the matcher is held to: `http://`, a loopback host, an
    /// optional port 1–65535 in plain digits, then the rest without a fragment.
    fn loopback_without_port(uri: &str) -> Option<String> {
        let after = uri.strip_prefix("http://")?;
        let end = after.find(['/', '?']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if host != "[" && !host.ends_with(':') => (host, Some(port)),
            _ => (authority, None),
        };
        let port_ok = port.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 5
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n > 0)
        });
        let loopback = ["127.0.0.1", "[::1]", "localhost"].contains(&host);
        (loopback && port_ok && !rest.contains('#')).then(|| format!("{host}{rest}"))
    }

    /// A loopback redirect, with or without a port.
    fn loopback() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["127.0.0.1", "[::1]", "localhost"]),
            proptest::option::of(0u32..70_000),
            prop::sample::select(vec!["/cb", "/cb/", "/cb?x=1", "", "?a", "/c#f"]),
        )
            .prop_map(|(host, port, rest)| {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("http://{host}{port}{rest}")
            })
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

        /// Byte equality, or the same loopback URI with another port (RFC 8252 §7.3).
        #[test]
        fn matching_is_byte_equality_up_to_a_loopback_port(
            requested in prop_oneof![text(), loopback()],
            registered in vec(prop_oneof![text(), loopback()], 0..4),
        ) {
            let expected = registered.iter().any(|r| {
                r.as_bytes() == requested.as_bytes()
                    || loopback_without_port(r).is_some_and(|a| Some(a) == loopback_without_port(&requested))
            });
            prop_assert_eq!(is_registered(&requested, &registered), expected);
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
