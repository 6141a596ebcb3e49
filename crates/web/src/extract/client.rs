use crate::state::{AppState, WebConfig};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum_extra::extract::CookieJar;
use ipnet::IpNet;
use keyward_core::accounts::ClientInfo;
use keyward_core::secret::Secret;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The caller's address and user agent, and the browser's device token. `X-Forwarded-For` is
/// only believed from the configured trusted proxies, walking from the nearest hop back to the
/// first address that is not one of them; otherwise any client could pick the address its
/// throttling is counted against.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let ip = match parts.extensions.get::<ClientAddr>() {
            Some(ClientAddr(ip)) => *ip,
            None => client_addr(&parts.extensions, &parts.headers, &state.config).0,
        };
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let device = CookieJar::from_headers(&parts.headers)
            .get(state.config.device_cookie_name())
            .map(|c| Secret::from_string(c.value().to_owned()));
        Ok(Self(ClientInfo {
            ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
            user_agent,
            device,
        }))
    }
}

/// The client address of a request, worked out once by the access log for every extractor.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The client's address, and whether the request carried `X-Forwarded-For` from a peer that
/// is not a trusted proxy (ignored, and a sign that `trusted_proxies` is missing a proxy).
pub fn client_addr(
    extensions: &Extensions,
    headers: &HeaderMap,
    config: &WebConfig,
) -> (Option<IpAddr>, bool) {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let ignored = !forwarded.is_empty() && peer.is_some_and(|p| !config.trusts(p));
    (
        client_ip(peer, &forwarded, &config.trusted_proxies),
        ignored,
    )
}

fn client_ip(peer: Option<IpAddr>, forwarded: &[&str], trusted: &[IpNet]) -> Option<IpAddr> {
    let mut current = peer?;
    for hop in forwarded.iter().rev() {
        if !trusted.iter().any(|range| range.contains(&current)) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => current = ip,
            Err(_) => break,
        }
    }
    Some(current)
}

/// Says, at most once a minute per node, that `X-Forwarded-For` came from a peer that is not a
/// trusted proxy: behind a proxy missing from `trusted_proxies`, every client shares the
/// proxy's address, and so its guessing budgets.
pub fn warn_untrusted_forwarding(peer: Option<IpAddr>) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) < 60
        || LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    tracing::warn!(
        peer = %peer.map(|p| p.to_string()).unwrap_or_default(),
        "X-Forwarded-For from a peer that is not in trusted_proxies was ignored: if this peer is \
         your proxy, add it (or its range) to trusted_proxies, or every client behind it is \
         counted as one (said at most once a minute)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().expect("range")).collect()
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let got = client_ip(Some(ip("203.0.113.9")), &["1.2.3.4"], &[]);
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn forwarded_for_is_walked_through_trusted_proxies_only() {
        let trusted = nets(&["10.0.0.1/32", "10.0.0.2/32"]);
        // spoofed, real client, inner proxy — seen from the outer proxy 10.0.0.1
        let chain = ["6.6.6.6", "198.51.100.7", "10.0.0.2"];
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &chain, &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &["garbage"], &trusted),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn ranges_trust_every_address_in_them_and_no_other() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        for proxy in ["10.1.2.3", "10.255.255.255", "fd12::1"] {
            assert_eq!(
                client_ip(Some(ip(proxy)), &["198.51.100.7"], &trusted),
                Some(ip("198.51.100.7")),
                "{proxy}"
            );
        }
        for outsider in ["11.0.0.1", "192.168.0.1", "fe80::1", "::1"] {
            assert_eq!(
                client_ip(Some(ip(outsider)), &["198.51.100.7"], &trusted),
                Some(ip(outsider)),
                "{outsider}"
            );
        }
    }
}
