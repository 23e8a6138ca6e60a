//! Correcting the log: what an edit's PR correction costs as one exercise
//! grows (it should follow the exercise's days, not its entries), and what
//! PR reads cost while 10,000 writes wait to be settled against an idle
//! PR queue.
//!
//! ```sh
//! cargo bench --bench edits
//! ```

mod common;

use chrono::Duration;
use common::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use everfit::domain::dates::TimeRange;
use everfit::domain::records::NativePrCalculator;
use everfit::domain::{EntryId, Unit, WorkoutEntry, WorkoutSet};
use everfit::prs::{reads, settle};
use everfit::store::{EditOutcome, SqliteStore, WorkoutStore};
use std::hint::black_box;
use std::time::Duration as StdDuration;

const EXERCISE: &str = "Bench Press";
const KEY: &str = "bench press";
/// The days one exercise's entries are spread over (four years).
const DAYS: i64 = 1460;

fn entry(i: u64) -> WorkoutEntry {
    let date = until() - Duration::days((i as i64 * 7919) % DAYS)
        + Duration::seconds((i as i64 * 104_729) % 86_400);
    WorkoutEntry {
        id: EntryId::generate(),
        user_id: user(),
        exercise_name: EXERCISE.into(),
        exercise_name_lower: KEY.into(),
        date,
        sets: vec![WorkoutSet::new(
            1 + (i % 10) as u32,
            40.0 + (i % 80) as f64,
            Unit::KG,
        )],
        idempotency_key: None,
        created_at: until(),
        updated_at: until(),
        version: 1,
    }
}

/// A fresh store with `count` settled entries of one exercise.
async fn store_with(count: u64) -> (SqliteStore, tempfile::TempDir, Vec<WorkoutEntry>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("edits.db"))
        .await
        .expect("store");
    let mut all = Vec::with_capacity(count as usize);
    let mut next = 0;
    while next < count {
        let batch: Vec<WorkoutEntry> = (next..(next + 2000).min(count)).map(entry).collect();
        let done = store.insert_entries(&batch).await.expect("insert");
        let changes: Vec<_> = done.changes.into_iter().map(|(_, c)| c).collect();
        settle::settle(&store, &NativePrCalculator, user(), &changes)
            .await
            .expect("settle");
        next += batch.len() as u64;
        all.extend(batch);
    }
    (store, dir, all)
}

fn edit_correction(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("edit_correction");
    group
        .sample_size(20)
        .measurement_time(StdDuration::from_secs(10));
    for n in [1_000u64, 50_000, 200_000] {
        let (store, _dir, entries) = rt.block_on(store_with(n));
        let mut target = entries[entries.len() / 2].clone();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.to_async(&rt).iter(|| {
                // Alternately raises and lowers the set: half the edits lower
                // a record, which is the expensive case.
                target.version += 1;
                target.sets[0] = WorkoutSet::new(
                    1,
                    if target.version % 2 == 0 { 500.0 } else { 1.0 },
                    Unit::KG,
                );
                let edit = target.clone();
                let store = &store;
                async move {
                    let EditOutcome::Applied { changes, .. } =
                        store.replace_entry(&edit).await.expect("edit")
                    else {
                        panic!("not applied")
                    };
                    settle::settle(store, &NativePrCalculator, user(), &changes)
                        .await
                        .expect("settle");
                    black_box(changes.len())
                }
            })
        });
    }
    group.finish();
    println!("\nedit_correction (replace one entry + settle its PR changes), criterion medians");
    for n in [1_000u64, 50_000, 200_000] {
        if let Some(ns) = median_ns("edit_correction", &n.to_string(), "") {
            println!("{n:>8} entries of the exercise: {}", human(ns));
        }
    }
}

fn reads_under_backlog(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (store, _dir, _) = rt.block_on(store_with(50_000));
    let month = TimeRange {
        start: Some(until() - Duration::days(30)),
        end: Some(until()),
    };
    let mut group = c.benchmark_group("pr_read_backlog");
    group
        .sample_size(30)
        .measurement_time(StdDuration::from_secs(8));
    let bench = |group: &mut criterion::BenchmarkGroup<'_, _>, state: &str| {
        group.bench_function(BenchmarkId::new("all_time", state), |b| {
            b.to_async(&rt).iter(|| async {
                black_box(
                    reads::all_time(&store, &NativePrCalculator, user(), KEY)
                        .await
                        .expect("read"),
                )
            })
        });
        group.bench_function(BenchmarkId::new("one_month", state), |b| {
            b.to_async(&rt).iter(|| async {
                black_box(
                    reads::range(&store, &NativePrCalculator, user(), KEY, month)
                        .await
                        .expect("read"),
                )
            })
        });
    };
    bench(&mut group, "idle");
    // 10,000 writes stored, not settled: as if the PR queue held them.
    let backlog: Vec<WorkoutEntry> = (1_000_000..1_010_000).map(entry).collect();
    rt.block_on(async {
        for chunk in backlog.chunks(2000) {
            store.insert_entries(chunk).await.expect("insert");
        }
    });
    bench(&mut group, "backlog_10k");
    group.finish();
    println!("\npr_read_backlog (50,000 settled entries), criterion medians");
    for what in ["all_time", "one_month"] {
        let idle = median_ns("pr_read_backlog", what, "idle");
        let busy = median_ns("pr_read_backlog", what, "backlog_10k");
        if let (Some(i), Some(b)) = (idle, busy) {
            println!(
                "{what:>10}: idle {} | 10,000 unsettled writes {}",
                human(i),
                human(b)
            );
        }
    }
}

criterion_group!(benches, edit_correction, reads_under_backlog);
criterion_main!(benches);
