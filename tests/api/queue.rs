//! The durable write path: the embedded (SQLite) queue and Redis, with
//! workers in the server, alone, killed mid-job, and two at once.

use crate::helpers::*;
use crate::queue_support::*;
use everfit::queue::sqlite::{SqliteJobs, queue_path};
use everfit::queue::{JobBackend, QueueName};
use everfit::startup::config::QueueKind;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

per_store!(
    embedded_queue_accepts_then_persists_and_refreshes_prs,
    redis_queue_accepts_then_persists_and_refreshes_prs,
    redis_down_answers_503_and_accepts_nothing,
    a_redis_worker_killed_mid_job_loses_nothing,
    an_embedded_queue_worker_killed_mid_job_loses_nothing,
    two_workers_on_one_redis_queue_store_each_entry_once,
    poison_jobs_go_to_the_redis_dead_letter_list_and_can_be_replayed,
    poison_jobs_on_the_embedded_queue_are_listed_and_can_be_replayed,
);

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
    assert_read_model_matches_live(app, "bench press").await;
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["status"], "up", "{health}");
}

async fn embedded_queue_accepts_then_persists_and_refreshes_prs() {
    let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
    accepts_then_persists(&app).await;
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["kind"], "sqlite", "{health}");
    app.stop().await;
}

async fn redis_queue_accepts_then_persists_and_refreshes_prs() {
    let prefix = redis_prefix();
    let app = spawn_app_with(|c| use_redis(c, &prefix)).await;
    accepts_then_persists(&app).await;
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["kind"], "redis", "{health}");
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

async fn redis_down_answers_503_and_accepts_nothing() {
    let prefix = redis_prefix();
    let proxy = RedisProxy::start().await;
    let app = spawn_app_with(|c| {
        use_redis(c, &prefix);
        c.redis_url = Some(proxy.url.clone());
    })
    .await;
    proxy.cut().await;
    let refused = app
        .post_workouts(&json!({ "userId": USER, "entries": batch_of(3, 1) }))
        .await;
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: Value = refused.json().await.unwrap();
    assert_envelope(&body, 503, "/workouts");
    assert_eq!(body["code"], "queue_unavailable", "{body}");
    let (_, health) = app.get_json("/health").await;
    assert_eq!(health["info"]["queue"]["status"], "down", "{health}");

    // Redis is back: a new batch goes through, and the refused one never
    // appears (it was not queued behind the 503).
    proxy.restore();
    let accepted: HashSet<String> = app.log(USER, batch_of(2, 2)).await.into_iter().collect();
    eventually("the accepted batch", Duration::from_secs(60), || async {
        stored_ids(&app).await.len() >= accepted.len()
    })
    .await;
    wait_for_drain(&app).await;
    assert_each_once(&stored_ids(&app).await, &accepted);
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

async fn a_redis_worker_killed_mid_job_loses_nothing() {
    let prefix = redis_prefix();
    let app = spawn_redis_api_only(&prefix).await;
    let mut accepted = HashSet::new();
    for day in 0..3 {
        accepted.extend(app.log(USER, batch_of(10, day)).await);
    }
    // A worker takes every job and dies before acknowledging any.
    let client = redis::Client::open(redis_url()).unwrap();
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

/// Jobs of the embedded queue locked by a worker that is running them.
async fn running_jobs(queue_file: &Path) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", queue_file.display()))
        .await
        .unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM Jobs WHERE status = 'Running'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

async fn an_embedded_queue_worker_killed_mid_job_loses_nothing() {
    let app = spawn_app_with(|c| {
        c.queue = QueueKind::Sqlite;
        c.embedded_workers = false;
    })
    .await;
    let mut accepted = HashSet::new();
    for day in 0..40 {
        accepted.extend(app.log(USER, batch_of(50, day)).await);
    }
    let queue_file = queue_path(&app.db_path);
    let mut config = test_config(app.db_path.clone());
    config.queue = QueueKind::Sqlite;
    // The first worker is killed (its task aborted) while it holds jobs.
    let (_stop, doomed) = spawn_worker(config.clone());
    eventually(
        "the worker to take jobs",
        Duration::from_secs(60),
        || async { running_jobs(&queue_file).await > 0 },
    )
    .await;
    doomed.abort();
    let _ = doomed.await;
    assert!(
        running_jobs(&queue_file).await > 0,
        "the worker finished its jobs before it was killed: nothing was tested"
    );
    assert!(stored_ids(&app).await.len() < accepted.len());
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

async fn two_workers_on_one_redis_queue_store_each_entry_once() {
    // DocumentDB's PostgreSQL backend dies of a segfault in this test (in
    // two runs of three here, with one worker as with two), inside its own
    // insert code, and every test then running on it fails. The crash is
    // the server's; MongoDB 7 in the GitHub workflow runs this test.
    if crate::backends::on_documentdb().await {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED on DocumentDB (its engine crashes in this test): two_workers_on_one_redis_queue_store_each_entry_once"
        );
        return;
    }
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
    assert_read_model_matches_live(&app, "bench press").await;
    for (stop, handle) in workers {
        let _ = stop.send(());
        handle.await.unwrap().unwrap();
    }
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

/// A poison job pushed before a good batch: a worker stores the good batch
/// and lists the poison job as failed with its error and payload. Replayed
/// (with no worker running) it is back on the queue and off the failed list;
/// a worker then fails it again and it comes back to the list: nothing is lost.
async fn poison_is_listed_and_replayable(
    app: &TestApp,
    jobs: &dyn JobBackend,
    worker_config: everfit::startup::config::Config,
) {
    let accepted: HashSet<String> = app.log(USER, batch_of(3, 1)).await.into_iter().collect();
    let (stop, worker) = spawn_worker(worker_config.clone());
    eventually("the good batch", Duration::from_secs(30), || async {
        stored_ids(app).await.len() == accepted.len()
    })
    .await;
    // The good batch's entries show before its job is done (acknowledged,
    // or retried after a slow store): wait for both, then stop the worker.
    eventually(
        "the poison job in the failed list and no job left to run",
        Duration::from_secs(30),
        || async {
            jobs.failed(QueueName::Persist).await.unwrap().len() == 1
                && jobs.depth(QueueName::Persist).await.unwrap() == 0
        },
    )
    .await;
    let _ = stop.send(());
    worker.await.unwrap().unwrap();
    let dead = jobs.failed(QueueName::Persist).await.unwrap();
    assert!(dead[0].error.contains("undecodable"), "{:?}", dead[0]);
    assert_eq!(dead[0].payload, "not a batch");
    assert_eq!(jobs.depth(QueueName::Persist).await.unwrap(), 0);

    let replayed = jobs
        .retry_failed(QueueName::Persist, Some(&dead[0].id))
        .await;
    assert_eq!(replayed.unwrap(), 1);
    assert!(jobs.failed(QueueName::Persist).await.unwrap().is_empty());
    assert_eq!(jobs.depth(QueueName::Persist).await.unwrap(), 1);

    let (stop, worker) = spawn_worker(worker_config);
    eventually(
        "the replayed job to fail again",
        Duration::from_secs(30),
        || async {
            jobs.failed(QueueName::Persist).await.unwrap().len() == 1
                && jobs.depth(QueueName::Persist).await.unwrap() == 0
        },
    )
    .await;
    let _ = stop.send(());
    worker.await.unwrap().unwrap();
    assert_each_once(&stored_ids(app).await, &accepted);
}

async fn poison_jobs_go_to_the_redis_dead_letter_list_and_can_be_replayed() {
    let prefix = redis_prefix();
    let jobs = redis_jobs(&prefix).await;
    jobs.ensure_groups().await.unwrap();
    jobs.push(QueueName::Persist, b"not a batch".to_vec())
        .await
        .unwrap();
    let app = spawn_redis_api_only(&prefix).await;
    let mut config = test_config(app.db_path.clone());
    use_redis(&mut config, &prefix);
    poison_is_listed_and_replayable(&app, &jobs, config).await;
    app.stop().await;
    jobs.delete_all().await.unwrap();
}

async fn poison_jobs_on_the_embedded_queue_are_listed_and_can_be_replayed() {
    let app = spawn_app_with(|c| {
        c.queue = QueueKind::Sqlite;
        c.embedded_workers = false;
    })
    .await;
    let jobs = SqliteJobs::open(&queue_path(&app.db_path)).await.unwrap();
    jobs.push(QueueName::Persist, b"not a batch".to_vec())
        .await
        .unwrap();
    let mut config = test_config(app.db_path.clone());
    config.queue = QueueKind::Sqlite;
    poison_is_listed_and_replayable(&app, &jobs, config).await;
    app.stop().await;
}

/// 20 pairs of submits racing with the same idempotency key and different
/// content: each pair gets one 202 and one 409 (decided at accept, before
/// anything is stored), and what is stored is the accepted one.
async fn racing_keys_are_decided_at_accept(app: &TestApp) {
    let body = |key: &str, kg: u32| {
        json!({ "userId": USER, "entries": [ { "exerciseName": "Squat", "date": "2026-06-01",
            "idempotencyKey": key, "sets": [ { "reps": 5, "weight": kg, "unit": "kg" } ] } ] })
    };
    let mut winners = Vec::new();
    for i in 0..20 {
        let key = format!("race-{i}");
        let (a, b) = (body(&key, 100), body(&key, 200));
        let (ra, rb) = tokio::join!(app.post_workouts(&a), app.post_workouts(&b));
        let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
        let winner = if statuses[0] == 202 { 100 } else { 200 };
        let loser: Value = if statuses[0] == 202 {
            rb.json().await.unwrap()
        } else {
            ra.json().await.unwrap()
        };
        statuses.sort();
        assert_eq!(statuses, [202, 409], "pair {i}: {loser}");
        assert_eq!(loser["code"], "idempotency_key_conflict", "{loser}");
        winners.push(winner);
        // A retry of the winner is the same request: 202 again.
        let retry = app.post_workouts(&body(&key, winner)).await;
        assert_eq!(retry.status(), 202);
    }
    eventually("the 20 winners", Duration::from_secs(60), || async {
        stored_ids(app).await.len() == 20
    })
    .await;
    let (_, page) = app
        .get_json(&format!("/workouts/history?userId={USER}&limit=100"))
        .await;
    let mut stored: Vec<(String, f64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["idempotencyKey"].as_str().unwrap().to_string(),
                e["sets"][0]["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    stored.sort_by_key(|(k, _)| k[5..].parse::<u32>().unwrap());
    let expected: Vec<(String, f64)> = winners
        .iter()
        .enumerate()
        .map(|(i, w)| (format!("race-{i}"), f64::from(*w)))
        .collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn racing_keys_inline() {
    let app = spawn_app().await;
    racing_keys_are_decided_at_accept(&app).await;
}

#[tokio::test]
async fn racing_keys_on_the_embedded_queue() {
    let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
    racing_keys_are_decided_at_accept(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn racing_keys_on_redis() {
    let prefix = redis_prefix();
    let app = spawn_app_with(|c| use_redis(c, &prefix)).await;
    racing_keys_are_decided_at_accept(&app).await;
    app.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

#[tokio::test]
async fn racing_keys_across_two_api_instances_on_redis() {
    // No worker runs: nothing is stored, so only the holds at the queue can
    // tell the instances' submits apart.
    let prefix = redis_prefix();
    let a = spawn_redis_api_only(&prefix).await;
    let b = spawn_app_at_with(a.db_path.clone(), |c| {
        use_redis(c, &prefix);
        c.embedded_workers = false;
    })
    .await;
    for i in 0..10 {
        let body = |kg: u32| {
            json!({ "userId": USER, "entries": [ { "exerciseName": "Squat", "date": "2026-06-01",
                "idempotencyKey": format!("across-{i}"), "sets": [ { "reps": 5, "weight": kg, "unit": "kg" } ] } ] })
        };
        let (one, two) = (body(100), body(200));
        let (ra, rb) = tokio::join!(a.post_workouts(&one), b.post_workouts(&two));
        let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [202, 409], "pair {i}");
    }
    assert_eq!(persist_depth(&prefix).await, 10);
    b.stop().await;
    a.stop().await;
    redis_jobs(&prefix).await.delete_all().await.unwrap();
}

#[tokio::test]
async fn a_backed_up_queue_refuses_writes_until_it_drains() {
    let app = spawn_app_with(|c| {
        c.queue = QueueKind::Sqlite;
        c.embedded_workers = false;
        c.depth_limits.persist = 3;
    })
    .await;
    let mut accepted = HashSet::new();
    for day in 0..3 {
        accepted.extend(app.log(USER, batch_of(2, day)).await);
    }
    // Depths are read at most every 250 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = app
        .post_workouts(&json!({ "userId": USER, "entries": batch_of(2, 9) }))
        .await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "10");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "queue_backlogged", "{body}");
    let (status, health) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["info"]["queue"]["status"], "degraded", "{health}");

    let mut config = test_config(app.db_path.clone());
    config.queue = QueueKind::Sqlite;
    let (stop, worker) = spawn_worker(config);
    wait_for_drain(&app).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    accepted.extend(app.log(USER, batch_of(2, 9)).await);
    eventually("the last batch", Duration::from_secs(60), || async {
        stored_ids(&app).await.len() == accepted.len()
    })
    .await;
    // Exactly what was accepted: the refused batch left nothing behind.
    assert_each_once(&stored_ids(&app).await, &accepted);
    let _ = stop.send(());
    worker.await.unwrap().unwrap();
    app.stop().await;
}
