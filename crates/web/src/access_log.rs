//! One info-level line per request on the `keyward::access` target, for operators who run no
//! proxy log: method, route template (never the raw path or query: they carry codes and
//! tokens), status, duration, client address. A refusal answered `200` with `success: false`
//! (the new-api envelope) says `refused=true`, so a failed login is told from a success here.

use crate::extract::client::{ClientAddr, client_addr, warn_untrusted_forwarding};
use crate::state::WebConfig;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;

pub const TARGET: &str = "keyward::access";

/// The route template a request matched, handed out in the response by the router's inner
/// layer (`metrics::track`), which is the one that knows it (a shared string: no copy per
/// request).
#[derive(Debug, Clone)]
pub struct Route(pub MatchedPath);

/// Marks an answer that refuses in its body while its status says `200`.
#[derive(Debug, Clone, Copy)]
pub struct Refused;

pub async fn log(
    State(config): State<Arc<WebConfig>>,
    mut request: Request,
    next: Next,
) -> Response {
    let (ip, ignored_forwarding) = client_addr(request.extensions(), request.headers(), &config);
    if ignored_forwarding {
        warn_untrusted_forwarding(
            request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        );
    }
    request.extensions_mut().insert(ClientAddr(ip));
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    tracing::info!(
        target: TARGET,
        method = %method,
        route,
        status = response.status().as_u16(),
        refused = response.extensions().get::<Refused>().is_some(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        client = %ip.map(|ip| ip.to_string()).unwrap_or_default(),
        "request"
    );
    response
}
