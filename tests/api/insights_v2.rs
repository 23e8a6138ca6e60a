//! Interface 0.2.0 end to end: the built-in 0.2.0 insights over HTTP (entries
//! read in pages with their muscle groups, the date range passed and
//! applied, series labels and units in the chart), and paging over a large
//! client without HTTP.

use crate::helpers::*;
use everfit::plugins::insight::{CallInput, Params};
use everfit::plugins::{InsightPlugin, Limits, PluginEngine};
use serde_json::{Value, json};
use std::collections::BTreeMap;

per_store!(
    v0_2_0_plugins_are_listed_beside_0_1_0,
    weekly_volume_groups_by_muscle_and_keeps_to_the_range,
    the_range_is_validated_and_stays_a_plugin_parameter_for_0_1_0,
    rep_maxes_consistency_and_plateaus_end_to_end,
    exercises_are_shown_by_their_display_names,
    the_chart_uses_the_plugins_labels_and_units,
);

/// SQLite answers insights from packed chunks of entries, kept exact by
/// triggers. Entries stored before the chunk table existed are read once
/// the upgrade migration has listed their spans; a write into a span
/// already packed shows at once.
#[tokio::test]
async fn sqlite_insights_read_packed_chunks_and_entries_from_before_them() {
    let app = spawn_app().await;
    log_june(&app).await;
    let path = format!("/insights/muscle-volume?userId={USER}");
    let (status, before) = app.get_json(&path).await;
    assert_eq!(status, 200, "{before}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    let packed = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM insight_chunks WHERE packed_generation = generation",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        packed().await,
        3,
        "the three 30-day spans of the entries, packed by the first read"
    );
    assert_eq!(
        app.get_json(&path).await.1,
        before,
        "read back from the packed chunks"
    );

    // A database from before the chunks: no chunk lists the entries.
    sqlx::query("DELETE FROM insight_chunks")
        .execute(&pool)
        .await
        .unwrap();
    let (_, without) = app.get_json(&path).await;
    assert_ne!(without, before, "the entries are found through the chunks");
    let migration = include_str!("../../host/migrations/0008_insight_chunks.sql");
    let backfill = &migration[migration.rfind("INSERT INTO insight_chunks").unwrap()..];
    sqlx::raw_sql(sqlx::AssertSqlSafe(backfill))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(app.get_json(&path).await.1, before);

    // One more June set in a packed span: counted at once.
    app.log(
        USER,
        json!([entry("Squat", "2026-06-02", json!([set(5, 100.0)]))]),
    )
    .await;
    let (_, after) = app.get_json(&path).await;
    assert_ne!(after, before, "{after}");
    let legs = |r: &Value| {
        values(series(&r["result"], "volume-legs"))
            .iter()
            .sum::<f64>()
    };
    assert_eq!(legs(&after), legs(&before) + 500.0, "{after}");
}

fn set(reps: u32, kg: f64) -> Value {
    json!({ "reps": reps, "weight": kg, "unit": "kg" })
}

/// 2026-06-01 is a Monday.
async fn log_june(app: &TestApp) {
    app.log(
        USER,
        json!([
            // Week of 06-01: legs 3 sets (the 10 x 40 a warm-up), chest 1.
            entry(
                "Squat",
                "2026-06-01",
                json!([set(5, 100.0), set(5, 100.0), set(10, 40.0)])
            ),
            entry("Bench Press", "2026-06-03", json!([set(5, 80.0)])),
            // Week of 06-08: an exercise the catalogue does not know.
            entry("Zercher Carry", "2026-06-10", json!([set(10, 50.0)])),
            // Week of 06-15: nothing. Week of 06-22: chest.
            entry("bench press", "2026-06-24", json!([set(3, 90.0)])),
            // Outside the range asked for below.
            entry("Squat", "2026-07-20", json!([set(1, 150.0)])),
            entry("Squat", "2026-05-20", json!([set(1, 140.0)])),
        ]),
    )
    .await;
}

fn series<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("series {name} in {result}"))
}

fn values(s: &Value) -> Vec<f64> {
    s["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect()
}

fn metric(result: &Value, name: &str) -> f64 {
    result["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("metric {name} in {result}"))["value"]
        .as_f64()
        .unwrap()
}

async fn v0_2_0_plugins_are_listed_beside_0_1_0() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/insights").await;
    assert_eq!(status, 200, "{body}");
    let interface = |name: &str| listed_plugin(&body, name)["interface"].clone();
    assert_eq!(interface("progress"), "everfit:insights@0.1.0");
    for name in ["rep-max", "muscle-volume", "consistency", "plateaus"] {
        assert_eq!(interface(name), "everfit:insights@0.2.0", "{name}");
    }
    assert_eq!(body["refused"], json!([]));
}

async fn weekly_volume_groups_by_muscle_and_keeps_to_the_range() {
    let app = spawn_app().await;
    log_june(&app).await;
    let (status, body) = app
        .get_json(&format!(
            "/insights/muscle-volume?userId={USER}&from=2026-06-01&to=2026-06-30"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    // from/to are the host's, not the plugin's parameters.
    assert_eq!(body["params"], json!({ "hard-pct": "80", "unit": "kg" }));
    let result = &body["result"];
    // Five weeks of the range (06-29 starts the fifth), empty ones as zeros.
    let legs = series(result, "hard-sets-legs");
    assert_eq!(values(legs), [2.0, 0.0, 0.0, 0.0, 0.0], "{result}");
    assert_eq!(legs["label"], "Legs hard sets");
    assert_eq!(legs["unit"], "sets");
    assert_eq!(legs["points"][0]["label"], "2026-06-01");
    assert_eq!(
        values(series(result, "hard-sets-chest")),
        [1.0, 0.0, 0.0, 1.0, 0.0]
    );
    assert_eq!(
        values(series(result, "hard-sets-other")),
        [0.0, 1.0, 0.0, 0.0, 0.0]
    );
    // The May and July squats are outside the range: legs volume is June's only.
    assert_eq!(
        values(series(result, "volume-legs")),
        [1400.0, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(series(result, "volume-chest")["unit"], "kg x reps");
    assert_eq!(metric(result, "weeks"), 5.0);

    // With no range: every entry, weeks from the first to the last.
    let (_, all) = app
        .get_json(&format!("/insights/muscle-volume?userId={USER}&unit=lb"))
        .await;
    let legs = values(series(&all["result"], "volume-legs"));
    assert_eq!(legs.len(), 10, "2026-05-18 to 2026-07-20: {all}");
    assert_eq!(legs[0], 308.65, "140 kg in lb, rounded: {all}");
}

async fn the_range_is_validated_and_stays_a_plugin_parameter_for_0_1_0() {
    let app = spawn_app().await;
    let (status, body) = app
        .get_json(&format!("/insights/consistency?userId={USER}&from=June"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "from", "{body}");
    let (status, body) = app
        .get_json(&format!(
            "/insights/consistency?userId={USER}&from=2026-06-10&to=2026-06-01"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "from", "{body}");
    // A valid but absurd bound is cut to where workouts can lie: the
    // weekly insight does not walk 360,000 empty weeks out of its memory.
    log_june(&app).await;
    let (status, body) = app
        .get_json(&format!(
            "/insights/consistency?userId={USER}&from=2026-06-01&to=9279-03-26T15:32:14.71-03:39"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    // progress (0.1.0) declares no `from`: unknown there, as before.
    let (status, body) = app
        .get_json(&format!(
            "/insights/progress?userId={USER}&exercise=Squat&from=2026-06-01"
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "from", "{body}");
}

async fn rep_maxes_consistency_and_plateaus_end_to_end() {
    let app = spawn_app().await;
    log_june(&app).await;
    let (status, body) = app
        .get_json(&format!(
            "/insights/rep-max?userId={USER}&exercise=squat&to=2026-06-30"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["result"];
    // 1 rep: the 140 single in May beats the 5 x 100 (the July 150 is out of range).
    assert_eq!(metric(r, "actual-1rm"), 140.0, "{r}");
    assert_eq!(metric(r, "actual-5rm"), 100.0);
    assert_eq!(metric(r, "actual-10rm"), 40.0);
    assert_eq!(metric(r, "actual-8rm"), 40.0);
    // Best e1RM: 140 (a single) vs 100 x (1 + 5/30) = 116.67: 140.
    assert_eq!(metric(r, "estimated-1rm"), 140.0);
    assert_eq!(metric(r, "estimated-5rm"), 120.0);
    assert_eq!(r["tables"][0]["rows"][0][2], "2026-05-20");

    let (status, body) = app
        .get_json(&format!(
            "/insights/consistency?userId={USER}&from=2026-05-25&to=2026-06-30&min-sessions=1"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["result"];
    // The range's weeks, from its first (empty: the 05-20 squat is before it).
    assert_eq!(
        values(series(r, "sessions")),
        [0.0, 2.0, 1.0, 0.0, 1.0, 0.0],
        "{r}"
    );
    assert_eq!(series(r, "sessions")["points"][0]["label"], "2026-05-25");
    assert_eq!(series(r, "sessions")["label"], "Sessions per week");
    assert_eq!(metric(r, "sessions"), 4.0);
    assert_eq!(metric(r, "longest-streak"), 2.0);
    assert_eq!(metric(r, "current-streak"), 0.0);
    assert_eq!(metric(r, "longest-gap"), 14.0, "06-10 to 06-24: {r}");

    let (status, body) = app
        .get_json(&format!("/insights/plateaus?userId={USER}&weeks=4"))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["result"];
    let rows = r["tables"][0]["rows"].as_array().unwrap();
    let squat = rows
        .iter()
        .find(|row| row[0] == "Squat")
        .expect("squat row");
    // e1RM records: 140 on 05-20, then 150 on 07-20 (the June 116.67 is none).
    assert_eq!(squat[1], "150");
    assert_eq!(squat[2], "2026-07-20");
    assert_eq!(squat[5], "no");
    // As of the end of June: the last record was 05-20, six weeks before,
    // and squats were trained since: a plateau.
    let (_, body) = app
        .get_json(&format!(
            "/insights/plateaus?userId={USER}&exercise=Squat&to=2026-06-30&weeks=4"
        ))
        .await;
    let r = &body["result"];
    assert_eq!(r["tables"][0]["rows"][0][2], "2026-05-20", "{r}");
    assert_eq!(r["tables"][0]["rows"][0][5], "yes", "{r}");
    assert_eq!(metric(r, "plateaued"), 1.0);
}

async fn exercises_are_shown_by_their_display_names() {
    let app = spawn_app().await;
    log_june(&app).await;
    // Logged as "Bench Press" and later as "bench press": named as first
    // logged, whatever the caller typed.
    let (status, body) = app
        .get_json(&format!(
            "/insights/rep-max?userId={USER}&exercise=BENCH%20PRESS"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["summary"], "Bench Press: best estimated 1RM 99 kg (90 x 3 on 2026-06-24)",
        "{body}"
    );

    let (status, body) = app
        .get_json(&format!("/insights/plateaus?userId={USER}&weeks=4"))
        .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&Value> = body["result"]["tables"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row[0])
        .collect();
    assert_eq!(names, ["Bench Press", "Squat", "Zercher Carry"], "{body}");
    let (_, body) = app
        .get_json(&format!(
            "/insights/plateaus?userId={USER}&exercise=squat&to=2026-06-30&weeks=4"
        ))
        .await;
    assert_eq!(
        body["result"]["summary"], "1 of 1 exercises without an e1RM record in 4+ weeks: Squat",
        "{body}"
    );
}

async fn the_chart_uses_the_plugins_labels_and_units() {
    let app = spawn_app().await;
    log_june(&app).await;
    let r = app
        .get(&format!(
            "/insights/muscle-volume/chart.svg?userId={USER}&from=2026-06-01&to=2026-06-30"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let svg = r.text().await.unwrap();
    // The default: the series sharing the first one's unit (hard sets).
    assert!(svg.contains("Chest hard sets"), "{svg}");
    assert!(svg.contains("Legs hard sets"), "{svg}");
    assert!(!svg.contains("Chest volume"), "{svg}");
    assert!(svg.contains("\nsets\n"), "unit as the y title: {svg}");
}

/// A client far bigger than one page: every entry reaches the plugin.
#[test]
fn a_large_client_is_read_in_pages_to_the_last_entry() {
    let engine = PluginEngine::new(None).unwrap();
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/consistency.wasm"),
    )
    .unwrap();
    // A generous budget: this debug build converts the pages slowly.
    let limits = Limits::INSIGHT.with_deadline(std::time::Duration::from_secs(20));
    let plugin = InsightPlugin::load(&engine, &bytes, "built-in", limits).unwrap();
    // 60,000 entries, one a day: more than the 50,000 a 0.1.0 plugin gets,
    // and many pages of the guest's 4,096.
    let user: everfit::domain::UserId = USER.parse().unwrap();
    let start = chrono::DateTime::from_timestamp_millis(0).unwrap();
    let entries: Vec<everfit::domain::WorkoutEntry> = (0..60_000i64)
        .map(|i| {
            let at = start + chrono::Duration::days(i);
            everfit::domain::WorkoutEntry {
                id: everfit::domain::EntryId::generate(),
                user_id: user,
                exercise_name: "Squat".into(),
                exercise_name_lower: "squat".into(),
                date: at,
                sets: vec![everfit::domain::WorkoutSet::new(
                    5,
                    100.0,
                    everfit::domain::Unit::KG,
                )],
                idempotency_key: None,
                created_at: at,
                updated_at: at,
                version: 1,
            }
        })
        .collect();
    let params = Params(BTreeMap::from([(
        "min-sessions".to_string(),
        "7".to_string(),
    )]));
    let result = plugin
        .compute_for(&CallInput::all_time(&entries), &params, None)
        .unwrap();
    let metric = |name: &str| {
        result
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap()
            .value
    };
    assert_eq!(metric("sessions"), 60_000.0);
    assert_eq!(metric("longest-gap"), 1.0);
    // 1970-01-01 is a Thursday: the first week has 4 sessions, the last
    // (60,000 days on) is partial too; every full week in between has 7.
    assert_eq!(metric("weeks"), 8572.0);
    assert_eq!(metric("longest-streak"), 8570.0);
}
