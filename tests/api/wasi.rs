//! Plugins under the WASI sandbox, over HTTP: an ordinary std plugin works
//! (random, clocks, stdio), its panic message reaches `details`, and what
//! the sandbox denies (files, environment, arguments, network, sleeping past
//! the deadline) is denied while the server keeps serving. And the std Rust
//! example plugin (plugins/examples/rust-std) end to end.

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

per_store!(
    a_std_plugin_gets_random_clocks_and_stdio_and_its_panic_message,
    what_the_sandbox_denies_stays_denied_and_the_server_keeps_serving,
    the_std_rust_example_serves_rep_maxes,
);

/// The std test fixtures (built by tests/fixtures/plugins/build.sh).
pub fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/plugins")
        .join(file)
}

fn probe(mode: &str) -> String {
    format!("/insights/wasi-probe?userId={USER}&mode={mode}")
}

async fn app_with_probe(timeout: Duration) -> (TestApp, tempfile::TempDir) {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("wasi-probe.wasm"),
        plugins.path().join("wasi-probe.wasm"),
    )
    .unwrap();
    std::fs::copy(
        fixture("foreign-import.wasm"),
        plugins.path().join("foreign-import.wasm"),
    )
    .unwrap();
    let dir = plugins.path().to_path_buf();
    let app = spawn_app_with(move |c| {
        c.plugins_dir = Some(dir);
        c.plugin_timeout = timeout;
    })
    .await;
    let (_, body) = app.get_json("/insights").await;
    assert!(
        body["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "wasi-probe"),
        "the std plugin must load: {body}"
    );
    // A component importing what the host never provides is refused, the
    // import named.
    let refused = &body["refused"][0];
    assert_eq!(refused["file"], "foreign-import.wasm", "{body}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("imports example:foreign/telemetry, which this host never provides"),
        "{body}"
    );
    (app, plugins)
}

async fn a_std_plugin_gets_random_clocks_and_stdio_and_its_panic_message() {
    let (app, _plugins) = app_with_probe(Duration::from_secs(1)).await;
    app.log(USER, single("Bench Press", "2026-06-01", 5, 100, "kg"))
        .await;
    app.log(USER, single("Squat", "2026-06-02", 5, 140, "kg"))
        .await;

    let (status, body) = app.get_json(&probe("std")).await;
    assert_eq!(status, 200, "{body}");
    let metric = |name: &str| {
        body["result"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(metric("exercises"), 2.0);
    // The wall clock is the host's: after 2026-01-01.
    assert!(metric("now-ms") > 1_767_225_600_000.0, "{body}");

    let (status, body) = app.get_json(&probe("panic")).await;
    assert_eq!(status, 500, "{body}");
    assert_envelope(&body, 500, "/insights/wasi-probe");
    assert_eq!(body["code"], "plugin_trapped");
    assert_eq!(body["message"], "Plugin wasi-probe: plugin panicked");
    assert_eq!(body["details"][0]["field"], "panic");
    let panic = body["details"][0]["message"].as_str().unwrap();
    assert!(
        panic.starts_with("cannot rank 2 entries: the probe panics on request (at src/lib.rs:"),
        "{panic}"
    );
    // The wasm backtrace stays in the log.
    assert!(!body.to_string().contains("wasm function"), "{body}");
    assert!(!body.to_string().contains("backtrace"), "{body}");

    // A fresh store per call: the panic left nothing behind.
    let (status, _) = app.get_json(&probe("std")).await;
    assert_eq!(status, 200);
}

async fn what_the_sandbox_denies_stays_denied_and_the_server_keeps_serving() {
    let timeout = Duration::from_millis(300);
    let (app, _plugins) = app_with_probe(timeout).await;

    let (status, body) = app.get_json(&probe("probe")).await;
    assert_eq!(status, 200, "{body}");
    let rows = body["result"]["tables"][0]["rows"].as_array().unwrap();
    let attempts: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(
        attempts,
        [
            "read /etc/passwd",
            "read .",
            "create /tmp/probe",
            "environment",
            "HOME",
            "arguments",
            "tcp connect",
            "tcp listen",
            "udp bind",
            "name lookup"
        ]
    );
    for row in rows {
        let outcome = row[1].as_str().unwrap();
        assert!(outcome.starts_with("denied: "), "{row}");
    }

    // Sleeping is a host-side wait the epoch cannot interrupt: it must end
    // at the deadline all the same.
    let started = Instant::now();
    let (status, body) = app.get_json(&probe("sleep")).await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["code"], "plugin_timeout");
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(2),
        "{took:?}"
    );

    // 2 MiB of output: kept up to the cap, the call is unharmed.
    let (status, body) = app.get_json(&probe("spam")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["summary"], "spammed");

    let (status, _) = app.get_json(&probe("std")).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json("/health").await;
    assert_eq!(status, 200);
}

async fn the_std_rust_example_serves_rep_maxes() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples/rust-std.wasm"),
        plugins.path().join("rep-maxes.wasm"),
    )
    .unwrap();
    let dir = plugins.path().to_path_buf();
    let app = spawn_app_with(move |c| c.plugins_dir = Some(dir)).await;
    app.log(USER, single("Bench Press", "2026-06-01", 5, 100, "kg"))
        .await;
    app.log(USER, single("bench press", "2026-06-08", 3, 110, "kg"))
        .await;
    app.log(USER, single("Bench Press", "2026-06-15", 10, 180, "lb"))
        .await;
    app.log(USER, single("Squat", "2026-06-15", 1, 200, "kg"))
        .await;

    let (status, body) = app
        .get_json(&format!(
            "/insights/rep-maxes?userId={USER}&exercise=Bench%20Press"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    // 110 kg x 3 -> Epley 121 kg, the best of the three sets; squat excluded.
    assert_eq!(
        body["result"]["summary"],
        "best estimated 1RM 121.0 kg over 3 sets"
    );
    let rows: Vec<Vec<&str>> = body["result"]["tables"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect()
        })
        .collect();
    // 180 lb = 81.6 kg for 10 reps.
    assert_eq!(
        rows,
        [
            ["1", "110.0", "121.0"],
            ["3", "110.0", "110.0"],
            ["5", "100.0", "103.7"],
            ["8", "81.6", "95.5"],
            ["10", "81.6", "90.8"],
        ]
    );
    let (status, body) = app
        .get_json(&format!("/insights/rep-maxes?userId={USER}"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "exercise");
}
