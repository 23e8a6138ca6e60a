//! The BSON shape of what the MongoDB store keeps, and the conversions to and
//! from the domain types. Pure: no I/O.
//!
//! `workouts`: `{ _id, userId, exerciseName, exerciseNameLower, date, sets:
//! [{reps, weight, unit, weightKg}], idempotencyKey?, createdAt, updatedAt,
//! version }`.
//! `idempotencyKey` is absent (not null) when the entry has none, so the
//! partial unique index only sees keyed entries.
//!
//! `personal_records`: `{ userId, exerciseNameLower, heaviestSet,
//! highestVolumeSet, bestOneRepMax, entries, firstDate, lastDate, version,
//! updatedAt }`, each record `{entryId, date, setIndex, reps, weightKg}` or
//! null; `entries` (int64) and the first and last entry dates (null without
//! entries) are absent from rows written before they were kept.
//! `repRecords`: `{ mostRepsSet, repMaxes: [1, 3, 5, 10 reps], mostRepsDay:
//! {day, reps} }` (records as above, or null), absent from rows and day
//! summaries written before rep records were kept.
//!
//! `personal_record_days` (day bests): `{ userId, exerciseNameLower, day,
//! heaviestSet, highestVolumeSet, bestOneRepMax, repRecords, entries,
//! firstDate, lastDate, version, updatedAt }`, one
//! per (user, exercise, UTC day); `day` is `floor(date_ms / 86_400_000)` as an
//! int64, the records as in `personal_records`.
//!
//! `personal_record_days_pending`: `{ userId, exerciseNameLower }`, the keys
//! whose entries were stored before day bests existed (see
//! `queries::pending_backfill_pipeline`). `migrations`: `{ _id: name,
//! appliedAt }`, one per one-time data migration that has run.

use crate::domain::records::{DayReps, PersonalRecords, RepRecords, SetRecord};
use crate::domain::stats::EntryStats;
use crate::domain::{EntryId, Unit, UserId, WorkoutEntry, WorkoutSet};
use anyhow::{Context, anyhow};
use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};

/// Field names, written once.
pub mod field {
    pub const ID: &str = "_id";
    pub const USER_ID: &str = "userId";
    pub const EXERCISE_NAME: &str = "exerciseName";
    pub const EXERCISE_NAME_LOWER: &str = "exerciseNameLower";
    pub const DATE: &str = "date";
    pub const SETS: &str = "sets";
    pub const IDEMPOTENCY_KEY: &str = "idempotencyKey";
    pub const CREATED_AT: &str = "createdAt";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const REPS: &str = "reps";
    pub const WEIGHT: &str = "weight";
    pub const UNIT: &str = "unit";
    pub const WEIGHT_KG: &str = "weightKg";
    pub const VERSION: &str = "version";
    pub const ENTRY_ID: &str = "entryId";
    pub const SET_INDEX: &str = "setIndex";
    pub const HEAVIEST_SET: &str = "heaviestSet";
    pub const HIGHEST_VOLUME_SET: &str = "highestVolumeSet";
    pub const BEST_ONE_REP_MAX: &str = "bestOneRepMax";
    pub const DAY: &str = "day";
    pub const APPLIED_AT: &str = "appliedAt";
    pub const ENTRIES: &str = "entries";
    pub const FIRST_DATE: &str = "firstDate";
    pub const LAST_DATE: &str = "lastDate";
    pub const REP_RECORDS: &str = "repRecords";
    pub const MOST_REPS_SET: &str = "mostRepsSet";
    pub const REP_MAXES: &str = "repMaxes";
    pub const MOST_REPS_DAY: &str = "mostRepsDay";
}

pub fn bson_date(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(t.timestamp_millis())
}

pub fn bson_date_ms(ms: i64) -> bson::DateTime {
    bson::DateTime::from_millis(ms)
}

fn chrono_date(d: bson::DateTime) -> anyhow::Result<DateTime<Utc>> {
    let ms = d.timestamp_millis();
    DateTime::from_timestamp_millis(ms).ok_or_else(|| anyhow!("date out of range: {ms} ms"))
}

/// Reads an integer stored as int32 or int64 (the server may hand back either).
pub fn get_int(doc: &Document, key: &str) -> anyhow::Result<i64> {
    match doc.get(key) {
        Some(Bson::Int32(v)) => Ok(i64::from(*v)),
        Some(Bson::Int64(v)) => Ok(*v),
        other => Err(anyhow!("field {key}: expected an integer, found {other:?}")),
    }
}

/// Reads a compare-and-swap version stored as any numeric type: the store
/// writes int64, but a document touched by hand (a shell `$inc` on an int64
/// with a JavaScript number gives a double) stays readable.
pub fn get_version(doc: &Document) -> anyhow::Result<i64> {
    let integral =
        |v: f64| (v.is_finite() && v.fract() == 0.0 && v.abs() < 2f64.powi(63)).then_some(v as i64);
    let version = match doc.get(field::VERSION) {
        Some(Bson::Int32(v)) => Some(i64::from(*v)),
        Some(Bson::Int64(v)) => Some(*v),
        Some(Bson::Double(v)) => integral(*v),
        Some(Bson::Decimal128(v)) => v.to_string().parse::<f64>().ok().and_then(integral),
        _ => None,
    };
    version.ok_or_else(|| {
        anyhow!(
            "field {}: expected a whole number, found {:?}",
            field::VERSION,
            doc.get(field::VERSION)
        )
    })
}

fn get_u32(doc: &Document, key: &str) -> anyhow::Result<u32> {
    let v = get_int(doc, key)?;
    u32::try_from(v).with_context(|| format!("field {key}: {v} is out of range"))
}

/// The document stored for an entry.
pub fn entry_to_document(e: &WorkoutEntry) -> Document {
    let sets: Vec<Bson> = e
        .sets
        .iter()
        .map(|s| {
            Bson::Document(doc! {
                field::REPS: i64::from(s.reps),
                field::WEIGHT: s.weight,
                field::UNIT: s.unit.code(),
                field::WEIGHT_KG: s.weight_kg,
            })
        })
        .collect();
    let mut d = doc! {
        field::ID: e.id.0,
        field::USER_ID: e.user_id.0,
        field::EXERCISE_NAME: &e.exercise_name,
        field::EXERCISE_NAME_LOWER: &e.exercise_name_lower,
        field::DATE: bson_date(e.date),
        field::SETS: sets,
    };
    if let Some(key) = &e.idempotency_key {
        d.insert(field::IDEMPOTENCY_KEY, key.as_str());
    }
    d.insert(field::CREATED_AT, bson_date(e.created_at));
    d.insert(field::UPDATED_AT, bson_date(e.updated_at));
    d.insert(field::VERSION, e.version);
    d
}

/// The entry a stored document holds.
pub fn entry_from_document(d: &Document) -> anyhow::Result<WorkoutEntry> {
    let sets = d
        .get_array(field::SETS)?
        .iter()
        .map(|s| {
            let s = s
                .as_document()
                .ok_or_else(|| anyhow!("a set is not a document"))?;
            let code = s.get_str(field::UNIT)?;
            Ok(WorkoutSet {
                reps: get_u32(s, field::REPS)?,
                weight: s.get_f64(field::WEIGHT)?,
                unit: Unit::parse(code).ok_or_else(|| anyhow!("unknown unit {code:?}"))?,
                weight_kg: s.get_f64(field::WEIGHT_KG)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let idempotency_key = match d.get(field::IDEMPOTENCY_KEY) {
        None | Some(Bson::Null) => None,
        Some(Bson::String(k)) => Some(k.clone()),
        Some(other) => {
            return Err(anyhow!(
                "idempotencyKey: expected a string, found {other:?}"
            ));
        }
    };
    Ok(WorkoutEntry {
        id: EntryId(d.get_object_id(field::ID)?),
        user_id: UserId(d.get_object_id(field::USER_ID)?),
        exercise_name: d.get_str(field::EXERCISE_NAME)?.to_string(),
        exercise_name_lower: d.get_str(field::EXERCISE_NAME_LOWER)?.to_string(),
        date: chrono_date(*d.get_datetime(field::DATE)?)?,
        sets,
        idempotency_key,
        created_at: chrono_date(*d.get_datetime(field::CREATED_AT)?)?,
        updated_at: chrono_date(*d.get_datetime(field::UPDATED_AT)?)?,
        // Entries logged before versions existed are at their first version.
        version: match d.get(field::VERSION) {
            None => crate::domain::workout::FIRST_VERSION,
            Some(_) => get_int(d, field::VERSION)?,
        },
    })
}

/// One record (a set that holds a PR) as stored in the read model and as the
/// live `$facet` projects it.
pub fn set_record_to_document(s: &SetRecord) -> anyhow::Result<Document> {
    let entry_id = ObjectId::parse_str(&s.entry_id)
        .with_context(|| format!("record entry id {:?} is not an ObjectId", s.entry_id))?;
    Ok(doc! {
        field::ENTRY_ID: entry_id,
        field::DATE: bson_date_ms(s.date_ms),
        field::SET_INDEX: i64::from(s.set_index),
        field::REPS: i64::from(s.reps),
        field::WEIGHT_KG: s.weight_kg,
    })
}

pub fn set_record_from_document(d: &Document) -> anyhow::Result<SetRecord> {
    Ok(SetRecord {
        entry_id: d.get_object_id(field::ENTRY_ID)?.to_hex(),
        date_ms: d.get_datetime(field::DATE)?.timestamp_millis(),
        set_index: get_u32(d, field::SET_INDEX)?,
        reps: get_u32(d, field::REPS)?,
        weight_kg: d.get_f64(field::WEIGHT_KG)?,
    })
}

fn optional_record(r: Option<&SetRecord>) -> anyhow::Result<Bson> {
    Ok(match r {
        Some(s) => Bson::Document(set_record_to_document(s)?),
        None => Bson::Null,
    })
}

/// The three record fields of a read-model row (what a CAS write `$set`s).
pub fn records_to_document(r: &PersonalRecords) -> anyhow::Result<Document> {
    Ok(doc! {
        field::HEAVIEST_SET: optional_record(r.heaviest_set.as_ref())?,
        field::HIGHEST_VOLUME_SET: optional_record(r.highest_volume_set.as_ref())?,
        field::BEST_ONE_REP_MAX: optional_record(r.best_one_rep_max.as_ref())?,
    })
}

fn record_field(d: &Document, key: &str) -> anyhow::Result<Option<SetRecord>> {
    match d.get(key) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Document(r)) => set_record_from_document(r)
            .map(Some)
            .with_context(|| format!("field {key}")),
        // The `$facet` result holds each record as a 0- or 1-element array.
        Some(Bson::Array(a)) => match a.first() {
            None => Ok(None),
            Some(Bson::Document(r)) => set_record_from_document(r)
                .map(Some)
                .with_context(|| format!("field {key}")),
            Some(other) => Err(anyhow!("field {key}: unexpected {other:?}")),
        },
        Some(other) => Err(anyhow!("field {key}: unexpected {other:?}")),
    }
}

/// Records from a read-model row or from the live `$facet` result.
pub fn records_from_document(d: &Document) -> anyhow::Result<PersonalRecords> {
    Ok(PersonalRecords {
        heaviest_set: record_field(d, field::HEAVIEST_SET)?,
        highest_volume_set: record_field(d, field::HIGHEST_VOLUME_SET)?,
        best_one_rep_max: record_field(d, field::BEST_ONE_REP_MAX)?,
    })
}

/// The rep records field of a read-model row or a day summary.
pub fn rep_records_to_document(r: &RepRecords) -> anyhow::Result<Document> {
    let rep_maxes = r
        .rep_maxes
        .iter()
        .map(|s| optional_record(s.as_ref()))
        .collect::<anyhow::Result<Vec<Bson>>>()?;
    let day = r.most_reps_day.map_or(Bson::Null, |d| {
        Bson::Document(doc! { field::DAY: d.day, field::REPS: d.reps as i64 })
    });
    Ok(doc! {
        field::REP_RECORDS: {
            field::MOST_REPS_SET: optional_record(r.most_reps_set.as_ref())?,
            field::REP_MAXES: rep_maxes,
            field::MOST_REPS_DAY: day,
        }
    })
}

/// The rep records of a row or a day summary; `None` when it was written
/// before they were kept.
pub fn rep_records_from_document(d: &Document) -> anyhow::Result<Option<RepRecords>> {
    let Some(r) = d.get(field::REP_RECORDS) else {
        return Ok(None);
    };
    let r = r
        .as_document()
        .ok_or_else(|| anyhow!("field {}: not a document", field::REP_RECORDS))?;
    let mut out = RepRecords {
        most_reps_set: record_field(r, field::MOST_REPS_SET)?,
        ..RepRecords::default()
    };
    let maxes = r.get_array(field::REP_MAXES)?;
    if maxes.len() != out.rep_maxes.len() {
        return Err(anyhow!(
            "field {}: {} rep maxes",
            field::REP_MAXES,
            maxes.len()
        ));
    }
    for (slot, stored) in out.rep_maxes.iter_mut().zip(maxes) {
        *slot = match stored {
            Bson::Null => None,
            Bson::Document(s) => Some(set_record_from_document(s)?),
            other => return Err(anyhow!("field {}: unexpected {other:?}", field::REP_MAXES)),
        };
    }
    out.most_reps_day = match r.get(field::MOST_REPS_DAY) {
        None | Some(Bson::Null) => None,
        Some(Bson::Document(day)) => Some(DayReps {
            day: get_int(day, field::DAY)?,
            reps: get_int(day, field::REPS)?.max(0) as u64,
        }),
        Some(other) => {
            return Err(anyhow!(
                "field {}: unexpected {other:?}",
                field::MOST_REPS_DAY
            ));
        }
    };
    Ok(Some(out))
}

/// The entry stats fields of a read-model row or a day summary.
pub fn stats_to_document(s: &EntryStats) -> Document {
    let date = |ms: Option<i64>| ms.map_or(Bson::Null, |ms| Bson::DateTime(bson_date_ms(ms)));
    doc! {
        field::ENTRIES: s.entries as i64,
        field::FIRST_DATE: date(s.first_ms),
        field::LAST_DATE: date(s.last_ms),
    }
}

/// The entry stats of a row or a day summary; `None` when it was written
/// before they were kept.
pub fn stats_from_document(d: &Document) -> anyhow::Result<Option<EntryStats>> {
    if d.get(field::ENTRIES).is_none() {
        return Ok(None);
    }
    let date = |key: &str| -> anyhow::Result<Option<i64>> {
        match d.get(key) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::DateTime(t)) => Ok(Some(t.timestamp_millis())),
            Some(other) => Err(anyhow!("field {key}: unexpected {other:?}")),
        }
    };
    Ok(Some(EntryStats {
        entries: get_int(d, field::ENTRIES)?.max(0) as u64,
        first_ms: date(field::FIRST_DATE)?,
        last_ms: date(field::LAST_DATE)?,
    }))
}

/// A stored day summary as read.
pub type DayRecords = (
    i64,
    PersonalRecords,
    Option<EntryStats>,
    Option<RepRecords>,
    i64,
);

/// A stored day summary: its day, records, entry stats, rep records and version.
pub fn day_records_from_document(d: &Document) -> anyhow::Result<DayRecords> {
    Ok((
        get_int(d, field::DAY)?,
        records_from_document(d)?,
        stats_from_document(d)?,
        rep_records_from_document(d)?,
        get_version(d)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(key: Option<&str>) -> WorkoutEntry {
        let user: UserId = "665f1c2b8a1e4d0012345678".parse().unwrap();
        let date = Utc.with_ymd_and_hms(2026, 6, 9, 10, 30, 0).unwrap();
        WorkoutEntry {
            id: "665f1c2b8a1e4d00000000aa".parse().unwrap(),
            user_id: user,
            exercise_name: "Bench Press".into(),
            exercise_name_lower: "bench press".into(),
            date,
            sets: vec![
                WorkoutSet::new(5, 100.0, Unit::KG),
                WorkoutSet::new(8, 225.0, Unit::parse("lb").unwrap()),
            ],
            idempotency_key: key.map(Into::into),
            created_at: date,
            updated_at: date + chrono::Duration::milliseconds(7),
            version: 2,
        }
    }

    #[test]
    fn entry_document_has_the_documented_shape() {
        let e = entry(Some("k-1"));
        let d = entry_to_document(&e);
        let expected = doc! {
            "_id": e.id.0,
            "userId": e.user_id.0,
            "exerciseName": "Bench Press",
            "exerciseNameLower": "bench press",
            "date": bson::DateTime::from_millis(e.date.timestamp_millis()),
            "sets": [
                { "reps": 5_i64, "weight": 100.0, "unit": "kg", "weightKg": 100.0 },
                { "reps": 8_i64, "weight": 225.0, "unit": "lb", "weightKg": 225.0 * 0.453_592_37 },
            ],
            "idempotencyKey": "k-1",
            "createdAt": bson::DateTime::from_millis(e.created_at.timestamp_millis()),
            "updatedAt": bson::DateTime::from_millis(e.updated_at.timestamp_millis()),
            "version": 2_i64,
        };
        assert_eq!(d, expected);
        // Same key order as written (equality above ignores order).
        assert_eq!(format!("{d:?}"), format!("{expected:?}"));
    }

    #[test]
    fn an_entry_without_key_has_no_key_field() {
        let d = entry_to_document(&entry(None));
        assert!(!d.contains_key("idempotencyKey"), "{d}");
    }

    #[test]
    fn entries_round_trip() {
        for e in [entry(None), entry(Some("k"))] {
            assert_eq!(entry_from_document(&entry_to_document(&e)).unwrap(), e);
        }
    }

    #[test]
    fn entries_logged_before_versions_read_as_version_1_and_any_integer_counts() {
        let mut d = entry_to_document(&entry(None));
        d.remove("version");
        assert_eq!(entry_from_document(&d).unwrap().version, 1);
        d.insert("version", 3_i32);
        assert_eq!(entry_from_document(&d).unwrap().version, 3);
    }

    #[test]
    fn int32_reps_are_read_too() {
        let mut d = entry_to_document(&entry(None));
        d.insert(
            "sets",
            vec![Bson::Document(
                doc! { "reps": 5_i32, "weight": 1.5, "unit": "kg", "weightKg": 1.5 },
            )],
        );
        assert_eq!(entry_from_document(&d).unwrap().sets[0].reps, 5);
    }

    #[test]
    fn corrupt_documents_are_errors_not_panics() {
        let mut d = entry_to_document(&entry(None));
        d.insert("sets", vec![Bson::Document(doc! { "reps": -1_i64 })]);
        assert!(entry_from_document(&d).is_err());
        let mut d = entry_to_document(&entry(None));
        d.insert("idempotencyKey", 5_i32);
        assert!(entry_from_document(&d).is_err());
    }

    fn record(id: &str, set_index: u32) -> SetRecord {
        SetRecord {
            entry_id: id.into(),
            date_ms: -86_400_000, // before 1970 is fine
            set_index,
            reps: 3,
            weight_kg: 110.5,
        }
    }

    #[test]
    fn records_round_trip_with_nulls() {
        let r = PersonalRecords {
            heaviest_set: Some(record("665f1c2b8a1e4d00000000aa", 2)),
            highest_volume_set: None,
            best_one_rep_max: Some(record("665f1c2b8a1e4d00000000ab", 0)),
        };
        let d = records_to_document(&r).unwrap();
        assert_eq!(
            d,
            doc! {
                "heaviestSet": {
                    "entryId": ObjectId::parse_str("665f1c2b8a1e4d00000000aa").unwrap(),
                    "date": bson::DateTime::from_millis(-86_400_000),
                    "setIndex": 2_i64, "reps": 3_i64, "weightKg": 110.5,
                },
                "highestVolumeSet": Bson::Null,
                "bestOneRepMax": {
                    "entryId": ObjectId::parse_str("665f1c2b8a1e4d00000000ab").unwrap(),
                    "date": bson::DateTime::from_millis(-86_400_000),
                    "setIndex": 0_i64, "reps": 3_i64, "weightKg": 110.5,
                },
            }
        );
        assert_eq!(records_from_document(&d).unwrap(), r);
    }

    #[test]
    fn facet_results_are_read_from_single_element_arrays() {
        let r = record("665f1c2b8a1e4d00000000aa", 1);
        let one = set_record_to_document(&r).unwrap();
        let d =
            doc! { "heaviestSet": [one.clone()], "highestVolumeSet": [one], "bestOneRepMax": [] };
        let got = records_from_document(&d).unwrap();
        assert_eq!(got.heaviest_set.as_ref(), Some(&r));
        assert_eq!(got.highest_volume_set.as_ref(), Some(&r));
        assert_eq!(got.best_one_rep_max, None);
    }

    #[test]
    fn a_record_with_a_non_object_id_entry_is_refused() {
        assert!(set_record_to_document(&record("not-hex", 0)).is_err());
    }

    #[test]
    fn day_summaries_are_read_with_their_day_and_version() {
        let r = PersonalRecords {
            heaviest_set: Some(record("665f1c2b8a1e4d00000000aa", 1)),
            highest_volume_set: None,
            best_one_rep_max: None,
        };
        let mut d = records_to_document(&r).unwrap();
        d.insert(
            "userId",
            ObjectId::parse_str("665f1c2b8a1e4d0012345678").unwrap(),
        );
        d.insert("day", -3_i64);
        d.insert("version", 4_i32);
        assert_eq!(
            day_records_from_document(&d).unwrap(),
            (-3, r.clone(), None, None, 4)
        );
        let stats = EntryStats {
            entries: 2,
            first_ms: Some(-3 * 86_400_000),
            last_ms: Some(-3 * 86_400_000 + 5),
        };
        d.extend(stats_to_document(&stats));
        assert_eq!(
            day_records_from_document(&d).unwrap(),
            (-3, r.clone(), Some(stats), None, 4)
        );
        let reps = RepRecords::compute(&[record("665f1c2b8a1e4d00000000aa", 1)]);
        d.extend(rep_records_to_document(&reps).unwrap());
        assert_eq!(
            day_records_from_document(&d).unwrap(),
            (-3, r, Some(stats), Some(reps), 4)
        );
        let empty = stats_to_document(&EntryStats::default());
        assert_eq!(
            stats_from_document(&empty).unwrap(),
            Some(EntryStats::default())
        );
        d.remove("version");
        assert!(day_records_from_document(&d).is_err());
    }

    #[test]
    fn rep_records_round_trip_with_nulls() {
        let sets = [
            record("665f1c2b8a1e4d00000000aa", 0),
            SetRecord {
                reps: 12,
                weight_kg: 0.0,
                ..record("665f1c2b8a1e4d00000000ab", 1)
            },
        ];
        let reps = RepRecords::compute(&sets);
        assert!(reps.rep_max(10).is_none() && reps.most_reps_day.is_some());
        let d = rep_records_to_document(&reps).unwrap();
        assert_eq!(rep_records_from_document(&d).unwrap(), Some(reps));
        let empty = rep_records_to_document(&RepRecords::default()).unwrap();
        assert_eq!(
            rep_records_from_document(&empty).unwrap(),
            Some(RepRecords::default())
        );
        assert_eq!(rep_records_from_document(&doc! {}).unwrap(), None);
    }

    #[test]
    fn versions_of_any_numeric_type_are_read() {
        let with = |v: Bson| doc! { "version": v };
        assert_eq!(get_version(&with(Bson::Int32(4))).unwrap(), 4);
        assert_eq!(get_version(&with(Bson::Int64(5))).unwrap(), 5);
        // A shell `$inc: {version: 1}` on an int64 stores a double.
        assert_eq!(get_version(&with(Bson::Double(6.0))).unwrap(), 6);
        let decimal: bson::Decimal128 = "7".parse().unwrap();
        assert_eq!(get_version(&with(Bson::Decimal128(decimal))).unwrap(), 7);
        for bad in [
            Bson::Double(6.5),
            Bson::Double(f64::NAN),
            Bson::Double(1e19),
            Bson::String("6".into()),
            Bson::Null,
        ] {
            assert!(get_version(&with(bad.clone())).is_err(), "{bad:?}");
        }
        assert!(get_version(&doc! {}).is_err());
    }
}
