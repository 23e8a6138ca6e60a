//! The write path after validation: a batch of entries with their ids is
//! handed to a queue, and a worker persists it and refreshes the PR read model.

pub mod inline;
pub mod persist;

use crate::domain::WorkoutEntry;
use async_trait::async_trait;
use serde::Serialize;

pub use inline::InlineQueue;
pub use persist::Persister;

/// What a worker receives: entries with their final ids, so a replay stores
/// nothing twice.
#[derive(Debug, Clone)]
pub struct WriteBatch {
    pub entries: Vec<WorkoutEntry>,
    /// The request that accepted the batch, for log correlation.
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue cannot accept work now (503); nothing was accepted.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Queue state for /health.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueStatus {
    /// `up` or `down`.
    pub status: &'static str,
    /// `inline`, `sqlite` or `redis`.
    pub kind: &'static str,
    /// Batches waiting to be persisted (null where not applicable).
    pub depth: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[async_trait]
pub trait WriteQueue: Send + Sync + 'static {
    /// Returns once the batch is durably accepted (persisted, for the inline queue).
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError>;

    async fn status(&self) -> QueueStatus;
}
