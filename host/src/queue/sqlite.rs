//! The embedded queue: apalis-sqlite in its own file next to the data file.
//!
//! Durability: the queue runs in WAL mode with `synchronous = NORMAL` (the
//! apalis setup turns synchronous OFF on the connection it migrates with, so
//! it migrates on a throwaway pool). A 202 means the job is committed to the
//! WAL: it survives a crash of the process; the last transactions before a
//! power loss may be lost, as with the data file itself.

use super::edit_numbers::{self, EditNumber, LastNumber, next_number};
use super::jobs::{FailedJob, QueueName};
use super::reservations::RESERVATION_SECS;
use super::{JobBackend, QueueError, concerns_user};
use crate::domain::{EntryId, UserId};
use apalis::prelude::{TaskBuilder, TaskId};
use apalis_sqlite::{Config as ApalisConfig, SqliteStorage};
use async_trait::async_trait;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Attempts before a failing job is left as failed (the dead-letter list).
pub const MAX_ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct SqliteJobs {
    pool: SqlitePool,
    path: PathBuf,
    /// Workers of this process to wake when a job is pushed here, so that
    /// they need not wait for their next poll.
    wakers: Arc<Mutex<Vec<Waker>>>,
}

/// Wakes one worker of one queue.
type Waker = (QueueName, UnboundedSender<()>);

/// The queue file for a data file: `everfit.db` -> `everfit.queue.db`.
pub fn queue_path(data_file: &Path) -> PathBuf {
    let stem = data_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "everfit".into());
    data_file.with_file_name(format!("{stem}.queue.db"))
}

fn internal(e: impl std::fmt::Display) -> QueueError {
    QueueError::Internal(anyhow::anyhow!("embedded queue: {e}"))
}

impl SqliteJobs {
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        {
            let setup = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            SqliteStorage::setup(&setup).await?;
            setup.close().await;
        }
        // One connection: pushes, fetches and acknowledgements all write, and
        // waiting in the pool is fair and quick where SQLite's busy handler
        // would sleep with backoff (long tails under load).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        // The queue's own state beside apalis's tables (its migrations never
        // touch a table of this name).
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS everfit_edit_numbers (
                 entry_id TEXT PRIMARY KEY NOT NULL,
                 version INTEGER NOT NULL,
                 deleted INTEGER NOT NULL,
                 given_at INTEGER NOT NULL
             ) WITHOUT ROWID",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS everfit_idempotency_keys (
                 user_id TEXT NOT NULL,
                 key TEXT NOT NULL,
                 content_hash TEXT NOT NULL,
                 held_at INTEGER NOT NULL,
                 PRIMARY KEY (user_id, key)
             ) WITHOUT ROWID",
        )
        .execute(&pool)
        .await?;
        // apalis's index on `lock_by` serves no query of ours or apalis's
        // better than the primary key, but once the file has statistics of
        // its own, SQLite plans apalis's acknowledge through it: a walk of
        // every job that worker name ever ran, per acknowledgement, which
        // made a restarted queue drain several times slower than a fresh one.
        sqlx::query("DROP INDEX IF EXISTS LIdx")
            .execute(&pool)
            .await?;
        seed_statistics(&pool).await?;
        Ok(Self {
            pool,
            path: path.to_path_buf(),
            wakers: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A stream that yields when a job is pushed onto `queue` by this process.
    pub fn pushes(&self, queue: QueueName) -> UnboundedReceiver<()> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        self.wakers.lock().expect("wakers lock").push((queue, tx));
        rx
    }

    fn wake(&self, queue: QueueName) {
        // Senders of stopped workers are dropped here.
        self.wakers
            .lock()
            .expect("wakers lock")
            .retain(|(q, tx)| *q != queue || tx.unbounded_send(()).is_ok());
    }

    /// Deletes finished jobs older than `age` (failed ones stay for
    /// `jobs failed`) and edit numbers past their retention; returns how
    /// many jobs. Keeps the queue file small.
    pub async fn prune_done(&self, age: Duration) -> Result<u64, QueueError> {
        let now = chrono::Utc::now().timestamp();
        let done = sqlx::query("DELETE FROM Jobs WHERE status = 'Done' AND done_at < ?1")
            .bind(now - age.as_secs() as i64)
            .execute(&self.pool)
            .await
            .map_err(internal)?;
        // Statistics follow the data as it grows (cheap when nothing changed).
        sqlx::query("PRAGMA optimize")
            .execute(&self.pool)
            .await
            .map_err(internal)?;
        sqlx::query("DELETE FROM everfit_edit_numbers WHERE given_at < ?1")
            .bind(now - edit_numbers::RETAIN_SECS as i64)
            .execute(&self.pool)
            .await
            .map_err(internal)?;
        sqlx::query("DELETE FROM everfit_idempotency_keys WHERE held_at < ?1")
            .bind(now - RESERVATION_SECS as i64)
            .execute(&self.pool)
            .await
            .map_err(internal)?;
        Ok(done.rows_affected())
    }

    /// The apalis queue name of one of our queues.
    pub fn apalis_queue(queue: QueueName) -> String {
        format!("everfit.{}", queue.as_str())
    }

    /// A worker backend for `queue`. Workers poll every `poll` (apalis only
    /// looks at its heartbeat otherwise) and a dead worker's jobs are taken
    /// back after a few missed heartbeats, so recovery takes seconds.
    pub fn storage<T>(&self, queue: QueueName, batch: usize) -> SqliteStorage<T> {
        let config = ApalisConfig::default()
            .queue(Self::apalis_queue(queue).as_str())
            .batch_size(batch.max(1))
            .heartbeat_interval(Duration::from_secs(2))
            .missed_heartbeats(3);
        SqliteStorage::new(&self.pool).with_config(config)
    }
}

#[async_trait]
impl JobBackend for SqliteJobs {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn push(&self, queue: QueueName, payload: Vec<u8>) -> Result<String, QueueError> {
        let id = ulid::Ulid::generate();
        let task = TaskBuilder::new(payload)
            .task_id(TaskId::from_ulid(id))
            .max_attempts(MAX_ATTEMPTS)
            .build();
        let mut conn = self.pool.acquire().await.map_err(internal)?;
        apalis_sqlite::queries::push_tasks(&mut *conn, &Self::apalis_queue(queue), &[task])
            .await
            .map_err(internal)?;
        self.wake(queue);
        Ok(id.to_string())
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1 AND status IN ('Pending', 'Queued', 'Running')",
        )
        .bind(Self::apalis_queue(queue))
        .fetch_one(&self.pool)
        .await
        .map_err(internal)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    async fn failed(&self, queue: QueueName) -> Result<Vec<FailedJob>, QueueError> {
        let rows = sqlx::query(
            "SELECT id, attempts, COALESCE(last_result, ''), job FROM Jobs \
             WHERE job_type = ?1 AND status IN ('Failed', 'Killed') ORDER BY done_at, id",
        )
        .bind(Self::apalis_queue(queue))
        .fetch_all(&self.pool)
        .await
        .map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|row| FailedJob {
                queue: queue.as_str(),
                id: row.get(0),
                attempts: row.get::<i64, _>(1) as u64,
                error: failure_message(&row.get::<String, _>(2)),
                payload: String::from_utf8_lossy(&row.get::<Vec<u8>, _>(3)).into_owned(),
            })
            .collect())
    }

    async fn retry_failed(&self, queue: QueueName, id: Option<&str>) -> Result<u64, QueueError> {
        let done = sqlx::query(
            "UPDATE Jobs SET status = 'Pending', attempts = 0, lock_by = NULL, lock_at = NULL, \
             done_at = NULL, run_at = strftime('%s', 'now') \
             WHERE job_type = ?1 AND status IN ('Failed', 'Killed') AND (?2 IS NULL OR id = ?2)",
        )
        .bind(Self::apalis_queue(queue))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(internal)?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), QueueError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(internal)
    }

    async fn number_edit(
        &self,
        id: EntryId,
        stored: i64,
        if_match: Option<i64>,
        delete: bool,
    ) -> Result<EditNumber, QueueError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(internal)?;
        let last =
            sqlx::query("SELECT version, deleted FROM everfit_edit_numbers WHERE entry_id = ?")
                .bind(id.to_hex())
                .fetch_optional(&mut *tx)
                .await
                .map_err(internal)?
                .map(|row| LastNumber {
                    version: row.get(0),
                    deleted: row.get(1),
                });
        let number = next_number(last, stored, if_match);
        if let EditNumber::Next(version) = number {
            sqlx::query(
                "INSERT INTO everfit_edit_numbers (entry_id, version, deleted, given_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (entry_id) DO UPDATE
                 SET version = ?2, deleted = ?3, given_at = ?4",
            )
            .bind(id.to_hex())
            .bind(version)
            .bind(delete)
            .bind(chrono::Utc::now().timestamp())
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)?;
        Ok(number)
    }

    async fn hold_key(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Option<String>, QueueError> {
        let now = chrono::Utc::now().timestamp();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(internal)?;
        // An expired hold counts as none.
        let held: Option<String> = sqlx::query_scalar(
            "SELECT content_hash FROM everfit_idempotency_keys
             WHERE user_id = ?1 AND key = ?2 AND held_at >= ?3",
        )
        .bind(user.to_hex())
        .bind(key)
        .bind(now - RESERVATION_SECS as i64)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal)?;
        if held.is_none() {
            sqlx::query(
                "INSERT INTO everfit_idempotency_keys (user_id, key, content_hash, held_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, key) DO UPDATE SET content_hash = ?3, held_at = ?4",
            )
            .bind(user.to_hex())
            .bind(key)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)?;
        Ok(held)
    }

    async fn free_key(&self, user: UserId, key: &str, hash: &str) -> Result<(), QueueError> {
        sqlx::query(
            "DELETE FROM everfit_idempotency_keys
             WHERE user_id = ?1 AND key = ?2 AND content_hash = ?3",
        )
        .bind(user.to_hex())
        .bind(key)
        .bind(hash)
        .execute(&self.pool)
        .await
        .map_err(internal)?;
        Ok(())
    }

    async fn purge_user(&self, queue: QueueName, user: UserId) -> Result<u64, QueueError> {
        // Running jobs stay: their worker finishes them, and the store drops
        // what they would write for an erased client.
        let rows = sqlx::query(
            "SELECT id, job FROM Jobs WHERE job_type = ?1 \
             AND status IN ('Pending', 'Queued', 'Failed', 'Killed')",
        )
        .bind(Self::apalis_queue(queue))
        .fetch_all(&self.pool)
        .await
        .map_err(internal)?;
        let mut purged = 0;
        for row in rows {
            if concerns_user(queue, &row.get::<Vec<u8>, _>(1), user) {
                purged += sqlx::query("DELETE FROM Jobs WHERE id = ?1 AND status != 'Running'")
                    .bind(row.get::<String, _>(0))
                    .execute(&self.pool)
                    .await
                    .map_err(internal)?
                    .rows_affected();
            }
        }
        Ok(purged)
    }
}

/// Query-planner statistics of a queue that has worked for a while: one
/// worker's 20,000 finished jobs and a backlog of 200 (what `ANALYZE` found
/// on such a file). Without statistics, SQLite plans apalis's lock by the
/// status index (every waiting job), which made a fresh queue drain about
/// 8x slower than the same file after a restart; with them it is a lookup
/// by job id. They are written only when the file has none for `Jobs`; a
/// later `ANALYZE` (the hourly `PRAGMA optimize`) replaces them.
const SEED_STATISTICS: &[(&str, &str)] = &[
    ("sqlite_autoindex_Jobs_1", "20200 1"),
    ("idx_jobs_status_run_at", "20200 10100 10100"),
    ("idx_jobs_job_type_status_run_at", "20200 10100 6734 6734"),
    ("idx_jobs_idempotency_key", "20200 10100 10100"),
    ("idx_jobs_completed_done_at", "20000 20000 20000 20000"),
    ("idx_jobs_pending", "200 200 200 200 1"),
    ("idx_jobs_claimable", "200 200 200"),
];

async fn seed_statistics(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    // ANALYZE creates sqlite_stat1; on a fresh file it knows only that Jobs
    // is empty, which plans as badly as knowing nothing.
    sqlx::query("ANALYZE").execute(pool).await?;
    let measured: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'Jobs' AND CAST(stat AS INTEGER) > 0",
    )
    .fetch_one(pool)
    .await?;
    if measured > 0 {
        return Ok(());
    }
    sqlx::query("DELETE FROM sqlite_stat1 WHERE tbl = 'Jobs'")
        .execute(pool)
        .await?;
    for (index, stat) in SEED_STATISTICS {
        sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('Jobs', ?1, ?2)")
            .bind(index)
            .bind(stat)
            .execute(pool)
            .await?;
    }
    // Loads the statistics into the planner.
    sqlx::query("ANALYZE sqlite_schema").execute(pool).await?;
    Ok(())
}

/// apalis stores a failure as `{"Err":"message"}`; show the message.
fn failure_message(stored: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(stored) {
        Ok(serde_json::Value::Object(o)) => match o.get("Err") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => stored.to_string(),
        },
        _ => stored.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pruning_deletes_only_old_finished_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = SqliteJobs::open(&dir.path().join("q.db")).await.unwrap();
        let old = jobs.push(QueueName::Persist, b"{}".to_vec()).await.unwrap();
        let failed = jobs.push(QueueName::Persist, b"{}".to_vec()).await.unwrap();
        jobs.push(QueueName::Prs, b"{}".to_vec()).await.unwrap();
        for (id, status) in [(&old, "Done"), (&failed, "Failed")] {
            sqlx::query("UPDATE Jobs SET status = ?1, done_at = 1 WHERE id = ?2")
                .bind(status)
                .bind(id)
                .execute(&jobs.pool)
                .await
                .unwrap();
        }
        assert_eq!(jobs.prune_done(Duration::from_secs(60)).await.unwrap(), 1);
        assert_eq!(jobs.depth(QueueName::Prs).await.unwrap(), 1);
        assert_eq!(jobs.failed(QueueName::Persist).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_push_wakes_the_workers_of_its_queue_only() {
        use futures::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let jobs = SqliteJobs::open(&dir.path().join("q.db")).await.unwrap();
        let mut persist = jobs.pushes(QueueName::Persist);
        let mut prs = jobs.pushes(QueueName::Prs);
        jobs.push(QueueName::Persist, b"{}".to_vec()).await.unwrap();
        assert_eq!(persist.next().await, Some(()));
        assert!(prs.try_recv().is_err(), "the PR queue's workers were woken");
        drop(persist);
        jobs.push(QueueName::Persist, b"{}".to_vec()).await.unwrap();
        assert_eq!(
            jobs.wakers.lock().unwrap().len(),
            1,
            "a stopped worker's waker is kept"
        );
    }

    /// apalis-sqlite 1.0's fetch, lock and acknowledge, in the shape that
    /// matters to the planner.
    const APALIS_LOCK: &str = "UPDATE Jobs SET status = 'Running', lock_at = 1, lock_by = ?2 \
        WHERE id IN (SELECT value FROM json_each(?1)) AND (status = 'Queued' OR status = 'Pending' \
        OR (status = 'Failed' AND attempts < max_attempts))";
    const APALIS_ACK: &str = "WITH j AS (SELECT value ->> 'task_id' AS task_id, value ->> 'attempt' AS attempt, \
        value ->> 'result' AS result, value ->> 'status' AS status FROM json_each(?1)) \
        UPDATE Jobs SET status = j.status, attempts = j.attempt, last_result = j.result, \
        done_at = strftime('%s', 'now') FROM j WHERE Jobs.id = j.task_id AND Jobs.lock_by = ?2";

    async fn plan_of(pool: &SqlitePool, sql: &str, args: usize) -> String {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for i in 0..args {
            q = q.bind(if i == 0 { "[]" } else { "x" });
        }
        q.fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// After a restart the file has statistics of its own: thousands of
    /// jobs finished by a few worker names. Acknowledging stays a lookup by
    /// job id (with apalis's `lock_by` index, SQLite walked that worker's
    /// every job instead), also after the file is opened again.
    #[tokio::test]
    async fn a_worn_queue_with_its_own_statistics_acknowledges_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let jobs = SqliteJobs::open(&path).await.unwrap();
        for _ in 0..600 {
            jobs.push(QueueName::Persist, b"{}".to_vec()).await.unwrap();
        }
        // Worker rows do not matter to the plan: skip the foreign key.
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&jobs.pool)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE Jobs SET status = 'Done', done_at = 1, lock_by = 'worker-' || (ROWID % 3)",
        )
        .execute(&jobs.pool)
        .await
        .unwrap();
        sqlx::query("ANALYZE").execute(&jobs.pool).await.unwrap();
        jobs.pool.close().await;
        let reopened = SqliteJobs::open(&path).await.unwrap();
        let ack = plan_of(&reopened.pool, APALIS_ACK, 2).await;
        assert!(
            ack.contains("SEARCH Jobs USING INDEX sqlite_autoindex_Jobs_1 (id=?)"),
            "{ack}"
        );
    }
    const APALIS_FETCH: &str = "SELECT ROWID FROM Jobs WHERE job_type = ?2 AND status = 'Pending' \
        AND lock_by IS NULL AND (run_at IS NULL OR run_at <= ?4) \
        ORDER BY priority DESC, run_at ASC, id ASC LIMIT ?3";

    /// From the first start, acknowledging and locking look jobs up by id,
    /// and fetching walks the pending index: none scans the finished jobs.
    #[tokio::test]
    async fn a_fresh_queue_is_planned_like_a_worn_one() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = SqliteJobs::open(&dir.path().join("q.db")).await.unwrap();
        let plan = |sql: &'static str, args: usize| {
            let pool = jobs.pool.clone();
            async move {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
                for i in 0..args {
                    q = q.bind(if i == 0 {
                        "[]".to_string()
                    } else {
                        "x".to_string()
                    });
                }
                q.fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<String, _>("detail"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
        };
        let ack = plan(APALIS_ACK, 2).await;
        assert!(
            ack.contains("SEARCH Jobs USING INDEX sqlite_autoindex_Jobs_1 (id=?)"),
            "{ack}"
        );
        let lock = plan(APALIS_LOCK, 2).await;
        assert!(
            lock.contains("SEARCH Jobs USING INDEX sqlite_autoindex_Jobs_1 (id=?)"),
            "{lock}"
        );
        assert!(!lock.contains("idx_jobs_status_run_at"), "{lock}");
        let fetch = plan(APALIS_FETCH, 4).await;
        assert!(fetch.contains("USING INDEX idx_jobs_pending"), "{fetch}");
        // Reopened, the statistics are kept, not written twice.
        drop(jobs);
        let again = SqliteJobs::open(&dir.path().join("q.db")).await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'Jobs'")
            .fetch_one(&again.pool)
            .await
            .unwrap();
        assert_eq!(rows, SEED_STATISTICS.len() as i64);
    }

    #[test]
    fn failure_messages_are_unwrapped() {
        assert_eq!(failure_message(r#"{"Err":"boom"}"#), "boom");
        assert_eq!(failure_message("plain"), "plain");
    }

    #[test]
    fn the_queue_file_sits_next_to_the_data_file() {
        assert_eq!(
            queue_path(Path::new("./data/everfit.db")),
            PathBuf::from("./data/everfit.queue.db")
        );
        assert_eq!(queue_path(Path::new("x")), PathBuf::from("x.queue.db"));
    }
}
