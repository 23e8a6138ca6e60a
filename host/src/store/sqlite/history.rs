//! History pages. Unfiltered: one keyset scan of the (user, date, id)
//! index. Filtered by exercise: the filter is resolved to the client's keys
//! first, and the page is a UNION ALL of one keyset scan per key on the
//! (user, exercise, date, id) index, each at most one page long, merged by
//! (date desc, id desc): O(keys x page), whatever the history's size.

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

/// Pushes the page's query onto `qb`: over every exercise (`keys` None) or
/// over `keys` (which must not be empty: an empty selection is an empty page).
pub fn push_page(qb: &mut QueryBuilder<Sqlite>, q: &HistoryQuery, keys: Option<&[String]>) {
    let limit = i64::from(q.limit);
    let user = q.user_id.to_hex();
    match keys {
        None => {
            qb.push(format!(
                "SELECT {ENTRY_COLUMNS} FROM workouts WHERE user_id = "
            ))
            .push_bind(user);
            push_bounds(qb, q);
        }
        Some(keys) => {
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
        for (after, keys) in [
            (false, None),
            (true, None),
            (false, Some(&keys[..])),
            (true, Some(&keys[..])),
        ] {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("EXPLAIN QUERY PLAN ");
            push_page(&mut qb, &query(after), keys);
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
            let index = match keys {
                Some(_) => "USING INDEX workouts_user_exercise_date_id",
                None => "USING INDEX workouts_user_date_id",
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
                        keys.is_some() && i > 0 && plan[i - 1].starts_with("SCAN (subquery"),
                        "{text}"
                    );
                }
            }
        }
    }
}
