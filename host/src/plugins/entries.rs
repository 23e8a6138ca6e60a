//! The entries an insight plugin is given: a user's stored entries (of one
//! exercise when the plugin declares an `exercise` parameter), oldest first.
//! Interface 0.1.0 passes them in one list, at most the newest
//! [`MAX_INSIGHT_ENTRIES`]; 0.2.0 plugins read every entry in the requested
//! range page by page ([`EntryPages`]).

use crate::domain::UserId;
use crate::domain::catalogue::Catalogue;
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::plugins::InsightPlugin;
use crate::store::{StoreError, WorkoutStore};
use std::ops::Range;
use std::sync::Arc;

/// At most this many entries (the newest) are passed to a 0.1.0 plugin.
pub const MAX_INSIGHT_ENTRIES: usize = 50_000;

/// The entries one call of `plugin` is given (only `exercise_key`'s when
/// given), oldest first: every entry in `range` for a plugin that pages
/// through them (0.2.0 on); for 0.1.0, which has no range, the newest
/// [`MAX_INSIGHT_ENTRIES`] of all time.
pub async fn entries_for(
    plugin: &InsightPlugin,
    store: &dyn WorkoutStore,
    user: UserId,
    exercise_key: Option<&str>,
    range: TimeRange,
) -> Result<EntryColumns, StoreError> {
    if plugin.pages_entries() {
        return store.entry_columns(user, exercise_key, range).await;
    }
    let all = store
        .entry_columns(user, exercise_key, TimeRange::ALL_TIME)
        .await?;
    Ok(if all.len() > MAX_INSIGHT_ENTRIES {
        all.last(MAX_INSIGHT_ENTRIES)
    } else {
        all
    })
}

/// The entries of one call, handed out in chunks, with the catalogue that
/// names each exercise's muscle group.
pub struct EntryPages {
    entries: Arc<EntryColumns>,
    next: usize,
    catalogue: Arc<Catalogue>,
}

impl EntryPages {
    pub fn new(entries: Arc<EntryColumns>, catalogue: Arc<Catalogue>) -> Self {
        Self {
            entries,
            next: 0,
            catalogue,
        }
    }

    /// The next at most `max` entries (at least one) as a range of
    /// `entries`, or None when all were given; with the catalogue for
    /// their muscle groups.
    pub fn next_chunk(&mut self, max: usize) -> Option<(Range<usize>, &EntryColumns, &Catalogue)> {
        if self.next >= self.entries.len() {
            return None;
        }
        let start = self.next;
        self.next = (start + max.max(1)).min(self.entries.len());
        Some((start..self.next, &self.entries, &self.catalogue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WorkoutEntry;
    use crate::domain::workout::test_entry;

    #[test]
    fn chunks_cover_every_entry_once_in_order() {
        let entries: Vec<WorkoutEntry> = (0..5)
            .map(|i| test_entry(i * 86_400_000, "Squat", Vec::new()))
            .collect();
        let columns = Arc::new(EntryColumns::from_entries(&entries));
        let mut pages = EntryPages::new(columns, Arc::new(Catalogue::builtin()));
        let chunks: Vec<Range<usize>> =
            std::iter::from_fn(|| pages.next_chunk(2).map(|(r, _, _)| r)).collect();
        assert_eq!(chunks, vec![0..2, 2..4, 4..5]);
        assert!(pages.next_chunk(0).is_none());
    }
}
