//! `everfit seed`: realistic volumes for demos and benchmarks, written in
//! large batches through the same persist path as the worker.

use crate::context::AppContext;
use crate::domain::exercise::{name_key, normalize_name};
use crate::domain::{EntryId, Unit, UserId, WorkoutEntry, WorkoutSet};
use crate::queue::{Persister, WriteBatch};
use chrono::{DateTime, Duration, Utc};
use everfit_seeds::{CatalogueData, Generator};

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
            }
        })
        .collect()
}

/// Seeds `opts.count` entries; `progress` is told how many are done.
pub async fn seed(
    ctx: &AppContext,
    opts: &SeedOptions,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let persister = Persister::new(ctx.store.clone(), ctx.calculator.clone());
    let mut generator = Generator::new(opts.rng_seed, &CatalogueData::builtin(), opts.span_days);
    let mut done = 0u64;
    while done < opts.count {
        let n = (opts.count - done).min(opts.batch_size as u64) as usize;
        let entries = generated_entries(&mut generator, opts, n, Utc::now());
        persister
            .persist(&WriteBatch {
                entries,
                request_id: None,
            })
            .await?;
        done += n as u64;
        progress(done);
    }
    Ok(done)
}
