//! Making a database ready before the store serves from it: the indexes,
//! then the one-time data migrations. Each step is logged when it starts
//! and ends, and every few seconds while it runs, and has a time limit. Until
//! the last step is done the store answers `Unavailable` and
//! [`WorkoutStore::preparing`](crate::store::WorkoutStore::preparing) says
//! which step it is in (`/health` shows it as "starting").
//!
//! Only processes that serve or write need this (`serve`, `worker`, `seed`,
//! `prs rebuild`); read-only commands open the store without it.

use super::errors;
use super::{MongoStore, chunks, queries};
use crate::store::StoreError;
use bson::Document;
use chrono::Utc;
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;
use std::future::Future;
use std::sync::RwLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// One collection's index build (all its indexes in one `createIndexes`:
/// one scan of the collection). Index builds continue on the server when
/// this gives up, and the next start joins them.
pub const INDEX_BUILD_LIMIT: Duration = Duration::from_secs(600);
/// The one-time `$group` -> `$merge` over `workouts` (as `maxTimeMS`).
pub const MIGRATION_LIMIT: Duration = Duration::from_secs(600);
/// How often a running step says it still runs.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Where the store is in its preparation: `None` once ready.
#[derive(Debug, Default)]
pub struct Stage(RwLock<Option<String>>);

impl Stage {
    pub fn preparing(what: &str) -> Self {
        Self(RwLock::new(Some(what.to_string())))
    }

    pub fn set(&self, what: Option<String>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = what;
    }

    pub fn current(&self) -> Option<String> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Awaits `work`, logging every [`PROGRESS_EVERY`] that it still runs, and
/// gives up after `limit`.
async fn logged<T>(
    what: &str,
    limit: Duration,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    tracing::info!("MongoDB: {what}");
    let mut work = std::pin::pin!(tokio::time::timeout(limit, work));
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = ticks.tick() => tracing::info!(
                elapsed_s = started.elapsed().as_secs(),
                "MongoDB: still {what}"
            ),
        }
    };
    let value = result
        .map_err(|_| errors::timed_out(what, limit))?
        .map_err(|e| during(what, e))?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "MongoDB: done {what}"
    );
    Ok(value)
}

/// `e`, saying which step it stopped.
fn during(what: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(message) => StoreError::Unavailable(format!("{what}: {message}")),
        StoreError::Internal(e) => StoreError::Internal(e.context(what.to_string())),
    }
}

fn index_model(spec: &queries::IndexSpec) -> IndexModel {
    let mut options = IndexOptions::builder().name(spec.name.to_string()).build();
    if spec.unique {
        options.unique = Some(true);
    }
    options.partial_filter_expression = spec.partial_filter.clone();
    IndexModel::builder()
        .keys(spec.keys.clone())
        .options(options)
        .build()
}

impl MongoStore {
    /// Creates the indexes (a no-op when they exist) and runs the one-time
    /// migrations, then marks the store ready.
    pub async fn prepare(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let groups = queries::indexes_by_collection(
            queries::indexes()
                .into_iter()
                .chain(super::changes::indexes())
                .chain(super::chunks::indexes())
                .chain(super::keys::indexes()),
        );
        for (i, (collection, specs)) in groups.iter().enumerate() {
            let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
            let what = format!(
                "creating indexes on {collection} ({}/{}: {})",
                i + 1,
                groups.len(),
                names.join(", ")
            );
            self.stage.set(Some(what.clone()));
            let models: Vec<IndexModel> = specs.iter().map(index_model).collect();
            let coll = self.db.collection::<Document>(collection);
            // Idempotent: transient failures are retried like any operation.
            logged(
                &what,
                INDEX_BUILD_LIMIT,
                errors::RETRY.run(&what, None, || coll.create_indexes(models.clone())),
            )
            .await?;
        }
        self.migrate(
            queries::DAY_BESTS_PENDING_MIGRATION,
            "marking the stored (user, exercise) keys pending",
            queries::pending_backfill_pipeline(),
        )
        .await?;
        self.migrate(
            chunks::INSIGHT_CHUNKS_MIGRATION,
            "giving the spans of the stored entries their insight chunks",
            chunks::backfill_pipeline(),
        )
        .await?;
        self.chunks_ready.store(true, Ordering::Relaxed);
        self.stage.set(None);
        tracing::info!(
            database = %self.db.name(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "MongoDB database ready"
        );
        Ok(())
    }

    /// Whether the one-time migration `name` has run on this database.
    pub(super) async fn migrated(&self, name: &str) -> Result<bool, StoreError> {
        let migrations = self.db.collection::<Document>(queries::MIGRATIONS);
        let limit = self.operation_limit;
        let done = errors::RETRY
            .run("reading migrations", Some(limit), || {
                migrations
                    .find_one(queries::migration_filter(name))
                    .max_time(limit)
            })
            .await?;
        Ok(done.is_some())
    }

    /// Runs a one-time migration, a `$merge` over `workouts`, once per
    /// database (recorded in `migrations`):
    /// - day bests: marks every (user, exercise) stored so far as pending,
    ///   so ranged PRs for entries written before day bests existed are
    ///   computed live until `everfit prs rebuild` builds their days, like
    ///   SQLite's migration 0002. Keys first stored afterwards are never
    ///   marked: their days are folded from their first entry on.
    /// - insight chunks: gives every (user, span) stored so far its chunk
    ///   document, like SQLite's migration 0008 (writes create the
    ///   documents of the spans they touch from then on).
    ///
    /// A fresh database changes nothing. The migration is recorded only
    /// after the `$merge` finished; if two instances start at once, or one
    /// dies half-way, the `$merge` runs again, which is safe (it keeps
    /// existing documents; a key marked pending in between is served live,
    /// still correct, until the next rebuild).
    async fn migrate(
        &self,
        name: &str,
        doing: &str,
        pipeline: Vec<Document>,
    ) -> Result<(), StoreError> {
        if self.migrated(name).await? {
            return Ok(());
        }
        let migrations = self.db.collection::<Document>(queries::MIGRATIONS);
        let limit = self.operation_limit;
        let what = format!("one-time migration {name}: {doing}");
        self.stage.set(Some(what.clone()));
        let workouts = &self.workouts;
        // Idempotent (`$merge` keeps existing marks): retried like any operation.
        let marking = errors::RETRY.run(&what, None, || async {
            // `$merge` writes while the cursor opens; there are no results.
            let mut cursor = workouts
                .aggregate(pipeline.clone())
                .max_time(MIGRATION_LIMIT)
                .await?;
            while cursor.try_next().await?.is_some() {}
            Ok(())
        });
        logged(&what, MIGRATION_LIMIT, marking).await?;
        errors::RETRY
            .run("recording a migration", Some(limit), || async {
                match migrations
                    .insert_one(queries::migration_document(name, Utc::now()))
                    .await
                {
                    Err(e) if errors::classify(&e) == errors::Failure::DuplicateKey => Ok(()),
                    other => other.map(|_| ()),
                }
            })
            .await
    }
}
