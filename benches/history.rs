//! History pages for one user at growing sizes: the first page and a deep
//! page halfway through the history (keyset cursor), 20 entries each (the
//! API's default page); then the same with each kind of exercise filter
//! (a prefix matching nothing, one exercise, many; a sparse and a dense
//! muscle group), first page and a page 10,000 matches deep (halfway when
//! fewer match), beside the statement the store used before filters were
//! resolved to keys (`before_*`, SQLite).
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
    let (first, deep) = (query(None), query(Some(halfway)));
    group.bench_with_input(BenchmarkId::new("first_page", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            let page = store.history(&first).await.expect("history");
            assert_eq!(page.len(), (PAGE + 1) as usize);
            black_box(page)
        })
    });
    group.bench_with_input(BenchmarkId::new("deep_page", n), &n, |b, _| {
        b.to_async(rt).iter(|| async {
            let page = store.history(&deep).await.expect("history");
            assert_eq!(page.len(), (PAGE + 1) as usize);
            black_box(page)
        })
    });
}

/// The filters measured: name, prefix, muscle group.
const FILTERS: [(&str, Option<&str>, Option<&str>); 5] = [
    ("prefix_none", Some("zz"), None),
    ("prefix_one", Some("deadlift"), None),
    ("prefix_many", Some("d"), None),
    ("group_sparse", None, Some("core")),
    ("group_dense", None, Some("chest")),
];

fn filtered(
    prefix: Option<&str>,
    group: Option<&str>,
    after: Option<CursorPosition>,
) -> HistoryQuery {
    let catalogue = everfit::domain::Catalogue::builtin();
    HistoryQuery {
        exercise_prefix: prefix.map(str::to_string),
        exercise_in: group.map(|g| catalogue.exercises_in(g)),
        ..query(after)
    }
}

/// Filtered first pages and deep pages of one store at one size.
fn bench_filters(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    store: &dyn WorkoutStore,
    n: u64,
) {
    for (name, prefix, muscles) in FILTERS {
        // The cursor 10,000 matches deep (halfway when fewer match).
        let deep = rt.block_on(async {
            let mut all = filtered(prefix, muscles, None);
            all.limit = u32::MAX;
            let matches = store.history(&all).await.expect("history");
            let depth = if matches.len() > 10_000 {
                10_000
            } else {
                matches.len() / 2
            };
            matches.get(depth).map(|e| CursorPosition {
                date: e.date,
                id: e.id,
            })
        });
        // Built once, as the server resolves a muscle group with the
        // catalogue it loaded at start-up: only the store's work is timed.
        let first = filtered(prefix, muscles, None);
        group.bench_with_input(BenchmarkId::new(format!("{name}_first"), n), &n, |b, _| {
            b.to_async(rt)
                .iter(|| async { black_box(store.history(&first).await.expect("history")) })
        });
        if let Some(deep) = deep {
            let deep = filtered(prefix, muscles, Some(deep));
            group.bench_with_input(BenchmarkId::new(format!("{name}_deep"), n), &n, |b, _| {
                b.to_async(rt)
                    .iter(|| async { black_box(store.history(&deep).await.expect("history")) })
            });
        }
    }
}

/// The statements the SQLite store sent before filters were resolved to
/// keys: the name tested on every row of the client's (user, date) index.
fn bench_before(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
    n: u64,
) {
    let pool = rt
        .block_on(sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .read_only(true),
        ))
        .expect("open read-only");
    let core = everfit::domain::Catalogue::builtin().exercises_in("core");
    let prefix_sql = "SELECT id FROM workouts WHERE user_id = ? AND substr(exercise_name_lower, 1, 2) = ? \
                      ORDER BY date_ms DESC, id DESC LIMIT 21";
    let in_sql = format!(
        "SELECT id FROM workouts WHERE user_id = ? AND exercise_name_lower IN ({}) \
         ORDER BY date_ms DESC, id DESC LIMIT 21",
        vec!["?"; core.len()].join(", ")
    );
    group.bench_with_input(
        BenchmarkId::new("before_prefix_none_first", n),
        &n,
        |b, _| {
            b.to_async(rt).iter(|| async {
                black_box(
                    sqlx::query(prefix_sql)
                        .bind(USER)
                        .bind("zz")
                        .fetch_all(&pool)
                        .await
                        .expect("query"),
                )
            })
        },
    );
    group.bench_with_input(
        BenchmarkId::new("before_group_sparse_first", n),
        &n,
        |b, _| {
            b.to_async(rt).iter(|| async {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(in_sql.clone())).bind(USER);
                for key in &core {
                    q = q.bind(key.clone());
                }
                black_box(q.fetch_all(&pool).await.expect("query"))
            })
        },
    );
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

    let mut group = c.benchmark_group("history_filtered");
    configure(&mut group);
    for n in SIZES {
        let store = rt.block_on(seeded_store(n));
        bench_filters(&mut group, &rt, &store, n);
        bench_before(&mut group, &rt, &seeded_path(n), n);
    }
    group.finish();
    println!("\nhistory_filtered (criterion medians; unfiltered first page for scale)");
    for n in SIZES {
        let p = n.to_string();
        let mut row = format!(
            "{n:>8}: first_page {}",
            median_ns("history", "first_page", &p)
                .map(human)
                .unwrap_or_default()
        );
        for (name, _, _) in FILTERS {
            for depth in ["first", "deep"] {
                if let Some(ns) = median_ns("history_filtered", &format!("{name}_{depth}"), &p) {
                    row.push_str(&format!(" | {name}_{depth} {}", human(ns)));
                }
            }
        }
        for before in ["before_prefix_none_first", "before_group_sparse_first"] {
            if let Some(ns) = median_ns("history_filtered", before, &p) {
                row.push_str(&format!(" | {before} {}", human(ns)));
            }
        }
        println!("{row}");
    }

    // The same pages on MongoDB (index `user_date_id`): a fresh database per
    // size, seeded with the same data, dropped afterwards.
    let Some(uri) = mongodb_uri else { return };
    let mut group = c.benchmark_group("history_mongodb");
    configure(&mut group);
    for n in SIZES {
        let store = rt.block_on(seeded_mongo_store(&uri, n));
        bench_store(&mut group, &rt, &store, n);
        bench_filters(&mut group, &rt, &store, n);
        rt.block_on(drop_mongo_store(&store));
    }
    group.finish();
    print_ratio_table("history_mongodb", "first_page", "deep_page", &SIZES);
}

criterion_group!(benches, history);
criterion_main!(benches);
