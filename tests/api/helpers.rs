use everfit::startup::Application;
use everfit::startup::config::{Config, QueueKind};
use serde_json::{Value, json};
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const USER: &str = "665f1c2b8a1e4d0012345678";
pub const OTHER_USER: &str = "665f1c2b8a1e4d0087654321";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    _dir: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Starts the app on a fresh SQLite file.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("everfit.db");
    let mut app = spawn_app_at(path).await;
    app._dir = Some(dir);
    app
}

/// Starts the app on an existing (or new) SQLite file, persisting inline.
pub async fn spawn_app_at(db_path: PathBuf) -> TestApp {
    spawn_app_at_with(db_path, |_| {}).await
}

/// Starts the app on a fresh SQLite file with the configuration adjusted.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("everfit.db");
    let mut app = spawn_app_at_with(path, adjust).await;
    app._dir = Some(dir);
    app
}

/// The configuration tests start from: the embedded setup on `db_path`,
/// port 0, persisting inline (queue tests choose their queue).
pub fn test_config(db_path: PathBuf) -> Config {
    let _ = everfit::startup::telemetry::init(
        everfit::startup::config::LogFormat::Pretty,
        "warn",
        None,
    );
    let mut config = Config::embedded(db_path);
    config.port = 0;
    config.queue = QueueKind::Inline;
    crate::backends::apply(&mut config);
    config
}

pub async fn spawn_app_at_with(db_path: PathBuf, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(db_path.clone());
    adjust(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    crate::backends::wait_until_prepared(&address).await;
    TestApp {
        address,
        // The server closes a keep-alive connection idle for its header-read
        // timeout (30 s); a client reusing one at that moment gets no answer
        // (seen once under load). Clients should drop idle connections first.
        client: reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client"),
        db_path,
        _dir: None,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops the server (graceful) and returns the temp dir so the file survives.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
        self._dir.take()
    }

    pub async fn post_workouts(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/workouts", self.address))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path_and_query))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path_and_query: &str) -> (u16, Value) {
        let r = self.get(path_and_query).await;
        let status = r.status().as_u16();
        (status, r.json().await.expect("json body"))
    }

    /// Logs entries and asserts 202; returns the ids.
    pub async fn log(&self, user: &str, entries: Value) -> Vec<String> {
        let r = self
            .post_workouts(&json!({ "userId": user, "entries": entries }))
            .await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        body["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

pub fn entry(exercise: &str, date: &str, sets: Value) -> Value {
    json!({ "exerciseName": exercise, "date": date, "sets": sets })
}

pub fn assert_envelope(body: &Value, status: u16, path: &str) {
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(body["error"].is_string(), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert!(body["details"].is_array(), "{body}");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(body["path"], path, "{body}");
}

/// A one-entry, one-set batch.
pub fn single(exercise: &str, date: &str, reps: u32, weight: u32, unit: &str) -> Value {
    json!([entry(
        exercise,
        date,
        json!([ { "reps": reps, "weight": weight, "unit": unit } ])
    )])
}

/// Every entry id of USER's history, page by page (`query` adds filters).
pub async fn all_pages(app: &TestApp, query: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/workouts/history?userId={USER}&limit={limit}{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = app.get_json(&url).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

/// The entry of plugin `name` in a `GET /insights` answer; panics, showing
/// the answer, when it is not listed.
pub fn listed_plugin<'a>(insights: &'a Value, name: &str) -> &'a Value {
    insights["plugins"]
        .as_array()
        .expect("a plugin list")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {insights}"))
}
