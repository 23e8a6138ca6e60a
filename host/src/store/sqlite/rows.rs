//! How values map to SQLite rows: sets and records as JSON columns, instants
//! as milliseconds, ids as hex text.

use crate::domain::records::{DayReps, PersonalRecords, RepRecords, SetRecord};
use crate::domain::{Unit, WorkoutEntry, WorkoutSet};
use crate::store::StoreError;
use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::str::FromStr;

/// A set as stored in the `sets` JSON column.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSet {
    pub reps: u32,
    pub weight: f64,
    pub unit: Unit,
    pub weight_kg: f64,
}

/// A record as stored in the `records` JSON column.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRecord {
    entry_id: String,
    date_ms: i64,
    set_index: u32,
    reps: u32,
    weight_kg: f64,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StoredRecordsJson {
    heaviest_set: Option<StoredRecord>,
    highest_volume_set: Option<StoredRecord>,
    best_one_rep_max: Option<StoredRecord>,
    /// Absent from rows and day summaries written before rep records were
    /// kept: read as unknown, never as "no records".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reps: Option<StoredRepsJson>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StoredRepsJson {
    most_reps_set: Option<StoredRecord>,
    /// The rep maxes at 1, 3, 5 and 10 reps, in that order.
    rep_maxes: [Option<StoredRecord>; 4],
    most_reps_day: Option<StoredDayReps>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDayReps {
    day: i64,
    reps: u64,
}

impl From<&SetRecord> for StoredRecord {
    fn from(s: &SetRecord) -> Self {
        Self {
            entry_id: s.entry_id.clone(),
            date_ms: s.date_ms,
            set_index: s.set_index,
            reps: s.reps,
            weight_kg: s.weight_kg,
        }
    }
}

impl From<StoredRecord> for SetRecord {
    fn from(s: StoredRecord) -> Self {
        Self {
            entry_id: s.entry_id,
            date_ms: s.date_ms,
            set_index: s.set_index,
            reps: s.reps,
            weight_kg: s.weight_kg,
        }
    }
}

/// The `records` JSON column of a read model row or a day summary.
pub fn records_to_json(r: &PersonalRecords, reps: &RepRecords) -> String {
    let record = |s: &Option<SetRecord>| s.as_ref().map(Into::into);
    let json = StoredRecordsJson {
        heaviest_set: record(&r.heaviest_set),
        highest_volume_set: record(&r.highest_volume_set),
        best_one_rep_max: record(&r.best_one_rep_max),
        reps: Some(StoredRepsJson {
            most_reps_set: record(&reps.most_reps_set),
            rep_maxes: reps.rep_maxes.each_ref().map(record),
            most_reps_day: reps.most_reps_day.map(|d| StoredDayReps {
                day: d.day,
                reps: d.reps,
            }),
        }),
    };
    serde_json::to_string(&json).expect("records serialize")
}

/// The records of a `records` JSON column, and its rep records (`None` when
/// it was written before they were kept).
pub fn records_from_json(s: &str) -> Result<(PersonalRecords, Option<RepRecords>), StoreError> {
    let json: StoredRecordsJson =
        serde_json::from_str(s).context("corrupt personal_records.records")?;
    let records = PersonalRecords {
        heaviest_set: json.heaviest_set.map(Into::into),
        highest_volume_set: json.highest_volume_set.map(Into::into),
        best_one_rep_max: json.best_one_rep_max.map(Into::into),
    };
    let reps = json.reps.map(|r| RepRecords {
        most_reps_set: r.most_reps_set.map(Into::into),
        rep_maxes: r.rep_maxes.map(|s| s.map(Into::into)),
        most_reps_day: r.most_reps_day.map(|d| DayReps {
            day: d.day,
            reps: d.reps,
        }),
    });
    Ok((records, reps))
}

pub fn millis_to_datetime(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Internal(anyhow!("timestamp out of range: {ms}")))
}

pub fn parse_hex<T: FromStr>(s: &str, what: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Internal(anyhow!("corrupt {what}: {s:?}")))
}

pub const ENTRY_COLUMNS: &str = "id, user_id, exercise_name, exercise_name_lower, date_ms, sets, idempotency_key, created_at_ms, updated_at_ms, version";

pub fn entry_from_row(row: &SqliteRow) -> Result<WorkoutEntry, StoreError> {
    let sets_json: String = row.get("sets");
    let sets: Vec<StoredSet> = serde_json::from_str(&sets_json).context("corrupt workouts.sets")?;
    Ok(WorkoutEntry {
        id: parse_hex(row.get::<&str, _>("id"), "workouts.id")?,
        user_id: parse_hex(row.get::<&str, _>("user_id"), "workouts.user_id")?,
        exercise_name: row.get("exercise_name"),
        exercise_name_lower: row.get("exercise_name_lower"),
        date: millis_to_datetime(row.get("date_ms"))?,
        sets: sets
            .into_iter()
            .map(|s| WorkoutSet {
                reps: s.reps,
                weight: s.weight,
                unit: s.unit,
                weight_kg: s.weight_kg,
            })
            .collect(),
        idempotency_key: row.get("idempotency_key"),
        created_at: millis_to_datetime(row.get("created_at_ms"))?,
        updated_at: millis_to_datetime(row.get("updated_at_ms"))?,
        version: row.get("version"),
    })
}

pub fn sets_to_json(sets: &[WorkoutSet]) -> String {
    let stored: Vec<StoredSet> = sets
        .iter()
        .map(|s| StoredSet {
            reps: s.reps,
            weight: s.weight,
            unit: s.unit,
            weight_kg: s.weight_kg,
        })
        .collect();
    serde_json::to_string(&stored).expect("sets serialize")
}

/// The `entries`, `first_ms` and `last_ms` columns of a read model row or a
/// day summary (`None` while not computed yet).
pub fn stats_from_row(row: &SqliteRow) -> Option<crate::domain::stats::EntryStats> {
    let entries: Option<i64> = row.get("entries");
    entries.map(|n| crate::domain::stats::EntryStats {
        entries: n.max(0) as u64,
        first_ms: row.get("first_ms"),
        last_ms: row.get("last_ms"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_json_round_trips_and_old_rows_have_unknown_rep_records() {
        let set = SetRecord {
            entry_id: "665f1c2b8a1e4d00000000aa".into(),
            date_ms: 86_400_000,
            set_index: 1,
            reps: 12,
            weight_kg: 0.0,
        };
        let records = PersonalRecords::compute([&set]);
        let reps = RepRecords::compute([&set]);
        assert_eq!(
            records_from_json(&records_to_json(&records, &reps)).unwrap(),
            (records.clone(), Some(reps))
        );
        // A column written before rep records were kept.
        let old = r#"{"heaviestSet":null,"highestVolumeSet":null,"bestOneRepMax":null}"#;
        assert_eq!(
            records_from_json(old).unwrap(),
            (PersonalRecords::default(), None)
        );
    }
}
