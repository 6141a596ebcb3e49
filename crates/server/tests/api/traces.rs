//! OpenTelemetry traces: with `otlp_endpoint` set, a collector on loopback receives one span per
//! request (route template, method, status) with the request's store calls as children, and the
//! last spans arrive when the server stops; with it unset, nothing is sent.

use crate::helpers::{Backend, TestDatabase, get_json};
use crate::served::Served;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use std::sync::{Arc, Mutex};

/// What the fake collector was sent.
#[derive(Default)]
struct Received {
    requests: usize,
    service_names: Vec<String>,
    spans: Vec<Span>,
}

/// An OTLP/HTTP receiver on 127.0.0.1 that decodes and keeps every span it is sent.
struct Collector {
    base: String,
    received: Arc<Mutex<Received>>,
}

impl Collector {
    async fn start() -> Self {
        let received = Arc::new(Mutex::new(Received::default()));
        let app = axum::Router::new()
            .route("/v1/traces", post(receive))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, received }
    }
}

async fn receive(State(received): State<Arc<Mutex<Received>>>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut received = received.lock().expect("lock");
    received.requests += 1;
    for resource in request.resource_spans {
        for attribute in resource.resource.iter().flat_map(|r| &r.attributes) {
            if attribute.key == "service.name" {
                received.service_names.push(text(attribute.value.as_ref()));
            }
        }
        for scope in resource.scope_spans {
            received.spans.extend(scope.spans);
        }
    }
    ""
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| text(a.value.as_ref()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_one_span_with_its_route_and_its_store_calls_as_children() {
    let collector = Collector::start().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let served = Served::start(
        &db,
        &[
            ("KEYWARD_OTLP_ENDPOINT", collector.base.as_str()),
            ("KEYWARD_OTLP_SERVICE_NAME", "keyward-under-test"),
        ],
    )
    .await;
    let (developer, _) = served.app.user("tracy").await;
    // A path parameter and a query that must not reach the collector: only the template may.
    let (status, _) = get_json(
        &developer,
        &served
            .app
            .url("/api/oauth_apps/987654321?code=SECRET-CODE-5678"),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    served.stop().await;

    let received = collector.received.lock().expect("lock");
    assert!(
        received
            .service_names
            .iter()
            .all(|n| n == "keyward-under-test")
            && !received.service_names.is_empty()
    );
    let login = received
        .spans
        .iter()
        .find(|s| s.name == "POST /api/user/login")
        .unwrap_or_else(|| {
            let names: Vec<_> = received.spans.iter().map(|s| &s.name).collect();
            panic!("no login span among {names:?}")
        });
    assert_eq!(
        attribute(login, "http.route").as_deref(),
        Some("/api/user/login")
    );
    assert_eq!(
        attribute(login, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        attribute(login, "http.response.status_code").as_deref(),
        Some("200")
    );
    let children: Vec<&Span> = received
        .spans
        .iter()
        .filter(|s| s.parent_span_id == login.span_id && s.trace_id == login.trace_id)
        .collect();
    let names: Vec<&str> = children.iter().map(|s| s.name.as_str()).collect();
    for expected in ["store.user_by_login", "store.create_session"] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    let by_login = children
        .iter()
        .find(|s| s.name == "store.user_by_login")
        .expect("store span");
    assert_eq!(
        attribute(by_login, "db.operation.name").as_deref(),
        Some("user_by_login")
    );
    assert_eq!(
        attribute(by_login, "db.system.name").as_deref(),
        Some("sqlite")
    );
    assert!(
        received
            .spans
            .iter()
            .any(|s| s.name == "GET /api/oauth_apps/{id}"),
        "the route template names the span"
    );
    for span in &received.spans {
        let everything = format!("{} {:?}", span.name, span.attributes);
        assert!(
            !everything.contains("987654321") && !everything.contains("SECRET-CODE"),
            "a raw path or query reached the collector: {everything}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_otlp_unset_nothing_is_sent_even_with_the_standard_variables_set() {
    let collector = Collector::start().await;
    let db = TestDatabase::new(Backend::Sqlite).await;
    // The SDK's own variables point at the collector: only `otlp_endpoint` turns tracing on.
    let served = Served::start(
        &db,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.base.as_str()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                collector.base.as_str(),
            ),
        ],
    )
    .await;
    served.app.user("quiet").await;
    served.stop().await;
    assert_eq!(collector.received.lock().expect("lock").requests, 0);
}
