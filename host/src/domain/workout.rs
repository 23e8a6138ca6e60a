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

    /// A digest of what [`same_content`](Self::same_content) compares: two
    /// entries have the same digest exactly when they record the same workout.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"everfit/entry-content/v1\0");
        h.update(self.user_id.bytes());
        h.update((self.exercise_name.len() as u64).to_le_bytes());
        h.update(self.exercise_name.as_bytes());
        h.update(self.date.timestamp_millis().to_le_bytes());
        for s in &self.sets {
            h.update(s.reps.to_le_bytes());
            h.update(s.weight.to_bits().to_le_bytes());
            h.update(s.unit.code().as_bytes());
            h.update([0]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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

/// An entry of a fixed user for unit tests: a fresh id, `name` logged at
/// `date_ms` with `sets`.
#[cfg(test)]
pub fn test_entry(date_ms: i64, name: &str, sets: Vec<WorkoutSet>) -> WorkoutEntry {
    let at = DateTime::from_timestamp_millis(date_ms).expect("a valid instant");
    WorkoutEntry {
        id: EntryId::generate(),
        user_id: "665f1c2b8a1e4d0012345678".parse().expect("a valid id"),
        exercise_name: name.into(),
        exercise_name_lower: name.to_lowercase(),
        date: at,
        sets,
        idempotency_key: None,
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry() -> WorkoutEntry {
        let at = Utc.with_ymd_and_hms(2026, 6, 9, 0, 0, 0).unwrap();
        WorkoutEntry {
            id: EntryId::generate(),
            user_id: "665f1c2b8a1e4d0012345678".parse().unwrap(),
            exercise_name: "Bench Press".into(),
            exercise_name_lower: "bench press".into(),
            date: at,
            sets: vec![WorkoutSet::new(5, 100.0, Unit::KG)],
            idempotency_key: Some("k".into()),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn the_content_hash_follows_same_content() {
        let a = entry();
        let mut b = entry(); // another id and times: the same workout
        b.created_at += chrono::Duration::seconds(3);
        assert!(a.same_content(&b));
        assert_eq!(a.content_hash(), b.content_hash());
        type Change = Box<dyn Fn(&mut WorkoutEntry)>;
        let changes: Vec<Change> = vec![
            Box::new(|e| e.exercise_name = "Bench Pres".into()),
            Box::new(|e| e.date += chrono::Duration::milliseconds(1)),
            Box::new(|e| e.sets[0].reps = 6),
            Box::new(|e| e.sets[0] = WorkoutSet::new(5, 100.0, Unit::parse("lb").unwrap())),
            Box::new(|e| e.sets.push(WorkoutSet::new(5, 100.0, Unit::KG))),
            Box::new(|e| e.user_id = "665f1c2b8a1e4d0012345679".parse().unwrap()),
        ];
        for change in changes {
            let mut c = entry();
            change(&mut c);
            assert!(!a.same_content(&c));
            assert_ne!(a.content_hash(), c.content_hash());
        }
    }
}
