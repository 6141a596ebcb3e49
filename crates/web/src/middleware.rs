//! Layers every request passes through: limits, timeouts, panic containment, headers, tracing.

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use std::any::Any;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::pages::brand::BrandCache;
use crate::state::WebConfig;
use std::sync::Arc;

/// Wraps the whole router in one stack of layers. Built with `ServiceBuilder` around the
/// router, not with `Router::layer`, which wraps every route and boxes each layer, so that every
/// request would clone and allocate each layer of its route again.
pub fn apply(router: Router, config: &WebConfig, brand: Arc<BrandCache>) -> Router {
    // Browsers that reached us over https stay on https.
    let hsts = config.https().then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    let stack = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        // Spans carry the path only: query strings of callbacks hold codes and states.
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        // After the trace span, so the line is logged inside it; before the rest, so it sees
        // the timeouts' and panics' answers too.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(config.clone()),
            crate::access_log::log,
        ))
        // Account answers carry personal data and one-time secrets: never cache them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .option_layer(hsts)
        // Pages wear the platform's brand (`pages::brand`).
        .layer(axum::middleware::from_fn_with_state(
            brand,
            crate::pages::brand::scope,
        ))
        .service(router);
    Router::new().fallback_service(stack)
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

/// A panic becomes a generic 500 in the account envelope; the payload stays in the log.
fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = detail, "request handler panicked");
    let mut response = Response::new(Body::from(
        r#"{"success":false,"message":"服务器内部错误"}"#,
    ));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
