use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::HashSet;

per_store!(
    pagination_over_same_date_entries_never_skips_or_repeats,
    entries_added_between_pages_do_not_cause_skips_or_repeats,
    filters_units_and_order,
    cursors_are_bound_to_user_and_filters_and_tamper_evident,
);

async fn pagination_over_same_date_entries_never_skips_or_repeats() {
    let app = spawn_app().await;
    let mut expected = HashSet::new();
    for batch in 0..3 {
        let entries: Vec<Value> = (0..40)
            .map(|i| {
                entry(
                    "Bench Press",
                    if i % 2 == 0 {
                        "2026-06-09"
                    } else {
                        "2026-06-08"
                    },
                    json!([ { "reps": 1 + batch, "weight": 60, "unit": "kg" } ]),
                )
            })
            .collect();
        expected.extend(app.log(USER, json!(entries)).await);
    }
    for limit in [1, 7, 20, 100] {
        let ids = all_pages(&app, "", limit).await;
        assert_eq!(ids.len(), 120, "limit {limit}");
        assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), expected);
    }
}

async fn entries_added_between_pages_do_not_cause_skips_or_repeats() {
    let app = spawn_app().await;
    let entries: Vec<Value> = (0..30)
        .map(|_| {
            entry(
                "Squat",
                "2026-06-01",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ]),
            )
        })
        .collect();
    let original: HashSet<String> = app.log(USER, json!(entries)).await.into_iter().collect();
    let (_, first) = app
        .get_json(&format!("/workouts/history?userId={USER}&limit=10"))
        .await;
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().into())
        .collect();
    // New entries on the same date and newer ones arrive mid-pagination.
    app.log(USER, squats_on_june_first(10)).await;
    app.log(USER, single("Squat", "2026-06-05", 5, 100, "kg"))
        .await;
    let mut cursor = first["nextCursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let (_, page) = app
            .get_json(&format!(
                "/workouts/history?userId={USER}&limit=10&cursor={c}"
            ))
            .await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        cursor = page["nextCursor"].as_str().map(str::to_string);
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "repeated entries");
    assert!(original.is_subset(&unique), "skipped entries");
}

async fn filters_units_and_order() {
    let app = spawn_app().await;
    app.log(
        USER,
        json!([
            entry(
                "Bench Press",
                "2026-06-01",
                json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
            ),
            entry(
                "Squat",
                "2026-06-03",
                json!([ { "reps": 5, "weight": 225, "unit": "lb" } ])
            ),
            entry(
                "Bench (paused)",
                "2026-06-02",
                json!([ { "reps": 5, "weight": 90, "unit": "kg" } ])
            ),
            entry(
                "Deadlift",
                "2025-01-01",
                json!([ { "reps": 1, "weight": 200, "unit": "kg" } ])
            ),
        ]),
    )
    .await;
    app.log(
        OTHER_USER,
        single("Bench Press", "2026-06-01", 5, 100, "kg"),
    )
    .await;

    let (_, all) = app
        .get_json(&format!("/workouts/history?userId={USER}"))
        .await;
    let dates: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        [
            "2026-06-03T00:00:00Z",
            "2026-06-02T00:00:00Z",
            "2026-06-01T00:00:00Z",
            "2025-01-01T00:00:00Z"
        ]
    );

    let (_, bench) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&exercise=BENCH%20("
        ))
        .await;
    assert_eq!(bench["count"], 1, "parentheses are literal: {bench}");
    let (_, bench) = app
        .get_json(&format!("/workouts/history?userId={USER}&exercise=bench"))
        .await;
    assert_eq!(bench["count"], 2);
    let (_, regex) = app
        .get_json(&format!("/workouts/history?userId={USER}&exercise=.*"))
        .await;
    assert_eq!(regex["count"], 0);
    assert!(regex["message"].is_string());
    assert_eq!(regex["nextCursor"], Value::Null);

    let (_, chest) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&muscleGroup=chest"
        ))
        .await;
    assert_eq!(chest["count"], 1);
    // Values are read as sent: empty is not "no filter".
    for sent in ["muscleGroup=", "limit=", "muscleGroup=%20chest"] {
        let (status, body) = app
            .get_json(&format!("/workouts/history?userId={USER}&{sent}"))
            .await;
        assert_eq!(status, 400, "{sent}: {body}");
    }
    let (status, bad) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&muscleGroup=wings"
        ))
        .await;
    assert_eq!(status, 400);
    assert!(
        bad["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("chest"),
        "{bad}"
    );

    let (_, june) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&from=2026-06-02&to=2026-06-03"
        ))
        .await;
    assert_eq!(june["count"], 2, "date-only `to` covers the whole day");
    let (status, _) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&from=2026-06-04&to=2026-06-03"
        ))
        .await;
    assert_eq!(status, 400);

    let (_, lb) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&unit=lb&exercise=bench%20press"
        ))
        .await;
    assert_eq!(lb["items"][0]["sets"][0]["weight"], 220.46);
    assert_eq!(lb["items"][0]["sets"][0]["unit"], "lb");
    assert_eq!(lb["items"][0]["sets"][0]["weightKg"], 100.0);

    for bad in ["limit=0", "limit=101", "unit=st", "from=nope"] {
        let (status, _) = app
            .get_json(&format!("/workouts/history?userId={USER}&{bad}"))
            .await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = app.get_json("/workouts/history").await;
    assert_eq!(status, 400);
}

/// The cursor with one character in its middle changed (a middle one: a
/// changed last character can carry only padding bits, or be unchanged).
fn tampered(cursor: &str) -> String {
    let mut chars: Vec<char> = cursor.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

async fn cursors_are_bound_to_user_and_filters_and_tamper_evident() {
    let app = spawn_app().await;
    app.log(USER, squats_on_june_first(3)).await;
    let (_, page) = app
        .get_json(&format!("/workouts/history?userId={USER}&limit=1"))
        .await;
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    for bad in [
        format!("/workouts/history?userId={OTHER_USER}&limit=1&cursor={cursor}"),
        format!("/workouts/history?userId={USER}&exercise=squat&limit=1&cursor={cursor}"),
        format!("/workouts/history?userId={USER}&limit=1&cursor=garbage"),
        format!(
            "/workouts/history?userId={USER}&limit=1&cursor={}",
            tampered(&cursor)
        ),
    ] {
        let (status, body) = app.get_json(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_envelope(&body, 400, "/workouts/history");
    }
    // Changing only the page size or unit keeps the cursor valid.
    let (status, _) = app
        .get_json(&format!(
            "/workouts/history?userId={USER}&limit=5&unit=lb&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, 200);
}

/// `n` identical squat entries dated 2026-06-01.
fn squats_on_june_first(n: usize) -> Value {
    json!(vec![
        entry(
            "Squat",
            "2026-06-01",
            json!([ { "reps": 5, "weight": 100, "unit": "kg" } ])
        );
        n
    ])
}
