//! MongoDB behaviour that needs no running server.

use everfit::config::Config;
use everfit::startup::open_store;
use everfit::store::MongoStore;

/// Nothing listens on the discard port of the loopback address.
const UNREACHABLE: &str =
    "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";

#[tokio::test]
async fn an_unreachable_server_is_a_clear_unavailable_error() {
    let err = MongoStore::connect_to(UNREACHABLE, Some("everfit_unreachable"))
        .await
        .expect_err("no server there");
    let text = format!("{err:#}");
    assert!(text.contains("store unavailable"), "{text}");
    assert!(text.contains("127.0.0.1:9"), "{text}");
    assert!(text.contains("everfit_unreachable"), "{text}");
}

#[tokio::test]
async fn mongodb_uri_selects_the_mongodb_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::embedded(dir.path().join("unused.db"));
    config.mongodb_uri = Some(UNREACHABLE.to_string());
    let err = open_store(&config).await.err().expect("MongoDB was tried");
    assert!(format!("{err:#}").contains("MongoDB"), "{err:#}");
    assert!(
        !dir.path().join("unused.db").exists(),
        "SQLite must not be opened when MONGODB_URI is set"
    );
}

#[tokio::test]
async fn a_malformed_uri_is_refused_before_connecting() {
    let err = MongoStore::connect("mongodb://")
        .await
        .expect_err("malformed");
    assert!(format!("{err:#}").contains("not a valid MongoDB connection string"));
}
