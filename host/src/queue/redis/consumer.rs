//! The consumer side: each worker's fetch loop over the consumer group,
//! exposed to apalis as a backend.

use super::stream::parse_entries;
use super::{Delivery, GROUP, RedisJobs, unavailable};
use crate::queue::QueueError;
use crate::queue::jobs::QueueName;
use apalis::prelude::{Backend, Task, TaskBuilder, TaskId, WorkerContext};
use apalis_core::backend::BackendConfig;
use futures::StreamExt;
use futures::stream::BoxStream;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

impl RedisJobs {
    /// The apalis backend of one worker (connects when first polled).
    pub fn backend(&self, queue: QueueName, consumer: String, batch: usize) -> RedisStreamBackend {
        let fetcher = Fetcher {
            jobs: self.clone(),
            conn: None,
            queue,
            key: self.key(queue),
            consumer,
            batch: batch.max(1),
            block: Duration::from_millis(1000),
            buffer: VecDeque::new(),
            next_claim: Instant::now(),
        };
        let stream = futures::stream::unfold(fetcher, |mut f| async move {
            let task = f.next().await;
            Some((Ok(task), f))
        })
        .boxed();
        RedisStreamBackend { stream }
    }
}

/// Pulls deliveries for one consumer: stale deliveries of dead workers
/// first, then new jobs (blocking briefly when there are none).
struct Fetcher {
    jobs: RedisJobs,
    /// Its own connection, because a blocking XREADGROUP would hold up
    /// every command pipelined behind it on a shared one.
    conn: Option<MultiplexedConnection>,
    queue: QueueName,
    key: String,
    consumer: String,
    batch: usize,
    block: Duration,
    buffer: VecDeque<Delivery>,
    /// Stale deliveries are looked for at most once a second, not before
    /// every read: they only appear when a worker died.
    next_claim: Instant,
}

impl Fetcher {
    /// The next delivery; while Redis is unreachable it waits and retries
    /// (rather than ending the worker).
    async fn next(&mut self) -> Task<Delivery> {
        loop {
            if let Some(d) = self.buffer.pop_front() {
                return TaskBuilder::new(d.clone())
                    .task_id(TaskId::from_string(d.id.clone()))
                    .attempt(d.deliveries as usize)
                    .build();
            }
            if let Err(e) = self.fill().await {
                tracing::warn!(queue = self.queue.as_str(), error = %e, "cannot read jobs from redis; retrying in 1 s");
                self.conn = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn fill(&mut self) -> Result<(), QueueError> {
        if self.conn.is_none() {
            self.jobs.ensure_groups().await?;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(self.block + Duration::from_secs(5)));
            let conn = self
                .jobs
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(unavailable)?;
            self.conn = Some(conn);
        }
        if Instant::now() >= self.next_claim {
            self.next_claim = Instant::now() + Duration::from_secs(1);
            self.claim_stale().await.map_err(unavailable)?;
        }
        if self.buffer.is_empty() {
            self.read_new().await.map_err(unavailable)?;
        }
        Ok(())
    }

    fn conn(&mut self) -> &mut MultiplexedConnection {
        self.conn.as_mut().expect("connected before use")
    }

    async fn claim_stale(&mut self) -> Result<(), redis::RedisError> {
        let claimed: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.key)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(self.jobs.settings.claim_after.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(self.batch)
            .query_async(self.conn())
            .await?;
        let Value::Array(parts) = claimed else {
            return Ok(());
        };
        let Some(entries) = parts.get(1) else {
            return Ok(());
        };
        for (id, fields) in parse_entries(entries) {
            let deliveries = self.delivery_count(&id).await?;
            tracing::warn!(queue = self.queue.as_str(), job_id = %id, deliveries, "claimed a job whose worker stopped responding");
            self.buffer.push_back(self.delivery(id, fields, deliveries));
        }
        Ok(())
    }

    async fn delivery_count(&mut self, id: &str) -> Result<u64, redis::RedisError> {
        let pending: Value = redis::cmd("XPENDING")
            .arg(&self.key)
            .arg(GROUP)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(self.conn())
            .await?;
        // [[id, consumer, idle-ms, deliveries]]
        if let Value::Array(rows) = pending
            && let Some(Value::Array(row)) = rows.first()
            && let Some(Value::Int(n)) = row.get(3)
        {
            return Ok(*n as u64);
        }
        Ok(1)
    }

    async fn read_new(&mut self) -> Result<(), redis::RedisError> {
        let read: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.batch)
            .arg("BLOCK")
            .arg(self.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(">")
            .query_async(self.conn())
            .await?;
        // Nil on timeout; else [[key, entries]] (RESP2) or {key: entries} (RESP3).
        let entries = match read {
            Value::Array(streams) => streams.into_iter().find_map(|s| match s {
                Value::Array(mut kv) if kv.len() == 2 => kv.pop(),
                _ => None,
            }),
            Value::Map(kv) => kv.into_iter().next().map(|(_, v)| v),
            _ => None,
        };
        if let Some(entries) = entries {
            for (id, fields) in parse_entries(&entries) {
                self.buffer.push_back(self.delivery(id, fields, 1));
            }
        }
        Ok(())
    }

    fn delivery(&self, id: String, fields: Vec<(String, Vec<u8>)>, deliveries: u64) -> Delivery {
        let payload = fields
            .into_iter()
            .find(|(k, _)| k == "job")
            .map(|(_, v)| v)
            .unwrap_or_default();
        Delivery {
            queue: self.queue,
            id,
            deliveries,
            payload,
        }
    }
}

/// The apalis backend over a consumer's deliveries. Acknowledging is the
/// handler's job (after the work is done), which is what makes a crash
/// mid-job lose nothing.
pub struct RedisStreamBackend {
    stream: BoxStream<'static, Result<Task<Delivery>, QueueError>>,
}

impl Backend for RedisStreamBackend {
    type Task = Task<Delivery>;
    type Error = QueueError;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        self.stream.poll_next_unpin(cx)
    }

    fn poll_close(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

impl BackendConfig for RedisStreamBackend {
    type Args = Delivery;
    type Id = String;
    type Kind = apalis_core::backend::finalize::Ephemeral;
    type Config = ();
    type Layer = tower::layer::util::Identity;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        tower::layer::util::Identity::new()
    }
}
