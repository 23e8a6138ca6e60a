//! Insight plugins over HTTP: listing, the progress plugin end to end, the
//! chart, parameter validation, hostile plugins, hot reload and duplicate
//! names.

use crate::helpers::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

per_store!(
    lists_the_built_in_progress_plugin_with_its_parameters,
    progress_gives_weekly_best_e1rm_top_set_and_trend,
    bad_parameters_are_400s_naming_them_and_unknown_plugins_404,
    chart_is_an_svg_of_the_series,
    hostile_plugins_are_refused_or_stopped_and_the_server_keeps_serving,
    plugins_dropped_into_the_folder_are_hot_reloaded,
    a_misspelled_exercise_gets_suggestions,
    a_duplicate_plugin_name_never_replaces_the_plugin_serving,
);

async fn a_misspelled_exercise_gets_suggestions() {
    let app = spawn_app().await;
    log_three_weeks(&app).await;
    let (status, body) = app
        .get_json(&format!(
            "/insights/progress?userId={USER}&exercise=Bench%20Pres"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["suggestions"], json!(["Bench Press"]), "{body}");
    let (_, known) = app
        .get_json(&format!("/insights/progress?userId={USER}&exercise=squat"))
        .await;
    assert!(known.get("suggestions").is_none(), "{known}");
}

fn dist(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(file)
}

async fn log_three_weeks(app: &TestApp) {
    // Mondays 2026-06-01, 06-08, 06-15 (and a Sunday that belongs to the first week).
    app.log(USER, json!([
        entry("Bench Press", "2026-06-01", json!([ { "reps": 5, "weight": 100, "unit": "kg" }, { "reps": 10, "weight": 80, "unit": "kg" } ])),
        entry("bench press", "2026-06-07", json!([ { "reps": 1, "weight": 95, "unit": "kg" } ])),
        entry("Bench Press", "2026-06-09", json!([ { "reps": 5, "weight": 105, "unit": "kg" } ])),
        entry("Bench Press", "2026-06-16", json!([ { "reps": 3, "weight": 110, "unit": "kg" } ])),
        entry("Squat", "2026-06-16", json!([ { "reps": 5, "weight": 200, "unit": "kg" } ])),
    ])).await;
}

async fn lists_the_built_in_progress_plugin_with_its_parameters() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/insights").await;
    assert_eq!(status, 200, "{body}");
    let progress = listed_plugin(&body, "progress");
    assert_eq!(progress["interface"], "everfit:insights@0.1.0");
    assert_eq!(progress["source"], "built-in");
    let params: Vec<&str> = progress["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["exercise", "period", "unit"]);
    assert_eq!(progress["params"][0]["kind"]["type"], "exercise");
    assert_eq!(
        progress["params"][1]["kind"]["values"],
        json!(["week", "month"])
    );
    assert_eq!(body["refused"], json!([]));

    // The served document lists each installed plugin with its own
    // parameters (the built-in one here), not a template.
    let (_, doc) = app.get_json("/openapi.json").await;
    for path in [
        "/insights",
        "/insights/progress",
        "/insights/progress/chart.svg",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(doc["paths"]["/insights/{plugin}"].is_null());
    let documented: Vec<(&str, bool)> = doc["paths"]["/insights/progress"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["required"] == true))
        .collect();
    assert_eq!(
        documented,
        [
            ("userId", true),
            ("exercise", true),
            ("period", false),
            ("unit", false)
        ]
    );
    let (_, health) = app.get_json("/health").await;
    let backend = health["info"]["plugins"]["backend"].as_str().unwrap();
    assert!(
        backend.starts_with("wasm component everfit:insights/pr@0.1.0"),
        "{backend}"
    );
    assert!(backend.contains("progress"), "{backend}");
}

async fn progress_gives_weekly_best_e1rm_top_set_and_trend() {
    let app = spawn_app().await;
    log_three_weeks(&app).await;
    let (status, body) = app
        .get_json(&format!(
            "/insights/progress?userId={USER}&exercise=BENCH%20%20press"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plugin"], "progress");
    assert_eq!(body["userId"], USER);
    assert_eq!(
        body["params"],
        json!({ "exercise": "BENCH  press", "period": "week", "unit": "kg" })
    );
    let result = &body["result"];
    let series = |name: &str| -> Vec<(String, f64)> {
        result["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("series {name} in {result}"))["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["label"].as_str().unwrap().to_string(),
                    p["value"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    // Epley: 100 x 5 = 116.67 (beats 80 x 10 = 106.67 and 95 x 1 = 98.17); 105 x 5 = 122.5; 110 x 3 = 121.
    assert_eq!(
        series("best-e1rm"),
        [
            ("2026-06-01".into(), 116.67),
            ("2026-06-08".into(), 122.5),
            ("2026-06-15".into(), 121.0)
        ]
    );
    assert_eq!(
        series("top-set-weight"),
        [
            ("2026-06-01".into(), 100.0),
            ("2026-06-08".into(), 105.0),
            ("2026-06-15".into(), 110.0)
        ]
    );
    assert_eq!(series("volume")[0].1, 500.0 + 800.0 + 95.0);
    let first_point = &result["series"][0]["points"][0];
    assert_eq!(first_point["at"], "2026-06-01T00:00:00Z");
    let metric = |name: &str| {
        result["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("metric {name}"))
            .clone()
    };
    // Least squares over (0, 116.667), (1, 122.5), (2, 121): slope 2.1667 kg/week.
    assert_eq!(metric("e1rm-trend-per-week")["value"], 2.17);
    assert_eq!(metric("e1rm-trend-per-week")["unit"], "kg/week");
    assert_eq!(metric("best-e1rm")["value"], 122.5);
    assert_eq!(
        result["tables"][0]["rows"][2],
        json!(["2026-06-15", "121", "110 x 3", "330", "1"])
    );

    // Monthly, in pounds: one bucket.
    let (status, body) = app
        .get_json(&format!(
            "/insights/progress?userId={USER}&exercise=Bench%20Press&period=month&unit=lb"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let points = body["result"]["series"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0]["label"], "2026-06");
    assert_eq!(points[0]["value"], 270.07); // 122.5 kg / 0.45359237

    // Another user has nothing: 200 with empty series and a summary saying so.
    let (status, body) = app
        .get_json(&format!(
            "/insights/progress?userId={OTHER_USER}&exercise=Bench%20Press"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["series"][0]["points"], json!([]));
    assert!(
        body["result"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("No sets")
    );
}

async fn bad_parameters_are_400s_naming_them_and_unknown_plugins_404() {
    let app = spawn_app().await;
    let fields = |body: &Value| -> Vec<String> {
        body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, body) = app
        .get_json(&format!(
            "/insights/progress?userId={USER}&exercise=Squat&period=year"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_envelope(&body, 400, "/insights/progress");
    assert_eq!(fields(&body), ["period"]);
    assert!(
        body["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("week, month")
    );

    let (status, body) = app
        .get_json("/insights/progress?userId=nope&colour=red")
        .await;
    assert_eq!(status, 400);
    let mut f = fields(&body);
    f.sort();
    assert_eq!(f, ["colour", "exercise", "userId"]);

    let (status, body) = app
        .get_json(&format!("/insights/nosuch?userId={USER}"))
        .await;
    assert_eq!(status, 404);
    assert_envelope(&body, 404, "/insights/nosuch");
    assert!(body["message"].as_str().unwrap().contains("nosuch"));
}

async fn chart_is_an_svg_of_the_series() {
    let app = spawn_app().await;
    log_three_weeks(&app).await;
    let r = app
        .get(&format!(
            "/insights/progress/chart.svg?userId={USER}&exercise=Bench%20Press"
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    // best-e1rm and top-set-weight share kg; volume (kg*reps) is left out by default.
    assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
    assert!(svg.contains("Progress over time: Bench Press"));
    assert!(!svg.contains("<script"));

    let svg = app
        .get(&format!(
            "/insights/progress/chart.svg?userId={USER}&exercise=Bench%20Press&series=volume"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(svg.matches("<polyline").count(), 1);

    let (status, body) = app
        .get_json(&format!(
            "/insights/progress/chart.svg?userId={USER}&exercise=Bench%20Press&series=nope"
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["details"][0]["field"], "series");
}

async fn hostile_plugins_are_refused_or_stopped_and_the_server_keeps_serving() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(dist("hostile.wasm"), plugins.path().join("hostile.wasm")).unwrap();
    // Wrong world: the PR component is not an insight plugin.
    std::fs::copy(dist("pr.wasm"), plugins.path().join("pr-as-insight.wasm")).unwrap();
    std::fs::write(
        plugins.path().join("garbage.wasm"),
        b"this is not wasm at all",
    )
    .unwrap();
    // A valid, empty core module: WebAssembly, but not a component.
    std::fs::write(plugins.path().join("core-module.wasm"), b"\0asm\x01\0\0\0").unwrap();
    // The same name as a built-in: refused.
    std::fs::copy(
        dist("progress.wasm"),
        plugins.path().join("progress-copy.wasm"),
    )
    .unwrap();
    std::fs::write(plugins.path().join("notes.txt"), b"ignored: not *.wasm").unwrap();
    let dir = plugins.path().to_path_buf();
    let app = spawn_app_with(move |c| c.plugins_dir = Some(dir)).await;

    let (_, body) = app.get_json("/insights").await;
    let names: Vec<&str> = body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, built_in_and(&["hostile"]));
    let refused: Vec<(String, String)> = body["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["file"].as_str().unwrap().into(),
                p["error"].as_str().unwrap().into(),
            )
        })
        .collect();
    let reason = |file: &str| {
        refused
            .iter()
            .find(|(f, _)| f == file)
            .unwrap_or_else(|| panic!("{file} refused: {refused:?}"))
            .1
            .clone()
    };
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(reason("garbage.wasm").contains("not a valid WebAssembly component"));
    assert!(reason("core-module.wasm").contains("not a valid WebAssembly component"));
    assert!(
        reason("pr-as-insight.wasm").contains("not an insight plugin"),
        "{}",
        reason("pr-as-insight.wasm")
    );
    assert!(reason("progress-copy.wasm").contains("already taken by built-in"));

    let run = |mode: &str| format!("/insights/hostile?userId={USER}&mode={mode}");
    let cases = [
        ("loop", 504, "plugin_timeout"),
        ("bomb", 500, "plugin_memory_limit"),
        ("trap", 500, "plugin_trapped"),
        ("fail", 422, "plugin_failed"),
    ];
    for (mode, status, code) in cases {
        let (got, body) = app.get_json(&run(mode)).await;
        assert_eq!(got, status, "{mode}: {body}");
        assert_envelope(&body, status, "/insights/hostile");
        assert_eq!(body["code"], code, "{mode}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Plugin hostile: "),
            "{body}"
        );
    }
    // Still serving, plugins and everything else alike.
    let (status, body) = app.get_json(&run("ok")).await;
    assert_eq!(status, 200, "{body}");
    app.log(USER, single("Bench Press", "2026-06-01", 5, 100, "kg"))
        .await;
    let (status, _) = app
        .get_json(&format!(
            "/insights/progress?userId={USER}&exercise=Bench%20Press"
        ))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json("/health").await;
    assert_eq!(status, 200);
}

/// The built-in insight plugins.
pub const BUILT_IN: [&str; 5] = [
    "consistency",
    "muscle-volume",
    "plateaus",
    "progress",
    "rep-max",
];

/// The built-in plugins' names and `more`, sorted as `/insights` lists them.
pub fn built_in_and<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut names: Vec<&str> = BUILT_IN
        .iter()
        .copied()
        .chain(more.iter().copied())
        .collect();
    names.sort();
    names
}

/// Polls `/insights` until `want` holds (the folder is checked every 2 s).
async fn wait_for_plugins(app: &TestApp, want: impl Fn(&[&str]) -> bool) -> Vec<String> {
    let mut names = Vec::new();
    for _ in 0..150 {
        let (_, body) = app.get_json("/insights").await;
        names = body["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        if want(&refs) {
            return names;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("plugins never became as expected; last: {names:?}");
}

async fn plugins_dropped_into_the_folder_are_hot_reloaded() {
    let plugins = tempfile::tempdir().unwrap();
    let dir = plugins.path().to_path_buf();
    let app = spawn_app_with(move |c| c.plugins_dir = Some(dir)).await;
    assert_eq!(
        wait_for_plugins(&app, |n| n == built_in_and(&[])).await,
        built_in_and(&[])
    );

    std::fs::copy(dist("hostile.wasm"), plugins.path().join("hostile.wasm")).unwrap();
    wait_for_plugins(&app, |n| n == built_in_and(&["hostile"])).await;
    let (status, _) = app
        .get_json(&format!("/insights/hostile?userId={USER}&mode=ok"))
        .await;
    assert_eq!(status, 200);

    std::fs::remove_file(plugins.path().join("hostile.wasm")).unwrap();
    wait_for_plugins(&app, |n| n == built_in_and(&[])).await;
    let (status, _) = app
        .get_json(&format!("/insights/hostile?userId={USER}&mode=ok"))
        .await;
    assert_eq!(status, 404);
}

/// Polls `/insights` until `want` holds of the whole body.
async fn wait_for(app: &TestApp, want: impl Fn(&Value) -> bool) -> Value {
    let mut body = Value::Null;
    for _ in 0..150 {
        body = app.get_json("/insights").await.1;
        if want(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("/insights never became as expected; last: {body}");
}

fn source_of<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body["plugins"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["source"]
        .as_str()
}

fn refused(body: &Value, file: &str) -> Option<String> {
    body["refused"]
        .as_array()?
        .iter()
        .find(|p| p["file"] == file)
        .map(|p| p["error"].as_str().unwrap().to_string())
}

async fn a_duplicate_plugin_name_never_replaces_the_plugin_serving() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(dist("hostile.wasm"), plugins.path().join("m.wasm")).unwrap();
    let dir = plugins.path().to_path_buf();
    let app = spawn_app_with(move |c| c.plugins_dir = Some(dir)).await;
    let body = wait_for(&app, |b| source_of(b, "hostile").is_some()).await;
    assert_eq!(source_of(&body, "hostile"), Some("m.wasm"));

    // A newcomer whose file sorts first declares the same name: refused,
    // the plugin in service stays.
    std::fs::copy(dist("hostile.wasm"), plugins.path().join("a.wasm")).unwrap();
    let body = wait_for(&app, |b| refused(b, "a.wasm").is_some()).await;
    assert_eq!(source_of(&body, "hostile"), Some("m.wasm"), "{body}");
    let reason = refused(&body, "a.wasm").unwrap();
    assert!(
        reason.contains("\"hostile\" is already taken by m.wasm") && reason.contains("refused"),
        "{reason}"
    );
    // And it stays so over later reloads (another file changes).
    std::fs::copy(dist("hostile.wasm"), plugins.path().join("z.wasm")).unwrap();
    let body = wait_for(&app, |b| refused(b, "z.wasm").is_some()).await;
    assert_eq!(source_of(&body, "hostile"), Some("m.wasm"), "{body}");
    assert!(refused(&body, "a.wasm").is_some(), "{body}");
    let (status, _) = app
        .get_json(&format!("/insights/hostile?userId={USER}&mode=ok"))
        .await;
    assert_eq!(status, 200);

    // Once the serving file goes, the first of the others (by name) takes over.
    std::fs::remove_file(plugins.path().join("m.wasm")).unwrap();
    let body = wait_for(&app, |b| source_of(b, "hostile") == Some("a.wasm")).await;
    assert!(refused(&body, "z.wasm").is_some(), "{body}");
}
