//! No queue: each write is applied (and its PRs settled) before the request
//! is answered.

use super::Reservation;
use super::edit_numbers::{EditNumber, next_number};
use super::reservations::RESERVATION_SECS;
use super::{
    EditAccepted, EditJob, Persister, QueueError, QueueStatus, WriteBatch, WriteJob, WriteQueue,
};
use crate::domain::{EntryId, UserId};
use crate::store::StoreError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct InlineQueue {
    persister: Persister,
    /// Reserved idempotency keys: one process, so memory is enough.
    keys: Mutex<HashMap<(UserId, String), (String, Instant)>>,
}

impl InlineQueue {
    pub fn new(persister: Persister) -> Self {
        Self {
            persister,
            keys: Mutex::new(HashMap::new()),
        }
    }
}

fn queue_error(e: StoreError) -> QueueError {
    match e {
        StoreError::Unavailable(msg) => QueueError::Unavailable(msg),
        StoreError::Internal(e) => QueueError::Internal(e),
    }
}

#[async_trait]
impl WriteQueue for InlineQueue {
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError> {
        self.persister
            .persist(&WriteJob::Insert(batch))
            .await
            .map(|_| ())
            .map_err(queue_error)
    }

    async fn number_edit(
        &self,
        _user: UserId,
        _id: EntryId,
        stored: i64,
        if_match: Option<i64>,
        _delete: bool,
    ) -> Result<EditNumber, QueueError> {
        // Nothing waits: the stored version is the last one accepted. A
        // concurrent edit of the same number is caught when applying.
        Ok(next_number(None, stored, if_match))
    }

    async fn enqueue_edit(&self, edit: EditJob) -> Result<EditAccepted, QueueError> {
        let persister = &self.persister;
        let job = WriteJob::Edit(edit);
        let applied = persister.apply(&job).await.map_err(queue_error)?;
        if applied.entries == 0 {
            // Applied nothing: the entry moved on (or went) meanwhile.
            return Ok(EditAccepted::Superseded);
        }
        for (user, changes) in &applied.changes {
            persister
                .settle_changes(*user, changes)
                .await
                .map_err(queue_error)?;
        }
        Ok(EditAccepted::Applied)
    }

    async fn purge_user(&self, _user: UserId) -> Result<u64, QueueError> {
        Ok(0) // nothing ever waits
    }

    async fn reserve_key(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Reservation, QueueError> {
        let mut keys = self.keys.lock().expect("keys lock");
        let ttl = Duration::from_secs(RESERVATION_SECS);
        keys.retain(|_, (_, at)| at.elapsed() < ttl);
        let held = keys.get(&(user, key.to_string())).map(|(h, _)| h.clone());
        if held.is_none() {
            keys.insert((user, key.to_string()), (hash.to_string(), Instant::now()));
        }
        Ok(Reservation::of(held.as_deref(), hash))
    }

    async fn release_key(&self, user: UserId, key: &str, hash: &str) -> Result<(), QueueError> {
        let mut keys = self.keys.lock().expect("keys lock");
        if keys
            .get(&(user, key.to_string()))
            .is_some_and(|(h, _)| h == hash)
        {
            keys.remove(&(user, key.to_string()));
        }
        Ok(())
    }

    async fn status(&self) -> QueueStatus {
        QueueStatus {
            status: "up",
            kind: "inline",
            depth: None,
            queues: None,
            error: None,
        }
    }
}
