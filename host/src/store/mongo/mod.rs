//! The production store: MongoDB through the official driver.
//!
//! Documents and queries are built by the pure modules `documents` and
//! `queries`; what an error means is decided in `errors`; this module only
//! sends them, each operation within its time limit (`settings`).

pub mod changes;
pub mod chunks;
pub mod documents;
pub mod errors;
pub mod imports;
pub mod keys;
pub mod prepare;
pub mod queries;
pub mod settings;
mod writes;

use super::cas::MAX_CAS_ATTEMPTS;
use super::packed::{DECODED_SPANS_BYTES, DecodedSpans};
use super::{
    DaySummary, EditOutcome, HistoryQuery, Inserted, PrChange, StoreError, StoredRecords,
    WorkoutStore, selected_keys,
};
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::domain::days::{DaySpan, day_of};
use crate::domain::records::{PersonalRecords, PrCalculator, RepRecords, SetRecord};
use crate::domain::stats::EntryStats;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use documents::field;
use errors::{Failure, classify, store_error};
use futures::{StreamExt, TryStreamExt};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};
use prepare::Stage;
use std::collections::{BTreeMap, HashMap};
use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

pub use settings::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_POOL_SIZE, DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_SERVER_SELECTION_TIMEOUT,
};

/// The database used when the URI names none.
pub const DEFAULT_DATABASE: &str = "everfit";
/// Ids per `$in` query when re-reading entries.
const ID_CHUNK: usize = 1000;
/// Days per `$in` read of a day-bests merge.
const DAY_CHUNK: usize = 1000;
/// Day summaries one merge or rebuild writes at once (each its own
/// compare-and-swap); all of them together are bounded by `fan_out`.
const DAY_WRITES_IN_FLIGHT: usize = 16;

#[derive(Clone, Debug)]
pub struct MongoStore {
    client: Client,
    db: Database,
    workouts: Collection<Document>,
    records: Collection<Document>,
    days: Collection<Document>,
    days_pending: Collection<Document>,
    /// Each operation's time limit (`timeoutMS` in the URI, else 5 s).
    operation_limit: Duration,
    /// Day-summary writes in flight across the process, bounded by the pool.
    fan_out: Arc<Semaphore>,
    /// The preparation step under way; `None` when ready.
    stage: Arc<Stage>,
    /// `host:port,...`, for messages.
    hosts: String,
    /// Insight chunks already decoded (see `chunks`).
    decoded: DecodedSpans,
    /// Whether every span with entries has its chunk document (the
    /// migration has run); until then insights read history pages.
    chunks_ready: Arc<AtomicBool>,
}

impl MongoStore {
    /// Connects to the URI's database (else [`DEFAULT_DATABASE`]) and
    /// [prepares](Self::prepare) it: what every process that serves or
    /// writes does. Fails with a clear message when no server answers
    /// within the server selection timeout.
    pub async fn connect(uri: &str) -> anyhow::Result<Self> {
        Self::connect_to(uri, None).await
    }

    /// Like [`connect`](Self::connect), with the database named explicitly
    /// (the behaviour suite uses a fresh database per test).
    pub async fn connect_to(uri: &str, database: Option<&str>) -> anyhow::Result<Self> {
        let store = Self::open(uri, database).await?;
        store
            .prepare()
            .await
            .with_context(|| store.describe("preparing"))?;
        Ok(store)
    }

    /// Connects without creating indexes or running migrations, for
    /// commands that only read (the database is prepared by `serve`).
    pub async fn connect_read_only(uri: &str) -> anyhow::Result<Self> {
        let store = Self::open(uri, None).await?;
        store.stage.set(None);
        let migrated = store
            .migrated(chunks::INSIGHT_CHUNKS_MIGRATION)
            .await
            .with_context(|| store.describe("reading the migrations of"))?;
        store.chunks_ready.store(migrated, Ordering::Relaxed);
        Ok(store)
    }

    /// Connects and checks the server answers; the store is not ready
    /// (every operation is `Unavailable`) until [`prepare`](Self::prepare)
    /// has run.
    pub async fn open(uri: &str, database: Option<&str>) -> anyhow::Result<Self> {
        let (uri, timeout) =
            settings::split_timeout_ms(uri).map_err(|e| anyhow!("MONGODB_URI: {e}"))?;
        let mut options = ClientOptions::parse(&uri)
            .await
            .context("MONGODB_URI is not a valid MongoDB connection string")?;
        options.app_name.get_or_insert_with(|| "everfit".into());
        let pool = *options.max_pool_size.get_or_insert(DEFAULT_MAX_POOL_SIZE);
        options
            .server_selection_timeout
            .get_or_insert(DEFAULT_SERVER_SELECTION_TIMEOUT);
        options
            .connect_timeout
            .get_or_insert(DEFAULT_CONNECT_TIMEOUT);
        let hosts = options
            .hosts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let name = database
            .map(str::to_string)
            .or_else(|| options.default_database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        let client = Client::with_options(options).context("creating the MongoDB client")?;
        let db = client.database(&name);
        let store = Self {
            workouts: db.collection(queries::WORKOUTS),
            records: db.collection(queries::PERSONAL_RECORDS),
            days: db.collection(queries::PERSONAL_RECORD_DAYS),
            days_pending: db.collection(queries::PERSONAL_RECORD_DAYS_PENDING),
            client,
            db,
            operation_limit: timeout.unwrap_or(DEFAULT_OPERATION_TIMEOUT),
            fan_out: Arc::new(Semaphore::new(settings::fan_out_permits(pool))),
            stage: Arc::new(Stage::preparing("connecting")),
            hosts,
            decoded: DecodedSpans::new(DECODED_SPANS_BYTES),
            chunks_ready: Arc::new(AtomicBool::new(false)),
        };
        store
            .ping_now()
            .await
            .with_context(|| store.describe("connecting to"))?;
        tracing::info!(
            hosts = %store.hosts,
            database = %store.db.name(),
            max_pool_size = pool,
            operation_timeout_ms = store.operation_limit.as_millis() as u64,
            "using the MongoDB store"
        );
        store.stage.set(Some("not prepared yet".into()));
        Ok(store)
    }

    /// "<doing> MongoDB database "x" at host:port", for error contexts.
    fn describe(&self, doing: &str) -> String {
        format!(
            "{doing} MongoDB database {:?} at {}",
            self.db.name(),
            self.hosts
        )
    }

    async fn ping_now(&self) -> Result<(), StoreError> {
        let limit = self.operation_limit;
        errors::RETRY
            .run("ping", Some(limit), || {
                self.db.run_command(doc! { "ping": 1 })
            })
            .await?;
        Ok(())
    }

    /// Runs one operation once the store is ready: within the time limit,
    /// retried on write conflicts and transient errors (see `errors`).
    async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: IntoFuture<Output = Result<T, mongodb::error::Error>>,
    {
        self.ready()?;
        errors::RETRY
            .run(what, Some(self.operation_limit), op)
            .await
    }

    /// Inserts entry documents unordered: every document is tried; the ones
    /// already stored (same _id, or same user + idempotencyKey) fail with
    /// E11000 and are skipped. Documents refused for a reason a retry may
    /// clear are sent again (inserting is idempotent), the others never.
    /// Returns how many were new.
    async fn insert_documents(&self, docs: Vec<Document>) -> Result<u64, StoreError> {
        let mut pending = docs;
        let mut inserted = 0;
        self.ready()?;
        let retry = errors::RETRY;
        let limit = self.operation_limit;
        for attempt in 1..=retry.attempts {
            let insert = self.workouts.insert_many(pending.clone()).ordered(false);
            // Out of time, the batch may be partly stored: send it all again
            // (what is stored by then comes back as E11000).
            let (outcome, error) = match tokio::time::timeout(limit, insert.into_future()).await {
                Ok(Ok(r)) => return Ok(inserted + r.inserted_ids.len() as u64),
                Ok(Err(e)) => (errors::insert_outcome(&e, pending.len()), store_error(e)),
                Err(_) => (
                    errors::InsertOutcome::Retry {
                        new: 0,
                        again: (0..pending.len()).collect(),
                    },
                    errors::timed_out("inserting entries", limit),
                ),
            };
            match outcome {
                errors::InsertOutcome::Failed => return Err(error),
                errors::InsertOutcome::Done { new } => return Ok(inserted + new),
                errors::InsertOutcome::Retry { new, again } => {
                    inserted += new;
                    if attempt == retry.attempts {
                        // Retryable failures are `Unavailable` (see `errors`).
                        return Err(error);
                    }
                    tracing::debug!(error = %error, attempt, "inserting entries: retrying");
                    pending = again.into_iter().map(|i| pending[i].clone()).collect();
                    tokio::time::sleep(retry.jittered_pause(attempt)).await;
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// `Unavailable` until the database is prepared.
    fn ready(&self) -> Result<(), StoreError> {
        match self.stage.current() {
            None => Ok(()),
            Some(stage) => Err(StoreError::Unavailable(format!(
                "MongoDB store is starting: {stage}"
            ))),
        }
    }

    /// Every document matching `filter` (`sort` and `projection` when given).
    async fn find_all(
        &self,
        what: &str,
        collection: &Collection<Document>,
        filter: Document,
        sort: Option<Document>,
        projection: Option<Document>,
    ) -> Result<Vec<Document>, StoreError> {
        let limit = self.operation_limit;
        self.run(what, || async {
            collection
                .find(filter.clone())
                .with_options(
                    mongodb::options::FindOptions::builder()
                        .sort(sort.clone())
                        .projection(projection.clone())
                        .max_time(limit)
                        .build(),
                )
                .await?
                .try_collect()
                .await
        })
        .await
    }

    /// One compare-and-swap `update_one`: true when it matched or inserted;
    /// false when another writer got there first: the version moved on, an
    /// upsert lost the race to create the document (E11000 on the unique
    /// index), or the server aborted it as a write conflict (112). A write
    /// still unanswered at the time limit may or may not happen: it counts
    /// as lost too, and the caller's re-read tells (the version check lets
    /// at most one of the two land, and both carry the same merge).
    async fn cas_update(
        &self,
        what: &str,
        collection: &Collection<Document>,
        filter: Document,
        update: Document,
        upsert: bool,
    ) -> Result<bool, StoreError> {
        self.ready()?;
        let limit = self.operation_limit;
        errors::RETRY
            .run(what, None, || async {
                let write = collection
                    .update_one(filter.clone(), update.clone())
                    .upsert(upsert);
                match tokio::time::timeout(limit, write.into_future()).await {
                    Err(_) => Ok(false),
                    Ok(Ok(r)) => Ok(r.matched_count == 1 || r.upserted_id.is_some()),
                    Ok(Err(e)) if lost_race(&e) => Ok(false),
                    Ok(Err(e)) => Err(e),
                }
            })
            .await
    }

    /// Writes one day summary if its version is still `expected_version`
    /// (`None`: it must not exist yet). False when another writer got there first.
    async fn write_day(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        fresh: DayFresh<'_>,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        let filter = queries::day_cas_filter(user, exercise_lower, day, expected_version);
        let update = queries::records_cas_update(fresh, Utc::now()).map_err(corrupt)?;
        self.cas_update(
            "writing a day summary",
            &self.days,
            filter,
            update,
            expected_version.is_none(),
        )
        .await
    }

    /// The stored summaries `day -> (records, stats, reps, version)` matching `filter`.
    async fn stored_days(&self, filter: Document) -> Result<HashMap<i64, StoredDay>, StoreError> {
        let docs = self
            .find_all(
                "reading day summaries",
                &self.days,
                filter,
                None,
                Some(queries::day_records_projection()),
            )
            .await?;
        docs.iter()
            .map(|d| {
                let (day, records, stats, reps, version) =
                    documents::day_records_from_document(d).map_err(corrupt)?;
                Ok((day, (records, stats, reps, version)))
            })
            .collect()
    }

    /// The sets of the stored entries matching `filter`, by UTC day.
    async fn sets_by_day(
        &self,
        filter: Document,
    ) -> Result<BTreeMap<i64, Vec<SetRecord>>, StoreError> {
        let docs = self
            .find_all("reading entries", &self.workouts, filter, None, None)
            .await?;
        let mut by_day: BTreeMap<i64, Vec<SetRecord>> = BTreeMap::new();
        for d in &docs {
            let entry = documents::entry_from_document(d).map_err(corrupt)?;
            by_day
                .entry(day_of(entry.date.timestamp_millis()))
                .or_default()
                .extend(entry.set_records());
        }
        Ok(by_day)
    }

    /// Runs `work` holding one of the process's fan-out permits (waiting at
    /// most the operation limit for it).
    async fn fanned_out<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let _permit = tokio::time::timeout(self.operation_limit, self.fan_out.acquire())
            .await
            .map_err(|_| {
                errors::timed_out("waiting for a day-summary write slot", self.operation_limit)
            })?
            .map_err(|e| StoreError::Internal(e.into()))?;
        work.await
    }
    /// Brings one day summary to `fresh` (empty: no entries that day; the
    /// summary stays, see `write_day_summary`), from the state `stored` read
    /// BEFORE the entries were read. False when a concurrent merge changed
    /// the day in between: the caller reads again, so that merge is never
    /// overwritten.
    async fn settle_day(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        stored: Option<&StoredDay>,
        fresh: DayFresh<'_>,
    ) -> Result<bool, StoreError> {
        match stored {
            Some((records, stats, reps, _))
                if records == fresh.0
                    && reps.as_ref() == Some(fresh.1)
                    && stats.as_ref() == Some(fresh.2) =>
            {
                Ok(true)
            }
            stored => {
                self.write_day(user, exercise_lower, day, fresh, stored.map(|s| s.3))
                    .await
            }
        }
    }

    /// Rebuilds one day alone (after a lost race): its version first, then
    /// its entries, then a compare-and-swap.
    async fn rebuild_day(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let stored = self
                .stored_days(queries::days_in_filter(user, exercise_lower, &[day]))
                .await?;
            let sets = self
                .sets_by_day(queries::day_entries_filter(user, exercise_lower, day))
                .await?;
            let sets = sets.get(&day).map_or(&[][..], Vec::as_slice);
            let fresh = calculator
                .compute(sets)
                .map_err(|e| StoreError::Internal(e.into()))?;
            let reps = RepRecords::compute(sets);
            let stats = EntryStats::from_sets(sets);
            if self
                .settle_day(
                    user,
                    exercise_lower,
                    day,
                    stored.get(&day),
                    (&fresh, &reps, &stats),
                )
                .await?
            {
                return Ok(());
            }
        }
        // Contention, not a bug (see `cas::merge_into`).
        Err(StoreError::Unavailable(format!(
            "day bests of {user}/{exercise_lower}, day {day}: rebuild kept losing to writers"
        )))
    }

    /// The database this store works in.
    pub fn database_name(&self) -> &str {
        self.db.name()
    }

    /// Drops the whole database (tests only clean up with it).
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        errors::RETRY
            .run("dropping the database", Some(self.operation_limit), || {
                self.db.drop()
            })
            .await
    }

    /// The driver client (shared connection pool).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A compare-and-swap write that another writer beat: E11000 from the
/// unique index (two first writes of one document) or a write conflict.
fn lost_race(e: &mongodb::error::Error) -> bool {
    matches!(classify(e), Failure::DuplicateKey | Failure::WriteConflict)
}

fn corrupt(e: anyhow::Error) -> StoreError {
    StoreError::Internal(e.context("corrupt document in MongoDB"))
}

/// A stored day summary: records, entry stats and rep records (each if kept
/// yet) and version.
type StoredDay = (PersonalRecords, Option<EntryStats>, Option<RepRecords>, i64);

/// What a day summary (or a row) is written with.
type DayFresh<'a> = (&'a PersonalRecords, &'a RepRecords, &'a EntryStats);

fn row_from_document(d: &Document) -> Result<StoredRecords, StoreError> {
    let version = documents::get_version(d)
        .context("personal_records")
        .map_err(corrupt)?;
    Ok(StoredRecords {
        records: documents::records_from_document(d).map_err(corrupt)?,
        stats: documents::stats_from_document(d).map_err(corrupt)?,
        reps: documents::rep_records_from_document(d).map_err(corrupt)?,
        version,
    })
}

#[async_trait]
impl WorkoutStore for MongoStore {
    fn backend(&self) -> &'static str {
        "mongodb"
    }

    fn preparing(&self) -> Option<String> {
        self.stage.current()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_now().await
    }

    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<Inserted, StoreError> {
        if entries.is_empty() {
            return Ok(Inserted::default());
        }
        self.insert(entries).await
    }

    async fn replace_entry(&self, entry: &WorkoutEntry) -> Result<EditOutcome, StoreError> {
        self.replace(entry).await
    }

    async fn delete_entry(
        &self,
        user: UserId,
        id: EntryId,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<EditOutcome, StoreError> {
        self.delete(user, id, version, at).await
    }

    async fn erase_user(&self, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        self.erase(user, at).await
    }

    async fn deleted_ids(&self, user: UserId, ids: &[EntryId]) -> Result<Vec<EntryId>, StoreError> {
        self.deleted(user, ids).await
    }

    async fn user_exercises(&self, user: UserId) -> Result<Vec<(String, String)>, StoreError> {
        self.exercises(user).await
    }

    async fn exercise_name(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<String>, StoreError> {
        self.ready()?;
        self.exercise_name_of(user, exercise_lower).await
    }

    async fn pr_changes(
        &self,
        user: UserId,
        exercise_lower: Option<&str>,
    ) -> Result<Vec<PrChange>, StoreError> {
        self.changes(user, exercise_lower).await
    }

    async fn clear_pr_changes(&self, user: UserId, changes: &[PrChange]) -> Result<(), StoreError> {
        self.clear_changes(user, changes).await
    }

    async fn get_entry(
        &self,
        user: UserId,
        id: EntryId,
    ) -> Result<Option<WorkoutEntry>, StoreError> {
        let limit = self.operation_limit;
        let found = self
            .run("reading an entry", || {
                self.workouts
                    .find_one(queries::entry_filter(user, id))
                    .max_time(limit)
            })
            .await?;
        found
            .as_ref()
            .map(documents::entry_from_document)
            .transpose()
            .map_err(corrupt)
    }

    async fn get_entries(
        &self,
        user: UserId,
        ids: &[EntryId],
    ) -> Result<Vec<WorkoutEntry>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let docs = self
                .find_all(
                    "reading entries",
                    &self.workouts,
                    queries::entries_filter(user, chunk),
                    None,
                    None,
                )
                .await?;
            for d in &docs {
                out.push(documents::entry_from_document(d).map_err(corrupt)?);
            }
        }
        Ok(out)
    }

    async fn entry_columns(
        &self,
        user: UserId,
        exercise_key: Option<&str>,
        range: TimeRange,
    ) -> Result<EntryColumns, StoreError> {
        if self.chunks_ready.load(Ordering::Relaxed) {
            self.insight_columns(user, exercise_key, range).await
        } else {
            super::columns_from_history(self, user, exercise_key, range).await
        }
    }

    async fn history(&self, q: &HistoryQuery) -> Result<Vec<WorkoutEntry>, StoreError> {
        // An exercise filter becomes `$in` over the client's matching keys:
        // the (user, exercise, date, _id) index then merges one keyset scan
        // per key (SORT_MERGE) instead of sorting every match.
        let resolved;
        let q = if q.exercise_prefix.is_some() || q.exercise_in.is_some() {
            let keys = selected_keys(
                self.recorded_keys(q.user_id).await?,
                q.exercise_prefix.as_deref(),
                q.exercise_in.as_deref(),
            );
            resolved = HistoryQuery {
                exercise_prefix: None,
                exercise_in: keys,
                ..q.clone()
            };
            &resolved
        } else {
            q
        };
        let Some(filter) = queries::history_filter(q) else {
            return Ok(Vec::new());
        };
        let limit = self.operation_limit;
        let docs: Vec<Document> = self
            .run("reading history", || async {
                self.workouts
                    .find(filter.clone())
                    .sort(queries::history_sort())
                    .limit(i64::from(q.limit))
                    .max_time(limit)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        docs.iter()
            .map(|d| documents::entry_from_document(d).map_err(corrupt))
            .collect()
    }

    async fn exercise_sets(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
    ) -> Result<Vec<SetRecord>, StoreError> {
        let by_day = self
            .sets_by_day(queries::exercise_entries_filter(
                user,
                exercise_lower,
                range,
            ))
            .await?;
        Ok(by_day.into_values().flatten().collect())
    }

    async fn ranked_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
    ) -> Result<Option<PersonalRecords>, StoreError> {
        // Ranked by the server in one $facet aggregation: only the three
        // winning sets cross the network, whatever the number of entries.
        let limit = self.operation_limit;
        let first = self
            .run("ranking records", || async {
                self.workouts
                    .aggregate(queries::live_records_pipeline(user, exercise_lower, range))
                    .max_time(limit)
                    .await?
                    .try_next()
                    .await
            })
            .await?;
        match first {
            Some(d) => documents::records_from_document(&d)
                .map(Some)
                .map_err(corrupt),
            None => Ok(Some(PersonalRecords::default())),
        }
    }

    async fn read_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<StoredRecords>, StoreError> {
        let limit = self.operation_limit;
        let Some(d) = self
            .run("reading the read model", || {
                self.records
                    .find_one(queries::records_filter(user, exercise_lower))
                    .max_time(limit)
            })
            .await?
        else {
            return Ok(None);
        };
        row_from_document(&d).map(Some)
    }

    async fn all_personal_records(
        &self,
        user: UserId,
    ) -> Result<Vec<(String, StoredRecords)>, StoreError> {
        let docs = self
            .find_all(
                "reading the read model",
                &self.records,
                changes::user_filter(user),
                Some(doc! { field::EXERCISE_NAME_LOWER: 1 }),
                None,
            )
            .await?;
        docs.iter()
            .map(|d| {
                let key = d
                    .get_str(field::EXERCISE_NAME_LOWER)
                    .map_err(|e| corrupt(e.into()))?;
                Ok((key.to_string(), row_from_document(d)?))
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
        let filter = queries::records_cas_filter(user, exercise_lower, expected_version);
        let update =
            queries::records_cas_update((records, reps, stats), Utc::now()).map_err(corrupt)?;
        self.cas_update(
            "writing the read model",
            &self.records,
            filter,
            update,
            expected_version.is_none(),
        )
        .await
    }

    async fn exercise_keys(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        // Every user's keys is a maintenance scan (`prs rebuild`) of the
        // whole collection: it gets the migrations' limit, not a request's.
        let limit = match user {
            Some(_) => self.operation_limit,
            None => prepare::MIGRATION_LIMIT,
        };
        self.ready()?;
        let docs: Vec<Document> = errors::RETRY
            .run("listing exercise keys", Some(limit), || async {
                self.workouts
                    .aggregate(queries::exercise_keys_pipeline(user))
                    .max_time(limit)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        docs.iter()
            .map(|d| queries::exercise_key_from_document(d).map_err(corrupt))
            .collect()
    }

    async fn day_summaries(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: DaySpan,
    ) -> Result<Option<Vec<DaySummary>>, StoreError> {
        let limit = self.operation_limit;
        let pending = self
            .run("reading the pending marks", || {
                self.days_pending
                    .find_one(queries::pending_filter(user, exercise_lower))
                    .max_time(limit)
            })
            .await?;
        if pending.is_some() {
            return Ok(None);
        }
        if days.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let docs = self
            .find_all(
                "reading day summaries",
                &self.days,
                queries::day_records_filter(user, exercise_lower, days),
                Some(queries::day_records_sort()),
                Some(queries::day_records_projection()),
            )
            .await?;
        let mut out = Vec::with_capacity(docs.len());
        for d in &docs {
            let (day, records, stats, reps, version) =
                documents::day_records_from_document(d).map_err(corrupt)?;
            out.push(DaySummary {
                day,
                records,
                stats,
                reps,
                version,
            });
        }
        Ok(Some(out))
    }

    async fn day_summaries_on(
        &self,
        user: UserId,
        exercise_lower: &str,
        days: &[i64],
    ) -> Result<Vec<DaySummary>, StoreError> {
        let mut out = Vec::with_capacity(days.len());
        for chunk in days.chunks(DAY_CHUNK) {
            let stored = self
                .stored_days(queries::days_in_filter(user, exercise_lower, chunk))
                .await?;
            out.extend(
                stored
                    .into_iter()
                    .map(|(day, (records, stats, reps, version))| DaySummary {
                        day,
                        records,
                        stats,
                        reps,
                        version,
                    }),
            );
        }
        out.sort_by_key(|d| d.day);
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
        self.write_day(
            user,
            exercise_lower,
            day,
            (records, reps, stats),
            expected_version,
        )
        .await
    }

    async fn rebuild_day_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        calculator: &dyn PrCalculator,
    ) -> Result<(), StoreError> {
        // No transaction: every day is settled by compare-and-swap against
        // the version read BEFORE the entries. A merge that lands in between
        // (its entry possibly not in what we read) moves the version, our
        // write misses, and that day is rebuilt again; a merge after our
        // write merges into the rebuilt summary. So no merge is lost.
        let stored = self
            .stored_days(queries::day_records_filter(
                user,
                exercise_lower,
                DaySpan::default(),
            ))
            .await?;
        let sets = self
            .sets_by_day(queries::exercise_entries_filter(
                user,
                exercise_lower,
                TimeRange::ALL_TIME,
            ))
            .await?;
        let mut fresh: BTreeMap<i64, (PersonalRecords, RepRecords, EntryStats)> = BTreeMap::new();
        for (day, sets) in &sets {
            let records = calculator
                .compute(sets)
                .map_err(|e| StoreError::Internal(e.into()))?;
            let reps = RepRecords::compute(sets);
            fresh.insert(*day, (records, reps, EntryStats::from_sets(sets)));
        }
        let nothing = (
            PersonalRecords::default(),
            RepRecords::default(),
            EntryStats::default(),
        );
        let mut all_days: Vec<i64> = stored.keys().chain(fresh.keys()).copied().collect();
        all_days.sort_unstable();
        all_days.dedup();
        let settles: Vec<_> = all_days
            .into_iter()
            .map(|day| {
                let stored = stored.get(&day);
                let (records, reps, stats) = fresh.get(&day).unwrap_or(&nothing);
                self.fanned_out(async move {
                    if self
                        .settle_day(user, exercise_lower, day, stored, (records, reps, stats))
                        .await?
                    {
                        Ok(())
                    } else {
                        self.rebuild_day(user, exercise_lower, day, calculator)
                            .await
                    }
                })
            })
            .collect();
        futures::stream::iter(settles)
            .buffer_unordered(DAY_WRITES_IN_FLIGHT)
            .try_collect::<()>()
            .await?;
        // Every day is built: ranged PRs may use them from now on.
        self.run("clearing a pending mark", || {
            self.days_pending
                .delete_one(queries::pending_filter(user, exercise_lower))
        })
        .await?;
        Ok(())
    }
}
