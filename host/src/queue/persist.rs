//! What the workers do. Applying a write and settling its PR changes are
//! separate steps (and separate queues); both are idempotent, so a job
//! delivered again after a crash changes nothing the second time.

use super::jobs::{EditJob, SettlePrsJob, WriteBatch, WriteJob};
use crate::domain::days::day_of;
use crate::domain::records::PrCalculator;
use crate::domain::{EntryId, UserId};
use crate::prs::coalesce::SettleCoalescer;
use crate::store::{EditOutcome, PrChange, StoreError, WorkoutStore};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Persister {
    pub store: Arc<dyn WorkoutStore>,
    pub calculator: Arc<dyn PrCalculator>,
    /// Concurrent settles of one key share a run (see `prs::coalesce`).
    coalescer: Arc<SettleCoalescer>,
}

/// What applying a write did: how many entries it stored or changed, and
/// the PR changes to settle, by user.
#[derive(Debug, Default)]
pub struct Applied {
    pub entries: u64,
    pub changes: BTreeMap<UserId, Vec<PrChange>>,
}

impl Persister {
    pub fn new(store: Arc<dyn WorkoutStore>, calculator: Arc<dyn PrCalculator>) -> Self {
        let coalescer = SettleCoalescer::new(Arc::clone(&store), Arc::clone(&calculator));
        Self {
            store,
            calculator,
            coalescer,
        }
    }

    /// Applies a write. Inserts skip ids that exist; an edit applies only
    /// over an older version; so a redelivered job changes nothing.
    pub async fn apply(&self, job: &WriteJob) -> Result<Applied, StoreError> {
        let mut applied = Applied::default();
        match job {
            WriteJob::Insert(batch) => {
                let inserted = self.store.insert_entries(&batch.entries).await?;
                applied.entries = inserted.count;
                for (user, change) in inserted.changes {
                    applied.changes.entry(user).or_default().push(change);
                }
            }
            WriteJob::Edit(edit) => {
                let outcome = match edit {
                    EditJob::Replace { entry, .. } => self.store.replace_entry(entry).await?,
                    EditJob::Delete {
                        user_id,
                        id,
                        version,
                        accepted_at,
                        ..
                    } => {
                        self.store
                            .delete_entry(*user_id, *id, *version, *accepted_at)
                            .await?
                    }
                };
                match outcome {
                    EditOutcome::Applied { changes, .. } => {
                        applied.entries = 1;
                        applied.changes.insert(edit.user(), changes);
                    }
                    EditOutcome::Missing | EditOutcome::Stale { .. } => {
                        tracing::info!(
                            request_id = edit.request_id().unwrap_or("-"),
                            outcome = ?outcome,
                            "edit changed nothing (entry gone, or a later edit applied first)"
                        );
                    }
                }
            }
        }
        Ok(applied)
    }

    /// Settles a PR job's changes. A job queued before changes existed names
    /// inserted entries instead: their days are settled the same way.
    pub async fn settle(&self, job: &SettlePrsJob) -> Result<(), StoreError> {
        let mut changes = job.changes.clone();
        if !job.entry_ids.is_empty() {
            changes.extend(self.changes_of(job.user_id, &job.entry_ids).await?);
        }
        self.settle_changes(job.user_id, &changes).await
    }

    /// Settles `changes` of `user` into the read model, then removes them.
    pub async fn settle_changes(
        &self,
        user: UserId,
        changes: &[PrChange],
    ) -> Result<(), StoreError> {
        self.coalescer.settle(user, changes).await
    }

    async fn changes_of(&self, user: UserId, ids: &[EntryId]) -> Result<Vec<PrChange>, StoreError> {
        Ok(self
            .store
            .get_entries(user, ids)
            .await?
            .iter()
            .map(|e| PrChange {
                exercise: e.exercise_name_lower.clone(),
                day: day_of(e.date.timestamp_millis()),
                op: e.id.to_hex(),
                destructive: false,
            })
            .collect())
    }

    /// Both steps at once (the inline queue and the seeder).
    pub async fn persist(&self, job: &WriteJob) -> Result<u64, StoreError> {
        let applied = self.apply(job).await?;
        for (user, changes) in &applied.changes {
            self.settle_changes(*user, changes).await?;
        }
        Ok(applied.entries)
    }

    /// Stores a batch and settles it.
    pub async fn persist_batch(&self, batch: WriteBatch) -> Result<u64, StoreError> {
        self.persist(&WriteJob::Insert(batch)).await
    }
}
