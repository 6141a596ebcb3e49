use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use keyward_core::accounts::ClientInfo;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The caller's address and user agent. `X-Forwarded-For` is only believed from the configured
/// trusted proxies, walking from the nearest hop back to the first address that is not one of
/// them; otherwise any client could pick the address its throttling is counted against.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let ip = client_ip(peer, &forwarded, &state.config.trusted_proxies);
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Self(ClientInfo {
            ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
            user_agent,
        }))
    }
}

fn client_ip(peer: Option<IpAddr>, forwarded: &[&str], trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut current = peer?;
    for hop in forwarded.iter().rev() {
        if !trusted.contains(&current) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => current = ip,
            Err(_) => break,
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let got = client_ip(Some(ip("203.0.113.9")), &["1.2.3.4"], &[]);
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn forwarded_for_is_walked_through_trusted_proxies_only() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
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
}
