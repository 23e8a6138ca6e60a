//! The Redis queue: one Redis Stream per queue, read through a consumer
//! group, exposed to apalis workers as a backend.
//!
//! Why not `apalis-redis`: its fetch script fails once about 8,000 jobs wait
//! and its retry limit is fixed. Streams give what a durable queue needs with
//! no scripts: XADD is the durable accept, a delivery stays in the group's
//! pending list until the worker acknowledges it, and a delivery whose worker
//! died is claimed by another worker after `claim_after` (XAUTOCLAIM). A job
//! is deleted from the stream when acknowledged, so the stream's length is
//! the queue's depth. Jobs that keep failing move to `{queue}:dead`.

use super::jobs::{FailedJob, QueueName};
use super::{JobBackend, QueueError};
use apalis::prelude::{Backend, Task, TaskBuilder, TaskId, WorkerContext};
use apalis_core::backend::BackendConfig;
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Value};
use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const GROUP: &str = "workers";

/// Settings of the Redis queue (config flows in as values).
#[derive(Debug, Clone)]
pub struct RedisQueueSettings {
    pub url: String,
    /// Prefix of every key, so several deployments (or test runs) share a server.
    pub key_prefix: String,
    /// A delivery unacknowledged for this long belongs to a dead worker.
    pub claim_after: Duration,
    /// Deliveries before a job is moved to the dead-letter stream.
    pub max_deliveries: u64,
}

/// Pushing, inspecting and acknowledging jobs (shared by API and workers).
#[derive(Clone)]
pub struct RedisJobs {
    client: Client,
    conn: ConnectionManager,
    settings: RedisQueueSettings,
}

/// One job as handed to a worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub queue: QueueName,
    /// The stream entry id (what is acknowledged).
    pub id: String,
    /// How many times the job was delivered, this one included.
    pub deliveries: u64,
    pub payload: Vec<u8>,
}

fn unavailable(e: redis::RedisError) -> QueueError {
    QueueError::Unavailable(format!("redis: {e}"))
}

impl RedisJobs {
    /// Connects lazily: the API starts (and reports the queue down) while
    /// Redis is unreachable, and recovers when it is back.
    pub async fn connect(settings: RedisQueueSettings) -> anyhow::Result<Self> {
        let client = Client::open(settings.url.as_str())
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let jobs = Self {
            client,
            conn,
            settings,
        };
        if let Err(e) = jobs.ensure_groups().await {
            tracing::warn!(error = %e, "redis is not reachable yet; POST /workouts answers 503 until it is");
        }
        Ok(jobs)
    }

    pub fn settings(&self) -> &RedisQueueSettings {
        &self.settings
    }

    fn key(&self, queue: QueueName) -> String {
        format!("{}:{}", self.settings.key_prefix, queue.as_str())
    }

    fn dead_key(&self, queue: QueueName) -> String {
        format!("{}:{}:dead", self.settings.key_prefix, queue.as_str())
    }

    /// Creates the consumer groups (from the stream's start, so jobs pushed
    /// before any worker existed are delivered).
    pub async fn ensure_groups(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        for queue in QueueName::ALL {
            let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(self.key(queue))
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn)
                .await;
            match created {
                Ok(()) => {}
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }

    /// Acknowledges and deletes a finished job, atomically.
    pub async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.finish(&mut pipe, delivery).await
    }

    /// Moves a job to the dead-letter stream, atomically with its removal.
    pub async fn bury(&self, delivery: &Delivery, error: &str) -> Result<(), QueueError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(self.dead_key(delivery.queue))
            .arg("*")
            .arg("job")
            .arg(&delivery.payload)
            .arg("error")
            .arg(error)
            .arg("attempts")
            .arg(delivery.deliveries)
            .arg("source")
            .arg(&delivery.id)
            .ignore();
        self.finish(&mut pipe, delivery).await
    }

    /// Ends `pipe` with the delivery's acknowledgement and deletion, and runs it.
    async fn finish(
        &self,
        pipe: &mut redis::Pipeline,
        delivery: &Delivery,
    ) -> Result<(), QueueError> {
        let key = self.key(delivery.queue);
        pipe.cmd("XACK")
            .arg(&key)
            .arg(GROUP)
            .arg(&delivery.id)
            .ignore()
            .cmd("XDEL")
            .arg(&key)
            .arg(&delivery.id)
            .ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(unavailable)
    }

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

    /// Deletes every key of this prefix (tests clean up their own prefix).
    pub async fn delete_all(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        for queue in QueueName::ALL {
            redis::cmd("DEL")
                .arg(self.key(queue))
                .arg(self.dead_key(queue))
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

#[async_trait]
impl JobBackend for RedisJobs {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn push(&self, queue: QueueName, payload: Vec<u8>) -> Result<String, QueueError> {
        let mut conn = self.conn.clone();
        redis::cmd("XADD")
            .arg(self.key(queue))
            .arg("*")
            .arg("job")
            .arg(payload)
            .query_async::<String>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        redis::cmd("XLEN")
            .arg(self.key(queue))
            .query_async::<u64>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn failed(&self, queue: QueueName) -> Result<Vec<FailedJob>, QueueError> {
        let mut conn = self.conn.clone();
        let entries: Value = redis::cmd("XRANGE")
            .arg(self.dead_key(queue))
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(parse_entries(&entries)
            .into_iter()
            .map(|(id, fields)| FailedJob {
                queue: queue.as_str(),
                id,
                attempts: field_str(&fields, "attempts")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                error: field_str(&fields, "error").unwrap_or_default(),
                payload: field_str(&fields, "job").unwrap_or_default(),
            })
            .collect())
    }

    async fn retry_failed(&self, queue: QueueName, id: Option<&str>) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let (from, to) = id.map_or(("-", "+"), |id| (id, id));
        let entries: Value = redis::cmd("XRANGE")
            .arg(self.dead_key(queue))
            .arg(from)
            .arg(to)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut moved = 0;
        for (dead_id, fields) in parse_entries(&entries) {
            let payload = fields
                .iter()
                .find(|(k, _)| k == "job")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            redis::pipe()
                .atomic()
                .cmd("XADD")
                .arg(self.key(queue))
                .arg("*")
                .arg("job")
                .arg(payload)
                .ignore()
                .cmd("XDEL")
                .arg(self.dead_key(queue))
                .arg(&dead_id)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
            moved += 1;
        }
        Ok(moved)
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
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

/// A stream entry: its id and its fields.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// Stream entries `[[id, [field, value, ...]], ...]` as (id, fields).
/// Entries deleted while pending come back with nil fields and are skipped.
fn parse_entries(value: &Value) -> Vec<StreamEntry> {
    let Value::Array(entries) = value else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let Value::Array(parts) = entry else {
                return None;
            };
            let id = bytes_of(parts.first()?).map(|b| String::from_utf8_lossy(&b).into_owned())?;
            let Value::Array(flat) = parts.get(1)? else {
                return None;
            };
            let fields = flat
                .chunks(2)
                .filter_map(|kv| {
                    let k = bytes_of(kv.first()?)?;
                    let v = bytes_of(kv.get(1)?)?;
                    Some((String::from_utf8_lossy(&k).into_owned(), v))
                })
                .collect();
            Some((id, fields))
        })
        .collect()
}

fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn field_str(fields: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_stream_entries_and_skips_deleted_ones() {
        let v = Value::Array(vec![
            Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![bulk("job"), bulk("{}"), bulk("attempts"), bulk("3")]),
            ]),
            Value::Array(vec![bulk("2-0"), Value::Nil]),
        ]);
        let parsed = parse_entries(&v);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, "1-0");
        assert_eq!(field_str(&parsed[0].1, "attempts").as_deref(), Some("3"));
        assert_eq!(field_str(&parsed[0].1, "job").as_deref(), Some("{}"));
    }

    #[test]
    fn parses_nothing_from_nil() {
        assert!(parse_entries(&Value::Nil).is_empty());
    }
}
