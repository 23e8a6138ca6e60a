use crate::helpers::*;
use serde_json::{Value, json};

per_store!(
    logged_entries_are_stored_normalized_and_readable,
    an_entry_of_another_user_is_not_found,
    one_bad_entry_rejects_the_whole_batch,
    every_validation_rule_is_enforced_over_http,
    idempotency_key_returns_the_same_id_and_conflicts_on_other_content,
    concurrent_identical_keyed_submits_collapse_to_one_entry,
    data_survives_a_restart,
);

async fn logged_entries_are_stored_normalized_and_readable() {
    let app = spawn_app().await;
    let ids = app
        .log(
            USER,
            single(
                "  bench   Press ",
                "2026-06-09T10:00:00+02:00",
                5,
                225,
                "lb",
            ),
        )
        .await;
    assert_eq!(ids.len(), 1);
    let r = app
        .get(&format!("/workouts/{}?userId={USER}", ids[0]))
        .await;
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["exerciseName"], "bench Press");
    assert_eq!(body["muscleGroup"], "chest");
    assert_eq!(body["date"], "2026-06-09T08:00:00Z");
    assert_eq!(body["sets"][0]["weight"], 225.0);
    assert_eq!(body["sets"][0]["unit"], "lb");
    // Stored at full precision (102.05828325), presented with 2 decimals.
    assert_eq!(body["sets"][0]["weightKg"], 102.06);
    assert_eq!(body["idempotencyKey"], Value::Null);
}

async fn an_entry_of_another_user_is_not_found() {
    let app = spawn_app().await;
    let ids = app
        .log(USER, single("Squat", "2026-06-09", 5, 100, "kg"))
        .await;
    let (status, body) = app
        .get_json(&format!("/workouts/{}?userId={OTHER_USER}", ids[0]))
        .await;
    assert_eq!(status, 404);
    assert_envelope(&body, 404, &format!("/workouts/{}", ids[0]));
    let (status, _) = app
        .get_json(&format!("/workouts/{}?userId={USER}", "0".repeat(24)))
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .get_json(&format!("/workouts/nothex?userId={USER}"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["details"][0]["field"], "id");
}

async fn one_bad_entry_rejects_the_whole_batch() {
    let app = spawn_app().await;
    let r = app
        .post_workouts(&json!({ "userId": USER, "entries": [
            entry("Squat", "2026-06-09", json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])),
            entry("Squat", "2026-06-09", json!([ { "reps": 0, "weight": 100, "unit": "kg" } ])) ] }))
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 400, "/workouts");
    assert_eq!(body["message"], "Validation failed");
    assert_eq!(body["details"][0]["field"], "entries[1].sets[0].reps");
    let (_, history) = app
        .get_json(&format!("/workouts/history?userId={USER}"))
        .await;
    assert_eq!(history["count"], 0);
}

async fn every_validation_rule_is_enforced_over_http() {
    let app = spawn_app().await;
    let set = |s: Value| json!({ "userId": USER, "entries": [ entry("Squat", "2026-06-09", json!([s])) ] });
    let cases: Vec<(Value, &str)> = vec![
        (
            set(json!({ "reps": 1001, "weight": 1, "unit": "kg" })),
            "entries[0].sets[0].reps",
        ),
        (
            set(json!({ "reps": 1, "weight": -1, "unit": "kg" })),
            "entries[0].sets[0].weight",
        ),
        (
            set(json!({ "reps": 1, "weight": 1600, "unit": "kg" })),
            "entries[0].sets[0].weight",
        ),
        (
            set(json!({ "reps": 1, "weight": 1, "unit": "stone" })),
            "entries[0].sets[0].unit",
        ),
        (
            set(json!({ "reps": 1, "weight": 1, "unit": "kg", "rpe": 8 })),
            "entries[0].sets[0].rpe",
        ),
        (
            json!({ "userId": USER, "entries": [ entry("Squat", "2026-02-30", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "entries[0].date",
        ),
        (
            json!({ "userId": USER, "entries": [ entry("Squat", "2026-06-09T10:00:00", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "entries[0].date",
        ),
        (
            json!({ "userId": USER, "entries": [ entry("Squat", "1899-12-31", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "entries[0].date",
        ),
        (
            json!({ "userId": USER, "entries": [ entry("Squat", "2999-01-01", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "entries[0].date",
        ),
        (
            json!({ "userId": USER, "entries": [ entry("   ", "2026-06-09", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "entries[0].exerciseName",
        ),
        (json!({ "userId": USER, "entries": [] }), "entries"),
        (
            json!({ "userId": "abc", "entries": [ entry("Squat", "2026-06-09", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "userId",
        ),
        (
            json!({ "userId": USER, "entries": [ entry("Squat", "2026-06-09", json!([])) ] }),
            "entries[0].sets",
        ),
        (
            json!({ "userId": USER, "extra": true, "entries": [ entry("Squat", "2026-06-09", json!([{ "reps": 1, "weight": 1, "unit": "kg" }])) ] }),
            "extra",
        ),
    ];
    for (body, field) in cases {
        let r = app.post_workouts(&body).await;
        assert_eq!(r.status(), 400, "{body}");
        let got: Value = r.json().await.unwrap();
        assert!(
            got["details"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["field"] == field),
            "expected {field} in {got}"
        );
    }
}

async fn idempotency_key_returns_the_same_id_and_conflicts_on_other_content() {
    let app = spawn_app().await;
    let keyed = |reps: u32| {
        json!([ { "exerciseName": "Squat", "date": "2026-06-09", "idempotencyKey": "session-1",
        "sets": [ { "reps": reps, "weight": 100, "unit": "kg" } ] } ])
    };
    let first = app.log(USER, keyed(5)).await;
    let retry = app.log(USER, keyed(5)).await;
    assert_eq!(first, retry);
    let r = app
        .post_workouts(&json!({ "userId": USER, "entries": keyed(6) }))
        .await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 409, "/workouts");
    assert_eq!(body["details"][0]["field"], "entries[0].idempotencyKey");
    // The same key for another user is another entry.
    let other = app.log(OTHER_USER, keyed(5)).await;
    assert_ne!(other, first);
    let (_, h) = app
        .get_json(&format!("/workouts/history?userId={USER}"))
        .await;
    assert_eq!(h["count"], 1);
}

async fn concurrent_identical_keyed_submits_collapse_to_one_entry() {
    let app = spawn_app().await;
    let body = json!({ "userId": USER, "entries": [ { "exerciseName": "Deadlift", "date": "2026-06-09",
        "idempotencyKey": "race", "sets": [ { "reps": 3, "weight": 180, "unit": "kg" } ] } ] });
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, url, body) = (
            app.client.clone(),
            format!("{}/workouts", app.address),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap()["ids"][0].as_str().unwrap().to_string());
    }
    // Sixteen accepts, one stored entry: the id every retry got back.
    let (_, h) = app
        .get_json(&format!("/workouts/history?userId={USER}"))
        .await;
    assert_eq!(h["count"], 1, "{h}");
    for id in &ids {
        assert_eq!(h["items"][0]["id"], id.as_str());
    }
}

async fn data_survives_a_restart() {
    let app = spawn_app().await;
    let path = app.db_path.clone();
    let ids = app
        .log(USER, single("Squat", "2026-06-09", 5, 100, "kg"))
        .await;
    let dir = app.stop().await;
    let app = spawn_app_at(path).await;
    let (status, body) = app
        .get_json(&format!("/workouts/{}?userId={USER}", ids[0]))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = app
        .get(&format!("/workouts/prs?userId={USER}&exercise=squat"))
        .await;
    assert_eq!(r.headers()["x-pr-source"], "read-model");
    app.stop().await;
    drop(dir);
}
