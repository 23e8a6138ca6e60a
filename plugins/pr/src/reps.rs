//! Rep records: the records that still mean something when the weight does
//! not (bodyweight work logged at 0 kg), and the rep maxes.
//!
//! - Most reps in a set: the set with the most reps, at any weight.
//! - Rep max N (N in [`REP_MAX_REPS`]): the heaviest weight among the sets of
//!   at least N reps with a load (weight above 0). A set of 5 at 100 kg also
//!   proves 3 reps at 100 kg, so it counts for the 1-, 3- and 5-rep maxes.
//! - Most reps in a day: the largest sum of the reps of one UTC day.
//!
//! Ties go to the earliest set (date, entry id, set index) as for
//! [`PersonalRecordsOf`](crate::PersonalRecordsOf), and to the earliest day
//! for the day total.
//!
//! The set kinds fold one set at a time. The day total does not: a day's sum
//! needs every set of that day. So [`RepRecordsOf::compute`] must be given
//! whole days (or the part of a day a range covers), and [`RepRecordsOf::merge`]
//! takes the larger total of two computations; merging is commutative,
//! associative and idempotent, and it equals computing over the union when
//! the two computations cover different days, or when one covers a superset
//! of the other's sets of a shared day (a day read again after inserts).

use crate::SetRecordOf;
use alloc::collections::BTreeMap;
use core::cmp::Ordering;

/// The rep counts a rep max is kept for.
pub const REP_MAX_REPS: [u32; 4] = [1, 3, 5, 10];

/// Milliseconds in a UTC day.
const DAY_MS: i64 = 86_400_000;

/// The UTC day of an instant: days since the Unix epoch, floored.
pub fn day_of(date_ms: i64) -> i64 {
    date_ms.div_euclid(DAY_MS)
}

/// The reps of one UTC day of one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayReps {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub reps: u64,
}

impl DayReps {
    /// True when `self` should replace `current`: more reps, or as many on
    /// an earlier day.
    fn beats(&self, current: &Self) -> bool {
        match self.reps.cmp(&current.reps) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => self.day < current.day,
        }
    }
}

/// The rep records of one user for one exercise, all-time or in a range.
#[derive(Debug, Clone, PartialEq)]
pub struct RepRecordsOf<Id> {
    pub most_reps_set: Option<SetRecordOf<Id>>,
    /// The rep max of each of [`REP_MAX_REPS`], in that order.
    pub rep_maxes: [Option<SetRecordOf<Id>>; REP_MAX_REPS.len()],
    pub most_reps_day: Option<DayReps>,
}

/// Rep records naming their entries by the id strings.
pub type RepRecords = RepRecordsOf<alloc::string::String>;

impl<Id> Default for RepRecordsOf<Id> {
    fn default() -> Self {
        Self {
            most_reps_set: None,
            rep_maxes: [None, None, None, None],
            most_reps_day: None,
        }
    }
}

impl<Id: Ord> SetRecordOf<Id> {
    /// True when this set should replace `current` as the most-reps set.
    fn has_more_reps_than(&self, current: &Self) -> bool {
        match self.reps.cmp(&current.reps) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => self.tie_order(current) == Ordering::Less,
        }
    }

    /// True when this set counts for the `reps`-rep max.
    pub fn proves_rep_max(&self, reps: u32) -> bool {
        self.reps >= reps && self.weight_kg > 0.0
    }

    /// True when this set should replace `current` as a rep max (both
    /// qualifying): heavier, or as heavy and earlier.
    fn is_heavier_than(&self, current: &Self) -> bool {
        match self.weight_kg.partial_cmp(&current.weight_kg) {
            Some(Ordering::Greater) => true,
            Some(Ordering::Less) => false,
            _ => self.tie_order(current) == Ordering::Less,
        }
    }
}

fn keep_better<Id: Clone>(
    slot: &mut Option<SetRecordOf<Id>>,
    candidate: &SetRecordOf<Id>,
    better: impl Fn(&SetRecordOf<Id>, &SetRecordOf<Id>) -> bool,
) {
    let replace = match slot {
        None => true,
        Some(current) => better(candidate, current),
    };
    if replace {
        *slot = Some(candidate.clone());
    }
}

impl<Id: Ord + Clone> RepRecordsOf<Id> {
    /// Rep records computed from scratch over `sets` (whole days: see the
    /// module docs).
    pub fn compute<'a>(sets: impl IntoIterator<Item = &'a SetRecordOf<Id>>) -> Self
    where
        Id: 'a,
    {
        let mut records = Self::default();
        let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
        for set in sets {
            records.fold_set(set);
            *per_day.entry(day_of(set.date_ms)).or_default() += u64::from(set.reps);
        }
        for (day, reps) in per_day {
            records.merge_day(DayReps { day, reps });
        }
        records
    }

    /// Folds one set into the set kinds (not the day total).
    fn fold_set(&mut self, set: &SetRecordOf<Id>) {
        keep_better(
            &mut self.most_reps_set,
            set,
            SetRecordOf::has_more_reps_than,
        );
        for (slot, reps) in self.rep_maxes.iter_mut().zip(REP_MAX_REPS) {
            if set.proves_rep_max(reps) {
                keep_better(slot, set, SetRecordOf::is_heavier_than);
            }
        }
    }

    fn merge_day(&mut self, day: DayReps) {
        let replace = match &self.most_reps_day {
            None => true,
            Some(current) => day.beats(current),
        };
        if replace {
            self.most_reps_day = Some(day);
        }
    }

    /// Merges the rep records of other sets (see the module docs for when
    /// this equals computing over the union).
    pub fn merge(&mut self, other: &Self) {
        // Every set `other` holds is one of its sets: folding each where it
        // qualifies is what computing over the union would have done.
        for set in other
            .most_reps_set
            .iter()
            .chain(other.rep_maxes.iter().flatten())
        {
            self.fold_set(set);
        }
        if let Some(day) = other.most_reps_day {
            self.merge_day(day);
        }
    }

    /// The `reps`-rep max, if `reps` is one of [`REP_MAX_REPS`].
    pub fn rep_max(&self, reps: u32) -> Option<&SetRecordOf<Id>> {
        let i = REP_MAX_REPS.iter().position(|&r| r == reps)?;
        self.rep_maxes[i].as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.most_reps_set.is_none()
            && self.rep_maxes.iter().all(Option::is_none)
            && self.most_reps_day.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SetRecord;
    use alloc::format;
    use alloc::vec::Vec;

    fn set(id: u32, date_ms: i64, idx: u32, reps: u32, kg: f64) -> SetRecord {
        SetRecord {
            entry_id: format!("{id:024x}"),
            date_ms,
            set_index: idx,
            reps,
            weight_kg: kg,
        }
    }

    const DAY: i64 = DAY_MS;

    #[test]
    fn days_are_utc_days_floored() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY - 1), 0);
        assert_eq!(day_of(DAY), 1);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn most_reps_set_counts_reps_at_any_weight() {
        let sets = [
            set(1, 10, 0, 8, 0.0),
            set(1, 10, 1, 12, 0.0),
            set(2, 20, 0, 5, 100.0),
        ];
        let r = RepRecords::compute(&sets);
        assert_eq!(r.most_reps_set.as_ref(), Some(&sets[1]));
    }

    #[test]
    fn a_rep_max_is_the_heaviest_loaded_set_of_at_least_that_many_reps() {
        let sets = [
            set(1, 10, 0, 5, 100.0), // proves 1, 3 and 5 reps at 100
            set(1, 10, 1, 1, 110.0), // the 1-rep max
            set(2, 20, 0, 10, 60.0), // the only 10
            set(2, 20, 1, 20, 0.0),  // no load: no rep max
            set(3, 30, 0, 2, 105.0), // 2 reps: only the 1-rep max, and 110 is heavier
        ];
        let r = RepRecords::compute(&sets);
        assert_eq!(r.rep_max(1), Some(&sets[1]));
        assert_eq!(r.rep_max(3), Some(&sets[0]));
        assert_eq!(r.rep_max(5), Some(&sets[0]));
        assert_eq!(r.rep_max(10), Some(&sets[2]));
        assert_eq!(r.rep_max(2), None);
        assert_eq!(r.most_reps_set.as_ref(), Some(&sets[3]));
    }

    #[test]
    fn bodyweight_sets_have_no_rep_max() {
        let sets = [set(1, 10, 0, 12, 0.0), set(1, 10, 1, 10, 0.0)];
        let r = RepRecords::compute(&sets);
        assert!(r.rep_maxes.iter().all(Option::is_none));
        assert_eq!(r.most_reps_set.as_ref(), Some(&sets[0]));
        assert_eq!(r.most_reps_day, Some(DayReps { day: 0, reps: 22 }));
    }

    #[test]
    fn most_reps_in_a_day_sums_each_utc_day() {
        let sets = [
            set(1, 10, 0, 10, 0.0),
            set(2, DAY - 1, 0, 8, 0.0), // day 0: 18
            set(3, DAY, 0, 15, 0.0),    // day 1: 15
            set(4, 3 * DAY, 0, 9, 0.0),
            set(4, 3 * DAY, 1, 9, 20.0), // day 3: 18, ties day 0: day 0 wins
        ];
        let r = RepRecords::compute(&sets);
        assert_eq!(r.most_reps_day, Some(DayReps { day: 0, reps: 18 }));
        let later_only = RepRecords::compute(&sets[2..]);
        assert_eq!(later_only.most_reps_day, Some(DayReps { day: 3, reps: 18 }));
    }

    #[test]
    fn ties_go_to_earliest_date_then_lowest_id_then_earlier_set() {
        let later = set(1, 20, 0, 5, 100.0);
        let earlier = set(9, 10, 3, 5, 100.0);
        let same_date_higher_id = set(10, 10, 0, 5, 100.0);
        let same_entry_later_set = set(9, 10, 4, 5, 100.0);
        for order in [
            [
                &later,
                &earlier,
                &same_date_higher_id,
                &same_entry_later_set,
            ],
            [
                &same_entry_later_set,
                &same_date_higher_id,
                &later,
                &earlier,
            ],
        ] {
            let r = RepRecords::compute(order);
            assert_eq!(r.most_reps_set.as_ref(), Some(&earlier));
            for reps in [1, 3, 5] {
                assert_eq!(r.rep_max(reps), Some(&earlier), "{reps}");
            }
            assert_eq!(r.rep_max(10), None);
        }
    }

    #[test]
    fn empty_input_has_no_rep_records() {
        assert!(RepRecords::compute(&[]).is_empty());
        assert!(!RepRecords::compute(&[set(1, 0, 0, 1, 0.0)]).is_empty());
    }

    fn sample() -> Vec<SetRecord> {
        (0..60u32)
            .map(|i| {
                set(
                    i % 7,
                    i64::from(i % 5) * DAY + i64::from(i % 3),
                    i % 3,
                    1 + (i * 7) % 12,
                    f64::from((i * 37) % 150) * f64::from(i % 4 != 0),
                )
            })
            .collect()
    }

    #[test]
    fn merging_disjoint_days_equals_compute_over_the_union() {
        let sets = sample();
        let whole = RepRecords::compute(&sets);
        for cut_day in 0..=5 {
            let (before, after): (Vec<_>, Vec<_>) = sets
                .iter()
                .cloned()
                .partition(|s| day_of(s.date_ms) < cut_day);
            let mut left = RepRecords::compute(&before);
            let right = RepRecords::compute(&after);
            left.merge(&right);
            assert_eq!(left, whole, "cut at day {cut_day}");
            // Idempotent, and commutative.
            left.merge(&right);
            assert_eq!(left, whole);
            let mut other_way = right.clone();
            other_way.merge(&RepRecords::compute(&before));
            assert_eq!(other_way, whole);
        }
    }

    #[test]
    fn merging_a_day_read_again_after_inserts_equals_compute_over_all() {
        let sets = sample();
        let whole = RepRecords::compute(&sets);
        // What a read model holds before the last sets of day 2 arrived,
        // merged with day 2 read again in full.
        let day2: Vec<SetRecord> = sets
            .iter()
            .filter(|s| day_of(s.date_ms) == 2)
            .cloned()
            .collect();
        let older: Vec<SetRecord> = sets
            .iter()
            .filter(|s| !(day_of(s.date_ms) == 2 && s.entry_id == day2[0].entry_id))
            .cloned()
            .collect();
        let mut merged = RepRecords::compute(&older);
        merged.merge(&RepRecords::compute(&day2));
        assert_eq!(merged, whole);
    }
}
