//! History pages, each one statement. Unfiltered: one keyset scan of the
//! (user, date, id) index. Filtered by exercise: the filter selects the
//! client's keys from `user_exercises` (one row per exercise), and the page
//! is the merge of those keys' keyset scans on the (user, exercise, date,
//! id) index, in two passes over that index alone (it covers date and id):
//!
//! 1. for each key, the date of its `limit`th entry after the cursor; the
//!    page cannot end above the latest of those dates, because that key
//!    alone has `limit` entries at or after it;
//! 2. every selected key's entries from the cursor down to that date (at
//!    most `limit` per key, usually far fewer), sorted, cut to `limit`.
//!
//! Only the page's own rows are then read from the table, by the rowids
//! the index entries carry (one table search each, where going by `id`
//! would search the id index first: a third of the statement). A page costs
//! O(keys x limit) index entries whatever the history's size, and a prefix
//! that matches nothing reads only the client's exercise list.
//!
//! LIMIT and OFFSET are integer literals, never bound: the SQLite we
//! bundle (3.51) reads a bound LIMIT while planning, so re-binding it
//! expires the cached statement and every page paid a full re-parse and
//! re-plan (most of a filtered page's time). Literals keep one cached
//! statement per page size.

use super::rows::ENTRY_COLUMNS;
use crate::store::HistoryQuery;
use sqlx::{QueryBuilder, Sqlite};

/// The conditions every scan of a page shares: range and cursor.
fn push_bounds(qb: &mut QueryBuilder<Sqlite>, q: &HistoryQuery, table: &str) {
    if let Some(start) = q.range.start {
        qb.push(format!(" AND {table}date_ms >= "))
            .push_bind(start.timestamp_millis());
    }
    if let Some(end) = q.range.end {
        qb.push(format!(" AND {table}date_ms < "))
            .push_bind(end.timestamp_millis());
    }
    if let Some(after) = &q.after {
        qb.push(format!(" AND ({table}date_ms, {table}id) < ("))
            .push_bind(after.date.timestamp_millis())
            .push(", ")
            .push_bind(after.id.to_hex())
            .push(")");
    }
}

/// The client's keys the filter selects (`sel.k`): a literal prefix and,
/// when given, a list (a muscle group's exercises).
fn push_selection(qb: &mut QueryBuilder<Sqlite>, q: &HistoryQuery) {
    qb.push("sel(k) AS (SELECT exercise_name_lower FROM user_exercises WHERE user_id = ")
        .push_bind(q.user_id.to_hex());
    if let Some(prefix) = &q.exercise_prefix {
        // Characters on both sides, like `str::starts_with` on the key.
        qb.push(" AND substr(exercise_name_lower, 1, length(")
            .push_bind(prefix.clone())
            .push(")) = ")
            .push_bind(prefix.clone());
    }
    if let Some(keys) = &q.exercise_in {
        qb.push(" AND exercise_name_lower IN (");
        let mut list = qb.separated(", ");
        for key in keys {
            list.push_bind(key.clone());
        }
        qb.push(")");
    }
    qb.push(")");
}

/// Pushes the page's query onto `qb`.
pub fn push_page(qb: &mut QueryBuilder<Sqlite>, q: &HistoryQuery) {
    let limit = i64::from(q.limit);
    let user = q.user_id.to_hex();
    if q.exercise_prefix.is_none() && q.exercise_in.is_none() {
        qb.push(format!(
            "SELECT {ENTRY_COLUMNS} FROM workouts WHERE user_id = "
        ))
        .push_bind(user);
        push_bounds(qb, q, "");
        qb.push(format!(" ORDER BY date_ms DESC, id DESC LIMIT {limit}"));
        return;
    }
    // INDEXED BY: with a cursor the planner would rather walk the (user,
    // date, id) index and test every entry's name.
    const BY_EXERCISE: &str = "INDEXED BY workouts_user_exercise_date_id";
    qb.push("WITH ");
    push_selection(qb, q);
    // Pass 1: the latest of the keys' `limit`th dates (NULL when no key
    // has that many: then every key's rest fits in the page).
    qb.push(format!(
        ", page_floor(date_ms) AS (SELECT max((SELECT date_ms FROM workouts {BY_EXERCISE} \
         WHERE user_id = "
    ))
    .push_bind(user.clone())
    .push(" AND exercise_name_lower = sel.k");
    push_bounds(qb, q, "");
    qb.push(format!(
        " ORDER BY date_ms DESC, id DESC LIMIT 1 OFFSET {})) FROM sel)",
        limit - 1
    ));
    // Pass 2: the page's (rowid, date, id) from the index, merged and cut. CROSS
    // JOIN keeps the keys as the outer loop: without statistics the planner
    // may walk the client's whole index and look each entry's key up.
    qb.push(format!(
        ", page(row, page_date_ms, page_id) AS (SELECT w.rowid, w.date_ms, w.id \
         FROM sel CROSS JOIN workouts w {BY_EXERCISE} ON w.user_id = "
    ))
    .push_bind(user)
    .push(
        " AND w.exercise_name_lower = sel.k \
         WHERE w.date_ms >= coalesce((SELECT date_ms FROM page_floor), -9223372036854775808)",
    );
    push_bounds(qb, q, "w.");
    qb.push(format!(
        " ORDER BY w.date_ms DESC, w.id DESC LIMIT {limit})"
    ));
    qb.push(format!(
        " SELECT {ENTRY_COLUMNS} FROM page CROSS JOIN workouts ON workouts.rowid = page.row \
         ORDER BY page_date_ms DESC, page_id DESC"
    ));
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

    fn filtered(after: bool, prefix: Option<&str>, among: Option<&[&str]>) -> HistoryQuery {
        HistoryQuery {
            exercise_prefix: prefix.map(str::to_string),
            exercise_in: among.map(|keys| keys.iter().map(|k| k.to_string()).collect()),
            ..query(after)
        }
    }

    async fn explain(store: &SqliteStore, q: &HistoryQuery) -> Vec<String> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("EXPLAIN QUERY PLAN ");
        push_page(&mut qb, q);
        qb.build()
            .fetch_all(&store.reader)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect()
    }

    /// A bound LIMIT or OFFSET would make SQLite re-prepare the statement
    /// on every execution: page sizes are written into the text.
    #[test]
    fn limits_are_literals_so_the_statement_stays_prepared() {
        for q in [
            query(false),
            query(true),
            filtered(true, Some("s"), None),
            filtered(false, None, Some(&["bench press", "squat"][..])),
        ] {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("");
            push_page(&mut qb, &q);
            let sql = qb.into_string();
            for keyword in ["LIMIT", "OFFSET"] {
                for (at, _) in sql.match_indices(keyword) {
                    let operand = sql[at + keyword.len()..].trim_start();
                    assert!(
                        operand.starts_with(|c: char| c.is_ascii_digit()),
                        "{keyword} is not a literal in {sql}"
                    );
                }
            }
            assert!(sql.contains("LIMIT 21"), "{sql}");
        }
    }

    /// The plan SQLite picks for a page: index searches in keyset order, a
    /// deep page seeking to its cursor, no table scan; a filtered page
    /// reads only the index until it fetches its own rows by rowid.
    #[tokio::test]
    async fn every_page_is_an_index_search() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db"))
            .await
            .unwrap();
        for after in [false, true] {
            let plan = explain(&store, &query(after)).await;
            let text = plan.join(" | ");
            assert!(!text.contains("SCAN"), "{text}");
            assert!(!text.contains("TEMP B-TREE"), "{text}");
            assert!(text.contains("USING INDEX workouts_user_date_id"), "{text}");
            assert_eq!(text.contains("(date_ms,id)<(?,?)"), after, "{text}");

            for (prefix, among) in [
                (Some("squat"), None),
                (None, Some(&["bench press", "squat"][..])),
                (Some("s"), Some(&["bench press", "squat"][..])),
            ] {
                let plan = explain(&store, &filtered(after, prefix, among)).await;
                let text = plan.join(" | ");
                assert!(!text.contains("SCAN workouts"), "{text}");
                let searches: Vec<&String> =
                    plan.iter().filter(|s| s.starts_with("SEARCH w")).collect();
                for search in &searches {
                    // The exercise index, covering: no table row is read
                    // before the page is known...
                    assert!(
                        search.contains(
                            "USING COVERING INDEX workouts_user_exercise_date_id \
                             (user_id=? AND exercise_name_lower=?"
                        ) || search.contains("USING INTEGER PRIMARY KEY (rowid=?)"),
                        "{text}"
                    );
                    // ...and a deep page seeks to its cursor.
                    if search.contains("COVERING") {
                        assert_eq!(search.contains("(date_ms,id)<(?,?)"), after, "{text}");
                    }
                }
                // Both passes over the keys, then the page's rows by rowid.
                assert_eq!(
                    searches.iter().filter(|s| s.contains("COVERING")).count(),
                    2,
                    "{text}"
                );
                assert!(
                    text.contains("SEARCH workouts USING INTEGER PRIMARY KEY (rowid=?)"),
                    "{text}"
                );
            }
        }
    }

    /// Every filtered page equals the page of a plain reference (filter,
    /// sort, skip to the cursor, cut), at every cursor position of a mixed
    /// history where many entries share a date, for several selections.
    #[tokio::test]
    async fn filtered_pages_equal_a_plain_filter_and_sort() {
        use crate::domain::workout::WorkoutSet;
        use crate::domain::{Unit, WorkoutEntry};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("pages.db"))
            .await
            .unwrap();
        let q = query(false);
        let names = ["Squat", "Deadlift", "Bench Press", "Front Squat", "Row"];
        // Squat is dense, Row sparse: whichever key sets the page's floor.
        let weights = [0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 4];
        let entries: Vec<WorkoutEntry> = (0..150u32)
            .map(|n| {
                let name = names[weights[(n * 7 % 12) as usize]];
                let date = chrono::DateTime::from_timestamp_millis(i64::from(n % 11) * 86_400_000)
                    .unwrap();
                WorkoutEntry {
                    id: format!("665f1c2b8a1e4d00{:08x}", n * 37 % 150)
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
        let read = |q: HistoryQuery| {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("");
            push_page(&mut qb, &q);
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
        let mut newest_first = entries.clone();
        newest_first.sort_by_key(|e| std::cmp::Reverse((e.date, e.id.to_hex())));
        let selections: [(Option<&str>, Option<&[&str]>); 7] = [
            (Some("squat"), None),
            (Some("s"), None),
            (Some(""), None),
            (Some("zz"), None),
            (None, Some(&["deadlift", "bench press", "row", "squat"])),
            (None, Some(&["row", "front squat"])),
            (Some("front"), Some(&["row", "front squat"])),
        ];
        for (prefix, among) in selections {
            let selected: Vec<&WorkoutEntry> = newest_first
                .iter()
                .filter(|e| prefix.is_none_or(|p| e.exercise_name_lower.starts_with(p)))
                .filter(|e| among.is_none_or(|l| l.contains(&e.exercise_name_lower.as_str())))
                .collect();
            let mut positions: Vec<Option<&WorkoutEntry>> = vec![None];
            positions.extend(selected.iter().map(|e| Some(*e)));
            for after in positions {
                for limit in [1, 7, 1_000] {
                    let page = HistoryQuery {
                        after: after.map(|e| CursorPosition {
                            date: e.date,
                            id: e.id,
                        }),
                        range: TimeRange::ALL_TIME,
                        limit,
                        ..filtered(false, prefix, among)
                    };
                    let expected: Vec<String> = selected
                        .iter()
                        .filter(|e| {
                            after.is_none_or(|a| (e.date, e.id.to_hex()) < (a.date, a.id.to_hex()))
                        })
                        .take(limit as usize)
                        .map(|e| e.id.to_hex())
                        .collect();
                    assert_eq!(
                        read(page).await,
                        expected,
                        "{prefix:?} {among:?} after {:?} limit {limit}",
                        after.map(|e| e.id)
                    );
                }
            }
        }
    }
}
