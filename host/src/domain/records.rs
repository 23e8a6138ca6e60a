//! The personal-record calculations and the seam they run behind. The host
//! calls [`PrCalculator`]; the native implementation here and the WASM PR
//! component (`plugins::pr`) run the same `everfit-pr` code, so either gives
//! the same records.
//!
//! The rep records ([`RepRecords`]: most reps in a set and in a day, rep
//! maxes) are not part of the `everfit:insights@0.1.0` `pr` interface, so
//! they are always computed here, natively, from the same `everfit-pr` code,
//! beside whichever calculator computes the other three kinds.

pub use everfit_pr::{DayReps, PersonalRecords, REP_MAX_REPS, RecordKind, RepRecords, SetRecord};

#[derive(Debug, thiserror::Error)]
pub enum PrCalculatorError {
    /// The plugin trapped, ran out of time or memory, or returned garbage.
    #[error("PR plugin failed: {0}")]
    Plugin(String),
}

pub trait PrCalculator: Send + Sync {
    /// Name and version shown in /health and logs.
    fn describe(&self) -> String;

    /// Folds `sets` into `current` (an empty `current` computes from scratch).
    fn fold(
        &self,
        current: &PersonalRecords,
        sets: &[SetRecord],
    ) -> Result<PersonalRecords, PrCalculatorError>;

    fn compute(&self, sets: &[SetRecord]) -> Result<PersonalRecords, PrCalculatorError> {
        self.fold(&PersonalRecords::default(), sets)
    }
}

/// The calculations compiled into the host.
#[derive(Debug, Default, Clone, Copy)]
pub struct NativePrCalculator;

impl PrCalculator for NativePrCalculator {
    fn describe(&self) -> String {
        format!("native everfit-pr {}", env!("CARGO_PKG_VERSION"))
    }

    fn fold(
        &self,
        current: &PersonalRecords,
        sets: &[SetRecord],
    ) -> Result<PersonalRecords, PrCalculatorError> {
        let mut records = current.clone();
        for set in sets {
            records.fold(set);
        }
        Ok(records)
    }
}
