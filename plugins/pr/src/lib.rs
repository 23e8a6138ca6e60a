//! Personal-record calculations, shared by the host (natively) and the PR
//! WebAssembly component.
//!
//! Everything is computed in kilograms at full precision; rounding belongs to
//! presentation. Ties go to the earliest date, then the lowest entry id (the
//! entry created first), then the earlier set within the entry.
//!
//! The calculations are generic over how a set names its entry ([`SetRecordOf`],
//! [`PersonalRecordsOf`]): the host uses owned `String` ids ([`SetRecord`],
//! [`PersonalRecords`]); the component borrows the ids the host sent once per
//! batch, so folding a set allocates nothing. Any id type that orders like the
//! id strings gives the same records.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::string::String;
use core::cmp::Ordering;

mod reps;
pub use reps::{DayReps, REP_MAX_REPS, RepRecords, RepRecordsOf, day_of};

/// One logged set, with what is needed to rank it and to point back at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetRecordOf<Id> {
    /// The entry's id, 24 lower-case hex characters (compares like the ObjectId bytes).
    pub entry_id: Id,
    /// The entry's date, milliseconds since the Unix epoch (UTC).
    pub date_ms: i64,
    /// Position of the set inside its entry, from 0.
    pub set_index: u32,
    pub reps: u32,
    pub weight_kg: f64,
}

/// A set naming its entry by the id string: what the host stores and serves.
pub type SetRecord = SetRecordOf<String>;

impl<Id: Ord> SetRecordOf<Id> {
    pub fn volume_kg(&self) -> f64 {
        volume(self.reps, self.weight_kg)
    }

    pub fn one_rep_max_kg(&self) -> f64 {
        epley_one_rep_max(self.weight_kg, self.reps)
    }

    /// Order of precedence among sets with equal metric values: earlier wins.
    fn tie_order(&self, other: &Self) -> Ordering {
        self.date_ms
            .cmp(&other.date_ms)
            .then_with(|| self.entry_id.cmp(&other.entry_id))
            .then_with(|| self.set_index.cmp(&other.set_index))
    }
}

/// Volume of a set: reps x weight (kg).
pub fn volume(reps: u32, weight_kg: f64) -> f64 {
    f64::from(reps) * weight_kg
}

/// Estimated one-rep max by Epley: weight x (1 + reps / 30), in kg.
pub fn epley_one_rep_max(weight_kg: f64, reps: u32) -> f64 {
    weight_kg * (1.0 + f64::from(reps) / 30.0)
}

/// The three kinds of personal record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    HeaviestSet,
    HighestVolumeSet,
    BestOneRepMax,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [
        RecordKind::HeaviestSet,
        RecordKind::HighestVolumeSet,
        RecordKind::BestOneRepMax,
    ];

    /// The value this kind ranks sets by (kg or kg x reps).
    pub fn metric<Id: Ord>(self, set: &SetRecordOf<Id>) -> f64 {
        match self {
            RecordKind::HeaviestSet => set.weight_kg,
            RecordKind::HighestVolumeSet => set.volume_kg(),
            RecordKind::BestOneRepMax => set.one_rep_max_kg(),
        }
    }

    /// True when `candidate` should replace `current` as this kind's record.
    pub fn beats<Id: Ord>(self, candidate: &SetRecordOf<Id>, current: &SetRecordOf<Id>) -> bool {
        let (a, b) = (self.metric(candidate), self.metric(current));
        match a.partial_cmp(&b) {
            Some(Ordering::Greater) => true,
            Some(Ordering::Less) => false,
            // Equal (or incomparable, which validated input never produces).
            _ => candidate.tie_order(current) == Ordering::Less,
        }
    }
}

/// The all-time (or in-range) records of one user for one exercise.
///
/// Folding is commutative, associative and idempotent: folding the same sets
/// twice, in any order or split into any batches, gives the same records. That
/// is what lets the read model be refreshed incrementally and never regress.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalRecordsOf<Id> {
    pub heaviest_set: Option<SetRecordOf<Id>>,
    pub highest_volume_set: Option<SetRecordOf<Id>>,
    pub best_one_rep_max: Option<SetRecordOf<Id>>,
}

/// Records naming their entries by the id strings: what the host stores and serves.
pub type PersonalRecords = PersonalRecordsOf<String>;

impl<Id> Default for PersonalRecordsOf<Id> {
    fn default() -> Self {
        Self {
            heaviest_set: None,
            highest_volume_set: None,
            best_one_rep_max: None,
        }
    }
}

impl<Id: Ord + Clone> PersonalRecordsOf<Id> {
    /// Records computed from scratch over `sets`.
    pub fn compute<'a>(sets: impl IntoIterator<Item = &'a SetRecordOf<Id>>) -> Self
    where
        Id: 'a,
    {
        let mut records = Self::default();
        for set in sets {
            records.fold(set);
        }
        records
    }

    pub fn get(&self, kind: RecordKind) -> Option<&SetRecordOf<Id>> {
        match kind {
            RecordKind::HeaviestSet => self.heaviest_set.as_ref(),
            RecordKind::HighestVolumeSet => self.highest_volume_set.as_ref(),
            RecordKind::BestOneRepMax => self.best_one_rep_max.as_ref(),
        }
    }

    fn slot(&mut self, kind: RecordKind) -> &mut Option<SetRecordOf<Id>> {
        match kind {
            RecordKind::HeaviestSet => &mut self.heaviest_set,
            RecordKind::HighestVolumeSet => &mut self.highest_volume_set,
            RecordKind::BestOneRepMax => &mut self.best_one_rep_max,
        }
    }

    /// Folds one set into the records.
    pub fn fold(&mut self, set: &SetRecordOf<Id>) {
        for kind in RecordKind::ALL {
            let slot = self.slot(kind);
            let replace = match slot {
                None => true,
                Some(current) => kind.beats(set, current),
            };
            if replace {
                *slot = Some(set.clone());
            }
        }
    }

    /// Folds every record of `other` into `self` (the records of a union of sets).
    pub fn merge(&mut self, other: &Self) {
        for kind in RecordKind::ALL {
            if let Some(candidate) = other.get(kind) {
                let slot = self.slot(kind);
                let replace = match slot {
                    None => true,
                    Some(current) => kind.beats(candidate, current),
                };
                if replace {
                    *slot = Some(candidate.clone());
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.heaviest_set.is_none()
            && self.highest_volume_set.is_none()
            && self.best_one_rep_max.is_none()
    }
}

impl<Id> PersonalRecordsOf<Id> {
    /// The same records with their entry ids mapped by `f` (every other value
    /// kept), e.g. from borrowed ids back to owned ones.
    pub fn map_ids<T>(self, mut f: impl FnMut(Id) -> T) -> PersonalRecordsOf<T> {
        let mut map = |s: Option<SetRecordOf<Id>>| {
            s.map(|s| SetRecordOf {
                entry_id: f(s.entry_id),
                date_ms: s.date_ms,
                set_index: s.set_index,
                reps: s.reps,
                weight_kg: s.weight_kg,
            })
        };
        PersonalRecordsOf {
            heaviest_set: map(self.heaviest_set),
            highest_volume_set: map(self.highest_volume_set),
            best_one_rep_max: map(self.best_one_rep_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn epley_matches_the_documented_example() {
        let e = epley_one_rep_max(100.0, 1);
        assert!((e - 103.333_333_333).abs() < 1e-6, "{e}");
        assert_eq!(epley_one_rep_max(90.0, 0), 90.0);
        assert!((epley_one_rep_max(110.0, 3) - 121.0).abs() < 1e-9);
    }

    #[test]
    fn volume_is_reps_times_kg() {
        assert_eq!(volume(10, 90.0), 900.0);
        assert_eq!(volume(1, 0.0), 0.0);
    }

    #[test]
    fn picks_each_record_independently() {
        let sets = [
            set(1, 10, 0, 3, 110.0), // heaviest, e1RM 121
            set(1, 10, 1, 10, 90.0), // volume 900, e1RM 120
            set(2, 20, 0, 5, 100.0), // volume 500
        ];
        let r = PersonalRecords::compute(&sets);
        assert_eq!(r.heaviest_set.as_ref().unwrap(), &sets[0]);
        assert_eq!(r.highest_volume_set.as_ref().unwrap(), &sets[1]);
        assert_eq!(r.best_one_rep_max.as_ref().unwrap(), &sets[0]);
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
            let r = PersonalRecords::compute(order);
            assert_eq!(r.heaviest_set.as_ref(), Some(&earlier));
            assert_eq!(r.highest_volume_set.as_ref(), Some(&earlier));
            assert_eq!(r.best_one_rep_max.as_ref(), Some(&earlier));
        }
    }

    #[test]
    fn borrowed_ids_give_the_same_records_as_owned_ones() {
        let sets: Vec<SetRecord> = (0..40u32)
            .map(|i| set(i % 7, i64::from(i % 3), i % 2, 1 + i % 4, f64::from(i % 5)))
            .collect();
        let borrowed: Vec<SetRecordOf<&str>> = sets
            .iter()
            .map(|s| SetRecordOf {
                entry_id: s.entry_id.as_str(),
                date_ms: s.date_ms,
                set_index: s.set_index,
                reps: s.reps,
                weight_kg: s.weight_kg,
            })
            .collect();
        let owned = PersonalRecords::compute(&sets);
        let from_borrowed = PersonalRecordsOf::compute(&borrowed).map_ids(String::from);
        assert_eq!(from_borrowed, owned);
    }

    #[test]
    fn empty_input_has_no_records() {
        let r = PersonalRecords::compute(&[]);
        assert!(r.is_empty());
    }

    #[test]
    fn merge_equals_compute_over_the_union_in_any_split() {
        let sets: Vec<SetRecord> = (0..40u32)
            .map(|i| {
                set(
                    i % 7,
                    i64::from(i % 5),
                    i % 3,
                    1 + (i * 7) % 12,
                    f64::from((i * 37) % 150),
                )
            })
            .collect();
        let whole = PersonalRecords::compute(&sets);
        for split in [0, 1, 13, 39, 40] {
            let mut left = PersonalRecords::compute(&sets[..split]);
            let right = PersonalRecords::compute(&sets[split..]);
            left.merge(&right);
            assert_eq!(left, whole, "split at {split}");
            // Idempotent: merging the same records again changes nothing.
            left.merge(&right);
            assert_eq!(left, whole);
        }
    }
}
