//! A client's exercise list and PR board over HTTP: names as logged,
//! muscle groups, entry counts and dates, exact after edits and deletes;
//! the board row of each exercise is its single-exercise PR answer.

use crate::helpers::*;
use serde_json::{Value, json};

/// Rows written before the read model kept entry stats: the list is still
/// exact (computed from the entries), and the upgrade migration's backfill
/// fills them with the same numbers.
#[tokio::test]
async fn rows_from_before_entry_stats_are_read_exactly_and_backfilled() {
    let app = spawn_app().await;
    app.log(
        USER,
        json!([
            entry(
                "Squat",
                "2026-06-01",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-01T18:00:00Z",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-05",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Bench Press",
                "2026-06-02",
                json!([ { "reps": 5, "weight": 80, "unit": "kg" } ])
            ),
        ]),
    )
    .await;
    let path = format!("/workouts/exercises?userId={USER}");
    let (_, settled) = app.get_json(&path).await;
    assert_eq!(settled["exercises"][1]["entries"], 3, "{settled}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    let stats = "SELECT exercise_name_lower, entries, first_ms, last_ms FROM personal_records
                 UNION ALL SELECT exercise_name_lower || '@' || day, entries, first_ms, last_ms
                 FROM personal_record_days ORDER BY 1";
    let read = |pool: sqlx::SqlitePool| async move {
        sqlx::query_as::<_, (String, Option<i64>, Option<i64>, Option<i64>)>(stats)
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    let written = read(pool.clone()).await;
    assert_eq!(written.len(), 2 + 3);
    for table in ["personal_records", "personal_record_days"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET entries = NULL, first_ms = NULL, last_ms = NULL"
        )))
        .execute(&pool)
        .await
        .unwrap();
    }
    assert_eq!(app.get_json(&path).await.1, settled);
    let migration = include_str!("../../host/migrations/0006_entry_stats.sql");
    let backfill = &migration[migration.find("UPDATE").unwrap()..];
    sqlx::raw_sql(sqlx::AssertSqlSafe(backfill))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(read(pool.clone()).await, written);
    assert_eq!(app.get_json(&path).await.1, settled);
}

per_store!(
    exercises_list_counts_and_dates_and_follow_edits_and_deletes,
    the_board_equals_the_per_exercise_answers,
    exports_stream_every_entry_across_pages,
);

async fn exports_stream_every_entry_across_pages() {
    let app = spawn_app().await;
    // More than one export page (500 entries).
    for batch in 0..6 {
        let entries: Vec<Value> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                entry(
                    if n % 2 == 0 { "Squat" } else { "Bench, \"paused\"" },
                    &format!("2026-0{}-{:02}", 1 + n % 5, 1 + n % 28),
                    json!([ { "reps": 5, "weight": 140, "unit": "lb" }, { "reps": 3, "weight": 100, "unit": "kg" } ]),
                )
            })
            .collect();
        app.log(USER, Value::Array(entries)).await;
    }
    app.log(OTHER_USER, single("Row", "2026-06-01", 5, 60, "kg"))
        .await;
    let history = all_pages(&app, "", 100).await;
    assert_eq!(history.len(), 600);

    let r = app
        .get(&format!("/workouts/export?userId={USER}&format=ndjson"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, history, "newest first, each entry once");
    assert_eq!(lines[0]["sets"][0]["weightKg"], 63.5);

    let r = app
        .get(&format!("/workouts/export?userId={USER}&format=csv"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".csv\"")
    );
    let text = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "entryId",
            "date",
            "exerciseName",
            "setIndex",
            "reps",
            "weight",
            "unit",
            "weightKg",
            "idempotencyKey",
            "version"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1200, "one row per set");
    let mut csv_ids: Vec<String> = rows.iter().map(|r| r[0].to_string()).collect();
    csv_ids.dedup();
    assert_eq!(csv_ids, history);
    assert!(rows.iter().any(|r| &r[2] == "Bench, \"paused\""));

    for bad in [
        format!("?userId={USER}"),
        format!("?userId={USER}&format=xml"),
        "?format=csv".to_string(),
    ] {
        let (status, body) = app.get_json(&format!("/workouts/export{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_envelope(&body, 400, "/workouts/export");
    }
}

async fn exercises_list_counts_and_dates_and_follow_edits_and_deletes() {
    let app = spawn_app().await;
    let (status, empty) = app
        .get_json(&format!("/workouts/exercises?userId={USER}"))
        .await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        empty,
        json!({ "userId": USER, "count": 0, "exercises": [] })
    );

    let ids = app
        .log(
            USER,
            json!([
                entry(
                    "squat",
                    "2026-06-01",
                    json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
                ),
                entry(
                    "Bench Press",
                    "2026-06-02",
                    json!([ { "reps": 5, "weight": 80, "unit": "kg" } ])
                ),
                entry(
                    "Squat",
                    "2026-06-09T18:30:00Z",
                    json!([ { "reps": 3, "weight": 120, "unit": "kg" } ])
                ),
                entry(
                    "Zercher Carry",
                    "2026-06-03",
                    json!([ { "reps": 1, "weight": 60, "unit": "kg" } ])
                ),
            ]),
        )
        .await;
    app.log(OTHER_USER, single("Deadlift", "2026-06-01", 5, 150, "kg"))
        .await;
    let (status, body) = app
        .get_json(&format!("/workouts/exercises?userId={USER}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "userId": USER, "count": 3, "exercises": [
            { "exerciseName": "Bench Press", "muscleGroup": "chest", "entries": 1,
              "firstDate": "2026-06-02T00:00:00Z", "lastDate": "2026-06-02T00:00:00Z" },
            { "exerciseName": "Squat", "muscleGroup": "legs", "entries": 2,
              "firstDate": "2026-06-01T00:00:00Z", "lastDate": "2026-06-09T18:30:00Z" },
            { "exerciseName": "Zercher Carry", "muscleGroup": null, "entries": 1,
              "firstDate": "2026-06-03T00:00:00Z", "lastDate": "2026-06-03T00:00:00Z" },
        ] })
    );

    // The newest squat moves to bench press, the carry goes.
    let moved = json!({ "exerciseName": "bench press", "date": "2026-06-04",
        "sets": [ { "reps": 5, "weight": 85, "unit": "kg" } ] });
    let r = app
        .client
        .put(format!("{}/workouts/{}?userId={USER}", app.address, ids[2]))
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = app
        .client
        .delete(format!("{}/workouts/{}?userId={USER}", app.address, ids[3]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let (_, body) = app
        .get_json(&format!("/workouts/exercises?userId={USER}"))
        .await;
    let rows: Vec<(String, u64, String)> = body["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["exerciseName"].as_str().unwrap().to_string(),
                e["entries"].as_u64().unwrap(),
                e["lastDate"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "bench press".to_string(),
                2,
                "2026-06-04T00:00:00Z".to_string()
            ),
            // The name as last logged, even when that entry moved on.
            ("Squat".to_string(), 1, "2026-06-01T00:00:00Z".to_string()),
        ]
    );

    for bad in ["", "?userId=nope", &format!("?userId={USER}&extra=1")] {
        let (status, body) = app.get_json(&format!("/workouts/exercises{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_envelope(&body, 400, "/workouts/exercises");
    }
}

/// The records of a PR answer or a board row (the fields they share).
fn records_of(v: &Value) -> Value {
    json!([v["heaviestSet"], v["highestVolumeSet"], v["bestOneRepMax"]])
}

async fn the_board_equals_the_per_exercise_answers() {
    let app = spawn_app().await;
    let (status, empty) = app.get_json(&format!("/workouts/prs?userId={USER}")).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["exercises"], json!([]));
    app.log(
        USER,
        json!([
            entry(
                "Squat",
                "2026-05-03",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-10",
                json!([ { "reps": 3, "weight": 120.5, "unit": "kg" } ])
            ),
            entry(
                "Bench Press",
                "2026-06-20",
                json!([ { "reps": 8, "weight": 140, "unit": "lb" } ])
            ),
            entry(
                "Deadlift",
                "2026-05-15",
                json!([ { "reps": 1, "weight": 200, "unit": "kg" } ])
            ),
        ]),
    )
    .await;
    app.log(OTHER_USER, single("Row", "2026-06-01", 5, 60, "kg"))
        .await;

    for unit in ["kg", "lb"] {
        for window in ["", "&from=2026-06-01&to=2026-06-30", "&from=2026-05-10"] {
            let (status, board) = app
                .get_json(&format!("/workouts/prs?userId={USER}&unit={unit}{window}"))
                .await;
            assert_eq!(status, 200, "{board}");
            let rows = board["exercises"].as_array().unwrap();
            assert_eq!(board["count"], rows.len());
            assert!(!rows.is_empty());
            let mut names = Vec::new();
            for row in rows {
                let name = row["exerciseName"].as_str().unwrap();
                names.push(name.to_string());
                let (_, one) = app
                    .get_json(&format!(
                        "/workouts/prs?userId={USER}&unit={unit}{window}&exercise={}",
                        name.replace(' ', "%20")
                    ))
                    .await;
                assert_eq!(
                    records_of(row),
                    records_of(&one["current"]),
                    "{name}{window}"
                );
            }
            // Every exercise with records in the window has its row.
            for name in ["Bench Press", "Deadlift", "Squat"] {
                if !names.iter().any(|n| n == name) {
                    let (_, one) = app
                        .get_json(&format!(
                            "/workouts/prs?userId={USER}{window}&exercise={}",
                            name.replace(' ', "%20")
                        ))
                        .await;
                    assert_eq!(one["current"]["heaviestSet"], Value::Null, "{name}{window}");
                }
            }
        }
    }

    let (_, june) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&from=2026-06-01&to=2026-06-30&sort=lastPr"
        ))
        .await;
    let names: Vec<&str> = june["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["exerciseName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bench Press", "Squat"]); // set this month, newest first
    assert_eq!(june["sort"], "lastPr");
    assert_eq!(june["range"]["from"], "2026-06-01T00:00:00Z");
    assert_eq!(june["exercises"][1]["lastPrDate"], "2026-06-10T00:00:00Z");
    assert_eq!(june["exercises"][0]["muscleGroup"], "chest");
    let (_, by_name) = app.get_json(&format!("/workouts/prs?userId={USER}")).await;
    let names: Vec<&str> = by_name["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["exerciseName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bench Press", "Deadlift", "Squat"]);
    assert_eq!(by_name["sort"], "name");
    assert_eq!(by_name["range"], Value::Null);
}
