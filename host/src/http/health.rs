//! GET /health: the state of the store, the queue and the plugins.

use super::context::AppContext;
use crate::queue::QueueStatus;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`, or `error` when the store is down.
    pub status: &'static str,
    pub info: HealthInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthInfo {
    pub store: ComponentHealth,
    pub queue: QueueStatus,
    pub plugins: ComponentHealth,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentHealth {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Service health.
#[utoipa::path(get, path = "/health", tag = "operations", security(()),
    responses(
        (status = 200, description = "Store up", body = HealthResponse, example = json!({
            "status": "ok", "info": { "store": { "status": "up", "backend": "sqlite" },
            "queue": { "status": "up", "kind": "inline", "depth": null },
            "plugins": { "status": "up", "backend": "wasm component everfit:insights/pr@0.1.0 (sha256 8891bc3b6dfd); insights: progress" } } })),
        (status = 503, description = "Store down (same shape)", body = HealthResponse),
    ))]
pub async fn health(State(ctx): State<AppContext>) -> (StatusCode, Json<HealthResponse>) {
    let store = match tokio::time::timeout(Duration::from_secs(2), ctx.store.ping()).await {
        Ok(Ok(())) => ComponentHealth {
            status: "up",
            backend: Some(ctx.store.backend().into()),
            error: None,
        },
        Ok(Err(e)) => ComponentHealth {
            status: "down",
            backend: Some(ctx.store.backend().into()),
            error: Some(e.to_string()),
        },
        Err(_) => ComponentHealth {
            status: "down",
            backend: Some(ctx.store.backend().into()),
            error: Some("ping timed out after 2 s".into()),
        },
    };
    let queue = ctx.queue.status().await;
    let registry = ctx.plugins.registry();
    let insights: Vec<&str> = registry.plugins().map(|p| p.name()).collect();
    let plugins = ComponentHealth {
        status: "up",
        backend: Some(format!(
            "{}; insights: {}",
            ctx.calculator.describe(),
            insights.join(", ")
        )),
        // Refused PLUGINS_DIR files do not make the service unhealthy, but are worth seeing.
        error: (!registry.problems().is_empty()).then(|| {
            format!(
                "{} plugin file(s) refused (GET /insights lists why)",
                registry.problems().len()
            )
        }),
    };
    let up = store.status == "up";
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(HealthResponse {
            status: if up { "ok" } else { "error" },
            info: HealthInfo {
                store,
                queue,
                plugins,
            },
        }),
    )
}
