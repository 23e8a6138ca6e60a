//! The entries an insight plugin is given: a user's stored entries (of one
//! exercise when the plugin declares an `exercise` parameter), oldest first.
//! Interface 0.1.0 passes them in one list, at most the newest
//! [`MAX_INSIGHT_ENTRIES`]; 0.2.0 plugins read every entry in the requested
//! range page by page ([`EntryPages`]).

use crate::domain::catalogue::Catalogue;
use crate::domain::cursor::CursorPosition;
use crate::domain::dates::TimeRange;
use crate::domain::{UserId, WorkoutEntry};
use crate::store::{HistoryQuery, StoreError, WorkoutStore};
use std::sync::Arc;

/// At most this many entries (the newest) are passed to a 0.1.0 plugin.
pub const MAX_INSIGHT_ENTRIES: usize = 50_000;
const PAGE: u32 = 1000;

/// The user's entries (only `exercise_key`'s when given), oldest first, at
/// most [`MAX_INSIGHT_ENTRIES`] (the newest ones).
pub async fn user_entries(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_key: Option<String>,
) -> Result<Vec<WorkoutEntry>, StoreError> {
    read_entries(
        store,
        user,
        exercise_key,
        TimeRange::ALL_TIME,
        Some(MAX_INSIGHT_ENTRIES),
    )
    .await
}

/// Every entry of the user in `range` (only `exercise_key`'s when given),
/// oldest first, with no cap: what a 0.2.0 plugin pages through.
pub async fn user_entries_in(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_key: Option<String>,
    range: TimeRange,
) -> Result<Vec<WorkoutEntry>, StoreError> {
    read_entries(store, user, exercise_key, range, None).await
}

async fn read_entries(
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_key: Option<String>,
    range: TimeRange,
    cap: Option<usize>,
) -> Result<Vec<WorkoutEntry>, StoreError> {
    let mut entries: Vec<WorkoutEntry> = Vec::new();
    let mut after: Option<CursorPosition> = None;
    loop {
        let page = store
            .history(&HistoryQuery {
                user_id: user,
                exercise_prefix: None,
                exercise_in: exercise_key.clone().map(|k| vec![k]),
                range,
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
        if !full || cap.is_some_and(|cap| entries.len() >= cap) {
            break;
        }
    }
    if let Some(cap) = cap {
        entries.truncate(cap);
    }
    entries.reverse();
    Ok(entries)
}

/// The entries of one call, handed out in chunks, with the catalogue that
/// names each exercise's muscle group.
pub struct EntryPages {
    entries: Arc<[WorkoutEntry]>,
    next: usize,
    catalogue: Arc<Catalogue>,
}

impl EntryPages {
    pub fn new(entries: Arc<[WorkoutEntry]>, catalogue: Arc<Catalogue>) -> Self {
        Self {
            entries,
            next: 0,
            catalogue,
        }
    }

    /// The next at most `max` entries (at least one), or None when all were
    /// given; with the catalogue for their muscle groups.
    pub fn next_chunk(&mut self, max: usize) -> Option<(&[WorkoutEntry], &Catalogue)> {
        if self.next >= self.entries.len() {
            return None;
        }
        let start = self.next;
        self.next = (start + max.max(1)).min(self.entries.len());
        Some((&self.entries[start..self.next], &self.catalogue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_entry_once_in_order() {
        let entries: Arc<[WorkoutEntry]> = (0..5)
            .map(|i| {
                let at = chrono::DateTime::from_timestamp_millis(i * 86_400_000).unwrap();
                WorkoutEntry {
                    id: crate::domain::EntryId::generate(),
                    user_id: "665f1c2b8a1e4d0012345678".parse().unwrap(),
                    exercise_name: "Squat".into(),
                    exercise_name_lower: "squat".into(),
                    date: at,
                    sets: Vec::new(),
                    idempotency_key: None,
                    created_at: at,
                    updated_at: at,
                    version: i,
                }
            })
            .collect();
        let mut pages = EntryPages::new(entries, Arc::new(Catalogue::builtin()));
        let sizes: Vec<Vec<i64>> = std::iter::from_fn(|| {
            pages
                .next_chunk(2)
                .map(|(c, _)| c.iter().map(|e| e.version).collect())
        })
        .collect();
        assert_eq!(sizes, vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert!(pages.next_chunk(0).is_none());
    }
}
