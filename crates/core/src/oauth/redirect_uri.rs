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
    if host.is_empty() || authority.contains('\\') {
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

/// The host part shown on the consent page, so the user sees where they will be sent.
pub fn display_host(uri: &str) -> &str {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .unwrap_or(uri);
    rest.split(['/', '?']).next().unwrap_or(rest)
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
    fn consent_page_shows_the_host() {
        assert_eq!(
            display_host("https://app.example.com:8443/cb?x"),
            "app.example.com:8443"
        );
    }
}
