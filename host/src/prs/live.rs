//! PRs computed now from the stored entries: the path for keys the read
//! model has no row for yet and for the partial days at a range's edges.

use crate::domain::UserId;
use crate::domain::dates::TimeRange;
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords};
use crate::domain::stats::EntryStats;
use crate::store::{StoreError, WorkoutStore};

/// The records of one exercise within `range`: ranked by the store when it
/// can (MongoDB), otherwise by `calculator` over the sets it returns.
pub async fn records(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise_lower: &str,
    range: TimeRange,
) -> Result<PersonalRecords, StoreError> {
    if let Some(ranked) = store.ranked_records(user, exercise_lower, range).await? {
        return Ok(ranked);
    }
    let sets = store.exercise_sets(user, exercise_lower, range).await?;
    calculator
        .compute(&sets)
        .map_err(|e| StoreError::Internal(e.into()))
}

/// The entry stats of one exercise within `range`, from its sets now.
pub async fn stats(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_lower: &str,
    range: TimeRange,
) -> Result<EntryStats, StoreError> {
    let sets = store.exercise_sets(user, exercise_lower, range).await?;
    Ok(EntryStats::from_sets(&sets))
}

/// The rep records of one exercise within `range`, from its sets now, on
/// every store: MongoDB's `$facet` ranking covers the three set kinds only
/// (a day total needs every set of the day, which the sets give directly).
pub async fn rep_records(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_lower: &str,
    range: TimeRange,
) -> Result<RepRecords, StoreError> {
    let sets = store.exercise_sets(user, exercise_lower, range).await?;
    Ok(RepRecords::compute(&sets))
}
