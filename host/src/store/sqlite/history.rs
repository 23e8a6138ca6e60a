//! History pages. Unfiltered: one keyset scan of the (user, date, id)
//! index. Filtered by exercise: the filter is resolved to the client's keys
//! first, then one of two plans reads the page, whichever reads fewer rows
//! for this client ([`Plan::choose`]):
//! - a UNION ALL of one keyset scan per key on the (user, exercise, date,
//!   id) index, each at most one page long, merged by (date desc, id desc):
//!   O(keys x page), whatever the history's size;
//! - when the keys hold most of the client's entries (a one-letter prefix,
//!   a big muscle group), the unfiltered scan keeping the matching rows:
//!   about page x (all entries / matching entries) rows, less than keys x
//!   page exactly when the selection is that dense.

use super::rows::ENTRY_COLUMNS;
use crate::store::HistoryQuery;
use sqlx::{QueryBuilder, Sqlite};

/// The conditions every scan of a page shares: range and cursor.
fn push_bounds(qb: &mut QueryBuilder<Sqlite>, q: &HistoryQuery) {
    if let Some(start) = q.range.start {
        qb.push(" AND date_ms >= ")
            .push_bind(start.timestamp_millis());
    }
    if let Some(end) = q.range.end {
        qb.push(" AND date_ms < ").push_bind(end.timestamp_millis());
    }
    if let Some(after) = &q.after {
        qb.push(" AND (date_ms, id) < (")
            .push_bind(after.date.timestamp_millis())
            .push(", ")
            .push_bind(after.id.to_hex())
            .push(")");
    }
}

/// How a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan<'a> {
    /// Every exercise: the (user, date, id) index.
    AllExercises,
    /// One scan per key, merged.
    PerKeyMerge(&'a [String]),
    /// The (user, date, id) index, keeping the keys' rows.
    DateScan(&'a [String]),
}

impl<'a> Plan<'a> {
    /// The plan for `keys` (never empty: an empty selection is an empty
    /// page), given how many entries the client has in them and in all.
    /// The counts come from the read model and may lag the entries a
    /// little: that only affects speed, never the page.
    pub fn choose(keys: &'a [String], selected_entries: u64, all_entries: u64) -> Self {
        // Rows read: keys x page for the merge, about page x all / selected
        // for the scan. Unknown counts (0) keep the merge, whose cost is
        // bounded whatever the data.
        let scan_is_cheaper = selected_entries > 0
            && u128::from(all_entries) < keys.len() as u128 * u128::from(selected_entries);
        if scan_is_cheaper {
            Plan::DateScan(keys)
        } else {
            Plan::PerKeyMerge(keys)
        }
    }
}

/// Pushes the page's query onto `qb`.
pub fn push_page(qb: &mut QueryBuilder<Sqlite>, q: &HistoryQuery, plan: Plan<'_>) {
    let limit = i64::from(q.limit);
    let user = q.user_id.to_hex();
    match plan {
        Plan::AllExercises => {
            qb.push(format!(
                "SELECT {ENTRY_COLUMNS} FROM workouts WHERE user_id = "
            ))
            .push_bind(user);
            push_bounds(qb, q);
        }
        Plan::DateScan(keys) => {
            // INDEXED BY: the planner would pick the exercise index for the
            // IN list and then sort every matching entry.
            qb.push(format!(
                "SELECT {ENTRY_COLUMNS} FROM workouts INDEXED BY workouts_user_date_id \
                 WHERE user_id = "
            ))
            .push_bind(user)
            .push(" AND exercise_name_lower IN (");
            let mut list = qb.separated(", ");
            for key in keys {
                list.push_bind(key.clone());
            }
            qb.push(")");
            push_bounds(qb, q);
        }
        Plan::PerKeyMerge([key]) => {
            // One key: its scan is the page, with no merge to feed.
            qb.push(format!(
                "SELECT {ENTRY_COLUMNS} FROM workouts \
                 INDEXED BY workouts_user_exercise_date_id WHERE user_id = "
            ))
            .push_bind(user)
            .push(" AND exercise_name_lower = ")
            .push_bind(key.clone());
            push_bounds(qb, q);
        }
        Plan::PerKeyMerge(keys) => {
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    qb.push(" UNION ALL ");
                }
                // INDEXED BY: with a cursor the planner would rather walk the
                // (user, date, id) index and test every entry's name.
                qb.push(format!(
                    "SELECT * FROM (SELECT {ENTRY_COLUMNS} FROM workouts \
                     INDEXED BY workouts_user_exercise_date_id WHERE user_id = "
                ))
                .push_bind(user.clone())
                .push(" AND exercise_name_lower = ")
                .push_bind(key.clone());
                push_bounds(qb, q);
                qb.push(" ORDER BY date_ms DESC, id DESC LIMIT ")
                    .push_bind(limit)
                    .push(")");
            }
        }
    }
    qb.push(" ORDER BY date_ms DESC, id DESC LIMIT ")
        .push_bind(limit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cursor::CursorPosition;
    use crate::domain::dates::TimeRange;
    use crate::store::SqliteStore;
    use sqlx::Row;

    fn query(after: bool) -> HistoryQuery {
        HistoryQuery {
            user_id: "665f1c2b8a1e4d0012345678".parse().unwrap(),
            exercise_prefix: None,
            exercise_in: None,
            range: TimeRange {
                start: chrono::DateTime::from_timestamp_millis(0),
                end: None,
            },
            after: after.then(|| CursorPosition {
                date: chrono::DateTime::from_timestamp_millis(1_000).unwrap(),
                id: "665f1c2b8a1e4d00123456aa".parse().unwrap(),
            }),
            limit: 21,
        }
    }

    /// The plan SQLite picks for a page: every scan an index search in
    /// keyset order, no table scan, and no sort but of the per-key pages
    /// (each at most a page long) for their merge.
    #[tokio::test]
    async fn every_page_is_an_index_search_without_a_sort_of_its_matches() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db"))
            .await
            .unwrap();
        let keys = ["bench press".to_string(), "squat".to_string()];
        for (after, plan) in [
            (false, Plan::AllExercises),
            (true, Plan::AllExercises),
            (false, Plan::PerKeyMerge(&keys)),
            (true, Plan::PerKeyMerge(&keys)),
            (false, Plan::PerKeyMerge(&keys[..1])),
            (true, Plan::PerKeyMerge(&keys[..1])),
            (false, Plan::DateScan(&keys)),
            (true, Plan::DateScan(&keys)),
        ] {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("EXPLAIN QUERY PLAN ");
            push_page(&mut qb, &query(after), plan);
            let plan_kind = plan;
            let plan: Vec<String> = qb
                .build()
                .fetch_all(&store.reader)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect();
            let text = plan.join(" | ");
            assert!(!text.contains("SCAN workouts"), "{text}");
            let index = match plan_kind {
                Plan::PerKeyMerge(_) => "USING INDEX workouts_user_exercise_date_id",
                Plan::AllExercises | Plan::DateScan(_) => "USING INDEX workouts_user_date_id",
            };
            assert!(text.contains(index), "{text}");
            // A deep page seeks to the cursor; it does not walk to it.
            for search in plan.iter().filter(|s| s.starts_with("SEARCH workouts")) {
                assert_eq!(search.contains("(date_ms,id)<(?,?)"), after, "{text}");
            }
            // A sort may only order a per-key page (at most `limit` rows) for
            // the merge; a search of `workouts` itself is never sorted.
            for (i, step) in plan.iter().enumerate() {
                if step.contains("TEMP B-TREE") {
                    assert!(
                        matches!(plan_kind, Plan::PerKeyMerge(k) if k.len() > 1)
                            && i > 0
                            && plan[i - 1].starts_with("SCAN (subquery"),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_scan_is_chosen_only_when_it_reads_fewer_rows_than_the_merge() {
        let keys: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        // 4 keys holding 40% of 1,000 entries: the scan reads ~page x 2.5.
        assert_eq!(Plan::choose(&keys, 400, 1_000), Plan::DateScan(&keys));
        // Holding 20%: ~page x 5 > page x 4.
        assert_eq!(Plan::choose(&keys, 200, 1_000), Plan::PerKeyMerge(&keys));
        // Exactly even: the merge (its cost does not depend on the data).
        assert_eq!(Plan::choose(&keys, 250, 1_000), Plan::PerKeyMerge(&keys));
        // One key never scans; unknown counts never scan.
        assert_eq!(
            Plan::choose(&keys[..1], 999, 1_000),
            Plan::PerKeyMerge(&keys[..1])
        );
        assert_eq!(Plan::choose(&keys, 0, 0), Plan::PerKeyMerge(&keys));
    }

    /// Both plans read the same pages: every cursor position of a mixed
    /// history, several selections, dates shared by many entries.
    #[tokio::test]
    async fn both_filtered_plans_read_the_same_pages() {
        use crate::domain::workout::WorkoutSet;
        use crate::domain::{Unit, WorkoutEntry};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plans.db"))
            .await
            .unwrap();
        let q = query(false);
        let names = ["Squat", "Deadlift", "Bench Press", "Front Squat", "Row"];
        let entries: Vec<WorkoutEntry> = (0..120u32)
            .map(|n| {
                let name = names[(n * 7 % 5) as usize];
                let date =
                    chrono::DateTime::from_timestamp_millis(i64::from(n % 9) * 86_400_000).unwrap();
                WorkoutEntry {
                    id: format!("665f1c2b8a1e4d00{:08x}", n * 37 % 120)
                        .parse()
                        .unwrap(),
                    user_id: q.user_id,
                    exercise_name: name.to_string(),
                    exercise_name_lower: name.to_lowercase(),
                    date,
                    sets: vec![WorkoutSet::new(5, 100.0, Unit::KG)],
                    idempotency_key: None,
                    created_at: date,
                    updated_at: date,
                    version: 1,
                }
            })
            .collect();
        crate::store::WorkoutStore::insert_entries(&store, &entries)
            .await
            .unwrap();
        let read = |plan: Plan<'_>, q: HistoryQuery| {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("");
            push_page(&mut qb, &q, plan);
            let reader = store.reader.clone();
            async move {
                qb.build()
                    .fetch_all(&reader)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<String, _>("id"))
                    .collect::<Vec<_>>()
            }
        };
        let selections: [&[&str]; 3] = [
            &["squat", "front squat"],
            &["deadlift", "bench press", "row", "squat"],
            &["row"],
        ];
        for selection in selections {
            let keys: Vec<String> = selection.iter().map(|k| k.to_string()).collect();
            let mut all = q.clone();
            all.after = None;
            all.range = TimeRange::ALL_TIME;
            all.limit = 1_000;
            let everything = read(Plan::PerKeyMerge(&keys), all.clone()).await;
            assert_eq!(everything, read(Plan::DateScan(&keys), all.clone()).await);
            assert!(!everything.is_empty());
            // A page of 7 after every entry of the selection.
            for after in entries
                .iter()
                .filter(|e| keys.contains(&e.exercise_name_lower))
            {
                let page = HistoryQuery {
                    after: Some(CursorPosition {
                        date: after.date,
                        id: after.id,
                    }),
                    limit: 7,
                    ..all.clone()
                };
                let merged = read(Plan::PerKeyMerge(&keys), page.clone()).await;
                assert_eq!(
                    merged,
                    read(Plan::DateScan(&keys), page).await,
                    "after {}",
                    after.id
                );
            }
        }
    }
}
