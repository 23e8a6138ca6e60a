//! The JSON shapes of the API (documented in OpenAPI) and their mapping from
//! domain values. Requests are validated by `domain::validation`; the request
//! types here exist to document the contract.

use crate::domain::dates::format_instant;
use crate::domain::{Catalogue, Unit, WorkoutEntry, round2};
use crate::prs::report::{Deltas, PresentedSet, RangeEcho, present, present_day, present_set};
use everfit_pr::{PersonalRecords, RecordKind, RepRecords};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({ "userId": "665f1c2b8a1e4d0012345678", "entries": [
    { "exerciseName": "Bench Press", "date": "2026-06-09",
      "sets": [ { "reps": 5, "weight": 100, "unit": "kg" } ], "idempotencyKey": "session-42-bench" } ] }))]
pub struct SubmitWorkoutsRequest {
    /// The client's id: 24 hex characters.
    #[schema(example = "665f1c2b8a1e4d0012345678")]
    pub user_id: String,
    /// 1-100 entries; one invalid entry rejects the whole request.
    #[schema(min_items = 1, max_items = 100)]
    pub entries: Vec<NewEntryRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewEntryRequest {
    /// 1-100 characters after trimming; inner whitespace is collapsed.
    #[schema(example = "Bench Press", min_length = 1, max_length = 100)]
    pub exercise_name: String,
    /// `YYYY-MM-DD` (UTC midnight) or an RFC 3339 datetime with an offset;
    /// from 1900 to at most one day in the future.
    #[schema(example = "2026-06-09")]
    pub date: String,
    #[schema(min_items = 1, max_items = 50)]
    pub sets: Vec<NewSetRequest>,
    /// Optional, 1-128 characters: the entry is stored at most once per user
    /// and key, and a retry gets the same id back.
    #[schema(example = "session-42-bench", min_length = 1, max_length = 128)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSetRequest {
    #[schema(minimum = 1, maximum = 1000, example = 5)]
    pub reps: u32,
    /// At least 0 and at most 1500 kg once converted.
    #[schema(minimum = 0, example = 100)]
    pub weight: f64,
    #[schema(example = "kg")]
    pub unit: UnitCode,
}

/// A weight unit.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnitCode {
    Kg,
    Lb,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "accepted": 1, "ids": ["665f1c2b8a1e4d00123456aa"] }))]
pub struct SubmitWorkoutsResponse {
    pub accepted: usize,
    /// The entries' ids, in request order.
    pub ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetView {
    pub reps: u32,
    /// As logged, or converted when `unit` was asked for; 2 decimals.
    pub weight: f64,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    /// Always kg, 2 decimals (stored and used in calculations at full precision).
    pub weight_kg: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "id": "665f1c2b8a1e4d00123456aa", "userId": "665f1c2b8a1e4d0012345678",
    "exerciseName": "Bench Press", "muscleGroup": "chest", "date": "2026-06-09T00:00:00Z",
    "sets": [ { "reps": 5, "weight": 100, "unit": "kg", "weightKg": 100 } ],
    "idempotencyKey": null, "createdAt": "2026-06-09T10:00:00.123Z", "updatedAt": "2026-06-09T10:00:00.123Z", "version": 1 }))]
pub struct WorkoutView {
    pub id: String,
    pub user_id: String,
    pub exercise_name: String,
    /// From the exercise catalogue at read time; null for exercises it does not know.
    pub muscle_group: Option<String>,
    pub date: String,
    pub sets: Vec<SetView>,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// 1 when logged, then the number of the last edit applied; send it as
    /// `If-Match` to edit only this version.
    pub version: i64,
}

impl WorkoutView {
    pub fn new(entry: &WorkoutEntry, catalogue: &Catalogue, display_unit: Option<Unit>) -> Self {
        Self {
            id: entry.id.to_hex(),
            user_id: entry.user_id.to_hex(),
            exercise_name: entry.exercise_name.clone(),
            muscle_group: catalogue
                .group_of(&entry.exercise_name_lower)
                .map(str::to_string),
            date: format_instant(entry.date),
            sets: entry
                .sets
                .iter()
                .map(|s| match display_unit {
                    Some(unit) => SetView {
                        reps: s.reps,
                        weight: round2(unit.from_kg(s.weight_kg)),
                        unit,
                        weight_kg: round2(s.weight_kg),
                    },
                    None => SetView {
                        reps: s.reps,
                        weight: round2(s.weight),
                        unit: s.unit,
                        weight_kg: round2(s.weight_kg),
                    },
                })
                .collect(),
            idempotency_key: entry.idempotency_key.clone(),
            created_at: format_instant(entry.created_at),
            updated_at: format_instant(entry.updated_at),
            version: entry.version,
        }
    }
}

/// The new content of an entry (`PUT /workouts/{id}`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({ "exerciseName": "Bench Press", "date": "2026-06-09",
    "sets": [ { "reps": 5, "weight": 100, "unit": "kg" } ] }))]
pub struct ReplaceWorkoutRequest {
    #[schema(example = "Bench Press", min_length = 1, max_length = 100)]
    pub exercise_name: String,
    #[schema(example = "2026-06-09")]
    pub date: String,
    #[schema(min_items = 1, max_items = 50)]
    pub sets: Vec<NewSetRequest>,
}

/// An accepted edit or delete.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "id": "665f1c2b8a1e4d00123456aa", "version": 2, "deleted": false }))]
pub struct EditResponse {
    pub id: String,
    /// The entry's version once the edit is applied (its ETag).
    pub version: i64,
    pub deleted: bool,
}

/// What an erasure removed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "userId": "665f1c2b8a1e4d0012345678", "deletedEntries": 412, "deletedJobs": 0 }))]
pub struct ErasureResponse {
    pub user_id: String,
    pub deleted_entries: u64,
    /// Jobs of the client that were still waiting on the queue.
    pub deleted_jobs: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryResponse {
    pub items: Vec<WorkoutView>,
    pub count: usize,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RangeView {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<RangeEcho> for RangeView {
    fn from(r: RangeEcho) -> Self {
        Self {
            from: r.from,
            to: r.to,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaviestSetView {
    pub weight: f64,
    pub reps: u32,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    pub date: String,
    pub entry_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HighestVolumeSetView {
    /// reps x weight, in the unit.
    pub volume: f64,
    pub weight: f64,
    pub reps: u32,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    pub date: String,
    pub entry_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BestOneRepMaxView {
    /// Epley: weight x (1 + reps/30).
    pub one_rep_max: f64,
    pub weight: f64,
    pub reps: u32,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    pub date: String,
    pub entry_id: String,
}

/// A set that holds a rep record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepSetView {
    pub reps: u32,
    pub weight: f64,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    pub date: String,
    pub entry_id: String,
}

impl From<PresentedSet> for RepSetView {
    fn from(s: PresentedSet) -> Self {
        Self {
            reps: s.reps,
            weight: s.weight,
            unit: s.unit,
            date: s.date,
            entry_id: s.entry_id,
        }
    }
}

/// The rep maxes: for N reps, the heaviest set of at least N reps with a
/// load (weight above 0); a set of 5 at 100 kg also proves 1 and 3 reps at
/// 100 kg. Null where no set qualifies.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepMaxesView {
    #[serde(rename = "1")]
    pub one: Option<RepSetView>,
    #[serde(rename = "3")]
    pub three: Option<RepSetView>,
    #[serde(rename = "5")]
    pub five: Option<RepSetView>,
    #[serde(rename = "10")]
    pub ten: Option<RepSetView>,
}

/// The most reps logged in one UTC day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayRepsView {
    /// The sum of the reps of every set of the exercise that day.
    pub reps: u64,
    /// The day (its first instant, UTC); the earliest such day on a tie.
    pub date: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrWindowView {
    /// The window, or null for all-time.
    pub range: Option<RangeView>,
    pub heaviest_set: Option<HeaviestSetView>,
    pub highest_volume_set: Option<HighestVolumeSetView>,
    pub best_one_rep_max: Option<BestOneRepMaxView>,
    /// The set with the most reps, at any weight: the record of bodyweight
    /// work (sets logged at weight 0).
    pub most_reps_set: Option<RepSetView>,
    pub rep_maxes: RepMaxesView,
    /// Within a window, a day at its edge counts the part inside it.
    pub most_reps_in_a_day: Option<DayRepsView>,
}

impl PrWindowView {
    pub fn new(
        range: Option<RangeEcho>,
        records: &PersonalRecords,
        reps: &RepRecords,
        unit: Unit,
    ) -> Self {
        let p = |kind: RecordKind| records.get(kind).map(|s| present(kind, s, unit));
        let rep_max = |n: u32| reps.rep_max(n).map(|s| present_set(s, unit).into());
        Self {
            most_reps_set: reps
                .most_reps_set
                .as_ref()
                .map(|s| present_set(s, unit).into()),
            rep_maxes: RepMaxesView {
                one: rep_max(1),
                three: rep_max(3),
                five: rep_max(5),
                ten: rep_max(10),
            },
            most_reps_in_a_day: reps.most_reps_day.map(|d| DayRepsView {
                reps: d.reps,
                date: present_day(d.day),
            }),
            range: range.map(Into::into),
            heaviest_set: p(RecordKind::HeaviestSet).map(|s: PresentedSet| HeaviestSetView {
                weight: s.weight,
                reps: s.reps,
                unit: s.unit,
                date: s.date,
                entry_id: s.entry_id,
            }),
            highest_volume_set: p(RecordKind::HighestVolumeSet).map(|s| HighestVolumeSetView {
                volume: s.value,
                weight: s.weight,
                reps: s.reps,
                unit: s.unit,
                date: s.date,
                entry_id: s.entry_id,
            }),
            best_one_rep_max: p(RecordKind::BestOneRepMax).map(|s| BestOneRepMaxView {
                one_rep_max: s.value,
                weight: s.weight,
                reps: s.reps,
                unit: s.unit,
                date: s.date,
                entry_id: s.entry_id,
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeltasView {
    pub heaviest_weight: Option<f64>,
    pub highest_volume: Option<f64>,
    pub best_one_rep_max: Option<f64>,
}

impl From<Deltas> for DeltasView {
    fn from(d: Deltas) -> Self {
        Self {
            heaviest_weight: d.heaviest_weight,
            highest_volume: d.highest_volume,
            best_one_rep_max: d.best_one_rep_max,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "userId": "665f1c2b8a1e4d0012345678", "exercise": "Bench Press", "unit": "kg",
    "current": { "range": null,
      "heaviestSet": { "weight": 110, "reps": 3, "unit": "kg", "date": "2026-06-09T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456aa" },
      "highestVolumeSet": { "volume": 900, "weight": 90, "reps": 10, "unit": "kg", "date": "2026-06-02T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456ab" },
      "bestOneRepMax": { "oneRepMax": 121, "weight": 110, "reps": 3, "unit": "kg", "date": "2026-06-09T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456aa" },
      "mostRepsSet": { "reps": 10, "weight": 90, "unit": "kg", "date": "2026-06-02T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456ab" },
      "repMaxes": {
        "1": { "reps": 3, "weight": 110, "unit": "kg", "date": "2026-06-09T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456aa" },
        "3": { "reps": 3, "weight": 110, "unit": "kg", "date": "2026-06-09T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456aa" },
        "5": { "reps": 10, "weight": 90, "unit": "kg", "date": "2026-06-02T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456ab" },
        "10": { "reps": 10, "weight": 90, "unit": "kg", "date": "2026-06-02T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456ab" } },
      "mostRepsInADay": { "reps": 10, "date": "2026-06-02T00:00:00Z" } },
    "bodyweight": false, "previous": null, "deltas": null }))]
pub struct PrResponse {
    pub user_id: String,
    /// The exercise's name as last logged (as sent, normalized, when the
    /// client has no entries of it).
    pub exercise: String,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    /// The exercise catalogue lists it as a bodyweight exercise: its
    /// record is `mostRepsSet` (sets are logged at weight 0 or with the
    /// added load).
    pub bodyweight: bool,
    pub current: PrWindowView,
    /// The window of equal length just before `from` (closed ranges only).
    pub previous: Option<PrWindowView>,
    /// current - previous (closed ranges only; a field is null where either side has no sets).
    pub deltas: Option<DeltasView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Only when the client has no entries of this exercise: up to 3 of
    /// its exercise names closest to the one asked for, best first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["Bench Press"]))]
    pub suggestions: Option<Vec<String>>,
}

/// One exercise of a client.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExerciseView {
    /// As last logged.
    pub exercise_name: String,
    /// From the exercise catalogue; null for exercises it does not know.
    pub muscle_group: Option<String>,
    /// Number of entries logged.
    pub entries: u64,
    /// Date of the first entry.
    pub first_date: String,
    /// Date of the last entry.
    pub last_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "userId": "665f1c2b8a1e4d0012345678", "count": 1, "exercises": [
    { "exerciseName": "Bench Press", "muscleGroup": "chest", "entries": 42,
      "firstDate": "2025-01-06T00:00:00Z", "lastDate": "2026-06-09T00:00:00Z" } ] }))]
pub struct ExercisesResponse {
    pub user_id: String,
    pub count: usize,
    /// By name, case-insensitively.
    pub exercises: Vec<ExerciseView>,
}

/// One exercise's records on a PR board.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrBoardRowView {
    /// As last logged.
    pub exercise_name: String,
    pub muscle_group: Option<String>,
    /// The date of the most recent of its records.
    pub last_pr_date: Option<String>,
    pub heaviest_set: Option<HeaviestSetView>,
    pub highest_volume_set: Option<HighestVolumeSetView>,
    pub best_one_rep_max: Option<BestOneRepMaxView>,
}

impl PrBoardRowView {
    pub fn new(row: &crate::prs::overview::BoardRow, catalogue: &Catalogue, unit: Unit) -> Self {
        let records = PrWindowView::new(None, &row.records, &RepRecords::default(), unit);
        Self {
            exercise_name: row.name.clone(),
            muscle_group: catalogue.group_of(&row.key).map(str::to_string),
            last_pr_date: crate::prs::overview::last_record_ms(&row.records)
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(format_instant),
            heaviest_set: records.heaviest_set,
            highest_volume_set: records.highest_volume_set,
            best_one_rep_max: records.best_one_rep_max,
        }
    }
}

/// A board order.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub enum BoardSort {
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "lastPr")]
    LastPr,
}

/// The PR board: one row per exercise with records.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "userId": "665f1c2b8a1e4d0012345678", "unit": "kg", "sort": "lastPr", "range": null, "count": 1,
    "exercises": [ { "exerciseName": "Bench Press", "muscleGroup": "chest", "lastPrDate": "2026-06-09T00:00:00Z",
      "heaviestSet": { "weight": 110, "reps": 3, "unit": "kg", "date": "2026-06-09T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456aa" },
      "highestVolumeSet": { "volume": 900, "weight": 90, "reps": 10, "unit": "kg", "date": "2026-06-02T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456ab" },
      "bestOneRepMax": { "oneRepMax": 121, "weight": 110, "reps": 3, "unit": "kg", "date": "2026-06-09T00:00:00Z", "entryId": "665f1c2b8a1e4d00123456aa" } } ] }))]
pub struct PrBoardResponse {
    pub user_id: String,
    #[schema(value_type = UnitCode)]
    pub unit: Unit,
    #[schema(value_type = BoardSort)]
    pub sort: String,
    /// The window asked for: each row then holds the records set within
    /// it. Null for all-time.
    pub range: Option<RangeView>,
    pub count: usize,
    pub exercises: Vec<PrBoardRowView>,
}

/// The answer of `GET /workouts/prs`: one exercise's records when
/// `exercise` is given, else the board.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PrAnswer {
    Exercise(Box<PrResponse>),
    Board(PrBoardResponse),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntryId, UserId, WorkoutSet};
    use chrono::TimeZone;

    #[test]
    fn entries_present_weights_with_two_decimals() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 6, 9, 0, 0, 0).unwrap();
        let lb = Unit::parse("lb").unwrap();
        let entry = WorkoutEntry {
            id: "665f1c2b8a1e4d00123456aa".parse::<EntryId>().unwrap(),
            user_id: "665f1c2b8a1e4d0012345678".parse::<UserId>().unwrap(),
            exercise_name: "Squat".into(),
            exercise_name_lower: "squat".into(),
            date: at,
            sets: vec![
                WorkoutSet::new(5, 140.0, lb),
                WorkoutSet::new(3, 100.005, Unit::KG),
            ],
            idempotency_key: None,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        // 140 lb is 63.502931800000006 kg at full precision.
        assert_eq!(entry.sets[0].weight_kg, 140.0 * 0.453_592_37);
        let view = WorkoutView::new(&entry, &Catalogue::builtin(), None);
        let shown: Vec<(f64, f64)> = view.sets.iter().map(|s| (s.weight, s.weight_kg)).collect();
        assert_eq!(shown, [(140.0, 63.5), (100.01, 100.01)]);
        let in_lb = WorkoutView::new(&entry, &Catalogue::builtin(), Some(lb));
        assert_eq!(in_lb.sets[0].weight, 140.0);
        assert_eq!(in_lb.sets[1].weight, 220.47);
        assert_eq!(in_lb.sets[1].weight_kg, 100.01);
    }
}
