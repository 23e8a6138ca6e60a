//! MongoDB behaviour that needs no running server.

use everfit::startup::config::Config;
use everfit::startup::open_store;
use everfit::store::MongoStore;

/// Nothing listens on the discard port of the loopback address.
const UNREACHABLE: &str =
    "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";

#[tokio::test]
async fn an_unreachable_server_is_a_clear_unavailable_error() {
    let err = MongoStore::connect_to(UNREACHABLE, Some("everfit_unreachable"))
        .await
        .expect_err("no server there");
    let text = format!("{err:#}");
    assert!(text.contains("store unavailable"), "{text}");
    assert!(text.contains("127.0.0.1:9"), "{text}");
    assert!(text.contains("everfit_unreachable"), "{text}");
}

#[tokio::test]
async fn mongodb_uri_selects_the_mongodb_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::embedded(dir.path().join("unused.db"));
    config.mongodb_uri = Some(UNREACHABLE.to_string());
    let err = open_store(&config).await.err().expect("MongoDB was tried");
    assert!(format!("{err:#}").contains("MongoDB"), "{err:#}");
    assert!(
        !dir.path().join("unused.db").exists(),
        "SQLite must not be opened when MONGODB_URI is set"
    );
}

#[tokio::test]
async fn a_malformed_uri_is_refused_before_connecting() {
    let err = MongoStore::connect("mongodb://")
        .await
        .expect_err("malformed");
    assert!(format!("{err:#}").contains("not a valid MongoDB connection string"));
}

/// Like SQLite's migration 0002: keys stored before day bests existed are
/// pending (ranges served live) until a rebuild; keys stored afterwards are
/// not. Needs a server: runs when `MONGODB_URI` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_stored_before_day_bests_are_pending_until_rebuilt() {
    use crate::fixtures::*;
    use everfit::domain::dates::TimeRange;
    use everfit::domain::days::DaySpan;
    use everfit::domain::records::NativePrCalculator;
    use everfit::prs::reads::{self, PrSource};
    use everfit::store::WorkoutStore;
    use everfit::store::mongo::queries;

    crate::backends::on_mongo_store(
        "keys_stored_before_day_bests_are_pending_until_rebuilt",
        |store| {
            Box::pin(async move {
                let entries = vec![
                    entry(1, "Squat", day(1), &[(5, 100.0)]),
                    entry(2, "Squat", day(3), &[(5, 120.0)]),
                ];
                // Stored by a version without day bests: no summaries folded.
                store.insert_entries(&entries).await.unwrap();
                // The first start of a version with day bests runs the marking.
                let uri = std::env::var("MONGODB_URI").unwrap();
                let name = store.database_name().to_string();
                store
                    .client()
                    .database(&name)
                    .collection::<bson::Document>(queries::MIGRATIONS)
                    .delete_one(queries::migration_filter(
                        queries::DAY_BESTS_PENDING_MIGRATION,
                    ))
                    .await
                    .unwrap();
                let upgraded = MongoStore::connect_to(&uri, Some(&name)).await.unwrap();
                let calc = NativePrCalculator;
                let range = TimeRange {
                    start: Some(day(0)),
                    end: Some(day(2)),
                };
                assert_eq!(
                    upgraded
                        .day_summaries(user(), "squat", DaySpan::default())
                        .await
                        .unwrap(),
                    None
                );
                let (live, source) = reads::range(&upgraded, &calc, user(), "squat", range)
                    .await
                    .unwrap();
                assert_eq!(source, PrSource::Live);
                // A key first stored now is folded from its first entry: not pending.
                let bench = vec![entry(3, "Bench Press", day(1), &[(5, 80.0)])];
                let stored = upgraded.insert_entries(&bench).await.unwrap();
                let changes: Vec<_> = stored.changes.into_iter().map(|(_, c)| c).collect();
                everfit::prs::settle::settle(&upgraded, &calc, user(), &changes)
                    .await
                    .unwrap();
                let (_, source) = reads::range(&upgraded, &calc, user(), "bench press", range)
                    .await
                    .unwrap();
                assert_eq!(source, PrSource::DayBests);
                // The rebuild builds the days and clears the mark.
                everfit::prs::read_model::rebuild(&upgraded, &calc, Some(user()), |_, _| {})
                    .await
                    .unwrap();
                let (built, source) = reads::range(&upgraded, &calc, user(), "squat", range)
                    .await
                    .unwrap();
                assert_eq!((built, source), (live, PrSource::DayBests));
                // A later start does not mark the key again.
                let again = MongoStore::connect_to(&uri, Some(&name)).await.unwrap();
                assert!(
                    again
                        .day_summaries(user(), "squat", DaySpan::default())
                        .await
                        .unwrap()
                        .is_some()
                );
            })
        },
    )
    .await;
}

/// A filtered history page on MongoDB is a merge of per-exercise index
/// scans (SORT_MERGE), with no blocking SORT stage. Checked where the server
/// reports MongoDB's plan format; elsewhere the check says it cannot apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_history_pages_merge_index_scans() {
    use crate::fixtures::*;
    use everfit::domain::dates::TimeRange;
    use everfit::store::mongo::queries;
    use everfit::store::{HistoryQuery, WorkoutStore};
    use std::io::Write;

    crate::backends::on_mongo_store("filtered_history_pages_merge_index_scans", |store| {
        Box::pin(async move {
            let entries: Vec<_> = (0..60u32)
                .map(|n| {
                    let exercise = ["Squat", "Deadlift", "Bench Press"][(n % 3) as usize];
                    entry(n, exercise, day(n % 20), &[(5, 100.0)])
                })
                .collect();
            store.insert_entries(&entries).await.unwrap();
            // MongoDB itself reports its git version; wire-compatible
            // servers (DocumentDB here) plan differently and do not.
            let build = store
                .client()
                .database("admin")
                .run_command(bson::doc! { "buildInfo": 1 })
                .await
                .unwrap();
            if !build.contains_key("gitVersion") {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: explain check (not MongoDB itself: its planner and plan format differ)"
                );
                return;
            }
            let query = HistoryQuery {
                user_id: user(),
                exercise_prefix: None,
                exercise_in: Some(vec!["deadlift".into(), "squat".into()]),
                range: TimeRange::ALL_TIME,
                after: None,
                limit: 10,
            };
            // What the store sends for this page.
            let filter = queries::history_filter(&query).unwrap();
            let explained = store
                .client()
                .database(store.database_name())
                .run_command(bson::doc! {
                    "explain": {
                        "find": queries::WORKOUTS,
                        "filter": filter,
                        "sort": queries::history_sort(),
                        "limit": 10_i64,
                    },
                    "verbosity": "queryPlanner",
                })
                .await
                .unwrap();
            let Ok(plan) = explained
                .get_document("queryPlanner")
                .and_then(|q| q.get_document("winningPlan"))
            else {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: explain check (the server does not report MongoDB's plan format)"
                );
                return;
            };
            let text = plan.to_string();
            if !text.contains("\"stage\"") {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: explain check (no MongoDB stages in the plan): {text}"
                );
                return;
            }
            assert!(text.contains("SORT_MERGE"), "{text}");
            assert!(!text.contains("\"stage\": \"SORT\""), "{text}");
            assert!(text.contains("user_exercise_date_id"), "{text}");
        })
    })
    .await;
}
