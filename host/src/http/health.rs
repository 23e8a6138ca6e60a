//! GET /health: the state of the store, the queue and the plugins.

use super::context::AppContext;
use crate::queue::QueueStatus;
use crate::store::{StoreError, WorkoutStore};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`; `starting` while the store prepares its database after
    /// start-up (indexes, one-time migrations); `error` when the store is down.
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
        (status = 503, description = "Store down, or still starting (same shape)", body = HealthResponse),
    ))]
pub async fn health(State(ctx): State<AppContext>) -> (StatusCode, Json<HealthResponse>) {
    let store = store_health(ctx.store.as_ref()).await;
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
    let (status, overall) = match store.status {
        "up" => (StatusCode::OK, "ok"),
        "starting" => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "error"),
    };
    (
        status,
        Json(HealthResponse {
            status: overall,
            info: HealthInfo {
                store,
                queue,
                plugins,
            },
        }),
    )
}

/// The store's part: `starting` (with the step under way) while it
/// prepares, else `up` or `down` from a ping.
async fn store_health(store: &dyn WorkoutStore) -> ComponentHealth {
    component_health(store.backend(), store.preparing(), store.ping()).await
}

async fn component_health(
    backend: &'static str,
    preparing: Option<String>,
    ping: impl Future<Output = Result<(), StoreError>>,
) -> ComponentHealth {
    let backend = Some(backend.into());
    if let Some(stage) = preparing {
        return ComponentHealth {
            status: "starting",
            backend,
            error: Some(stage),
        };
    }
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(())) => ComponentHealth {
            status: "up",
            backend,
            error: None,
        },
        Ok(Err(e)) => ComponentHealth {
            status: "down",
            backend,
            error: Some(e.to_string()),
        },
        Err(_) => ComponentHealth {
            status: "down",
            backend,
            error: Some("ping timed out after 2 s".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The health of a store that is preparing, or answers its ping or not.
    async fn probe(preparing: Option<&str>, up: bool) -> ComponentHealth {
        let ping = async move {
            if up {
                Ok(())
            } else {
                Err(StoreError::Unavailable("no server".into()))
            }
        };
        component_health("probe", preparing.map(str::to_string), ping).await
    }

    #[tokio::test]
    async fn a_preparing_store_is_starting_with_its_step() {
        let starting = probe(Some("creating indexes on workouts (1/4)"), true).await;
        assert_eq!(starting.status, "starting");
        assert_eq!(
            starting.error.as_deref(),
            Some("creating indexes on workouts (1/4)")
        );
        let up = probe(None, true).await;
        assert_eq!((up.status, up.error), ("up", None));
        let down = probe(None, false).await;
        assert_eq!(down.status, "down");
        assert!(down.error.unwrap().contains("no server"));
    }
}
