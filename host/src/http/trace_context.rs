//! Exported request spans: their names, and W3C trace context (a request
//! that arrives with `traceparent` continues the caller's trace, so a coach
//! app's trace shows this service's work).

use axum::http::HeaderMap;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Makes `span` a child of the caller's span when the request names one.
/// Without a trace exporter the global propagator is a no-op and this costs
/// a header lookup at most.
pub fn continue_caller_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
    // Fails only when no OpenTelemetry layer is installed: nothing to join.
    let _ = span.set_parent(parent);
}

/// Renames the exported span once the route is known. (Recording
/// `otel.name` is ignored once a span has been entered, which it has by the
/// time routing is done.) Without an exporter this touches a no-op span.
pub fn name_span(span: &tracing::Span, name: String) {
    span.context().span().update_name(name);
}
