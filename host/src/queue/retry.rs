//! Retrying transient store errors inside a job, with exponential backoff,
//! before the queue's own redelivery takes over.

use std::future::Future;
use std::time::Duration;

/// Attempts in-process (the first included) and the first pause.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    /// The pause after failed attempt `n` (1-based): 100 ms, 400 ms, 1.6 s...
    pub fn delay(&self, n: u32) -> Duration {
        self.first_delay * 4u32.saturating_pow(n.saturating_sub(1))
    }

    /// Runs `op` until it succeeds or the attempts are spent; returns the last error.
    pub async fn run<T, E, F, Fut>(&self, what: &str, mut op: F) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut n = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if n < self.attempts => {
                    let pause = self.delay(n);
                    tracing::warn!(error = %e, attempt = n, retry_in_ms = pause.as_millis() as u64, "{what} failed; retrying");
                    tokio::time::sleep(pause).await;
                    n += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn quick() -> Backoff {
        Backoff {
            attempts: 4,
            first_delay: Duration::from_micros(10),
        }
    }

    #[test]
    fn delays_grow_fourfold() {
        let b = Backoff::default();
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(2), Duration::from_millis(400));
        assert_eq!(b.delay(3), Duration::from_millis(1600));
    }

    #[tokio::test]
    async fn retries_until_success_then_stops() {
        let calls = Cell::new(0);
        let b = quick();
        let r: Result<u32, String> = b
            .run("op", || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(format!("fail {n}"))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(3));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let calls = Cell::new(0);
        let b = quick();
        let r: Result<(), String> = b
            .run("op", || {
                calls.set(calls.get() + 1);
                async { Err("down".to_string()) }
            })
            .await;
        assert_eq!(r, Err("down".into()));
        assert_eq!(calls.get(), 4);
    }
}
