//! Writes that change entries: inserts, edits, deletes and erasure. Each
//! runs in one transaction with the [`PrChange`]s and exercise rows it
//! implies, so a reader never sees an entry without its PR change.

use super::rows::{ENTRY_COLUMNS, entry_from_row, sets_to_json};
use super::{INSERT_CHUNK, db_error};
use crate::domain::days::day_of;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::store::{EditOutcome, Inserted, PrChange, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::{HashMap, HashSet};

/// The change an entry's (exercise, day) gets from a write named `op`.
pub fn change(entry: &WorkoutEntry, op: String, destructive: bool) -> PrChange {
    PrChange {
        exercise: entry.exercise_name_lower.clone(),
        day: day_of(entry.date.timestamp_millis()),
        op,
        destructive,
    }
}

/// The op name of an edit or delete: the entry and the edit's number.
pub fn edit_op(id: EntryId, version: i64) -> String {
    format!("{id}@{version}")
}

/// Inserts what may be inserted of `entries` (see `WorkoutStore::insert_entries`).
pub async fn insert(
    conn: &mut SqliteConnection,
    entries: &[WorkoutEntry],
) -> Result<Inserted, StoreError> {
    let mut out = Inserted::default();
    let users: HashSet<UserId> = entries.iter().map(|e| e.user_id).collect();
    let mut erased_at: HashMap<UserId, i64> = HashMap::new();
    for user in &users {
        if let Some(at) =
            sqlx::query_scalar::<_, i64>("SELECT erased_at_ms FROM user_erasures WHERE user_id = ?")
                .bind(user.to_hex())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?
        {
            erased_at.insert(*user, at);
        }
    }
    for chunk in entries.chunks(INSERT_CHUNK) {
        let deleted = tombstoned(conn, chunk).await?;
        let wanted: Vec<&WorkoutEntry> = chunk
            .iter()
            .filter(|e| !deleted.contains(&(e.user_id, e.id)))
            .filter(|e| {
                erased_at
                    .get(&e.user_id)
                    .is_none_or(|at| e.created_at.timestamp_millis() > *at)
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("INSERT INTO workouts ({ENTRY_COLUMNS}) "));
        qb.push_values(&wanted, |mut b, e| {
            b.push_bind(e.id.to_hex())
                .push_bind(e.user_id.to_hex())
                .push_bind(&e.exercise_name)
                .push_bind(&e.exercise_name_lower)
                .push_bind(e.date.timestamp_millis())
                .push_bind(sets_to_json(&e.sets))
                .push_bind(&e.idempotency_key)
                .push_bind(e.created_at.timestamp_millis())
                .push_bind(e.updated_at.timestamp_millis())
                .push_bind(e.version);
        });
        // Any conflict (same id, or same user+key) means "already stored": keep the first.
        qb.push(" ON CONFLICT DO NOTHING RETURNING id");
        let inserted: HashSet<String> = qb
            .build()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        let new: Vec<&&WorkoutEntry> = wanted
            .iter()
            .filter(|e| inserted.contains(&e.id.to_hex()))
            .collect();
        out.count += new.len() as u64;
        for e in &new {
            upsert_exercise(conn, e).await?;
        }
        // Replays too: a job delivered again after its first delivery died
        // before settling must settle; settling twice is harmless.
        let changes: Vec<(UserId, PrChange)> = wanted
            .iter()
            .map(|e| (e.user_id, change(e, e.id.to_hex(), false)))
            .collect();
        record_changes(conn, &changes).await?;
        out.changes.extend(changes);
    }
    Ok(out)
}

/// The (user, id) pairs of `entries` that were deleted.
async fn tombstoned(
    conn: &mut SqliteConnection,
    entries: &[WorkoutEntry],
) -> Result<HashSet<(UserId, EntryId)>, StoreError> {
    let mut qb: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT user_id, id FROM workout_tombstones WHERE (user_id, id) IN (");
    let mut list = qb.separated(", ");
    for e in entries {
        list.push("(")
            .push_bind_unseparated(e.user_id.to_hex())
            .push_unseparated(", ")
            .push_bind_unseparated(e.id.to_hex())
            .push_unseparated(")");
    }
    qb.push(")");
    let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok((
                super::rows::parse_hex(r.get::<&str, _>(0), "workout_tombstones.user_id")?,
                super::rows::parse_hex(r.get::<&str, _>(1), "workout_tombstones.id")?,
            ))
        })
        .collect()
}

pub async fn record_changes(
    conn: &mut SqliteConnection,
    changes: &[(UserId, PrChange)],
) -> Result<(), StoreError> {
    for chunk in changes.chunks(INSERT_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO pr_changes (user_id, exercise_name_lower, day, op, destructive) ",
        );
        qb.push_values(chunk, |mut b, (user, c)| {
            b.push_bind(user.to_hex())
                .push_bind(&c.exercise)
                .push_bind(c.day)
                .push_bind(&c.op)
                .push_bind(c.destructive);
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    Ok(())
}

/// The client's exercise, under the name just logged.
async fn upsert_exercise(conn: &mut SqliteConnection, e: &WorkoutEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO user_exercises (user_id, exercise_name_lower, exercise_name) VALUES (?, ?, ?)
         ON CONFLICT (user_id, exercise_name_lower) DO UPDATE SET exercise_name = excluded.exercise_name",
    )
    .bind(e.user_id.to_hex())
    .bind(&e.exercise_name_lower)
    .bind(&e.exercise_name)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Forgets the client's exercise when its last entry went.
async fn drop_exercise_if_unused(
    conn: &mut SqliteConnection,
    user: UserId,
    exercise_lower: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM user_exercises WHERE user_id = ?1 AND exercise_name_lower = ?2
         AND NOT EXISTS (SELECT 1 FROM workouts WHERE user_id = ?1 AND exercise_name_lower = ?2)",
    )
    .bind(user.to_hex())
    .bind(exercise_lower)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn current(
    conn: &mut SqliteConnection,
    user: UserId,
    id: EntryId,
) -> Result<Option<WorkoutEntry>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM workouts WHERE id = ? AND user_id = ?"
    )))
    .bind(id.to_hex())
    .bind(user.to_hex())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    row.as_ref().map(entry_from_row).transpose()
}

/// Applies an edit (see `WorkoutStore::replace_entry`).
pub async fn replace(
    conn: &mut SqliteConnection,
    entry: &WorkoutEntry,
) -> Result<EditOutcome, StoreError> {
    let Some(before) = current(conn, entry.user_id, entry.id).await? else {
        return Ok(EditOutcome::Missing);
    };
    if before.version >= entry.version {
        return Ok(EditOutcome::Stale {
            current: before.version,
        });
    }
    sqlx::query(
        "UPDATE workouts SET exercise_name = ?, exercise_name_lower = ?, date_ms = ?, sets = ?,
             updated_at_ms = ?, version = ?
         WHERE id = ? AND user_id = ?",
    )
    .bind(&entry.exercise_name)
    .bind(&entry.exercise_name_lower)
    .bind(entry.date.timestamp_millis())
    .bind(sets_to_json(&entry.sets))
    .bind(entry.updated_at.timestamp_millis())
    .bind(entry.version)
    .bind(entry.id.to_hex())
    .bind(entry.user_id.to_hex())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    let op = edit_op(entry.id, entry.version);
    let mut changes = vec![change(&before, op.clone(), true)];
    let after = change(entry, op, true);
    if after != changes[0] {
        changes.push(after);
    }
    let tagged: Vec<(UserId, PrChange)> =
        changes.iter().map(|c| (entry.user_id, c.clone())).collect();
    record_changes(conn, &tagged).await?;
    upsert_exercise(conn, entry).await?;
    if before.exercise_name_lower != entry.exercise_name_lower {
        drop_exercise_if_unused(conn, entry.user_id, &before.exercise_name_lower).await?;
    }
    Ok(EditOutcome::Applied {
        before: Box::new(before),
        changes,
    })
}

/// Applies a delete (see `WorkoutStore::delete_entry`).
pub async fn delete(
    conn: &mut SqliteConnection,
    user: UserId,
    id: EntryId,
    version: i64,
    at: DateTime<Utc>,
) -> Result<EditOutcome, StoreError> {
    let Some(before) = current(conn, user, id).await? else {
        return Ok(EditOutcome::Missing);
    };
    if before.version >= version {
        return Ok(EditOutcome::Stale {
            current: before.version,
        });
    }
    sqlx::query("DELETE FROM workouts WHERE id = ? AND user_id = ?")
        .bind(id.to_hex())
        .bind(user.to_hex())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "INSERT INTO workout_tombstones (user_id, id, idempotency_key, version, deleted_at_ms)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(user.to_hex())
    .bind(id.to_hex())
    .bind(&before.idempotency_key)
    .bind(version)
    .bind(at.timestamp_millis())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    let changes = vec![change(&before, edit_op(id, version), true)];
    record_changes(conn, &[(user, changes[0].clone())]).await?;
    drop_exercise_if_unused(conn, user, &before.exercise_name_lower).await?;
    Ok(EditOutcome::Applied {
        before: Box::new(before),
        changes,
    })
}

/// Erases a client (see `WorkoutStore::erase_user`).
pub async fn erase(
    conn: &mut SqliteConnection,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let user_hex = user.to_hex();
    sqlx::query(
        "INSERT INTO user_erasures (user_id, erased_at_ms) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET erased_at_ms = max(erased_at_ms, ?2)",
    )
    .bind(&user_hex)
    .bind(at.timestamp_millis())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    let entries = sqlx::query("DELETE FROM workouts WHERE user_id = ?")
        .bind(&user_hex)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected();
    for table in [
        "workout_tombstones",
        "personal_records",
        "personal_record_days",
        "personal_record_days_pending",
        "pr_changes",
        "user_exercises",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = ?"
        )))
        .bind(&user_hex)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    // The deletes above made every packed chunk of the client stale; the
    // values still hold the entries, and an erasure keeps nothing.
    sqlx::query(
        "UPDATE insight_chunks SET packed = NULL, packed_generation = NULL WHERE user_id = ?",
    )
    .bind(&user_hex)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(entries)
}
