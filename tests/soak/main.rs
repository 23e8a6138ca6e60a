//! Long soaks, outside the default `cargo test`:
//!
//! ```sh
//! cargo test --test soak        # CI runs it after the main suite
//! ```

#[path = "../api/backends.rs"]
#[allow(dead_code, unused_macros)]
mod backends;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../support/mongodb.rs"]
#[allow(dead_code)]
mod mongodb;
#[path = "../api/queue_support.rs"]
#[allow(dead_code)]
mod queue_support;

use everfit::domain::{EntryId, Unit, UserId, WorkoutEntry, WorkoutSet};
use everfit::queue::{JobBackend, QueueName, WriteBatch};
use helpers::*;
use queue_support::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_50k_job_redis_backlog_drains() {
    const JOBS: usize = 50_000;
    let prefix = redis_prefix();
    let jobs = redis_jobs(&prefix).await;
    let user: UserId = USER.parse().unwrap();
    // Pipelined pushes: the backlog exists before any worker starts.
    let client = redis::Client::open(redis_url()).unwrap();
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

pub fn one_entry_batch(user: UserId, i: usize) -> WriteBatch {
    let now = chrono::Utc::now();
    let entry = WorkoutEntry {
        id: EntryId::generate(),
        user_id: user,
        exercise_name: "Deadlift".into(),
        exercise_name_lower: "deadlift".into(),
        // One entry every 6 minutes: 240 a day over 208 days. A PR job
        // recomputes its entry's day from that day's entries and the
        // exercise's all-time row from every day summary, so its cost grows
        // with both; one-minute spacing (1,440 a day) made this a test of
        // one pathological day rather than of the queue (see "Known cost"
        // in docs/architecture.md).
        date: now - chrono::Duration::minutes(6 * i as i64),
        sets: vec![WorkoutSet::new(
            1 + (i % 5) as u32,
            100.0 + (i % 40) as f64,
            Unit::KG,
        )],
        idempotency_key: None,
        created_at: now,
        updated_at: now,
        version: everfit::domain::workout::FIRST_VERSION,
    };
    WriteBatch {
        entries: vec![entry],
        request_id: None,
    }
}
