//! The embedded store: one SQLite file, WAL mode.
//!
//! Writes go through a single-connection pool so that in-process writers never
//! contend for SQLite's write lock; reads use their own pool.

mod chunks;
mod history;
mod imports;
mod keys;
mod rows;
mod writes;

use super::{
    DaySummary, EditOutcome, HistoryQuery, Inserted, PrChange, StoreError, StoredRecords,
    WorkoutStore, packed,
};
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::domain::days::{DaySpan, day_of};
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords, SetRecord};
use crate::domain::stats::EntryStats;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rows::{
    ENTRY_COLUMNS, StoredSet, entry_from_row, parse_hex, records_from_json, records_to_json,
    stats_from_row,
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
    decoded: packed::DecodedSpans,
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
            // A connection to a local file cannot go stale: the default ping
            // before each acquire is one more round trip to the connection's
            // thread on every read.
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening SQLite database {} for reading", path.display()))?;
        Ok(Self {
            reader,
            writer,
            decoded: packed::DecodedSpans::new(packed::DECODED_SPANS_BYTES),
        })
    }
}

impl SqliteStore {
    /// A write transaction that takes SQLite's write lock before it reads, so
    /// its read-modify-write cannot interleave with another process's.
    async fn begin_immediate(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)
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

    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<Inserted, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let inserted = writes::insert(&mut tx, entries).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(inserted)
    }

    async fn replace_entry(&self, entry: &WorkoutEntry) -> Result<EditOutcome, StoreError> {
        let mut tx = self.begin_immediate().await?;
        let outcome = writes::replace(&mut tx, entry).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn delete_entry(
        &self,
        user: UserId,
        id: EntryId,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<EditOutcome, StoreError> {
        let mut tx = self.begin_immediate().await?;
        let outcome = writes::delete(&mut tx, user, id, version, at).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(outcome)
    }

    async fn erase_user(&self, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin_immediate().await?;
        let erased = writes::erase(&mut tx, user, at).await?;
        tx.commit().await.map_err(db_error)?;
        self.decoded.forget(user);
        Ok(erased)
    }

    async fn deleted_ids(&self, user: UserId, ids: &[EntryId]) -> Result<Vec<EntryId>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT id FROM workout_tombstones WHERE user_id = ");
            qb.push_bind(user.to_hex()).push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.to_hex());
            }
            qb.push(")");
            for row in qb.build().fetch_all(&self.reader).await.map_err(db_error)? {
                out.push(parse_hex(row.get::<&str, _>(0), "workout_tombstones.id")?);
            }
        }
        Ok(out)
    }

    async fn user_exercises(&self, user: UserId) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT exercise_name_lower, exercise_name FROM user_exercises
             WHERE user_id = ? ORDER BY exercise_name_lower",
        )
        .bind(user.to_hex())
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn exercise_name(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT exercise_name FROM user_exercises WHERE user_id = ? AND exercise_name_lower = ?",
        )
        .bind(user.to_hex())
        .bind(exercise_lower)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)
    }

    async fn pr_changes(
        &self,
        user: UserId,
        exercise_lower: Option<&str>,
    ) -> Result<Vec<PrChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT exercise_name_lower, day, op, destructive FROM pr_changes
             WHERE user_id = ?1 AND (?2 IS NULL OR exercise_name_lower = ?2)
             ORDER BY exercise_name_lower, day, op",
        )
        .bind(user.to_hex())
        .bind(exercise_lower)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(rows
            .iter()
            .map(|r| PrChange {
                exercise: r.get(0),
                day: r.get(1),
                op: r.get(2),
                destructive: r.get(3),
            })
            .collect())
    }

    async fn clear_pr_changes(&self, user: UserId, changes: &[PrChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        for c in changes {
            sqlx::query(
                "DELETE FROM pr_changes
                 WHERE user_id = ? AND exercise_name_lower = ? AND day = ? AND op = ?",
            )
            .bind(user.to_hex())
            .bind(&c.exercise)
            .bind(c.day)
            .bind(&c.op)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(())
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
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("");
        history::push_page(&mut qb, q);
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db_error)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn entry_columns(
        &self,
        user: UserId,
        exercise_key: Option<&str>,
        range: TimeRange,
    ) -> Result<EntryColumns, StoreError> {
        chunks::entry_columns(
            &self.reader,
            &self.writer,
            &self.decoded,
            user,
            exercise_key,
            range,
        )
        .await
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
        let row = sqlx::query("SELECT records, version, entries, first_ms, last_ms FROM personal_records WHERE user_id = ? AND exercise_name_lower = ?")
            .bind(user.to_hex())
            .bind(exercise_lower)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let (records, reps) = records_from_json(row.get("records"))?;
                Ok(Some(StoredRecords {
                    records,
                    stats: stats_from_row(&row),
                    reps,
                    version: row.get("version"),
                }))
            }
        }
    }

    async fn all_personal_records(
        &self,
        user: UserId,
    ) -> Result<Vec<(String, StoredRecords)>, StoreError> {
        let rows = sqlx::query(
            "SELECT exercise_name_lower, records, version, entries, first_ms, last_ms
             FROM personal_records WHERE user_id = ? ORDER BY exercise_name_lower",
        )
        .bind(user.to_hex())
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let (records, reps) = records_from_json(row.get("records"))?;
                Ok((
                    row.get("exercise_name_lower"),
                    StoredRecords {
                        records,
                        stats: stats_from_row(row),
                        reps,
                        version: row.get("version"),
                    },
                ))
            })
            .collect()
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
        let now = Utc::now().timestamp_millis();
        let json = records_to_json(records, reps);
        let result = match expected_version {
            None => sqlx::query(
                "INSERT INTO personal_records (user_id, exercise_name_lower, records, version, updated_at_ms,
                     entries, first_ms, last_ms)
                 VALUES (?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(user.to_hex())
            .bind(exercise_lower)
            .bind(json)
            .bind(now)
            .bind(stats.entries as i64)
            .bind(stats.first_ms)
            .bind(stats.last_ms)
            .execute(&self.writer)
            .await,
            Some(version) => sqlx::query(
                "UPDATE personal_records SET records = ?, version = version + 1, updated_at_ms = ?,
                     entries = ?, first_ms = ?, last_ms = ?
                 WHERE user_id = ? AND exercise_name_lower = ? AND version = ?",
            )
            .bind(json)
            .bind(now)
            .bind(stats.entries as i64)
            .bind(stats.first_ms)
            .bind(stats.last_ms)
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

    async fn day_summaries(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: DaySpan,
    ) -> Result<Option<Vec<DaySummary>>, StoreError> {
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
        if days.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let rows = sqlx::query(
            "SELECT day, records, version, entries, first_ms, last_ms FROM personal_record_days
             WHERE user_id = ?1 AND exercise_name_lower = ?2
               AND (?3 IS NULL OR day >= ?3) AND (?4 IS NULL OR day < ?4)
             ORDER BY day",
        )
        .bind(&user_hex)
        .bind(exercise_lower)
        .bind(days.first)
        .bind(days.end)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let (records, reps) = records_from_json(row.get("records"))?;
                Ok(DaySummary {
                    day: row.get("day"),
                    records,
                    stats: stats_from_row(row),
                    reps,
                    version: row.get("version"),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(Some)
    }

    async fn day_summaries_on(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: &[i64],
    ) -> Result<Vec<DaySummary>, StoreError> {
        let mut out = Vec::with_capacity(days.len());
        for chunk in days.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT day, records, version, entries, first_ms, last_ms FROM personal_record_days WHERE user_id = ",
            );
            qb.push_bind(user.to_hex())
                .push(" AND exercise_name_lower = ")
                .push_bind(exercise_lower)
                .push(" AND day IN (");
            let mut list = qb.separated(", ");
            for day in chunk {
                list.push_bind(*day);
            }
            qb.push(") ORDER BY day");
            for row in qb.build().fetch_all(&self.reader).await.map_err(db_error)? {
                let (records, reps) = records_from_json(row.get("records"))?;
                out.push(DaySummary {
                    day: row.get("day"),
                    records,
                    stats: stats_from_row(&row),
                    reps,
                    version: row.get("version"),
                });
            }
        }
        Ok(out)
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
        let user_hex = user.to_hex();
        let result = match expected_version {
            None => {
                sqlx::query(
                    "INSERT INTO personal_record_days (user_id, exercise_name_lower, day, records, version,
                         entries, first_ms, last_ms)
                     VALUES (?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(&user_hex)
                .bind(exercise_lower)
                .bind(day)
                .bind(records_to_json(records, reps))
                .bind(stats.entries as i64)
                .bind(stats.first_ms)
                .bind(stats.last_ms)
                .execute(&self.writer)
                .await
            }
            Some(version) => {
                sqlx::query(
                    "UPDATE personal_record_days SET records = ?, version = version + 1,
                         entries = ?, first_ms = ?, last_ms = ?
                     WHERE user_id = ? AND exercise_name_lower = ? AND day = ? AND version = ?",
                )
                .bind(records_to_json(records, reps))
                .bind(stats.entries as i64)
                .bind(stats.first_ms)
                .bind(stats.last_ms)
                .bind(&user_hex)
                .bind(exercise_lower)
                .bind(day)
                .bind(version)
                .execute(&self.writer)
                .await
            }
        };
        Ok(result.map_err(db_error)?.rows_affected() == 1)
    }

    async fn rebuild_day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError> {
        let user_hex = user.to_hex();
        // One IMMEDIATE transaction: entries stored before it are read here,
        // entries stored after it are settled after it, so nothing is lost.
        let mut tx = self.begin_immediate().await?;
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
            let reps = RepRecords::compute(&sets);
            rows.push((
                day,
                records_to_json(&records, &reps),
                EntryStats::from_sets(&sets),
            ));
        }
        // Days without entries are emptied, the others overwritten, each
        // with its version moved on, so a compare-and-swap read before this
        // misses (see `write_day_summary` for why days are never deleted).
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE personal_record_days SET version = version + 1, entries = 0, first_ms = NULL, last_ms = NULL, records = ",
        );
        qb.push_bind(records_to_json(
            &PersonalRecords::default(),
            &RepRecords::default(),
        ))
        .push(" WHERE user_id = ")
        .push_bind(&user_hex)
        .push(" AND exercise_name_lower = ")
        .push_bind(exercise_lower);
        if !rows.is_empty() {
            qb.push(" AND day NOT IN (");
            let mut list = qb.separated(", ");
            for (day, _, _) in &rows {
                list.push_bind(*day);
            }
            qb.push(")");
        }
        qb.build().execute(&mut *tx).await.map_err(db_error)?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO personal_record_days (user_id, exercise_name_lower, day, records, version, entries, first_ms, last_ms) ",
            );
            qb.push_values(chunk, |mut b, (day, json, stats)| {
                b.push_bind(&user_hex)
                    .push_bind(exercise_lower)
                    .push_bind(*day)
                    .push_bind(json)
                    .push_bind(1)
                    .push_bind(stats.entries as i64)
                    .push_bind(stats.first_ms)
                    .push_bind(stats.last_ms);
            });
            qb.push(
                " ON CONFLICT (user_id, exercise_name_lower, day) DO UPDATE
                  SET records = excluded.records, version = personal_record_days.version + 1,
                      entries = excluded.entries, first_ms = excluded.first_ms, last_ms = excluded.last_ms",
            );
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
