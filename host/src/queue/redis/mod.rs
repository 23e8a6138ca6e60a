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

mod consumer;
mod stream;

pub use consumer::RedisStreamBackend;

use super::edit_numbers::{self, EditNumber};
use super::jobs::{FailedJob, QueueName};
use super::reservations::RESERVATION_SECS;
use super::{JobBackend, QueueError, concerns_user};
use crate::domain::{EntryId, UserId};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Value};
use std::time::Duration;
use stream::{field_str, parse_entries};

pub(super) const GROUP: &str = "workers";

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

/// The producer and admin side: pushing, inspecting, acknowledging and
/// burying jobs (shared by the API, the workers and `everfit jobs`).
#[derive(Clone)]
pub struct RedisJobs {
    pub(super) client: Client,
    conn: ConnectionManager,
    pub(super) settings: RedisQueueSettings,
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

pub(super) fn unavailable(e: redis::RedisError) -> QueueError {
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

    pub(super) fn key(&self, queue: QueueName) -> String {
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

    /// The hold of an idempotency key (the key hashed: it is client text).
    fn key_hold(&self, user: UserId, key: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest: String = Sha256::digest(key.as_bytes())
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{}:idem:{user}:{digest}", self.settings.key_prefix)
    }

    fn edit_key(&self, id: EntryId) -> String {
        format!("{}:edit:{id}", self.settings.key_prefix)
    }

    /// Deletes the entries of `stream` whose payload `concerns` says so.
    async fn purge_stream(
        &self,
        stream: &str,
        queue: QueueName,
        user: UserId,
    ) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let mut purged = 0;
        let mut from = "-".to_string();
        loop {
            let entries: Value = redis::cmd("XRANGE")
                .arg(stream)
                .arg(&from)
                .arg("+")
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            let entries = parse_entries(&entries);
            let Some((last, _)) = entries.last() else {
                return Ok(purged);
            };
            from = format!("({last}");
            let doomed: Vec<&String> = entries
                .iter()
                .filter(|(_, fields)| {
                    fields
                        .iter()
                        .find(|(k, _)| k == "job")
                        .is_some_and(|(_, v)| concerns_user(queue, v, user))
                })
                .map(|(id, _)| id)
                .collect();
            if !doomed.is_empty() {
                purged += redis::cmd("XDEL")
                    .arg(stream)
                    .arg(&doomed)
                    .query_async::<u64>(&mut conn)
                    .await
                    .map_err(unavailable)?;
            }
        }
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

    async fn number_edit(
        &self,
        id: EntryId,
        stored: i64,
        if_match: Option<i64>,
        delete: bool,
    ) -> Result<EditNumber, QueueError> {
        let mut conn = self.conn.clone();
        let answer: Vec<Value> = NUMBER_EDIT
            .key(self.edit_key(id))
            .arg(stored)
            .arg(if_match.map(|v| v.to_string()).unwrap_or_default())
            .arg(if delete { "1" } else { "0" })
            .arg(edit_numbers::RETAIN_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let number = |v: Option<&Value>| match v {
            Some(Value::Int(n)) => Ok(*n),
            other => Err(QueueError::Internal(anyhow::anyhow!(
                "redis: unexpected edit number {other:?}"
            ))),
        };
        match answer.first() {
            Some(Value::BulkString(kind)) if kind == b"next" => {
                Ok(EditNumber::Next(number(answer.get(1))?))
            }
            Some(Value::BulkString(kind)) if kind == b"conflict" => Ok(EditNumber::Conflict {
                current: number(answer.get(1))?,
            }),
            Some(Value::BulkString(kind)) if kind == b"deleted" => Ok(EditNumber::Deleted),
            other => Err(QueueError::Internal(anyhow::anyhow!(
                "redis: unexpected edit number reply {other:?}"
            ))),
        }
    }

    async fn hold_key(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Option<String>, QueueError> {
        let mut conn = self.conn.clone();
        let held: Option<String> = HOLD_KEY
            .key(self.key_hold(user, key))
            .arg(hash)
            .arg(RESERVATION_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(held)
    }

    async fn free_key(&self, user: UserId, key: &str, hash: &str) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        FREE_KEY
            .key(self.key_hold(user, key))
            .arg(hash)
            .invoke_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn purge_user(&self, queue: QueueName, user: UserId) -> Result<u64, QueueError> {
        // A delivered, unacknowledged job loses its payload here; its worker
        // finishes with what it read, and the store drops what it would
        // write for an erased client.
        Ok(self.purge_stream(&self.key(queue), queue, user).await?
            + self
                .purge_stream(&self.dead_key(queue), queue, user)
                .await?)
    }
}

/// Holds a key for a hash unless held: returns the hash held before (nil if
/// none), atomically.
static HOLD_KEY: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
",
    )
});

/// Frees a key only if held for this hash.
static FREE_KEY: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
",
    )
});

/// `edit_numbers::next_number`, atomically in Redis. The key holds the last
/// number given, prefixed with `d` when it was a delete.
static NUMBER_EDIT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local last = redis.call('GET', KEYS[1])
local current = tonumber(ARGV[1])
if last then
  local deleted, given = string.match(last, '^(d?)(%d+)$')
  if deleted == 'd' then return {'deleted'} end
  if tonumber(given) > current then current = tonumber(given) end
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= current then return {'conflict', current} end
local next = current + 1
local mark = ''
if ARGV[3] == '1' then mark = 'd' end
redis.call('SET', KEYS[1], mark .. next, 'EX', ARGV[4])
return {'next', next}
",
    )
});
