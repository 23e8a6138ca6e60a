//! Shared by the criterion benches: seeded SQLite files (generated once per
//! size and cached), the bench user and dates, and a summary table read back
//! from criterion's estimates.
#![allow(dead_code)] // each bench uses a different part

use chrono::{DateTime, TimeZone, Utc};
use everfit::domain::UserId;
use everfit::domain::exercise::{name_key, normalize_name};
use everfit::domain::generated::{SeedOptions, generated_entries};
use everfit::domain::records::NativePrCalculator;
use everfit::prs::settle;
use everfit::store::{MongoStore, SqliteStore, WorkoutStore};
use everfit_seeds::{CatalogueData, Generator};
use std::path::PathBuf;

/// Entries of the one bench user, per size.
pub const SIZES: [u64; 4] = [1_000, 10_000, 50_000, 200_000];

/// Bump when the seeded data or the schema changes: cached files are keyed on it.
const DATA_VERSION: u32 = 4;

pub const USER: &str = "665f1c2b8a1e4d0012345678";
pub const SEED: u64 = 42;
pub const SPAN_DAYS: u32 = 1460;

pub fn user() -> UserId {
    USER.parse().expect("valid user id")
}

/// The newest day generated: fixed so cached files and ranges stay comparable.
pub fn until() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

/// The exercise the generator favours most (the first weighted one).
pub fn hot_exercise_key() -> String {
    let catalogue = CatalogueData::builtin();
    let first = catalogue
        .exercises
        .iter()
        .find(|e| e.typical_kg > 0.0)
        .expect("a weighted exercise");
    name_key(&normalize_name(&first.name))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Where seeded files are cached (`EVERFIT_BENCH_DATA`, else under the target dir).
pub fn data_dir() -> PathBuf {
    std::env::var_os("EVERFIT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("everfit-bench-data"))
}

/// Where criterion writes its reports (the same rule criterion uses).
pub fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"))
}

/// A SQLite store holding `count` generated entries of the bench user, with
/// the read model and day bests folded in. Seeded once, then reused.
/// The file [`seeded_store`] keeps `count` entries in.
pub fn seeded_path(count: u64) -> PathBuf {
    data_dir().join(format!("seeded-v{DATA_VERSION}-{count}.db"))
}

pub async fn seeded_store(count: u64) -> SqliteStore {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = seeded_path(count);
    let done = path.with_extension("done");
    if !done.exists() {
        for stale in [
            path.clone(),
            path.with_extension("db-wal"),
            path.with_extension("db-shm"),
        ] {
            let _ = std::fs::remove_file(stale);
        }
        let started = std::time::Instant::now();
        let store = SqliteStore::open(&path).await.expect("open bench store");
        seed_into(&store, count).await;
        drop(store);
        // Fold the write-ahead log into the file, so every run reads the same layout.
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
        )
        .await
        .expect("open for checkpoint");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .expect("checkpoint");
        pool.close().await;
        eprintln!(
            "seeded {count} entries into {} in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
        std::fs::write(&done, b"ok").expect("marker");
    }
    SqliteStore::open(&path).await.expect("open bench store")
}

/// Stores `count` generated entries of the bench user (the same data for
/// every back end) and folds the read model and day bests in, as the write
/// path does, in batches of 2,000.
pub async fn seed_into(store: &dyn WorkoutStore, count: u64) {
    let opts = SeedOptions {
        user: user(),
        count,
        batch_size: 2000,
        rng_seed: SEED,
        span_days: SPAN_DAYS,
        until: until(),
    };
    let mut generator = Generator::new(SEED, &CatalogueData::builtin(), SPAN_DAYS);
    let mut left = count;
    while left > 0 {
        let n = left.min(2000) as usize;
        let entries = generated_entries(&mut generator, &opts, n, until());
        let inserted = store.insert_entries(&entries).await.expect("insert");
        let changes: Vec<_> = inserted.changes.into_iter().map(|(_, c)| c).collect();
        settle::settle(store, &NativePrCalculator, user(), &changes)
            .await
            .expect("settle");
        left -= n as u64;
    }
}

/// `MONGODB_URI` when set (and not blank): the MongoDB rows run against it.
/// Otherwise says, once per bench, that they were skipped.
pub fn mongodb_uri(bench: &str) -> Option<String> {
    let uri = std::env::var("MONGODB_URI")
        .ok()
        .filter(|u| !u.trim().is_empty());
    if uri.is_none() {
        eprintln!(
            "SKIPPED: {bench} MongoDB rows (MONGODB_URI not set); SQLite rows only. \
             Run with MONGODB_URI=mongodb://localhost:27017 to measure MongoDB too."
        );
    }
    uri
}

/// A fresh MongoDB database (`everfit_bench_<random>`) holding `count`
/// generated entries with the read model and day bests folded in. Seeded on
/// every run (never cached); the caller drops it with `drop_database`.
pub async fn seeded_mongo_store(uri: &str, count: u64) -> MongoStore {
    let name = format!(
        "everfit_bench_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    );
    let store = MongoStore::connect_to(uri, Some(&name))
        .await
        .unwrap_or_else(|e| panic!("MONGODB_URI is set but MongoDB is not usable: {e:#}"));
    let started = std::time::Instant::now();
    seed_into(&store, count).await;
    eprintln!(
        "seeded {count} entries into MongoDB database {name} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    store
}

/// Drops a bench database, warning (not failing) when that does not work.
pub async fn drop_mongo_store(store: &MongoStore) {
    if let Err(e) = store.drop_database().await {
        eprintln!(
            "warning: could not drop bench database {}: {e}",
            store.database_name()
        );
    }
}

/// The median estimate (ns) criterion stored for `group/function/parameter`.
pub fn median_ns(group: &str, function: &str, parameter: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join(parameter)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

pub fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Prints, per size, the medians of `fast` and `slow` and slow/fast.
pub fn print_ratio_table(group: &str, fast: &str, slow: &str, sizes: &[u64]) {
    println!("\n{group}: {fast} vs {slow} (criterion medians)");
    println!(
        "{:>10} | {:>12} | {:>12} | {:>8}",
        "entries", fast, slow, "ratio"
    );
    for n in sizes {
        let p = n.to_string();
        match (median_ns(group, fast, &p), median_ns(group, slow, &p)) {
            (Some(f), Some(s)) => println!(
                "{n:>10} | {:>12} | {:>12} | {:>7.1}x",
                human(f),
                human(s),
                s / f
            ),
            _ => println!("{n:>10} | (not measured in this run)"),
        }
    }
}
