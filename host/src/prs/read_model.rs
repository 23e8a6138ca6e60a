//! Keeping the PR read model current: fold new entries in, never regress,
//! never lose a concurrent update (compare-and-swap on the row's version).

use crate::domain::{UserId, WorkoutEntry};
use crate::prs::PrCalculator;
use crate::store::{StoreError, WorkoutStore};
use anyhow::anyhow;
use everfit_pr::{PersonalRecords, SetRecord};
use std::collections::BTreeMap;

/// How often a compare-and-swap is retried before giving up (each retry means
/// another writer made progress, so this only trips under pathological contention).
const MAX_CAS_ATTEMPTS: usize = 64;

/// Folds the given (stored) entries into the read model, one row per
/// (user, exercise) they touch. Idempotent: folding an entry twice is harmless.
pub async fn fold_entries(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    entries: &[WorkoutEntry],
) -> Result<(), StoreError> {
    let mut by_key: BTreeMap<(UserId, &str), Vec<SetRecord>> = BTreeMap::new();
    for entry in entries {
        by_key
            .entry((entry.user_id, entry.exercise_name_lower.as_str()))
            .or_default()
            .extend(entry.set_records());
    }
    for ((user, exercise), sets) in by_key {
        let candidate = calculator
            .compute(&sets)
            .map_err(|e| StoreError::Internal(e.into()))?;
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

/// Recomputes the read model from the stored entries (heals any drift).
/// Returns the number of rows rebuilt.
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
        progress(done + 1, total);
    }
    Ok(total)
}
