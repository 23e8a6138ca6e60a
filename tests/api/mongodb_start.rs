//! `serve` on MongoDB: the port opens at once and the database is prepared
//! in the background; a preparation that fails stops the server with its
//! error instead of leaving it answering 503 for ever. Needs a server: runs
//! when `MONGODB_URI` is set.

use crate::helpers::test_config;
use everfit::startup::Application;

#[tokio::test]
async fn a_failed_preparation_stops_the_server_with_its_error() {
    crate::backends::on_mongodb(module_path!(), async {
        let dir = tempfile::tempdir().unwrap();
        let config = test_config(dir.path().join("everfit.db"));
        let uri = config.mongodb_uri.clone().expect("a MongoDB test app");
        // An index of the store's name with other keys: createIndexes refuses it.
        let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
        let workouts = client
            .default_database()
            .expect("the test database is in the URI")
            .collection::<bson::Document>("workouts");
        workouts
            .create_index(
                mongodb::IndexModel::builder()
                    .keys(bson::doc! { "userId": 1 })
                    .options(
                        mongodb::options::IndexOptions::builder()
                            .name("user_date_id".to_string())
                            .build(),
                    )
                    .build(),
            )
            .await
            .unwrap();
        let app = Application::build(config).await.expect("the port opens");
        let stopped = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            app.run_until_stopped(std::future::pending()),
        )
        .await
        .expect("the server stops by itself");
        let err = format!("{:#}", stopped.expect_err("preparation failed"));
        assert!(err.contains("preparing the store"), "{err}");
        assert!(err.contains("workouts"), "{err}");
    })
    .await;
}
