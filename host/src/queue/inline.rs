//! No queue: the batch is persisted before the request is answered.

use super::{Persister, QueueError, QueueStatus, WriteBatch, WriteQueue};
use crate::store::StoreError;
use async_trait::async_trait;

pub struct InlineQueue {
    persister: Persister,
}

impl InlineQueue {
    pub fn new(persister: Persister) -> Self {
        Self { persister }
    }
}

#[async_trait]
impl WriteQueue for InlineQueue {
    async fn enqueue(&self, batch: WriteBatch) -> Result<(), QueueError> {
        match self.persister.persist(&batch).await {
            Ok(_) => Ok(()),
            Err(StoreError::Unavailable(msg)) => Err(QueueError::Unavailable(msg)),
            Err(StoreError::Internal(e)) => Err(QueueError::Internal(e)),
        }
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
