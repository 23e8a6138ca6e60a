//! Storage: one trait, one implementation per back end.
//!
//! Both stores must behave identically; the behaviour suite in
//! `tests/store/` runs against SQLite always and against MongoDB when
//! `MONGODB_URI` is set.

pub mod cas;
pub mod mongo;
pub mod sqlite;

use crate::domain::cursor::CursorPosition;
use crate::domain::dates::TimeRange;
use crate::domain::days::DaySpan;
use crate::domain::records::{PersonalRecords, PrCalculator, SetRecord};
use crate::domain::{EntryId, UserId, WorkoutEntry};
use async_trait::async_trait;

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

/// The stored PR read model row for one (user, exercise).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredRecords {
    pub records: PersonalRecords,
    /// Incremented on every write: compare-and-swap on it is what keeps
    /// concurrent refreshes from overwriting each other (and the row from regressing).
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

    /// Inserts entries that are not stored yet. An entry whose id, or whose
    /// (user, idempotencyKey), is already stored is left as it is, so replays
    /// and concurrent identical submits collapse. Returns how many were new.
    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<u64, StoreError>;

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

    /// One page of history in (date desc, id desc) order.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<WorkoutEntry>, StoreError>;

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

    async fn read_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<StoredRecords>, StoreError>;

    /// Writes the read model row if its version is still `expected_version`
    /// (`None`: the row must not exist yet). Returns false when another writer
    /// got there first; the caller re-reads and tries again.
    async fn write_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        records: &PersonalRecords,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Every (user, exerciseNameLower) that has entries, optionally for one user
    /// (what a read-model rebuild walks).
    async fn exercise_keys(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<(UserId, String)>, StoreError>;

    // Day bests: one `PersonalRecords` per (user, exercise, UTC day), folded
    // together with the read model (see `prs::day_bests`). A store keeps them
    // by overriding all three methods below; the defaults keep none, which
    // stays correct: ranged PRs are then computed live.

    /// The merged day bests of the days in `days`, or `None` when this store
    /// does not keep them or they are not built yet for this (user, exercise)
    /// (entries stored before the upgrade, until `everfit prs rebuild`).
    async fn day_records(
        &self,
        _user: UserId,
        _exercise_lower: &str,
        _days: DaySpan,
    ) -> Result<Option<PersonalRecords>, StoreError> {
        Ok(None)
    }

    /// Merges each `(day, candidate)` into that day's stored summary
    /// (commutative and idempotent, like the read model: replays are harmless).
    async fn merge_day_records(
        &self,
        _user: UserId,
        _exercise_lower: &str,
        _days: &[(i64, PersonalRecords)],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Recomputes every day summary of (user, exercise) from its stored
    /// entries, without losing a concurrent merge, and marks them built.
    async fn rebuild_day_records(
        &self,
        _user: UserId,
        _exercise_lower: &str,
        _calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
