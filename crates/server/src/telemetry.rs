//! Where the node's diagnostics go: logs to standard error, and, when `otlp_endpoint` is set,
//! traces to an OpenTelemetry collector over OTLP/HTTP.
//!
//! The spans meant for the collector (one per request, one per store call) are on their own
//! target, [`TRACE_TARGET`]. Each output has its own filter: the log filter turns that target
//! off, and the OTLP layer enables only it. With OTLP off nothing enables it, so each of those
//! callsites is "never interested", decided once and cached: a disabled span is one load, with
//! no allocation and no call into the subscriber.

use crate::config::{Config, LogFormat};
use anyhow::Context as _;
use keyward_core::telemetry::TRACE_TARGET;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, filter::Targets};

/// The OTLP exporter, when there is one: shut down on exit so the last spans are sent.
#[must_use = "shut it down on exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether traces are being exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Sends the spans still buffered and stops the exporter. It blocks (the exporter's own
    /// thread flushes), so it runs off the async workers.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("keyward: flushing traces: {e}"),
            Err(e) => eprintln!("keyward: flushing traces: {e}"),
        }
    }
}

/// The collector's traces URL: `otlp_endpoint` is a base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is, and the signal's path is added. `None` when unset or blank: tracing is off.
pub fn traces_url(config: &Config) -> Option<String> {
    let base = config.otlp_endpoint.as_deref()?.trim();
    if base.is_empty() {
        return None;
    }
    let base = base.trim_end_matches('/');
    Some(if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    })
}

/// The exporter and its provider, or `None` when `otlp_endpoint` is unset: nothing is built.
pub fn tracer_provider(config: &Config) -> anyhow::Result<Option<SdkTracerProvider>> {
    let Some(url) = traces_url(config) else {
        return Ok(None);
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("otlp_endpoint must be an http:// or https:// URL, not {url}");
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url)
        .build()
        .context("building the OTLP exporter")?;
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name(config.otlp_service_name.clone())
        .build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

/// Installs the process's subscriber: the log output, and the OTLP layer when configured.
pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let (subscriber, telemetry) = subscriber(config)?;
    subscriber
        .try_init()
        .context("installing the log subscriber")?;
    Ok(telemetry)
}

/// The subscriber for `config`. Without OTLP it has no OTLP layer at all: not even an empty
/// `Option` layer, which would count as interested in every callsite and enable the trace spans.
fn subscriber(config: &Config) -> anyhow::Result<(tracing::Dispatch, Telemetry)> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // Trace spans are for the collector, not the log, whatever the log level says.
        .add_directive(format!("{TRACE_TARGET}=off").parse()?);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Json => fmt.json().with_filter(filter).boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    let provider = tracer_provider(config)?;
    let logs = tracing_subscriber::registry().with(fmt);
    let dispatch = match &provider {
        Some(provider) => tracing::Dispatch::new(
            logs.with(
                tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer("keyward"))
                    .with_filter(Targets::new().with_target(TRACE_TARGET, tracing::Level::INFO)),
            ),
        ),
        None => tracing::Dispatch::new(logs),
    };
    Ok((dispatch, Telemetry { provider }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_endpoint_builds_no_exporter() {
        let mut config = Config::default();
        assert!(tracer_provider(&config).expect("off").is_none());
        config.otlp_endpoint = Some("  ".into());
        assert!(tracer_provider(&config).expect("blank is off").is_none());
        config.otlp_endpoint = Some("ftp://collector".into());
        assert!(tracer_provider(&config).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn trace_spans_exist_only_for_the_otlp_layer_and_never_reach_the_log() {
        // Off: the trace target is disabled (the log filter turns it off), logs are not.
        let (off, telemetry) = subscriber(&Config::default()).expect("subscriber");
        assert!(!telemetry.exporting());
        tracing::dispatcher::with_default(&off, || {
            assert!(tracing::info_span!(target: TRACE_TARGET, "request").is_disabled());
            assert!(!tracing::info_span!("a log span").is_disabled());
        });
        // On (a loopback port nobody listens on): the same callsite is enabled.
        let config = Config {
            otlp_endpoint: Some("http://127.0.0.1:9".into()),
            ..Config::default()
        };
        let (on, telemetry) = subscriber(&config).expect("subscriber");
        assert!(telemetry.exporting());
        tracing::dispatcher::with_default(&on, || {
            assert!(!tracing::info_span!(target: TRACE_TARGET, "request").is_disabled());
        });
        telemetry.shutdown().await;
    }

    #[test]
    fn the_endpoint_is_a_base_url() {
        let mut config = Config {
            otlp_endpoint: Some("http://127.0.0.1:4318/".into()),
            ..Config::default()
        };
        assert_eq!(
            traces_url(&config).as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        config.otlp_endpoint = Some("http://c:4318/v1/traces".into());
        assert_eq!(
            traces_url(&config).as_deref(),
            Some("http://c:4318/v1/traces")
        );
    }
}
