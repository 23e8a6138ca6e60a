//! What a MongoDB error means to the store, and the retry policy that
//! follows from it. Pure except for the retry loop's sleeps.
//!
//! - a duplicate key (E11000) is an answer: the document is already there
//!   (an idempotent insert's success, a lost upsert race);
//! - a write conflict (112) means the write did not happen because another
//!   writer got there first: a compare-and-swap treats it as a lost race
//!   and re-reads; any other operation tries again. MongoDB retries it
//!   inside the server for single-document writes; DocumentDB returns it
//!   ("deadlock detected") from concurrent upserts on one unique key;
//! - transient conditions (network, a primary stepping down, an
//!   unsatisfied write concern) are retried briefly, then are `Unavailable`;
//! - running out of time (server selection, `maxTimeMS`, our own operation
//!   limit) is `Unavailable` at once for a read: the time is spent, a retry
//!   would only make the caller wait longer. A write out of time may still
//!   land, so the store decides where it sends it: a compare-and-swap
//!   counts it as a lost race and re-reads, an insert is sent again (both
//!   are safe to repeat);
//! - anything else is a bug or bad data: `Internal`.

use crate::store::StoreError;
use anyhow::anyhow;
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use std::future::IntoFuture;
use std::time::Duration;

pub const DUPLICATE_KEY: i32 = 11000;
pub const WRITE_CONFLICT: i32 = 112;
const MAX_TIME_MS_EXPIRED: i32 = 50;

/// Server codes a later attempt may not see again: a node unreachable or
/// shutting down, a primary changing, a read preference not satisfiable yet.
const TRANSIENT_CODES: &[i32] = &[
    6, 7, 89, 91, 133, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Write-concern codes that a retry cannot fix (the write concern itself is
/// wrong for this deployment); every other write-concern error is transient.
const BAD_WRITE_CONCERN_CODES: &[i32] = &[79, 100];

/// What an error means for the operation that got it, from the mildest to
/// the most serious (an `insert_many` failure is its most serious part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    DuplicateKey,
    WriteConflict,
    Transient,
    TimedOut,
    Permanent,
}

impl Failure {
    /// Whether the same operation may succeed if sent again.
    pub fn is_retryable(self) -> bool {
        matches!(self, Failure::WriteConflict | Failure::Transient)
    }
}

fn code_failure(code: i32) -> Failure {
    match code {
        DUPLICATE_KEY => Failure::DuplicateKey,
        WRITE_CONFLICT => Failure::WriteConflict,
        MAX_TIME_MS_EXPIRED => Failure::TimedOut,
        c if TRANSIENT_CODES.contains(&c) => Failure::Transient,
        _ => Failure::Permanent,
    }
}

fn write_concern_failure(code: i32) -> Failure {
    if BAD_WRITE_CONCERN_CODES.contains(&code) {
        Failure::Permanent
    } else {
        // The write may be applied but not yet durable: send it again
        // (every write of the store is idempotent or compare-and-swap).
        Failure::Transient
    }
}

/// Classifies one driver error. An `insert_many` failure carries one error
/// per refused document and maybe a write-concern error: it is as bad as its
/// worst part, so a batch of duplicates only is `DuplicateKey`.
pub fn classify(e: &MongoError) -> Failure {
    if e.contains_label("RetryableWriteError") || e.contains_label("TransientTransactionError") {
        return Failure::Transient;
    }
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. } => Failure::TimedOut,
        ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => Failure::Transient,
        ErrorKind::Command(c) => code_failure(c.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => code_failure(w.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(wc)) => write_concern_failure(wc.code),
        ErrorKind::InsertMany(failure) => {
            let worst_write = failure
                .write_errors
                .iter()
                .flatten()
                .map(|w| code_failure(w.code))
                .max();
            let concern = failure
                .write_concern_error
                .as_ref()
                .map(|wc| write_concern_failure(wc.code));
            worst_write
                .into_iter()
                .chain(concern)
                .max()
                .unwrap_or(Failure::Permanent)
        }
        _ => Failure::Permanent,
    }
}

/// True when the error is only a duplicate key (E11000): the document is
/// already there, which for an idempotent write is success.
pub fn is_duplicate_key(e: &MongoError) -> bool {
    classify(e) == Failure::DuplicateKey
}

/// The store error for a failure that is not handled where it happened.
pub fn store_error(e: MongoError) -> StoreError {
    let failure = classify(&e);
    failure_to_store_error(failure, e)
}

fn failure_to_store_error(failure: Failure, e: MongoError) -> StoreError {
    // The kind says it all; the error's own text appends the server's whole
    // reply as hex.
    let text = e.kind.to_string();
    match failure {
        Failure::Transient | Failure::WriteConflict | Failure::TimedOut => {
            StoreError::Unavailable(format!("MongoDB: {text}"))
        }
        Failure::DuplicateKey | Failure::Permanent => {
            StoreError::Internal(anyhow!(text).context("MongoDB operation failed"))
        }
    }
}

/// The store error when an operation ran past its time limit.
pub fn timed_out(what: &str, limit: Duration) -> StoreError {
    StoreError::Unavailable(format!(
        "MongoDB: {what} did not finish within {} ms",
        limit.as_millis()
    ))
}

/// What to do after an unordered `insert_many` of `sent` documents failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Every refused document is already stored (E11000): `new` were inserted.
    Done { new: u64 },
    /// `new` were inserted; the documents at positions `again` (in what was
    /// sent) may go in if sent again.
    Retry { new: u64, again: Vec<usize> },
    /// A document was refused for good, or the failure is not retryable.
    Failed,
}

/// Reads an `insert_many` failure document by document. A write-concern
/// error means the inserted documents may not be durable: all of them are
/// sent again (those already stored come back as E11000, so a replay after
/// a write-concern error may count fewer new entries than it stored; the
/// count is only reported, nothing depends on it).
pub fn insert_outcome(e: &MongoError, sent: usize) -> InsertOutcome {
    let ErrorKind::InsertMany(failure) = e.kind.as_ref() else {
        return if classify(e).is_retryable() {
            InsertOutcome::Retry {
                new: 0,
                again: (0..sent).collect(),
            }
        } else {
            InsertOutcome::Failed
        };
    };
    let write_errors = failure.write_errors.as_deref().unwrap_or_default();
    let mut again = Vec::new();
    let mut duplicates = Vec::new();
    for w in write_errors {
        match code_failure(w.code) {
            Failure::DuplicateKey => duplicates.push(w.index),
            f if f.is_retryable() => again.push(w.index),
            _ => return InsertOutcome::Failed,
        }
    }
    if let Some(wc) = &failure.write_concern_error {
        if !write_concern_failure(wc.code).is_retryable() {
            return InsertOutcome::Failed;
        }
        return InsertOutcome::Retry {
            new: 0,
            again: (0..sent).collect(),
        };
    }
    let new = sent.saturating_sub(write_errors.len()) as u64;
    if again.is_empty() {
        InsertOutcome::Done { new }
    } else {
        again.sort_unstable();
        InsertOutcome::Retry { new, again }
    }
}

/// How many times a retryable failure is tried, and the pauses between.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_pause: Duration,
}

/// Short: a request waits at most ~0.3 s more than its attempts, and the
/// queue's workers retry a failed job again with their own backoff.
pub const RETRY: Retry = Retry {
    attempts: 4,
    first_pause: Duration::from_millis(20),
};

impl Retry {
    /// The pause after failed attempt `n` (1-based), before jitter: 20, 80, 320 ms.
    pub fn pause(&self, n: u32) -> Duration {
        self.first_pause * 4u32.saturating_pow(n.saturating_sub(1))
    }

    /// The pause with jitter (50-150 %), so writers that collided do not
    /// collide again in step.
    pub fn jittered_pause(&self, n: u32) -> Duration {
        self.pause(n).mul_f64(0.5 + rand::random::<f64>())
    }

    /// Runs `op` (each attempt within `limit`, when given) until it
    /// succeeds, fails for good, or the attempts are spent; retryable
    /// failures then become `Unavailable` (503), never `Internal`.
    pub async fn run<T, F, Fut>(
        &self,
        what: &str,
        limit: Option<Duration>,
        mut op: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: IntoFuture<Output = Result<T, MongoError>>,
    {
        let mut n = 1;
        loop {
            let attempt = op().into_future();
            let result = match limit {
                Some(limit) => tokio::time::timeout(limit, attempt)
                    .await
                    .map_err(|_| timed_out(what, limit))?,
                None => attempt.await,
            };
            let e = match result {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let failure = classify(&e);
            if !failure.is_retryable() || n >= self.attempts {
                return Err(failure_to_store_error(failure, e));
            }
            tracing::debug!(error = %e, attempt = n, "{what}: retrying");
            tokio::time::sleep(self.jittered_pause(n)).await;
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;
    use mongodb::error::{CommandError, InsertManyError, WriteConcernError, WriteError};
    use std::cell::Cell;

    fn command(code: i32) -> MongoError {
        let c: CommandError =
            bson::deserialize_from_document(doc! { "code": code, "codeName": "X", "errmsg": "m" })
                .unwrap();
        MongoError::from(ErrorKind::Command(c))
    }

    fn write(code: i32) -> MongoError {
        let w: WriteError =
            bson::deserialize_from_document(doc! { "code": code, "errmsg": "m" }).unwrap();
        MongoError::from(ErrorKind::Write(WriteFailure::WriteError(w)))
    }

    fn write_concern(code: i32) -> WriteConcernError {
        bson::deserialize_from_document(doc! { "code": code, "codeName": "X", "errmsg": "m" })
            .unwrap()
    }

    /// An `insert_many` failure with these per-document codes and maybe a
    /// write-concern error.
    fn insert_many(codes: &[i32], concern: Option<i32>) -> MongoError {
        let errors: Vec<bson::Document> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| doc! { "index": i as i64, "code": c, "errmsg": "m" })
            .collect();
        let mut failure: InsertManyError = bson::deserialize_from_document(doc! {
            "writeErrors": errors,
        })
        .unwrap();
        failure.write_concern_error = concern.map(write_concern);
        MongoError::from(ErrorKind::InsertMany(failure))
    }

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify(&write(11000)), Failure::DuplicateKey);
        assert_eq!(classify(&command(11000)), Failure::DuplicateKey);
        assert_eq!(classify(&write(112)), Failure::WriteConflict);
        assert_eq!(classify(&command(112)), Failure::WriteConflict);
        assert_eq!(classify(&command(50)), Failure::TimedOut);
        for transient in [
            6, 7, 89, 91, 133, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
        ] {
            assert_eq!(
                classify(&command(transient)),
                Failure::Transient,
                "{transient}"
            );
        }
        assert_eq!(classify(&command(2)), Failure::Permanent);
        assert_eq!(classify(&write(121)), Failure::Permanent); // document validation
    }

    #[test]
    fn network_errors_are_transient_and_other_driver_errors_permanent() {
        let io = MongoError::from(ErrorKind::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&io), Failure::Transient);
        assert!(matches!(store_error(io), StoreError::Unavailable(_)));
        let custom = MongoError::custom("something else");
        assert_eq!(classify(&custom), Failure::Permanent);
    }

    #[test]
    fn write_concern_errors_are_transient_unless_the_concern_is_wrong() {
        let wc = |code| {
            MongoError::from(ErrorKind::Write(WriteFailure::WriteConcernError(
                write_concern(code),
            )))
        };
        assert_eq!(classify(&wc(64)), Failure::Transient); // WriteConcernFailed (wtimeout)
        assert_eq!(classify(&wc(91)), Failure::Transient);
        assert_eq!(classify(&wc(100)), Failure::Permanent); // UnsatisfiableWriteConcern
        assert_eq!(classify(&wc(79)), Failure::Permanent); // UnknownReplWriteConcern
    }

    #[test]
    fn an_insert_many_failure_is_as_bad_as_its_worst_part() {
        assert_eq!(
            classify(&insert_many(&[11000, 11000], None)),
            Failure::DuplicateKey
        );
        assert_eq!(
            classify(&insert_many(&[11000, 112], None)),
            Failure::WriteConflict
        );
        assert_eq!(
            classify(&insert_many(&[11000], Some(64))),
            Failure::Transient
        );
        assert_eq!(classify(&insert_many(&[], Some(64))), Failure::Transient);
        assert_eq!(
            classify(&insert_many(&[112, 121], Some(64))),
            Failure::Permanent
        );
        assert_eq!(classify(&insert_many(&[], None)), Failure::Permanent);
    }

    #[test]
    fn insert_many_failures_are_read_document_by_document() {
        // Positions 0 and 1 refused as already stored: 3 of 5 are new.
        assert_eq!(
            insert_outcome(&insert_many(&[11000, 11000], None), 5),
            InsertOutcome::Done { new: 3 }
        );
        // A write conflict on position 1: send it alone again.
        assert_eq!(
            insert_outcome(&insert_many(&[11000, 112], None), 4),
            InsertOutcome::Retry {
                new: 2,
                again: vec![1]
            }
        );
        // A write-concern error: everything again, nothing counted yet.
        assert_eq!(
            insert_outcome(&insert_many(&[11000], Some(64)), 3),
            InsertOutcome::Retry {
                new: 0,
                again: vec![0, 1, 2]
            }
        );
        assert_eq!(
            insert_outcome(&insert_many(&[11000], Some(100)), 3),
            InsertOutcome::Failed
        );
        assert_eq!(
            insert_outcome(&insert_many(&[112, 121], None), 2),
            InsertOutcome::Failed
        );
        // Not an insert_many failure: the whole batch again when retryable.
        assert_eq!(
            insert_outcome(&command(189), 2),
            InsertOutcome::Retry {
                new: 0,
                again: vec![0, 1]
            }
        );
        assert_eq!(insert_outcome(&command(2), 2), InsertOutcome::Failed);
    }

    #[test]
    fn failures_map_to_503_or_500() {
        for (e, unavailable) in [
            (command(112), true),
            (command(189), true),
            (command(50), true),
            (command(11000), false),
            (command(2), false),
        ] {
            let text = format!("{e}");
            match store_error(e) {
                StoreError::Unavailable(_) => assert!(unavailable, "{text}"),
                StoreError::Internal(_) => assert!(!unavailable, "{text}"),
            }
        }
    }

    fn quick() -> Retry {
        Retry {
            attempts: 4,
            first_pause: Duration::from_micros(10),
        }
    }

    #[test]
    fn pauses_grow_fourfold() {
        assert_eq!(RETRY.pause(1), Duration::from_millis(20));
        assert_eq!(RETRY.pause(2), Duration::from_millis(80));
        assert_eq!(RETRY.pause(3), Duration::from_millis(320));
    }

    #[tokio::test]
    async fn conflicts_and_transient_errors_are_retried_until_success() {
        let calls = Cell::new(0);
        let got = quick()
            .run("op", Some(Duration::from_secs(5)), || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    match n {
                        1 => Err(command(112)),
                        2 => Err(command(189)),
                        _ => Ok(n),
                    }
                }
            })
            .await;
        assert_eq!(got.unwrap(), 3);
    }

    #[tokio::test]
    async fn retryable_failures_end_as_unavailable_after_the_last_attempt() {
        let calls = Cell::new(0);
        let got: Result<(), _> = quick()
            .run("op", Some(Duration::from_secs(5)), || {
                calls.set(calls.get() + 1);
                async { Err(command(112)) }
            })
            .await;
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
        assert_eq!(calls.get(), 4);
    }

    #[tokio::test]
    async fn permanent_failures_and_timeouts_are_not_retried() {
        let calls = Cell::new(0);
        let got: Result<(), _> = quick()
            .run("op", Some(Duration::from_secs(5)), || {
                calls.set(calls.get() + 1);
                async { Err(command(2)) }
            })
            .await;
        assert!(matches!(got, Err(StoreError::Internal(_))), "{got:?}");
        assert_eq!(calls.get(), 1);

        let calls = Cell::new(0);
        let got: Result<(), _> = quick()
            .run("a slow find", Some(Duration::from_millis(20)), || {
                calls.set(calls.get() + 1);
                async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(())
                }
            })
            .await;
        let Err(StoreError::Unavailable(message)) = got else {
            panic!("{got:?}")
        };
        assert!(
            message.contains("a slow find did not finish within 20 ms"),
            "{message}"
        );
        assert_eq!(calls.get(), 1);
    }
}
