//! Correcting the log over HTTP: PUT and DELETE /workouts/{id}, erasure,
//! and PR answers that never contradict the history, on every queue.

use crate::helpers::*;
use crate::queue_support::*;
use everfit::startup::config::{Config, QueueKind};
use serde_json::{Value, json};
use std::time::Duration;

per_store!(
    an_edit_replaces_the_entry_and_corrects_the_prs,
    bad_edits_are_refused_and_change_nothing,
    if_match_makes_an_edit_conditional,
    a_deleted_entry_is_gone_and_its_key_stays_reserved,
    erasure_removes_a_client_and_says_how_much_went,
    edits_on_the_embedded_queue,
    edits_on_the_redis_queue,
    racing_edits_on_the_embedded_queue,
    racing_edits_on_the_redis_queue,
    pr_reads_include_what_history_shows_while_the_pr_queue_waits,
);

fn put_body(exercise: &str, date: &str, reps: u32, weight: f64) -> Value {
    json!({ "exerciseName": exercise, "date": date,
        "sets": [ { "reps": reps, "weight": weight, "unit": "kg" } ] })
}

impl TestApp {
    pub async fn put_entry(
        &self,
        id: &str,
        user: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .put(format!("{}/workouts/{id}?userId={user}", self.address))
            .json(body);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        req.send().await.expect("request")
    }

    pub async fn delete_entry(
        &self,
        id: &str,
        user: &str,
        if_match: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .delete(format!("{}/workouts/{id}?userId={user}", self.address));
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        req.send().await.expect("request")
    }

    pub async fn prs(&self, exercise: &str) -> (String, Value) {
        let r = self
            .get(&format!("/workouts/prs?userId={USER}&exercise={exercise}"))
            .await;
        assert_eq!(r.status(), 200);
        let source = r.headers()["x-pr-source"].to_str().unwrap().to_string();
        (source, r.json().await.unwrap())
    }
}

fn heaviest(prs: &Value) -> &Value {
    &prs["current"]["heaviestSet"]["weight"]
}

async fn an_edit_replaces_the_entry_and_corrects_the_prs() {
    let app = spawn_app().await;
    let keyed = json!([ { "exerciseName": "Bench Press", "date": "2026-06-01", "idempotencyKey": "typo",
        "sets": [ { "reps": 5, "weight": 1000, "unit": "kg" } ] } ]);
    let id = app.log(USER, keyed).await.remove(0);
    app.log(USER, single("Bench Press", "2026-06-02", 5, 90, "kg"))
        .await;
    assert_eq!(heaviest(&app.prs("bench%20press").await.1), 1000.0);

    let r = app.get(&format!("/workouts/{id}?userId={USER}")).await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let before: Value = r.json().await.unwrap();
    assert_eq!(before["version"], 1);

    let r = app
        .put_entry(
            &id,
            USER,
            &put_body("Bench Press", "2026-06-01", 5, 100.0),
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({ "id": id, "version": 2, "deleted": false }));

    let after: Value = app
        .get(&format!("/workouts/{id}?userId={USER}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["sets"][0]["weight"], 100.0);
    assert_eq!(after["version"], 2);
    for same in ["id", "idempotencyKey", "createdAt", "userId"] {
        assert_eq!(after[same], before[same], "{same}");
    }
    assert_ne!(after["updatedAt"], before["updatedAt"]);
    let (source, prs) = app.prs("bench%20press").await;
    assert_eq!(heaviest(&prs), 100.0, "{prs}");
    assert_eq!(source, "read-model");
    // A rename moves the entry to another exercise's records.
    app.put_entry(
        &id,
        USER,
        &put_body("Incline Bench", "2026-06-03", 3, 80.0),
        None,
    )
    .await;
    assert_eq!(heaviest(&app.prs("bench%20press").await.1), 90.0);
    assert_eq!(heaviest(&app.prs("incline%20bench").await.1), 80.0);
}

async fn bad_edits_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let id = app
        .log(USER, single("Squat", "2026-06-01", 5, 100, "kg"))
        .await
        .remove(0);
    let bad =
        json!({ "exerciseName": "", "date": "2026-02-30", "sets": [], "idempotencyKey": "x" });
    let r = app.put_entry(&id, USER, &bad, None).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 400, &format!("/workouts/{id}"));
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["idempotencyKey", "exerciseName", "date", "sets"]);
    let (_, stored) = app.get_json(&format!("/workouts/{id}?userId={USER}")).await;
    assert_eq!(stored["version"], 1);

    let good = put_body("Squat", "2026-06-01", 5, 110.0);
    // Unknown id, another client's id: 404; a malformed id: 400.
    for (target, user, status) in [
        ("665f1c2b8a1e4d00ffffffff", USER, 404),
        (id.as_str(), OTHER_USER, 404),
        ("nope", USER, 400),
    ] {
        let r = app.put_entry(target, user, &good, None).await;
        assert_eq!(r.status().as_u16(), status, "PUT {target} as {user}");
        let r = app.delete_entry(target, user, None).await;
        assert_eq!(r.status().as_u16(), status, "DELETE {target} as {user}");
        let body: Value = r.json().await.unwrap();
        assert_envelope(&body, status, &format!("/workouts/{target}"));
    }
    let (_, stored) = app.get_json(&format!("/workouts/{id}?userId={USER}")).await;
    assert_eq!(stored["version"], 1);
}

async fn if_match_makes_an_edit_conditional() {
    let app = spawn_app().await;
    let id = app
        .log(USER, single("Squat", "2026-06-01", 5, 100, "kg"))
        .await
        .remove(0);
    let edit = put_body("Squat", "2026-06-01", 5, 105.0);
    assert_eq!(
        app.put_entry(&id, USER, &edit, Some("\"1\""))
            .await
            .status(),
        202
    );
    let r = app.put_entry(&id, USER, &edit, Some("\"1\"")).await;
    assert_eq!(r.status(), 412);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "precondition_failed", "{body}");
    assert_eq!(
        app.delete_entry(&id, USER, Some("\"1\"")).await.status(),
        412
    );
    let r = app.put_entry(&id, USER, &edit, Some("W/\"2\"")).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        app.put_entry(&id, USER, &edit, Some("*")).await.status(),
        202
    );
    assert_eq!(
        app.delete_entry(&id, USER, Some("\"3\"")).await.status(),
        202
    );
}

async fn a_deleted_entry_is_gone_and_its_key_stays_reserved() {
    let app = spawn_app().await;
    let logged = json!([ { "exerciseName": "Deadlift", "date": "2026-06-01", "idempotencyKey": "dl-1",
        "sets": [ { "reps": 1, "weight": 300, "unit": "kg" } ] } ]);
    let id = app.log(USER, logged.clone()).await.remove(0);
    app.log(USER, single("Deadlift", "2026-06-02", 5, 200, "kg"))
        .await;
    let r = app.delete_entry(&id, USER, None).await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({ "id": id, "version": 2, "deleted": true }));
    assert_eq!(
        app.get(&format!("/workouts/{id}?userId={USER}"))
            .await
            .status(),
        404
    );
    assert_eq!(heaviest(&app.prs("deadlift").await.1), 200.0);
    // A late retry of the original POST: same answer, nothing comes back.
    assert_eq!(app.log(USER, logged).await, vec![id.clone()]);
    let ids = all_pages(&app, "", 100).await;
    assert_eq!(ids.len(), 1);
    assert!(!ids.contains(&id));
    // Nothing follows a delete.
    let r = app
        .put_entry(&id, USER, &put_body("Deadlift", "2026-06-01", 1, 1.0), None)
        .await;
    assert_eq!(r.status(), 404);
}

async fn erasure_removes_a_client_and_says_how_much_went() {
    let app = spawn_app().await;
    for day in 1..=3 {
        app.log(
            USER,
            single("Squat", &format!("2026-06-0{day}"), 5, 100, "kg"),
        )
        .await;
    }
    app.log(OTHER_USER, single("Squat", "2026-06-01", 5, 60, "kg"))
        .await;
    let r = app
        .client
        .delete(format!("{}/users/{USER}/workouts", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "userId": USER, "deletedEntries": 3, "deletedJobs": 0 })
    );
    assert!(all_pages(&app, "", 100).await.is_empty());
    let (_, prs) = app.prs("squat").await;
    assert!(prs["current"]["heaviestSet"].is_null(), "{prs}");
    let (_, theirs) = app
        .get_json(&format!("/workouts/history?userId={OTHER_USER}"))
        .await;
    assert_eq!(theirs["count"], 1);
    let r = app
        .client
        .delete(format!("{}/users/not-an-id/workouts", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// The edit scenarios on a durable queue, with the workers started by the
/// test so that jobs wait.
async fn edits_apply_in_accept_order_and_nothing_resurrects(app: &TestApp, worker: Config) {
    let id = app
        .log(USER, single("Squat", "2026-06-01", 5, 100, "kg"))
        .await
        .remove(0);
    let (stop, handle) = spawn_worker(worker.clone());
    eventually("the entry", Duration::from_secs(60), || async {
        app.get(&format!("/workouts/{id}?userId={USER}"))
            .await
            .status()
            == 200
    })
    .await;
    let _ = stop.send(());
    handle.await.unwrap().unwrap();

    // Three edits wait on the queue; If-Match is checked against what was
    // accepted, not only what was applied.
    let edits = [110.0, 120.0, 115.0];
    for (n, kg) in edits.iter().enumerate() {
        let r = app
            .put_entry(&id, USER, &put_body("Squat", "2026-06-01", 5, *kg), None)
            .await;
        assert_eq!(r.status(), 202);
        assert_eq!(r.json::<Value>().await.unwrap()["version"], n as i64 + 2);
    }
    let stale = app
        .put_entry(
            &id,
            USER,
            &put_body("Squat", "2026-06-01", 5, 1.0),
            Some("\"1\""),
        )
        .await;
    assert_eq!(stale.status(), 412);
    // Another entry, deleted before its insert was even applied... no: its
    // insert waits, then an erasure of another client, then a delete.
    let doomed = app
        .log(USER, single("Squat", "2026-06-05", 1, 500, "kg"))
        .await
        .remove(0);
    let (stop, handle) = spawn_worker(worker.clone());
    wait_for_drain(app).await;
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    let (_, stored) = app.get_json(&format!("/workouts/{id}?userId={USER}")).await;
    assert_eq!(stored["version"], 4);
    assert_eq!(
        stored["sets"][0]["weight"], 115.0,
        "the last accepted edit wins"
    );
    assert_eq!(heaviest(&app.prs("squat").await.1), 500.0);

    // Delete the heavy entry and erase another client while nothing runs.
    assert_eq!(app.delete_entry(&doomed, USER, None).await.status(), 202);
    app.log(OTHER_USER, single("Squat", "2026-06-01", 5, 60, "kg"))
        .await;
    let erased: Value = app
        .client
        .delete(format!("{}/users/{OTHER_USER}/workouts", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(erased["deletedJobs"], 1, "{erased}");
    let (stop, handle) = spawn_worker(worker);
    wait_for_drain(app).await;
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    assert_eq!(heaviest(&app.prs("squat").await.1), 115.0);
    let (_, theirs) = app
        .get_json(&format!("/workouts/history?userId={OTHER_USER}"))
        .await;
    assert_eq!(
        theirs["count"], 0,
        "an erased client's queued write came back"
    );
    assert_read_model_matches_live(app, "squat").await;
}

async fn edits_on_the_embedded_queue() {
    let app = spawn_app_with(|c| {
        c.queue = QueueKind::Sqlite;
        c.embedded_workers = false;
    })
    .await;
    let mut worker = test_config(app.db_path.clone());
    worker.queue = QueueKind::Sqlite;
    edits_apply_in_accept_order_and_nothing_resurrects(&app, worker).await;
    app.stop().await;
}

async fn edits_on_the_redis_queue() {
    let prefix = redis_prefix();
    let app = spawn_redis_api_only(&prefix).await;
    let mut worker = test_config(app.db_path.clone());
    use_redis(&mut worker, &prefix);
    edits_apply_in_accept_order_and_nothing_resurrects(&app, worker).await;
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

/// Racing edits of one entry, over HTTP, while workers run.
async fn races_end_consistent(app: &TestApp) {
    let id = app
        .log(USER, single("Squat", "2026-06-01", 5, 100, "kg"))
        .await
        .remove(0);
    eventually("the entry", Duration::from_secs(60), || async {
        app.get(&format!("/workouts/{id}?userId={USER}"))
            .await
            .status()
            == 200
    })
    .await;
    // Two edits at once: the higher number wins.
    let (first, second) = (
        put_body("Squat", "2026-06-01", 5, 130.0),
        put_body("Squat", "2026-06-02", 5, 140.0),
    );
    let (a, b) = tokio::join!(
        app.put_entry(&id, USER, &first, None),
        app.put_entry(&id, USER, &second, None),
    );
    let (va, vb) = (
        a.json::<Value>().await.unwrap()["version"]
            .as_i64()
            .unwrap(),
        b.json::<Value>().await.unwrap()["version"]
            .as_i64()
            .unwrap(),
    );
    assert_ne!(va, vb);
    wait_for_drain(app).await;
    let (_, stored) = app.get_json(&format!("/workouts/{id}?userId={USER}")).await;
    let winner = if va > vb { 130.0 } else { 140.0 };
    assert_eq!(stored["sets"][0]["weight"], winner);
    assert_eq!(stored["version"], va.max(vb));
    // An edit and a delete at once: the entry ends deleted either way
    // (the edit is numbered first, or finds the delete and is a 404).
    let heavy = put_body("Squat", "2026-06-01", 5, 999.0);
    let (edit, delete) = tokio::join!(
        app.put_entry(&id, USER, &heavy, None),
        app.delete_entry(&id, USER, None),
    );
    assert_eq!(delete.status(), 202);
    assert!([202, 404].contains(&edit.status().as_u16()));
    wait_for_drain(app).await;
    assert_eq!(
        app.get(&format!("/workouts/{id}?userId={USER}"))
            .await
            .status(),
        404
    );
    let (_, prs) = app.prs("squat").await;
    assert!(
        prs["current"]["heaviestSet"].is_null(),
        "a deleted entry's record: {prs}"
    );
}

async fn racing_edits_on_the_embedded_queue() {
    let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
    races_end_consistent(&app).await;
    app.stop().await;
}

async fn racing_edits_on_the_redis_queue() {
    let prefix = redis_prefix();
    let app = spawn_app_with(|c| use_redis(c, &prefix)).await;
    races_end_consistent(&app).await;
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

async fn pr_reads_include_what_history_shows_while_the_pr_queue_waits() {
    // Redis, the API without workers. A first entry is settled by a full
    // worker; then a worker that only stores writes runs, the PR queue
    // backs up, and every PR read must still see every entry history shows.
    let prefix = redis_prefix();
    let app = spawn_redis_api_only(&prefix).await;
    let mut all_queues = test_config(app.db_path.clone());
    use_redis(&mut all_queues, &prefix);
    let mut persist_only = all_queues.clone();
    persist_only.worker_queues = vec![everfit::queue::QueueName::Persist];

    app.log(USER, single("Overhead Press", "2026-06-01", 5, 100, "kg"))
        .await;
    let (stop, handle) = spawn_worker(all_queues.clone());
    wait_for_drain(&app).await;
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    assert_eq!(app.prs("overhead%20press").await.0, "read-model");

    let (stop, handle) = spawn_worker(persist_only);
    let (mut logged, mut max) = (1, 100);
    for (day, kg) in [(2, 120), (3, 90), (3, 130)] {
        max = max.max(kg);
        app.log(
            USER,
            single("Overhead Press", &format!("2026-06-0{day}"), 5, kg, "kg"),
        )
        .await;
        logged += 1;
        eventually("history", Duration::from_secs(60), || async {
            all_pages(&app, "", 100).await.len() == logged
        })
        .await;
        let (source, prs) = app.prs("overhead%20press").await;
        assert_eq!(heaviest(&prs), f64::from(max), "{source}: {prs}");
        assert_eq!(source, "read-model+live");
        let (_, month) = app
            .get_json(&format!(
                "/workouts/prs?userId={USER}&exercise=overhead%20press&from=2026-06-01&to=2026-06-30"
            ))
            .await;
        assert_eq!(
            month["current"]["heaviestSet"],
            prs["current"]["heaviestSet"]
        );
    }
    // A delete waiting on the PR queue too: the row still holds its set.
    let heaviest_id = app.prs("overhead%20press").await.1["current"]["heaviestSet"]["entryId"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete_entry(&heaviest_id, USER, None).await;
    eventually("the delete in history", Duration::from_secs(60), || async {
        all_pages(&app, "", 100).await.len() == logged - 1
    })
    .await;
    let (source, prs) = app.prs("overhead%20press").await;
    assert_eq!(heaviest(&prs), 120.0, "{source}: {prs}");
    assert_eq!(source, "day-bests+live");
    assert_eq!(persist_depth(&prefix).await, 0);
    let _ = stop.send(());
    handle.await.unwrap().unwrap();

    // The PR worker catches up: the read model alone answers, the same.
    let (stop, handle) = spawn_worker(all_queues);
    wait_for_drain(&app).await;
    let (source, after) = app.prs("overhead%20press").await;
    assert_eq!(
        (source.as_str(), heaviest(&after)),
        ("read-model", &json!(120.0))
    );
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

mod property {
    use super::*;
    use everfit::domain::days::DaySpan;
    use everfit::domain::records::NativePrCalculator;
    use everfit::domain::{UserId, dates::TimeRange};
    use everfit::prs::{live, reads};
    use proptest::prelude::*;

    const EXERCISES: [&str; 3] = ["Squat", "Front Squat", "Bench Press"];

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            exercise: usize,
            day: u32,
            reps: u32,
            kg: u32,
        },
        /// Replaces the target-th logged entry (renames and moves it too).
        Edit {
            target: usize,
            exercise: usize,
            day: u32,
            reps: u32,
            kg: u32,
        },
        Delete {
            target: usize,
        },
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        // kg 0 logs a bodyweight set (weight 0): rep records only.
        let content = (0..EXERCISES.len(), 1u32..6, 1u32..6, 0u32..20);
        prop_oneof![
            3 => content.clone().prop_map(|(exercise, day, reps, kg)| Op::Insert { exercise, day, reps, kg }),
            2 => (0usize..12, content).prop_map(|(target, (exercise, day, reps, kg))| Op::Edit { target, exercise, day, reps, kg }),
            1 => (0usize..12).prop_map(|target| Op::Delete { target }),
        ]
    }

    fn body(exercise: usize, day: u32, reps: u32, kg: u32) -> Value {
        json!({ "exerciseName": EXERCISES[exercise], "date": format!("2026-06-0{day}T{:02}:00:00Z", (reps * 7 + kg) % 24),
            "sets": [ { "reps": reps, "weight": kg * 10, "unit": "kg" } ] })
    }

    async fn check_exact(app: &TestApp) {
        // The app's own store: SQLite, or MongoDB on that run.
        let store = crate::backends::app_store(&app.db_path).await;
        let store = store.as_ref();
        let user: UserId = USER.parse().unwrap();
        let calc = NativePrCalculator;
        assert!(store.pr_changes(user, None).await.unwrap().is_empty());
        for name in EXERCISES {
            let key = name.to_lowercase();
            let all = live::records(store, &calc, user, &key, TimeRange::ALL_TIME)
                .await
                .unwrap();
            let all_reps = live::rep_records(store, user, &key, TimeRange::ALL_TIME)
                .await
                .unwrap();
            let row = store.read_personal_records(user, &key).await.unwrap();
            assert_eq!(
                row.as_ref().map(|r| r.records.clone()).unwrap_or_default(),
                all,
                "{key}: read model"
            );
            // A key logged at some point has a row, with its rep records.
            if let Some(row) = row {
                assert_eq!(row.reps, Some(all_reps.clone()), "{key}: rep records");
            } else {
                assert!(all_reps.is_empty(), "{key}: no row");
            }
            assert_eq!(
                reads::rep_records(store, user, &key, TimeRange::ALL_TIME)
                    .await
                    .unwrap(),
                all_reps,
                "{key}: rep records read"
            );
            let days = store
                .day_summaries(user, &key, DaySpan::default())
                .await
                .unwrap()
                .unwrap();
            for d in &days {
                let one = everfit::prs::settle::day_range(d.day);
                let expected = live::records(store, &calc, user, &key, one).await.unwrap();
                assert_eq!(d.records, expected, "{key}: day {}", d.day);
                let expected = live::rep_records(store, user, &key, one).await.unwrap();
                assert_eq!(d.reps, Some(expected), "{key}: day {} rep records", d.day);
            }
            for (from, to) in [(1, 6), (2, 3), (3, 3), (4, 5)] {
                let range = TimeRange {
                    start: Some(
                        chrono::DateTime::parse_from_rfc3339(&format!("2026-06-0{from}T05:00:00Z"))
                            .unwrap()
                            .into(),
                    ),
                    end: Some(
                        chrono::DateTime::parse_from_rfc3339(&format!("2026-06-0{to}T19:00:00Z"))
                            .unwrap()
                            .into(),
                    ),
                };
                let (served, _) = reads::range(store, &calc, user, &key, range).await.unwrap();
                let expected = live::records(store, &calc, user, &key, range)
                    .await
                    .unwrap();
                assert_eq!(served, expected, "{key}: {range:?}");
                let served = reads::rep_records(store, user, &key, range).await.unwrap();
                let expected = live::rep_records(store, user, &key, range).await.unwrap();
                assert_eq!(served, expected, "{key}: {range:?} rep records");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]

        /// Any interleaving of inserts, edits (renames, date moves) and
        /// deletes, applied by the real worker: the read model and every
        /// day best equal a live computation, and so do ranges.
        #[test]
        fn edits_keep_prs_exact(ops in prop::collection::vec(arb_op(), 1..24)) {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(crate::backends::on_each_store(module_path!(), || async {
                let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
                let mut ids: Vec<String> = Vec::new();
                for op in &ops {
                    match *op {
                        Op::Insert { exercise, day, reps, kg } => {
                            let r = app.post_workouts(&json!({ "userId": USER, "entries": [ body(exercise, day, reps, kg) ] })).await;
                            assert_eq!(r.status(), 202);
                            ids.push(r.json::<Value>().await.unwrap()["ids"][0].as_str().unwrap().to_string());
                        }
                        Op::Edit { target, exercise, day, reps, kg } if !ids.is_empty() => {
                            let id = &ids[target % ids.len()];
                            // Wait until the insert is applied (a PUT needs the stored entry).
                            eventually("the entry", Duration::from_secs(60), || async {
                                let s = app.get(&format!("/workouts/{id}?userId={USER}")).await.status().as_u16();
                                s == 200 || s == 404
                            }).await;
                            let r = app.put_entry(id, USER, &body(exercise, day, reps, kg), None).await;
                            assert!([202, 404].contains(&r.status().as_u16()), "{}", r.status());
                        }
                        Op::Delete { target } if !ids.is_empty() => {
                            let id = &ids[target % ids.len()];
                            eventually("the entry", Duration::from_secs(60), || async {
                                let s = app.get(&format!("/workouts/{id}?userId={USER}")).await.status().as_u16();
                                s == 200 || s == 404
                            }).await;
                            let r = app.delete_entry(id, USER, None).await;
                            assert!([202, 404].contains(&r.status().as_u16()), "{}", r.status());
                        }
                        _ => {}
                    }
                }
                wait_for_drain(&app).await;
                check_exact(&app).await;
                app.stop().await;
            }));
        }
    }
}
