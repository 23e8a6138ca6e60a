//! The durable write path: the embedded (SQLite) queue and Redis, with
//! workers in the server, alone, killed mid-job, and two at once.

use crate::helpers::*;
use everfit::config::{Config, QueueKind};
use everfit::domain::{EntryId, Unit, UserId, WorkoutEntry, WorkoutSet};
use everfit::queue::redis::{RedisJobs, RedisQueueSettings};
use everfit::queue::{JobBackend, QueueName, WriteBatch};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const REDIS: &str = "redis://127.0.0.1:6379";

/// A key prefix of its own, so test runs never collide.
fn redis_prefix() -> String {
    format!("everfit-test-{}", uuid::Uuid::new_v4().simple())
}

fn use_redis(config: &mut Config, prefix: &str) {
    config.queue = QueueKind::Redis;
    config.redis_url = Some(REDIS.into());
    config.redis_key_prefix = prefix.into();
    config.claim_after = Duration::from_secs(1);
}

/// The API on the Redis queue with no workers: jobs wait until a test starts one.
async fn spawn_redis_api_only(prefix: &str) -> TestApp {
    spawn_app_with(|c| {
        use_redis(c, prefix);
        c.embedded_workers = false;
    })
    .await
}

async fn redis_jobs(prefix: &str) -> RedisJobs {
    RedisJobs::connect(RedisQueueSettings {
        url: REDIS.into(),
        key_prefix: prefix.into(),
        claim_after: Duration::from_secs(1),
        max_deliveries: 3,
    })
    .await
    .expect("redis settings")
}

/// Polls `check` until it holds; a liveness bound, not a timing assertion.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
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
fn spawn_worker(
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

fn batch_of(n: usize, day: u32) -> Value {
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

async fn stored_ids(app: &TestApp) -> Vec<String> {
    all_pages(app, "", 100).await
}

fn assert_each_once(stored: &[String], accepted: &HashSet<String>) {
    let distinct: HashSet<String> = stored.iter().cloned().collect();
    assert_eq!(distinct.len(), stored.len(), "an entry is stored twice");
    assert_eq!(
        &distinct, accepted,
        "stored entries differ from the accepted ones"
    );
}

/// The read model, once the PR queue drained, equals the live computation.
async fn assert_read_model_matches_live(app: &TestApp) {
    let url = format!("/workouts/prs?userId={USER}&exercise=bench%20press");
    eventually("the PR read model", Duration::from_secs(60), || async {
        app.get(&url).await.headers()["x-pr-source"] == "read-model"
    })
    .await;
    let (_, live) = app.get_json(&format!("{url}&from=2000-01-01")).await;
    eventually(
        "the read model to catch up",
        Duration::from_secs(60),
        || async {
            let (_, model) = app.get_json(&url).await;
            ["heaviestSet", "highestVolumeSet", "bestOneRepMax"]
                .iter()
                .all(|k| model["current"][k] == live["current"][k])
        },
    )
    .await;
}

async fn accepts_then_persists(app: &TestApp) {
    let mut accepted = HashSet::new();
    for day in 0..4 {
        accepted.extend(app.log(USER, batch_of(25, day)).await);
    }
    eventually(
        "accepted entries in history",
        Duration::from_secs(60),
        || async { stored_ids(app).await.len() == accepted.len() },
    )
    .await;
    assert_each_once(&stored_ids(app).await, &accepted);
    assert_read_model_matches_live(app).await;
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["status"], "up", "{health}");
}

#[tokio::test]
async fn embedded_queue_accepts_then_persists_and_refreshes_prs() {
    let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
    accepts_then_persists(&app).await;
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["kind"], "sqlite", "{health}");
    app.stop().await;
}

#[tokio::test]
async fn redis_queue_accepts_then_persists_and_refreshes_prs() {
    let prefix = redis_prefix();
    let app = spawn_app_with(|c| use_redis(c, &prefix)).await;
    accepts_then_persists(&app).await;
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["kind"], "redis", "{health}");
    eventually("the queues to drain", Duration::from_secs(30), || async {
        app.get_json("/health").await.1["info"]["queue"]["depth"] == 0
    })
    .await;
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

#[tokio::test]
async fn redis_down_answers_503_and_accepts_nothing() {
    // Nothing listens on port 1: the same as a stopped Redis.
    let app = spawn_app_with(|c| {
        use_redis(c, "unused");
        c.redis_url = Some("redis://127.0.0.1:1".into());
    })
    .await;
    let r = app
        .post_workouts(&json!({ "userId": USER, "entries": batch_of(3, 1) }))
        .await;
    assert_eq!(r.status().as_u16(), 503);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 503, "/workouts");
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["status"], "down", "{health}");
    assert!(stored_ids(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_redis_worker_killed_mid_job_loses_nothing() {
    let prefix = redis_prefix();
    let app = spawn_redis_api_only(&prefix).await;
    let mut accepted = HashSet::new();
    for day in 0..3 {
        accepted.extend(app.log(USER, batch_of(10, day)).await);
    }
    // A worker takes every job and dies before acknowledging any.
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}:persist");
    let taken: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("crashed-worker")
        .arg("COUNT")
        .arg(100)
        .arg("STREAMS")
        .arg(&key)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        !matches!(taken, redis::Value::Nil),
        "the dying worker took the jobs"
    );
    assert!(stored_ids(&app).await.is_empty());

    let mut config = test_config(app.db_path.clone());
    use_redis(&mut config, &prefix);
    let (stop, worker) = spawn_worker(config);
    eventually(
        "redelivered jobs to be stored",
        Duration::from_secs(60),
        || async { stored_ids(&app).await.len() >= accepted.len() },
    )
    .await;
    assert_each_once(&stored_ids(&app).await, &accepted);
    let _ = stop.send(());
    worker.await.unwrap().unwrap();
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

#[tokio::test]
async fn an_embedded_queue_worker_killed_mid_job_loses_nothing() {
    let app = spawn_app_with(|c| {
        c.queue = QueueKind::Sqlite;
        c.embedded_workers = false;
    })
    .await;
    let mut accepted = HashSet::new();
    for day in 0..5 {
        accepted.extend(app.log(USER, batch_of(20, day)).await);
    }
    let mut config = test_config(app.db_path.clone());
    config.queue = QueueKind::Sqlite;
    // The first worker is killed (its task aborted) while it works.
    let (_stop, doomed) = spawn_worker(config.clone());
    tokio::time::sleep(Duration::from_millis(150)).await;
    doomed.abort();
    let _ = doomed.await;
    let (stop, worker) = spawn_worker(config);
    eventually("every accepted entry", Duration::from_secs(90), || async {
        stored_ids(&app).await.len() >= accepted.len()
    })
    .await;
    assert_each_once(&stored_ids(&app).await, &accepted);
    let _ = stop.send(());
    worker.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn two_workers_on_one_redis_queue_store_each_entry_once() {
    let prefix = redis_prefix();
    let app = spawn_redis_api_only(&prefix).await;
    let mut accepted = HashSet::new();
    for day in 0..50 {
        accepted.extend(app.log(USER, batch_of(100, day)).await);
    }
    assert_eq!(accepted.len(), 5_000);
    let mut config = test_config(app.db_path.clone());
    use_redis(&mut config, &prefix);
    let workers: Vec<_> = (0..2).map(|_| spawn_worker(config.clone())).collect();
    eventually("5,000 entries", Duration::from_secs(180), || async {
        stored_ids(&app).await.len() >= accepted.len()
    })
    .await;
    assert_each_once(&stored_ids(&app).await, &accepted);
    assert_read_model_matches_live(&app).await;
    for (stop, handle) in workers {
        let _ = stop.send(());
        handle.await.unwrap().unwrap();
    }
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

fn one_entry_batch(user: UserId, i: usize) -> WriteBatch {
    let now = chrono::Utc::now();
    let entry = WorkoutEntry {
        id: EntryId::generate(),
        user_id: user,
        exercise_name: "Deadlift".into(),
        exercise_name_lower: "deadlift".into(),
        date: now - chrono::Duration::minutes(i as i64),
        sets: vec![WorkoutSet::new(
            1 + (i % 5) as u32,
            100.0 + (i % 40) as f64,
            Unit::KG,
        )],
        idempotency_key: None,
        created_at: now,
        updated_at: now,
    };
    WriteBatch {
        entries: vec![entry],
        request_id: None,
    }
}

#[tokio::test]
async fn a_50k_job_redis_backlog_drains() {
    const JOBS: usize = 50_000;
    let prefix = redis_prefix();
    let jobs = redis_jobs(&prefix).await;
    let user: UserId = USER.parse().unwrap();
    // Pipelined pushes: the backlog exists before any worker starts.
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for chunk in (0..JOBS).collect::<Vec<_>>().chunks(2_000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            pipe.cmd("XADD")
                .arg(format!("{prefix}:persist"))
                .arg("*")
                .arg("job")
                .arg(serde_json::to_vec(&one_entry_batch(user, i)).unwrap())
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await.unwrap();
    }
    assert_eq!(jobs.depth(QueueName::Persist).await.unwrap(), JOBS as u64);

    let app = spawn_app_with(|c| {
        use_redis(c, &prefix);
        c.worker_concurrency = 8;
    })
    .await;
    let started = Instant::now();
    eventually(
        "the 50,000-job backlog to drain",
        Duration::from_secs(900),
        || async {
            jobs.depth(QueueName::Persist).await.unwrap() == 0
                && jobs.depth(QueueName::Prs).await.unwrap() == 0
        },
    )
    .await;
    eprintln!(
        "50,000 one-entry jobs drained in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(stored_ids(&app).await.len(), JOBS);
    assert!(jobs.failed(QueueName::Persist).await.unwrap().is_empty());
    app.stop().await;
    jobs.delete_all().await.unwrap();
}

/// A poison job pushed before a good batch: the good batch is stored, the
/// poison job is listed as failed with its error and payload, and replayed it
/// fails again and comes back to the list (nothing is lost).
async fn poison_is_listed_and_replayable(app: &TestApp, jobs: &dyn JobBackend) {
    let accepted: HashSet<String> = app.log(USER, batch_of(3, 1)).await.into_iter().collect();
    eventually("the good batch", Duration::from_secs(30), || async {
        stored_ids(app).await.len() == accepted.len()
    })
    .await;
    eventually(
        "the poison job in the failed list",
        Duration::from_secs(30),
        || async { jobs.failed(QueueName::Persist).await.unwrap().len() == 1 },
    )
    .await;
    let dead = jobs.failed(QueueName::Persist).await.unwrap();
    assert!(dead[0].error.contains("undecodable"), "{:?}", dead[0]);
    assert_eq!(dead[0].payload, "not a batch");
    let replayed = jobs
        .retry_failed(QueueName::Persist, Some(&dead[0].id))
        .await;
    assert_eq!(replayed.unwrap(), 1);
    eventually(
        "the replayed job to fail again",
        Duration::from_secs(30),
        || async {
            jobs.failed(QueueName::Persist).await.unwrap().len() == 1
                && jobs.depth(QueueName::Persist).await.unwrap() == 0
        },
    )
    .await;
}

#[tokio::test]
async fn poison_jobs_go_to_the_redis_dead_letter_list_and_can_be_replayed() {
    let prefix = redis_prefix();
    let jobs = redis_jobs(&prefix).await;
    jobs.ensure_groups().await.unwrap();
    jobs.push(QueueName::Persist, b"not a batch".to_vec())
        .await
        .unwrap();
    let app = spawn_app_with(|c| use_redis(c, &prefix)).await;
    poison_is_listed_and_replayable(&app, &jobs).await;
    app.stop().await;
    jobs.delete_all().await.unwrap();
}

#[tokio::test]
async fn poison_jobs_on_the_embedded_queue_are_listed_and_can_be_replayed() {
    use everfit::queue::sqlite::{SqliteJobs, queue_path};
    let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
    let jobs = SqliteJobs::open(&queue_path(&app.db_path)).await.unwrap();
    jobs.push(QueueName::Persist, b"not a batch".to_vec())
        .await
        .unwrap();
    poison_is_listed_and_replayable(&app, &jobs).await;
    app.stop().await;
}
