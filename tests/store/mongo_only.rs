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
            if !crate::mongodb::is_mongodb_itself(store.client()).await {
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

/// A store opened but not prepared answers `Unavailable` (503, never a wait
/// or a 500) and says what it is doing; once prepared it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_serves_only_once_prepared() {
    use crate::fixtures::*;
    use everfit::store::{StoreError, WorkoutStore};

    crate::backends::on_mongo_store("a_store_serves_only_once_prepared", |store| {
        Box::pin(async move {
            let uri = std::env::var("MONGODB_URI").unwrap();
            let opened = MongoStore::open(&uri, Some(store.database_name()))
                .await
                .unwrap();
            assert!(opened.preparing().is_some());
            let e = entry(1, "Squat", day(1), &[(5, 100.0)]);
            match opened.insert_entries(std::slice::from_ref(&e)).await {
                Err(StoreError::Unavailable(message)) => {
                    assert!(message.contains("starting"), "{message}")
                }
                other => panic!("expected Unavailable, got {other:?}"),
            }
            opened.ping().await.expect("ping answers while preparing");
            opened.prepare().await.unwrap();
            assert_eq!(opened.preparing(), None);
            assert_eq!(opened.insert_entries(&[e]).await.unwrap().count, 1);
        })
    })
    .await;
}

/// A version touched by hand (a shell `$inc` with a JavaScript number makes
/// the int64 a double) still reads, and compare-and-swap goes on from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_turned_double_by_hand_still_reads() {
    use crate::behaviours::store_and_settle;
    use crate::fixtures::*;
    use everfit::store::WorkoutStore;
    use everfit::store::mongo::queries;

    crate::backends::on_mongo_store("a_version_turned_double_by_hand_still_reads", |store| {
        Box::pin(async move {
            let e = entry(1, "Squat", day(1), &[(5, 100.0)]);
            store_and_settle(store, std::slice::from_ref(&e)).await;
            let db = store.client().database(store.database_name());
            for collection in [queries::PERSONAL_RECORDS, queries::PERSONAL_RECORD_DAYS] {
                let touched = db
                    .collection::<bson::Document>(collection)
                    .update_many(bson::doc! {}, bson::doc! { "$inc": { "version": 1.0_f64 } })
                    .await
                    .unwrap();
                assert_eq!(touched.modified_count, 1, "{collection}");
            }
            let row = store
                .read_personal_records(user(), "squat")
                .await
                .unwrap()
                .expect("row");
            assert_eq!(row.version, 2);
            let heavier = entry(2, "Squat", day(1), &[(5, 120.0)]);
            store_and_settle(store, &[heavier]).await;
            let row = store
                .read_personal_records(user(), "squat")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.version, 3);
            assert_eq!(row.records.heaviest_set.unwrap().weight_kg, 120.0);
            let days = store
                .day_summaries(user(), "squat", everfit::domain::days::DaySpan::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(days.len(), 1);
            assert_eq!(days[0].version, 3);
            assert_eq!(
                days[0].records.heaviest_set.as_ref().unwrap().weight_kg,
                120.0
            );
        })
    })
    .await;
}

/// The fold's day-summary writes share the pool with everything else: a
/// pool of two (one write slot) still folds a batch of many days, and the
/// URI's `timeoutMS` (which the driver itself would refuse) is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_two_still_folds_many_days() {
    use crate::fixtures::*;
    use everfit::domain::days::DaySpan;
    use everfit::store::WorkoutStore;

    crate::backends::on_mongo_store("a_pool_of_two_still_folds_many_days", |store| {
        Box::pin(async move {
            let uri = std::env::var("MONGODB_URI").unwrap();
            let options = "maxPoolSize=2&timeoutMS=20000";
            let has_path = uri
                .split_once("://")
                .is_some_and(|(_, rest)| rest.contains('/'));
            let small_uri = match (uri.contains('?'), has_path) {
                (true, _) => format!("{uri}&{options}"),
                (false, true) => format!("{uri}?{options}"),
                (false, false) => format!("{uri}/?{options}"),
            };
            let small = MongoStore::connect_to(&small_uri, Some(store.database_name()))
                .await
                .unwrap();
            let entries: Vec<_> = (0..120)
                .map(|n| entry(n + 1, "Squat", day(n), &[(5, 100.0 + f64::from(n))]))
                .collect();
            let inserted = small.insert_entries(&entries).await.unwrap();
            let changes: Vec<_> = inserted.changes.into_iter().map(|(_, c)| c).collect();
            let calc = everfit::domain::records::NativePrCalculator;
            // Three workers settling the same changes at once.
            let settles =
                (0..3).map(|_| everfit::prs::settle::settle(&small, &calc, user(), &changes));
            for settled in futures::future::join_all(settles).await {
                settled.unwrap();
            }
            let days = small
                .day_summaries(user(), "squat", DaySpan::default())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(days.len(), 120);
            let heaviest = days
                .iter()
                .map(|d| d.records.heaviest_set.as_ref().unwrap().weight_kg)
                .fold(0.0, f64::max);
            assert_eq!(heaviest, 219.0);
        })
    })
    .await;
}

/// What insights read of a client, packed or not, equals the history read
/// page by page.
async fn assert_insight_entries_live(store: &MongoStore, who: everfit::domain::UserId) {
    use everfit::domain::dates::TimeRange;
    use everfit::store::WorkoutStore;
    let columns = store
        .entry_columns(who, None, TimeRange::ALL_TIME)
        .await
        .unwrap();
    let live = everfit::store::columns_from_history(store, who, None, TimeRange::ALL_TIME)
        .await
        .unwrap();
    assert_eq!(columns, live);
}

/// Like SQLite's migration 0008: the spans of entries stored before insight
/// chunks existed get their chunk documents at the first start of a version
/// with them, so insights read those entries. Needs a server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_stored_before_insight_chunks_are_read_after_the_upgrade() {
    use crate::fixtures::*;
    use everfit::store::WorkoutStore;
    use everfit::store::mongo::{chunks, queries};

    crate::backends::on_mongo_store(
        "entries_stored_before_insight_chunks_are_read_after_the_upgrade",
        |store| {
            Box::pin(async move {
                let entries: Vec<_> = (0..40u32)
                    .map(|n| entry(n, "Squat", day(n * 9), &[(5, 100.0 + f64::from(n))]))
                    .collect();
                store.insert_entries(&entries).await.unwrap();
                // Stored by a version without insight chunks.
                let db = store.client().database(store.database_name());
                db.collection::<bson::Document>(chunks::INSIGHT_CHUNKS)
                    .delete_many(bson::doc! {})
                    .await
                    .unwrap();
                db.collection::<bson::Document>(queries::MIGRATIONS)
                    .delete_one(queries::migration_filter(chunks::INSIGHT_CHUNKS_MIGRATION))
                    .await
                    .unwrap();
                let uri = std::env::var("MONGODB_URI").unwrap();
                let upgraded = MongoStore::connect_to(&uri, Some(store.database_name()))
                    .await
                    .unwrap();
                let spans = db
                    .collection::<bson::Document>(chunks::INSIGHT_CHUNKS)
                    .count_documents(bson::doc! {})
                    .await
                    .unwrap();
                let expected: std::collections::BTreeSet<i64> = entries
                    .iter()
                    .map(|e| everfit::store::packed::span_of(e.date.timestamp_millis()))
                    .collect();
                assert_eq!(spans, expected.len() as u64, "one document per span");
                assert_insight_entries_live(&upgraded, user()).await;
                // Read again, from what the first read packed.
                assert_insight_entries_live(&upgraded, user()).await;
                assert_eq!(
                    upgraded
                        .entry_columns(user(), None, everfit::domain::dates::TimeRange::ALL_TIME)
                        .await
                        .unwrap()
                        .len(),
                    40
                );
            })
        },
    )
    .await;
}

/// A writer that died between changing a span's entries and releasing the
/// span leaves its mark: while the mark is fresh, readers read the span
/// from its entries; once it is abandoned, the next read repacks the span
/// with what the dead writer changed (never the packed value from before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_a_writer_died_in_is_read_from_its_entries() {
    use crate::fixtures::*;
    use everfit::store::WorkoutStore;
    use everfit::store::mongo::{chunks, queries};

    crate::backends::on_mongo_store(
        "a_span_a_writer_died_in_is_read_from_its_entries",
        |store| {
            Box::pin(async move {
                let entries: Vec<_> = (0..10u32)
                    .map(|n| entry(n, "Squat", day(n), &[(5, 100.0)]))
                    .collect();
                store.insert_entries(&entries).await.unwrap();
                assert_insight_entries_live(store, user()).await;
                let db = store.client().database(store.database_name());
                let chunks_coll = db.collection::<bson::Document>(chunks::INSIGHT_CHUNKS);
                let workouts = db.collection::<bson::Document>(queries::WORKOUTS);
                let span = bson::doc! { "userId": user().0 };
                let died_at = |ago: chrono::Duration| {
                    chunks::writing_update(bson::oid::ObjectId::new(), chrono::Utc::now() - ago)
                };
                let change_sets = |reps: i32| {
                    bson::doc! { "$set": { "sets.0.reps": reps } }
                };
                // Marked a minute ago, entries changed, never released.
                chunks_coll
                    .update_many(span.clone(), died_at(chrono::Duration::minutes(1)))
                    .await
                    .unwrap();
                workouts
                    .update_one(bson::doc! { "_id": id(3).0 }, change_sets(7))
                    .await
                    .unwrap();
                assert_insight_entries_live(store, user()).await;
                // The same, with a mark an hour old: abandoned.
                chunks_coll
                    .update_many(span.clone(), bson::doc! { "$set": { "writing": [] } })
                    .await
                    .unwrap();
                chunks_coll
                    .update_many(span.clone(), died_at(chrono::Duration::hours(1)))
                    .await
                    .unwrap();
                workouts
                    .update_one(bson::doc! { "_id": id(4).0 }, change_sets(9))
                    .await
                    .unwrap();
                assert_insight_entries_live(store, user()).await;
                let left = chunks_coll
                    .count_documents(
                        bson::doc! { "userId": user().0, "writing.0": { "$exists": true } },
                    )
                    .await
                    .unwrap();
                assert_eq!(left, 0, "the repack clears abandoned marks");
                // And a fresh store (nothing decoded) reads the repacked value.
                let uri = std::env::var("MONGODB_URI").unwrap();
                let fresh = MongoStore::connect_to(&uri, Some(store.database_name()))
                    .await
                    .unwrap();
                assert_insight_entries_live(&fresh, user()).await;
            })
        },
    )
    .await;
}
