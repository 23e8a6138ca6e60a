//! The collections behind edits, deletes, erasure and exact PR reads, and
//! every filter and update on them, built by pure functions.
//!
//! - `pr_changes`: `{ userId, exerciseNameLower, day, op, destructive }`,
//!   one per write and (exercise, UTC day) it touched, not yet absorbed by
//!   the read model and day bests.
//! - `workout_tombstones`: `{ _id: entry id, userId, idempotencyKey?,
//!   version, deletedAt }`: deleted entries, whose ids stay reserved.
//! - `user_erasures`: `{ _id: userId, erasedAt }`: writes for an erased
//!   client accepted up to then are dropped.
//! - `user_exercises`: `{ userId, exerciseNameLower, exerciseName }`: each
//!   client's exercises (a key may outlive its last entry here; readers
//!   check the entries).

use super::documents::{bson_date, field};
use super::queries::IndexSpec;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::store::PrChange;
use anyhow::Context;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};

pub const PR_CHANGES: &str = "pr_changes";
pub const TOMBSTONES: &str = "workout_tombstones";
pub const ERASURES: &str = "user_erasures";
pub const USER_EXERCISES: &str = "user_exercises";

pub mod f {
    pub const OP: &str = "op";
    pub const DESTRUCTIVE: &str = "destructive";
    pub const DELETED_AT: &str = "deletedAt";
    pub const ERASED_AT: &str = "erasedAt";
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        // One row per write and day; reads look up one (user, exercise).
        IndexSpec {
            collection: PR_CHANGES,
            name: "user_exercise_day_op_unique",
            keys: doc! { field::USER_ID: 1, field::EXERCISE_NAME_LOWER: 1, field::DAY: 1, f::OP: 1 },
            unique: true,
            partial_filter: None,
        },
        IndexSpec {
            collection: USER_EXERCISES,
            name: "user_exercise_unique",
            keys: doc! { field::USER_ID: 1, field::EXERCISE_NAME_LOWER: 1 },
            unique: true,
            partial_filter: None,
        },
        // Erasure removes a client's tombstones.
        IndexSpec {
            collection: TOMBSTONES,
            name: "user",
            keys: doc! { field::USER_ID: 1 },
            unique: false,
            partial_filter: None,
        },
    ]
}

pub fn change_document(user: UserId, c: &PrChange) -> Document {
    doc! {
        field::USER_ID: user.0,
        field::EXERCISE_NAME_LOWER: &c.exercise,
        field::DAY: c.day,
        f::OP: &c.op,
        f::DESTRUCTIVE: c.destructive,
    }
}

pub fn change_from_document(d: &Document) -> anyhow::Result<PrChange> {
    Ok(PrChange {
        exercise: d.get_str(field::EXERCISE_NAME_LOWER)?.to_string(),
        day: match d.get(field::DAY) {
            Some(Bson::Int64(v)) => *v,
            Some(Bson::Int32(v)) => i64::from(*v),
            other => anyhow::bail!("pr_changes.day: expected an integer, found {other:?}"),
        },
        op: d.get_str(f::OP)?.to_string(),
        destructive: d
            .get_bool(f::DESTRUCTIVE)
            .context("pr_changes.destructive")?,
    })
}

/// The changes of one client, of one exercise or all.
pub fn changes_filter(user: UserId, exercise_lower: Option<&str>) -> Document {
    let mut filter = doc! { field::USER_ID: user.0 };
    if let Some(e) = exercise_lower {
        filter.insert(field::EXERCISE_NAME_LOWER, e);
    }
    filter
}

pub fn changes_sort() -> Document {
    doc! { field::EXERCISE_NAME_LOWER: 1, field::DAY: 1, f::OP: 1 }
}

/// Exactly the given changes of one client.
pub fn these_changes_filter(user: UserId, changes: &[PrChange]) -> Document {
    let any: Vec<Bson> = changes
        .iter()
        .map(|c| {
            Bson::Document(doc! {
                field::EXERCISE_NAME_LOWER: &c.exercise,
                field::DAY: c.day,
                f::OP: &c.op,
            })
        })
        .collect();
    doc! { field::USER_ID: user.0, "$or": any }
}

/// The tombstone of a deleted entry.
pub fn tombstone_document(entry: &WorkoutEntry, version: i64, at: DateTime<Utc>) -> Document {
    let mut d = doc! {
        field::ID: entry.id.0,
        field::USER_ID: entry.user_id.0,
        field::VERSION: version,
        f::DELETED_AT: bson_date(at),
    };
    if let Some(key) = &entry.idempotency_key {
        d.insert(field::IDEMPOTENCY_KEY, key.as_str());
    }
    d
}

pub fn ids_filter(user: UserId, ids: &[EntryId]) -> Document {
    let ids: Vec<Bson> = ids.iter().map(|id| Bson::ObjectId(id.0)).collect();
    doc! { field::ID: { "$in": ids }, field::USER_ID: user.0 }
}

/// The entry exactly at `version`, as an edit read it.
pub fn entry_at_version_filter(user: UserId, id: EntryId, version: i64) -> Document {
    if version == 1 {
        // Entries logged before versions existed have no `version`: version 1.
        doc! {
            field::ID: id.0,
            field::USER_ID: user.0,
            "$or": [
                { field::VERSION: 1_i64 },
                { field::VERSION: { "$exists": false } },
            ],
        }
    } else {
        doc! { field::ID: id.0, field::USER_ID: user.0, field::VERSION: version }
    }
}

/// The update of an edit: the new content, version and time.
pub fn replace_update(entry: &WorkoutEntry) -> Document {
    let d = super::documents::entry_to_document(entry);
    let mut set = Document::new();
    for key in [
        field::EXERCISE_NAME,
        field::EXERCISE_NAME_LOWER,
        field::DATE,
        field::SETS,
        field::UPDATED_AT,
        field::VERSION,
    ] {
        if let Some(v) = d.get(key) {
            set.insert(key, v.clone());
        }
    }
    doc! { "$set": set }
}

/// The erasure record: the latest erasure time wins.
pub fn erasure_update(at: DateTime<Utc>) -> Document {
    doc! { "$max": { f::ERASED_AT: bson_date(at) } }
}

pub fn erasure_filter(user: UserId) -> Document {
    doc! { field::ID: user.0 }
}

pub fn user_filter(user: UserId) -> Document {
    doc! { field::USER_ID: user.0 }
}

/// The client's exercise under the name just logged.
pub fn exercise_upsert(entry: &WorkoutEntry) -> (Document, Document) {
    (
        doc! { field::USER_ID: entry.user_id.0, field::EXERCISE_NAME_LOWER: &entry.exercise_name_lower },
        doc! { "$set": { field::EXERCISE_NAME: &entry.exercise_name } },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Unit, WorkoutSet};
    use bson::oid::ObjectId;
    use chrono::TimeZone;

    fn user() -> UserId {
        "665f1c2b8a1e4d0012345678".parse().unwrap()
    }

    fn entry() -> WorkoutEntry {
        let at = Utc.with_ymd_and_hms(2026, 6, 9, 0, 0, 0).unwrap();
        WorkoutEntry {
            id: "665f1c2b8a1e4d00123456aa".parse().unwrap(),
            user_id: user(),
            exercise_name: "Bench Press".into(),
            exercise_name_lower: "bench press".into(),
            date: at,
            sets: vec![WorkoutSet::new(5, 100.0, Unit::KG)],
            idempotency_key: Some("k".into()),
            created_at: at,
            updated_at: at,
            version: 3,
        }
    }

    fn oid(s: &str) -> ObjectId {
        ObjectId::parse_str(s).unwrap()
    }

    #[test]
    fn changes_round_trip_and_filter_exactly() {
        let c = PrChange {
            exercise: "squat".into(),
            day: 20_613,
            op: "665f1c2b8a1e4d00123456aa@2".into(),
            destructive: true,
        };
        let d = change_document(user(), &c);
        assert_eq!(
            d,
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "exerciseNameLower": "squat",
            "day": 20_613_i64, "op": "665f1c2b8a1e4d00123456aa@2", "destructive": true }
        );
        assert_eq!(change_from_document(&d).unwrap(), c);
        assert_eq!(
            these_changes_filter(user(), std::slice::from_ref(&c)),
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "$or": [
            { "exerciseNameLower": "squat", "day": 20_613_i64, "op": "665f1c2b8a1e4d00123456aa@2" } ] }
        );
        assert_eq!(
            changes_filter(user(), Some("squat")),
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "exerciseNameLower": "squat" }
        );
    }

    #[test]
    fn an_edit_sets_only_the_content_and_applies_only_over_older_versions() {
        let e = entry();
        let update = replace_update(&e);
        let set = update.get_document("$set").unwrap();
        let keys: Vec<&str> = set.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "exerciseName",
                "exerciseNameLower",
                "date",
                "sets",
                "updatedAt",
                "version"
            ]
        );
        assert_eq!(set.get_i64("version").unwrap(), 3);
        assert_eq!(
            entry_at_version_filter(user(), e.id, 3),
            doc! { "_id": oid("665f1c2b8a1e4d00123456aa"), "userId": oid("665f1c2b8a1e4d0012345678"),
            "version": 3_i64 }
        );
        assert_eq!(
            entry_at_version_filter(user(), e.id, 1),
            doc! { "_id": oid("665f1c2b8a1e4d00123456aa"), "userId": oid("665f1c2b8a1e4d0012345678"),
            "$or": [ { "version": 1_i64 }, { "version": { "$exists": false } } ] }
        );
    }

    #[test]
    fn tombstones_keep_the_idempotency_key() {
        let e = entry();
        let t = tombstone_document(&e, 4, e.date);
        assert_eq!(t.get_str("idempotencyKey").unwrap(), "k");
        assert_eq!(t.get_i64("version").unwrap(), 4);
        assert_eq!(t.get_object_id("_id").unwrap(), e.id.0);
    }
}
