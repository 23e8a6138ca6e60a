//! The back ends the suite runs on.

use everfit::store::{MongoStore, SqliteStore, WorkoutStore};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::panic::AssertUnwindSafe;

pub struct SqliteBackend {
    pub store: SqliteStore,
    _dir: tempfile::TempDir,
}

/// A fresh SQLite file in a temp folder (removed on drop).
pub async fn sqlite() -> SqliteBackend {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .expect("SQLite store opens");
    SqliteBackend { store, _dir: dir }
}

/// Runs `behaviour` on a fresh MongoDB database when `MONGODB_URI` is set,
/// and drops the database afterwards, also when the behaviour panics.
pub async fn on_mongodb<F>(test: &str, behaviour: F)
where
    F: for<'a> FnOnce(&'a dyn WorkoutStore) -> BoxFuture<'a, ()>,
{
    on_mongo_store(test, |store| behaviour(store)).await;
}

/// Like [`on_mongodb`], with the `MongoStore` itself (for MongoDB-only tests
/// that need its database).
pub async fn on_mongo_store<F>(test: &str, behaviour: F)
where
    F: for<'a> FnOnce(&'a MongoStore) -> BoxFuture<'a, ()>,
{
    let Some(uri) = crate::mongodb::mongodb_uri("MongoDB store suite", test) else {
        return;
    };
    // Database names are at most 63 bytes; this one is unique per test run.
    let name = format!(
        "everfit_test_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    );
    let store = MongoStore::connect_to(&uri, Some(&name))
        .await
        .unwrap_or_else(|e| panic!("MONGODB_URI is set but MongoDB is not usable: {e:#}"));
    let outcome = AssertUnwindSafe(behaviour(&store)).catch_unwind().await;
    if let Err(e) = store.drop_database().await {
        eprintln!("warning: could not drop test database {name}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
