//! The write path after validation. A batch is durably accepted onto the
//! persist queue; a worker stores it and queues a PR refresh; another worker
//! folds the new sets into the PR read model.
//!
//! Back ends: `inline` (no queue: persist before answering), `sqlite` (the
//! embedded default, apalis-sqlite) and `redis` (Redis Streams). Workers run
//! on apalis in the server process or alone (`everfit worker`).

pub mod backpressure;
pub mod edit_numbers;
pub mod inline;
pub mod jobs;
pub mod persist;
pub mod redis;
pub mod reservations;
pub mod retry;
pub mod sqlite;
pub mod worker;

use crate::domain::{EntryId, UserId};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

pub use edit_numbers::EditNumber;
pub use inline::InlineQueue;
pub use jobs::{EditJob, FailedJob, QueueName, SettlePrsJob, WriteBatch, WriteJob};
pub use persist::Persister;
pub use reservations::Reservation;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue cannot accept work now (503); nothing was accepted.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// A queue is past its configured depth (503 with Retry-After); nothing
    /// was accepted.
    #[error("the {queue} queue holds {depth} jobs (limit {limit})")]
    Backlogged {
        queue: &'static str,
        depth: u64,
        limit: u64,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Queue state for /health.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueStatus {
    /// `up`, `degraded` (a queue is past its depth limit: writes are
    /// refused until it drains) or `down`.
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

/// What became of an accepted edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditAccepted {
    /// Durably queued; a worker applies it.
    Queued,
    /// Applied before answering (the inline queue).
    Applied,
    /// The inline queue found a newer edit applied meanwhile: number it again.
    Superseded,
}

/// What the API needs of the write path.
#[async_trait]
pub trait WriteQueue: Send + Sync + 'static {
    /// Returns once the batch is durably accepted (persisted, for the inline queue).
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError>;

    /// The number of the next edit of an entry whose stored version is
    /// `stored` (see `edit_numbers`); a delete marks the entry so nothing
    /// can follow it.
    async fn number_edit(
        &self,
        user: UserId,
        id: EntryId,
        stored: i64,
        if_match: Option<i64>,
        delete: bool,
    ) -> Result<EditNumber, QueueError>;

    /// Returns once the numbered edit is durably accepted (applied, inline).
    async fn enqueue_edit(&self, edit: EditJob) -> Result<EditAccepted, QueueError>;

    /// Removes the client's waiting jobs (right to erasure); returns how
    /// many. Jobs already running are dropped by the store's erasure record.
    async fn purge_user(&self, user: UserId) -> Result<u64, QueueError>;

    /// Reserves an idempotency key for content with `hash` (see `reservations`).
    async fn reserve_key(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Reservation, QueueError>;

    /// Releases a key this accept reserved, when it accepted nothing after all.
    async fn release_key(&self, user: UserId, key: &str, hash: &str) -> Result<(), QueueError>;

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

    /// Numbers the next edit of an entry, atomically (see `edit_numbers`).
    async fn number_edit(
        &self,
        id: EntryId,
        stored: i64,
        if_match: Option<i64>,
        delete: bool,
    ) -> Result<EditNumber, QueueError>;

    /// Deletes the waiting and dead jobs of `queue` that concern the
    /// client ([`concerns_user`]); returns how many.
    async fn purge_user(&self, queue: QueueName, user: UserId) -> Result<u64, QueueError>;

    /// Holds (user, key) for `hash` if nothing holds it; returns the hash
    /// held before, if any. Atomic across processes sharing the queue.
    async fn hold_key(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Option<String>, QueueError>;

    /// Frees (user, key) if it is held for `hash`.
    async fn free_key(&self, user: UserId, key: &str, hash: &str) -> Result<(), QueueError>;
}

/// Whether a job's payload concerns `user` (a batch naming them, an edit of
/// theirs, a PR job for them). Undecodable payloads concern no one.
pub fn concerns_user(queue: QueueName, payload: &[u8], user: UserId) -> bool {
    match queue {
        QueueName::Persist => match WriteJob::decode(payload) {
            Ok(WriteJob::Insert(batch)) => batch.entries.iter().any(|e| e.user_id == user),
            Ok(WriteJob::Edit(edit)) => edit.user() == user,
            Err(_) => false,
        },
        QueueName::Prs => {
            serde_json::from_slice::<SettlePrsJob>(payload).is_ok_and(|job| job.user_id == user)
        }
    }
}

fn encode<T: Serialize>(job: &T) -> Result<Vec<u8>, QueueError> {
    serde_json::to_vec(job).map_err(|e| QueueError::Internal(e.into()))
}

/// Pushes a write onto the persist queue.
pub async fn push_write(jobs: &dyn JobBackend, job: &WriteJob) -> Result<String, QueueError> {
    let payload = job.encode().map_err(|e| QueueError::Internal(e.into()))?;
    jobs.push(QueueName::Persist, payload).await
}

/// Pushes a PR settlement onto the PR queue.
pub async fn push_settle(jobs: &dyn JobBackend, job: &SettlePrsJob) -> Result<String, QueueError> {
    jobs.push(QueueName::Prs, encode(job)?).await
}

/// The API's side of a durable queue.
pub struct DurableQueue {
    jobs: Arc<dyn JobBackend>,
    gate: backpressure::Gate,
}

impl DurableQueue {
    pub fn new(jobs: Arc<dyn JobBackend>, limits: backpressure::DepthLimits) -> Self {
        Self {
            jobs,
            gate: backpressure::Gate::new(limits),
        }
    }
}

#[async_trait]
impl WriteQueue for DurableQueue {
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError> {
        self.gate.admit(self.jobs.as_ref()).await?;
        let (request_id, entries) = (batch.request_id.clone(), batch.entries.len());
        let job_id = push_write(self.jobs.as_ref(), &WriteJob::Insert(batch)).await?;
        tracing::info!(
            job_id,
            request_id = request_id.as_deref().unwrap_or("-"),
            entries,
            queue = self.jobs.kind(),
            "batch accepted"
        );
        Ok(())
    }

    async fn number_edit(
        &self,
        _user: UserId,
        id: EntryId,
        stored: i64,
        if_match: Option<i64>,
        delete: bool,
    ) -> Result<EditNumber, QueueError> {
        self.jobs.number_edit(id, stored, if_match, delete).await
    }

    async fn enqueue_edit(&self, edit: EditJob) -> Result<EditAccepted, QueueError> {
        self.gate.admit(self.jobs.as_ref()).await?;
        let request_id = edit.request_id().map(str::to_string);
        let job_id = push_write(self.jobs.as_ref(), &WriteJob::Edit(edit)).await?;
        tracing::info!(
            job_id,
            request_id = request_id.as_deref().unwrap_or("-"),
            queue = self.jobs.kind(),
            "edit accepted"
        );
        Ok(EditAccepted::Queued)
    }

    async fn purge_user(&self, user: UserId) -> Result<u64, QueueError> {
        let mut purged = 0;
        for queue in QueueName::ALL {
            purged += self.jobs.purge_user(queue, user).await?;
        }
        Ok(purged)
    }

    async fn reserve_key(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Reservation, QueueError> {
        let held = self.jobs.hold_key(user, key, hash).await?;
        Ok(Reservation::of(held.as_deref(), hash))
    }

    async fn release_key(&self, user: UserId, key: &str, hash: &str) -> Result<(), QueueError> {
        self.jobs.free_key(user, key, hash).await
    }

    async fn status(&self) -> QueueStatus {
        let depths = async {
            let persist = self.jobs.depth(QueueName::Persist).await?;
            let prs = self.jobs.depth(QueueName::Prs).await?;
            Ok::<_, QueueError>(QueueDepths { persist, prs })
        };
        match depths.await {
            Ok(d) => QueueStatus {
                status: match self.gate.limits().exceeded(d) {
                    Some(_) => "degraded",
                    None => "up",
                },
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
