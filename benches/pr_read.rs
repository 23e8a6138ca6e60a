//! PR reads for one user at growing sizes: the O(1) read-model row against
//! the live computation over every set (the fallback), and a one-year range
//! from day bests against the same range computed live.
//!
//! `cargo bench --bench pr_read`; prints a ratio table after each group.
//! With `MONGODB_URI` set, the same reads run on MongoDB too (group
//! `pr_read_mongodb`, a fresh database per size, dropped afterwards).

#[path = "common/mod.rs"]
mod common;

use chrono::Duration;
use common::*;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use everfit::domain::dates::TimeRange;
use everfit::domain::records::NativePrCalculator;
use everfit::prs::live;
use everfit::prs::reads::{self, PrSource};
use everfit::store::WorkoutStore;
use std::hint::black_box;
use std::time::Duration as StdDuration;

/// One year ending mid-afternoon of the last seeded day, starting mid-morning:
/// both edges are partial days, the realistic (and the costlier) case.
fn one_year() -> TimeRange {
    let end = until() + Duration::hours(15);
    TimeRange {
        start: Some(end - Duration::days(365) - Duration::hours(5)),
        end: Some(end),
    }
}

/// The four reads of one store at one size, named `read_model`, `live`
/// (`live_sqlite` / `live_mongo_facet`), `range_day_bests`, `range_live`.
fn bench_store(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    store: &dyn WorkoutStore,
    live_name: &str,
    n: u64,
) {
    let exercise = hot_exercise_key();
    let calc = NativePrCalculator;
    let user = user();
    // The summaries must be there, or the comparison is meaningless.
    let (_, source) = rt
        .block_on(reads::range(store, &calc, user, &exercise, one_year()))
        .expect("range");
    assert_eq!(source, PrSource::DayBests);

    group.bench_with_input(BenchmarkId::new("read_model", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            black_box(
                store
                    .read_personal_records(user, &exercise)
                    .await
                    .expect("read model")
                    .expect("row exists"),
            )
        })
    });
    group.bench_with_input(BenchmarkId::new(live_name, n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            black_box(
                live::records(store, &calc, user, &exercise, TimeRange::ALL_TIME)
                    .await
                    .expect("live"),
            )
        })
    });
    group.bench_with_input(BenchmarkId::new("range_day_bests", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            black_box(
                reads::range(store, &calc, user, &exercise, one_year())
                    .await
                    .expect("range"),
            )
        })
    });
    group.bench_with_input(BenchmarkId::new("range_live", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            black_box(
                live::records(store, &calc, user, &exercise, one_year())
                    .await
                    .expect("live range"),
            )
        })
    });
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, n: u64) {
    group
        .warm_up_time(StdDuration::from_millis(500))
        .measurement_time(StdDuration::from_secs(3))
        // The live computation at 200k takes ~0.2 s a call: fewer samples.
        .sample_size(if n >= 200_000 { 10 } else { 20 });
}

fn pr_read(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mongodb_uri = mongodb_uri("pr_read");

    let mut group = c.benchmark_group("pr_read");
    for n in SIZES {
        configure(&mut group, n);
        let store = rt.block_on(seeded_store(n));
        bench_store(&mut group, &rt, &store, "live_sqlite", n);
    }
    group.finish();
    print_ratio_table("pr_read", "read_model", "live_sqlite", &SIZES);
    print_ratio_table("pr_read", "range_day_bests", "range_live", &SIZES);

    // The same reads on MongoDB: the live computation is one $facet
    // aggregation; ranges read day summaries. A fresh database per size,
    // seeded with the same data, dropped afterwards.
    let Some(uri) = mongodb_uri else { return };
    let mut group = c.benchmark_group("pr_read_mongodb");
    for n in SIZES {
        configure(&mut group, n);
        let store = rt.block_on(seeded_mongo_store(&uri, n));
        bench_store(&mut group, &rt, &store, "live_mongo_facet", n);
        rt.block_on(drop_mongo_store(&store));
    }
    group.finish();
    print_ratio_table("pr_read_mongodb", "read_model", "live_mongo_facet", &SIZES);
    print_ratio_table("pr_read_mongodb", "range_day_bests", "range_live", &SIZES);
}

criterion_group!(benches, pr_read);
criterion_main!(benches);
