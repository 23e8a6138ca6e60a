//! The behaviour suites of the `WorkoutStore` and `ApiKeyStore` traits, written once and run
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
mod keys;
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
    insight_entries_stay_exact_under_writes_edits_and_deletes,
    insight_reads_racing_writes_leave_nothing_stale,
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
    settling_racing_writes_loses_none_and_revives_none,
    exercise_keys_are_distinct_and_sorted,
    day_bests_are_settled_and_serve_ranges,
    day_summaries_compare_and_swap,
    day_bests_rebuild_recomputes_from_entries,
    edits_replace_content_and_keep_identity,
    deletes_keep_the_id_reserved,
    a_settle_that_read_deleted_entries_cannot_revive_them,
    erasure_removes_everything_and_drops_older_writes,
    reads_stay_exact_while_writes_wait_to_be_settled,
    exercise_stats_stay_exact_under_edits_and_deletes,
    rep_records_of_bodyweight_and_loaded_sets,
);

/// The same for the `ApiKeyStore` behaviours of `keys`.
macro_rules! key_store_suite {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let backend = crate::backends::sqlite().await;
                    crate::keys::$name(&backend.store).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mongodb() {
                    crate::backends::on_mongo_store(stringify!($name), |store| {
                        Box::pin(crate::keys::$name(store))
                    })
                    .await;
                }
            }
        )*
    };
}

key_store_suite!(
    keys_round_trip_by_uid_and_by_hash,
    keys_are_listed_oldest_first,
    updates_change_name_description_and_users_only,
    deleted_keys_are_gone_by_uid_and_by_hash,
    a_hash_belongs_to_one_key,
);
