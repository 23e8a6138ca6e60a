//! The entries an insight plugin is given: a user's stored entries (of one
//! exercise when the plugin declares an `exercise` parameter), oldest first.

use crate::domain::cursor::CursorPosition;
use crate::domain::dates::TimeRange;
use crate::domain::{UserId, WorkoutEntry};
use crate::store::{HistoryQuery, StoreError, WorkoutStore};

/// At most this many entries (the newest) are passed to a plugin.
pub const MAX_INSIGHT_ENTRIES: usize = 50_000;
const PAGE: u32 = 1000;

/// The user's entries (only `exercise_key`'s when given), oldest first, at
/// most [`MAX_INSIGHT_ENTRIES`] (the newest ones).
pub async fn user_entries(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_key: Option<String>,
) -> Result<Vec<WorkoutEntry>, StoreError> {
    let mut entries: Vec<WorkoutEntry> = Vec::new();
    let mut after: Option<CursorPosition> = None;
    loop {
        let page = store
            .history(&HistoryQuery {
                user_id: user,
                exercise_prefix: None,
                exercise_in: exercise_key.clone().map(|k| vec![k]),
                range: TimeRange::ALL_TIME,
                after,
                limit: PAGE,
            })
            .await?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|e| CursorPosition {
            date: e.date,
            id: e.id,
        });
        entries.extend(page);
        if !full || entries.len() >= MAX_INSIGHT_ENTRIES {
            break;
        }
    }
    entries.truncate(MAX_INSIGHT_ENTRIES);
    entries.reverse();
    Ok(entries)
}
