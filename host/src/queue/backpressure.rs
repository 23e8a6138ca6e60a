//! Backpressure: past a configured depth, a queue refuses new work (the API
//! answers 503 `queue_backlogged` with Retry-After) instead of letting the
//! backlog, and so the lag between a 202 and the history, grow without bound.
//! Depths are read at most every [`DEPTH_TTL`], so a burst costs one count.

use super::jobs::QueueName;
use super::{JobBackend, QueueDepths, QueueError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a depth reading is trusted.
pub const DEPTH_TTL: Duration = Duration::from_millis(250);

/// The depths past which each queue refuses new work (0: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthLimits {
    pub persist: u64,
    pub prs: u64,
}

impl Default for DepthLimits {
    /// About 10 s of work for one worker process at the drain rates measured
    /// on a 2-core machine (persist ~600 jobs/s, PR settlements ~2,000/s).
    fn default() -> Self {
        Self {
            persist: 5_000,
            prs: 20_000,
        }
    }
}

impl DepthLimits {
    /// The first queue past its limit, with its depth and limit.
    pub fn exceeded(&self, depths: QueueDepths) -> Option<(QueueName, u64, u64)> {
        [
            (QueueName::Persist, depths.persist, self.persist),
            (QueueName::Prs, depths.prs, self.prs),
        ]
        .into_iter()
        .find(|(_, depth, limit)| *limit > 0 && depth >= limit)
    }
}

/// Reads and caches depths, and says whether new work is refused.
pub struct Gate {
    limits: DepthLimits,
    last: Mutex<Option<(Instant, QueueDepths)>>,
}

impl Gate {
    pub fn new(limits: DepthLimits) -> Self {
        Self {
            limits,
            last: Mutex::new(None),
        }
    }

    pub fn limits(&self) -> DepthLimits {
        self.limits
    }

    /// Current depths (a reading at most [`DEPTH_TTL`] old).
    pub async fn depths(&self, jobs: &dyn JobBackend) -> Result<QueueDepths, QueueError> {
        if let Some((at, depths)) = *self.last.lock().expect("depth cache")
            && at.elapsed() < DEPTH_TTL
        {
            return Ok(depths);
        }
        let depths = QueueDepths {
            persist: jobs.depth(QueueName::Persist).await?,
            prs: jobs.depth(QueueName::Prs).await?,
        };
        *self.last.lock().expect("depth cache") = Some((Instant::now(), depths));
        Ok(depths)
    }

    /// `Err(Backlogged)` when a queue is past its limit.
    pub async fn admit(&self, jobs: &dyn JobBackend) -> Result<(), QueueError> {
        if self.limits.persist == 0 && self.limits.prs == 0 {
            return Ok(());
        }
        match self.limits.exceeded(self.depths(jobs).await?) {
            None => Ok(()),
            Some((queue, depth, limit)) => Err(QueueError::Backlogged {
                queue: queue.as_str(),
                depth,
                limit,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depths(persist: u64, prs: u64) -> QueueDepths {
        QueueDepths { persist, prs }
    }

    #[test]
    fn a_queue_at_its_limit_refuses_and_zero_means_no_limit() {
        let limits = DepthLimits {
            persist: 100,
            prs: 0,
        };
        assert_eq!(limits.exceeded(depths(99, 1_000_000)), None);
        assert_eq!(
            limits.exceeded(depths(100, 0)),
            Some((QueueName::Persist, 100, 100))
        );
        let both = DepthLimits {
            persist: 10,
            prs: 10,
        };
        assert_eq!(both.exceeded(depths(0, 12)), Some((QueueName::Prs, 12, 10)));
    }
}
