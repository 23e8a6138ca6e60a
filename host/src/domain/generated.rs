//! Realistic generated workout entries (several exercises, 1-6 sets, some in
//! lb, spread over years, weights trending up) from the seeds generator: demo
//! data, benchmark data and plugin samples. Pure: the clock and the RNG seed
//! are passed in.

use super::exercise::{name_key, normalize_name};
use super::{EntryId, Unit, UserId, WorkoutEntry, WorkoutSet};
use chrono::{DateTime, Duration, Utc};
use everfit_seeds::Generator;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub user: UserId,
    pub count: u64,
    pub batch_size: usize,
    pub rng_seed: u64,
    pub span_days: u32,
    /// The newest date generated (normally today).
    pub until: DateTime<Utc>,
}

/// Turns generated entries into stored entries (units from the registry, ids fresh).
pub fn generated_entries(
    generator: &mut Generator,
    opts: &SeedOptions,
    n: usize,
    now: DateTime<Utc>,
) -> Vec<WorkoutEntry> {
    let day_start = opts
        .until
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    (0..n)
        .map(|_| {
            let g = generator.next_entry();
            let name = normalize_name(&g.exercise_name);
            WorkoutEntry {
                id: EntryId::generate(),
                user_id: opts.user,
                exercise_name_lower: name_key(&name),
                exercise_name: name,
                date: day_start - Duration::days(i64::from(g.days_ago))
                    + Duration::seconds(i64::from(g.second_of_day)),
                sets: g
                    .sets
                    .iter()
                    .map(|s| {
                        WorkoutSet::new(
                            s.reps,
                            s.weight,
                            Unit::parse(s.unit).expect("generator uses known units"),
                        )
                    })
                    .collect(),
                idempotency_key: None,
                created_at: now,
                updated_at: now,
                version: super::workout::FIRST_VERSION,
            }
        })
        .collect()
}
