//! The workers: apalis workers on the two queues, supervised by a monitor
//! that restarts a worker whose back end failed and drains in-flight jobs on
//! shutdown.

use super::jobs::{QueueName, SettlePrsJob, WriteJob};
use super::redis::{Delivery, RedisJobs};
use super::retry::Backoff;
use super::sqlite::SqliteJobs;
use super::{JobBackend, Persister, push_settle};
use apalis::prelude::{
    BackendExt, BoxDynError, Data, Monitor, Strategy, TaskId, WorkerBuilder, WorkerBuilderExt,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// What a job handler needs.
#[derive(Clone)]
pub struct WorkerDeps {
    pub persister: Persister,
    /// Where follow-up jobs (PR settlements) go.
    pub jobs: Arc<dyn JobBackend>,
    pub backoff: Backoff,
}

impl WorkerDeps {
    /// Applies a write, then queues one PR settlement per user it touched.
    pub async fn handle_write(&self, job: &WriteJob, job_id: &str) -> anyhow::Result<()> {
        let applied = self
            .backoff
            .run("applying a write", || self.persister.apply(job))
            .await?;
        let request_id = match job {
            WriteJob::Insert(batch) => batch.request_id.clone(),
            WriteJob::Edit(edit) => edit.request_id().map(str::to_string),
        };
        for (user_id, changes) in &applied.changes {
            let settle = SettlePrsJob {
                user_id: *user_id,
                changes: changes.clone(),
                entry_ids: Vec::new(),
                request_id: request_id.clone(),
            };
            let settle_id = self
                .backoff
                .run("queueing a PR settlement", || {
                    push_settle(self.jobs.as_ref(), &settle)
                })
                .await?;
            tracing::debug!(job_id, settle_id, "PR settlement queued");
        }
        tracing::info!(
            job_id,
            request_id = request_id.as_deref().unwrap_or("-"),
            entries = applied.entries,
            "write applied"
        );
        Ok(())
    }

    pub async fn handle_settle(&self, job: &SettlePrsJob, job_id: &str) -> anyhow::Result<()> {
        self.backoff
            .run("settling PRs", || self.persister.settle(job))
            .await?;
        tracing::info!(
            job_id,
            request_id = job.request_id.as_deref().unwrap_or("-"),
            user_id = %job.user_id,
            changes = job.changes.len() + job.entry_ids.len(),
            "PRs settled"
        );
        Ok(())
    }

    /// Runs one job, counting it (`queue_jobs_total{queue, outcome}`) and
    /// timing it (`queue_job_duration_seconds{queue}`).
    async fn handle_payload(
        &self,
        queue: QueueName,
        payload: &[u8],
        job_id: &str,
    ) -> Result<(), JobFailure> {
        let started = std::time::Instant::now();
        // A span per job (exported as a consumer span when traces are on);
        // its request_id field ties it to the request that queued it.
        let span = tracing::info_span!(
            "job",
            "otel.name" = format!("job {}", queue.as_str()),
            "otel.kind" = "consumer",
            "otel.status_code" = tracing::field::Empty,
            queue = queue.as_str(),
            job_id,
        );
        let result = self
            .run_payload(queue, payload, job_id)
            .instrument(span.clone())
            .await;
        if result.is_err() {
            span.record("otel.status_code", "ERROR");
        }
        let outcome = match &result {
            Ok(()) => "done",
            Err(JobFailure::Poison(_)) => "poison",
            Err(JobFailure::Failed(_)) => "failed",
        };
        metrics::counter!("queue_jobs_total", "queue" => queue.as_str(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("queue_job_duration_seconds", "queue" => queue.as_str())
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn run_payload(
        &self,
        queue: QueueName,
        payload: &[u8],
        job_id: &str,
    ) -> Result<(), JobFailure> {
        match queue {
            QueueName::Persist => {
                let job = WriteJob::decode(payload).map_err(JobFailure::poison)?;
                self.handle_write(&job, job_id)
                    .await
                    .map_err(JobFailure::Failed)
            }
            QueueName::Prs => {
                let job: SettlePrsJob =
                    serde_json::from_slice(payload).map_err(JobFailure::poison)?;
                self.handle_settle(&job, job_id)
                    .await
                    .map_err(JobFailure::Failed)
            }
        }
    }
}

enum JobFailure {
    /// The payload cannot be decoded: retrying cannot help.
    Poison(String),
    Failed(anyhow::Error),
}

impl JobFailure {
    fn poison(e: serde_json::Error) -> Self {
        JobFailure::Poison(format!("undecodable job: {e}"))
    }
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobFailure::Poison(e) => f.write_str(e),
            JobFailure::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

/// Where the workers take jobs from.
#[derive(Clone)]
pub enum WorkerSource {
    Sqlite(SqliteJobs),
    Redis(Box<RedisJobs>),
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at once per queue.
    pub concurrency: usize,
    /// How often an idle embedded-queue worker looks for jobs pushed by
    /// other processes (pushes from its own process wake it at once).
    pub poll_interval: Duration,
    /// How long shutdown waits for in-flight jobs.
    pub drain_timeout: Duration,
    /// The queues this process works (both by default), so persist and PR
    /// workers can scale apart.
    pub queues: Vec<QueueName>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval: Duration::from_millis(50),
            drain_timeout: Duration::from_secs(30),
            queues: QueueName::ALL.to_vec(),
        }
    }
}

/// A name unique to this process, so a restarted worker is never refused
/// as a duplicate of its previous life.
fn worker_name(queue: QueueName) -> String {
    format!(
        "everfit-{}-{}-{:08x}",
        queue.as_str(),
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Embedded-queue jobs reach the handler as raw bytes and are decoded here:
/// apalis decodes while polling, and a payload that fails there stops the
/// worker (and every job behind it) instead of failing one job.
#[derive(Debug, Clone, Copy)]
pub struct RawBytes;

impl apalis::prelude::Codec<Vec<u8>> for RawBytes {
    type Error = std::convert::Infallible;
    type Compact = Vec<u8>;

    fn encode(&self, val: &Vec<u8>) -> Result<Vec<u8>, Self::Error> {
        Ok(val.clone())
    }

    fn decode(&self, val: &Vec<u8>) -> Result<Vec<u8>, Self::Error> {
        Ok(val.clone())
    }
}

#[derive(Clone)]
struct SqliteHandler {
    deps: WorkerDeps,
    queue: QueueName,
}

/// A failure ends the job as failed (the dead-letter list, `jobs failed`).
async fn sqlite_job(
    payload: Vec<u8>,
    id: TaskId,
    h: Data<SqliteHandler>,
) -> Result<(), BoxDynError> {
    let job_id = id.to_string();
    h.deps
        .handle_payload(h.queue, &payload, &job_id)
        .await
        .map_err(|failure| {
            let error = failure.to_string();
            tracing::error!(
                job_id,
                queue = h.queue.as_str(),
                error,
                "job failed; see `everfit jobs failed`"
            );
            error.into()
        })
}

#[derive(Clone)]
struct RedisHandler {
    deps: WorkerDeps,
    redis: RedisJobs,
}

/// Acknowledge on success; bury poison at once and failures once their
/// deliveries are spent; otherwise leave the job pending so that it is
/// delivered again after `claim_after` (the queue-level backoff).
async fn redis_delivery(d: Delivery, h: Data<RedisHandler>) -> Result<(), BoxDynError> {
    let max = h.redis.settings().max_deliveries;
    match h.deps.handle_payload(d.queue, &d.payload, &d.id).await {
        Ok(()) => h.redis.ack(&d).await.map_err(Into::into),
        Err(JobFailure::Poison(error)) => {
            tracing::error!(
                job_id = d.id,
                queue = d.queue.as_str(),
                error,
                "job moved to the dead-letter list"
            );
            h.redis.bury(&d, &error).await.map_err(Into::into)
        }
        Err(JobFailure::Failed(e)) if d.deliveries >= max => {
            let error = format!("{e:#}");
            tracing::error!(
                job_id = d.id,
                queue = d.queue.as_str(),
                deliveries = d.deliveries,
                error,
                "job failed for good; moved to the dead-letter list"
            );
            h.redis.bury(&d, &error).await.map_err(Into::into)
        }
        Err(JobFailure::Failed(e)) => {
            tracing::warn!(job_id = d.id, queue = d.queue.as_str(), deliveries = d.deliveries, error = %format!("{e:#}"), "job failed; it will be delivered again");
            Err(e.into())
        }
    }
}

/// Runs the persist and PR workers until `shutdown` completes, then lets
/// in-flight jobs finish (up to the drain timeout).
pub async fn run_workers(
    source: WorkerSource,
    deps: WorkerDeps,
    settings: WorkerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let n = settings.concurrency.max(1);
    let pruner = match &source {
        WorkerSource::Sqlite(jobs) => Some(jobs.clone()),
        WorkerSource::Redis(_) => None,
    };
    let monitor = Monitor::new()
        .should_restart(|worker, error| {
            tracing::warn!(worker = worker.name(), %error, "worker stopped; restarting it");
            true
        })
        .shutdown_timeout(settings.drain_timeout);
    let monitor = match source {
        WorkerSource::Sqlite(jobs) => {
            let poll = settings.poll_interval;
            let mut monitor = monitor;
            for queue in settings.queues.iter().copied() {
                let jobs = jobs.clone();
                let h = SqliteHandler {
                    deps: deps.clone(),
                    queue,
                };
                monitor = monitor.register(move |_| {
                    WorkerBuilder::new(worker_name(queue))
                        .backend(
                            jobs.storage::<Vec<u8>>(queue, n)
                                .with_codec(RawBytes)
                                .poll_with_strategy(
                                    Strategy::new().stream(jobs.pushes(queue)).interval(poll),
                                ),
                        )
                        .data(h.clone())
                        .concurrency(n)
                        .build(sqlite_job)
                });
            }
            monitor
        }
        WorkerSource::Redis(redis) => {
            let handler = RedisHandler {
                deps,
                redis: *redis,
            };
            let mut monitor = monitor;
            for queue in settings.queues.iter().copied() {
                let h = handler.clone();
                monitor = monitor.register(move |_| {
                    let name = worker_name(queue);
                    WorkerBuilder::new(name.clone())
                        .backend(h.redis.backend(queue, name, n))
                        .data(h.clone())
                        .concurrency(n)
                        .build(redis_delivery)
                });
            }
            monitor
        }
    };
    let queues: Vec<&str> = settings.queues.iter().map(|q| q.as_str()).collect();
    tracing::info!(concurrency = n, ?queues, "workers started");
    let pruner = pruner.map(|jobs| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                match jobs.prune_done(Duration::from_secs(3600)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(jobs = n, "pruned finished jobs"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune finished jobs"),
                }
            }
        })
    });
    let ran = monitor
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("workers draining in-flight jobs");
            Ok(())
        })
        .await;
    if let Some(pruner) = pruner {
        pruner.abort();
    }
    ran?;
    tracing::info!("workers stopped");
    Ok(())
}
