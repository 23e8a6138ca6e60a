//! Group settling: concurrent settles of one (user, exercise) share a run.
//!
//! Settling one exercise costs O(entries of each touched day + days of the
//! exercise), and a backlog of small writes to one exercise makes the
//! workers settle the same row over and over (and race each other's
//! compare-and-swaps). Here the first settle of a key leads: it settles the
//! days asked so far, then, while others asked meanwhile, runs again with
//! the union of their days. A caller returns only after a run that STARTED
//! after it asked has finished, so its write (applied before it asked) was
//! read by that run: the same guarantee as settling alone.
//!
//! The runs happen on a spawned task, so a caller that gives up (a timed-out
//! or cancelled job) never leaves the others waiting on a run nobody drives.

use crate::domain::UserId;
use crate::domain::records::PrCalculator;
use crate::prs::settle;
use crate::store::{PrChange, StoreError, WorkoutStore};
use anyhow::anyhow;
use futures::future::BoxFuture;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Key = (UserId, String);
type Outcome = Result<(), Arc<StoreError>>;
/// One run: settles these days of (user, exercise).
type Run =
    Arc<dyn Fn(Key, BTreeSet<i64>) -> BoxFuture<'static, Result<(), StoreError>> + Send + Sync>;

/// What waits for the next run of one key.
#[derive(Default)]
struct Waiting {
    days: BTreeSet<i64>,
    callers: Vec<oneshot::Sender<Outcome>>,
}

/// Shared by every worker of a process (clone the `Arc`).
pub struct SettleCoalescer {
    store: Arc<dyn WorkoutStore>,
    run: Run,
    /// Keys with a run in progress, and what waits for their next run.
    keys: Mutex<HashMap<Key, Waiting>>,
}

impl SettleCoalescer {
    pub fn new(store: Arc<dyn WorkoutStore>, calculator: Arc<dyn PrCalculator>) -> Arc<Self> {
        let settling = Arc::clone(&store);
        let run: Run = Arc::new(move |(user, exercise), days| {
            let store = Arc::clone(&settling);
            let calculator = Arc::clone(&calculator);
            Box::pin(async move {
                settle::settle_exercise(store.as_ref(), calculator.as_ref(), user, &exercise, &days)
                    .await
            })
        });
        Self::with_run(store, run)
    }

    fn with_run(store: Arc<dyn WorkoutStore>, run: Run) -> Arc<Self> {
        Arc::new(Self {
            store,
            run,
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// Settles `changes` of `user` (every exercise they touch), then removes
    /// them, like [`settle::settle`].
    pub async fn settle(
        self: &Arc<Self>,
        user: UserId,
        changes: &[PrChange],
    ) -> Result<(), StoreError> {
        for (exercise, days) in settle::days_by_exercise(changes) {
            self.settle_exercise(user, exercise, days).await?;
        }
        self.store.clear_pr_changes(user, changes).await
    }

    async fn settle_exercise(
        self: &Arc<Self>,
        user: UserId,
        exercise: &str,
        days: BTreeSet<i64>,
    ) -> Result<(), StoreError> {
        let key: Key = (user, exercise.to_string());
        let (done, outcome) = oneshot::channel();
        let lead = {
            let mut keys = self.keys.lock().expect("coalescer lock");
            let lead = !keys.contains_key(&key);
            let waiting = keys.entry(key.clone()).or_default();
            waiting.days.extend(days);
            waiting.callers.push(done);
            lead
        };
        if lead {
            tokio::spawn(Arc::clone(self).lead(key));
        }
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(shared)) => Err(copy_error(&shared)),
            Err(_) => Err(StoreError::Internal(anyhow!(
                "the settle of {user}/{exercise} stopped before finishing"
            ))),
        }
    }

    /// Runs while callers wait on `key`, each run with everything asked
    /// before it started; then forgets the key.
    async fn lead(self: Arc<Self>, key: Key) {
        // Dropped on any exit, a panic included: the key is forgotten and
        // its remaining callers hear that the run stopped.
        let mut forget = Forget {
            coalescer: &self,
            key: &key,
            armed: true,
        };
        loop {
            let batch = {
                let mut keys = self.keys.lock().expect("coalescer lock");
                let Some(waiting) = keys.get_mut(&key) else {
                    forget.armed = false;
                    return;
                };
                if waiting.callers.is_empty() {
                    // Removed under the lock: a caller arriving next leads
                    // a new run, and this one must not forget its key.
                    keys.remove(&key);
                    forget.armed = false;
                    return;
                }
                std::mem::take(waiting)
            };
            let outcome = (self.run)(key.clone(), batch.days).await.map_err(Arc::new);
            for caller in batch.callers {
                let _ = caller.send(outcome.clone());
            }
        }
    }
}

struct Forget<'a> {
    coalescer: &'a SettleCoalescer,
    key: &'a Key,
    armed: bool,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(mut keys) = self.coalescer.keys.lock() {
            keys.remove(self.key);
        }
    }
}

/// Each caller gets its own error, keeping whether it is worth retrying.
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(msg) => StoreError::Unavailable(msg.clone()),
        StoreError::Internal(e) => StoreError::Internal(anyhow!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    const USER: &str = "665f1c2b8a1e4d0012345678";

    /// Records each run's days; the first run waits for `release`.
    struct Recorder {
        runs: Mutex<Vec<BTreeSet<i64>>>,
        started: Notify,
        release: Notify,
        fail_first: bool,
        calls: AtomicUsize,
    }

    async fn coalescer(recorder: Arc<Recorder>) -> (Arc<SettleCoalescer>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn WorkoutStore> =
            Arc::new(SqliteStore::open(&dir.path().join("c.db")).await.unwrap());
        let run: Run = Arc::new(move |_key, days| {
            let recorder = Arc::clone(&recorder);
            Box::pin(async move {
                let n = recorder.calls.fetch_add(1, Ordering::SeqCst);
                recorder.runs.lock().unwrap().push(days);
                if n == 0 {
                    recorder.started.notify_one();
                    recorder.release.notified().await;
                    if recorder.fail_first {
                        return Err(StoreError::Unavailable("down".into()));
                    }
                }
                Ok(())
            })
        });
        (SettleCoalescer::with_run(store, run), dir)
    }

    fn recorder(fail_first: bool) -> Arc<Recorder> {
        Arc::new(Recorder {
            runs: Mutex::new(Vec::new()),
            started: Notify::new(),
            release: Notify::new(),
            fail_first,
            calls: AtomicUsize::new(0),
        })
    }

    fn days(d: &[i64]) -> BTreeSet<i64> {
        d.iter().copied().collect()
    }

    /// A settle of squat on `day`, running on its own task.
    fn settle_on(
        c: &Arc<SettleCoalescer>,
        day: i64,
    ) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let c = Arc::clone(c);
        let user: UserId = USER.parse().unwrap();
        tokio::spawn(async move { c.settle_exercise(user, "squat", days(&[day])).await })
    }

    /// Waits until `n` callers wait for the next run of squat.
    async fn waiting(c: &SettleCoalescer, n: usize) {
        let key = (USER.parse().unwrap(), "squat".to_string());
        while c.keys.lock().unwrap()[&key].callers.len() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn settles_asked_during_a_run_share_the_next_run() {
        let rec = recorder(false);
        let (c, _dir) = coalescer(Arc::clone(&rec)).await;
        let first = settle_on(&c, 1);
        rec.started.notified().await;
        // Asked while the first run is in progress: it cannot have read
        // their writes, so they wait for one more run, together.
        let later: Vec<_> = [2, 3, 2].into_iter().map(|d| settle_on(&c, d)).collect();
        waiting(&c, 3).await;
        rec.release.notify_one();
        first.await.unwrap().unwrap();
        for l in later {
            l.await.unwrap().unwrap();
        }
        assert_eq!(*rec.runs.lock().unwrap(), vec![days(&[1]), days(&[2, 3])]);
        assert!(c.keys.lock().unwrap().is_empty(), "the key is forgotten");
    }

    #[tokio::test]
    async fn other_keys_do_not_wait() {
        let rec = recorder(false);
        let (c, _dir) = coalescer(Arc::clone(&rec)).await;
        let user: UserId = USER.parse().unwrap();
        let blocked = settle_on(&c, 1);
        rec.started.notified().await;
        c.settle_exercise(user, "deadlift", days(&[1]))
            .await
            .unwrap();
        rec.release.notify_one();
        blocked.await.unwrap().unwrap();
        assert_eq!(rec.runs.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_failed_run_fails_its_callers_with_a_retryable_error_and_the_next_run_goes_on() {
        let rec = recorder(true);
        let (c, _dir) = coalescer(Arc::clone(&rec)).await;
        let first = settle_on(&c, 1);
        rec.started.notified().await;
        let second = settle_on(&c, 2);
        waiting(&c, 1).await;
        rec.release.notify_one();
        assert!(matches!(
            first.await.unwrap(),
            Err(StoreError::Unavailable(msg)) if msg == "down"
        ));
        second.await.unwrap().unwrap();
        assert_eq!(*rec.runs.lock().unwrap(), vec![days(&[1]), days(&[2])]);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_does_not_stop_the_run() {
        let rec = recorder(false);
        let (c, _dir) = coalescer(Arc::clone(&rec)).await;
        let leader = settle_on(&c, 1);
        rec.started.notified().await;
        let follower = settle_on(&c, 2);
        waiting(&c, 1).await;
        leader.abort();
        rec.release.notify_one();
        follower.await.unwrap().unwrap();
        assert_eq!(*rec.runs.lock().unwrap(), vec![days(&[1]), days(&[2])]);
    }
}
