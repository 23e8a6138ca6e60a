//! PR reads that never contradict the history: O(1) all-time from the read
//! model, O(days in range) for ranges from the day bests, exact at every
//! moment.
//!
//! A range `[start, end)` is split into the whole UTC days it covers, read as
//! day summaries, and at most two partial edge days, computed from their
//! sets. Merging is associative and commutative and the parts do not
//! overlap, so the result equals the live computation over the range
//! exactly, tie rules included.
//!
//! Writes the read model has not absorbed yet are recorded as [`PrChange`]s
//! with the writes themselves; a read computes their days live instead of
//! trusting the precomputed ones. When one of them may have lowered a record
//! (an edit or a delete), the all-time row cannot be trusted either, and
//! the read merges the day summaries of the other days instead.

use crate::domain::UserId;
use crate::domain::dates::TimeRange;
use crate::domain::days::{DaySpan, split_range};
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords};
use crate::prs::live;
use crate::prs::settle::day_range;
use crate::store::{PrChange, StoreError, WorkoutStore};
use std::collections::BTreeSet;

/// Where a PR response came from (the `x-pr-source` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrSource {
    /// The all-time read model row.
    ReadModel,
    /// Day summaries for whole days, sets for partial edge days.
    DayBests,
    /// Every matching set, read and ranked now.
    Live,
    /// The read model, plus days whose writes it has not absorbed yet, live.
    ReadModelAndLive,
    /// Day summaries, plus days whose writes they have not absorbed yet, live.
    DayBestsAndLive,
}

impl PrSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PrSource::ReadModel => "read-model",
            PrSource::DayBests => "day-bests",
            PrSource::Live => "live",
            PrSource::ReadModelAndLive => "read-model+live",
            PrSource::DayBestsAndLive => "day-bests+live",
        }
    }
}

/// All-time PRs of one exercise.
pub async fn all_time(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
) -> Result<(PersonalRecords, PrSource), StoreError> {
    // Changes before the row: a change still listed after the row was read
    // may or may not be in it, and computing its day again is harmless.
    let changes = store.pr_changes(user, Some(exercise)).await?;
    let row = store.read_personal_records(user, exercise).await?;
    let Some(row) = row else {
        let live = live::records(store, calculator, user, exercise, TimeRange::ALL_TIME).await?;
        return Ok((live, PrSource::Live));
    };
    if changes.is_empty() {
        return Ok((row.records, PrSource::ReadModel));
    }
    let dirty = days_of(&changes);
    if !changes.iter().any(|c| c.destructive) {
        // Nothing was lowered: what the row holds still stands.
        let mut records = row.records;
        records.merge(&live_days(store, calculator, user, exercise, &dirty).await?);
        return Ok((records, PrSource::ReadModelAndLive));
    }
    match over_days(
        store,
        calculator,
        user,
        exercise,
        DaySpan::default(),
        &dirty,
    )
    .await?
    {
        Some(found) => Ok(found),
        None => Ok((
            live::records(store, calculator, user, exercise, TimeRange::ALL_TIME).await?,
            PrSource::Live,
        )),
    }
}

/// PRs of one exercise within `range`.
pub async fn range(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
    range: TimeRange,
) -> Result<(PersonalRecords, PrSource), StoreError> {
    let split = split_range(range);
    let changes = store.pr_changes(user, Some(exercise)).await?;
    let dirty: BTreeSet<i64> = days_of(&changes)
        .into_iter()
        .filter(|d| split.whole_days.contains(*d))
        .collect();
    let Some((mut records, source)) =
        over_days(store, calculator, user, exercise, split.whole_days, &dirty).await?
    else {
        let live = live::records(store, calculator, user, exercise, range).await?;
        return Ok((live, PrSource::Live));
    };
    for edge in split.edges {
        records.merge(&live::records(store, calculator, user, exercise, edge).await?);
    }
    Ok((records, source))
}

/// Rep records of one exercise, all-time or within `range`, exact like the
/// other kinds: the read model row when nothing awaits settling, else the
/// day summaries of the whole days with the unsettled days and the partial
/// edge days computed live. A row or a summary written before rep records
/// were kept holds none: then they are computed live from the sets.
pub async fn rep_records(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
    range: TimeRange,
) -> Result<RepRecords, StoreError> {
    // Changes before the row and the summaries, as in `all_time`.
    let changes = store.pr_changes(user, Some(exercise)).await?;
    if range.is_all_time() && changes.is_empty() {
        let row = store.read_personal_records(user, exercise).await?;
        if let Some(reps) = row.and_then(|r| r.reps) {
            return Ok(reps);
        }
    }
    let split = split_range(range);
    let Some(summaries) = store
        .day_summaries(user, exercise, split.whole_days)
        .await?
    else {
        return live::rep_records(store, user, exercise, range).await;
    };
    // Every unsettled day is read live, whether or not it lowered a record:
    // a day total cannot be merged into a stale one of the same day when
    // sets left it.
    let dirty: BTreeSet<i64> = days_of(&changes)
        .into_iter()
        .filter(|d| split.whole_days.contains(*d))
        .collect();
    let mut reps = RepRecords::default();
    for s in summaries.iter().filter(|s| !dirty.contains(&s.day)) {
        match &s.reps {
            Some(day) => reps.merge(day),
            None => return live::rep_records(store, user, exercise, range).await,
        }
    }
    for (first, last) in runs(&dirty) {
        let days = TimeRange {
            start: day_range(first).start,
            end: day_range(last).end,
        };
        reps.merge(&live::rep_records(store, user, exercise, days).await?);
    }
    for edge in split.edges {
        reps.merge(&live::rep_records(store, user, exercise, edge).await?);
    }
    Ok(reps)
}

fn days_of(changes: &[PrChange]) -> BTreeSet<i64> {
    changes.iter().map(|c| c.day).collect()
}

/// The records of the whole days in `span`: the stored summaries of the
/// clean days, the `dirty` ones live. `None` when the day bests are not
/// built for this key.
async fn over_days(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
    span: DaySpan,
    dirty: &BTreeSet<i64>,
) -> Result<Option<(PersonalRecords, PrSource)>, StoreError> {
    let Some(summaries) = store.day_summaries(user, exercise, span).await? else {
        return Ok(None);
    };
    let mut records = PersonalRecords::default();
    for s in summaries.iter().filter(|s| !dirty.contains(&s.day)) {
        records.merge(&s.records);
    }
    if dirty.is_empty() {
        return Ok(Some((records, PrSource::DayBests)));
    }
    records.merge(&live_days(store, calculator, user, exercise, dirty).await?);
    Ok(Some((records, PrSource::DayBestsAndLive)))
}

/// The records of the given days, computed from their entries now; runs of
/// consecutive days are read as one range.
async fn live_days(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
    days: &BTreeSet<i64>,
) -> Result<PersonalRecords, StoreError> {
    let mut records = PersonalRecords::default();
    for (first, last) in runs(days) {
        let range = TimeRange {
            start: day_range(first).start,
            end: day_range(last).end,
        };
        records.merge(&live::records(store, calculator, user, exercise, range).await?);
    }
    Ok(records)
}

/// Consecutive days as (first, last) pairs.
fn runs(days: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &day in days {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == day => *last = day,
            _ => out.push((day, day)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_days_are_read_as_runs() {
        let days: BTreeSet<i64> = [-2, -1, 0, 3, 5, 6].into();
        assert_eq!(runs(&days), [(-2, 0), (3, 3), (5, 6)]);
        assert!(runs(&BTreeSet::new()).is_empty());
    }
}
