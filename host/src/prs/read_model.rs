//! Keeping the PR read model current: fold new entries in, never regress,
//! never lose a concurrent update (compare-and-swap on the row's version).

use crate::domain::{UserId, WorkoutEntry};
use crate::prs::{PrCalculator, day_bests};
use crate::store::{StoreError, WorkoutStore};
use anyhow::anyhow;
use everfit_pr::PersonalRecords;

/// How often a compare-and-swap is retried before giving up (each retry means
/// another writer made progress, so this only trips under pathological contention).
const MAX_CAS_ATTEMPTS: usize = 64;

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

/// Merges `candidate` into the stored row for (user, exercise).
pub async fn merge(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
    candidate: &PersonalRecords,
) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let current = store.read_personal_records(user, exercise).await?;
        let (mut merged, expected) = match &current {
            Some(row) => (row.records.clone(), Some(row.version)),
            None => (PersonalRecords::default(), None),
        };
        merged.merge(candidate);
        if current.as_ref().is_some_and(|row| row.records == merged) {
            return Ok(()); // nothing new: no write
        }
        if store
            .write_personal_records(user, exercise, &merged, expected)
            .await?
        {
            return Ok(());
        }
    }
    Err(StoreError::Internal(anyhow!(
        "read model for {user}/{exercise}: gave up after {MAX_CAS_ATTEMPTS} contended attempts"
    )))
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
            let fresh = store
                .live_personal_records(
                    user,
                    &exercise,
                    crate::domain::dates::TimeRange::ALL_TIME,
                    calculator,
                )
                .await?;
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
