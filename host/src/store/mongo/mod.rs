//! The production store: MongoDB through the official driver.
//!
//! Documents and queries are built by the pure modules `documents` and
//! `queries`; this module only sends them and maps the driver's errors.

pub mod documents;
pub mod queries;

use super::{HistoryQuery, StoreError, StoredRecords, WorkoutStore};
use crate::domain::dates::TimeRange;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::prs::PrCalculator;
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::Utc;
use everfit_pr::PersonalRecords;
use futures::TryStreamExt;
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
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

#[derive(Clone, Debug)]
pub struct MongoStore {
    client: Client,
    db: Database,
    workouts: Collection<Document>,
    records: Collection<Document>,
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
            client,
            db,
        };
        store
            .create_indexes()
            .await
            .with_context(|| format!("preparing MongoDB database {name:?} at {hosts}"))?;
        tracing::info!(%hosts, database = %name, "using the MongoDB store");
        Ok(store)
    }

    /// Creates the indexes of [`queries::indexes`] (a no-op when they exist).
    async fn create_indexes(&self) -> Result<(), StoreError> {
        for spec in queries::indexes() {
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

    async fn insert_entries(&self, entries: &[WorkoutEntry]) -> Result<u64, StoreError> {
        if entries.is_empty() {
            return Ok(0);
        }
        let docs: Vec<Document> = entries.iter().map(documents::entry_to_document).collect();
        // Unordered: every document is tried; the ones already stored (same
        // _id, or same user + idempotencyKey) fail with E11000 and are skipped.
        match self.workouts.insert_many(docs).ordered(false).await {
            Ok(result) => Ok(result.inserted_ids.len() as u64),
            Err(e) => match e.kind.as_ref() {
                ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                    let errors = failure.write_errors.as_deref().unwrap_or_default();
                    if let Some(other) = errors.iter().find(|w| w.code != DUPLICATE_KEY) {
                        return Err(StoreError::Internal(anyhow!(
                            "MongoDB insert failed: {} (code {})",
                            other.message,
                            other.code
                        )));
                    }
                    Ok((entries.len() - errors.len()) as u64)
                }
                _ => Err(store_error(e)),
            },
        }
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

    async fn live_personal_records(
        &self,
        user: UserId,
        exercise_lower: &str,
        range: TimeRange,
        _calculator: &dyn PrCalculator,
    ) -> Result<PersonalRecords, StoreError> {
        // Computed by the server in one $facet aggregation: only the three
        // winning sets cross the network, whatever the number of entries.
        let mut cursor = self
            .workouts
            .aggregate(queries::live_records_pipeline(user, exercise_lower, range))
            .await
            .map_err(store_error)?;
        match cursor.try_next().await.map_err(store_error)? {
            Some(d) => documents::records_from_document(&d).map_err(corrupt),
            None => Ok(PersonalRecords::default()),
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
        let result = self
            .records
            .update_one(filter, update)
            .upsert(expected_version.is_none())
            .await;
        match result {
            Ok(r) => Ok(r.matched_count == 1 || r.upserted_id.is_some()),
            // Another writer created the row between our read and this upsert.
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
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
}
