//! What running PR calculations in the WebAssembly component costs.
//!
//! - `pr_compute/{native,wasm_pooled,wasm_fresh}/N`: computing records over N
//!   sets (10, 1 000, 100 000): natively, through a warm pooled instance (what
//!   the server does), and instantiating for every call (what insight plugins do).
//! - `component_start/{compile,cached}`: loading the PR component cold
//!   (cranelift compile) vs from the on-disk cache (deserialize).
//! - `epoch_deadline/{on,off}/100000`: the cost of the deadline checks
//!   (epoch interruption) on the largest input.
//!
//! Run: `cargo bench -p everfit --bench pr_component`. Figures: README, Plugins.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use everfit::domain::records::{NativePrCalculator, PrCalculator};
use everfit::plugins::{PluginEngine, WasmPrCalculator, builtin};
use everfit_pr::SetRecord;
use std::hint::black_box;
use std::time::Duration;

fn sets(n: usize) -> Vec<SetRecord> {
    (0..n as u64)
        .map(|i| SetRecord {
            entry_id: format!("{:024x}", i / 4),
            date_ms: 1_700_000_000_000 + (i as i64 / 4) * 86_400_000,
            set_index: (i % 4) as u32,
            reps: 1 + ((i * 7) % 12) as u32,
            weight_kg: ((i * 37) % 200) as f64 * 1.25,
        })
        .collect()
}

fn pr_compute(c: &mut Criterion) {
    let engine = PluginEngine::new(None).unwrap();
    let pooled = WasmPrCalculator::builtin(&engine).unwrap();
    let fresh = WasmPrCalculator::builtin(&engine).unwrap().without_pool();
    let mut group = c.benchmark_group("pr_compute");
    for n in [10usize, 1_000, 100_000] {
        let input = sets(n);
        group.throughput(Throughput::Elements(n as u64));
        if n >= 100_000 {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::new("native", n), &input, |b, s| {
            b.iter(|| NativePrCalculator.compute(black_box(s)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("wasm_pooled", n), &input, |b, s| {
            b.iter(|| pooled.compute(black_box(s)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("wasm_fresh", n), &input, |b, s| {
            b.iter(|| fresh.compute(black_box(s)).unwrap())
        });
    }
    group.finish();
}

fn component_start(c: &mut Criterion) {
    let mut group = c.benchmark_group("component_start");
    group.sample_size(20);
    let uncached = PluginEngine::new(None).unwrap();
    group.bench_function("compile", |b| {
        b.iter(|| uncached.load(black_box(builtin::PR_COMPONENT)).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    let cached = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
    cached.load(builtin::PR_COMPONENT).unwrap();
    group.bench_function("cached", |b| {
        b.iter(|| {
            let loaded = cached.load(black_box(builtin::PR_COMPONENT)).unwrap();
            assert!(loaded.from_cache);
            loaded
        })
    });
    group.finish();
}

fn epoch_deadline(c: &mut Criterion) {
    let input = sets(100_000);
    let with = PluginEngine::new(None).unwrap();
    let without = PluginEngine::without_deadlines_for_benchmarks().unwrap();
    let on = WasmPrCalculator::builtin(&with).unwrap();
    let off = WasmPrCalculator::builtin(&without).unwrap();
    let mut group = c.benchmark_group("epoch_deadline");
    group.sample_size(20);
    group.bench_with_input(BenchmarkId::new("on", 100_000), &input, |b, s| {
        b.iter(|| on.compute(black_box(s)).unwrap())
    });
    group.bench_with_input(BenchmarkId::new("off", 100_000), &input, |b, s| {
        b.iter(|| off.compute(black_box(s)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = pr_compute, component_start, epoch_deadline
}
criterion_main!(benches);
