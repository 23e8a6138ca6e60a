//! The calculations of the built-in 0.2.0 insights, without WIT or std: each
//! is an accumulator fed one entry at a time (entries arrive in pages, in any
//! order) and finished into plain results. The guests in `plugins/guests`
//! wrap them; the tests here check each against a plain, obviously correct
//! computation on random data.
#![no_std]

extern crate alloc;

pub mod calendar;
pub mod frequency;
pub mod keyed;
pub mod plateau;
pub mod rep_maxes;
pub mod volume;

/// An accumulator whose state is per exercise (or per muscle group). Finding
/// that state is split from folding an entry into it, so a caller that knows
/// which entries share an exercise (the host's pages list each page's
/// exercises once) looks it up once per exercise, not once per entry.
pub trait Fold {
    /// Where an exercise's state is: cheap to copy (an index).
    type Slot: Copy;

    /// The slot of an exercise, made on first sight.
    fn slot(&mut self, exercise: &str, name: &str, muscle_group: Option<&str>) -> Self::Slot;

    /// Folds an entry whose exercise has the slot `slot`.
    fn push_at(&mut self, slot: Self::Slot, entry: &EntryView<'_>);

    /// Folds one entry, finding its slot first.
    fn push(&mut self, entry: &EntryView<'_>) {
        let slot = self.slot(entry.exercise, entry.name, entry.muscle_group);
        self.push_at(slot, entry);
    }
}

/// Milliseconds in a day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// One entry as the calculations see it: an exercise on a date, with its
/// sets in columns (`reps[i]`, `weight_kg[i]`).
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    pub date_ms: i64,
    /// The exercise's key (lower-cased name): what the calculations group by.
    pub exercise: &'a str,
    /// Its display name ("Bench Press"), for what a person reads.
    pub name: &'a str,
    /// Its muscle group, when the catalogue knows it.
    pub muscle_group: Option<&'a str>,
    pub reps: &'a [u32],
    pub weight_kg: &'a [f64],
}

impl EntryView<'_> {
    /// The entry's sets as (reps, kg); sets without reps or with a weight
    /// that is not a finite number >= 0 are skipped.
    pub fn sets(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.reps
            .iter()
            .zip(self.weight_kg)
            .map(|(&r, &w)| (r, w))
            .filter(|&(r, w)| r > 0 && w.is_finite() && w >= 0.0)
    }
}

/// Estimated one-rep max: the weight itself for a single, Epley
/// (weight x (1 + reps / 30)) above; 0 for no reps.
pub fn e1rm(weight_kg: f64, reps: u32) -> f64 {
    match reps {
        0 => 0.0,
        1 => weight_kg,
        r => weight_kg * (1.0 + f64::from(r) / 30.0),
    }
}

/// The weight [`e1rm`] predicts for `reps` reps (its inverse).
pub fn weight_for(e1rm: f64, reps: u32) -> f64 {
    if reps <= 1 {
        e1rm
    } else {
        e1rm / (1.0 + f64::from(reps) / 30.0)
    }
}

/// Rounds to two decimals, half away from zero (no_std has no `f64::round`).
pub fn round2(v: f64) -> f64 {
    if !v.is_finite() || v.abs() > 1e13 {
        return v;
    }
    let scaled = v * 100.0;
    let t = scaled as i64 as f64;
    let r = if scaled - t >= 0.5 {
        t + 1.0
    } else if scaled - t <= -0.5 {
        t - 1.0
    } else {
        t
    };
    r / 100.0
}

/// The day number (days since 1970-01-01, UTC) of an instant.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

/// The Monday (a day number) of the ISO week of a day number.
pub fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

#[cfg(test)]
pub(crate) mod testdata {
    //! Random entries for the property tests.
    extern crate std;
    use proptest::prelude::*;
    use std::string::String;
    use std::vec::Vec;

    /// An owned entry.
    #[derive(Debug, Clone)]
    pub struct Owned {
        pub date_ms: i64,
        pub exercise: String,
        pub group: Option<String>,
        pub reps: Vec<u32>,
        pub weight_kg: Vec<f64>,
    }

    impl Owned {
        pub fn view(&self) -> super::EntryView<'_> {
            super::EntryView {
                date_ms: self.date_ms,
                exercise: &self.exercise,
                // The calculations go by the key; the name is only shown.
                name: &self.exercise,
                muscle_group: self.group.as_deref(),
                reps: &self.reps,
                weight_kg: &self.weight_kg,
            }
        }
    }

    /// The entries as given, then sorted oldest first (the host's order).
    pub fn in_both_orders<'a>(entries: impl IntoIterator<Item = &'a Owned>) -> [Vec<&'a Owned>; 2] {
        let given: Vec<&Owned> = entries.into_iter().collect();
        let mut sorted = given.clone();
        sorted.sort_by_key(|e| e.date_ms);
        [given, sorted]
    }

    /// Start of 2026 (a Thursday), so weeks straddle the year.
    pub const BASE_MS: i64 = 1_767_225_600_000;

    /// Entries over about a year: a few exercises and groups, a few sets
    /// each, weights on a 2.5 kg grid (so ties happen), some zero reps.
    pub fn entries() -> impl Strategy<Value = Vec<Owned>> {
        let entry = (
            0i64..400 * super::MS_PER_DAY,
            0usize..4,
            proptest::collection::vec((0u32..13, 0u32..80), 0..5),
        )
            .prop_map(|(offset, ex, sets)| {
                let names = ["squat", "bench press", "deadlift", "curl"];
                let groups = [Some("legs"), Some("chest"), Some("back"), None];
                Owned {
                    date_ms: BASE_MS + offset,
                    exercise: names[ex].into(),
                    group: groups[ex].map(Into::into),
                    reps: sets.iter().map(|s| s.0).collect(),
                    weight_kg: sets.iter().map(|s| f64::from(s.1) * 2.5).collect(),
                }
            });
        proptest::collection::vec(entry, 0..60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e1rm_and_its_inverse() {
        assert_eq!(e1rm(100.0, 1), 100.0);
        assert_eq!(e1rm(100.0, 0), 0.0);
        assert!((e1rm(100.0, 10) - 133.333_333).abs() < 1e-5);
        assert!((weight_for(e1rm(100.0, 5), 5) - 100.0).abs() < 1e-9);
        assert_eq!(weight_for(120.0, 1), 120.0);
    }

    #[test]
    fn rounding_and_weeks() {
        assert_eq!(round2(1.005_1), 1.01);
        assert_eq!(round2(-1.236), -1.24);
        // 1970-01-01 was a Thursday: its week starts on Monday 1969-12-29.
        assert_eq!(monday_of(0), -3);
        assert_eq!(monday_of(4), 4);
        assert_eq!(day_of(-1), -1);
    }
}
