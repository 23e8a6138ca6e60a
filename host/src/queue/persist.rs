//! What the workers do. Storing a batch and refreshing PRs are separate
//! steps (and separate queues); both are idempotent, so a job delivered again
//! after a crash changes nothing the second time.

use super::jobs::{WriteBatch, ids_by_user};
use crate::domain::records::PrCalculator;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::prs::read_model;
use crate::store::{StoreError, WorkoutStore};
use std::sync::Arc;

#[derive(Clone)]
pub struct Persister {
    pub store: Arc<dyn WorkoutStore>,
    pub calculator: Arc<dyn PrCalculator>,
}

impl Persister {
    pub fn new(store: Arc<dyn WorkoutStore>, calculator: Arc<dyn PrCalculator>) -> Self {
        Self { store, calculator }
    }

    /// Stores a batch; returns how many entries were new. Inserts skip ids
    /// that exist, so a redelivered batch is a no-op.
    pub async fn store_batch(&self, batch: &WriteBatch) -> Result<u64, StoreError> {
        self.store.insert_entries(&batch.entries).await
    }

    /// Folds the named entries, as stored, into the user's PR read model.
    /// What is stored is the truth: for a keyed entry a concurrent submit with
    /// the same key may have won. Folding an entry twice is harmless.
    pub async fn refresh_prs(&self, user: UserId, ids: &[EntryId]) -> Result<(), StoreError> {
        let stored = self.store.get_entries(user, ids).await?;
        self.fold(&stored).await
    }

    /// Both steps at once (the inline queue and the seeder). Unkeyed entries
    /// have fresh ids, so the batch is what was stored and needs no re-read.
    pub async fn persist(&self, batch: &WriteBatch) -> Result<u64, StoreError> {
        let inserted = self.store_batch(batch).await?;
        let (keyed, unkeyed): (Vec<&WorkoutEntry>, Vec<&WorkoutEntry>) = batch
            .entries
            .iter()
            .partition(|e| e.idempotency_key.is_some());
        let mut stored: Vec<WorkoutEntry> = unkeyed.into_iter().cloned().collect();
        for (user, ids) in ids_by_user(keyed) {
            stored.extend(self.store.get_entries(user, &ids).await?);
        }
        self.fold(&stored).await?;
        Ok(inserted)
    }

    async fn fold(&self, entries: &[WorkoutEntry]) -> Result<(), StoreError> {
        read_model::fold_entries(self.store.as_ref(), self.calculator.as_ref(), entries).await
    }
}
