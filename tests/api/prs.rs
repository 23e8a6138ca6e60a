use crate::helpers::*;
use everfit::domain::dates::TimeRange;
use everfit::domain::records::NativePrCalculator;
use everfit::prs::read_model;
use everfit::store::{SqliteStore, WorkoutStore};
use proptest::prelude::*;
use serde_json::{Value, json};

per_store!(
    all_time_prs_come_from_the_read_model_with_the_spec_numbers,
    ranges_have_a_previous_window_and_deltas,
    a_misspelled_exercise_gets_suggestions,
    pull_ups_at_weight_0_and_bench_sets_have_exact_rep_records,
);

/// One rep-record set as the API presents it.
fn rep_set(reps: u32, weight: f64, date: &str, entry_id: &str) -> Value {
    json!({ "reps": reps, "weight": weight, "unit": "kg", "date": date, "entryId": entry_id })
}

async fn pull_ups_at_weight_0_and_bench_sets_have_exact_rep_records() {
    let app = spawn_app().await;
    let kg = |reps: u32, weight: f64| json!({ "reps": reps, "weight": weight, "unit": "kg" });
    let ids = app
        .log(
            USER,
            json!([
                entry(
                    "Pull Up",
                    "2026-06-01T07:00:00Z",
                    json!([kg(12, 0.0), kg(10, 0.0), kg(8, 0.0)])
                ),
                entry(
                    "Pull Up",
                    "2026-06-02T07:00:00Z",
                    json!([kg(15, 0.0), kg(5, 0.0), kg(6, 10.0)])
                ),
                entry(
                    "Bench Press",
                    "2026-06-01T18:00:00Z",
                    json!([kg(5, 100.0), kg(3, 110.0), kg(1, 120.0), kg(10, 70.0)])
                ),
                entry(
                    "Bench Press",
                    "2026-06-02T18:00:00Z",
                    json!([kg(5, 102.5), kg(12, 60.0)])
                ),
            ]),
        )
        .await;
    let day2 = "2026-06-02T07:00:00Z";
    let (bench1, bench2) = ("2026-06-01T18:00:00Z", "2026-06-02T18:00:00Z");

    let r = app
        .get(&format!("/workouts/prs?userId={USER}&exercise=pull%20up"))
        .await;
    assert_eq!(r.headers()["x-pr-source"], "read-model");
    let pull_ups: Value = r.json().await.unwrap();
    assert_eq!(pull_ups["bodyweight"], true, "{pull_ups}");
    let c = &pull_ups["current"];
    assert_eq!(c["mostRepsSet"], rep_set(15, 0.0, day2, &ids[1]), "{c}");
    // Only the 10 kg set has a load: it proves 1, 3 and 5 reps; nothing proves 10.
    let weighted = rep_set(6, 10.0, day2, &ids[1]);
    assert_eq!(
        c["repMaxes"],
        json!({ "1": weighted, "3": weighted, "5": weighted, "10": null }),
        "{c}"
    );
    // 12 + 10 + 8 on June 1 beats 15 + 5 + 6 on June 2.
    assert_eq!(
        c["mostRepsInADay"],
        json!({ "reps": 30, "date": "2026-06-01T00:00:00Z" })
    );

    let (_, bench) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&exercise=bench%20press"
        ))
        .await;
    assert_eq!(bench["bodyweight"], false);
    let c = &bench["current"];
    // The existing records are unchanged by the new ones.
    assert_eq!(c["heaviestSet"]["weight"], 120.0);
    assert_eq!(c["mostRepsSet"], rep_set(12, 60.0, bench2, &ids[3]), "{c}");
    assert_eq!(
        c["repMaxes"],
        json!({
            "1": rep_set(1, 120.0, bench1, &ids[2]),
            "3": rep_set(3, 110.0, bench1, &ids[2]),
            "5": rep_set(5, 102.5, bench2, &ids[3]),
            "10": rep_set(10, 70.0, bench1, &ids[2]),
        }),
        "{c}"
    );
    assert_eq!(
        c["mostRepsInADay"],
        json!({ "reps": 19, "date": "2026-06-01T00:00:00Z" })
    );

    // A window (from the day bests) and its previous one, in pounds.
    let r = app
        .get(&format!(
            "/workouts/prs?userId={USER}&exercise=bench%20press&from=2026-06-02&to=2026-06-02&unit=lb"
        ))
        .await;
    assert_eq!(r.headers()["x-pr-source"], "day-bests");
    let window: Value = r.json().await.unwrap();
    let c = &window["current"];
    assert_eq!(c["repMaxes"]["1"]["weight"], 225.97, "{c}");
    assert_eq!(c["repMaxes"]["5"]["entryId"], ids[3].as_str());
    assert_eq!(c["repMaxes"]["10"]["weight"], 132.28);
    assert_eq!(c["mostRepsSet"]["reps"], 12);
    assert_eq!(
        c["mostRepsInADay"],
        json!({ "reps": 17, "date": "2026-06-02T00:00:00Z" })
    );
    let p = &window["previous"];
    assert_eq!(p["repMaxes"]["1"]["weight"], 264.55, "{p}");
    assert_eq!(p["mostRepsInADay"]["reps"], 19);

    // An exercise with no sets: every new record null.
    let (_, none) = app
        .get_json(&format!("/workouts/prs?userId={USER}&exercise=squat"))
        .await;
    let c = &none["current"];
    assert_eq!(c["mostRepsSet"], Value::Null);
    assert_eq!(
        c["repMaxes"],
        json!({ "1": null, "3": null, "5": null, "10": null })
    );
    assert_eq!(c["mostRepsInADay"], Value::Null);
}

async fn a_misspelled_exercise_gets_suggestions() {
    let app = spawn_app().await;
    let (_, nothing) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&exercise=Bench%20Pres"
        ))
        .await;
    assert_eq!(nothing["suggestions"], json!([]), "{nothing}");
    app.log(
        USER,
        json!([
            entry(
                "Bench Press",
                "2026-06-01",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Incline Bench Press",
                "2026-06-01",
                json!([ { "reps": 5, "weight": 70, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-01",
                json!([ { "reps": 5, "weight": 120, "unit": "kg" } ])
            ),
        ]),
    )
    .await;
    app.log(OTHER_USER, single("Bench Pres", "2026-06-01", 5, 60, "kg"))
        .await;
    let r = app
        .get(&format!(
            "/workouts/prs?userId={USER}&exercise=bench%20%20pres"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["exercise"], "bench pres", "{body}");
    assert_eq!(body["current"]["heaviestSet"], Value::Null);
    assert!(body["message"].is_string());
    assert_eq!(body["suggestions"], json!(["Bench Press"]), "{body}");
    let (_, swapped) = app
        .get_json(&format!("/workouts/prs?userId={USER}&exercise=sqaut"))
        .await;
    assert_eq!(swapped["suggestions"], json!(["Squat"]), "{swapped}");
    let (_, far) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&exercise=Zercher%20Carry&from=2026-06-01"
        ))
        .await;
    assert_eq!(far["suggestions"], json!([]), "{far}");
}

async fn all_time_prs_come_from_the_read_model_with_the_spec_numbers() {
    let app = spawn_app().await;
    let r = app
        .get(&format!(
            "/workouts/prs?userId={USER}&exercise=Bench%20Press"
        ))
        .await;
    assert_eq!(r.status(), 200);
    // No read-model row yet: computed live.
    assert_eq!(r.headers()["x-pr-source"], "live");
    let empty: Value = r.json().await.unwrap();
    assert_eq!(empty["current"]["heaviestSet"], Value::Null);
    assert!(empty["message"].is_string());

    let ids = app.log(USER, json!([
        entry("Bench Press", "2026-06-01", json!([ { "reps": 10, "weight": 90, "unit": "kg" }, { "reps": 3, "weight": 110, "unit": "kg" } ])),
        entry("bench  press", "2026-06-02", json!([ { "reps": 1, "weight": 100, "unit": "kg" } ])),
    ])).await;
    let r = app
        .get(&format!(
            "/workouts/prs?userId={USER}&exercise=%20BENCH%20%20press"
        ))
        .await;
    assert_eq!(r.headers()["x-pr-source"], "read-model");
    let body: Value = r.json().await.unwrap();
    let c = &body["current"];
    assert_eq!(c["heaviestSet"]["weight"], 110.0);
    assert_eq!(c["heaviestSet"]["entryId"], ids[0].as_str());
    assert_eq!(c["highestVolumeSet"]["volume"], 900.0);
    assert_eq!(c["bestOneRepMax"]["oneRepMax"], 121.0);
    assert_eq!(body["previous"], Value::Null);
    // The name as last logged, not as typed in the query.
    assert_eq!(body["exercise"], "bench press");
    assert!(body.get("suggestions").is_none(), "{body}");

    let (_, lb) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&exercise=bench%20press&unit=lb"
        ))
        .await;
    assert_eq!(lb["current"]["heaviestSet"]["weight"], 242.51);
    assert_eq!(lb["current"]["heaviestSet"]["unit"], "lb");
}

async fn ranges_have_a_previous_window_and_deltas() {
    let app = spawn_app().await;
    app.log(
        USER,
        json!([
            entry(
                "Squat",
                "2026-05-20",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-05",
                json!([ { "reps": 5, "weight": 110, "unit": "kg" } ])
            ),
        ]),
    )
    .await;
    let r = app
        .get(&format!(
            "/workouts/prs?userId={USER}&exercise=squat&from=2026-06-01&to=2026-06-30"
        ))
        .await;
    assert_eq!(r.headers()["x-pr-source"], "day-bests");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["current"]["range"]["from"], "2026-06-01T00:00:00Z");
    assert_eq!(body["current"]["heaviestSet"]["weight"], 110.0);
    assert_eq!(body["previous"]["heaviestSet"]["weight"], 100.0);
    assert_eq!(body["deltas"]["heaviestWeight"], 10.0);
    assert_eq!(body["deltas"]["highestVolume"], 50.0);
    assert_eq!(body["deltas"]["bestOneRepMax"], 11.67);

    let (_, open) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&exercise=squat&from=2026-06-01"
        ))
        .await;
    assert_eq!(open["previous"], Value::Null);
    assert_eq!(open["deltas"], Value::Null);
    let (_, none) = app
        .get_json(&format!(
            "/workouts/prs?userId={USER}&exercise=squat&from=2020-01-01&to=2020-01-31"
        ))
        .await;
    assert_eq!(none["deltas"]["heaviestWeight"], Value::Null);
    for bad in [
        "&exercise=%20",
        "&exercise=squat&from=2026-07-01&to=2026-06-01",
        "&exercise=squat&unit=oz",
        "&exercise=squat&sort=name",
        "&sort=newest",
    ] {
        let (status, _) = app
            .get_json(&format!("/workouts/prs?userId={USER}{bad}"))
            .await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn ranges_stay_live_until_day_bests_are_rebuilt_after_an_upgrade() {
    let app = spawn_app().await;
    app.log(
        USER,
        single("Deadlift", "2026-05-10T18:00:00Z", 5, 180, "kg"),
    )
    .await;
    app.log(USER, single("Deadlift", "2026-05-20", 3, 190, "kg"))
        .await;
    let path = "/workouts/prs?userId=665f1c2b8a1e4d0012345678&exercise=deadlift&from=2026-05-10T12:00:00Z&to=2026-05-31";
    let r = app.get(path).await;
    assert_eq!(r.headers()["x-pr-source"], "day-bests");
    let before: Value = r.json().await.unwrap();
    assert_eq!(before["current"]["heaviestSet"]["weight"], 190.0);

    // What the upgrade migration leaves for entries stored before day bests
    // existed: the key is pending and its days are not built.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    sqlx::query("DELETE FROM personal_record_days")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO personal_record_days_pending SELECT DISTINCT user_id, exercise_name_lower FROM workouts",
    )
    .execute(&pool)
    .await
    .unwrap();
    let r = app.get(path).await;
    assert_eq!(r.headers()["x-pr-source"], "live");
    let live: Value = r.json().await.unwrap();
    assert_eq!(live, before);

    // `everfit prs rebuild` builds them.
    let store = SqliteStore::open(&app.db_path).await.unwrap();
    read_model::rebuild(&store, &NativePrCalculator, None, |_, _| {})
        .await
        .unwrap();
    let r = app.get(path).await;
    assert_eq!(r.headers()["x-pr-source"], "day-bests");
    let rebuilt: Value = r.json().await.unwrap();
    assert_eq!(rebuilt, before);
}

#[tokio::test]
async fn rows_from_before_rep_records_still_answer_them_exactly() {
    let app = spawn_app().await;
    app.log(USER, single("Pull Up", "2026-05-10T18:00:00Z", 12, 0, "kg"))
        .await;
    app.log(USER, single("Pull Up", "2026-05-20", 9, 0, "kg"))
        .await;
    let all_time = "/workouts/prs?userId=665f1c2b8a1e4d0012345678&exercise=pull%20up";
    let range = "/workouts/prs?userId=665f1c2b8a1e4d0012345678&exercise=pull%20up&from=2026-05-01&to=2026-05-31";
    let (_, before) = app.get_json(all_time).await;
    let (_, before_range) = app.get_json(range).await;
    assert_eq!(before["current"]["mostRepsSet"]["reps"], 12, "{before}");
    assert_eq!(before_range["current"]["mostRepsInADay"]["reps"], 12);

    // What rows and day summaries written by the previous version hold:
    // the three records, no rep records.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    for update in [
        "UPDATE personal_records SET records = json_remove(records, '$.reps')",
        "UPDATE personal_record_days SET records = json_remove(records, '$.reps')",
    ] {
        sqlx::query(update).execute(&pool).await.unwrap();
    }
    let store = SqliteStore::open(&app.db_path).await.unwrap();
    let user = USER.parse().unwrap();
    let row = store.read_personal_records(user, "pull up").await.unwrap();
    assert_eq!(row.unwrap().reps, None, "the row reads as unknown");
    let r = app.get(all_time).await;
    assert_eq!(r.headers()["x-pr-source"], "read-model");
    assert_eq!(r.json::<Value>().await.unwrap(), before);
    assert_eq!(app.get_json(range).await.1, before_range);

    // `everfit prs rebuild` writes them back.
    read_model::rebuild(&store, &NativePrCalculator, None, |_, _| {})
        .await
        .unwrap();
    let row = store.read_personal_records(user, "pull up").await.unwrap();
    assert_eq!(row.unwrap().reps.unwrap().most_reps_set.unwrap().reps, 12);
    assert_eq!(app.get_json(all_time).await.1, before);
    assert_eq!(app.get_json(range).await.1, before_range);
}

fn arb_entries() -> impl Strategy<Value = Vec<(u32, u32, u32, bool)>> {
    // (day, reps, weight, pounds)
    prop::collection::vec((0u32..20, 1u32..15, 0u32..200, any::<bool>()), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// The read model (incremental, batch by batch) equals the live computation.
    #[test]
    fn read_model_equals_live_computation(sets in arb_entries(), split in 1usize..5) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(crate::backends::on_each_store(module_path!(), || async {
            let app = spawn_app().await;
            let entries: Vec<Value> = sets.iter().map(|(day, reps, w, lb)| entry(
                "Overhead Press", &format!("2026-05-{:02}", day + 1),
                json!([ { "reps": reps, "weight": w, "unit": if *lb { "lb" } else { "kg" } } ]))).collect();
            for chunk in entries.chunks(split) {
                app.log(USER, json!(chunk)).await;
            }
            let r = app.get(&format!("/workouts/prs?userId={USER}&exercise=overhead%20press")).await;
            assert_eq!(r.headers()["x-pr-source"], "read-model");
            let model: Value = r.json().await.unwrap();
            // A range covering everything is served from the day bests.
            let r = app.get(&format!("/workouts/prs?userId={USER}&exercise=overhead%20press&from=2000-01-01")).await;
            assert_eq!(r.headers()["x-pr-source"], "day-bests");
            let days: Value = r.json().await.unwrap();
            let store = crate::backends::app_store(&app.db_path).await;
            let live = everfit::prs::live::records(store.as_ref(), &NativePrCalculator, USER.parse().unwrap(), "overhead press", TimeRange::ALL_TIME)
                .await
                .unwrap();
            let heaviest = live.heaviest_set.unwrap();
            assert_eq!(days["current"]["heaviestSet"]["entryId"], heaviest.entry_id.as_str());
            for k in ["heaviestSet", "highestVolumeSet", "bestOneRepMax", "mostRepsSet", "repMaxes", "mostRepsInADay"] {
                assert_eq!(model["current"][k], days["current"][k], "{k}");
            }
            let reps = everfit::prs::live::rep_records(store.as_ref(), USER.parse().unwrap(), "overhead press", TimeRange::ALL_TIME)
                .await
                .unwrap();
            let most = reps.most_reps_set.as_ref().unwrap();
            assert_eq!(model["current"]["mostRepsSet"]["entryId"], most.entry_id.as_str());
            assert_eq!(model["current"]["mostRepsSet"]["reps"], most.reps);
            assert_eq!(
                model["current"]["mostRepsInADay"]["reps"],
                reps.most_reps_day.map(|d| d.reps).unwrap()
            );
            let ten = reps.rep_max(10).map(|s| s.entry_id.as_str());
            assert_eq!(model["current"]["repMaxes"]["10"]["entryId"].as_str(), ten);
        }));
    }
}
