//! Entries built directly in the domain types (the store sees what the
//! validated write path would hand it).

use chrono::{DateTime, Duration, TimeZone, Utc};
use everfit::domain::exercise::{name_key, normalize_name};
use everfit::domain::{EntryId, Unit, UserId, WorkoutEntry, WorkoutSet};

pub fn user() -> UserId {
    "665f1c2b8a1e4d0012345678".parse().unwrap()
}

pub fn other_user() -> UserId {
    "665f1c2b8a1e4d0087654321".parse().unwrap()
}

/// An entry id with a chosen last byte (ids compare by bytes).
pub fn id(n: u32) -> EntryId {
    format!("665f1c2b8a1e4d00{n:08x}").parse().unwrap()
}

pub fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(i64::from(d))
}

pub fn kg() -> Unit {
    Unit::KG
}

pub fn lb() -> Unit {
    Unit::parse("lb").unwrap()
}

/// An entry of `user` with the given id, exercise, date and (reps, weight, unit) sets.
pub fn entry_of(
    user: UserId,
    id: EntryId,
    exercise: &str,
    date: DateTime<Utc>,
    sets: &[(u32, f64, Unit)],
) -> WorkoutEntry {
    let name = normalize_name(exercise);
    let created = Utc.with_ymd_and_hms(2026, 6, 9, 10, 0, 0).unwrap() + Duration::milliseconds(123);
    WorkoutEntry {
        id,
        user_id: user,
        exercise_name_lower: name_key(&name),
        exercise_name: name,
        date,
        sets: sets
            .iter()
            .map(|&(reps, weight, unit)| WorkoutSet::new(reps, weight, unit))
            .collect(),
        idempotency_key: None,
        created_at: created,
        updated_at: created,
        version: 1,
    }
}

pub fn entry(id_n: u32, exercise: &str, date: DateTime<Utc>, sets: &[(u32, f64)]) -> WorkoutEntry {
    let sets: Vec<(u32, f64, Unit)> = sets.iter().map(|&(r, w)| (r, w, kg())).collect();
    entry_of(user(), id(id_n), exercise, date, &sets)
}

/// A keyed entry, with its id derived from (user, key) as the API does.
pub fn keyed(user: UserId, key: &str, exercise: &str, date: DateTime<Utc>) -> WorkoutEntry {
    let mut e = entry_of(
        user,
        EntryId::for_idempotency_key(user, key),
        exercise,
        date,
        &[(5, 100.0, kg())],
    );
    e.idempotency_key = Some(key.to_string());
    e
}

pub fn ids(entries: &[WorkoutEntry]) -> Vec<EntryId> {
    entries.iter().map(|e| e.id).collect()
}

/// `entries` in the history order: date desc, id desc.
pub fn newest_first(entries: &[WorkoutEntry]) -> Vec<WorkoutEntry> {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
    sorted
}
