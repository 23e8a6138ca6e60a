//! Storage: the `WorkoutStore` trait (and `ApiKeyStore` in `keys`), one
//! implementation per back end.
//!
//! Both stores must behave identically; the behaviour suite in
//! `tests/store/` runs against SQLite always and against MongoDB when
//! `MONGODB_URI` is set.

pub mod cas;
pub mod imports;
pub mod keys;
pub mod metered;
pub mod mongo;
pub mod packed;
pub mod sqlite;

use crate::domain::columns::EntryColumns;
use crate::domain::cursor::CursorPosition;
use crate::domain::dates::TimeRange;
use crate::domain::days::DaySpan;
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords, SetRecord};
use crate::domain::stats::EntryStats;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use imports::ImportStore;
pub use keys::ApiKeyStore;
pub use mongo::MongoStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The back end cannot be reached; the request may succeed later (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupted data (500, logged).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A page request over a user's history, newest first by (date, id).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryQuery {
    pub user_id: UserId,
    /// Lower-cased prefix of `exerciseNameLower`, matched literally.
    pub exercise_prefix: Option<String>,
    /// Only these exercise keys (a muscle group's exercises), when set.
    pub exercise_in: Option<Vec<String>>,
    pub range: TimeRange,
    /// Start strictly after this position.
    pub after: Option<CursorPosition>,
    /// Maximum number of entries to return.
    pub limit: u32,
}

/// The exercise keys a history filter selects among the client's keys:
/// those starting with `prefix` (literally) and, when a list is given, in it.
/// `None` when the query has no exercise filter (every exercise).
pub fn selected_keys(
    client_keys: impl IntoIterator<Item = String>,
    prefix: Option<&str>,
    among: Option<&[String]>,
) -> Option<Vec<String>> {
    if prefix.is_none() && among.is_none() {
        return None;
    }
    let mut keys: Vec<String> = client_keys
        .into_iter()
        .filter(|k| prefix.is_none_or(|p| k.starts_with(p)))
        .filter(|k| among.is_none_or(|list| list.contains(k)))
        .collect();
    keys.sort();
    keys.dedup();
    Some(keys)
}

/// The stored PR read model row for one (user, exercise).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredRecords {
    pub records: PersonalRecords,
    /// The entries the row covers; `None` for a row written before the
    /// read model kept them (computed at read time until written again).
    pub stats: Option<EntryStats>,
    /// The rep records; `None` for a row written before they were kept
    /// (computed at read time until written again).
    pub reps: Option<RepRecords>,
    /// Incremented on every write: compare-and-swap on it is what keeps
    /// concurrent refreshes from overwriting each other (and the row from regressing).
    pub version: i64,
}

/// A write the PR read model and day bests have not absorbed yet: one
/// (exercise, UTC day) it touched. A store records it together with the
/// write (before it, where there are no transactions), so a PR read that
/// sees the entry also sees the change and computes that day live; it is
/// removed once the day and the all-time row are settled.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PrChange {
    /// The exercise key (`exerciseNameLower`).
    pub exercise: String,
    pub day: i64,
    /// Names the write: the entry id, and for an edit or a delete its number.
    pub op: String,
    /// The write may have lowered a record (an edit or a delete): the
    /// all-time row must be recomputed, not merged into.
    pub destructive: bool,
}

/// What an insert stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inserted {
    /// Entries that were new.
    pub count: u64,
    /// A PR change (with its user) for every entry of the batch that is
    /// stored now, new or already there: a job delivered again after its
    /// first delivery died before settling must settle, and settling twice
    /// is harmless. Entries dropped (deleted, erased) have none.
    pub changes: Vec<(UserId, PrChange)>,
}

/// What an edit or a delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum EditOutcome {
    /// Applied; `before` is the entry as it was.
    Applied {
        before: Box<WorkoutEntry>,
        changes: Vec<PrChange>,
    },
    /// No entry with this id for this user (never stored, deleted or erased).
    Missing,
    /// The entry is already at this edit number or a later one: a late or
    /// redelivered job, which must change nothing.
    Stale { current: i64 },
}

/// One day summary as stored, with its compare-and-swap version.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySummary {
    pub day: i64,
    pub records: PersonalRecords,
    /// As in [`StoredRecords::stats`].
    pub stats: Option<EntryStats>,
    /// As in [`StoredRecords::reps`].
    pub reps: Option<RepRecords>,
    pub version: i64,
}

#[async_trait]
pub trait WorkoutStore: Send + Sync + 'static {
    /// A short name for logs and /health ("sqlite", "mongodb").
    fn backend(&self) -> &'static str;

    async fn ping(&self) -> Result<(), StoreError>;

    /// While the store prepares its database after start-up (indexes,
    /// one-time migrations): the step under way. Every operation answers
    /// `Unavailable` meanwhile, and `/health` reports "starting".
    fn preparing(&self) -> Option<String> {
        None
    }

    /// Inserts entries that are not stored yet, records the client's
    /// exercise for each new one and a [`PrChange`] for each one stored
    /// (see [`Inserted`]). Left as they are: an
    /// entry whose id, or whose (user, idempotencyKey), is already stored
    /// (replays and concurrent identical submits collapse); a deleted entry
    /// (its id stays reserved); an entry of a client erased after it was
    /// accepted (`created_at` not after the erasure).
    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<Inserted, StoreError>;

    async fn get_entry(
        &self,
        user: UserId,
        id: EntryId,
    ) -> Result<Option<WorkoutEntry>, StoreError>;

    /// The stored entries among `ids` (any order).
    async fn get_entries(
        &self,
        user: UserId,
        ids: &[EntryId],
    ) -> Result<Vec<WorkoutEntry>, StoreError>;

    /// The ids among `ids` whose entries were deleted (their ids stay reserved).
    async fn deleted_ids(&self, user: UserId, ids: &[EntryId]) -> Result<Vec<EntryId>, StoreError>;

    /// Replaces the exercise, date and sets of a stored entry, and takes its
    /// `version` and `updated_at`, when the stored version is older than
    /// `entry.version`; id, idempotency key and `created_at` stay. Records
    /// destructive [`PrChange`]s for the (exercise, day) it leaves and the
    /// one it moves to.
    async fn replace_entry(&self, entry: &WorkoutEntry) -> Result<EditOutcome, StoreError>;

    /// Deletes a stored entry when its version is older than `version`,
    /// leaving a tombstone so that its id (and idempotency key) stay
    /// reserved; records a destructive [`PrChange`] for its (exercise, day).
    async fn delete_entry(
        &self,
        user: UserId,
        id: EntryId,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<EditOutcome, StoreError>;

    /// Erases a client: entries, tombstones, read-model rows, day bests,
    /// PR changes and exercises; writes for the client accepted up to `at`
    /// are dropped from then on. Returns how many entries went.
    async fn erase_user(&self, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError>;

    /// One page of history in (date desc, id desc) order. An exercise
    /// filter is first resolved to the client's matching keys
    /// ([`selected_keys`]); the page is then a merge of per-key keyset
    /// scans, so it costs O(keys x page) whatever the history's size.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<WorkoutEntry>, StoreError>;

    /// Every entry of the user in `range` (only `exercise_key`'s when
    /// given), oldest first by (date, id): what an insight reads. By
    /// default the history read page by page; a store with a packed copy of
    /// the entries answers from it (SQLite), and must answer the same.
    async fn entry_columns(
        &self,
        user: UserId,
        exercise_key: Option<&str>,
        range: TimeRange,
    ) -> Result<EntryColumns, StoreError> {
        columns_from_history(self, user, exercise_key, range).await
    }

    /// The client's exercises: (key, name as last logged), by key.
    async fn user_exercises(&self, user: UserId) -> Result<Vec<(String, String)>, StoreError>;

    /// One exercise's name as last logged, when the client has entries of it.
    async fn exercise_name(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .user_exercises(user)
            .await?
            .into_iter()
            .find(|(key, _)| key == exercise_lower)
            .map(|(_, name)| name))
    }

    /// Every set of one exercise of a user within `range`, in no particular
    /// order: what a live PR computation ranks.
    async fn exercise_sets(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
    ) -> Result<Vec<SetRecord>, StoreError>;

    /// The records of one exercise within `range`, ranked by the store
    /// itself where that avoids shipping every set (MongoDB: one `$facet`
    /// aggregation). `None`: the caller ranks [`exercise_sets`](Self::exercise_sets)
    /// with its calculator. Either way the result is the same; the behaviour
    /// suite checks both against one oracle.
    async fn ranked_records(
        &self,
        _user: UserId,
        _exercise_lower: &str,
        _range: TimeRange,
    ) -> Result<Option<PersonalRecords>, StoreError> {
        Ok(None)
    }

    /// The PR changes not absorbed yet, of one exercise or of all of them.
    async fn pr_changes(
        &self,
        user: UserId,
        exercise_lower: Option<&str>,
    ) -> Result<Vec<PrChange>, StoreError>;

    /// Removes settled changes (those already gone are ignored).
    async fn clear_pr_changes(&self, user: UserId, changes: &[PrChange]) -> Result<(), StoreError>;

    async fn read_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<StoredRecords>, StoreError>;

    /// Every read model row of a user, by key: one read, O(exercises).
    async fn all_personal_records(
        &self,
        user: UserId,
    ) -> Result<Vec<(String, StoredRecords)>, StoreError>;

    /// Writes the read model row if its version is still `expected_version`
    /// (`None`: the row must not exist yet). Returns false when another writer
    /// got there first; the caller re-reads and tries again.
    async fn write_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        records: &PersonalRecords,
        reps: &RepRecords,
        stats: &EntryStats,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Every (user, exerciseNameLower) that has entries, optionally for one user
    /// (what a read-model rebuild walks).
    async fn exercise_keys(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<(UserId, String)>, StoreError>;

    // Day bests: one `PersonalRecords` per (user, exercise, UTC day), kept
    // with the read model (see `prs`).

    /// The stored day summaries within `days`, by day; `None` when they are
    /// not built yet for this (user, exercise) (entries stored before day
    /// bests existed, until `everfit prs rebuild`).
    async fn day_summaries(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: DaySpan,
    ) -> Result<Option<Vec<DaySummary>>, StoreError>;

    /// The stored day summaries of the given days (those that exist), by day.
    async fn day_summaries_on(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: &[i64],
    ) -> Result<Vec<DaySummary>, StoreError>;

    /// Writes one day summary if its version is still `expected_version`
    /// (`None`: it must not exist yet). False when another writer got there
    /// first. A day left without sets keeps an empty summary, never deleted:
    /// its version must go on counting, or a writer that read "no summary"
    /// long ago could still create one from entries deleted since.
    #[allow(
        clippy::too_many_arguments,
        reason = "the key, the day, its three values and the version are written together"
    )]
    async fn write_day_summary(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        records: &PersonalRecords,
        reps: &RepRecords,
        stats: &EntryStats,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Recomputes every day summary of (user, exercise) from its stored
    /// entries, without losing a concurrent write, and marks them built.
    async fn rebuild_day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError>;
}

/// Entries per history page when reading a whole range.
const COLUMNS_PAGE: u32 = 1000;

/// [`WorkoutStore::entry_columns`] from history pages: what every store
/// must answer.
pub async fn columns_from_history<S: WorkoutStore + ?Sized>(
    store: &S,
    user: UserId,
    exercise_key: Option<&str>,
    range: TimeRange,
) -> Result<EntryColumns, StoreError> {
    let mut newest_first: Vec<WorkoutEntry> = Vec::new();
    let mut after: Option<CursorPosition> = None;
    loop {
        let page = store
            .history(&HistoryQuery {
                user_id: user,
                exercise_prefix: None,
                exercise_in: exercise_key.map(|k| vec![k.to_string()]),
                range,
                after,
                limit: COLUMNS_PAGE,
            })
            .await?;
        let full = page.len() == COLUMNS_PAGE as usize;
        after = page.last().map(|e| CursorPosition {
            date: e.date,
            id: e.id,
        });
        newest_first.extend(page);
        if !full {
            break;
        }
    }
    Ok(EntryColumns::from_entries(newest_first.iter().rev()))
}

#[cfg(test)]
mod tests {
    use super::selected_keys;

    fn keys() -> Vec<String> {
        [
            "bench press",
            "back squat",
            "squat",
            "squat (pause)",
            "übung",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn filters_resolve_to_the_clients_keys() {
        assert_eq!(selected_keys(keys(), None, None), None);
        assert_eq!(
            selected_keys(keys(), Some("squat"), None).unwrap(),
            ["squat", "squat (pause)"]
        );
        assert_eq!(
            selected_keys(keys(), Some("b"), None).unwrap(),
            ["back squat", "bench press"]
        );
        assert!(selected_keys(keys(), Some("zz"), None).unwrap().is_empty());
        // A prefix is literal: no pattern power.
        assert!(selected_keys(keys(), Some("squat ("), None).unwrap() == ["squat (pause)"]);
        assert!(
            selected_keys(keys(), Some("s.uat"), None)
                .unwrap()
                .is_empty()
        );
        // A muscle group's keys, intersected with the client's (and the prefix).
        let legs = ["squat".to_string(), "leg press".to_string()];
        assert_eq!(selected_keys(keys(), None, Some(&legs)).unwrap(), ["squat"]);
        assert!(
            selected_keys(keys(), Some("b"), Some(&legs))
                .unwrap()
                .is_empty()
        );
        assert_eq!(selected_keys(keys(), Some("ü"), None).unwrap(), ["übung"]);
    }
}
