//! What every `WorkoutStore` must do. Each behaviour takes the store as a
//! trait object and asserts exact results, so a back end that differs fails.

use crate::fixtures::*;
use everfit::domain::cursor::CursorPosition;
use everfit::domain::dates::TimeRange;
use everfit::domain::days::DaySpan;
use everfit::domain::days::day_of;
use everfit::domain::records::{NativePrCalculator, PrCalculator};
use everfit::domain::stats::EntryStats;
use everfit::domain::{EntryId, WorkoutEntry};
use everfit::prs::reads::{self, PrSource};
use everfit::prs::{overview, settle};
use everfit::store::{EditOutcome, HistoryQuery, WorkoutStore};
use everfit_pr::{DayReps, PersonalRecords, RepRecords, SetRecord};
use futures::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

fn query() -> HistoryQuery {
    HistoryQuery {
        user_id: user(),
        exercise_prefix: None,
        exercise_in: None,
        range: TimeRange::ALL_TIME,
        after: None,
        limit: 100,
    }
}

async fn history(store: &dyn WorkoutStore, q: HistoryQuery) -> Vec<WorkoutEntry> {
    store.history(&q).await.expect("history")
}

async fn names_with_prefix(store: &dyn WorkoutStore, prefix: &str) -> Vec<String> {
    let q = HistoryQuery {
        exercise_prefix: Some(prefix.to_string()),
        ..query()
    };
    let mut names: Vec<String> = history(store, q)
        .await
        .into_iter()
        .map(|e| e.exercise_name)
        .collect();
    names.sort();
    names
}

/// Every page of a query, following the keyset.
async fn all_pages(store: &dyn WorkoutStore, base: HistoryQuery) -> Vec<WorkoutEntry> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = history(
            store,
            HistoryQuery {
                after,
                ..base.clone()
            },
        )
        .await;
        let Some(last) = page.last() else { break };
        after = Some(CursorPosition {
            date: last.date,
            id: last.id,
        });
        let short = page.len() < base.limit as usize;
        out.extend(page);
        if short {
            break;
        }
    }
    out
}

fn oracle(entries: &[WorkoutEntry], exercise: &str, range: TimeRange) -> PersonalRecords {
    let sets: Vec<SetRecord> = entries
        .iter()
        .filter(|e| {
            e.user_id == user() && e.exercise_name_lower == exercise && range.contains(e.date)
        })
        .flat_map(|e| e.set_records().collect::<Vec<_>>())
        .collect();
    PersonalRecords::compute(&sets)
}

fn rep_oracle(entries: &[WorkoutEntry], exercise: &str, range: TimeRange) -> RepRecords {
    let sets: Vec<SetRecord> = entries
        .iter()
        .filter(|e| {
            e.user_id == user() && e.exercise_name_lower == exercise && range.contains(e.date)
        })
        .flat_map(|e| e.set_records().collect::<Vec<_>>())
        .collect();
    RepRecords::compute(&sets)
}

/// Live PRs by both paths a store offers: its sets ranked by the
/// calculator, and its own ranking where it has one; they must agree.
async fn live(store: &dyn WorkoutStore, exercise: &str, range: TimeRange) -> PersonalRecords {
    let sets = store
        .exercise_sets(user(), exercise, range)
        .await
        .expect("exercise sets");
    let computed = NativePrCalculator.compute(&sets).expect("computed");
    if let Some(ranked) = store
        .ranked_records(user(), exercise, range)
        .await
        .expect("ranked records")
    {
        assert_eq!(ranked, computed, "the store's own ranking differs");
    }
    computed
}

/// How many entries an insert stored.
async fn inserted(store: &dyn WorkoutStore, entries: &[WorkoutEntry]) -> u64 {
    store.insert_entries(entries).await.expect("insert").count
}

/// Stores entries and settles their PR changes, as the write path does.
pub async fn store_and_settle(store: &dyn WorkoutStore, entries: &[WorkoutEntry]) {
    let done = store.insert_entries(entries).await.expect("insert");
    settle_all(store, done.changes.into_iter().map(|(_, c)| c).collect()).await;
}

async fn settle_all(store: &dyn WorkoutStore, changes: Vec<everfit::store::PrChange>) {
    settle::settle(store, &NativePrCalculator, user(), &changes)
        .await
        .expect("settle");
}

/// Applies an edit or delete outcome's changes, as the write path does.
async fn settle_outcome(store: &dyn WorkoutStore, outcome: EditOutcome) {
    let EditOutcome::Applied { changes, .. } = outcome else {
        panic!("not applied: {outcome:?}")
    };
    settle_all(store, changes).await;
}

pub async fn insert_collapses_replays_and_duplicate_keys(store: &dyn WorkoutStore) {
    assert_eq!(inserted(store, &[]).await, 0);
    let a = entry(1, "Squat", day(1), &[(5, 100.0)]);
    let b = entry(2, "Squat", day(2), &[(5, 110.0)]);
    let first = store.insert_entries(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(first.count, 2);
    assert_eq!(first.changes.len(), 2);
    assert!(
        first
            .changes
            .iter()
            .all(|(u, c)| *u == user() && !c.destructive)
    );
    // A replayed batch stores nothing new, but names the same changes to
    // settle (its first delivery may have died before settling).
    let replay = store.insert_entries(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(replay.count, 0);
    assert_eq!(replay.changes, first.changes);
    // A mixed batch stores only what is new.
    let c = entry(3, "Squat", day(3), &[(5, 120.0)]);
    assert_eq!(inserted(store, &[a.clone(), c.clone()]).await, 1);

    // Same (user, key) under another id: the first stored entry wins.
    let first = keyed(user(), "key-1", "Bench Press", day(4));
    assert_eq!(inserted(store, std::slice::from_ref(&first)).await, 1);
    let mut other_id = keyed(user(), "key-1", "Deadlift", day(5));
    other_id.id = id(99);
    assert_eq!(inserted(store, &[other_id]).await, 0);
    assert_eq!(store.get_entry(user(), id(99)).await.unwrap(), None);
    assert_eq!(
        store.get_entry(user(), first.id).await.unwrap(),
        Some(first.clone())
    );
    // The same key of another user is another entry.
    let theirs = keyed(other_user(), "key-1", "Bench Press", day(4));
    assert_eq!(inserted(store, &[theirs]).await, 1);
    // Entries without a key never collide on the key index.
    let unkeyed: Vec<WorkoutEntry> = (10..15)
        .map(|n| entry(n, "Squat", day(1), &[(1, 1.0)]))
        .collect();
    assert_eq!(inserted(store, &unkeyed).await, 5);

    let all = history(store, query()).await;
    assert_eq!(all.len(), 3 + 1 + 5);
}

pub async fn concurrent_identical_submits_store_one_entry(store: &dyn WorkoutStore) {
    let e = keyed(user(), "retry-me", "Bench Press", day(7));
    let results = join_all((0..16).map(|_| {
        let batch = vec![e.clone()];
        async move { store.insert_entries(&batch).await }
    }))
    .await;
    let stored: u64 = results.into_iter().map(|r| r.expect("insert").count).sum();
    assert_eq!(stored, 1);
    assert_eq!(history(store, query()).await, vec![e]);
}

pub async fn get_is_user_scoped_and_round_trips(store: &dyn WorkoutStore) {
    let mut e = entry_of(
        user(),
        id(1),
        "  Bench   Press ",
        day(3) + chrono::Duration::milliseconds(987),
        &[(5, 100.0, kg()), (8, 225.0, lb()), (1, 0.0, kg())],
    );
    e.idempotency_key = Some("ключ (key) .*".into());
    let theirs = entry_of(other_user(), id(2), "Squat", day(3), &[(5, 100.0, kg())]);
    store
        .insert_entries(&[e.clone(), theirs.clone()])
        .await
        .unwrap();

    let got = store
        .get_entry(user(), e.id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(got, e);
    assert_eq!(got.exercise_name, "Bench Press");
    assert_eq!(got.sets[1].weight_kg, 225.0 * 0.453_592_37);
    assert_eq!(store.get_entry(user(), theirs.id).await.unwrap(), None);
    assert_eq!(store.get_entry(user(), id(77)).await.unwrap(), None);

    let mut many = store
        .get_entries(user(), &[e.id, theirs.id, id(77)])
        .await
        .unwrap();
    many.sort_by_key(|x| x.id);
    assert_eq!(many, vec![e]);
    assert!(store.get_entries(user(), &[]).await.unwrap().is_empty());
}

pub async fn history_is_newest_first_then_highest_id(store: &dyn WorkoutStore) {
    // Ids deliberately not in date order.
    let entries = vec![
        entry(5, "Squat", day(1), &[(1, 1.0)]),
        entry(1, "Squat", day(3), &[(1, 1.0)]),
        entry(9, "Squat", day(3), &[(1, 1.0)]),
        entry(3, "Squat", day(2), &[(1, 1.0)]),
        entry(7, "Squat", day(3), &[(1, 1.0)]),
        entry_of(other_user(), id(8), "Squat", day(9), &[(1, 1.0, kg())]),
    ];
    store.insert_entries(&entries).await.unwrap();
    let got = ids(&history(store, query()).await);
    assert_eq!(got, vec![id(9), id(7), id(1), id(3), id(5)]);
    let limited = ids(&history(
        store,
        HistoryQuery {
            limit: 2,
            ..query()
        },
    )
    .await);
    assert_eq!(limited, vec![id(9), id(7)]);
}

pub async fn keyset_pages_never_skip_or_repeat(store: &dyn WorkoutStore) {
    // Unfiltered, by prefix, by a list of keys (a muscle group), both: each
    // on its own client, so the other walks' inserts are no noise.
    let legs = vec![
        "squat".to_string(),
        "deadlift".to_string(),
        "leg press".to_string(),
    ];
    let walks: [(Option<&str>, Option<Vec<String>>); 5] = [
        (None, None),
        (Some("squat"), None),
        (Some("d"), None),
        (None, Some(legs.clone())),
        (Some("s"), Some(legs)),
    ];
    for (n, (prefix, among)) in walks.into_iter().enumerate() {
        walk_pages(store, n as u32, prefix, among).await;
    }
}

const PAGED_EXERCISES: [&str; 4] = ["Squat", "Deadlift", "Bench Press", "Front Squat"];

fn matches(e: &WorkoutEntry, prefix: Option<&str>, among: Option<&[String]>) -> bool {
    prefix.is_none_or(|p| e.exercise_name_lower.starts_with(p))
        && among.is_none_or(|list| list.contains(&e.exercise_name_lower))
}

async fn walk_pages(
    store: &dyn WorkoutStore,
    walk: u32,
    prefix: Option<&str>,
    among: Option<Vec<String>>,
) {
    // Ids are global: each walk has its own client and its own id range.
    let who = id_user(100 + walk);
    let base_id = walk * 0x10000;
    // 40 entries over 4 dates: many share a date; four exercises.
    let mut entries: Vec<WorkoutEntry> = (0..40u32)
        .map(|n| {
            entry_of(
                who,
                id(base_id + 100 + n * 7 % 40),
                PAGED_EXERCISES[(n % 4) as usize],
                day(10 + n % 4),
                &[(5, 100.0, kg())],
            )
        })
        .collect();
    store.insert_entries(&entries).await.unwrap();

    let base = HistoryQuery {
        user_id: who,
        exercise_prefix: prefix.map(str::to_string),
        exercise_in: among.clone(),
        limit: 7,
        ..query()
    };
    let mut seen: Vec<WorkoutEntry> = Vec::new();
    let mut after = None;
    let mut page_no = 0;
    loop {
        let page = history(
            store,
            HistoryQuery {
                after,
                ..base.clone()
            },
        )
        .await;
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(CursorPosition {
            date: last.date,
            id: last.id,
        });
        seen.extend(page);
        page_no += 1;
        // Between pages: entries newer than the cursor (must not appear),
        // on the cursor's date with ids on both sides, and older ones (must).
        let pos = after.unwrap();
        let n = base_id + 1000 + page_no * 10;
        let exercise = PAGED_EXERCISES[page_no as usize % 4];
        let added = vec![
            entry_of(who, id(n), exercise, day(30), &[(1, 1.0, kg())]),
            entry_of(
                who,
                beside(pos.id, 0xf0, page_no),
                exercise,
                pos.date,
                &[(1, 1.0, kg())],
            ),
            entry_of(
                who,
                beside(pos.id, 0x01, page_no),
                "Squat",
                pos.date,
                &[(1, 1.0, kg())],
            ),
            entry_of(who, id(n + 2), exercise, day(0), &[(1, 1.0, kg())]),
        ];
        entries.extend(
            added
                .iter()
                .filter(|e| (e.date, e.id) < (pos.date, pos.id))
                .cloned(),
        );
        store.insert_entries(&added).await.unwrap();
    }
    let unique: HashSet<EntryId> = seen.iter().map(|e| e.id).collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a page repeated an entry ({prefix:?}, {among:?})"
    );
    // Exactly the matching first entries plus those added below the cursor, in order.
    let expected: Vec<WorkoutEntry> = newest_first(&entries)
        .into_iter()
        .filter(|e| matches(e, prefix, among.as_deref()))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ids(&seen), ids(&expected), "({prefix:?}, {among:?})");
}

/// An id above (`high` 0xf0) or below (0x01) every fixture id, unique per page.
fn beside(id: EntryId, high: u8, page: u32) -> EntryId {
    let mut bytes = id.bytes();
    bytes[0] = high;
    bytes[1] = page as u8;
    EntryId::from_bytes(bytes)
}

pub async fn prefix_search_is_literal_and_anchored(store: &dyn WorkoutStore) {
    let names = [
        "A.B Curl",
        "AxB Curl",
        "(Odd) Press",
        "Bench Press",
        "Bench Dips",
        "Übung",
        "a+b",
        "aab",
        "back*squat",
        "[x] row",
        "x",
    ];
    let entries: Vec<WorkoutEntry> = names
        .iter()
        .enumerate()
        .map(|(i, n)| entry(i as u32 + 1, n, day(1), &[(1, 1.0)]))
        .collect();
    store.insert_entries(&entries).await.unwrap();

    assert_eq!(names_with_prefix(store, "a.b").await, vec!["A.B Curl"]);
    assert_eq!(names_with_prefix(store, "(").await, vec!["(Odd) Press"]);
    assert_eq!(names_with_prefix(store, "a+").await, vec!["a+b"]);
    assert_eq!(names_with_prefix(store, "back*").await, vec!["back*squat"]);
    assert_eq!(names_with_prefix(store, "[x]").await, vec!["[x] row"]);
    assert_eq!(
        names_with_prefix(store, "bench").await,
        vec!["Bench Dips", "Bench Press"]
    );
    assert_eq!(names_with_prefix(store, "übung").await, vec!["Übung"]);
    assert_eq!(
        names_with_prefix(store, "bench press").await,
        vec!["Bench Press"]
    );
    // Regex syntax has no power, and the match is a prefix, not a substring.
    for nothing in [
        ".*", "a.c", "[y", "*", "press", "^b", "b$", "\\", "x|b", "?",
    ] {
        assert!(
            names_with_prefix(store, nothing).await.is_empty(),
            "prefix {nothing:?} matched"
        );
    }
    assert_eq!(names_with_prefix(store, "").await.len(), names.len());
}

pub async fn exercise_in_filters_and_combines_with_prefix(store: &dyn WorkoutStore) {
    let entries = vec![
        entry(1, "Bench Press", day(1), &[(1, 1.0)]),
        entry(2, "Squat", day(2), &[(1, 1.0)]),
        entry(3, "Deadlift", day(3), &[(1, 1.0)]),
        entry(4, "Bench Press", day(4), &[(1, 1.0)]),
    ];
    store.insert_entries(&entries).await.unwrap();
    let q = |names: &[&str], prefix: Option<&str>| HistoryQuery {
        exercise_in: Some(names.iter().map(|s| s.to_string()).collect()),
        exercise_prefix: prefix.map(Into::into),
        ..query()
    };
    assert_eq!(
        ids(&history(store, q(&["bench press", "squat"], None)).await),
        vec![id(4), id(2), id(1)]
    );
    assert_eq!(
        ids(&history(store, q(&["bench press", "squat"], Some("s"))).await),
        vec![id(2)]
    );
    assert!(history(store, q(&[], None)).await.is_empty());
    assert!(
        history(store, q(&["Bench Press"], None)).await.is_empty(),
        "keys are lower case"
    );
}

pub async fn ranges_are_half_open(store: &dyn WorkoutStore) {
    let ms = chrono::Duration::milliseconds(1);
    let entries = vec![
        entry(1, "Squat", day(1) - ms, &[(1, 1.0)]),
        entry(2, "Squat", day(1), &[(1, 1.0)]),
        entry(3, "Squat", day(2) - ms, &[(1, 1.0)]),
        entry(4, "Squat", day(2), &[(1, 1.0)]),
    ];
    store.insert_entries(&entries).await.unwrap();
    let range = |start, end| HistoryQuery {
        range: TimeRange { start, end },
        ..query()
    };
    assert_eq!(
        ids(&history(store, range(Some(day(1)), Some(day(2)))).await),
        vec![id(3), id(2)]
    );
    assert_eq!(
        ids(&history(store, range(Some(day(1)), None)).await),
        vec![id(4), id(3), id(2)]
    );
    assert_eq!(
        ids(&history(store, range(None, Some(day(1)))).await),
        vec![id(1)]
    );
    // The range composes with the keyset.
    let q = HistoryQuery {
        after: Some(CursorPosition {
            date: day(2) - ms,
            id: id(3),
        }),
        ..range(Some(day(1)), None)
    };
    assert_eq!(ids(&history(store, q).await), vec![id(2)]);
}

pub async fn live_records_follow_the_tie_rules(store: &dyn WorkoutStore) {
    // Every set below ties on every metric (5 x 100 kg) except where noted.
    let entries = vec![
        // Later date: loses every tie.
        entry(1, "Bench Press", day(5), &[(5, 100.0)]),
        // Same date, higher id: loses to id 3.
        entry(9, "Bench Press", day(2), &[(5, 100.0)]),
        // The winner of every tie: earliest date, lowest id, earlier set.
        entry(
            3,
            "Bench Press",
            day(2),
            &[(4, 90.0), (5, 100.0), (5, 100.0)],
        ),
        entry(4, "Squat", day(1), &[(5, 500.0)]),
    ];
    store.insert_entries(&entries).await.unwrap();
    let records = live(store, "bench press", TimeRange::ALL_TIME).await;
    let winner = SetRecord {
        entry_id: id(3).to_hex(),
        date_ms: day(2).timestamp_millis(),
        set_index: 1,
        reps: 5,
        weight_kg: 100.0,
    };
    assert_eq!(records.heaviest_set.as_ref(), Some(&winner));
    assert_eq!(records.highest_volume_set.as_ref(), Some(&winner));
    assert_eq!(records.best_one_rep_max.as_ref(), Some(&winner));
    assert_eq!(
        records,
        oracle(&entries, "bench press", TimeRange::ALL_TIME)
    );

    // Each kind picks its own set; 1RM is Epley in kg, lb converted.
    let more = vec![
        entry_of(
            user(),
            id(20),
            "Deadlift",
            day(1),
            &[(3, 110.0, kg()), (10, 90.0, kg())],
        ),
        entry_of(
            user(),
            id(21),
            "Deadlift",
            day(2),
            &[(1, 250.0, lb()), (12, 70.0, kg())],
        ),
    ];
    store.insert_entries(&more).await.unwrap();
    let r = live(store, "deadlift", TimeRange::ALL_TIME).await;
    assert_eq!(r, oracle(&more, "deadlift", TimeRange::ALL_TIME));
    let heaviest = r.heaviest_set.unwrap();
    assert_eq!(
        (heaviest.entry_id, heaviest.set_index),
        (id(21).to_hex(), 0)
    );
    let volume = r.highest_volume_set.unwrap();
    assert_eq!((volume.entry_id, volume.set_index), (id(20).to_hex(), 1));
    let orm = r.best_one_rep_max.unwrap();
    assert_eq!((orm.entry_id, orm.set_index), (id(20).to_hex(), 0));

    assert_eq!(
        live(store, "nothing", TimeRange::ALL_TIME).await,
        PersonalRecords::default()
    );
}

pub async fn live_records_respect_the_range(store: &dyn WorkoutStore) {
    let entries = vec![
        entry(1, "Squat", day(1), &[(5, 150.0)]),
        entry(2, "Squat", day(10), &[(5, 120.0)]),
        entry(3, "Squat", day(20), &[(5, 130.0)]),
        entry_of(other_user(), id(4), "Squat", day(10), &[(5, 300.0, kg())]),
    ];
    store.insert_entries(&entries).await.unwrap();
    let r = |start, end| TimeRange { start, end };
    for range in [
        TimeRange::ALL_TIME,
        r(Some(day(2)), Some(day(20))),
        r(Some(day(2)), None),
        r(None, Some(day(10))),
        r(Some(day(10)), Some(day(21))),
        r(Some(day(30)), None),
    ] {
        assert_eq!(
            live(store, "squat", range).await,
            oracle(&entries, "squat", range),
            "{range:?}"
        );
    }
    let in_window = live(store, "squat", r(Some(day(2)), Some(day(20)))).await;
    assert_eq!(in_window.heaviest_set.unwrap().entry_id, id(2).to_hex());
}

pub async fn live_records_and_history_match_the_oracle_on_random_data(store: &dyn WorkoutStore) {
    // Few distinct weights, reps and dates so ties are everywhere; lb
    // conversions give weights that are not round numbers.
    let mut rng = StdRng::seed_from_u64(7);
    let exercises = ["Bench Press", "Squat", "Back Squat"];
    let mut entries = Vec::new();
    for n in 0..300u32 {
        let sets: Vec<(u32, f64, everfit::domain::Unit)> = (0..rng.gen_range(1..=5))
            .map(|_| {
                let unit = if rng.gen_bool(0.3) { lb() } else { kg() };
                (
                    [1, 3, 5, 8, 10][rng.gen_range(0..5)],
                    [60.0, 80.0, 100.0, 102.5, 225.0][rng.gen_range(0..5)],
                    unit,
                )
            })
            .collect();
        let id_n = rng.gen_range(0..u32::MAX / 2) * 2 + (n % 2);
        entries.push(entry_of(
            user(),
            id(id_n),
            exercises[rng.gen_range(0..3)],
            day(rng.gen_range(0..40)),
            &sets,
        ));
    }
    // Random ids could repeat: keep the first of each.
    let mut seen = HashSet::new();
    entries.retain(|e| seen.insert(e.id));
    for chunk in entries.chunks(64) {
        store.insert_entries(chunk).await.unwrap();
    }
    let r = |start: Option<u32>, end: Option<u32>| TimeRange {
        start: start.map(day),
        end: end.map(day),
    };
    for exercise in ["bench press", "squat", "back squat"] {
        for range in [
            TimeRange::ALL_TIME,
            r(Some(5), Some(25)),
            r(Some(13), Some(14)),
            r(None, Some(8)),
            r(Some(30), None),
        ] {
            assert_eq!(
                live(store, exercise, range).await,
                oracle(&entries, exercise, range),
                "{exercise} {range:?}"
            );
        }
    }
    // History over the same data, paged, with filters.
    let expected: Vec<WorkoutEntry> = newest_first(&entries)
        .into_iter()
        .filter(|e| {
            e.exercise_name_lower.starts_with("squat") && r(Some(5), Some(25)).contains(e.date)
        })
        .collect();
    let q = HistoryQuery {
        exercise_prefix: Some("squat".into()),
        range: r(Some(5), Some(25)),
        limit: 9,
        ..query()
    };
    let got = all_pages(store, q).await;
    assert_eq!(ids(&got), ids(&expected));
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e);
    }
    let all = all_pages(
        store,
        HistoryQuery {
            limit: 17,
            ..query()
        },
    )
    .await;
    assert_eq!(all, newest_first(&entries));
}

fn set_with(weight: f64, entry_n: u32) -> SetRecord {
    SetRecord {
        entry_id: id(entry_n).to_hex(),
        date_ms: day(entry_n).timestamp_millis(),
        set_index: 0,
        reps: 5,
        weight_kg: weight,
    }
}

fn records_with(weight: f64, entry_n: u32) -> PersonalRecords {
    PersonalRecords::compute(&[set_with(weight, entry_n)])
}

pub async fn read_model_compare_and_swap(store: &dyn WorkoutStore) {
    assert_eq!(
        store.read_personal_records(user(), "squat").await.unwrap(),
        None
    );
    let first = records_with(100.0, 1);
    let first_reps = RepRecords::compute(&[set_with(100.0, 1)]);
    // Create: only when no row exists.
    assert!(
        store
            .write_personal_records(
                user(),
                "squat",
                &first,
                &first_reps,
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .write_personal_records(
                user(),
                "squat",
                &records_with(1.0, 2),
                &RepRecords::default(),
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
    let row = store
        .read_personal_records(user(), "squat")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.records.clone(), row.version), (first.clone(), 1));
    assert_eq!(row.reps, Some(first_reps));

    // Update: only at the expected version.
    let second = records_with(120.0, 3);
    assert!(
        !store
            .write_personal_records(
                user(),
                "squat",
                &second,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(7)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .write_personal_records(
                user(),
                "squat",
                &second,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(1)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .write_personal_records(
                user(),
                "squat",
                &first,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(1)
            )
            .await
            .unwrap()
    );
    let row = store
        .read_personal_records(user(), "squat")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.records, row.version), (second, 2));

    // Empty records are a valid row; a missing row is not updated.
    assert!(
        store
            .write_personal_records(
                user(),
                "bench press",
                &PersonalRecords::default(),
                &RepRecords::default(),
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
    let row = store
        .read_personal_records(user(), "bench press")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.records, row.version), (PersonalRecords::default(), 1));
    assert!(
        !store
            .write_personal_records(
                user(),
                "deadlift",
                &first,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(1)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .read_personal_records(user(), "deadlift")
            .await
            .unwrap(),
        None
    );
    // Rows are per user.
    assert_eq!(
        store
            .read_personal_records(other_user(), "squat")
            .await
            .unwrap(),
        None
    );
}

pub async fn settling_racing_writes_loses_none_and_revives_none(store: &dyn WorkoutStore) {
    // 24 writers on the same three days: inserts, edits (one moving its
    // entry to another day) and deletes, each settling as it goes. The read
    // model and every day must end equal to the entries as they end.
    let seeded: Vec<WorkoutEntry> = (1..=12)
        .map(|n| entry(n, "Squat", day(1 + n % 3), &[(5, f64::from(n) * 10.0)]))
        .collect();
    store_and_settle(store, &seeded).await;
    let writers = (1..=24u32).map(|n| async move {
        match n % 3 {
            0 => {
                let e = entry(
                    100 + n,
                    "Squat",
                    day(1 + n % 3),
                    &[(3, f64::from((n * 37) % 24) * 7.0)],
                );
                store_and_settle(store, &[e]).await;
            }
            1 => {
                let target = 1 + (n / 3) % 12;
                let mut edited = entry(
                    target,
                    "Squat",
                    day(1 + (n + 1) % 3),
                    &[(2, 400.0 + f64::from(n))],
                );
                edited.version = i64::from(n) + 1;
                if let EditOutcome::Applied { changes, .. } =
                    store.replace_entry(&edited).await.unwrap()
                {
                    settle_all(store, changes).await;
                }
            }
            _ => {
                let target = 1 + (n / 3 + 6) % 12;
                let outcome = store
                    .delete_entry(user(), id(target), i64::from(n) + 1, day(40))
                    .await
                    .unwrap();
                if let EditOutcome::Applied { changes, .. } = outcome {
                    settle_all(store, changes).await;
                }
            }
        }
    });
    join_all(writers).await;
    let stored = all_pages(store, query()).await;
    let row = store
        .read_personal_records(user(), "squat")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.records, oracle(&stored, "squat", TimeRange::ALL_TIME));
    assert_eq!(
        row.reps,
        Some(rep_oracle(&stored, "squat", TimeRange::ALL_TIME))
    );
    // The entry stats too: a count lost or counted twice would show here.
    assert_eq!(
        row.stats.map(|s| s.entries),
        Some(stored.len() as u64),
        "entries settled"
    );
    assert_eq!(exercise_overview(store).await, overview_oracle(&stored));
    for d in 1..=3 {
        let one = TimeRange {
            start: Some(day(d)),
            end: Some(day(d + 1)),
        };
        assert_eq!(
            day_summaries_merged(store, span_of(d, d + 1)).await,
            oracle(&stored, "squat", one),
            "day {d}"
        );
        assert_eq!(
            day_rep_records(store, d).await,
            rep_oracle(&stored, "squat", one),
            "day {d}"
        );
    }
    assert!(store.pr_changes(user(), None).await.unwrap().is_empty());
}

pub async fn exercise_keys_are_distinct_and_sorted(store: &dyn WorkoutStore) {
    let entries = vec![
        entry(1, "Squat", day(1), &[(1, 1.0)]),
        entry(2, "Bench Press", day(2), &[(1, 1.0)]),
        entry(3, "squat", day(3), &[(1, 1.0)]),
        entry(4, "Übung", day(3), &[(1, 1.0)]),
        entry(5, "Zercher", day(3), &[(1, 1.0)]),
        entry_of(other_user(), id(6), "Deadlift", day(1), &[(1, 1.0, kg())]),
    ];
    store.insert_entries(&entries).await.unwrap();
    let mine: Vec<(everfit::domain::UserId, String)> = ["bench press", "squat", "zercher", "übung"]
        .iter()
        .map(|e| (user(), e.to_string()))
        .collect();
    assert_eq!(store.exercise_keys(Some(user())).await.unwrap(), mine);
    let mut all = mine.clone();
    all.push((other_user(), "deadlift".into()));
    all.sort();
    assert_eq!(store.exercise_keys(None).await.unwrap(), all);
    assert!(
        store
            .exercise_keys(Some(id_user(42)))
            .await
            .unwrap()
            .is_empty()
    );
}

fn id_user(n: u32) -> everfit::domain::UserId {
    format!("00000000000000{n:010x}").parse().unwrap()
}

// Day bests: one summary per (user, exercise, UTC day), folded with the read
// model; ranged PRs merge the whole days' summaries with the partial edges.

fn span_of(first: u32, end: u32) -> DaySpan {
    DaySpan {
        first: Some(day_of(day(first).timestamp_millis())),
        end: Some(day_of(day(end).timestamp_millis())),
    }
}

async fn day_summaries_merged(store: &dyn WorkoutStore, days: DaySpan) -> PersonalRecords {
    let mut merged = PersonalRecords::default();
    for s in store
        .day_summaries(user(), "squat", days)
        .await
        .expect("day summaries")
        .expect("a key stored after day bests existed is never pending")
    {
        merged.merge(&s.records);
    }
    merged
}

/// The stored rep records of one squat day (empty when it has no summary).
async fn day_rep_records(store: &dyn WorkoutStore, d: u32) -> RepRecords {
    let days = store
        .day_summaries(user(), "squat", span_of(d, d + 1))
        .await
        .unwrap()
        .expect("day bests built");
    assert!(days.len() <= 1);
    days.into_iter()
        .next()
        .map(|s| s.reps.expect("rep records kept"))
        .unwrap_or_default()
}

/// The ranges every day-bests behaviour checks: whole days, partial edges on
/// either side, inside one day, open sides, empty.
fn day_ranges() -> Vec<TimeRange> {
    let h = |d: u32, hours: i64| day(d) + chrono::Duration::hours(hours);
    let r = |start, end| TimeRange { start, end };
    vec![
        TimeRange::ALL_TIME,
        r(Some(day(1)), Some(day(4))),
        r(Some(h(1, 9)), Some(h(4, 15))),
        r(Some(h(2, 1)), Some(h(2, 23))),
        r(Some(h(2, 12)), Some(h(3, 12))),
        r(None, Some(h(3, 7))),
        r(Some(h(3, 7)), None),
        r(Some(day(30)), None),
        r(Some(day(2)), Some(day(2))),
    ]
}

async fn assert_ranges_served_from_day_bests(store: &dyn WorkoutStore, entries: &[WorkoutEntry]) {
    for range in day_ranges() {
        let (records, source) = reads::range(store, &NativePrCalculator, user(), "squat", range)
            .await
            .expect("range");
        assert_eq!(source, PrSource::DayBests, "{range:?}");
        assert_eq!(records, oracle(entries, "squat", range), "{range:?}");
        let reps = reads::rep_records(store, user(), "squat", range)
            .await
            .expect("rep records");
        assert_eq!(reps, rep_oracle(entries, "squat", range), "{range:?}");
    }
}

/// Several entries a day, mid-day times, a heavier other user and exercise.
fn day_bests_entries() -> Vec<WorkoutEntry> {
    let h = |d: u32, hours: i64| day(d) + chrono::Duration::hours(hours);
    vec![
        entry(1, "Squat", h(1, 8), &[(5, 100.0), (3, 110.0)]),
        entry(2, "Squat", h(1, 20), &[(8, 90.0)]),
        entry(3, "Squat", h(2, 0), &[(5, 105.0)]),
        entry(4, "Squat", h(2, 13), &[(5, 105.0), (1, 130.0)]),
        entry(5, "Squat", h(3, 6), &[(10, 80.0)]),
        entry(6, "Squat", h(3, 18), &[(2, 125.0)]),
        entry(7, "Squat", h(4, 10), &[(5, 100.0)]),
        entry(
            8,
            "Squat",
            day(5) - chrono::Duration::milliseconds(1),
            &[(6, 100.0)],
        ),
        entry(9, "Bench Press", h(2, 9), &[(5, 400.0)]),
        entry_of(other_user(), id(10), "Squat", h(2, 9), &[(5, 300.0, kg())]),
    ]
}

pub async fn day_bests_are_settled_and_serve_ranges(store: &dyn WorkoutStore) {
    let entries = day_bests_entries();
    // Stored and settled as the write path does, in batches, one replayed.
    for batch in entries.chunks(3) {
        store_and_settle(store, batch).await;
    }
    store_and_settle(store, &entries[..3]).await;
    assert!(store.pr_changes(user(), None).await.unwrap().is_empty());
    assert_ranges_served_from_day_bests(store, &entries).await;

    // The summaries themselves: whole days only, per user and exercise.
    let whole = |a, b| TimeRange {
        start: Some(day(a)),
        end: Some(day(b)),
    };
    assert_eq!(
        day_summaries_merged(store, span_of(2, 4)).await,
        oracle(&entries, "squat", whole(2, 4))
    );
    assert_eq!(
        day_summaries_merged(store, DaySpan::default()).await,
        oracle(&entries, "squat", TimeRange::ALL_TIME)
    );
    for empty in [span_of(3, 3), span_of(4, 2), span_of(20, 30)] {
        assert_eq!(
            day_summaries_merged(store, empty).await,
            PersonalRecords::default()
        );
    }
    let d2 = day_of(day(2).timestamp_millis());
    let on = store
        .day_summaries_on(user(), "squat", &[d2, d2 + 100])
        .await
        .unwrap();
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].day, d2);
    assert_eq!(on[0].records, oracle(&entries, "squat", whole(2, 3)));
    let row = store
        .read_personal_records(user(), "squat")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.records, oracle(&entries, "squat", TimeRange::ALL_TIME));
}

pub async fn day_summaries_compare_and_swap(store: &dyn WorkoutStore) {
    let d = day_of(day(2).timestamp_millis());
    async fn on(store: &dyn WorkoutStore, d: i64) -> Option<everfit::store::DaySummary> {
        store
            .day_summaries_on(user(), "squat", &[d])
            .await
            .unwrap()
            .pop()
    }
    let first = records_with(100.0, 1);
    // Create only when absent; update only at the version read.
    assert!(
        store
            .write_day_summary(
                user(),
                "squat",
                d,
                &first,
                &RepRecords::default(),
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .write_day_summary(
                user(),
                "squat",
                d,
                &first,
                &RepRecords::default(),
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
    let stored = on(store, d).await.unwrap();
    assert_eq!((stored.records.clone(), stored.version), (first.clone(), 1));
    let second = records_with(50.0, 2);
    assert!(
        !store
            .write_day_summary(
                user(),
                "squat",
                d,
                &second,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(7)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .write_day_summary(
                user(),
                "squat",
                d,
                &second,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(1)
            )
            .await
            .unwrap()
    );
    assert_eq!(on(store, d).await.unwrap().records, second);
    // Emptied, the summary stays with its version counting: a writer that
    // read "no summary" before it existed cannot create it again.
    let empty = PersonalRecords::default();
    assert!(
        !store
            .write_day_summary(
                user(),
                "squat",
                d,
                &empty,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(1)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .write_day_summary(
                user(),
                "squat",
                d,
                &empty,
                &RepRecords::default(),
                &EntryStats::default(),
                Some(2)
            )
            .await
            .unwrap()
    );
    let emptied = on(store, d).await.unwrap();
    assert_eq!((emptied.records, emptied.version), (empty, 3));
    assert!(
        !store
            .write_day_summary(
                user(),
                "squat",
                d,
                &first,
                &RepRecords::default(),
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
}

pub async fn day_bests_rebuild_recomputes_from_entries(store: &dyn WorkoutStore) {
    let entries = day_bests_entries();
    let (first, later) = entries.split_at(6);
    // Stored, never settled (as by a version without day bests).
    let unsettled = store.insert_entries(first).await.unwrap();
    let changes: Vec<_> = unsettled.changes.into_iter().map(|(_, c)| c).collect();
    store.clear_pr_changes(user(), &changes).await.unwrap();
    // Drift to heal: a summary far too strong for day 1, one for day 30
    // (no entries that day), and days 2-3 never settled at all.
    let d1 = day_of(day(1).timestamp_millis());
    let d30 = day_of(day(30).timestamp_millis());
    for (d, records) in [(d1, records_with(999.0, 1)), (d30, records_with(50.0, 30))] {
        assert!(
            store
                .write_day_summary(
                    user(),
                    "squat",
                    d,
                    &records,
                    &RepRecords::default(),
                    &EntryStats::default(),
                    None
                )
                .await
                .unwrap()
        );
    }

    // The rebuild races with entries being stored and settled: none is lost.
    let write_later = async {
        for e in later {
            store_and_settle(store, std::slice::from_ref(e)).await;
        }
    };
    let (rebuilt, ()) = tokio::join!(
        store.rebuild_day_records(user(), "squat", &NativePrCalculator),
        write_later
    );
    rebuilt.expect("rebuild");
    assert_ranges_served_from_day_bests(store, &entries).await;
    assert_eq!(
        day_summaries_merged(store, span_of(30, 31)).await,
        PersonalRecords::default()
    );

    // A second rebuild changes nothing.
    store
        .rebuild_day_records(user(), "squat", &NativePrCalculator)
        .await
        .unwrap();
    assert_ranges_served_from_day_bests(store, &entries).await;
}

// Correcting the log: edits, deletes, erasure, and reads that stay exact
// while writes wait to be settled.

fn edited(mut e: WorkoutEntry, version: i64) -> WorkoutEntry {
    e.version = version;
    e.updated_at += chrono::Duration::minutes(version);
    e
}

pub async fn edits_replace_content_and_keep_identity(store: &dyn WorkoutStore) {
    let original = keyed(user(), "k-edit", "Squat", day(1));
    store_and_settle(store, std::slice::from_ref(&original)).await;
    // Renamed and moved to another day: both (exercise, day) pairs change.
    let mut moved = entry_of(
        user(),
        original.id,
        "Front Squat",
        day(3),
        &[(3, 140.0, kg())],
    );
    moved.idempotency_key = Some("something else".into());
    let moved = edited(moved, 2);
    let outcome = store.replace_entry(&moved).await.unwrap();
    let EditOutcome::Applied { before, changes } = outcome.clone() else {
        panic!("{outcome:?}")
    };
    assert_eq!(*before, original);
    let touched: Vec<(String, i64, bool)> = changes
        .iter()
        .map(|c| (c.exercise.clone(), c.day, c.destructive))
        .collect();
    assert_eq!(
        touched,
        [
            ("squat".to_string(), day_of(day(1).timestamp_millis()), true),
            (
                "front squat".to_string(),
                day_of(day(3).timestamp_millis()),
                true
            ),
        ]
    );
    let stored = store.get_entry(user(), original.id).await.unwrap().unwrap();
    assert_eq!(stored.exercise_name, "Front Squat");
    assert_eq!(stored.date, day(3));
    assert_eq!(stored.version, 2);
    assert_eq!(stored.updated_at, moved.updated_at);
    // Id, key and creation stay the entry's own.
    assert_eq!(stored.idempotency_key.as_deref(), Some("k-edit"));
    assert_eq!(stored.created_at, original.created_at);
    settle_outcome(store, outcome).await;
    assert_eq!(
        store.user_exercises(user()).await.unwrap(),
        [("front squat".to_string(), "Front Squat".to_string())]
    );

    // Late or repeated edits change nothing.
    let late = edited(
        entry_of(user(), original.id, "Squat", day(1), &[(1, 1.0, kg())]),
        2,
    );
    assert_eq!(
        store.replace_entry(&late).await.unwrap(),
        EditOutcome::Stale { current: 2 }
    );
    assert_eq!(
        store.get_entry(user(), original.id).await.unwrap().unwrap(),
        stored
    );
    // Unknown ids and other clients' ids are missing.
    let unknown = edited(entry(77, "Squat", day(1), &[(1, 1.0)]), 5);
    assert_eq!(
        store.replace_entry(&unknown).await.unwrap(),
        EditOutcome::Missing
    );
    let mut theirs = moved.clone();
    theirs.user_id = other_user();
    theirs.version = 9;
    assert_eq!(
        store.replace_entry(&theirs).await.unwrap(),
        EditOutcome::Missing
    );
}

/// A settle that read a day's entries before one was deleted, and the
/// settle of that delete, in the worst order: the first one read "no
/// summary" and writes last. Its compare-and-swap must miss, or the deleted
/// set would be a record again with nothing left to correct it.
pub async fn a_settle_that_read_deleted_entries_cannot_revive_them(store: &dyn WorkoutStore) {
    let e = entry(1, "Squat", day(3), &[(5, 999.0)]);
    let d = day_of(e.date.timestamp_millis());
    store
        .insert_entries(std::slice::from_ref(&e))
        .await
        .unwrap();
    // The stale settle reads: no summary, then the entry.
    assert!(
        store
            .day_summaries_on(user(), "squat", &[d])
            .await
            .unwrap()
            .is_empty()
    );
    let sets = store
        .exercise_sets(user(), "squat", settle::day_range(d))
        .await
        .unwrap();
    let stale = NativePrCalculator.compute(&sets).unwrap();
    assert!(stale.heaviest_set.is_some());
    // The delete lands and is settled.
    let outcome = store.delete_entry(user(), e.id, 2, day(9)).await.unwrap();
    settle_outcome(store, outcome).await;
    // The stale write comes last, and misses.
    assert!(
        !store
            .write_day_summary(
                user(),
                "squat",
                d,
                &stale,
                &RepRecords::default(),
                &EntryStats::default(),
                None
            )
            .await
            .unwrap()
    );
    let days = store.day_summaries_on(user(), "squat", &[d]).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].records, PersonalRecords::default());
    let row = store.read_personal_records(user(), "squat").await.unwrap();
    assert_eq!(
        row.map(|r| r.records).unwrap_or_default(),
        PersonalRecords::default()
    );
}

pub async fn deletes_keep_the_id_reserved(store: &dyn WorkoutStore) {
    let e = keyed(user(), "k-del", "Squat", day(1));
    let keep = entry(2, "Squat", day(1), &[(5, 90.0)]);
    store_and_settle(store, &[e.clone(), keep.clone()]).await;
    assert_eq!(
        store.delete_entry(user(), e.id, 1, day(9)).await.unwrap(),
        EditOutcome::Stale { current: 1 }
    );
    let outcome = store.delete_entry(user(), e.id, 2, day(9)).await.unwrap();
    let EditOutcome::Applied { changes, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(changes.iter().all(|c| c.destructive));
    settle_outcome(store, outcome).await;
    assert_eq!(store.get_entry(user(), e.id).await.unwrap(), None);
    assert_eq!(
        store.deleted_ids(user(), &[e.id, keep.id]).await.unwrap(),
        [e.id]
    );
    assert!(
        store
            .deleted_ids(other_user(), &[e.id])
            .await
            .unwrap()
            .is_empty()
    );
    // A late retry of the original insert, or a redelivered one, stays out.
    let again = store
        .insert_entries(std::slice::from_ref(&e))
        .await
        .unwrap();
    assert_eq!((again.count, again.changes.len()), (0, 0));
    assert_eq!(history(store, query()).await, vec![keep.clone()]);
    // Deleting again, or something unknown, finds nothing.
    assert_eq!(
        store.delete_entry(user(), e.id, 3, day(9)).await.unwrap(),
        EditOutcome::Missing
    );
    assert_eq!(
        store.delete_entry(user(), id(55), 2, day(9)).await.unwrap(),
        EditOutcome::Missing
    );
    // The PRs no longer hold the deleted entry's set.
    let row = store
        .read_personal_records(user(), "squat")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.records, oracle(&[keep], "squat", TimeRange::ALL_TIME));
}

pub async fn erasure_removes_everything_and_drops_older_writes(store: &dyn WorkoutStore) {
    let mine = day_bests_entries();
    store_and_settle(store, &mine).await;
    let theirs = entry_of(other_user(), id(50), "Squat", day(2), &[(5, 60.0, kg())]);
    store
        .insert_entries(std::slice::from_ref(&theirs))
        .await
        .unwrap();
    let pending = entry(51, "Squat", day(6), &[(1, 1.0)]);
    store
        .insert_entries(std::slice::from_ref(&pending))
        .await
        .unwrap(); // not settled
    let erased_at = pending.created_at + chrono::Duration::seconds(1);
    let mine_count = mine.iter().filter(|e| e.user_id == user()).count() as u64 + 1;
    assert_eq!(
        store.erase_user(user(), erased_at).await.unwrap(),
        mine_count
    );

    assert!(history(store, query()).await.is_empty());
    assert_eq!(
        store.read_personal_records(user(), "squat").await.unwrap(),
        None
    );
    assert!(
        store
            .day_summaries(user(), "squat", DaySpan::default())
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
    assert!(store.pr_changes(user(), None).await.unwrap().is_empty());
    assert!(store.user_exercises(user()).await.unwrap().is_empty());
    assert!(store.exercise_keys(Some(user())).await.unwrap().is_empty());
    // The other client is untouched.
    assert_eq!(
        store.get_entry(other_user(), theirs.id).await.unwrap(),
        Some(theirs)
    );
    // Writes accepted before the erasure are dropped; later ones are new data.
    let late = entry(60, "Squat", day(7), &[(5, 100.0)]);
    assert_eq!(inserted(store, std::slice::from_ref(&late)).await, 0);
    let mut after = entry(61, "Squat", day(7), &[(5, 100.0)]);
    after.created_at = erased_at + chrono::Duration::seconds(1);
    after.updated_at = after.created_at;
    assert_eq!(inserted(store, std::slice::from_ref(&after)).await, 1);
}

pub async fn reads_stay_exact_while_writes_wait_to_be_settled(store: &dyn WorkoutStore) {
    let entries = day_bests_entries();
    store_and_settle(store, &entries).await;
    let mut now: Vec<WorkoutEntry> = entries.clone();
    let check = |now: Vec<WorkoutEntry>, expect: PrSource| async move {
        let (records, source) = reads::all_time(store, &NativePrCalculator, user(), "squat")
            .await
            .unwrap();
        assert_eq!(records, oracle(&now, "squat", TimeRange::ALL_TIME));
        assert_eq!(source, expect);
        let reps = reads::rep_records(store, user(), "squat", TimeRange::ALL_TIME)
            .await
            .unwrap();
        assert_eq!(reps, rep_oracle(&now, "squat", TimeRange::ALL_TIME));
        for range in day_ranges() {
            let (records, _) = reads::range(store, &NativePrCalculator, user(), "squat", range)
                .await
                .unwrap();
            assert_eq!(records, oracle(&now, "squat", range), "{range:?}");
            let reps = reads::rep_records(store, user(), "squat", range)
                .await
                .unwrap();
            assert_eq!(reps, rep_oracle(&now, "squat", range), "{range:?}");
        }
    };
    check(now.clone(), PrSource::ReadModel).await;

    // A new heaviest set, stored but not settled: read live on top.
    let heavy = entry(
        70,
        "Squat",
        day(2) + chrono::Duration::hours(5),
        &[(1, 200.0)],
    );
    let pending = store
        .insert_entries(std::slice::from_ref(&heavy))
        .await
        .unwrap();
    now.push(heavy.clone());
    check(now.clone(), PrSource::ReadModelAndLive).await;

    // Deleted (not settled): the row still holds it; reads must not.
    let deleted = store
        .delete_entry(user(), heavy.id, 2, day(9))
        .await
        .unwrap();
    now.retain(|e| e.id != heavy.id);
    check(now.clone(), PrSource::DayBestsAndLive).await;

    // An edit moving a set out of the exercise, not settled either.
    let moved = edited(entry(6, "Bench Press", day(3), &[(2, 125.0)]), 2);
    let moved_out = store.replace_entry(&moved).await.unwrap();
    now.retain(|e| e.id != moved.id);
    check(now.clone(), PrSource::DayBestsAndLive).await;

    // Settled in any order, the read model is exact again and O(1).
    settle_outcome(store, moved_out).await;
    settle_outcome(store, deleted).await;
    settle_all(store, pending.changes.into_iter().map(|(_, c)| c).collect()).await;
    check(now, PrSource::ReadModel).await;
}

/// (key, entries, first day, last day) of every exercise, as the overview
/// reads them.
async fn exercise_overview(store: &dyn WorkoutStore) -> Vec<(String, u64, i64, i64)> {
    overview::all_time(store, &NativePrCalculator, user())
        .await
        .expect("overview")
        .into_iter()
        .map(|e| {
            (
                e.key,
                e.stats.entries,
                day_of(e.stats.first_ms.unwrap()),
                day_of(e.stats.last_ms.unwrap()),
            )
        })
        .collect()
}

/// The same from the entries themselves.
fn overview_oracle(entries: &[WorkoutEntry]) -> Vec<(String, u64, i64, i64)> {
    let mut by_key: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for e in entries.iter().filter(|e| e.user_id == user()) {
        by_key
            .entry(&e.exercise_name_lower)
            .or_default()
            .push(day_of(e.date.timestamp_millis()));
    }
    by_key
        .into_iter()
        .map(|(key, days)| {
            (
                key.to_string(),
                days.len() as u64,
                *days.iter().min().unwrap(),
                *days.iter().max().unwrap(),
            )
        })
        .collect()
}

/// The read model rows' stats, as an O(exercises) read serves them.
async fn settled_stats(store: &dyn WorkoutStore) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = store
        .all_personal_records(user())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(k, r)| {
            let stats = r.stats.expect("rows written now keep stats");
            (!stats.is_empty()).then_some((k, stats.entries))
        })
        .collect();
    rows.sort();
    rows
}

pub async fn exercise_stats_stay_exact_under_edits_and_deletes(store: &dyn WorkoutStore) {
    let dn = |d: u32| day_of(day(d).timestamp_millis());
    let mut entries = vec![
        entry(1, "Squat", day(1), &[(5, 100.0), (3, 110.0)]),
        entry(2, "squat", day(1), &[(5, 90.0)]),
        entry(3, "Squat", day(5), &[(5, 105.0)]),
        entry(4, "Bench Press", day(2), &[(5, 80.0)]),
        entry_of(other_user(), id(5), "Squat", day(0), &[(1, 200.0, kg())]),
    ];
    store_and_settle(store, &entries).await;
    let expected = vec![
        ("bench press".to_string(), 1, dn(2), dn(2)),
        ("squat".to_string(), 3, dn(1), dn(5)),
    ];
    assert_eq!(exercise_overview(store).await, expected);
    let names: Vec<String> = overview::all_time(store, &NativePrCalculator, user())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["Bench Press", "Squat"]); // as last logged
    assert_eq!(exercise_overview(store).await, overview_oracle(&entries));
    assert_eq!(
        settled_stats(store).await,
        [("bench press".to_string(), 1), ("squat".to_string(), 3)]
    );

    // Stored but not settled yet: already counted.
    let late = entry(6, "Squat", day(9), &[(5, 100.0)]);
    let pending = store
        .insert_entries(std::slice::from_ref(&late))
        .await
        .unwrap();
    entries.push(late);
    assert_eq!(exercise_overview(store).await, overview_oracle(&entries));
    assert_eq!(exercise_overview(store).await[1].1, 4);
    settle_all(store, pending.changes.into_iter().map(|(_, c)| c).collect()).await;
    assert_eq!(exercise_overview(store).await, overview_oracle(&entries));

    // An edit moving an entry to another exercise and day, before and after settling.
    let moved = edited(entry(3, "Front Squat", day(7), &[(3, 120.0)]), 2);
    let outcome = store.replace_entry(&moved).await.unwrap();
    entries.retain(|e| e.id != id(3));
    entries.push(moved);
    assert_eq!(exercise_overview(store).await, overview_oracle(&entries));
    settle_outcome(store, outcome).await;
    let now = exercise_overview(store).await;
    assert_eq!(now, overview_oracle(&entries));
    assert_eq!(
        now.iter().map(|e| (e.0.as_str(), e.1)).collect::<Vec<_>>(),
        [("bench press", 1), ("front squat", 1), ("squat", 3)]
    );

    // Deleting the last entry moves the last date back; deleting the only
    // entry of an exercise removes it; a settle delivered twice counts once.
    let outcome = store.delete_entry(user(), id(6), 2, day(40)).await.unwrap();
    entries.retain(|e| e.id != id(6));
    assert_eq!(exercise_overview(store).await, overview_oracle(&entries));
    let EditOutcome::Applied { changes, .. } = outcome else {
        panic!("{outcome:?}")
    };
    settle_all(store, changes.clone()).await;
    settle_all(store, changes).await;
    let outcome = store.delete_entry(user(), id(4), 2, day(40)).await.unwrap();
    entries.retain(|e| e.id != id(4));
    settle_outcome(store, outcome).await;
    let now = exercise_overview(store).await;
    assert_eq!(now, overview_oracle(&entries));
    assert_eq!(
        now.iter()
            .map(|e| (e.0.as_str(), e.1, e.3))
            .collect::<Vec<_>>(),
        [("front squat", 1, dn(7)), ("squat", 2, dn(1))]
    );
    assert_eq!(
        settled_stats(store).await,
        [("front squat".to_string(), 1), ("squat".to_string(), 2)]
    );

    // A rebuild from the entries agrees.
    everfit::prs::read_model::rebuild(store, &NativePrCalculator, Some(user()), |_, _| {})
        .await
        .unwrap();
    assert_eq!(exercise_overview(store).await, overview_oracle(&entries));
    assert_eq!(
        settled_stats(store).await,
        [("front squat".to_string(), 1), ("squat".to_string(), 2)]
    );
}

/// Pull-ups at weight 0 and weighted ones, over three days: the rep records
/// hold the exact sets and day, from the read model, the day bests and
/// live alike, through an edit and a delete.
pub async fn rep_records_of_bodyweight_and_loaded_sets(store: &dyn WorkoutStore) {
    let h = |d: u32, hours: i64| day(d) + chrono::Duration::hours(hours);
    let mut entries = vec![
        entry(1, "Pull Up", h(1, 8), &[(8, 0.0), (12, 0.0), (10, 0.0)]),
        entry(2, "Pull Up", h(1, 19), &[(6, 10.0)]),
        entry(3, "Pull Up", h(2, 7), &[(12, 0.0), (5, 20.0), (3, 25.0)]),
        entry(4, "Pull Up", h(3, 9), &[(11, 0.0), (11, 0.0), (14, 0.0)]),
    ];
    store_and_settle(store, &entries).await;
    let set = |e: &WorkoutEntry, i: usize| e.set_records().nth(i).unwrap();
    let expected = RepRecords {
        // 14 reps on day 3 beats the two 12s.
        most_reps_set: Some(set(&entries[3], 2)),
        rep_maxes: [
            Some(set(&entries[2], 2)), // 1 rep: 25 kg x 3
            Some(set(&entries[2], 2)), // 3 reps: 25 kg x 3 proves 3
            Some(set(&entries[2], 1)), // 5 reps: 20 kg x 5
            None,                      // 10 reps: only weight 0
        ],
        // Day 1: 8 + 12 + 10 + 6 = 36; day 3: 36 too; day 1 is earlier.
        most_reps_day: Some(DayReps {
            day: day_of(day(1).timestamp_millis()),
            reps: 36,
        }),
    };
    let all_time = || reads::rep_records(store, user(), "pull up", TimeRange::ALL_TIME);
    assert_eq!(all_time().await.unwrap(), expected);
    let row = store
        .read_personal_records(user(), "pull up")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.reps.as_ref(), Some(&expected));
    let live_all = everfit::prs::live::rep_records(store, user(), "pull up", TimeRange::ALL_TIME)
        .await
        .unwrap();
    assert_eq!(live_all, expected);
    // A window starting mid-day 1 counts only the part of day 1 inside it.
    let window = TimeRange {
        start: Some(h(1, 12)),
        end: Some(day(3)),
    };
    let in_window = reads::rep_records(store, user(), "pull up", window)
        .await
        .unwrap();
    assert_eq!(
        in_window.most_reps_day,
        Some(DayReps {
            day: day_of(day(2).timestamp_millis()),
            reps: 20,
        })
    );
    assert_eq!(in_window, rep_oracle(&entries, "pull up", window));

    // An edit lowering day 3 (unsettled, then settled) and a delete.
    let lowered = edited(entry(4, "Pull Up", h(3, 9), &[(9, 0.0)]), 2);
    let outcome = store.replace_entry(&lowered).await.unwrap();
    entries[3] = lowered;
    assert_eq!(
        all_time().await.unwrap(),
        rep_oracle(&entries, "pull up", TimeRange::ALL_TIME)
    );
    settle_outcome(store, outcome).await;
    let deleted = store.delete_entry(user(), id(3), 2, day(9)).await.unwrap();
    entries.remove(2);
    let now = rep_oracle(&entries, "pull up", TimeRange::ALL_TIME);
    assert_eq!(all_time().await.unwrap(), now);
    settle_outcome(store, deleted).await;
    assert_eq!(all_time().await.unwrap(), now);
    // Left: day 1 (12 reps, 36 in the day) and one loaded set of 6 at 10 kg.
    assert_eq!(now.most_reps_set, Some(set(&entries[0], 1)));
    assert_eq!(now.rep_max(5), Some(&set(&entries[1], 0)));
    assert_eq!(now.rep_max(10), None);
    let row = store
        .read_personal_records(user(), "pull up")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.reps, Some(now));
    for range in day_ranges() {
        let reps = reads::rep_records(store, user(), "pull up", range)
            .await
            .unwrap();
        assert_eq!(reps, rep_oracle(&entries, "pull up", range), "{range:?}");
    }
}

/// The entries an insight reads, for every exercise filter and range
/// checked: the same as the history read page by page (the live answer),
/// and the ids the oracle expects, oldest first.
async fn assert_entry_columns_exact(
    store: &dyn WorkoutStore,
    who: everfit::domain::UserId,
    entries: &[WorkoutEntry],
) {
    // 30-day spans are how SQLite packs entries: ranges on and beside a
    // span's edge, inside one span, across many, open at either end.
    const SPAN_MS: i64 = 2_592_000_000;
    let edge = (day(100).timestamp_millis() / SPAN_MS) * SPAN_MS;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap();
    let ranges = [
        TimeRange::ALL_TIME,
        TimeRange {
            start: Some(day(30)),
            end: Some(day(400)),
        },
        TimeRange {
            start: Some(at(edge)),
            end: Some(at(edge + SPAN_MS)),
        },
        TimeRange {
            start: Some(at(edge - 1)),
            end: Some(at(edge + 1)),
        },
        TimeRange {
            start: Some(day(101)),
            end: Some(day(102)),
        },
        TimeRange {
            start: Some(day(500)),
            end: None,
        },
        TimeRange {
            start: None,
            end: Some(day(60)),
        },
        TimeRange {
            start: Some(day(50)),
            end: Some(day(50)),
        },
    ];
    for key in [None, Some("squat"), Some("bench press"), Some("no such")] {
        for range in ranges {
            let columns = store.entry_columns(who, key, range).await.unwrap();
            let live = everfit::store::columns_from_history(store, who, key, range)
                .await
                .unwrap();
            assert_eq!(columns, live, "{key:?} in {range:?}");
            let mut expected: Vec<&WorkoutEntry> = entries
                .iter()
                .filter(|e| e.user_id == who && range.contains(e.date))
                .filter(|e| key.is_none_or(|k| e.exercise_name_lower == k))
                .collect();
            expected.sort_by_key(|e| (e.date, e.id));
            let expected_ids: Vec<EntryId> = expected.iter().map(|e| e.id).collect();
            assert_eq!(columns.ids(), expected_ids, "{key:?} in {range:?}");
        }
    }
}

/// What insights read stays exact through inserts into spans already read,
/// edits that move entries across spans and exercises, deletes and an
/// erasure, whatever a store keeps to answer quickly; and a second read
/// (SQLite: from the packed chunks the first one wrote) answers the same.
pub async fn insight_entries_stay_exact_under_writes_edits_and_deletes(store: &dyn WorkoutStore) {
    let mut rng = StdRng::seed_from_u64(16);
    let exercises = ["Squat", "squat", "Bench Press", "Deadlift"];
    let random_entry = |n: u32, rng: &mut StdRng| {
        let who = if rng.gen_bool(0.8) {
            user()
        } else {
            other_user()
        };
        let date = day(rng.gen_range(0..700)) + chrono::Duration::minutes(rng.gen_range(0..1440));
        let sets: Vec<(u32, f64, everfit::domain::Unit)> = (0..rng.gen_range(0..4))
            .map(|_| {
                let unit = if rng.gen_bool(0.3) { lb() } else { kg() };
                (
                    rng.gen_range(1..12),
                    f64::from(rng.gen_range(0..400u32)) / 2.0,
                    unit,
                )
            })
            .collect();
        entry_of(
            who,
            id(n),
            exercises[rng.gen_range(0..exercises.len())],
            date,
            &sets,
        )
    };
    let mut entries: Vec<WorkoutEntry> = (0..240).map(|n| random_entry(n, &mut rng)).collect();
    store.insert_entries(&entries).await.unwrap();
    for _ in 0..2 {
        assert_entry_columns_exact(store, user(), &entries).await;
        assert_entry_columns_exact(store, other_user(), &entries).await;
    }

    // New entries landing in spans already read (and packed).
    let more: Vec<WorkoutEntry> = (240..300).map(|n| random_entry(n, &mut rng)).collect();
    store.insert_entries(&more).await.unwrap();
    entries.extend(more);
    assert_entry_columns_exact(store, user(), &entries).await;

    // Edits moving entries to other days, spans and exercises, with new sets.
    for n in (0..300).step_by(7) {
        let Some(at) = entries.iter().position(|e| e.id == id(n)) else {
            continue;
        };
        let mut moved = random_entry(n, &mut rng);
        moved.user_id = entries[at].user_id;
        let moved = edited(moved, 2);
        assert!(matches!(
            store.replace_entry(&moved).await.unwrap(),
            EditOutcome::Applied { .. }
        ));
        entries[at] = moved;
    }
    assert_entry_columns_exact(store, user(), &entries).await;
    assert_entry_columns_exact(store, other_user(), &entries).await;

    // Deletes.
    for n in (3..300).step_by(11) {
        let Some(at) = entries.iter().position(|e| e.id == id(n)) else {
            continue;
        };
        let who = entries[at].user_id;
        store.delete_entry(who, id(n), 3, day(800)).await.unwrap();
        entries.remove(at);
    }
    assert_entry_columns_exact(store, user(), &entries).await;
    assert_entry_columns_exact(store, other_user(), &entries).await;

    // Erasing one client leaves the other's entries as they were.
    let erased_at = entries[0].created_at + chrono::Duration::seconds(1);
    store.erase_user(other_user(), erased_at).await.unwrap();
    entries.retain(|e| e.user_id != other_user());
    assert!(
        store
            .entry_columns(other_user(), None, TimeRange::ALL_TIME)
            .await
            .unwrap()
            .is_empty()
    );
    assert_entry_columns_exact(store, user(), &entries).await;
}

/// Insight reads racing with inserts, edits and deletes (each read may
/// repack what it read) leave nothing stale behind: once the writes are
/// done, what insights read is exact.
pub async fn insight_reads_racing_writes_leave_nothing_stale(store: &dyn WorkoutStore) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut rng = StdRng::seed_from_u64(17);
    let at = |rng: &mut StdRng| {
        day(rng.gen_range(0..200)) + chrono::Duration::hours(rng.gen_range(0..24))
    };
    let mut entries: Vec<WorkoutEntry> = (0..60)
        .map(|n| {
            entry(
                n,
                ["Squat", "Bench Press"][n as usize % 2],
                at(&mut rng),
                &[(5, 100.0)],
            )
        })
        .collect();
    store.insert_entries(&entries).await.unwrap();
    let writing = AtomicBool::new(true);
    let reads = async {
        let mut reads = 0;
        while writing.load(Ordering::Relaxed) || reads < 3 {
            store
                .entry_columns(user(), None, TimeRange::ALL_TIME)
                .await
                .unwrap();
            reads += 1;
            tokio::task::yield_now().await;
        }
    };
    let writes = async {
        for n in 60..120u32 {
            match n % 3 {
                0 => {
                    let new = entry(n, "Squat", at(&mut rng), &[(3, f64::from(n))]);
                    store
                        .insert_entries(std::slice::from_ref(&new))
                        .await
                        .unwrap();
                    entries.push(new);
                }
                1 => {
                    let k = rng.gen_range(0..entries.len());
                    let mut moved = entries[k].clone();
                    moved.date = at(&mut rng);
                    moved.sets[0].reps += 1;
                    let moved = edited(moved, entries[k].version + 1);
                    assert!(matches!(
                        store.replace_entry(&moved).await.unwrap(),
                        EditOutcome::Applied { .. }
                    ));
                    entries[k] = moved;
                }
                _ => {
                    let gone = entries.swap_remove(rng.gen_range(0..entries.len()));
                    store
                        .delete_entry(user(), gone.id, gone.version + 1, day(900))
                        .await
                        .unwrap();
                }
            }
            tokio::task::yield_now().await;
        }
        writing.store(false, Ordering::Relaxed);
    };
    tokio::join!(reads, writes);
    assert_entry_columns_exact(store, user(), &entries).await;
}
