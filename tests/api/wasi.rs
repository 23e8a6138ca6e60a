//! Plugins under the WASI sandbox, over HTTP: an ordinary std plugin works
//! (random, clocks, stdio), its panic message reaches `details`, and what
//! the sandbox denies (files, environment, arguments, network, sleeping past
//! the deadline) is denied while the server keeps serving. And the example
//! plugins of plugins/examples end to end: std Rust, Python
//! (componentize-py) and JavaScript (componentize-js), and the plugin
//! template (plugins/template, built into plugins/examples/template.wasm).

use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

per_store!(
    a_std_plugin_gets_random_clocks_and_stdio_and_its_panic_message,
    what_the_sandbox_denies_stays_denied_and_the_server_keeps_serving,
    the_std_rust_example_serves_rep_maxes,
    the_python_example_serves_weekly_volume,
    the_javascript_example_serves_training_frequency,
    the_plugin_template_serves_volume_per_exercise_and_week,
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

/// An app serving one example plugin of plugins/examples, copied into its
/// own PLUGINS_DIR (the TempDir must outlive the app).
async fn app_with_example(file: &str) -> (TestApp, tempfile::TempDir) {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/examples")
            .join(file),
        plugins.path().join(file),
    )
    .unwrap();
    let dir = plugins.path().to_path_buf();
    // The Python and JavaScript components take ~20 s of CPU each to
    // compile: one cache for every test and run (cargo keeps this folder).
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache");
    let app = spawn_app_with(move |c| {
        c.plugins_dir = Some(dir);
        c.plugin_cache_dir = cache;
    })
    .await;
    let (_, body) = app.get_json("/insights").await;
    assert_eq!(body["refused"], serde_json::json!([]), "{body}");
    (app, plugins)
}

/// A table's rows as strings.
fn rows(table: &serde_json::Value) -> Vec<Vec<&str>> {
    table["rows"]
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
        .collect()
}

/// A result's metric by name.
fn metric(body: &serde_json::Value, name: &str) -> f64 {
    body["result"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {body}"))["value"]
        .as_f64()
        .unwrap()
}

async fn the_std_rust_example_serves_rep_maxes() {
    let (app, _plugins) = app_with_example("rust-std.wasm").await;
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
    // 180 lb = 81.6 kg for 10 reps.
    assert_eq!(
        rows(&body["result"]["tables"][0]),
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

async fn the_python_example_serves_weekly_volume() {
    let (app, _plugins) = app_with_example("python.wasm").await;
    // Week 23 (June 1-7): 5 x 100 + 3 x 110 + 3 x 110 kg, in two entries;
    // week 24 empty; week 25: 10 x 180 lb. The squat is another exercise.
    app.log(USER, single("Bench Press", "2026-06-01", 5, 100, "kg"))
        .await;
    app.log(
        USER,
        serde_json::json!([entry(
            "bench press",
            "2026-06-07",
            serde_json::json!([
                { "reps": 3, "weight": 110, "unit": "kg" },
                { "reps": 3, "weight": 110, "unit": "kg" }
            ])
        )]),
    )
    .await;
    app.log(USER, single("Bench Press", "2026-06-15", 10, 180, "lb"))
        .await;
    app.log(USER, single("Squat", "2026-06-15", 5, 200, "kg"))
        .await;

    let url =
        |rest: &str| format!("/insights/weekly-volume?userId={USER}&exercise=Bench%20Press{rest}");
    let (status, body) = app.get_json(&url("")).await;
    assert_eq!(status, 200, "{body}");
    // 1800 lb = 816.5 kg.
    assert_eq!(
        body["result"]["summary"],
        "1976.5 kg of Bench Press over 3 weeks; best week 2026-W23 (1160.0 kg)"
    );
    let weeks = &body["result"]["tables"][0];
    assert_eq!(
        weeks["columns"],
        serde_json::json!(["week", "sets", "volume-kg"])
    );
    assert_eq!(
        rows(weeks),
        [
            ["2026-W23", "3", "1160.0"],
            ["2026-W24", "0", "0.0"],
            ["2026-W25", "1", "816.5"],
        ]
    );
    assert_eq!(metric(&body, "weeks"), 3.0);
    let series = &body["result"]["series"][0];
    assert_eq!(series["unit"], "kg");
    // Points start on the week's Monday, 00:00 UTC (2026-06-01, -08, -15).
    let starts: Vec<i64> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["atMs"].as_i64().unwrap())
        .collect();
    assert_eq!(
        starts,
        [1_780_272_000_000, 1_780_876_800_000, 1_781_481_600_000]
    );

    // In pounds, from the host's unit registry.
    let (status, body) = app.get_json(&url("&unit=lb")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        rows(&body["result"]["tables"][0]),
        [
            ["2026-W23", "3", "2557.4"],
            ["2026-W24", "0", "0.0"],
            ["2026-W25", "1", "1800.0"],
        ]
    );

    // The declared parameters are enforced by the host.
    let (status, body) = app.get_json(&url("&unit=stone")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "unit");
    let (status, body) = app
        .get_json(&format!("/insights/weekly-volume?userId={USER}"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "exercise");
}

async fn the_javascript_example_serves_training_frequency() {
    let (app, _plugins) = app_with_example("js.wasm").await;
    // Sessions are days with any entry: week 23 has two (June 1 twice, June
    // 3), week 24 one, week 25 none, week 26 three.
    for (exercise, date) in [
        ("Bench Press", "2026-06-01"),
        ("Squat", "2026-06-01"),
        ("Deadlift", "2026-06-03"),
        ("Bench Press", "2026-06-08"),
        ("Squat", "2026-06-22"),
        ("Bench Press", "2026-06-23"),
        ("Row", "2026-06-25"),
    ] {
        app.log(USER, single(exercise, date, 5, 100, "kg")).await;
    }

    let url = |rest: &str| format!("/insights/training-frequency?userId={USER}{rest}");
    let (status, body) = app.get_json(&url("")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["summary"],
        "6 sessions over 4 weeks (1.5 a week); longest streak 2 weeks of 1+; longest gap 13 days"
    );
    assert_eq!(
        rows(&body["result"]["tables"][0]),
        [
            ["2026-W23", "2"],
            ["2026-W24", "1"],
            ["2026-W25", "0"],
            ["2026-W26", "3"],
        ]
    );
    assert_eq!(metric(&body, "sessions-per-week"), 1.5);
    assert_eq!(metric(&body, "longest-streak"), 2.0);
    assert_eq!(metric(&body, "longest-gap"), 13.0);
    let points = body["result"]["series"][0]["points"].as_array().unwrap();
    assert_eq!(points[3]["atMs"], 1_782_086_400_000_i64, "{body}");
    assert_eq!(points[3]["label"], "2026-W26");

    // Weeks of two sessions or more: weeks 23 and 26, never in a row.
    let (status, body) = app.get_json(&url("&min-sessions=2")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(metric(&body, "longest-streak"), 1.0);
    let (status, body) = app.get_json(&url("&min-sessions=8")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "min-sessions");
}

async fn the_plugin_template_serves_volume_per_exercise_and_week() {
    let (app, _plugins) = app_with_example("template.wasm").await;
    let (_, body) = app.get_json("/insights").await;
    assert_eq!(
        listed_plugin(&body, "volume")["interface"],
        "everfit:insights@0.2.0"
    );

    // Week of June 1: 5 x 100 + 10 x 60 kg of bench press in two entries;
    // week of June 8 empty; week of June 15: 5 x 220 lb of squat. May is
    // outside the range.
    app.log(USER, single("Bench Press", "2026-06-01", 5, 100, "kg"))
        .await;
    app.log(USER, single("bench press", "2026-06-03", 10, 60, "kg"))
        .await;
    app.log(USER, single("Squat", "2026-06-17", 5, 220, "lb"))
        .await;
    app.log(USER, single("Squat", "2026-05-20", 5, 100, "kg"))
        .await;

    let url =
        |rest: &str| format!("/insights/volume?userId={USER}&from=2026-06-01&to=2026-06-21{rest}");
    let (status, body) = app.get_json(&url("")).await;
    assert_eq!(status, 200, "{body}");
    // 1100 lb = 498.95 kg.
    assert_eq!(
        body["result"]["summary"],
        "2 exercises, 1599 kg x reps of volume in 3 sets over 3 weeks"
    );
    assert_eq!(
        rows(&body["result"]["tables"][0]),
        [["Bench Press", "1100.0", "2"], ["Squat", "499.0", "1"]]
    );
    assert_eq!(metric(&body, "total-volume"), 1599.0);
    // Every week of the range, the empty one included, from its Monday.
    let volume = &body["result"]["series"][0];
    assert_eq!(volume["label"], "Weekly volume");
    assert_eq!(volume["unit"], "kg x reps");
    let points: Vec<(&str, i64, f64)> = volume["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["label"].as_str().unwrap(),
                p["atMs"].as_i64().unwrap(),
                p["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        points,
        [
            ("2026-06-01", 1_780_272_000_000, 1100.0),
            ("2026-06-08", 1_780_876_800_000, 0.0),
            ("2026-06-15", 1_781_481_600_000, 499.0),
        ]
    );

    // In pounds, from the host's unit registry.
    let (status, body) = app.get_json(&url("&unit=lb")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        rows(&body["result"]["tables"][0]),
        [["Bench Press", "2425.1", "2"], ["Squat", "1100.0", "1"]]
    );
    let (status, body) = app.get_json(&url("&unit=stone")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "unit");

    // The chart draws the template's label and unit.
    let r = app
        .get(&format!(
            "/insights/volume/chart.svg?userId={USER}&from=2026-06-01&to=2026-06-21"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let svg = r.text().await.unwrap();
    assert!(svg.contains("Weekly volume"), "{svg}");
    assert!(svg.contains("\nkg x reps\n"), "unit as the y title: {svg}");
}
