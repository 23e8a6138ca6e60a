//! Compare-and-swap retries: how concurrent writers of one read-model row
//! or one day summary never lose each other's updates. A step reads the
//! version, then what it derives the new value from, and writes only if the
//! version is unchanged; when another writer got there first, the step runs
//! again on fresh reads.

use super::StoreError;
use std::future::Future;

/// Lost races tolerated before giving up. Each lost race means another
/// writer made progress, so this trips only under pathological contention.
pub const MAX_CAS_ATTEMPTS: usize = 64;

/// Runs `step` until it reports that its write stuck (or that nothing needed
/// writing) by returning `true`; `false` means it lost a race.
pub async fn until_stored<F, Fut>(what: impl Fn() -> String, mut step: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, StoreError>>,
{
    for _ in 0..MAX_CAS_ATTEMPTS {
        if step().await? {
            return Ok(());
        }
    }
    // Contention is a load condition, not a bug: a 503 (or a job retried
    // later), never a 500.
    Err(StoreError::Unavailable(format!(
        "{}: gave up after {MAX_CAS_ATTEMPTS} contended attempts",
        what()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn a_lost_race_runs_the_step_again() {
        let runs = Cell::new(0);
        until_stored(
            || "test".into(),
            || {
                runs.set(runs.get() + 1);
                let won = runs.get() == 3;
                async move { Ok(won) }
            },
        )
        .await
        .unwrap();
        assert_eq!(runs.get(), 3);
    }

    #[tokio::test]
    async fn endless_contention_gives_up_with_a_named_error() {
        let err = until_stored(|| "read model of U/squat".into(), || async { Ok(false) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("read model of U/squat"), "{err}");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    }

    #[tokio::test]
    async fn a_failing_step_stops_at_once() {
        let runs = Cell::new(0);
        let err = until_stored(
            || "x".into(),
            || {
                runs.set(runs.get() + 1);
                async { Err(StoreError::Unavailable("down".into())) }
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)));
        assert_eq!(runs.get(), 1);
    }
}
