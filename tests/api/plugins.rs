//! The plugin runtime as a library: the PR component against the native
//! calculations, the compiled-component cache, the sandbox, `everfit plugins`.

use everfit::domain::records::{NativePrCalculator, PrCalculator};
use everfit::plugins::insight::Params;
use everfit::plugins::pr::CHUNK_SETS;
use everfit::plugins::{InsightPlugin, Limits, PluginEngine, PluginError, WasmPrCalculator};
use everfit_pr::{PersonalRecords, SetRecord};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn dist(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(file)
}

/// One engine and calculator for the property tests (compiling once).
fn calculator() -> &'static WasmPrCalculator {
    static CALC: OnceLock<WasmPrCalculator> = OnceLock::new();
    CALC.get_or_init(|| {
        let engine = PluginEngine::new(None).unwrap();
        WasmPrCalculator::builtin(&engine).unwrap()
    })
}

/// Sets with many ties: few ids, dates, weights on a 2.5 kg grid.
fn arb_set() -> impl Strategy<Value = SetRecord> {
    (0u32..6, 0i64..8, 0u32..4, 1u32..16, 0u32..80).prop_map(|(id, day, idx, reps, w)| SetRecord {
        entry_id: format!("{id:024x}"),
        date_ms: 1_780_000_000_000 + day * 86_400_000,
        set_index: idx,
        reps,
        weight_kg: f64::from(w) * 2.5,
    })
}

/// Sets whose ids are any short text (empty, of different lengths, not
/// ASCII): the component must order ids exactly as the host's strings do.
fn arb_set_any_id() -> impl Strategy<Value = SetRecord> {
    ("[ab\u{e9}]{0,3}", arb_set()).prop_map(|(id, set)| SetRecord {
        entry_id: id,
        ..set
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn pr_component_orders_any_entry_ids_like_the_host(
        sets in prop::collection::vec(arb_set_any_id(), 0..40),
        earlier in prop::collection::vec(arb_set_any_id(), 0..10),
    ) {
        let native = NativePrCalculator;
        let wasm = calculator();
        let current = PersonalRecords::compute(&earlier);
        prop_assert_eq!(
            wasm.fold(&current, &sets).unwrap(),
            native.fold(&current, &sets).unwrap()
        );
    }

    #[test]
    fn pr_component_gives_exactly_the_native_results(
        sets in prop::collection::vec(arb_set(), 0..60),
        earlier in prop::collection::vec(arb_set(), 0..20),
    ) {
        let native = NativePrCalculator;
        let wasm = calculator();
        prop_assert_eq!(wasm.compute(&sets).unwrap(), native.compute(&sets).unwrap());
        // Folding into existing records, as the worker does.
        let current = PersonalRecords::compute(&earlier);
        prop_assert_eq!(
            wasm.fold(&current, &sets).unwrap(),
            native.fold(&current, &sets).unwrap()
        );
    }
}

#[test]
fn pr_component_matches_native_across_chunks_and_without_the_pool() {
    let sets: Vec<SetRecord> = (0..(CHUNK_SETS as u32 * 2 + 17))
        .map(|i| SetRecord {
            entry_id: format!("{:024x}", i % 97),
            date_ms: i64::from(i % 365) * 86_400_000,
            set_index: i % 5,
            reps: 1 + (i * 7) % 12,
            weight_kg: f64::from((i * 37) % 200) * 1.25,
        })
        .collect();
    let native = NativePrCalculator.compute(&sets).unwrap();
    assert_eq!(calculator().compute(&sets).unwrap(), native);
    let engine = PluginEngine::new(None).unwrap();
    let fresh = WasmPrCalculator::builtin(&engine).unwrap().without_pool();
    assert_eq!(fresh.compute(&sets).unwrap(), native);
    assert_eq!(fresh.compute(&[]).unwrap(), PersonalRecords::default());
}

#[test]
fn compiled_components_are_cached_on_disk_and_reused() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(dist("progress.wasm")).unwrap();
    let engine = PluginEngine::new(Some(cache.path().to_path_buf())).unwrap();
    let first = engine.load(&bytes).unwrap();
    assert!(!first.from_cache);
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    // A new engine (a restart) with the same settings loads the cached artifact.
    let restarted = PluginEngine::new(Some(cache.path().to_path_buf())).unwrap();
    let second = restarted.load(&bytes).unwrap();
    assert!(second.from_cache);
    assert_eq!(second.sha256, first.sha256);
    // A corrupt cache file is replaced, not fatal.
    let path = std::fs::read_dir(cache.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&path, b"corrupt").unwrap();
    let third = PluginEngine::new(Some(cache.path().to_path_buf()))
        .unwrap()
        .load(&bytes)
        .unwrap();
    assert!(!third.from_cache);
    InsightPlugin::load(&restarted, &bytes, "progress.wasm", Limits::INSIGHT).unwrap();
}

#[test]
fn the_sandbox_stops_each_kind_of_misbehaviour() {
    let engine = PluginEngine::new(None).unwrap();
    let bytes = std::fs::read(dist("hostile.wasm")).unwrap();
    // A tighter budget than the server's, to keep the test quick.
    let limits = Limits {
        memory_bytes: 8 << 20,
        deadline: std::time::Duration::from_millis(200),
    };
    let plugin = InsightPlugin::load(&engine, &bytes, "hostile.wasm", limits).unwrap();
    let run = |mode: &str| {
        let params = Params(BTreeMap::from([("mode".to_string(), mode.to_string())]));
        plugin.compute(&[], &params)
    };
    assert_eq!(run("loop"), Err(PluginError::Timeout(limits.deadline)));
    assert_eq!(run("bomb"), Err(PluginError::MemoryLimit(8 << 20)));
    assert!(matches!(run("trap"), Err(PluginError::Trapped(m)) if m.contains("unreachable")));
    assert_eq!(
        run("fail"),
        Err(PluginError::Failed("asked to fail".into()))
    );
    // A fresh store per call: a trap earlier leaves no trace.
    assert_eq!(run("ok").unwrap().summary, "fine");
}

#[test]
fn a_std_plugin_runs_under_wasi_within_the_same_limits() {
    let engine = PluginEngine::new(None).unwrap();
    let bytes = std::fs::read(crate::wasi::fixture("wasi-probe.wasm")).unwrap();
    let limits = Limits {
        memory_bytes: 8 << 20,
        deadline: std::time::Duration::from_millis(200),
    };
    let plugin = InsightPlugin::load(&engine, &bytes, "wasi-probe.wasm", limits).unwrap();
    let run = |mode: &str| {
        let params = Params(BTreeMap::from([("mode".to_string(), mode.to_string())]));
        plugin.compute(&[], &params)
    };
    assert_eq!(run("std").unwrap().summary, "std works");
    let started = std::time::Instant::now();
    assert_eq!(run("sleep"), Err(PluginError::Timeout(limits.deadline)));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(
        matches!(run("panic"), Err(PluginError::Panicked(m)) if m.starts_with("cannot rank 0 entries")),
    );
    assert_eq!(run("spam").unwrap().summary, "spammed");
}

#[test]
fn loading_refuses_what_is_not_an_insight_plugin_with_a_reason() {
    let engine = PluginEngine::new(None).unwrap();
    let err = |bytes: &[u8]| {
        format!(
            "{:#}",
            InsightPlugin::load(&engine, bytes, "x.wasm", Limits::INSIGHT).unwrap_err()
        )
    };
    assert!(err(b"garbage").contains("not a valid WebAssembly component"));
    assert!(err(b"\0asm\x01\0\0\0").contains("not a valid WebAssembly component"));
    let pr = std::fs::read(dist("pr.wasm")).unwrap();
    let msg = err(&pr);
    assert!(
        msg.contains("not an insight plugin") && msg.contains("everfit:insights/pr@0.1.0"),
        "{msg}"
    );
    // And the PR calculator refuses an insight plugin.
    let progress = std::fs::read(dist("progress.wasm")).unwrap();
    let msg = format!(
        "{:#}",
        WasmPrCalculator::new(&engine, &progress).err().unwrap()
    );
    assert!(msg.contains("not a PR component"), "{msg}");
}

fn everfit(args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_everfit"))
        .args(args)
        .env("SQLITE_PATH", data.path().join("everfit.db"))
        .env_remove("PLUGINS_DIR")
        .output()
        .expect("runs everfit")
}

#[test]
fn cli_checks_and_runs_plugins() {
    let progress = dist("progress.wasm");
    let out = everfit(&["plugins", "check", progress.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("ok: insight plugin progress 0.1.0 (everfit:insights@0.1.0)"),
        "{stdout}"
    );

    let pr = dist("pr.wasm");
    let out = everfit(&["plugins", "check", pr.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: PR component"));

    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), b"nope").unwrap();
    let out = everfit(&["plugins", "check", garbage.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a usable plugin")
            && stderr.contains("not a valid WebAssembly component"),
        "{stderr}"
    );

    let out = everfit(&[
        "plugins",
        "run",
        progress.to_str().unwrap(),
        "--sample",
        "--param",
        "exercise=Bench Press",
        "--param",
        "period=month",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["plugin"], "progress");
    assert_eq!(json["params"]["period"], "month");
    let points = json["result"]["series"][0]["points"].as_array().unwrap();
    assert!(
        points.len() >= 12,
        "a year of monthly points: {}",
        points.len()
    );

    let out = everfit(&[
        "plugins",
        "run",
        progress.to_str().unwrap(),
        "--param",
        "period=daily",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--param period") && stderr.contains("--param exercise"),
        "{stderr}"
    );
}

#[test]
fn cli_check_lists_imports_and_refuses_one_never_provided() {
    let probe = crate::wasi::fixture("wasi-probe.wasm");
    let out = everfit(&["plugins", "check", probe.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "  param mode (required): one of std, panic, probe, sleep, spam - What to try",
        "  imports:",
        "    wasi:random/insecure-seed@0.2.6: provided (a random seed)",
        "    wasi:cli/stderr@0.2.6: provided (captured to the service log, 16 KiB per call)",
        "    wasi:filesystem/preopens@0.2.6: provided, denied by the sandbox (no folders)",
        "    wasi:sockets/tcp@0.2.6: provided, denied by the sandbox (no network)",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line:?} in\n{stdout}");
    }

    let foreign = crate::wasi::fixture("foreign-import.wasm");
    let out = everfit(&["plugins", "check", foreign.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("imports example:foreign/telemetry, which this host never provides"),
        "{stderr}"
    );
}

#[test]
fn cli_check_into_a_closed_pipe_ends_quietly() {
    // `everfit plugins check F | head -1`, with the reader gone before the
    // first line: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let data = tempfile::tempdir().unwrap();
    let probe = crate::wasi::fixture("wasi-probe.wasm");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_everfit"))
        .args(["plugins", "check", probe.to_str().unwrap()])
        .env("SQLITE_PATH", data.path().join("everfit.db"))
        .env_remove("PLUGINS_DIR")
        .stdout(writer)
        .output()
        .expect("runs everfit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?} {stderr}", out.status);
}
