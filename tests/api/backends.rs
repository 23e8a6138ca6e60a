//! The store a test app runs on. A test is written once and listed in its
//! file's `per_store!`, which runs it on SQLite always and on MongoDB when
//! `MONGODB_URI` is set: each app on a database of its own
//! (`everfit_test_...`), dropped when the test ends, also when it fails.
//! The apps and workers a test starts (through `test_config`) all find the
//! test's store here; a test never names it.

use everfit::startup::config::Config;
use everfit::store::WorkoutStore;
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// For each test `name` (an `async fn name()` of the file), a module `name`
/// with a `sqlite` and a `mongodb` test.
macro_rules! per_store {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    crate::backends::on_sqlite(super::$name()).await;
                }

                #[tokio::test]
                async fn mongodb() {
                    crate::backends::on_mongodb(module_path!(), super::$name()).await;
                }
            }
        )*
    };
}

#[derive(Clone)]
struct Backend {
    /// The MongoDB server, or None for SQLite.
    mongodb_uri: Option<String>,
    /// The database of each app's data path (a restarted app finds its data).
    databases: Arc<Mutex<HashMap<PathBuf, String>>>,
}

tokio::task_local! {
    static BACKEND: Backend;
}

/// Runs `test` with its apps on SQLite files (what a test outside
/// `per_store!` gets too).
pub async fn on_sqlite(test: impl Future<Output = ()>) {
    let backend = Backend {
        mongodb_uri: None,
        databases: Default::default(),
    };
    BACKEND.scope(backend, test).await;
}

/// Runs `test` with its apps on MongoDB when `MONGODB_URI` is set (else
/// says SKIPPED, or fails when `MONGODB_REQUIRED=1`), then drops every
/// database it used.
pub async fn on_mongodb(test_name: &str, test: impl Future<Output = ()>) {
    let Some(uri) = crate::mongodb::mongodb_uri("MongoDB HTTP tests", test_name) else {
        return;
    };
    let backend = Backend {
        mongodb_uri: Some(uri.clone()),
        databases: Default::default(),
    };
    let outcome = BACKEND
        .scope(backend.clone(), AssertUnwindSafe(test).catch_unwind())
        .await;
    let names: Vec<String> = backend
        .databases
        .lock()
        .unwrap()
        .values()
        .cloned()
        .collect();
    if !names.is_empty() {
        match mongodb::Client::with_uri_str(&uri).await {
            Ok(client) => {
                for name in names {
                    if let Err(e) = client.database(&name).drop().await {
                        eprintln!("warning: could not drop test database {name}: {e}");
                    }
                }
            }
            Err(e) => eprintln!("warning: could not drop the test databases: {e}"),
        }
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs the test `make` builds on SQLite, then on MongoDB (a property
/// test's case, which `per_store!` cannot split).
pub async fn on_each_store<F, Fut>(test_name: &str, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    on_sqlite(make()).await;
    on_mongodb(test_name, make()).await;
}

/// Points `config` at the running test's store: the SQLite file at its
/// path, or on MongoDB the database that stands for that path.
pub fn apply(config: &mut Config) {
    let Ok(Some(uri)) = BACKEND.try_with(|b| b.mongodb_uri.clone()) else {
        return;
    };
    let name = BACKEND.with(|b| {
        let mut databases = b.databases.lock().unwrap();
        databases
            .entry(config.sqlite_path.clone())
            .or_insert_with(|| {
                format!(
                    "everfit_test_{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..20]
                )
            })
            .clone()
    });
    config.mongodb_uri = Some(with_database(&uri, &name));
}

/// The store of the app whose data path is `db_path`, opened here so a test
/// can compare what the API serves with what is stored.
pub async fn app_store(db_path: &Path) -> Arc<dyn WorkoutStore> {
    everfit::startup::open_store(&crate::helpers::test_config(db_path.to_path_buf()))
        .await
        .expect("the app's store opens")
}

/// Waits until the app's store has prepared its database (MongoDB prepares
/// in the background while the app already answers: `/health` says
/// "starting" meanwhile), and checks the app runs on the test's back end.
/// A liveness bound, not a timing assertion.
pub async fn wait_until_prepared(address: &str) {
    let mongodb = matches!(BACKEND.try_with(|b| b.mongodb_uri.is_some()), Ok(true));
    let expected = if mongodb { "mongodb" } else { "sqlite" };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        let health: serde_json::Value = client
            .get(format!("{address}/health"))
            .send()
            .await
            .expect("health request")
            .json()
            .await
            .expect("health body");
        let store = &health["info"]["store"];
        if store["status"] != "starting" {
            assert_eq!(
                store["backend"], expected,
                "the app runs on another store: {health}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the app's store was still starting after 60 s");
}

/// `uri` with its database (the path) set to `name`. Credentials keep
/// authenticating where they did: without an explicit `authSource` the
/// driver would authenticate against the new database.
pub fn with_database(uri: &str, name: &str) -> String {
    let (scheme, rest) = uri.split_once("://").expect("a mongodb:// URI");
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (hosts, old_db) = match before_query.split_once('/') {
        Some((h, db)) => (h, db),
        None => (before_query, ""),
    };
    let mut options: Vec<String> = query
        .unwrap_or_default()
        .split('&')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    let has_credentials = hosts.contains('@');
    let has_auth_source = options
        .iter()
        .any(|o| o.to_ascii_lowercase().starts_with("authsource="));
    if has_credentials && !has_auth_source {
        let source = if old_db.is_empty() { "admin" } else { old_db };
        options.push(format!("authSource={source}"));
    }
    let mut out = format!("{scheme}://{hosts}/{name}");
    if !options.is_empty() {
        out.push('?');
        out.push_str(&options.join("&"));
    }
    out
}

#[test]
fn a_database_goes_into_the_uri_without_moving_the_credentials() {
    assert_eq!(
        with_database("mongodb://localhost:27017", "t1"),
        "mongodb://localhost:27017/t1"
    );
    assert_eq!(
        with_database("mongodb://mongo:27017/everfit?w=majority", "t1"),
        "mongodb://mongo:27017/t1?w=majority"
    );
    assert_eq!(
        with_database(
            "mongodb://u:p@127.0.0.1:10260/?authMechanism=SCRAM-SHA-256&directConnection=true",
            "t1"
        ),
        "mongodb://u:p@127.0.0.1:10260/t1?authMechanism=SCRAM-SHA-256&directConnection=true&authSource=admin"
    );
    assert_eq!(
        with_database(
            "mongodb://u:p@h/everfit_ci?authMechanism=SCRAM-SHA-256",
            "t1"
        ),
        "mongodb://u:p@h/t1?authMechanism=SCRAM-SHA-256&authSource=everfit_ci"
    );
    assert_eq!(
        with_database("mongodb://u:p@h/x?authSource=users", "t1"),
        "mongodb://u:p@h/t1?authSource=users"
    );
}

/// The test runs on DocumentDB (the MongoDB-compatible server of these
/// machines): MongoDB itself reports its `gitVersion`, DocumentDB does not.
pub async fn on_documentdb() -> bool {
    let Some(uri) = BACKEND.with(|b| b.mongodb_uri.clone()) else {
        return false;
    };
    let client = mongodb::Client::with_uri_str(&uri)
        .await
        .expect("MongoDB client");
    !crate::mongodb::is_mongodb_itself(&client).await
}
