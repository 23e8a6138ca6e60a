//! Rebuilding the PR read model and the day bests from the stored entries
//! (`everfit prs rebuild`): heals any drift, and builds the day bests of
//! entries stored before they existed. Writes keep being settled while it
//! runs; every step is the same compare-and-swap as theirs.

use crate::domain::UserId;
use crate::domain::records::PrCalculator;
use crate::prs::settle;
use crate::store::{StoreError, WorkoutStore};
use std::collections::BTreeSet;

/// Rebuilds every (user, exercise) with entries or unsettled changes (of
/// one user, or of all). Returns the number of keys rebuilt.
pub async fn rebuild(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: Option<UserId>,
    mut progress: impl FnMut(usize, usize),
) -> Result<usize, StoreError> {
    let mut keys: BTreeSet<(UserId, String)> =
        store.exercise_keys(user).await?.into_iter().collect();
    if let Some(user) = user {
        // A key whose last entry went may still have a row to empty.
        for change in store.pr_changes(user, None).await? {
            keys.insert((user, change.exercise));
        }
    }
    let total = keys.len();
    for (done, (user, exercise)) in keys.into_iter().enumerate() {
        // What is pending now is absorbed by this rebuild; what arrives
        // later is settled by its own job.
        let pending = store.pr_changes(user, Some(&exercise)).await?;
        store
            .rebuild_day_records(user, &exercise, calculator)
            .await?;
        settle::rebuild_row(store, user, &exercise).await?;
        store.clear_pr_changes(user, &pending).await?;
        progress(done + 1, total);
    }
    Ok(total)
}
