//! Name resolution for the guarded fetcher: the connector only ever sees the addresses that
//! [`address_allowed`] accepted, so a name that resolves (or re-resolves, DNS rebinding) to a
//! private address is never connected to.

use super::address::address_allowed;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Every resolved address of the name was refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to refused addresses ({ip})")]
pub struct BlockedResolution {
    pub host: String,
    pub ip: IpAddr,
}

/// The name resolved to no address at all.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to no address")]
pub struct NoAddress(pub String);

/// Keeps the allowed addresses of a resolution; an error when none is left.
pub fn filter_resolved(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
    allow_loopback: bool,
) -> Result<Vec<SocketAddr>, BlockedResolution> {
    let mut first_refused = None;
    let mut kept = Vec::new();
    for addr in addrs {
        if address_allowed(addr.ip(), allow_loopback) {
            kept.push(addr);
        } else {
            first_refused.get_or_insert(addr.ip());
        }
    }
    match (kept.is_empty(), first_refused) {
        (true, Some(ip)) => Err(BlockedResolution {
            host: host.to_owned(),
            ip,
        }),
        _ => Ok(kept),
    }
}

/// The operating system's resolver (`getaddrinfo` on a blocking thread).
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Wraps a resolver and drops every address the guard refuses.
pub struct GuardedResolver {
    inner: Arc<dyn Resolve>,
    allow_loopback: bool,
}

impl GuardedResolver {
    pub fn new(inner: Arc<dyn Resolve>, allow_loopback: bool) -> Self {
        Self {
            inner,
            allow_loopback,
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let resolving = self.inner.resolve(name);
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let kept = filter_resolved(&host, resolving.await?, allow_loopback)?;
            if kept.is_empty() {
                return Err(Box::new(NoAddress(host)) as _);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// Answers every name with fixed addresses: no real DNS.
    struct Fake(Vec<SocketAddr>);

    impl Resolve for Fake {
        fn resolve(&self, _: Name) -> Resolving {
            let addrs = self.0.clone();
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
        }
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap_or_else(|_| panic!("{ip}")), 0))
            .collect()
    }

    async fn resolve(answer: &[&str], allow_loopback: bool) -> Result<Vec<SocketAddr>, String> {
        let guarded = GuardedResolver::new(Arc::new(Fake(addrs(answer))), allow_loopback);
        let name = Name::from_str("metadata.example").map_err(|_| "bad name".to_owned())?;
        match guarded.resolve(name).await {
            Ok(found) => Ok(found.collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn a_name_resolving_only_to_refused_addresses_is_an_error() {
        for answer in [
            &["127.0.0.1"][..],
            &["10.0.0.5"],
            &["169.254.169.254"],
            &["::1"],
            &["::ffff:127.0.0.1"],
            &["192.168.0.1", "fd00::1"],
        ] {
            let err = resolve(answer, false).await.err();
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("only to refused addresses")),
                "{answer:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn refused_addresses_are_dropped_and_public_ones_kept() {
        let kept = resolve(
            &["10.0.0.1", "93.184.216.34", "::1", "2606:4700::1111"],
            false,
        )
        .await;
        assert_eq!(kept, Ok(addrs(&["93.184.216.34", "2606:4700::1111"])));
    }

    #[tokio::test]
    async fn loopback_resolutions_pass_only_with_allow_loopback() {
        assert_eq!(
            resolve(&["127.0.0.1", "::1", "10.0.0.1"], true).await,
            Ok(addrs(&["127.0.0.1", "::1"]))
        );
        assert!(resolve(&["127.0.0.1"], false).await.is_err());
    }

    #[tokio::test]
    async fn an_empty_resolution_is_an_error() {
        let err = resolve(&[], false).await.err();
        assert!(err.is_some_and(|e| e.contains("no address")));
    }

    #[test]
    fn the_filter_names_the_first_refused_address() {
        let blocked = filter_resolved("h", addrs(&["100.64.0.1", "10.0.0.1"]), true);
        assert_eq!(
            blocked.map_err(|e| e.ip),
            Err(IpAddr::from([100, 64, 0, 1]))
        );
    }
}
