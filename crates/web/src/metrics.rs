//! Prometheus metrics at `/metrics`: requests by route template (never the raw path, to keep
//! label cardinality bounded), status and latency; the business metrics the core counts
//! (`keyward_core::telemetry`); and the active sessions, read from the store at each scrape.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyward_core::telemetry;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;
use tracing::Instrument as _;

/// The process-wide recorder, installed on first use (one per process, however many routers a
/// test starts).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &buckets,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

pub async fn track(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let path = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().as_str().to_owned();
    // The request's span for OTLP: the route template, never the raw path or query (they
    // carry codes and tokens). Disabled, as it is unless OTLP is on, it is `Span::none()`.
    let span = tracing::info_span!(
        target: telemetry::TRACE_TARGET,
        "request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        http.route = path,
        http.request.method = method.as_str(),
        http.response.status_code = tracing::field::Empty,
    );
    if !span.is_disabled() {
        span.record("otel.name", format!("{method} {path}"));
    }
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Some(matched) = matched.clone() {
        response
            .extensions_mut()
            .insert(crate::access_log::Route(matched));
    }
    span.record("http.response.status_code", response.status().as_u16());
    let status = response.status().as_u16().to_string();
    if handle().is_some() {
        let labels = [
            ("method", method),
            ("path", path.to_owned()),
            ("status", status),
        ];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
    }
    response
}

/// The `# HELP` lines.
fn describe() {
    metrics::describe_counter!(
        telemetry::TOKEN_GRANTS,
        "Token endpoint answers by grant_type and result (ok or the OAuth error code)"
    );
    metrics::describe_counter!(
        telemetry::LOGINS,
        "Sign-ins by method and result (ok, second_factor_required, or why refused)"
    );
    metrics::describe_counter!(
        telemetry::THROTTLE_REFUSALS,
        "Attempts refused by a rate limit, by the limit's kind"
    );
    metrics::describe_gauge!(
        telemetry::ACTIVE_SESSIONS,
        "Live, fully signed-in sessions (read from the database at scrape time)"
    );
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    match handle() {
        Some(handle) => {
            // One count per scrape, from the database every node shares, so the gauge is the
            // same whichever node is scraped; a failed read keeps the last value.
            match state.store.count_live_sessions(state.accounts.now()).await {
                Ok(count) => {
                    metrics::gauge!(telemetry::ACTIVE_SESSIONS).set(count as f64);
                }
                Err(e) => tracing::warn!(error = %e, "active sessions not counted"),
            }
            handle.run_upkeep();
            let mut response = handle.render().into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            response
        }
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
