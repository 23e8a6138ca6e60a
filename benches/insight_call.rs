//! What one insight plugin call costs, sandbox included (a fresh store,
//! WASI context and instance per call, as the server runs them).
//!
//! - `insight_call/hostile_ok/0`: the fixed cost (a no_std plugin, no entries).
//! - `insight_call/progress/N`: the built-in plugin over one exercise's N entries.
//! - `insight_call/wasi_probe_std/N`: a std plugin (HashMap, eprintln!,
//!   SystemTime) over N entries.
//! - `wasi_context/new`: building the deny-by-default WASI context alone.
//!
//! Run: `cargo bench -p everfit --bench insight_call` (or `--profile dev` for
//! a quick, debug-host figure). Figures: BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use everfit::cli::plugins::sample_entries;
use everfit::plugins::insight::Params;
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

fn wasi_context(c: &mut Criterion) {
    c.bench_function("wasi_context/new", |b| {
        b.iter(|| black_box(Wasi::sandboxed()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = insight_call, wasi_context
}
criterion_main!(benches);
