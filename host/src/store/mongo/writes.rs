//! Writes that change entries on MongoDB: inserts, edits, deletes and
//! erasure, without multi-document transactions. The order of the writes
//! is what keeps readers and racing writers right:
//!
//! - A [`PrChange`] is written BEFORE the entry write it describes, so a PR
//!   read that sees the entry also sees the change (and computes that day live).
//! - A tombstone or an erasure record is written BEFORE the entries go, and
//!   an insert checks for them AFTER it wrote: whichever way an insert and a
//!   delete (or an erasure) interleave, the entry ends up gone.
//! - The insight chunks of the spans a write changes are marked BEFORE it
//!   writes and released AFTER, whatever its outcome (see `chunks`).

use super::changes::{self as q, ERASURES, PR_CHANGES, TOMBSTONES, USER_EXERCISES};
use super::chunks::{self, SpanMarks};
use super::documents::{self, field};
use super::errors::{is_duplicate_key, store_error};
use super::{MongoStore, corrupt};
use crate::domain::days::day_of;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::store::cas::MAX_CAS_ATTEMPTS;
use crate::store::{EditOutcome, Inserted, PrChange, StoreError};
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::Collection;
use std::collections::{BTreeMap, HashSet};

fn change(entry: &WorkoutEntry, op: String, destructive: bool) -> PrChange {
    PrChange {
        exercise: entry.exercise_name_lower.clone(),
        day: day_of(entry.date.timestamp_millis()),
        op,
        destructive,
    }
}

/// An edit that kept missing an entry older than itself: contention, so
/// the job is tried again later.
fn contended(id: EntryId) -> StoreError {
    StoreError::Unavailable(format!(
        "entry {id}: the edit kept losing to concurrent writes"
    ))
}

fn edit_op(id: EntryId, version: i64) -> String {
    format!("{id}@{version}")
}

impl MongoStore {
    fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// Records changes (already recorded ones are kept as they are).
    pub(super) async fn record_changes(
        &self,
        user: UserId,
        changes: &[PrChange],
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let docs: Vec<Document> = changes
            .iter()
            .map(|c| q::change_document(user, c))
            .collect();
        ignore_duplicates(
            self.collection(PR_CHANGES)
                .insert_many(docs)
                .ordered(false)
                .await,
        )
    }

    async fn upsert_exercise(&self, entry: &WorkoutEntry) -> Result<(), StoreError> {
        let (filter, update) = q::exercise_upsert(entry);
        match self
            .collection(USER_EXERCISES)
            .update_one(filter, update)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(()),
            // Two first writes of one exercise raced; the other created it.
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// The erasure times of `users`.
    async fn erasures(&self, users: &HashSet<UserId>) -> Result<BTreeMap<UserId, i64>, StoreError> {
        let ids: Vec<Bson> = users.iter().map(|u| Bson::ObjectId(u.0)).collect();
        let docs: Vec<Document> = self
            .collection(ERASURES)
            .find(doc! { field::ID: { "$in": ids } })
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        docs.iter()
            .map(|d| {
                Ok((
                    UserId(d.get_object_id(field::ID).map_err(|e| corrupt(e.into()))?),
                    d.get_datetime(q::f::ERASED_AT)
                        .map_err(|e| corrupt(e.into()))?
                        .timestamp_millis(),
                ))
            })
            .collect()
    }

    /// The (user, id) pairs among `entries` that have tombstones.
    async fn tombstoned(
        &self,
        entries: &[&WorkoutEntry],
    ) -> Result<HashSet<(UserId, EntryId)>, StoreError> {
        let mut out = HashSet::new();
        let mut by_user: BTreeMap<UserId, Vec<EntryId>> = BTreeMap::new();
        for e in entries {
            by_user.entry(e.user_id).or_default().push(e.id);
        }
        for (user, ids) in by_user {
            for id in self.deleted(user, &ids).await? {
                out.insert((user, id));
            }
        }
        Ok(out)
    }

    pub(super) async fn deleted(
        &self,
        user: UserId,
        ids: &[EntryId],
    ) -> Result<Vec<EntryId>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(1000) {
            let docs: Vec<Document> = self
                .collection(TOMBSTONES)
                .find(q::ids_filter(user, chunk))
                .projection(doc! { field::ID: 1 })
                .await
                .map_err(store_error)?
                .try_collect()
                .await
                .map_err(store_error)?;
            for d in docs {
                out.push(EntryId(
                    d.get_object_id(field::ID).map_err(|e| corrupt(e.into()))?,
                ));
            }
        }
        Ok(out)
    }

    /// Which of `entries` may be stored: not deleted, and not of a client
    /// erased after the entry was accepted.
    async fn storable<'a>(
        &self,
        entries: &'a [WorkoutEntry],
    ) -> Result<Vec<&'a WorkoutEntry>, StoreError> {
        let users: HashSet<UserId> = entries.iter().map(|e| e.user_id).collect();
        let erased = self.erasures(&users).await?;
        let candidates: Vec<&WorkoutEntry> = entries
            .iter()
            .filter(|e| {
                erased
                    .get(&e.user_id)
                    .is_none_or(|at| e.created_at.timestamp_millis() > *at)
            })
            .collect();
        let deleted = self.tombstoned(&candidates).await?;
        Ok(candidates
            .into_iter()
            .filter(|e| !deleted.contains(&(e.user_id, e.id)))
            .collect())
    }

    pub(super) async fn insert(&self, entries: &[WorkoutEntry]) -> Result<Inserted, StoreError> {
        let wanted = self.storable(entries).await?;
        if wanted.is_empty() {
            return Ok(Inserted::default());
        }
        let mut marks = SpanMarks::new();
        let inserted = async {
            marks
                .mark(self, chunks::spans_of(wanted.iter().copied()))
                .await?;
            self.insert_marked(wanted).await
        }
        .await;
        marks.release(self).await;
        inserted
    }

    /// `insert` once the entries' insight chunks are marked.
    async fn insert_marked(&self, wanted: Vec<&WorkoutEntry>) -> Result<Inserted, StoreError> {
        // Changes and exercises first: a reader that sees an entry sees them.
        let mut changes_by_user: BTreeMap<UserId, Vec<PrChange>> = BTreeMap::new();
        for e in &wanted {
            changes_by_user
                .entry(e.user_id)
                .or_default()
                .push(change(e, e.id.to_hex(), false));
        }
        for (user, changes) in &changes_by_user {
            self.record_changes(*user, changes).await?;
        }
        // The last of a batch is the name as last logged (as on SQLite).
        let mut seen = HashSet::new();
        for e in wanted.iter().rev() {
            if seen.insert((e.user_id, &e.exercise_name_lower)) {
                self.upsert_exercise(e).await?;
            }
        }
        let docs: Vec<Document> = wanted
            .iter()
            .map(|e| documents::entry_to_document(e))
            .collect();
        let new = self.insert_documents(docs).await?;
        // A delete or an erasure may have landed while we wrote: undo it.
        let wanted: Vec<WorkoutEntry> = wanted.into_iter().cloned().collect();
        let still: HashSet<(UserId, EntryId)> = self
            .storable(&wanted)
            .await?
            .into_iter()
            .map(|e| (e.user_id, e.id))
            .collect();
        let mut undone = 0;
        for e in &wanted {
            if !still.contains(&(e.user_id, e.id)) {
                undone += self
                    .workouts
                    .delete_one(doc! { field::ID: e.id.0, field::USER_ID: e.user_id.0 })
                    .await
                    .map_err(store_error)?
                    .deleted_count;
            }
        }
        Ok(Inserted {
            count: new.saturating_sub(undone),
            // Every change recorded, replays and undone inserts included:
            // settling them is harmless, and clears them.
            changes: changes_by_user
                .into_iter()
                .flat_map(|(user, changes)| changes.into_iter().map(move |c| (user, c)))
                .collect(),
        })
    }

    async fn current(&self, user: UserId, id: EntryId) -> Result<Option<WorkoutEntry>, StoreError> {
        let found = self
            .workouts
            .find_one(doc! { field::ID: id.0, field::USER_ID: user.0 })
            .await
            .map_err(store_error)?;
        found
            .as_ref()
            .map(documents::entry_from_document)
            .transpose()
            .map_err(corrupt)
    }

    /// Why an edit at `version` cannot apply now: the entry is gone, or a
    /// later edit got there first. `None` when it can.
    fn refusal(current: Option<&WorkoutEntry>, version: i64) -> Option<EditOutcome> {
        match current {
            None => Some(EditOutcome::Missing),
            Some(now) if now.version >= version => Some(EditOutcome::Stale {
                current: now.version,
            }),
            Some(_) => None,
        }
    }

    /// Replaces an entry with a newer version of it. The write names the
    /// version it read (not just "older than mine"), so the entry it
    /// overwrites is exactly the one whose day it recorded a change for;
    /// when a concurrent write got in between, it reads again. (MongoDB
    /// and DocumentDB alike: DocumentDB does not re-check a filter after a
    /// concurrent update, so a miss may also come with nothing newer.)
    pub(super) async fn replace(&self, entry: &WorkoutEntry) -> Result<EditOutcome, StoreError> {
        let mut marks = SpanMarks::new();
        let outcome = self.replace_marking(entry, &mut marks).await;
        marks.release(self).await;
        outcome
    }

    async fn replace_marking(
        &self,
        entry: &WorkoutEntry,
        marks: &mut SpanMarks,
    ) -> Result<EditOutcome, StoreError> {
        let user = entry.user_id;
        let op = edit_op(entry.id, entry.version);
        let mut recorded: Vec<PrChange> = Vec::new();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let current = self.current(user, entry.id).await?;
            if let Some(outcome) = Self::refusal(current.as_ref(), entry.version) {
                self.clear_changes(user, &recorded).await?;
                return Ok(outcome);
            }
            let before = current.expect("refused when missing");
            let mut new: Vec<PrChange> = Vec::new();
            for c in [
                change(&before, op.clone(), true),
                change(entry, op.clone(), true),
            ] {
                if !recorded.contains(&c) && !new.contains(&c) {
                    new.push(c);
                }
            }
            self.record_changes(user, &new).await?;
            recorded.extend(new);
            marks.mark(self, chunks::spans_of([&before, entry])).await?;
            self.upsert_exercise(entry).await?;
            let updated = self
                .workouts
                .update_one(
                    q::entry_at_version_filter(user, entry.id, before.version),
                    q::replace_update(entry),
                )
                .await
                .map_err(store_error)?;
            if updated.matched_count == 1 {
                // Every day recorded on the way is settled (and cleared).
                return Ok(EditOutcome::Applied {
                    before: Box::new(before),
                    changes: recorded,
                });
            }
        }
        Err(contended(entry.id))
    }

    /// Deletes an entry (see `replace` for why each attempt names the
    /// version it read).
    pub(super) async fn delete(
        &self,
        user: UserId,
        id: EntryId,
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<EditOutcome, StoreError> {
        let mut marks = SpanMarks::new();
        let outcome = self.delete_marking(user, id, version, at, &mut marks).await;
        marks.release(self).await;
        outcome
    }

    async fn delete_marking(
        &self,
        user: UserId,
        id: EntryId,
        version: i64,
        at: DateTime<Utc>,
        marks: &mut SpanMarks,
    ) -> Result<EditOutcome, StoreError> {
        let op = edit_op(id, version);
        let mut recorded: Vec<PrChange> = Vec::new();
        let mut tombstoned = false;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let current = self.current(user, id).await?;
            if let Some(outcome) = Self::refusal(current.as_ref(), version) {
                if tombstoned && matches!(outcome, EditOutcome::Stale { .. }) {
                    // A newer edit won: the entry lives on, so must its id.
                    self.collection(TOMBSTONES)
                        .delete_one(doc! { field::ID: id.0, field::VERSION: version })
                        .await
                        .map_err(store_error)?;
                }
                self.clear_changes(user, &recorded).await?;
                return Ok(outcome);
            }
            let before = current.expect("refused when missing");
            let c = change(&before, op.clone(), true);
            if !recorded.contains(&c) {
                self.record_changes(user, std::slice::from_ref(&c)).await?;
                recorded.push(c);
            }
            marks.mark(self, chunks::spans_of([&before])).await?;
            if !tombstoned {
                match self
                    .collection(TOMBSTONES)
                    .insert_one(q::tombstone_document(&before, version, at))
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_duplicate_key(&e) => {}
                    Err(e) => return Err(store_error(e)),
                }
                tombstoned = true;
            }
            let deleted = self
                .workouts
                .delete_one(q::entry_at_version_filter(user, id, before.version))
                .await
                .map_err(store_error)?;
            if deleted.deleted_count == 1 {
                return Ok(EditOutcome::Applied {
                    before: Box::new(before),
                    changes: recorded,
                });
            }
        }
        Err(contended(id))
    }

    pub(super) async fn erase(&self, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        // The record first: inserts racing with the erasure see it and undo.
        self.collection(ERASURES)
            .update_one(q::erasure_filter(user), q::erasure_update(at))
            .upsert(true)
            .await
            .map_err(store_error)?;
        let entries = self
            .workouts
            .delete_many(q::user_filter(user))
            .await
            .map_err(store_error)?
            .deleted_count;
        self.erase_chunks(user).await?;
        for name in [
            TOMBSTONES,
            super::queries::PERSONAL_RECORDS,
            super::queries::PERSONAL_RECORD_DAYS,
            super::queries::PERSONAL_RECORD_DAYS_PENDING,
            PR_CHANGES,
            USER_EXERCISES,
        ] {
            self.collection(name)
                .delete_many(q::user_filter(user))
                .await
                .map_err(store_error)?;
        }
        Ok(entries)
    }

    pub(super) async fn changes(
        &self,
        user: UserId,
        exercise_lower: Option<&str>,
    ) -> Result<Vec<PrChange>, StoreError> {
        let docs: Vec<Document> = self
            .collection(PR_CHANGES)
            .find(q::changes_filter(user, exercise_lower))
            .sort(q::changes_sort())
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        docs.iter()
            .map(|d| q::change_from_document(d).map_err(corrupt))
            .collect()
    }

    pub(super) async fn clear_changes(
        &self,
        user: UserId,
        changes: &[PrChange],
    ) -> Result<(), StoreError> {
        for chunk in changes.chunks(500) {
            self.collection(PR_CHANGES)
                .delete_many(q::these_changes_filter(user, chunk))
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// The client's exercise keys as recorded (some may have no entries left).
    pub(super) async fn recorded_keys(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        let docs: Vec<Document> = self
            .collection(USER_EXERCISES)
            .find(q::user_filter(user))
            .projection(doc! { field::EXERCISE_NAME_LOWER: 1 })
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        docs.iter()
            .map(|d| {
                d.get_str(field::EXERCISE_NAME_LOWER)
                    .map(str::to_string)
                    .map_err(|e| corrupt(e.into()))
            })
            .collect()
    }

    /// One key's name, when it still has entries (see `exercises`).
    pub(super) async fn exercise_name_of(
        &self,
        user: UserId,
        exercise_lower: &str,
    ) -> Result<Option<String>, StoreError> {
        let filter = doc! { field::USER_ID: user.0, field::EXERCISE_NAME_LOWER: exercise_lower };
        let Some(d) = self
            .collection(USER_EXERCISES)
            .find_one(filter.clone())
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let used = self
            .workouts
            .find_one(filter)
            .projection(doc! { field::ID: 1 })
            .await
            .map_err(store_error)?
            .is_some();
        if !used {
            return Ok(None);
        }
        d.get_str(field::EXERCISE_NAME)
            .map(|n| Some(n.to_string()))
            .map_err(|e| corrupt(e.into()))
    }

    pub(super) async fn exercises(
        &self,
        user: UserId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let docs: Vec<Document> = self
            .collection(USER_EXERCISES)
            .find(q::user_filter(user))
            .sort(doc! { field::EXERCISE_NAME_LOWER: 1 })
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        let mut out = Vec::with_capacity(docs.len());
        for d in &docs {
            let key = d
                .get_str(field::EXERCISE_NAME_LOWER)
                .map_err(|e| corrupt(e.into()))?;
            // A key outlives its last entry here (dropping it could race with
            // a new entry of it): list only keys that still have entries.
            let used = self
                .workouts
                .find_one(doc! { field::USER_ID: user.0, field::EXERCISE_NAME_LOWER: key })
                .projection(doc! { field::ID: 1 })
                .await
                .map_err(store_error)?
                .is_some();
            if used {
                let name = d
                    .get_str(field::EXERCISE_NAME)
                    .map_err(|e| corrupt(e.into()))?;
                out.push((key.to_string(), name.to_string()));
            }
        }
        Ok(out)
    }
}

/// An unordered insert whose only failures are duplicates succeeded.
fn ignore_duplicates<T>(result: mongodb::error::Result<T>) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        // A batch of duplicates only classifies as a duplicate (see `errors`).
        Err(e) if is_duplicate_key(&e) => Ok(()),
        Err(e) => Err(store_error(e)),
    }
}
