//! The workout entry as stored.

use super::{EntryId, Unit, UserId};
use chrono::{DateTime, Utc};
use everfit_pr::SetRecord;

/// Serialized only onto the queue (the API has its own DTOs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkoutSet {
    pub reps: u32,
    /// The weight as logged, in `unit`.
    pub weight: f64,
    pub unit: Unit,
    /// The weight in kg at full precision (never rounded on write).
    pub weight_kg: f64,
}

impl WorkoutSet {
    pub fn new(reps: u32, weight: f64, unit: Unit) -> Self {
        Self {
            reps,
            weight,
            unit,
            weight_kg: unit.to_kg(weight),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkoutEntry {
    pub id: EntryId,
    pub user_id: UserId,
    pub exercise_name: String,
    pub exercise_name_lower: String,
    pub date: DateTime<Utc>,
    pub sets: Vec<WorkoutSet>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 when logged; then the number of the edit that made the entry what
    /// it is (see `queue::versions`). The `ETag` of the entry.
    #[serde(default = "first_version")]
    pub version: i64,
}

/// The version of an entry as first logged.
pub const FIRST_VERSION: i64 = 1;

fn first_version() -> i64 {
    FIRST_VERSION
}

impl WorkoutEntry {
    /// True when two entries record the same workout (what a retry with the
    /// same idempotency key must carry); ids and timestamps are not compared.
    pub fn same_content(&self, other: &WorkoutEntry) -> bool {
        self.user_id == other.user_id
            && self.exercise_name == other.exercise_name
            && self.date == other.date
            && self.sets.len() == other.sets.len()
            && self
                .sets
                .iter()
                .zip(&other.sets)
                .all(|(a, b)| a.reps == b.reps && a.weight == b.weight && a.unit == b.unit)
    }

    /// The entry's sets as the PR calculations see them.
    pub fn set_records(&self) -> impl Iterator<Item = SetRecord> + '_ {
        let entry_id = self.id.to_hex();
        let date_ms = self.date.timestamp_millis();
        self.sets.iter().enumerate().map(move |(i, s)| SetRecord {
            entry_id: entry_id.clone(),
            date_ms,
            set_index: i as u32,
            reps: s.reps,
            weight_kg: s.weight_kg,
        })
    }
}
