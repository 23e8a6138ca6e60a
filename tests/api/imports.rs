//! CSV imports over HTTP: each format's fixture, re-imports, rejected rows
//! by line, and the export -> import round trip.

use crate::auth::call_csv;
use crate::helpers::*;
use crate::queue_support::{eventually, redis_jobs, redis_prefix, use_redis};
use serde_json::{Value, json};
use std::time::Duration;

per_store!(
    the_cli_sends_a_large_file_in_parts_and_reports_lines_in_the_file,
    each_fixture_imports_its_entries_and_reports_its_rejected_rows,
    a_re_import_adds_nothing,
    malformed_rows_and_files_are_reported,
    an_export_imports_back_to_equal_entries,
    on_the_embedded_queue_an_import_reports_its_progress,
);

#[tokio::test]
async fn on_redis_an_import_reports_its_progress() {
    let prefix = redis_prefix();
    let app = spawn_app_with(|c| use_redis(c, &prefix)).await;
    imports_through_the_queue(&app).await;
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

async fn on_the_embedded_queue_an_import_reports_its_progress() {
    let app = spawn_app_with(|c| c.queue = everfit::startup::config::QueueKind::Sqlite).await;
    imports_through_the_queue(&app).await;
    app.stop().await;
}

/// The 202 comes before the workers store the entries; GET follows them to
/// `done`, and a re-import once they are stored queues nothing.
async fn imports_through_the_queue(app: &TestApp) {
    let query = format!("userId={USER}&format=strong&unit=lb");
    let (status, view) = import(app, &query, &fixture("strong.csv")).await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(view["accepted"], 4, "{view}");
    let path = format!("/imports/{}?userId={USER}", view["id"].as_str().unwrap());
    eventually(
        "the import to be stored",
        Duration::from_secs(60),
        || async {
            let (_, got) = app.get_json(&path).await;
            got["status"] == "done" && got["stored"] == 4
        },
    )
    .await;
    assert_eq!(entries_of(app, USER).await.len(), 4);
    let (_, again) = import(app, &query, &fixture("strong.csv")).await;
    assert_eq!(again["accepted"], 0, "{again}");
    assert_eq!(again["alreadyImported"], 4, "{again}");
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../tests/fixtures/imports/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn import(app: &TestApp, query: &str, csv: &str) -> (u16, Value) {
    let r = call_csv(app, &format!("/imports?{query}"), None, csv).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn lines(view: &Value) -> Vec<u64> {
    view["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect()
}

/// The user's entries as (exercise, date, sets), oldest first.
async fn entries_of(app: &TestApp, user: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/workouts/export?userId={user}&format=ndjson"))
        .await;
    assert_eq!(r.status(), 200);
    let mut out: Vec<Value> = r
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            json!({ "exerciseName": v["exerciseName"], "date": v["date"], "sets": v["sets"] })
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

async fn each_fixture_imports_its_entries_and_reports_its_rejected_rows() {
    let app = spawn_app().await;
    let (status, view) = import(
        &app,
        &format!("userId={USER}&format=strong&unit=lb"),
        &fixture("strong.csv"),
    )
    .await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(view["accepted"], 4, "{view}");
    assert_eq!(lines(&view), [2, 9]);
    let entries = entries_of(&app, USER).await;
    assert_eq!(entries.len(), 4);
    let bench = entries
        .iter()
        .find(|e| {
            e["date"] == "2024-01-15T07:30:00Z" && e["exerciseName"] == "Bench Press (Barbell)"
        })
        .unwrap();
    assert_eq!(bench["sets"][2]["weight"], 155.0);
    assert_eq!(bench["sets"][2]["unit"], "lb");

    let path = format!("/imports/{}?userId={USER}", view["id"].as_str().unwrap());
    let (status, got) = app.get_json(&path).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "done");
    assert_eq!(got["stored"], 4);
    assert_eq!(got["accepted"], 4);
    // Another user's view of the import is a 404.
    let (status, other) = app
        .get_json(&format!(
            "/imports/{}?userId={OTHER_USER}",
            view["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 404);
    assert_eq!(other["code"], "import_not_found");

    let (status, view) = import(
        &app,
        &format!("userId={USER}&format=hevy"),
        &fixture("hevy.csv"),
    )
    .await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(view["accepted"], 3, "{view}");
    assert_eq!(lines(&view), [2, 6]);

    let (status, view) = import(
        &app,
        &format!("userId={USER}&format=everfit"),
        &fixture("everfit.csv"),
    )
    .await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(view["accepted"], 2, "{view}");
    assert!(lines(&view).is_empty());
    assert_eq!(entries_of(&app, USER).await.len(), 9);
    // Erasing the other client leaves this import; erasing this one removes it.
    let erase = |user: &'static str| {
        app.client
            .delete(format!("{}/users/{user}/workouts", app.address))
            .send()
    };
    assert_eq!(erase(OTHER_USER).await.unwrap().status(), 200);
    assert_eq!(app.get_json(&path).await.0, 200);
    assert_eq!(erase(USER).await.unwrap().status(), 200);
    assert_eq!(app.get_json(&path).await.0, 404);
}

async fn a_re_import_adds_nothing() {
    let app = spawn_app().await;
    let query = format!("userId={USER}&format=hevy");
    let (_, first) = import(&app, &query, &fixture("hevy.csv")).await;
    assert_eq!(first["accepted"], 3, "{first}");
    let before = entries_of(&app, USER).await;
    let (status, again) = import(&app, &query, &fixture("hevy.csv")).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["accepted"], 0, "{again}");
    assert_eq!(again["alreadyImported"], 3, "{again}");
    assert_eq!(again["status"], "done");
    assert_eq!(entries_of(&app, USER).await, before);
}

async fn malformed_rows_and_files_are_reported() {
    let app = spawn_app().await;
    let (status, view) = import(
        &app,
        &format!("userId={USER}&format=hevy"),
        &fixture("malformed.csv"),
    )
    .await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(lines(&view), [3, 4, 5, 6]);
    assert_eq!(
        view["rejected"][0]["reason"],
        "reps \"five\" is not a whole number"
    );
    assert_eq!(view["accepted"], 1);

    // A header of another format: nothing is imported.
    let (status, body) = import(
        &app,
        &format!("userId={USER}&format=strong"),
        &fixture("hevy.csv"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_csv");
    let (status, body) = import(&app, &format!("userId={USER}&format=fitbod"), "a,b\n").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["details"][0]["field"], "format");
    let r = app
        .client
        .post(format!("{}/imports?userId={USER}&format=hevy", app.address))
        .json(&json!({ "rows": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // A row whose values pass the parser but not the API's rules (over 1000 reps).
    let csv = "entryId,date,exerciseName,setIndex,reps,weight,unit,weightKg,idempotencyKey,version\n\
               ,2024-01-15T00:00:00Z,Squat,0,5000,100,kg,100,,1\n";
    let (status, view) = import(&app, &format!("userId={USER}&format=everfit"), csv).await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(lines(&view), [2]);
    assert!(
        view["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("sets[0].reps"),
        "{view}"
    );
    assert_eq!(entries_of(&app, USER).await.len(), 1);
}

async fn an_export_imports_back_to_equal_entries() {
    let app = spawn_app().await;
    app.log(
        USER,
        json!([
            entry(
                "Bench Press, \"paused\"",
                "2026-06-01T07:30:15.250Z",
                json!([ { "reps": 5, "weight": 140.25, "unit": "lb" },
                        { "reps": 3, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-02",
                json!([ { "reps": 5, "weight": 102.5, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-02",
                json!([ { "reps": 8, "weight": 90, "unit": "kg" } ])
            ),
        ]),
    )
    .await;
    let r = app
        .get(&format!("/workouts/export?userId={USER}&format=csv"))
        .await;
    let csv = r.text().await.unwrap();
    let (status, view) = import(&app, &format!("userId={OTHER_USER}&format=everfit"), &csv).await;
    assert_eq!(status, 202, "{view}");
    assert_eq!(view["accepted"], 3, "{view}");
    let original = entries_of(&app, USER).await;
    assert_eq!(original.len(), 3);
    assert_eq!(entries_of(&app, OTHER_USER).await, original);
}

/// Over 1 MiB: `everfit import` splits it, and every part is accepted.
async fn the_cli_sends_a_large_file_in_parts_and_reports_lines_in_the_file() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE\n",
    );
    let start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap()
        .and_hms_opt(6, 0, 0)
        .unwrap();
    let workouts = 3000;
    for w in 0..workouts {
        let at = (start + chrono::Duration::hours(w)).format("%Y-%m-%d %H:%M:%S");
        for exercise in ["Squat (Barbell)", "Bench Press (Barbell)"] {
            for set in 1..=2 {
                csv.push_str(&format!(
                    "{at},Full Body,1h,{exercise},{set},{},5,0,0,a note to make the row longer,,\n",
                    100 + set
                ));
            }
        }
    }
    // A cardio row far into the file (in the last part).
    csv.push_str("2001-01-01 06:00:00,Run,30m,Running,1,,,5,1800,,,\n");
    let cardio_line = 1 + workouts * 4 + 1;
    assert!(csv.len() > 1024 * 1024);
    let file = dir.path().join("strong.csv");
    std::fs::write(&file, &csv).unwrap();

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_everfit"))
        .current_dir(dir.path())
        .args([
            "import",
            file.to_str().unwrap(),
            "--user",
            USER,
            "--format",
            "strong",
            "--unit",
            "kg",
            "--url",
            &app.address,
        ])
        .env_clear()
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "{} entries accepted, 0 already imported, 1 rows rejected",
            workouts * 2
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("line {cardio_line}: no reps")),
        "{stdout}"
    );
    let ids: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("imports: "))
        .unwrap()
        .split(' ')
        .collect();
    assert!(ids.len() >= 2, "{stdout}");
    assert_eq!(entries_of(&app, USER).await.len(), (workouts * 2) as usize);
}
