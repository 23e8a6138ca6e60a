//! Seed data: the exercise catalogue (exercise -> muscle group) and a
//! generator of realistic workout logs for demos, tests and benchmarks.
//!
//! The catalogue is data (`exercises.json`), compiled into the binary so the
//! service needs no files at run time. Generation is deterministic for a
//! given RNG seed.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

/// The catalogue file, as shipped.
pub const CATALOGUE_JSON: &str = include_str!("../exercises.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueData {
    /// Every muscle group, in display order.
    pub groups: Vec<String>,
    pub exercises: Vec<ExerciseData>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExerciseData {
    pub name: String,
    pub group: String,
    /// A typical working weight for an intermediate lifter, used by the generator.
    pub typical_kg: f64,
}

impl CatalogueData {
    /// The shipped catalogue. Panics only if the shipped file is malformed,
    /// which a unit test rules out.
    pub fn builtin() -> Self {
        serde_json::from_str(CATALOGUE_JSON).expect("seeds/exercises.json is valid")
    }
}

/// One generated workout entry, in the API's input terms.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedEntry {
    pub exercise_name: String,
    /// Days before the generator's end date (0 = the end date itself).
    pub days_ago: u32,
    /// Seconds into that UTC day.
    pub second_of_day: u32,
    pub sets: Vec<GeneratedSet>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedSet {
    pub reps: u32,
    pub weight: f64,
    pub unit: &'static str,
}

/// Produces realistic logs: several exercises, 1-6 sets, mixed units, spread
/// over `span_days`, with weights that trend upward over time.
pub struct Generator {
    rng: SmallRng,
    exercises: Vec<ExerciseData>,
    span_days: u32,
}

impl Generator {
    pub fn new(seed: u64, catalogue: &CatalogueData, span_days: u32) -> Self {
        // Favour the big lifts: they are what coaches log most.
        let exercises = catalogue
            .exercises
            .iter()
            .filter(|e| e.typical_kg > 0.0)
            .cloned()
            .collect();
        Self {
            rng: SmallRng::seed_from_u64(seed),
            exercises,
            span_days: span_days.max(1),
        }
    }

    pub fn next_entry(&mut self) -> GeneratedEntry {
        let rng = &mut self.rng;
        // Skew toward the first exercises so a few lifts carry most of the history.
        let pick = {
            let a = rng.gen_range(0..self.exercises.len());
            let b = rng.gen_range(0..self.exercises.len());
            a.min(b)
        };
        let exercise = &self.exercises[pick];
        let days_ago = rng.gen_range(0..self.span_days);
        // Strength grows over the span: from about 70% to 110% of typical.
        let progress = 1.0 - f64::from(days_ago) / f64::from(self.span_days);
        let base_kg = exercise.typical_kg * (0.7 + 0.4 * progress) * rng.gen_range(0.92..1.08);
        let in_pounds = rng.gen_bool(0.3);
        let set_count = rng.gen_range(1..=6);
        let sets = (0..set_count)
            .map(|_| {
                let reps = *[1u32, 3, 5, 5, 6, 8, 8, 10, 12, 15]
                    .get(rng.gen_range(0..10))
                    .unwrap_or(&5);
                // Heavier for low reps: roughly inverse Epley around the base.
                let kg = base_kg * 1.2 / (1.0 + f64::from(reps) / 30.0);
                if in_pounds {
                    GeneratedSet {
                        reps,
                        weight: round_to(kg / 0.453_592_37, 5.0),
                        unit: "lb",
                    }
                } else {
                    GeneratedSet {
                        reps,
                        weight: round_to(kg, 2.5),
                        unit: "kg",
                    }
                }
            })
            .collect();
        GeneratedEntry {
            exercise_name: exercise.name.clone(),
            days_ago,
            second_of_day: rng.gen_range(6 * 3600..21 * 3600),
            sets,
        }
    }
}

fn round_to(value: f64, step: f64) -> f64 {
    ((value / step).round() * step).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_is_consistent() {
        let c = CatalogueData::builtin();
        for required in ["chest", "back", "legs", "shoulders", "arms", "core"] {
            assert!(c.groups.iter().any(|g| g == required), "{required}");
        }
        for e in &c.exercises {
            assert!(
                c.groups.contains(&e.group),
                "{} has unknown group {}",
                e.name,
                e.group
            );
        }
        let mut names: Vec<_> = c.exercises.iter().map(|e| e.name.to_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), c.exercises.len(), "duplicate exercise names");
    }

    #[test]
    fn generator_is_deterministic_and_within_the_api_limits() {
        let c = CatalogueData::builtin();
        let mut a = Generator::new(7, &c, 1000);
        let mut b = Generator::new(7, &c, 1000);
        for _ in 0..2000 {
            let e = a.next_entry();
            assert_eq!(e, b.next_entry());
            assert!((1..=6).contains(&e.sets.len()));
            assert!(e.days_ago < 1000);
            for s in &e.sets {
                assert!((1..=1000).contains(&s.reps));
                assert!(s.weight >= 0.0 && s.weight.is_finite());
                let kg = if s.unit == "lb" {
                    s.weight * 0.453_592_37
                } else {
                    s.weight
                };
                assert!(kg <= 1500.0);
            }
        }
    }
}
