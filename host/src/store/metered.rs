//! A store that times every operation of another: the latency histogram
//! `store_operation_duration_seconds{backend, operation}` and the counter
//! `store_errors_total{backend, operation, kind}`. It changes no behaviour.

use super::{
    DaySummary, EditOutcome, HistoryQuery, Inserted, PrChange, StoreError, StoredRecords,
    WorkoutStore,
};
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::domain::days::DaySpan;
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords, SetRecord};
use crate::domain::stats::EntryStats;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

pub struct MeteredStore {
    inner: Arc<dyn WorkoutStore>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn WorkoutStore>) -> Self {
        Self { inner }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        run: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = run.await;
        let backend = self.inner.backend();
        metrics::histogram!("store_operation_duration_seconds", "backend" => backend, "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = match e {
                StoreError::Unavailable(_) => "unavailable",
                StoreError::Internal(_) => "internal",
            };
            metrics::counter!("store_errors_total", "backend" => backend, "operation" => operation, "kind" => kind)
                .increment(1);
        }
        result
    }
}

#[async_trait]
impl WorkoutStore for MeteredStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn preparing(&self) -> Option<String> {
        self.inner.preparing()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<Inserted, StoreError> {
        self.timed("insert_entries", self.inner.insert_entries(entries))
            .await
    }

    async fn get_entry(
        &self,
        user: UserId,
        id: EntryId,
    ) -> Result<Option<WorkoutEntry>, StoreError> {
        self.timed("get_entry", self.inner.get_entry(user, id))
            .await
    }

    async fn get_entries(
        &self,
        user: UserId,
        ids: &[EntryId],
    ) -> Result<Vec<WorkoutEntry>, StoreError> {
        self.timed("get_entries", self.inner.get_entries(user, ids))
            .await
    }

    async fn deleted_ids(&self, user: UserId, ids: &[EntryId]) -> Result<Vec<EntryId>, StoreError> {
        self.timed("deleted_ids", self.inner.deleted_ids(user, ids))
            .await
    }

    async fn replace_entry(&self, entry: &WorkoutEntry) -> Result<EditOutcome, StoreError> {
        self.timed("replace_entry", self.inner.replace_entry(entry))
            .await
    }

    async fn delete_entry(
        &self,
        user: UserId,
        id: EntryId,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<EditOutcome, StoreError> {
        self.timed(
            "delete_entry",
            self.inner.delete_entry(user, id, version, at),
        )
        .await
    }

    async fn erase_user(&self, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        self.timed("erase_user", self.inner.erase_user(user, at))
            .await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<WorkoutEntry>, StoreError> {
        self.timed("history", self.inner.history(query)).await
    }

    async fn entry_columns(
        &self,
        user: UserId,
        exercise_key: Option<&str>,
        range: TimeRange,
    ) -> Result<EntryColumns, StoreError> {
        self.timed(
            "entry_columns",
            self.inner.entry_columns(user, exercise_key, range),
        )
        .await
    }

    async fn user_exercises(&self, user: UserId) -> Result<Vec<(String, String)>, StoreError> {
        self.timed("user_exercises", self.inner.user_exercises(user))
            .await
    }

    async fn exercise_sets(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
    ) -> Result<Vec<SetRecord>, StoreError> {
        self.timed(
            "exercise_sets",
            self.inner.exercise_sets(user, exercise_lower, range),
        )
        .await
    }

    async fn ranked_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
    ) -> Result<Option<PersonalRecords>, StoreError> {
        self.timed(
            "ranked_records",
            self.inner.ranked_records(user, exercise_lower, range),
        )
        .await
    }

    async fn exercise_name(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<String>, StoreError> {
        self.timed(
            "exercise_name",
            self.inner.exercise_name(user, exercise_lower),
        )
        .await
    }

    async fn pr_changes(
        &self,
        user: UserId,
        exercise_lower: Option<&str>,
    ) -> Result<Vec<PrChange>, StoreError> {
        self.timed("pr_changes", self.inner.pr_changes(user, exercise_lower))
            .await
    }

    async fn clear_pr_changes(&self, user: UserId, changes: &[PrChange]) -> Result<(), StoreError> {
        self.timed(
            "clear_pr_changes",
            self.inner.clear_pr_changes(user, changes),
        )
        .await
    }

    async fn read_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<StoredRecords>, StoreError> {
        self.timed(
            "read_personal_records",
            self.inner.read_personal_records(user, exercise_lower),
        )
        .await
    }

    async fn write_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        records: &PersonalRecords,
        reps: &RepRecords,
        stats: &EntryStats,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.timed(
            "write_personal_records",
            self.inner.write_personal_records(
                user,
                exercise_lower,
                records,
                reps,
                stats,
                expected_version,
            ),
        )
        .await
    }

    async fn all_personal_records(
        &self,
        user: UserId,
    ) -> Result<Vec<(String, StoredRecords)>, StoreError> {
        self.timed(
            "all_personal_records",
            self.inner.all_personal_records(user),
        )
        .await
    }

    async fn exercise_keys(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        self.timed("exercise_keys", self.inner.exercise_keys(user))
            .await
    }

    async fn day_summaries(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: DaySpan,
    ) -> Result<Option<Vec<DaySummary>>, StoreError> {
        self.timed(
            "day_summaries",
            self.inner.day_summaries(user, exercise_lower, days),
        )
        .await
    }

    async fn day_summaries_on(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: &[i64],
    ) -> Result<Vec<DaySummary>, StoreError> {
        self.timed(
            "day_summaries_on",
            self.inner.day_summaries_on(user, exercise_lower, days),
        )
        .await
    }

    async fn write_day_summary(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        records: &PersonalRecords,
        reps: &RepRecords,
        stats: &EntryStats,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.timed(
            "write_day_summary",
            self.inner.write_day_summary(
                user,
                exercise_lower,
                day,
                records,
                reps,
                stats,
                expected_version,
            ),
        )
        .await
    }

    async fn rebuild_day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError> {
        self.timed(
            "rebuild_day_records",
            self.inner
                .rebuild_day_records(user, exercise_lower, calculator),
        )
        .await
    }
}
