//! The embedded store: one SQLite file, WAL mode.
//!
//! Writes go through a single-connection pool so that in-process writers never
//! contend for SQLite's write lock; reads use their own pool.

mod keys;
mod rows;

use super::{HistoryQuery, StoreError, StoredRecords, WorkoutStore};
use crate::domain::dates::TimeRange;
use crate::domain::days::{DaySpan, day_of};
use crate::domain::records::{PersonalRecords, PrCalculator, SetRecord};
use crate::domain::{EntryId, UserId, WorkoutEntry};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use chrono::Utc;
use rows::{
    ENTRY_COLUMNS, StoredSet, entry_from_row, parse_hex, records_from_json, records_to_json,
    sets_to_json,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Entries per INSERT statement (SQLite allows 32766 bound parameters; 9 per row).
const INSERT_CHUNK: usize = 500;

#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing, with its folder) and migrates the database.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating data directory {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a process crash; only an OS crash or power
            // loss may drop the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        MIGRATOR
            .run(&writer)
            .await
            .context("migrating the SQLite database")?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening SQLite database {} for reading", path.display()))?;
        Ok(Self { reader, writer })
    }
}

fn db_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Internal(anyhow!(other)),
    }
}

/// Reads the sets of one exercise of a user in `range`, as the PR calculations see them.
async fn read_exercise_sets<'c, E>(
    executor: E,
    user: UserId,
    exercise_lower: &str,
    range: TimeRange,
) -> Result<Vec<SetRecord>, StoreError>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let mut qb: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT id, date_ms, sets FROM workouts WHERE user_id = ");
    qb.push_bind(user.to_hex())
        .push(" AND exercise_name_lower = ")
        .push_bind(exercise_lower.to_string());
    if let Some(start) = range.start {
        qb.push(" AND date_ms >= ")
            .push_bind(start.timestamp_millis());
    }
    if let Some(end) = range.end {
        qb.push(" AND date_ms < ").push_bind(end.timestamp_millis());
    }
    let rows = qb.build().fetch_all(executor).await.map_err(db_error)?;
    let mut sets = Vec::with_capacity(rows.len() * 4);
    for row in &rows {
        let id: String = row.get("id");
        let date_ms: i64 = row.get("date_ms");
        let stored: Vec<StoredSet> =
            serde_json::from_str(row.get("sets")).context("corrupt workouts.sets")?;
        sets.extend(stored.into_iter().enumerate().map(|(i, s)| SetRecord {
            entry_id: id.clone(),
            date_ms,
            set_index: i as u32,
            reps: s.reps,
            weight_kg: s.weight_kg,
        }));
    }
    Ok(sets)
}

#[async_trait]
impl WorkoutStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let mut inserted = 0;
        for chunk in entries.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new(format!("INSERT INTO workouts ({ENTRY_COLUMNS}) "));
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.id.to_hex())
                    .push_bind(e.user_id.to_hex())
                    .push_bind(&e.exercise_name)
                    .push_bind(&e.exercise_name_lower)
                    .push_bind(e.date.timestamp_millis())
                    .push_bind(sets_to_json(&e.sets))
                    .push_bind(&e.idempotency_key)
                    .push_bind(e.created_at.timestamp_millis())
                    .push_bind(e.updated_at.timestamp_millis());
            });
            // Any conflict (same id, or same user+key) means "already stored": keep the first.
            qb.push(" ON CONFLICT DO NOTHING");
            inserted += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_error)?;
        Ok(inserted)
    }

    async fn get_entry(
        &self,
        user: UserId,
        id: EntryId,
    ) -> Result<Option<WorkoutEntry>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM workouts WHERE id = ? AND user_id = ?"
        )))
        .bind(id.to_hex())
        .bind(user.to_hex())
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        row.as_ref().map(entry_from_row).transpose()
    }

    async fn get_entries(
        &self,
        user: UserId,
        ids: &[EntryId],
    ) -> Result<Vec<WorkoutEntry>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(INSERT_CHUNK) {
            // `+user_id`: look the ids up by primary key. Without the `+`,
            // SQLite prefers the (user_id, date_ms, id) index and scans every
            // entry of the user (20 ms at 50k entries, on every keyed submit).
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "SELECT {ENTRY_COLUMNS} FROM workouts WHERE +user_id = "
            ));
            qb.push_bind(user.to_hex()).push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.to_hex());
            }
            qb.push(")");
            let rows = qb.build().fetch_all(&self.reader).await.map_err(db_error)?;
            for row in &rows {
                out.push(entry_from_row(row)?);
            }
        }
        Ok(out)
    }

    async fn history(&self, q: &HistoryQuery) -> Result<Vec<WorkoutEntry>, StoreError> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {ENTRY_COLUMNS} FROM workouts WHERE user_id = "
        ));
        qb.push_bind(q.user_id.to_hex());
        if let Some(prefix) = &q.exercise_prefix {
            // substr() compares literally: no LIKE wildcards to escape.
            qb.push(" AND substr(exercise_name_lower, 1, ")
                .push_bind(prefix.chars().count() as i64)
                .push(") = ")
                .push_bind(prefix.clone());
        }
        if let Some(names) = &q.exercise_in {
            if names.is_empty() {
                return Ok(Vec::new());
            }
            qb.push(" AND exercise_name_lower IN (");
            let mut list = qb.separated(", ");
            for n in names {
                list.push_bind(n.clone());
            }
            qb.push(")");
        }
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
        qb.push(" ORDER BY date_ms DESC, id DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db_error)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn exercise_sets(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
    ) -> Result<Vec<SetRecord>, StoreError> {
        read_exercise_sets(&self.reader, user, exercise_lower, range).await
    }

    async fn read_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<StoredRecords>, StoreError> {
        let row = sqlx::query("SELECT records, version FROM personal_records WHERE user_id = ? AND exercise_name_lower = ?")
            .bind(user.to_hex())
            .bind(exercise_lower)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(StoredRecords {
                records: records_from_json(row.get("records"))?,
                version: row.get("version"),
            })),
        }
    }

    async fn write_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        records: &PersonalRecords,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp_millis();
        let json = records_to_json(records);
        let result = match expected_version {
            None => sqlx::query(
                "INSERT INTO personal_records (user_id, exercise_name_lower, records, version, updated_at_ms)
                 VALUES (?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
            )
            .bind(user.to_hex())
            .bind(exercise_lower)
            .bind(json)
            .bind(now)
            .execute(&self.writer)
            .await,
            Some(version) => sqlx::query(
                "UPDATE personal_records SET records = ?, version = version + 1, updated_at_ms = ?
                 WHERE user_id = ? AND exercise_name_lower = ? AND version = ?",
            )
            .bind(json)
            .bind(now)
            .bind(user.to_hex())
            .bind(exercise_lower)
            .bind(version)
            .execute(&self.writer)
            .await,
        };
        Ok(result.map_err(db_error)?.rows_affected() == 1)
    }

    async fn exercise_keys(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT user_id, exercise_name_lower FROM workouts
             WHERE ?1 IS NULL OR user_id = ?1 ORDER BY 1, 2",
        )
        .bind(user.map(|u| u.to_hex()))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_hex(r.get::<&str, _>("user_id"), "workouts.user_id")?,
                    r.get("exercise_name_lower"),
                ))
            })
            .collect()
    }

    async fn day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: DaySpan,
    ) -> Result<Option<PersonalRecords>, StoreError> {
        let user_hex = user.to_hex();
        let pending = sqlx::query(
            "SELECT 1 FROM personal_record_days_pending WHERE user_id = ? AND exercise_name_lower = ?",
        )
        .bind(&user_hex)
        .bind(exercise_lower)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        if pending.is_some() {
            return Ok(None);
        }
        let mut records = PersonalRecords::default();
        if let (Some(first), Some(end)) = (days.first, days.end)
            && first >= end
        {
            return Ok(Some(records));
        }
        let rows = sqlx::query(
            "SELECT records FROM personal_record_days
             WHERE user_id = ?1 AND exercise_name_lower = ?2
               AND (?3 IS NULL OR day >= ?3) AND (?4 IS NULL OR day < ?4)",
        )
        .bind(&user_hex)
        .bind(exercise_lower)
        .bind(days.first)
        .bind(days.end)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        for row in &rows {
            records.merge(&records_from_json(row.get("records"))?);
        }
        Ok(Some(records))
    }

    async fn merge_day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: &[(i64, PersonalRecords)],
    ) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        let user_hex = user.to_hex();
        // IMMEDIATE: take the write lock before reading, so the read-merge-write
        // cannot interleave with another process's merge of the same days.
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)?;
        for chunk in days.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT day, records FROM personal_record_days WHERE user_id = ");
            qb.push_bind(&user_hex)
                .push(" AND exercise_name_lower = ")
                .push_bind(exercise_lower)
                .push(" AND day IN (");
            let mut list = qb.separated(", ");
            for (day, _) in chunk {
                list.push_bind(*day);
            }
            qb.push(")");
            let rows = qb.build().fetch_all(&mut *tx).await.map_err(db_error)?;
            let mut stored = std::collections::HashMap::with_capacity(rows.len());
            for row in &rows {
                stored.insert(
                    row.get::<i64, _>("day"),
                    records_from_json(row.get("records"))?,
                );
            }
            let mut changed = Vec::with_capacity(chunk.len());
            for (day, candidate) in chunk {
                let current = stored.remove(day);
                let mut merged = current.clone().unwrap_or_default();
                merged.merge(candidate);
                if current.as_ref() != Some(&merged) {
                    changed.push((*day, records_to_json(&merged)));
                }
            }
            if changed.is_empty() {
                continue;
            }
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO personal_record_days (user_id, exercise_name_lower, day, records) ",
            );
            qb.push_values(&changed, |mut b, (day, json)| {
                b.push_bind(&user_hex)
                    .push_bind(exercise_lower)
                    .push_bind(*day)
                    .push_bind(json);
            });
            qb.push(
                " ON CONFLICT (user_id, exercise_name_lower, day) DO UPDATE SET records = excluded.records",
            );
            qb.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    async fn rebuild_day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError> {
        let user_hex = user.to_hex();
        // One IMMEDIATE transaction: entries stored before it are read here,
        // entries stored after it are folded after it, so no merge is lost.
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)?;
        let sets = read_exercise_sets(&mut *tx, user, exercise_lower, TimeRange::ALL_TIME).await?;
        let mut by_day: std::collections::BTreeMap<i64, Vec<SetRecord>> = Default::default();
        for set in sets {
            by_day.entry(day_of(set.date_ms)).or_default().push(set);
        }
        let mut rows = Vec::with_capacity(by_day.len());
        for (day, sets) in by_day {
            let records = calculator
                .compute(&sets)
                .map_err(|e| StoreError::Internal(e.into()))?;
            rows.push((day, records_to_json(&records)));
        }
        sqlx::query(
            "DELETE FROM personal_record_days WHERE user_id = ? AND exercise_name_lower = ?",
        )
        .bind(&user_hex)
        .bind(exercise_lower)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO personal_record_days (user_id, exercise_name_lower, day, records) ",
            );
            qb.push_values(chunk, |mut b, (day, json)| {
                b.push_bind(&user_hex)
                    .push_bind(exercise_lower)
                    .push_bind(*day)
                    .push_bind(json);
            });
            qb.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        sqlx::query(
            "DELETE FROM personal_record_days_pending WHERE user_id = ? AND exercise_name_lower = ?",
        )
        .bind(&user_hex)
        .bind(exercise_lower)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }
}
