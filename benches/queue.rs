//! Queue throughput and latency, on the embedded queue and on Redis:
//! accepted entries/s at POST, persisted entries/s through the workers
//! (batches of 1 and of 100 entries), and the time from 202 to visible.
//!
//! `cargo bench --bench queue` (Redis at REDIS_URL or 127.0.0.1:6379; its
//! rows are skipped, and say so, when Redis is not reachable).

use everfit::startup::config::{Config, QueueKind};
use everfit::startup::{Application, run_worker_process};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USER: &str = "665f1c2b8a1e4d0012345678";
const CLIENTS: usize = 8;

fn config(db: &Path, queue: QueueKind, redis_prefix: &str, workers: bool) -> Config {
    let mut c = Config::embedded(db.to_path_buf());
    c.port = 0;
    c.queue = queue;
    c.embedded_workers = workers;
    if queue == QueueKind::Redis {
        c.redis_url =
            Some(std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()));
        c.redis_key_prefix = redis_prefix.into();
    }
    c
}

struct Running {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: Config) -> Running {
    let app = Application::build(config).await.expect("app builds");
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    Running { base, stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn batch(n: usize, seq: usize) -> Value {
    let entries: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "exerciseName": "Bench Press",
                "date": format!("2026-05-{:02}T10:00:00Z", (seq + i) % 28 + 1),
                "sets": [ { "reps": 1 + (seq + i) % 10, "weight": 40 + (seq + i) % 60, "unit": "kg" } ]
            })
        })
        .collect();
    json!({ "userId": USER, "entries": entries })
}

async fn depth(client: &reqwest::Client, base: &str) -> u64 {
    let health: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["info"]["queue"]["depth"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// POSTs `posts` batches of `size` from CLIENTS concurrent clients with no
/// worker running; returns accepted entries/s.
async fn accept_rate(base: &str, posts: usize, size: usize) -> f64 {
    let client = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, next, base) = (client.clone(), next.clone(), base.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let seq = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seq >= posts {
                    break;
                }
                let r = client
                    .post(format!("{base}/workouts"))
                    .json(&batch(size, seq))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (posts * size) as f64 / started.elapsed().as_secs_f64()
}

/// Starts a worker on the backlog and returns persisted entries/s (until
/// both queues are empty: entries stored and PRs refreshed).
async fn drain_rate(base: &str, worker_config: Config, entries: usize) -> f64 {
    let client = reqwest::Client::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let worker = tokio::spawn(run_worker_process(worker_config, async move {
        let _ = stopped.await;
    }));
    while depth(&client, base).await != 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = entries as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = worker.await;
    rate
}

/// Sequential one-entry POSTs, each polled until readable: 202 -> visible.
async fn visible_latency(base: &str, samples: usize) -> (f64, f64) {
    let client = reqwest::Client::new();
    let mut times = Vec::with_capacity(samples);
    for seq in 0..samples {
        let r: Value = client
            .post(format!("{base}/workouts"))
            .json(&batch(1, seq))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let accepted = Instant::now();
        let id = r["ids"][0].as_str().unwrap().to_string();
        loop {
            let s = client
                .get(format!("{base}/workouts/{id}?userId={USER}"))
                .send()
                .await
                .unwrap()
                .status();
            if s.as_u16() == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(accepted.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (pick(0.50), pick(0.99))
}

async fn redis_reachable() -> bool {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection()
        )
        .await,
        Ok(Ok(_))
    )
}

async fn run(queue: QueueKind) {
    let name = queue.as_str();
    for (size, posts) in [(1usize, 3_000usize), (100, 100)] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("everfit.db");
        let prefix = format!("everfit-bench-{}", uuid::Uuid::new_v4().simple());
        let api = start(config(&db, queue, &prefix, false)).await;
        let accepted = accept_rate(&api.base, posts, size).await;
        let persisted =
            drain_rate(&api.base, config(&db, queue, &prefix, false), posts * size).await;
        api.stop().await;
        println!(
            "{name:>6} | batch {size:>3} | accepted {accepted:>8.0} entries/s | persisted {persisted:>8.0} entries/s"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("everfit.db");
    let prefix = format!("everfit-bench-{}", uuid::Uuid::new_v4().simple());
    let app = start(config(&db, queue, &prefix, true)).await;
    let (p50, p99) = visible_latency(&app.base, 300).await;
    app.stop().await;
    println!(
        "{name:>6} | 202 -> visible in history: p50 {p50:.1} ms, p99 {p99:.1} ms (300 samples)"
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters by back end.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        println!(
            "queue | batch | accepted at POST ({CLIENTS} clients) | persisted by one worker process"
        );
        if wanted("sqlite") {
            run(QueueKind::Sqlite).await;
        }
        if wanted("redis") {
            if redis_reachable().await {
                run(QueueKind::Redis).await;
            } else {
                println!(" redis | SKIPPED: Redis is not reachable at REDIS_URL / 127.0.0.1:6379");
            }
        }
    });
}
