//! Entries held as columns: what an insight reads. A client's whole history
//! in a few flat vectors costs a handful of allocations instead of one per
//! entry and per set, and crosses into a plugin's page as it is.

use super::units::Unit;
use super::{EntryId, WorkoutEntry, WorkoutSet};
use std::collections::HashMap;
use std::ops::Range;

/// An exercise as some entries logged it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoggedExercise {
    /// The name as logged ("Bench Press").
    pub name: String,
    /// The exercise's key (`exerciseNameLower`).
    pub key: String,
}

/// Entries in (date, id) order as given, in columns. Entry `i` is
/// `ids()[i]`, `dates_ms()[i]`, `exercises()[exercise_of()[i]]`, and its
/// sets are the set columns over `set_range(i)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryColumns {
    ids: Vec<EntryId>,
    dates_ms: Vec<i64>,
    exercise_of: Vec<u32>,
    exercises: Vec<LoggedExercise>,
    exercise_index: HashMap<LoggedExercise, u32>,
    set_ends: Vec<u32>,
    reps: Vec<u32>,
    weights: Vec<f64>,
    weights_kg: Vec<f64>,
    units: Vec<Unit>,
}

/// The columns of [`EntryColumns`], as a store keeps them (see
/// [`EntryColumns::from_parts`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnParts {
    pub ids: Vec<EntryId>,
    pub dates_ms: Vec<i64>,
    pub exercise_of: Vec<u32>,
    pub exercises: Vec<LoggedExercise>,
    pub set_ends: Vec<u32>,
    pub reps: Vec<u32>,
    pub weights: Vec<f64>,
    pub weights_kg: Vec<f64>,
    pub units: Vec<Unit>,
}

impl EntryColumns {
    /// `entries` in the order given.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a WorkoutEntry>) -> Self {
        let mut columns = Self::default();
        for e in entries {
            columns.push(e);
        }
        columns
    }

    /// Checks the parts hang together (every index in bounds, set ends
    /// rising to the number of sets) and takes them.
    pub fn from_parts(parts: ColumnParts) -> Result<Self, String> {
        let n = parts.ids.len();
        if parts.dates_ms.len() != n || parts.exercise_of.len() != n || parts.set_ends.len() != n {
            return Err(format!("entry columns of unequal lengths (ids: {n})"));
        }
        let sets = parts.reps.len();
        if parts.weights.len() != sets
            || parts.weights_kg.len() != sets
            || parts.units.len() != sets
        {
            return Err(format!("set columns of unequal lengths (reps: {sets})"));
        }
        if parts
            .exercise_of
            .iter()
            .any(|&x| x as usize >= parts.exercises.len())
        {
            return Err("an entry refers to an exercise that is not listed".into());
        }
        if parts.set_ends.windows(2).any(|w| w[0] > w[1])
            || parts.set_ends.last().map_or(0, |&e| e as usize) != sets
        {
            return Err("set ends do not rise to the number of sets".into());
        }
        let exercise_index = parts
            .exercises
            .iter()
            .enumerate()
            .map(|(i, x)| (x.clone(), i as u32))
            .collect::<HashMap<_, _>>();
        if exercise_index.len() != parts.exercises.len() {
            return Err("an exercise is listed twice".into());
        }
        Ok(Self {
            ids: parts.ids,
            dates_ms: parts.dates_ms,
            exercise_of: parts.exercise_of,
            exercises: parts.exercises,
            exercise_index,
            set_ends: parts.set_ends,
            reps: parts.reps,
            weights: parts.weights,
            weights_kg: parts.weights_kg,
            units: parts.units,
        })
    }

    /// Appends one entry.
    pub fn push(&mut self, e: &WorkoutEntry) {
        let exercise = self.exercise_id(&e.exercise_name, &e.exercise_name_lower);
        self.ids.push(e.id);
        self.dates_ms.push(e.date.timestamp_millis());
        self.exercise_of.push(exercise);
        for s in &e.sets {
            self.reps.push(s.reps);
            self.weights.push(s.weight);
            self.weights_kg.push(s.weight_kg);
            self.units.push(s.unit);
        }
        self.set_ends.push(self.reps.len() as u32);
    }

    /// Appends every entry of `other`, column by column.
    pub fn append(&mut self, other: &EntryColumns) {
        // `other` lists its exercises in order of first use, so registering
        // them in that order keeps this one's order of first use too.
        let remap: Vec<u32> = other
            .exercises
            .iter()
            .map(|x| self.exercise_id(&x.name, &x.key))
            .collect();
        let offset = self.reps.len() as u32;
        self.ids.extend_from_slice(&other.ids);
        self.dates_ms.extend_from_slice(&other.dates_ms);
        self.exercise_of
            .extend(other.exercise_of.iter().map(|&x| remap[x as usize]));
        self.set_ends
            .extend(other.set_ends.iter().map(|&end| end + offset));
        self.reps.extend_from_slice(&other.reps);
        self.weights.extend_from_slice(&other.weights);
        self.weights_kg.extend_from_slice(&other.weights_kg);
        self.units.extend_from_slice(&other.units);
    }

    /// Appends the entries of `other` that `keep` accepts, in order.
    pub fn extend_from(&mut self, other: &EntryColumns, mut keep: impl FnMut(usize) -> bool) {
        let mut remap: Vec<Option<u32>> = vec![None; other.exercises.len()];
        for i in 0..other.len() {
            if !keep(i) {
                continue;
            }
            let x = other.exercise_of[i] as usize;
            let exercise = match remap[x] {
                Some(id) => id,
                None => {
                    let logged = &other.exercises[x];
                    let id = self.exercise_id(&logged.name, &logged.key);
                    remap[x] = Some(id);
                    id
                }
            };
            self.ids.push(other.ids[i]);
            self.dates_ms.push(other.dates_ms[i]);
            self.exercise_of.push(exercise);
            let sets = other.set_range(i);
            self.reps.extend_from_slice(&other.reps[sets.clone()]);
            self.weights.extend_from_slice(&other.weights[sets.clone()]);
            self.weights_kg
                .extend_from_slice(&other.weights_kg[sets.clone()]);
            self.units.extend_from_slice(&other.units[sets]);
            self.set_ends.push(self.reps.len() as u32);
        }
    }

    /// The last `n` entries (all of them when there are fewer).
    pub fn last(&self, n: usize) -> EntryColumns {
        let skip = self.len().saturating_sub(n);
        let mut out = EntryColumns::default();
        out.extend_from(self, |i| i >= skip);
        out
    }

    fn exercise_id(&mut self, name: &str, key: &str) -> u32 {
        let logged = LoggedExercise {
            name: name.to_string(),
            key: key.to_string(),
        };
        if let Some(&id) = self.exercise_index.get(&logged) {
            return id;
        }
        let id = self.exercises.len() as u32;
        self.exercises.push(logged.clone());
        self.exercise_index.insert(logged, id);
        id
    }

    /// About how many bytes the columns hold (what a cache weighs).
    pub fn heap_bytes(&self) -> usize {
        let per_entry = size_of::<EntryId>() + size_of::<i64>() + 2 * size_of::<u32>();
        let per_set = size_of::<u32>() + 2 * size_of::<f64>() + size_of::<Unit>();
        let names: usize = self
            .exercises
            .iter()
            .map(|x| x.name.len() + x.key.len())
            .sum();
        self.len() * per_entry + self.reps.len() * per_set + names
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn ids(&self) -> &[EntryId] {
        &self.ids
    }

    pub fn dates_ms(&self) -> &[i64] {
        &self.dates_ms
    }

    /// Each entry's exercise, an index into [`exercises`](Self::exercises).
    pub fn exercise_of(&self) -> &[u32] {
        &self.exercise_of
    }

    /// Every (name, key) the entries logged, each once, in order of first use.
    pub fn exercises(&self) -> &[LoggedExercise] {
        &self.exercises
    }

    /// Entry `i`'s exercise.
    pub fn exercise(&self, i: usize) -> &LoggedExercise {
        &self.exercises[self.exercise_of[i] as usize]
    }

    /// Where entry `i`'s sets lie in the set columns.
    pub fn set_range(&self, i: usize) -> Range<usize> {
        let start = if i == 0 { 0 } else { self.set_ends[i - 1] };
        start as usize..self.set_ends[i] as usize
    }

    pub fn set_ends(&self) -> &[u32] {
        &self.set_ends
    }

    pub fn reps(&self) -> &[u32] {
        &self.reps
    }

    /// Weights as logged, in `units()`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    pub fn weights_kg(&self) -> &[f64] {
        &self.weights_kg
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// Entry `i`'s sets as values.
    pub fn sets(&self, i: usize) -> impl Iterator<Item = WorkoutSet> + '_ {
        self.set_range(i).map(|k| WorkoutSet {
            reps: self.reps[k],
            weight: self.weights[k],
            unit: self.units[k],
            weight_kg: self.weights_kg[k],
        })
    }

    /// Moves the columns out (what a store packs).
    pub fn into_parts(self) -> ColumnParts {
        ColumnParts {
            ids: self.ids,
            dates_ms: self.dates_ms,
            exercise_of: self.exercise_of,
            exercises: self.exercises,
            set_ends: self.set_ends,
            reps: self.reps,
            weights: self.weights,
            weights_kg: self.weights_kg,
            units: self.units,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::units::Unit;

    fn entry(day: i64, name: &str, sets: &[(u32, f64, &str)]) -> WorkoutEntry {
        let sets = sets
            .iter()
            .map(|&(reps, w, u)| WorkoutSet::new(reps, w, Unit::parse(u).unwrap()))
            .collect();
        crate::domain::workout::test_entry(day * 86_400_000, name, sets)
    }

    fn sample() -> Vec<WorkoutEntry> {
        vec![
            entry(1, "Squat", &[(5, 100.0, "kg"), (3, 110.0, "kg")]),
            entry(2, "Bench Press", &[]),
            entry(3, "squat", &[(8, 225.0, "lb")]),
            entry(4, "Squat", &[(1, 140.0, "kg")]),
        ]
    }

    #[test]
    fn every_entry_reads_back_as_pushed() {
        let entries = sample();
        let c = EntryColumns::from_entries(&entries);
        assert_eq!(c.len(), 4);
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(c.ids()[i], e.id);
            assert_eq!(c.dates_ms()[i], e.date.timestamp_millis());
            assert_eq!(c.exercise(i).name, e.exercise_name);
            assert_eq!(c.exercise(i).key, e.exercise_name_lower);
            assert_eq!(c.sets(i).collect::<Vec<_>>(), e.sets);
        }
        // One (name, key) per way it was logged, in order of first use.
        let names: Vec<&str> = c.exercises().iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["Squat", "Bench Press", "squat"]);
        assert_eq!(c.set_ends(), [2, 2, 3, 4]);
    }

    #[test]
    fn extending_with_a_filter_equals_building_from_the_kept_entries() {
        let entries = sample();
        let all = EntryColumns::from_entries(&entries);
        let mut kept = EntryColumns::from_entries(&entries[..1]);
        kept.extend_from(&all, |i| i >= 2);
        let expected = EntryColumns::from_entries([&entries[0], &entries[2], &entries[3]]);
        assert_eq!(kept, expected);
        assert_eq!(
            all.last(2),
            EntryColumns::from_entries(&entries[2..]),
            "the newest two"
        );
        assert_eq!(all.last(10), all);

        let mut appended = EntryColumns::from_entries(&entries[1..3]);
        appended.append(&EntryColumns::from_entries([&entries[3], &entries[0]]));
        assert_eq!(
            appended,
            EntryColumns::from_entries([&entries[1], &entries[2], &entries[3], &entries[0]])
        );
    }

    #[test]
    fn parts_round_trip_and_inconsistent_parts_are_refused() {
        let all = EntryColumns::from_entries(&sample());
        let parts = all.clone().into_parts();
        assert_eq!(EntryColumns::from_parts(parts.clone()).unwrap(), all);

        let mut bad = parts.clone();
        bad.exercise_of[0] = 9;
        assert!(EntryColumns::from_parts(bad).is_err());
        let mut bad = parts.clone();
        bad.set_ends[3] = 3;
        assert!(EntryColumns::from_parts(bad).is_err());
        let mut bad = parts.clone();
        bad.set_ends.swap(0, 1);
        bad.set_ends[0] = 3;
        assert!(EntryColumns::from_parts(bad).is_err());
        let mut bad = parts.clone();
        bad.weights.pop();
        assert!(EntryColumns::from_parts(bad).is_err());
        let mut bad = parts;
        bad.exercises.push(bad.exercises[0].clone());
        assert!(EntryColumns::from_parts(bad).is_err());
    }
}
