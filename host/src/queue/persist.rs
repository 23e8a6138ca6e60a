//! What a worker does with a batch: store the entries, then fold the stored
//! ones into the PR read model. Both steps are idempotent, so a batch that is
//! delivered again after a crash changes nothing the second time.

use super::WriteBatch;
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
        // Fold what is stored under these ids (not what the batch says): when a
        // concurrent submit with the same idempotency key won, its content is
        // the truth, and folding it twice is harmless.
        let mut ids_by_user = BTreeMap::new();
        for e in &batch.entries {
            ids_by_user
                .entry(e.user_id)
                .or_insert_with(Vec::new)
                .push(e.id);
        }
        for (user, ids) in ids_by_user {
            let stored = self.store.get_entries(user, &ids).await?;
            read_model::fold_entries(self.store.as_ref(), self.calculator.as_ref(), &stored)
                .await?;
        }
        Ok(inserted)
    }
}
