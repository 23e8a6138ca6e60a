//! What the queue tests (and the soak tests) share: Redis prefixes, workers
//! in this process, batches, and the checks of what was stored.

use crate::helpers::*;
use everfit::domain::dates::TimeRange;
use everfit::domain::records::NativePrCalculator;
use everfit::queue::redis::{RedisJobs, RedisQueueSettings};
use everfit::startup::config::{Config, QueueKind};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The Redis the tests use: `REDIS_URL`, else the local one.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

/// A key prefix of its own, so test runs never collide.
pub fn redis_prefix() -> String {
    format!("everfit-test-{}", uuid::Uuid::new_v4().simple())
}

pub fn use_redis(config: &mut Config, prefix: &str) {
    config.queue = QueueKind::Redis;
    config.redis_url = Some(redis_url());
    config.redis_key_prefix = prefix.into();
    config.claim_after = Duration::from_secs(1);
}

/// The API on the Redis queue with no workers: jobs wait until a test starts one.
pub async fn spawn_redis_api_only(prefix: &str) -> TestApp {
    spawn_app_with(|c| {
        use_redis(c, prefix);
        c.embedded_workers = false;
    })
    .await
}

pub async fn redis_jobs(prefix: &str) -> RedisJobs {
    RedisJobs::connect(RedisQueueSettings {
        url: redis_url(),
        key_prefix: prefix.into(),
        claim_after: Duration::from_secs(1),
        max_deliveries: 3,
    })
    .await
    .expect("redis settings")
}

/// Polls `check` until it holds; a liveness bound, not a timing assertion.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `everfit worker` in this process; abort the handle to kill it.
pub fn spawn_worker(
    config: Config,
) -> (
    tokio::sync::oneshot::Sender<()>,
    JoinHandle<anyhow::Result<()>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(everfit::startup::run_worker_process(config, async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

pub fn batch_of(n: usize, day: u32) -> Value {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            entry(
                "Bench Press",
                &format!("2026-05-{:02}", day % 28 + 1),
                json!([ { "reps": 1 + i % 10, "weight": 40 + i % 50, "unit": if i % 3 == 0 { "lb" } else { "kg" } } ]),
            )
        })
        .collect();
    json!(entries)
}

pub async fn stored_ids(app: &TestApp) -> Vec<String> {
    all_pages(app, "", 100).await
}

pub fn assert_each_once(stored: &[String], accepted: &HashSet<String>) {
    let distinct: HashSet<String> = stored.iter().cloned().collect();
    assert_eq!(distinct.len(), stored.len(), "an entry is stored twice");
    assert_eq!(
        &distinct, accepted,
        "stored entries differ from the accepted ones"
    );
}

/// Waits until both queues are empty (as `/health` reports them).
pub async fn wait_for_drain(app: &TestApp) {
    eventually("the queues to drain", Duration::from_secs(120), || async {
        app.get_json("/health").await.1["info"]["queue"]["depth"] == 0
    })
    .await;
}

/// Once the queues drained, the all-time PRs the API serves (from the read
/// model) equal a live computation over the stored entries, made here on
/// the store itself.
pub async fn assert_read_model_matches_live(app: &TestApp, exercise: &str) {
    wait_for_drain(app).await;
    let r = app
        .get(&format!(
            "/workouts/prs?userId={USER}&exercise={}",
            exercise.replace(' ', "%20")
        ))
        .await;
    assert_eq!(r.headers()["x-pr-source"], "read-model");
    let served: Value = r.json().await.unwrap();
    let store = crate::backends::app_store(&app.db_path).await;
    let live = everfit::prs::live::records(
        store.as_ref(),
        &NativePrCalculator,
        USER.parse().unwrap(),
        exercise,
        TimeRange::ALL_TIME,
    )
    .await
    .unwrap();
    let live_ids = [
        &live.heaviest_set,
        &live.highest_volume_set,
        &live.best_one_rep_max,
    ]
    .map(|s| s.as_ref().expect("sets were stored").entry_id.clone());
    let served_ids = ["heaviestSet", "highestVolumeSet", "bestOneRepMax"].map(|k| {
        served["current"][k]["entryId"]
            .as_str()
            .unwrap_or("")
            .to_string()
    });
    assert_eq!(served_ids, live_ids, "{served}");
    let stored = store
        .read_personal_records(USER.parse().unwrap(), exercise)
        .await
        .unwrap()
        .expect("read model row");
    assert_eq!(stored.records, live);
}

/// A TCP proxy to Redis that a test can cut and restore, to stand for an
/// outage of a server that comes back.
pub struct RedisProxy {
    pub url: String,
    up: tokio::sync::watch::Sender<bool>,
    open: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RedisProxy {
    pub async fn start() -> Self {
        let target = redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let (up, watch) = tokio::sync::watch::channel(true);
        let open = Arc::new(AtomicUsize::new(0));
        let relays = open.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    break;
                };
                if !*watch.borrow() {
                    continue; // dropped: refused, in effect
                }
                let target = target.clone();
                let mut cut = watch.clone();
                let relays = relays.clone();
                relays.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let relay = tokio::io::copy_bidirectional(&mut client, &mut server);
                        tokio::select! {
                            _ = relay => {}
                            _ = cut.wait_for(|up| !*up) => {}
                        }
                    }
                    relays.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            url,
            up,
            open,
            task,
        }
    }

    /// Cuts every connection (waiting until they are closed) and refuses
    /// new ones until [`restore`](Self::restore).
    pub async fn cut(&self) {
        self.up.send_replace(false);
        while self.open.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        // Dropping `up` ends every relay too (their `wait_for` fails).
        self.task.abort();
    }
}

/// How many jobs wait on the persist queue of `prefix` (straight from Redis).
pub async fn persist_depth(prefix: &str) -> u64 {
    use everfit::queue::{JobBackend, QueueName};
    redis_jobs(prefix)
        .await
        .depth(QueueName::Persist)
        .await
        .unwrap()
}
