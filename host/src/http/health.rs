//! GET /health: the state of the store, the queue and the plugins.

use super::context::AppContext;
use crate::queue::QueueStatus;
use crate::store::WorkoutStore;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
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
#[utoipa::path(get, path = "/health", tag = "operations",
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
    let backend = Some(store.backend().into());
    if let Some(stage) = store.preparing() {
        return ComponentHealth {
            status: "starting",
            backend,
            error: Some(stage),
        };
    }
    match tokio::time::timeout(Duration::from_secs(2), store.ping()).await {
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
    use crate::domain::dates::TimeRange;
    use crate::domain::records::{PersonalRecords, SetRecord};
    use crate::domain::{EntryId, UserId, WorkoutEntry};
    use crate::store::{HistoryQuery, StoreError, StoredRecords};
    use async_trait::async_trait;

    /// A store that only answers `preparing` and `ping`.
    struct Probe {
        preparing: Option<String>,
        up: bool,
    }

    #[async_trait]
    impl WorkoutStore for Probe {
        fn backend(&self) -> &'static str {
            "probe"
        }
        fn preparing(&self) -> Option<String> {
            self.preparing.clone()
        }
        async fn ping(&self) -> Result<(), StoreError> {
            if self.up {
                Ok(())
            } else {
                Err(StoreError::Unavailable("no server".into()))
            }
        }
        async fn insert_entries(&self, _: &[WorkoutEntry]) -> Result<u64, StoreError> {
            unreachable!()
        }
        async fn get_entry(
            &self,
            _: UserId,
            _: EntryId,
        ) -> Result<Option<WorkoutEntry>, StoreError> {
            unreachable!()
        }
        async fn get_entries(
            &self,
            _: UserId,
            _: &[EntryId],
        ) -> Result<Vec<WorkoutEntry>, StoreError> {
            unreachable!()
        }
        async fn history(&self, _: &HistoryQuery) -> Result<Vec<WorkoutEntry>, StoreError> {
            unreachable!()
        }
        async fn exercise_sets(
            &self,
            _: UserId,
            _: &str,
            _: TimeRange,
        ) -> Result<Vec<SetRecord>, StoreError> {
            unreachable!()
        }
        async fn read_personal_records(
            &self,
            _: UserId,
            _: &str,
        ) -> Result<Option<StoredRecords>, StoreError> {
            unreachable!()
        }
        async fn write_personal_records(
            &self,
            _: UserId,
            _: &str,
            _: &PersonalRecords,
            _: Option<i64>,
        ) -> Result<bool, StoreError> {
            unreachable!()
        }
        async fn exercise_keys(
            &self,
            _: Option<UserId>,
        ) -> Result<Vec<(UserId, String)>, StoreError> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn a_preparing_store_is_starting_with_its_step() {
        let starting = store_health(&Probe {
            preparing: Some("creating indexes on workouts (1/4)".into()),
            up: true,
        })
        .await;
        assert_eq!(starting.status, "starting");
        assert_eq!(
            starting.error.as_deref(),
            Some("creating indexes on workouts (1/4)")
        );
        let up = store_health(&Probe {
            preparing: None,
            up: true,
        })
        .await;
        assert_eq!((up.status, up.error), ("up", None));
        let down = store_health(&Probe {
            preparing: None,
            up: false,
        })
        .await;
        assert_eq!(down.status, "down");
        assert!(down.error.unwrap().contains("no server"));
    }
}
