//! The write path: validating and normalizing a 100-entry submission (the
//! request handler's CPU work), and persisting batches of 1 and 100 entries
//! (insert + read-model and day-bests fold, what a queue worker does).
//!
//! `cargo bench --bench write_path`

#[path = "common/mod.rs"]
mod common;

use chrono::Utc;
use common::*;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use everfit::domain::generated::{SeedOptions, generated_entries};
use everfit::domain::records::NativePrCalculator;
use everfit::domain::validation::validate_submission;
use everfit::queue::{Persister, WriteBatch};
use everfit::store::SqliteStore;
use everfit_seeds::{CatalogueData, Generator};
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// A realistic 100-entry request body (the API's maximum batch).
fn submission_body() -> Value {
    let mut generator = Generator::new(SEED, &CatalogueData::builtin(), 365);
    let entries: Vec<Value> = (0..100)
        .map(|i| {
            let g = generator.next_entry();
            json!({
                "exerciseName": g.exercise_name,
                "date": format!("2026-05-{:02}T{:02}:30:00Z", 1 + g.days_ago % 28, 6 + g.second_of_day / 3600 % 15),
                "idempotencyKey": format!("bench-{i}"),
                "sets": g.sets.iter().map(|s| json!({ "reps": s.reps, "weight": s.weight, "unit": s.unit })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "userId": USER, "entries": entries })
}

fn write_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("write_path");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let body = submission_body();
    let now = Utc::now();
    group.throughput(Throughput::Elements(100));
    group.bench_function("validate_100", |b| {
        b.iter(|| black_box(validate_submission(black_box(&body), now).expect("valid")))
    });

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // A fresh file per run: the store grows by every measured batch.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = rt
        .block_on(SqliteStore::open(&dir.path().join("write.db")))
        .expect("store");
    let persister = Persister::new(Arc::new(store), Arc::new(NativePrCalculator));
    let opts = SeedOptions {
        user: user(),
        count: 0,
        batch_size: 100,
        rng_seed: SEED,
        span_days: SPAN_DAYS,
        until: until(),
    };
    let mut generator = Generator::new(SEED, &CatalogueData::builtin(), SPAN_DAYS);
    for size in [1usize, 100] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("persist", size), &size, |b, &size| {
            b.to_async(&rt).iter_batched(
                || WriteBatch {
                    entries: generated_entries(&mut generator, &opts, size, Utc::now()),
                    request_id: None,
                },
                |batch| {
                    let persister = persister.clone();
                    async move { black_box(persister.persist_batch(batch).await.expect("persist")) }
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    for (name, param, n) in [
        ("validate_100", "", 100.0),
        ("persist", "1", 1.0),
        ("persist", "100", 100.0),
    ] {
        if let Some(ns) = median_ns("write_path", name, param) {
            println!(
                "write_path/{name}{}{param}: {} per batch, {:.0} entries/s",
                if param.is_empty() { "" } else { "/" },
                human(ns),
                n * 1e9 / ns
            );
        }
    }
}

criterion_group!(benches, write_path);
criterion_main!(benches);
