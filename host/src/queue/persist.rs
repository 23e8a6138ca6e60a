//! What a worker does with a batch: store the entries, then fold the stored
//! ones into the PR read model. Both steps are idempotent, so a batch that is
//! delivered again after a crash changes nothing the second time.

use super::WriteBatch;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::prs::{PrCalculator, read_model};
use crate::store::{StoreError, WorkoutStore};
use std::collections::BTreeMap;
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

    /// Persists a batch; returns how many entries were new.
    pub async fn persist(&self, batch: &WriteBatch) -> Result<u64, StoreError> {
        let inserted = self.store.insert_entries(&batch.entries).await?;
        // Fold what is stored, not what was submitted: for a keyed entry a
        // concurrent submit with the same key may have won, and its content is
        // the truth. Unkeyed entries have fresh ids, so the batch is what is
        // stored and needs no re-read. Folding an entry twice is harmless.
        let mut stored: Vec<WorkoutEntry> = Vec::with_capacity(batch.entries.len());
        let mut keyed_ids_by_user: BTreeMap<UserId, Vec<EntryId>> = BTreeMap::new();
        for e in &batch.entries {
            if e.idempotency_key.is_some() {
                keyed_ids_by_user.entry(e.user_id).or_default().push(e.id);
            } else {
                stored.push(e.clone());
            }
        }
        for (user, ids) in keyed_ids_by_user {
            stored.extend(self.store.get_entries(user, &ids).await?);
        }
        read_model::fold_entries(self.store.as_ref(), self.calculator.as_ref(), &stored).await?;
        Ok(inserted)
    }
}
