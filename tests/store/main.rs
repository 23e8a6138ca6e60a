//! The behaviour suite of the `WorkoutStore` trait, written once and run
//! against every back end: SQLite (a temp file) always, MongoDB when
//! `MONGODB_URI` is set (a fresh database per test, dropped at the end).
//!
//! ```sh
//! cargo test --test store                                           # SQLite; MongoDB runs print SKIPPED
//! MONGODB_URI=mongodb://localhost:27017 cargo test --test store     # both
//! ```
//!
//! With `MONGODB_REQUIRED=1` (CI) a missing `MONGODB_URI` fails instead of
//! skipping.
//!
//! Every behaviour asserts exact results, the same on each back end, so the
//! back ends are proven to answer identically.

mod backends;
mod behaviours;
mod explain;
mod fixtures;
mod mongo_only;
#[path = "../support/mongodb.rs"]
mod mongodb;

/// For each behaviour `name`, a module `name` with a `sqlite` and a `mongodb` test.
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let backend = crate::backends::sqlite().await;
                    crate::behaviours::$name(&backend.store).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mongodb() {
                    crate::backends::on_mongodb(stringify!($name), |store| {
                        Box::pin(crate::behaviours::$name(store))
                    })
                    .await;
                }
            }
        )*
    };
}

store_suite!(
    insert_collapses_replays_and_duplicate_keys,
    concurrent_identical_submits_store_one_entry,
    get_is_user_scoped_and_round_trips,
    history_is_newest_first_then_highest_id,
    keyset_pages_never_skip_or_repeat,
    prefix_search_is_literal_and_anchored,
    exercise_in_filters_and_combines_with_prefix,
    ranges_are_half_open,
    live_records_follow_the_tie_rules,
    live_records_respect_the_range,
    live_records_and_history_match_the_oracle_on_random_data,
    read_model_compare_and_swap,
    read_model_never_regresses_under_concurrency,
    exercise_keys_are_distinct_and_sorted,
    day_bests_merge_and_serve_ranges,
    day_bests_never_regress_under_concurrency,
    day_bests_rebuild_recomputes_from_entries,
);
