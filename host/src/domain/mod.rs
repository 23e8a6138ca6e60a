//! The pure core: values, rules and calculations. Nothing here performs I/O or
//! reads the environment; the current time and secrets are passed in.

pub mod access;
pub mod catalogue;
pub mod columns;
pub mod cursor;
pub mod dates;
pub mod days;
pub mod exercise;
pub mod export;
pub mod generated;
pub mod ids;
pub mod import;
pub mod records;
pub mod stats;
pub mod suggest;
pub mod units;
pub mod validation;
pub mod workout;

pub use catalogue::Catalogue;
pub use ids::{EntryId, UserId};
pub use units::Unit;
pub use workout::{WorkoutEntry, WorkoutSet};

/// A problem with one field of the client's input, named by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the offending field, e.g. `entries[0].sets[1].reps`.
    #[schema(example = "entries[0].sets[1].reps")]
    pub field: String,
    #[schema(example = "must be at least 1")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Rounds a presented number to 2 decimals. Only presentation rounds.
pub fn round2(value: f64) -> f64 {
    let rounded = (value * 100.0).round() / 100.0;
    // Avoid "-0" in JSON.
    if rounded == 0.0 { 0.0 } else { rounded }
}

#[cfg(test)]
mod tests {
    use super::round2;

    #[test]
    fn round2_rounds_half_away_from_zero_and_never_gives_negative_zero() {
        assert_eq!(round2(103.333_333), 103.33);
        assert_eq!(round2(11.666_666), 11.67);
        assert_eq!(round2(220.462_262_18), 220.46);
        assert_eq!(round2(63.502_931_800_000_006), 63.5);
        assert_eq!(round2(1500.0), 1500.0);
        assert_eq!(round2(-2.345_6), -2.35);
        assert_eq!(round2(-0.001), 0.0);
        assert!(round2(-0.001).is_sign_positive());
    }
}
