//! Prometheus metrics: the process-wide recorder, the queue-depth gauges,
//! and the plain listener a private network scrapes (`METRICS_ADDR`).
//!
//! Every layer records through the `metrics` facade (names in
//! `docs/operations.md`); this module decides where they go.

use crate::queue::{JobBackend, QueueName};
use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;

/// Latency buckets (seconds): from a read-model hit to a slow insight.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use. Every app in a process
/// (tests start several) shares it.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("valid buckets");
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder was installed first (an embedding
                // program's): keep recording into one of our own, unread.
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder exists already; /metrics shows only what it records");
                    PrometheusBuilder::new()
                        .build_recorder()
                        .handle()
                }
            }
        })
        .clone()
}

/// Refreshes `queue_depth{queue}` every `every` while the process runs.
pub fn watch_queue_depths(
    jobs: Arc<dyn JobBackend>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for queue in QueueName::ALL {
                if let Ok(depth) = jobs.depth(queue).await {
                    metrics::gauge!("queue_depth", "queue" => queue.as_str()).set(depth as f64);
                }
            }
        }
    })
}

/// Serves `GET /metrics` (and nothing else) on `addr`, without credentials:
/// for a scraper on a private network, never for a published port.
pub async fn serve_metrics(addr: &str) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on METRICS_ADDR {addr}"))?;
    tracing::info!(addr, "metrics listener");
    let handle = handle();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    }))
}
