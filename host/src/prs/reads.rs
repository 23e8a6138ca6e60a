//! Ranged PRs from day bests: one `PersonalRecords` summary per (user,
//! exercise, UTC day), maintained with the read model.
//!
//! A range `[start, end)` is split into the whole UTC days it covers, read as
//! summaries (O(days in range)), and at most two partial edge days, computed
//! from their sets. Merging is associative and commutative and the parts do
//! not overlap, so the result equals the live computation over the range
//! exactly, tie rules included.

use crate::domain::dates::TimeRange;
use crate::domain::days::{day_of, split_range};
use crate::domain::records::{PersonalRecords, PrCalculator, SetRecord};
use crate::domain::{UserId, WorkoutEntry};
use crate::prs::live;
use crate::store::{StoreError, WorkoutStore};
use std::collections::BTreeMap;

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
        let live = live::records(store, calculator, user, exercise, range).await?;
        return Ok((live, PrSource::Live));
    };
    for edge in split.edges {
        let part = live::records(store, calculator, user, exercise, edge).await?;
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
    use crate::domain::days::DAY_MS;
    use crate::domain::records::NativePrCalculator;
    use crate::domain::{EntryId, Unit, WorkoutSet};
    use crate::prs::read_model;
    use crate::store::SqliteStore;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    fn instant(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
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
                    let live = live::records(&store, &calc, user, "squat", range).await.unwrap();
                    let (from_days, source) =
                        range_records(&store, &calc, user, "squat", range).await.unwrap();
                    assert_eq!(source, PrSource::DayBests);
                    assert_eq!(from_days, live, "range {range:?}");
                }
                // A rebuild recomputes the same summaries.
                store.rebuild_day_records(user, "squat", &calc).await.unwrap();
                let all = TimeRange { start: Some(instant(0)), end: None };
                let live = live::records(&store, &calc, user, "squat", all).await.unwrap();
                assert_eq!(range_records(&store, &calc, user, "squat", all).await.unwrap().0, live);
            });
        }
    }
}
