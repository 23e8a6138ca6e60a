//! History pages for one user at growing sizes: the first page and a deep
//! page halfway through the history (keyset cursor), 20 entries each (the
//! API's default page).
//!
//! `cargo bench --bench history`. With `MONGODB_URI` set, the same pages
//! are read from MongoDB too (group `history_mongodb`, a fresh database per
//! size, dropped afterwards).

#[path = "common/mod.rs"]
mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use everfit::domain::cursor::CursorPosition;
use everfit::domain::dates::TimeRange;
use everfit::store::{HistoryQuery, WorkoutStore};
use std::hint::black_box;
use std::time::Duration;

const PAGE: u32 = 20;

fn query(after: Option<CursorPosition>) -> HistoryQuery {
    HistoryQuery {
        user_id: user(),
        exercise_prefix: None,
        exercise_in: None,
        range: TimeRange::ALL_TIME,
        after,
        // The handler asks for one more to know whether there is a next page.
        limit: PAGE + 1,
    }
}

/// The first page and a deep page of one store at one size.
fn bench_store(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    store: &dyn WorkoutStore,
    n: u64,
) {
    // The cursor a client holds after paging halfway down (found once).
    let halfway = rt.block_on(async {
        let mut q = query(None);
        q.limit = (n / 2) as u32;
        let page = store.history(&q).await.expect("history");
        let last = page.last().expect("entries");
        CursorPosition {
            date: last.date,
            id: last.id,
        }
    });
    group.bench_with_input(BenchmarkId::new("first_page", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            let page = store.history(&query(None)).await.expect("history");
            assert_eq!(page.len(), (PAGE + 1) as usize);
            black_box(page)
        })
    });
    group.bench_with_input(BenchmarkId::new("deep_page", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            let page = store.history(&query(Some(halfway))).await.expect("history");
            assert_eq!(page.len(), (PAGE + 1) as usize);
            black_box(page)
        })
    });
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn history(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mongodb_uri = mongodb_uri("history");

    let mut group = c.benchmark_group("history");
    configure(&mut group);
    for n in SIZES {
        let store = rt.block_on(seeded_store(n));
        bench_store(&mut group, &rt, &store, n);
    }
    group.finish();
    print_ratio_table("history", "first_page", "deep_page", &SIZES);

    // The same pages on MongoDB (index `user_date_id`): a fresh database per
    // size, seeded with the same data, dropped afterwards.
    let Some(uri) = mongodb_uri else { return };
    let mut group = c.benchmark_group("history_mongodb");
    configure(&mut group);
    for n in SIZES {
        let store = rt.block_on(seeded_mongo_store(&uri, n));
        bench_store(&mut group, &rt, &store, n);
        rt.block_on(drop_mongo_store(&store));
    }
    group.finish();
    print_ratio_table("history_mongodb", "first_page", "deep_page", &SIZES);
}

criterion_group!(benches, history);
criterion_main!(benches);
