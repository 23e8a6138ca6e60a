//! Ranged PRs from day bests: one `PersonalRecords` summary per (user,
//! exercise, UTC day), maintained with the read model.
//!
//! A range `[start, end)` is split into the whole UTC days it covers, read as
//! summaries (O(days in range)), and at most two partial edge days, computed
//! from their sets. Merging is associative and commutative and the parts do
//! not overlap, so the result equals the live computation over the range
//! exactly, tie rules included.

use crate::domain::dates::TimeRange;
use crate::domain::{UserId, WorkoutEntry};
use crate::prs::PrCalculator;
use crate::store::{DaySpan, StoreError, WorkoutStore};
use chrono::{DateTime, Utc};
use everfit_pr::{PersonalRecords, SetRecord};
use std::collections::BTreeMap;

pub const DAY_MS: i64 = 86_400_000;

/// Where a PR response came from (the `x-pr-source` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrSource {
    /// The all-time read model row.
    ReadModel,
    /// Day summaries for whole days, sets for partial edge days.
    DayBests,
    /// Every matching set, read and ranked now.
    Live,
}

impl PrSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PrSource::ReadModel => "read-model",
            PrSource::DayBests => "day-bests",
            PrSource::Live => "live",
        }
    }
}

/// The UTC day of an instant in ms (floor, also before 1970).
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// A range cut into whole days and the partial days at its edges.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSplit {
    pub whole_days: DaySpan,
    /// Sub-ranges not covered by whole days (0, 1 or 2 of them).
    pub edges: Vec<TimeRange>,
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("range bounds are valid instants")
}

/// Splits `[start, end)` into the whole UTC days inside it and the rest.
pub fn split_range(range: TimeRange) -> RangeSplit {
    let start = range.start.map(|t| t.timestamp_millis());
    let end = range.end.map(|t| t.timestamp_millis());
    // First day whose midnight is >= start; days before the one holding `end`.
    let first = start.map(|s| day_of(s + DAY_MS - 1));
    let last_end = end.map(day_of);
    if let (Some(f), Some(e)) = (first, last_end)
        && f >= e
    {
        // No whole day inside: the range is one (or two) partial days.
        return RangeSplit {
            whole_days: DaySpan {
                first: Some(f),
                end: Some(f),
            },
            edges: vec![range],
        };
    }
    let mut edges = Vec::new();
    if let (Some(s), Some(f)) = (start, first)
        && s < f * DAY_MS
    {
        edges.push(TimeRange {
            start: range.start,
            end: Some(instant(f * DAY_MS)),
        });
    }
    if let (Some(e), Some(l)) = (end, last_end)
        && l * DAY_MS < e
    {
        edges.push(TimeRange {
            start: Some(instant(l * DAY_MS)),
            end: range.end,
        });
    }
    RangeSplit {
        whole_days: DaySpan {
            first,
            end: last_end,
        },
        edges,
    }
}

/// PRs over `range`: from day bests when the store has them for this
/// (user, exercise), live otherwise.
pub async fn range_records(
    store: &dyn WorkoutStore,
    calculator: &dyn PrCalculator,
    user: UserId,
    exercise: &str,
    range: TimeRange,
) -> Result<(PersonalRecords, PrSource), StoreError> {
    let split = split_range(range);
    let Some(mut records) = store.day_records(user, exercise, split.whole_days).await? else {
        let live = store
            .live_personal_records(user, exercise, range, calculator)
            .await?;
        return Ok((live, PrSource::Live));
    };
    for edge in split.edges {
        let part = store
            .live_personal_records(user, exercise, edge, calculator)
            .await?;
        records.merge(&part);
    }
    Ok((records, PrSource::DayBests))
}

/// The sets of `entries` grouped by (user, exercise) and then by UTC day.
pub fn sets_by_key_and_day(
    entries: &[WorkoutEntry],
) -> BTreeMap<(UserId, &str), BTreeMap<i64, Vec<SetRecord>>> {
    let mut out: BTreeMap<(UserId, &str), BTreeMap<i64, Vec<SetRecord>>> = BTreeMap::new();
    for entry in entries {
        out.entry((entry.user_id, entry.exercise_name_lower.as_str()))
            .or_default()
            .entry(day_of(entry.date.timestamp_millis()))
            .or_default()
            .extend(entry.set_records());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntryId, Unit, WorkoutSet};
    use crate::prs::{NativePrCalculator, read_model};
    use crate::store::SqliteStore;
    use proptest::prelude::*;

    fn t(ms: i64) -> Option<DateTime<Utc>> {
        Some(instant(ms))
    }

    #[test]
    fn splits_into_whole_days_and_edges() {
        let d = DAY_MS;
        // Midnight to midnight: whole days only.
        let s = split_range(TimeRange {
            start: t(10 * d),
            end: t(13 * d),
        });
        assert_eq!(
            s.whole_days,
            DaySpan {
                first: Some(10),
                end: Some(13)
            }
        );
        assert!(s.edges.is_empty());
        // Mid-day edges.
        let s = split_range(TimeRange {
            start: t(10 * d + 5),
            end: t(13 * d + 7),
        });
        assert_eq!(
            s.whole_days,
            DaySpan {
                first: Some(11),
                end: Some(13)
            }
        );
        assert_eq!(
            s.edges,
            vec![
                TimeRange {
                    start: t(10 * d + 5),
                    end: t(11 * d)
                },
                TimeRange {
                    start: t(13 * d),
                    end: t(13 * d + 7)
                },
            ]
        );
        // Inside one day, and across one midnight without a whole day.
        for (a, b) in [(10 * d + 5, 10 * d + 9), (10 * d + 5, 11 * d + 9)] {
            let range = TimeRange {
                start: t(a),
                end: t(b),
            };
            let s = split_range(range);
            assert_eq!(s.edges, vec![range]);
        }
        // Open sides and days before 1970.
        let s = split_range(TimeRange {
            start: None,
            end: t(-d - 1),
        });
        assert_eq!(
            s.whole_days,
            DaySpan {
                first: None,
                end: Some(-2)
            }
        );
        assert_eq!(s.edges.len(), 1);
        assert!(split_range(TimeRange::ALL_TIME).edges.is_empty());
    }

    /// (day 0..6, ms into the day from a few boundary-heavy choices, entry
    /// id byte, sets of (reps, kg)): small domains so ties are frequent.
    type ArbEntry = (i64, i64, u8, Vec<(u32, u32)>);

    fn arb_entry() -> impl Strategy<Value = ArbEntry> {
        (
            0i64..6,
            prop_oneof![Just(0i64), Just(1), Just(DAY_MS - 1), 0..DAY_MS],
            any::<u8>(),
            prop::collection::vec((1u32..6, 0u32..6), 1..4),
        )
    }

    fn arb_bound() -> impl Strategy<Value = Option<i64>> {
        let base = 1_780_000_000_000 / DAY_MS * DAY_MS - 2 * DAY_MS;
        prop_oneof![
            1 => Just(None),
            2 => (0i64..11).prop_map(move |h| Some(base + h * DAY_MS)),
            4 => (0i64..10 * DAY_MS).prop_map(move |o| Some(base + o)),
        ]
    }

    fn to_entries(raw: &[ArbEntry], user: UserId) -> Vec<WorkoutEntry> {
        let base = 1_780_000_000_000 / DAY_MS * DAY_MS;
        raw.iter()
            .enumerate()
            .map(|(i, (day, ms, id_byte, sets))| {
                let date = instant(base + day * DAY_MS + ms);
                // Ids ordered by the random byte, unique by the position.
                let id: EntryId = format!("{id_byte:02x}{i:022x}").parse().unwrap();
                WorkoutEntry {
                    id,
                    user_id: user,
                    exercise_name: "Squat".into(),
                    exercise_name_lower: "squat".into(),
                    date,
                    sets: sets
                        .iter()
                        .map(|(reps, kg)| WorkoutSet::new(*reps, f64::from(*kg * 10), Unit::KG))
                        .collect(),
                    idempotency_key: None,
                    created_at: date,
                    updated_at: date,
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

        /// Range PRs from day bests equal the live computation over the
        /// same sets, for any data folded in any batches and any range.
        #[test]
        fn day_bests_equal_live_computation(
            raw in prop::collection::vec(arb_entry(), 0..30),
            batch in 1usize..8,
            ranges in prop::collection::vec((arb_bound(), arb_bound()), 1..8),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
                let calc = NativePrCalculator;
                let user: UserId = "665f1c2b8a1e4d0012345678".parse().unwrap();
                let entries = to_entries(&raw, user);
                for chunk in entries.chunks(batch) {
                    store.insert_entries(chunk).await.unwrap();
                    read_model::fold_entries(&store, &calc, chunk).await.unwrap();
                }
                for (a, b) in &ranges {
                    let (start, end) = match (a, b) {
                        (Some(a), Some(b)) if a > b => (Some(*b), Some(*a)),
                        _ => (*a, *b),
                    };
                    let range = TimeRange { start: start.map(instant), end: end.map(instant) };
                    let live = store.live_personal_records(user, "squat", range, &calc).await.unwrap();
                    let (from_days, source) =
                        range_records(&store, &calc, user, "squat", range).await.unwrap();
                    assert_eq!(source, PrSource::DayBests);
                    assert_eq!(from_days, live, "range {range:?}");
                }
                // A rebuild recomputes the same summaries.
                store.rebuild_day_records(user, "squat", &calc).await.unwrap();
                let all = TimeRange { start: Some(instant(0)), end: None };
                let live = store.live_personal_records(user, "squat", all, &calc).await.unwrap();
                assert_eq!(range_records(&store, &calc, user, "squat", all).await.unwrap().0, live);
            });
        }
    }
}
