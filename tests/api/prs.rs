use crate::helpers::*;
use everfit::domain::dates::TimeRange;
use everfit::domain::records::NativePrCalculator;
use everfit::prs::read_model;
use everfit::store::SqliteStore;
use proptest::prelude::*;
use serde_json::{Value, json};

per_store!(
    all_time_prs_come_from_the_read_model_with_the_spec_numbers,
    ranges_have_a_previous_window_and_deltas,
    a_misspelled_exercise_gets_suggestions,
);

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
            for k in ["heaviestSet", "highestVolumeSet", "bestOneRepMax"] {
                assert_eq!(model["current"][k], days["current"][k], "{k}");
            }
        }));
    }
}
