//! The production store: MongoDB through the official driver.
//!
//! Documents and queries are built by the pure modules `documents` and
//! `queries`; this module only sends them and maps the driver's errors.

pub mod changes;
pub mod documents;
pub mod keys;
pub mod queries;
mod writes;

use super::cas::MAX_CAS_ATTEMPTS;
use super::{
    DaySummary, EditOutcome, HistoryQuery, Inserted, PrChange, StoreError, StoredRecords,
    WorkoutStore, selected_keys,
};
use crate::domain::dates::TimeRange;
use crate::domain::days::{DaySpan, day_of};
use crate::domain::records::{PersonalRecords, PrCalculator, SetRecord};
use crate::domain::{EntryId, UserId, WorkoutEntry};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The database used when the URI names none.
pub const DEFAULT_DATABASE: &str = "everfit";
/// Connections per server, unless the URI says otherwise (`maxPoolSize`).
pub const DEFAULT_MAX_POOL_SIZE: u32 = 32;
/// How long an operation waits for a reachable server before failing with
/// `Unavailable` (the driver's default is 30 s, far too long for a request).
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;
/// Ids per `$in` query when re-reading entries.
const ID_CHUNK: usize = 1000;
/// Days per `$in` read of a day-bests merge.
const DAY_CHUNK: usize = 1000;
/// Day summaries written at once (each its own compare-and-swap).
const DAY_WRITES_IN_FLIGHT: usize = 16;

#[derive(Clone, Debug)]
pub struct MongoStore {
    client: Client,
    db: Database,
    workouts: Collection<Document>,
    records: Collection<Document>,
    days: Collection<Document>,
    days_pending: Collection<Document>,
}

impl MongoStore {
    /// Connects to the URI's database (else [`DEFAULT_DATABASE`]) and creates
    /// the indexes. Fails with a clear message when no server answers within
    /// the server selection timeout.
    pub async fn connect(uri: &str) -> anyhow::Result<Self> {
        Self::connect_to(uri, None).await
    }

    /// Like [`connect`](Self::connect), with the database named explicitly
    /// (the behaviour suite uses a fresh database per test).
    pub async fn connect_to(uri: &str, database: Option<&str>) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .context("MONGODB_URI is not a valid MongoDB connection string")?;
        options.app_name.get_or_insert_with(|| "everfit".into());
        options.max_pool_size.get_or_insert(DEFAULT_MAX_POOL_SIZE);
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
        };
        store
            .create_indexes()
            .await
            .with_context(|| format!("preparing MongoDB database {name:?} at {hosts}"))?;
        store
            .mark_pending_day_bests()
            .await
            .with_context(|| format!("migrating MongoDB database {name:?} at {hosts}"))?;
        tracing::info!(%hosts, database = %name, "using the MongoDB store");
        Ok(store)
    }

    /// Creates the indexes of [`queries::indexes`], [`changes::indexes`] and
    /// [`keys::indexes`] (a no-op when they exist).
    async fn create_indexes(&self) -> Result<(), StoreError> {
        for spec in queries::indexes()
            .into_iter()
            .chain(changes::indexes())
            .chain(keys::indexes())
        {
            let mut options = IndexOptions::builder().name(spec.name.to_string()).build();
            if spec.unique {
                options.unique = Some(true);
            }
            options.partial_filter_expression = spec.partial_filter.clone();
            let model = IndexModel::builder()
                .keys(spec.keys.clone())
                .options(options)
                .build();
            self.db
                .collection::<Document>(spec.collection)
                .create_index(model)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// Runs once per database (recorded in `migrations`): marks every
    /// (user, exercise) stored so far as pending, so ranged PRs for entries
    /// written before day bests existed are computed live until `everfit prs
    /// rebuild` builds their days, exactly like SQLite's migration 0002.
    /// Keys first stored afterwards are never marked: their days are folded
    /// from their first entry on. A fresh database marks nothing.
    ///
    /// The mark is recorded only after the `$merge` finished; if two
    /// instances start at once, or one dies half-way, the `$merge` runs again
    /// and may also mark keys created in between, which is safe (they are
    /// served live, still correct, until the next rebuild).
    async fn mark_pending_day_bests(&self) -> Result<(), StoreError> {
        let migrations = self.db.collection::<Document>(queries::MIGRATIONS);
        let name = queries::DAY_BESTS_PENDING_MIGRATION;
        if migrations
            .find_one(queries::migration_filter(name))
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Ok(());
        }
        // `$merge` writes while the cursor opens; there are no results.
        let mut cursor = self
            .workouts
            .aggregate(queries::pending_backfill_pipeline())
            .await
            .map_err(store_error)?;
        while cursor.try_next().await.map_err(store_error)?.is_some() {}
        match migrations
            .insert_one(queries::migration_document(name, Utc::now()))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Writes one day summary if its version is still `expected_version`
    /// (`None`: it must not exist yet). False when another writer got there first.
    async fn write_day(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        records: &PersonalRecords,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        let filter = queries::day_cas_filter(user, exercise_lower, day, expected_version);
        let update = queries::records_cas_update(records, Utc::now()).map_err(corrupt)?;
        cas_result(
            self.days
                .update_one(filter, update)
                .upsert(expected_version.is_none())
                .await,
        )
    }

    /// Deletes one day summary if its version is still `version`.
    async fn delete_day(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        version: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .days
            .delete_one(queries::day_cas_filter(
                user,
                exercise_lower,
                day,
                Some(version),
            ))
            .await
            .map_err(store_error)?;
        Ok(result.deleted_count == 1)
    }

    /// The stored summaries `day -> (records, version)` matching `filter`.
    async fn stored_days(
        &self,
        filter: Document,
    ) -> Result<HashMap<i64, (PersonalRecords, i64)>, StoreError> {
        let docs: Vec<Document> = self
            .days
            .find(filter)
            .projection(queries::day_records_projection())
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        docs.iter()
            .map(|d| {
                let (day, records, version) =
                    documents::day_records_from_document(d).map_err(corrupt)?;
                Ok((day, (records, version)))
            })
            .collect()
    }

    /// The sets of the stored entries matching `filter`, by UTC day.
    async fn sets_by_day(
        &self,
        filter: Document,
    ) -> Result<BTreeMap<i64, Vec<SetRecord>>, StoreError> {
        let mut cursor = self.workouts.find(filter).await.map_err(store_error)?;
        let mut by_day: BTreeMap<i64, Vec<SetRecord>> = BTreeMap::new();
        while let Some(d) = cursor.try_next().await.map_err(store_error)? {
            let entry = documents::entry_from_document(&d).map_err(corrupt)?;
            by_day
                .entry(day_of(entry.date.timestamp_millis()))
                .or_default()
                .extend(entry.set_records());
        }
        Ok(by_day)
    }

    /// Brings one day summary to `fresh` (None: no entries that day, so no
    /// summary), from the state `stored` read BEFORE the entries were read.
    /// False when a concurrent merge changed the day in between: the caller
    /// reads again, so that merge is never overwritten.
    async fn settle_day(
        &self,
        user: UserId,
        exercise_lower: &str,
        day: i64,
        stored: Option<&(PersonalRecords, i64)>,
        fresh: Option<&PersonalRecords>,
    ) -> Result<bool, StoreError> {
        match (stored, fresh) {
            (Some((current, _)), Some(fresh)) if current == fresh => Ok(true),
            (stored, Some(fresh)) => {
                self.write_day(user, exercise_lower, day, fresh, stored.map(|s| s.1))
                    .await
            }
            (Some((_, version)), None) => {
                self.delete_day(user, exercise_lower, day, *version).await
            }
            (None, None) => Ok(true),
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
            let fresh = match sets.get(&day) {
                Some(sets) => Some(
                    calculator
                        .compute(sets)
                        .map_err(|e| StoreError::Internal(e.into()))?,
                ),
                None => None,
            };
            if self
                .settle_day(user, exercise_lower, day, stored.get(&day), fresh.as_ref())
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Internal(anyhow!(
            "day bests of {user}/{exercise_lower}, day {day}: rebuild kept losing to writers"
        )))
    }

    /// The database this store works in.
    pub fn database_name(&self) -> &str {
        self.db.name()
    }

    /// Drops the whole database (tests only clean up with it).
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        self.db.drop().await.map_err(store_error)
    }

    /// The driver client (shared connection pool).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// True for transient conditions that a later retry may clear: no server,
/// network trouble, a primary stepping down or shutting down.
fn is_transient(e: &MongoError) -> bool {
    const TRANSIENT_CODES: &[i32] = &[
        6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
    ];
    if e.contains_label("RetryableWriteError") || e.contains_label("TransientTransactionError") {
        return true;
    }
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => true,
        ErrorKind::Command(c) => TRANSIENT_CODES.contains(&c.code),
        _ => false,
    }
}

fn store_error(e: MongoError) -> StoreError {
    if is_transient(&e) {
        StoreError::Unavailable(format!("MongoDB: {e}"))
    } else {
        StoreError::Internal(anyhow!(e).context("MongoDB operation failed"))
    }
}

/// True when the error is only a duplicate key (E11000): the document is
/// already there, which for an idempotent write is success.
fn is_duplicate_key(e: &MongoError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// The outcome of a compare-and-swap `update_one`: true when it matched or
/// inserted; false when the version moved on, or when an upsert lost the
/// race to create the document (E11000 on the unique index).
fn cas_result(
    result: Result<mongodb::results::UpdateResult, MongoError>,
) -> Result<bool, StoreError> {
    match result {
        Ok(r) => Ok(r.matched_count == 1 || r.upserted_id.is_some()),
        Err(e) if is_duplicate_key(&e) => Ok(false),
        Err(e) => Err(store_error(e)),
    }
}

fn corrupt(e: anyhow::Error) -> StoreError {
    StoreError::Internal(e.context("corrupt document in MongoDB"))
}

#[async_trait]
impl WorkoutStore for MongoStore {
    fn backend(&self) -> &'static str {
        "mongodb"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(store_error)?;
        Ok(())
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
        let found = self
            .workouts
            .find_one(queries::entry_filter(user, id))
            .await
            .map_err(store_error)?;
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
            let docs: Vec<Document> = self
                .workouts
                .find(queries::entries_filter(user, chunk))
                .await
                .map_err(store_error)?
                .try_collect()
                .await
                .map_err(store_error)?;
            for d in &docs {
                out.push(documents::entry_from_document(d).map_err(corrupt)?);
            }
        }
        Ok(out)
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
        let docs: Vec<Document> = self
            .workouts
            .find(filter)
            .sort(queries::history_sort())
            .limit(i64::from(q.limit))
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
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
        let mut cursor = self
            .workouts
            .aggregate(queries::live_records_pipeline(user, exercise_lower, range))
            .await
            .map_err(store_error)?;
        match cursor.try_next().await.map_err(store_error)? {
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
        let Some(d) = self
            .records
            .find_one(queries::records_filter(user, exercise_lower))
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let version = d
            .get_i64(documents::field::VERSION)
            .context("personal_records.version")
            .map_err(corrupt)?;
        Ok(Some(StoredRecords {
            records: documents::records_from_document(&d).map_err(corrupt)?,
            version,
        }))
    }

    async fn write_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        records: &PersonalRecords,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        let filter = queries::records_cas_filter(user, exercise_lower, expected_version);
        let update = queries::records_cas_update(records, Utc::now()).map_err(corrupt)?;
        cas_result(
            self.records
                .update_one(filter, update)
                .upsert(expected_version.is_none())
                .await,
        )
    }

    async fn exercise_keys(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        let docs: Vec<Document> = self
            .workouts
            .aggregate(queries::exercise_keys_pipeline(user))
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
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
        if self
            .days_pending
            .find_one(queries::pending_filter(user, exercise_lower))
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Ok(None);
        }
        if days.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut cursor = self
            .days
            .find(queries::day_records_filter(user, exercise_lower, days))
            .sort(queries::day_records_sort())
            .projection(queries::day_records_projection())
            .await
            .map_err(store_error)?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(store_error)? {
            let (day, records, version) =
                documents::day_records_from_document(&d).map_err(corrupt)?;
            out.push(DaySummary {
                day,
                records,
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
                    .map(|(day, (records, version))| DaySummary {
                        day,
                        records,
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
        records: Option<&PersonalRecords>,
        expected_version: Option<i64>,
    ) -> Result<bool, StoreError> {
        match (records, expected_version) {
            (None, None) => Ok(true),
            (None, Some(version)) => self.delete_day(user, exercise_lower, day, version).await,
            (Some(records), expected) => {
                self.write_day(user, exercise_lower, day, records, expected)
                    .await
            }
        }
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
        let mut fresh: BTreeMap<i64, PersonalRecords> = BTreeMap::new();
        for (day, sets) in &sets {
            let records = calculator
                .compute(sets)
                .map_err(|e| StoreError::Internal(e.into()))?;
            fresh.insert(*day, records);
        }
        let mut all_days: Vec<i64> = stored.keys().chain(fresh.keys()).copied().collect();
        all_days.sort_unstable();
        all_days.dedup();
        let settles: Vec<_> = all_days
            .into_iter()
            .map(|day| {
                let (stored, fresh) = (stored.get(&day), fresh.get(&day));
                async move {
                    if self
                        .settle_day(user, exercise_lower, day, stored, fresh)
                        .await?
                    {
                        Ok(())
                    } else {
                        self.rebuild_day(user, exercise_lower, day, calculator)
                            .await
                    }
                }
            })
            .collect();
        futures::stream::iter(settles)
            .buffer_unordered(DAY_WRITES_IN_FLIGHT)
            .try_collect::<()>()
            .await?;
        // Every day is built: ranged PRs may use them from now on.
        self.days_pending
            .delete_one(queries::pending_filter(user, exercise_lower))
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
