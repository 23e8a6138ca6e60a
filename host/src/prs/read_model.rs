//! Keeping the PR read model current: fold new entries in, never regress,
//! never lose a concurrent update (compare-and-swap on the row's version).

use crate::domain::dates::TimeRange;
use crate::domain::records::{PersonalRecords, PrCalculator};
use crate::domain::{UserId, WorkoutEntry};
use crate::prs::{day_bests, live};
use crate::store::cas::{MAX_CAS_ATTEMPTS, Versioned, VersionedRecords, merge_into};
use crate::store::{StoreError, WorkoutStore};
use anyhow::anyhow;
use async_trait::async_trait;

/// Folds the given (stored) entries into the read model, one row per
/// (user, exercise) they touch, and into the day bests of each (user,
/// exercise, UTC day). Idempotent: folding an entry twice is harmless.
pub async fn fold_entries(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    entries: &[WorkoutEntry],
) -> Result<(), StoreError> {
    for ((user, exercise), days) in day_bests::sets_by_key_and_day(entries) {
        // One calculation per day; the all-time candidate is their merge
        // (merging is associative, so this equals computing over all sets).
        let mut day_records = Vec::with_capacity(days.len());
        let mut candidate = PersonalRecords::default();
        for (day, sets) in days {
            let records = calculator
                .compute(&sets)
                .map_err(|e| StoreError::Internal(e.into()))?;
            candidate.merge(&records);
            day_records.push((day, records));
        }
        store
            .merge_day_records(user, exercise, &day_records)
            .await?;
        merge(store, user, exercise, &candidate).await?;
    }
    Ok(())
}

/// The read-model row of one (user, exercise), as a compare-and-swap slot.
pub struct ReadModelRow<'a> {
    pub store: &'a dyn WorkoutStore,
    pub user: UserId,
    pub exercise: &'a str,
}

#[async_trait]
impl VersionedRecords for ReadModelRow<'_> {
    async fn read(&self) -> Result<Option<Versioned>, StoreError> {
        Ok(self
            .store
            .read_personal_records(self.user, self.exercise)
            .await?
            .map(|row| (row.records, row.version)))
    }

    async fn write(
        &self,
        records: &PersonalRecords,
        expected: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.store
            .write_personal_records(self.user, self.exercise, records, expected)
            .await
    }

    fn describe(&self) -> String {
        format!("read model of {}/{}", self.user, self.exercise)
    }
}

/// Merges `candidate` into the stored row for (user, exercise).
pub async fn merge(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
    candidate: &PersonalRecords,
) -> Result<(), StoreError> {
    let row = ReadModelRow {
        store,
        user,
        exercise,
    };
    merge_into(&row, candidate, None).await
}

/// Recomputes the read model and the day bests from the stored entries (heals
/// any drift, and builds the day bests of entries stored before they
/// existed). Returns the number of (user, exercise) keys rebuilt.
pub async fn rebuild(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: Option<UserId>,
    mut progress: impl FnMut(usize, usize),
) -> Result<usize, StoreError> {
    let keys = store.exercise_keys(user).await?;
    let total = keys.len();
    for (done, (user, exercise)) in keys.into_iter().enumerate() {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let expected = store
                .read_personal_records(user, &exercise)
                .await?
                .map(|r| r.version);
            let fresh =
                live::records(store, calculator, user, &exercise, TimeRange::ALL_TIME).await?;
            if store
                .write_personal_records(user, &exercise, &fresh, expected)
                .await?
            {
                break;
            }
            if attempts >= MAX_CAS_ATTEMPTS {
                return Err(StoreError::Internal(anyhow!(
                    "rebuild of {user}/{exercise} kept losing to writers"
                )));
            }
        }
        store
            .rebuild_day_records(user, &exercise, calculator)
            .await?;
        progress(done + 1, total);
    }
    Ok(total)
}
