use super::*;
use reqwest::header::HeaderValue;

#[test]
fn only_plain_https_urls_pass_the_url_check() {
    let cases: &[(&str, FetchError)] = &[
        ("http://client.example/meta.json", FetchError::Scheme),
        ("ftp://client.example/meta.json", FetchError::Scheme),
        ("file:///etc/passwd", FetchError::Scheme),
        ("not a url", FetchError::InvalidUrl),
        (
            "https://user:pw@client.example/m",
            FetchError::UrlPart("a user name or password"),
        ),
        (
            "https://user@client.example/m",
            FetchError::UrlPart("a user name or password"),
        ),
        (
            "https://client.example/m#frag",
            FetchError::UrlPart("a fragment"),
        ),
        (
            "https://127.0.0.1/m",
            FetchError::BlockedAddress([127, 0, 0, 1].into()),
        ),
        (
            "https://0x7f.1/m",
            FetchError::BlockedAddress([127, 0, 0, 1].into()),
        ),
        (
            "https://169.254.169.254/latest/meta-data",
            FetchError::BlockedAddress([169, 254, 169, 254].into()),
        ),
        (
            "https://[::ffff:10.0.0.1]/m",
            FetchError::BlockedAddress("::ffff:10.0.0.1".parse().unwrap_or([0u8; 16].into())),
        ),
        (
            "https://[::1]:8443/m",
            FetchError::BlockedAddress(std::net::Ipv6Addr::LOCALHOST.into()),
        ),
    ];
    for (url, want) in cases {
        assert_eq!(check_url(url, false).err().as_ref(), Some(want), "{url}");
    }
    assert!(check_url("https://client.example:8443/meta.json?x=1", false).is_ok());
    assert!(check_url("https://8.8.8.8/m", false).is_ok());
}

#[test]
fn loopback_literals_pass_the_url_check_only_with_allow_loopback() {
    assert!(check_url("https://127.0.0.1:8443/m", true).is_ok());
    assert!(check_url("https://[::1]:8443/m", true).is_ok());
    assert_eq!(
        check_url("https://10.0.0.1/m", true).err(),
        Some(FetchError::BlockedAddress([10, 0, 0, 1].into()))
    );
}

#[test]
fn json_content_types() {
    for ok in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/jwk-set+json",
        "application/problem+json ; q=1",
    ] {
        assert!(is_json_content_type(ok), "{ok}");
    }
    for bad in [
        "",
        "text/json",
        "text/html",
        "application/+json",
        "application/jsonp",
        "text/plain+json",
        "application/json-seq",
    ] {
        assert!(!is_json_content_type(bad), "{bad}");
    }
}

fn lifetime(values: &[&str]) -> Duration {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
        );
    }
    cache_lifetime(&headers)
}

#[test]
fn cache_lifetime_follows_cache_control_within_bounds() {
    assert_eq!(lifetime(&[]), DEFAULT_CACHE);
    assert_eq!(lifetime(&["max-age=3600"]), Duration::from_secs(3600));
    assert_eq!(lifetime(&["public, max-age=600"]), Duration::from_secs(600));
    assert_eq!(lifetime(&["max-age=5"]), MIN_CACHE);
    assert_eq!(lifetime(&["max-age=0"]), MIN_CACHE);
    assert_eq!(lifetime(&["max-age=99999999999"]), MAX_CACHE);
    assert_eq!(lifetime(&["no-store"]), MIN_CACHE);
    assert_eq!(lifetime(&["max-age=3600", "no-cache"]), MIN_CACHE);
    assert_eq!(lifetime(&["max-age=abc"]), DEFAULT_CACHE);
}
