//! Absorbing writes into the PR read model and the day bests, exactly:
//! inserts, edits (which may move sets to another exercise or day) and
//! deletes alike.
//!
//! For each (exercise, UTC day) a write touched, the day summary (records,
//! rep records and entry stats) is recomputed from that day's entries; then the
//! exercise's all-time row is recomputed from the stored day summaries;
//! then the write's [`PrChange`]s are removed. Until then, reads compute
//! those days live.
//!
//! Every step is a compare-and-swap that reads the version BEFORE the data
//! it derives from and always writes, even an unchanged value, and a row is
//! always derived from the summaries as stored at that moment (never from a
//! job's own snapshot). So when settles race, one that read older data
//! either wrote before the last one read the version, or misses: a deleted
//! record cannot come back, and a concurrent insert is not lost. (Skipping
//! an unchanged write would let a slower settle's stale write land, and a
//! summary is emptied, never deleted, for the same reason.)

use crate::domain::UserId;
use crate::domain::dates::TimeRange;
use crate::domain::days::{DAY_MS, DaySpan, day_start};
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords};
use crate::domain::stats::EntryStats;
use crate::prs::live;
use crate::store::cas::until_stored;
use crate::store::{PrChange, StoreError, WorkoutStore};
use anyhow::anyhow;
use std::collections::{BTreeMap, BTreeSet};

/// The changes of one exercise: its touched days, and whether any write
/// may have lowered a record.
#[derive(Debug, Default)]
struct Touched {
    days: BTreeSet<i64>,
    destructive: bool,
}

fn by_exercise(changes: &[PrChange]) -> BTreeMap<&str, Touched> {
    let mut out: BTreeMap<&str, Touched> = BTreeMap::new();
    for c in changes {
        let t = out.entry(c.exercise.as_str()).or_default();
        t.days.insert(c.day);
        t.destructive |= c.destructive;
    }
    out
}

/// The instants of one UTC day.
pub fn day_range(day: i64) -> TimeRange {
    TimeRange {
        start: Some(day_start(day)),
        end: Some(day_start(day) + chrono::Duration::milliseconds(DAY_MS)),
    }
}

/// Settles `changes` of `user` (see the module docs), then removes them.
/// Idempotent: settling the same changes again changes nothing.
pub async fn settle(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    changes: &[PrChange],
) -> Result<(), StoreError> {
    for (exercise, touched) in by_exercise(changes) {
        settle_exercise(store, calculator, user, exercise, &touched.days).await?;
    }
    store.clear_pr_changes(user, changes).await
}

/// Settles the touched `days` of one exercise: each day summary, then the
/// all-time row. Leaves the changes in place (see [`settle`]).
pub async fn settle_exercise(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
    days: &BTreeSet<i64>,
) -> Result<(), StoreError> {
    if !day_bests_built(store, user, exercise).await? {
        // Day bests not built yet for this key (entries from before they
        // existed): only the row, from the entries, until `prs rebuild`.
        return rebuild_row_live(store, calculator, user, exercise).await;
    }
    for day in days {
        recompute_day(store, calculator, user, exercise, *day).await?;
    }
    // Always from every day, inserts too: records could merge the touched
    // days into the row, but the entry count is a sum, and a day merged
    // twice (a redelivered job) would count twice.
    rebuild_row(store, user, exercise).await
}

/// The touched days of `changes`, by exercise.
pub fn days_by_exercise(changes: &[PrChange]) -> BTreeMap<&str, BTreeSet<i64>> {
    by_exercise(changes)
        .into_iter()
        .map(|(exercise, touched)| (exercise, touched.days))
        .collect()
}

/// False while the day bests of (user, exercise) await `prs rebuild`.
pub async fn day_bests_built(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
) -> Result<bool, StoreError> {
    // An empty span reads no summary, only whether they are built.
    let nothing = DaySpan {
        first: Some(0),
        end: Some(0),
    };
    Ok(store
        .day_summaries(user, exercise, nothing)
        .await?
        .is_some())
}

/// Recomputes one day summary from that day's entries (empty when the day
/// has none left).
pub async fn recompute_day(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
    day: i64,
) -> Result<(), StoreError> {
    let what = || format!("day bests of {user}/{exercise}, day {day}");
    until_stored(what, || async move {
        let stored = store
            .day_summaries_on(user, exercise, &[day])
            .await?
            .into_iter()
            .next();
        let sets = store.exercise_sets(user, exercise, day_range(day)).await?;
        let fresh = calculator
            .compute(&sets)
            .map_err(|e| StoreError::Internal(e.into()))?;
        let reps = RepRecords::compute(&sets);
        let stats = EntryStats::from_sets(&sets);
        // Written even when unchanged (and when empty): the version moves
        // on, so a slower settle that read the entries before this one did
        // loses its compare-and-swap instead of writing what it saw.
        store
            .write_day_summary(
                user,
                exercise,
                day,
                &fresh,
                &reps,
                &stats,
                stored.map(|s| s.version),
            )
            .await
    })
    .await
}

/// Recomputes the all-time row from every stored day summary: O(days of the
/// exercise), what a write that may have lowered a record needs.
pub async fn rebuild_row(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
) -> Result<(), StoreError> {
    until_stored(row_name(user, exercise), || async move {
        let row = store.read_personal_records(user, exercise).await?;
        let Some(summaries) = store
            .day_summaries(user, exercise, DaySpan::default())
            .await?
        else {
            return Err(StoreError::Internal(anyhow!(
                "day bests of {user}/{exercise} are not built"
            )));
        };
        let mut fresh = PersonalRecords::default();
        let mut stats = Some(EntryStats::default());
        let mut reps = Some(RepRecords::default());
        for s in &summaries {
            fresh.merge(&s.records);
            stats = stats.zip(s.stats).map(|(mut all, day)| {
                all.merge(&day);
                all
            });
            reps = reps.zip(s.reps.as_ref()).map(|(mut all, day)| {
                all.merge(day);
                all
            });
        }
        // A day summary written before entry stats or rep records were
        // kept: those from the entries (until `prs rebuild` rewrites it).
        let stats = match stats {
            Some(stats) => stats,
            None => live::stats(store, user, exercise, TimeRange::ALL_TIME).await?,
        };
        let reps = match reps {
            Some(reps) => reps,
            None => live::rep_records(store, user, exercise, TimeRange::ALL_TIME).await?,
        };
        write_row(store, user, exercise, (&fresh, &reps, &stats), row).await
    })
    .await
}

/// Recomputes the all-time row from the entries (keys without day bests).
async fn rebuild_row_live(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
) -> Result<(), StoreError> {
    until_stored(row_name(user, exercise), || async move {
        let row = store.read_personal_records(user, exercise).await?;
        // One read of the sets for both, so they describe the same entries.
        let sets = store
            .exercise_sets(user, exercise, TimeRange::ALL_TIME)
            .await?;
        let fresh = calculator
            .compute(&sets)
            .map_err(|e| StoreError::Internal(e.into()))?;
        let reps = RepRecords::compute(&sets);
        let stats = EntryStats::from_sets(&sets);
        write_row(store, user, exercise, (&fresh, &reps, &stats), row).await
    })
    .await
}

/// True when the row holds `fresh` now. Written even when unchanged, like a
/// day summary (see `recompute_day`).
async fn write_row(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
    (fresh, reps, stats): (&PersonalRecords, &RepRecords, &EntryStats),
    row: Option<crate::store::StoredRecords>,
) -> Result<bool, StoreError> {
    store
        .write_personal_records(user, exercise, fresh, reps, stats, row.map(|r| r.version))
        .await
}

fn row_name(user: UserId, exercise: &str) -> impl Fn() -> String + '_ {
    move || format!("read model of {user}/{exercise}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(exercise: &str, day: i64, destructive: bool) -> PrChange {
        PrChange {
            exercise: exercise.into(),
            day,
            op: format!("{exercise}-{day}"),
            destructive,
        }
    }

    #[test]
    fn changes_group_by_exercise_and_any_destructive_one_counts() {
        let changes = [
            change("squat", 3, false),
            change("bench press", 1, false),
            change("squat", 1, true),
            change("squat", 3, false),
        ];
        let grouped = by_exercise(&changes);
        assert_eq!(grouped.len(), 2);
        assert_eq!(
            grouped["squat"].days.iter().copied().collect::<Vec<_>>(),
            [1, 3]
        );
        assert!(grouped["squat"].destructive);
        assert!(!grouped["bench press"].destructive);
    }

    #[test]
    fn a_day_range_is_that_utc_day() {
        let r = day_range(-1);
        assert_eq!(r.start.unwrap().timestamp_millis(), -DAY_MS);
        assert_eq!(r.end.unwrap().timestamp_millis(), 0);
    }
}
