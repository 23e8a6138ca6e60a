//! Structured logs (human-readable or JSON, filtered by RUST_LOG) and, when
//! configured, the same spans exported as OpenTelemetry traces over OTLP.

use super::config::{LogFormat, TraceExport};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the trace exporter alive; dropping it sends the spans still
/// buffered, so a clean shutdown loses none.
#[must_use = "dropping the guard stops the trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: the last traces were not exported: {e}");
        }
    }
}

/// Installs the global subscriber once; later calls are no-ops (tests).
/// Pretty logs are coloured only on a terminal (and never with `NO_COLOR`),
/// so redirected logs carry no escape codes.
pub fn init(
    format: LogFormat,
    default_filter: &str,
    trace_export: Option<&TraceExport>,
) -> anyhow::Result<TelemetryGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_events(FmtSpan::NONE)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(colour)
            .with_span_events(FmtSpan::NONE)
            .boxed(),
    };
    let provider = trace_export.map(tracer_provider).transpose()?;
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("everfit"))
            .with_threads(false)
    });
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces)
        .try_init()
        .is_ok();
    if installed && provider.is_some() {
        // Only with an exporter: a caller's `traceparent` then joins its trace.
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    }
    Ok(TelemetryGuard {
        provider: provider.filter(|_| installed),
    })
}

/// Spans are batched and posted from the SDK's own thread, so a slow or
/// absent collector never holds a request up; past the buffer, spans are
/// dropped rather than memory growing.
fn tracer_provider(export: &TraceExport) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(export.traces_endpoint.clone())
        .build()
        .map_err(|e| anyhow::anyhow!("cannot export traces to {}: {e}", export.traces_endpoint))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(export.service_name.clone())
                .build(),
        )
        .build())
}
