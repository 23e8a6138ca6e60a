//! `everfit seed`: realistic volumes for demos and benchmarks, written in
//! large batches through the same persist path as the worker.

use super::{parse_user, progress_bar, say};
use crate::domain::generated::{SeedOptions, generated_entries};
use crate::domain::records::PrCalculator;
use crate::queue::{Persister, WriteBatch};
use crate::startup::config::Config;
use crate::startup::{open_store, pr_calculator};
use crate::store::WorkoutStore;
use anyhow::Context;
use chrono::Utc;
use everfit_seeds::{CatalogueData, Generator};
use std::sync::Arc;
use std::time::Instant;

/// Seeds `opts.count` entries; `progress` is told how many are done.
pub async fn seed(
    store: Arc<dyn WorkoutStore>,
    calculator: Arc<dyn PrCalculator>,
    opts: &SeedOptions,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let persister = Persister::new(store, calculator);
    let mut generator = Generator::new(opts.rng_seed, &CatalogueData::builtin(), opts.span_days);
    let mut done = 0u64;
    while done < opts.count {
        let n = (opts.count - done).min(opts.batch_size as u64) as usize;
        let entries = generated_entries(&mut generator, opts, n, Utc::now());
        persister
            .persist_batch(WriteBatch {
                entries,
                request_id: None,
            })
            .await?;
        done += n as u64;
        progress(done);
    }
    Ok(done)
}

/// `everfit seed --user ID [--count N] ...`, with a progress bar.
pub async fn run(
    config: &Config,
    user: &str,
    count: u64,
    batch_size: usize,
    rng_seed: u64,
    days: u32,
) -> anyhow::Result<()> {
    let user = parse_user(user)?;
    anyhow::ensure!(batch_size > 0, "--batch-size must be at least 1");
    let store = open_store(config).await?;
    let calculator = pr_calculator(config).await?;
    let opts = SeedOptions {
        user,
        count,
        batch_size,
        rng_seed,
        span_days: days.max(1),
        until: Utc::now(),
    };
    let bar = progress_bar(count, "seeding");
    let started = Instant::now();
    let n = seed(store, calculator, &opts, |done| bar.set_position(done))
        .await
        .context("seeding")?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    say(format!(
        "seeded {n} entries for {user} in {secs:.2} s ({:.0} entries/s)",
        n as f64 / secs.max(1e-9)
    ))
}
