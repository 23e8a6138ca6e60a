//! Request metrics and `GET /metrics` (Prometheus text format).

use super::auth::Authorized;
use super::context::AppContext;
use super::envelope::ErrorEnvelope;
use crate::domain::access::needs;
use crate::plugins::PluginError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};

/// Counts every request by route template, method and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    // The request's span (and its exported trace) is named by the route
    // template, not the raw path, so traces group as the metrics do.
    let span = tracing::Span::current();
    super::trace_context::name_span(&span, format!("{method} {route}"));
    span.record("http.route", route.as_str());
    let response = next.run(request).await;
    span.record(
        "http.response.status_code",
        i64::from(response.status().as_u16()),
    );
    if response.status().is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Counts one insight plugin call by plugin and outcome, and times it.
pub fn record_plugin_call(plugin: &str, elapsed: Duration, error: Option<&PluginError>) {
    let outcome = error.map_or("ok", PluginError::kind);
    let plugin = plugin.to_string();
    metrics::counter!("plugin_calls_total", "plugin" => plugin.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("plugin_call_duration_seconds", "plugin" => plugin)
        .record(elapsed.as_secs_f64());
}

/// Prometheus metrics.
///
/// Requests by route, method and status with latencies; queue depths, job
/// durations and outcomes; where PR answers came from; insight plugin calls;
/// store operation latencies. Needs `metrics.read`. A private network can
/// scrape the same without credentials on `METRICS_ADDR`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "No Authorization header", body = ErrorEnvelope),
        (status = 403, description = "A key without metrics.read", body = ErrorEnvelope),
    ))]
pub async fn metrics(
    State(ctx): State<AppContext>,
    _auth: Authorized<needs::MetricsRead>,
) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(),
    )
        .into_response()
}
