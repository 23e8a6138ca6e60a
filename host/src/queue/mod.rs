//! The write path after validation. A batch is durably accepted onto the
//! persist queue; a worker stores it and queues a PR refresh; another worker
//! folds the new sets into the PR read model.
//!
//! Back ends: `inline` (no queue: persist before answering), `sqlite` (the
//! embedded default, apalis-sqlite) and `redis` (Redis Streams). Workers run
//! on apalis in the server process or alone (`everfit worker`).

pub mod inline;
pub mod jobs;
pub mod persist;
pub mod redis;
pub mod retry;
pub mod sqlite;
pub mod worker;

use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

pub use inline::InlineQueue;
pub use jobs::{FailedJob, QueueName, RefreshPrsJob, WriteBatch};
pub use persist::Persister;

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
    /// Jobs waiting or running on both queues (null for `inline`).
    pub depth: Option<u64>,
    /// Jobs waiting or running per queue (`persist`, `prs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queues: Option<QueueDepths>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct QueueDepths {
    pub persist: u64,
    pub prs: u64,
}

/// What the API needs of the write path.
#[async_trait]
pub trait WriteQueue: Send + Sync + 'static {
    /// Returns once the batch is durably accepted (persisted, for the inline queue).
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError>;

    async fn status(&self) -> QueueStatus;
}

/// A durable job queue back end: where jobs wait, and what an operator
/// inspects. Payloads are JSON bytes.
#[async_trait]
pub trait JobBackend: Send + Sync + 'static {
    fn kind(&self) -> &'static str;

    /// Returns the job id once the job is durably stored.
    async fn push(&self, queue: QueueName, payload: Vec<u8>) -> Result<String, QueueError>;

    /// Jobs waiting or running.
    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError>;

    /// The dead-letter list.
    async fn failed(&self, queue: QueueName) -> Result<Vec<FailedJob>, QueueError>;

    /// Puts dead jobs (one, or all when `id` is None) back on the queue;
    /// returns how many.
    async fn retry_failed(&self, queue: QueueName, id: Option<&str>) -> Result<u64, QueueError>;

    async fn ping(&self) -> Result<(), QueueError>;
}

fn encode<T: Serialize>(job: &T) -> Result<Vec<u8>, QueueError> {
    serde_json::to_vec(job).map_err(|e| QueueError::Internal(e.into()))
}

/// Pushes a batch onto the persist queue.
pub async fn push_batch(jobs: &dyn JobBackend, batch: &WriteBatch) -> Result<String, QueueError> {
    jobs.push(QueueName::Persist, encode(batch)?).await
}

/// Pushes a PR refresh onto the PR queue.
pub async fn push_refresh(
    jobs: &dyn JobBackend,
    job: &RefreshPrsJob,
) -> Result<String, QueueError> {
    jobs.push(QueueName::Prs, encode(job)?).await
}

/// The API's side of a durable queue.
pub struct DurableQueue {
    jobs: Arc<dyn JobBackend>,
}

impl DurableQueue {
    pub fn new(jobs: Arc<dyn JobBackend>) -> Self {
        Self { jobs }
    }
}

#[async_trait]
impl WriteQueue for DurableQueue {
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError> {
        let job_id = push_batch(self.jobs.as_ref(), &batch).await?;
        tracing::info!(
            job_id,
            request_id = batch.request_id.as_deref().unwrap_or("-"),
            entries = batch.entries.len(),
            queue = self.jobs.kind(),
            "batch accepted"
        );
        Ok(())
    }

    async fn status(&self) -> QueueStatus {
        let depths = async {
            let persist = self.jobs.depth(QueueName::Persist).await?;
            let prs = self.jobs.depth(QueueName::Prs).await?;
            Ok::<_, QueueError>(QueueDepths { persist, prs })
        };
        match depths.await {
            Ok(d) => QueueStatus {
                status: "up",
                kind: self.jobs.kind(),
                depth: Some(d.persist + d.prs),
                queues: Some(d),
                error: None,
            },
            Err(e) => QueueStatus {
                status: "down",
                kind: self.jobs.kind(),
                depth: None,
                queues: None,
                error: Some(e.to_string()),
            },
        }
    }
}
