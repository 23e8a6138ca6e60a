//! What one insight plugin call costs, sandbox included (a fresh store,
//! WASI context and instance per call, as the server runs them).
//!
//! - `insight_call/hostile_ok/0`: the fixed cost (a no_std plugin, no entries).
//! - `insight_call/progress/N`: the built-in plugin over one exercise's N entries.
//! - `insight_call/wasi_probe_std/N`: a std plugin (HashMap, eprintln!,
//!   SystemTime) over N entries.
//! - `wasi_context/new`: building the deny-by-default WASI context alone.
//! - `insight_call_v0_2_0/NAME/50000`: a built-in 0.2.0 insight over a
//!   50,000-entry client (175,000 sets), read in pages: the host's page
//!   conversion and the guest's work (the store read before the call is
//!   not included; see BENCHMARKS.md for the end-to-end figure).
//!
//! Run: `cargo bench -p everfit --bench insight_call` (or `--profile dev` for
//! a quick, debug-host figure). Figures: BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use everfit::cli::plugins::sample_entries;
use everfit::domain::{EntryId, Unit, WorkoutEntry, WorkoutSet};
use everfit::plugins::insight::{CallInput, Params};
use everfit::plugins::wasi::Wasi;
use everfit::plugins::{InsightPlugin, Limits, PluginEngine};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn params(pairs: &[(&str, &str)]) -> Params {
    Params(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn load(engine: &PluginEngine, file: &str) -> InsightPlugin {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let bytes = std::fs::read(&path).unwrap();
    InsightPlugin::load(engine, &bytes, file, Limits::INSIGHT).unwrap()
}

fn insight_call(c: &mut Criterion) {
    let engine = PluginEngine::new(None).unwrap();
    let bench = sample_entries(Some("bench press"));
    let all = sample_entries(None);
    let cases = [
        (
            "hostile_ok",
            "plugins/dist/hostile.wasm",
            params(&[("mode", "ok")]),
            &[][..],
        ),
        (
            "progress",
            "plugins/dist/progress.wasm",
            params(&[("exercise", "Bench Press")]),
            &bench[..],
        ),
        (
            "wasi_probe_std",
            "tests/fixtures/plugins/wasi-probe.wasm",
            params(&[("mode", "std")]),
            &all[..],
        ),
    ];
    let mut group = c.benchmark_group("insight_call");
    for (name, file, p, entries) in cases {
        let plugin = load(&engine, file);
        group.bench_with_input(BenchmarkId::new(name, entries.len()), entries, |b, e| {
            b.iter(|| plugin.compute(black_box(e), &p).unwrap())
        });
    }
    group.finish();
}

/// `n` entries, one every 40 minutes, over six catalogue exercises, with
/// 3 or 4 sets each (3.5 on average).
pub fn large_client(n: usize) -> Vec<WorkoutEntry> {
    let names = [
        "Squat",
        "Bench Press",
        "Deadlift",
        "Overhead Press",
        "Barbell Row",
        "Pull Up",
    ];
    let start = chrono::DateTime::from_timestamp_millis(1_600_000_000_000).unwrap();
    (0..n)
        .map(|i| {
            let at = start + chrono::Duration::minutes(40 * i as i64);
            let name = names[i % names.len()];
            let kg = 40.0 + (i % 97) as f64 * 1.25;
            WorkoutEntry {
                id: EntryId::generate(),
                user_id: "665f1c2b8a1e4d0012345678".parse().unwrap(),
                exercise_name: name.into(),
                exercise_name_lower: name.to_lowercase(),
                date: at,
                sets: (0..3 + i % 2)
                    .map(|s| WorkoutSet::new(5 + s as u32, kg - s as f64 * 2.5, Unit::KG))
                    .collect(),
                idempotency_key: None,
                created_at: at,
                updated_at: at,
                version: 1,
            }
        })
        .collect()
}

fn insight_call_v0_2_0(c: &mut Criterion) {
    let engine = PluginEngine::new(None).unwrap();
    let client = large_client(50_000);
    let input = CallInput::all_time(&client);
    let cases = [
        ("muscle-volume", params(&[])),
        ("consistency", params(&[])),
        ("plateaus", params(&[])),
        ("rep-max", params(&[("exercise", "squat")])),
    ];
    let mut group = c.benchmark_group("insight_call_v0_2_0");
    group.sample_size(20);
    for (name, p) in cases {
        let plugin = load(&engine, &format!("plugins/dist/{name}.wasm"));
        // rep-max is given one exercise's entries, as the server does.
        let input = if name == "rep-max" {
            let squats: Vec<_> = client
                .iter()
                .filter(|e| e.exercise_name_lower == "squat")
                .cloned()
                .collect();
            CallInput::all_time(&squats)
        } else {
            input.clone()
        };
        group.bench_with_input(
            BenchmarkId::new(name, input.entries.len()),
            &input,
            |b, i| b.iter(|| plugin.compute_for(black_box(i), &p, None).unwrap()),
        );
    }
    group.finish();
}

fn wasi_context(c: &mut Criterion) {
    c.bench_function("wasi_context/new", |b| {
        b.iter(|| black_box(Wasi::sandboxed()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = insight_call, insight_call_v0_2_0, wasi_context
}
criterion_main!(benches);
