//! Every exercise of a client at once: its name as logged, its entry stats
//! and its all-time records. When nothing awaits settling this reads the
//! client's exercise list and read model rows (O(exercises)), never the
//! history; an exercise with writes not settled yet is read exactly (day
//! bests plus its unsettled days live), as a single-exercise PR read is.

use crate::domain::UserId;
use crate::domain::dates::TimeRange;
use crate::domain::days::DaySpan;
use crate::domain::records::{PersonalRecords, PrCalculator};
use crate::domain::stats::EntryStats;
use crate::domain::suggest;
use crate::prs::settle::day_range;
use crate::prs::{live, reads};
use crate::store::{StoreError, StoredRecords, WorkoutStore};
use std::collections::{BTreeSet, HashMap};

/// One exercise of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseOverview {
    /// The key (`exerciseNameLower`).
    pub key: String,
    /// The name as last logged.
    pub name: String,
    pub stats: EntryStats,
    /// All-time records.
    pub records: PersonalRecords,
}

/// Every exercise the client has entries of, by key.
pub async fn all_time(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
) -> Result<Vec<ExerciseOverview>, StoreError> {
    let exercises = store.user_exercises(user).await?;
    // Changes before rows (see `reads::all_time`): a row read after an empty
    // change list holds every write settled before that list was read.
    let dirty: BTreeSet<String> = store
        .pr_changes(user, None)
        .await?
        .into_iter()
        .map(|c| c.exercise)
        .collect();
    let rows: HashMap<String, StoredRecords> = store
        .all_personal_records(user)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(exercises.len());
    for (key, name) in exercises {
        let settled = rows
            .get(&key)
            .filter(|_| !dirty.contains(&key))
            .and_then(|row| row.stats.map(|stats| (row.records.clone(), stats)));
        let (records, stats) = match settled {
            Some(found) => found,
            None => (
                reads::all_time(store, calculator, user, &key).await?.0,
                all_time_stats(store, user, &key).await?,
            ),
        };
        // A key may outlive its last entry for a moment.
        if !stats.is_empty() {
            out.push(ExerciseOverview {
                key,
                name,
                stats,
                records,
            });
        }
    }
    Ok(out)
}

/// An exercise as the client logged it, or the closest ones it did log.
#[derive(Debug, Clone, PartialEq)]
pub enum Named {
    /// The name as last logged.
    Logged(String),
    /// The client has no entries of it: its closest exercise names (see
    /// `domain::suggest`), best first, maybe none.
    Unknown(Vec<String>),
}

/// What the client calls the exercise keyed `exercise`: one lookup when it
/// is known, the client's exercise list (O(exercises)) when not.
pub async fn name_of(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
) -> Result<Named, StoreError> {
    if let Some(name) = store.exercise_name(user, exercise).await? {
        return Ok(Named::Logged(name));
    }
    let logged = store.user_exercises(user).await?;
    Ok(Named::Unknown(suggest::suggestions(exercise, &logged)))
}

/// The entry stats of one exercise, exact at every moment: the read model
/// row when it is settled, else the day summaries with the unsettled days
/// computed live, else (day bests not built) the entries.
pub async fn all_time_stats(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise: &str,
) -> Result<EntryStats, StoreError> {
    let changes = store.pr_changes(user, Some(exercise)).await?;
    let row = store.read_personal_records(user, exercise).await?;
    if let Some(stats) = row.and_then(|r| r.stats)
        && changes.is_empty()
    {
        return Ok(stats);
    }
    let dirty: BTreeSet<i64> = changes.iter().map(|c| c.day).collect();
    let Some(summaries) = store
        .day_summaries(user, exercise, DaySpan::default())
        .await?
    else {
        return live::stats(store, user, exercise, TimeRange::ALL_TIME).await;
    };
    let mut stats = EntryStats::default();
    for s in summaries.iter().filter(|s| !dirty.contains(&s.day)) {
        match s.stats {
            Some(day) => stats.merge(&day),
            // Written before stats were kept: nothing to sum, read it all.
            None => return live::stats(store, user, exercise, TimeRange::ALL_TIME).await,
        }
    }
    for day in dirty {
        stats.merge(&live::stats(store, user, exercise, day_range(day)).await?);
    }
    Ok(stats)
}

/// How a PR board is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardOrder {
    /// By exercise key, A to Z.
    #[default]
    Name,
    /// Most recent record first (the latest date among an exercise's
    /// records), then by key.
    LastPr,
}

impl BoardOrder {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "name" => Some(Self::Name),
            "lastPr" => Some(Self::LastPr),
            _ => None,
        }
    }

    pub const CODES: &[&str] = &["name", "lastPr"];
}

/// The date (ms) of an exercise's most recent record.
pub fn last_record_ms(records: &PersonalRecords) -> Option<i64> {
    [
        records.heaviest_set.as_ref(),
        records.highest_volume_set.as_ref(),
        records.best_one_rep_max.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.date_ms)
    .max()
}

/// One board row: an exercise's key and name and its records (all-time,
/// or those set in the window asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct BoardRow {
    pub key: String,
    pub name: String,
    pub records: PersonalRecords,
}

/// Orders board rows; rows without records go (nothing to show).
pub fn board(mut rows: Vec<BoardRow>, order: BoardOrder) -> Vec<BoardRow> {
    rows.retain(|r| !r.records.is_empty());
    match order {
        BoardOrder::Name => rows.sort_by(|a, b| a.key.cmp(&b.key)),
        BoardOrder::LastPr => rows.sort_by(|a, b| {
            last_record_ms(&b.records)
                .cmp(&last_record_ms(&a.records))
                .then_with(|| a.key.cmp(&b.key))
        }),
    }
    rows
}

/// The PR board of a client: all-time from the read model (O(exercises)),
/// or, for a window, the records set within it, from the day bests.
pub async fn pr_board(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    range: TimeRange,
    order: BoardOrder,
) -> Result<Vec<BoardRow>, StoreError> {
    let mut rows = Vec::new();
    if range.is_all_time() {
        for e in all_time(store, calculator, user).await? {
            rows.push(BoardRow {
                key: e.key,
                name: e.name,
                records: e.records,
            });
        }
    } else {
        for (key, name) in store.user_exercises(user).await? {
            let (records, _) = reads::range(store, calculator, user, &key, range).await?;
            rows.push(BoardRow { key, name, records });
        }
    }
    Ok(board(rows, order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::SetRecord;

    fn row(key: &str, days: &[i64]) -> BoardRow {
        let sets: Vec<SetRecord> = days
            .iter()
            .enumerate()
            .map(|(i, d)| SetRecord {
                entry_id: format!("{i:024x}"),
                date_ms: d * 86_400_000,
                set_index: 0,
                reps: 5,
                weight_kg: 100.0 + i as f64,
            })
            .collect();
        BoardRow {
            key: key.into(),
            name: key.to_uppercase(),
            records: PersonalRecords::compute(&sets),
        }
    }

    fn keys(rows: &[BoardRow]) -> Vec<&str> {
        rows.iter().map(|r| r.key.as_str()).collect()
    }

    #[test]
    fn boards_sort_by_name_or_latest_record_and_drop_empty_rows() {
        let rows = vec![
            row("squat", &[3]),
            row("bench press", &[1, 9]),
            row("deadlift", &[]),
            row("curl", &[3]),
        ];
        assert_eq!(
            keys(&board(rows.clone(), BoardOrder::Name)),
            ["bench press", "curl", "squat"]
        );
        // bench press's latest record is on day 9; curl and squat tie on day 3.
        assert_eq!(
            keys(&board(rows, BoardOrder::LastPr)),
            ["bench press", "curl", "squat"]
        );
        let rows = vec![row("a", &[1]), row("b", &[2])];
        assert_eq!(keys(&board(rows, BoardOrder::LastPr)), ["b", "a"]);
    }

    #[test]
    fn board_orders_parse_from_their_codes() {
        assert_eq!(BoardOrder::parse("lastPr"), Some(BoardOrder::LastPr));
        assert_eq!(BoardOrder::parse("name"), Some(BoardOrder::Name));
        assert_eq!(BoardOrder::parse("lastpr"), None);
        assert_eq!(last_record_ms(&PersonalRecords::default()), None);
    }
}
