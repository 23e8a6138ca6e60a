//! What travels on the queues. Payloads are JSON so an operator can read a
//! dead job, and carry final ids and edit numbers so a redelivered job
//! changes nothing the second time.

use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::store::PrChange;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The two queues: persisting accepted batches, then refreshing PRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    Persist,
    Prs,
}

impl QueueName {
    pub const ALL: [QueueName; 2] = [QueueName::Persist, QueueName::Prs];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Persist => "persist",
            QueueName::Prs => "prs",
        }
    }

    pub fn parse(name: &str) -> Option<QueueName> {
        QueueName::ALL.into_iter().find(|q| q.as_str() == name)
    }
}

/// A validated batch to store (ids assigned at submit time, so a replay
/// stores nothing twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBatch {
    pub entries: Vec<WorkoutEntry>,
    /// The request that accepted the batch, for log correlation.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// An accepted edit or delete of one entry, numbered at accept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum EditJob {
    /// The entry as it is to become (its `version` is the edit's number).
    Replace {
        entry: Box<WorkoutEntry>,
        #[serde(default)]
        request_id: Option<String>,
    },
    Delete {
        user_id: UserId,
        id: EntryId,
        /// The delete's edit number.
        version: i64,
        accepted_at: DateTime<Utc>,
        #[serde(default)]
        request_id: Option<String>,
    },
}

impl EditJob {
    pub fn user(&self) -> UserId {
        match self {
            EditJob::Replace { entry, .. } => entry.user_id,
            EditJob::Delete { user_id, .. } => *user_id,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            EditJob::Replace { request_id, .. } | EditJob::Delete { request_id, .. } => {
                request_id.as_deref()
            }
        }
    }
}

/// A job of the persist queue: a batch of new entries, or an edit.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteJob {
    Insert(WriteBatch),
    Edit(EditJob),
}

impl WriteJob {
    pub fn encode(&self) -> serde_json::Result<Vec<u8>> {
        match self {
            WriteJob::Insert(batch) => serde_json::to_vec(batch),
            WriteJob::Edit(edit) => serde_json::to_vec(edit),
        }
    }

    /// Edits carry an `edit` tag; anything else is a batch (the format
    /// every version wrote, so jobs queued before an upgrade still run).
    pub fn decode(payload: &[u8]) -> serde_json::Result<WriteJob> {
        let value: serde_json::Value = serde_json::from_slice(payload)?;
        if value.get("edit").is_some() {
            serde_json::from_value(value).map(WriteJob::Edit)
        } else {
            serde_json::from_value(value).map(WriteJob::Insert)
        }
    }
}

/// Settle one user's writes into the PR read model and day bests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlePrsJob {
    pub user_id: UserId,
    /// The changes to settle. Jobs queued before changes existed named the
    /// inserted entries instead (`entry_ids`).
    #[serde(default)]
    pub changes: Vec<PrChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_ids: Vec<EntryId>,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// The entries' ids grouped by user, in order.
pub fn ids_by_user<'a>(
    entries: impl IntoIterator<Item = &'a WorkoutEntry>,
) -> BTreeMap<UserId, Vec<EntryId>> {
    let mut by_user: BTreeMap<UserId, Vec<EntryId>> = BTreeMap::new();
    for e in entries {
        by_user.entry(e.user_id).or_default().push(e.id);
    }
    by_user
}

/// A job that exhausted its attempts or could not be decoded.
#[derive(Debug, Clone, Serialize)]
pub struct FailedJob {
    pub queue: &'static str,
    pub id: String,
    pub attempts: u64,
    pub error: String,
    /// The payload as stored (JSON text where it decodes as UTF-8).
    pub payload: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Unit, WorkoutSet};
    use chrono::{TimeZone, Utc};

    fn entry(user: &str) -> WorkoutEntry {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        WorkoutEntry {
            id: EntryId::generate(),
            user_id: user.parse().unwrap(),
            exercise_name: "Bench Press".into(),
            exercise_name_lower: "bench press".into(),
            date: now,
            sets: vec![WorkoutSet::new(5, 100.3, Unit::parse("lb").unwrap())],
            idempotency_key: Some("k".into()),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn write_jobs_round_trip_exactly() {
        let insert = WriteJob::Insert(WriteBatch {
            entries: vec![entry("665f1c2b8a1e4d0012345678")],
            request_id: Some("r1".into()),
        });
        let mut edited = entry("665f1c2b8a1e4d0012345678");
        edited.version = 4;
        let replace = WriteJob::Edit(EditJob::Replace {
            entry: Box::new(edited.clone()),
            request_id: None,
        });
        let delete = WriteJob::Edit(EditJob::Delete {
            user_id: edited.user_id,
            id: edited.id,
            version: 5,
            accepted_at: edited.created_at,
            request_id: Some("r2".into()),
        });
        for job in [insert, replace, delete] {
            let bytes = job.encode().unwrap();
            assert_eq!(WriteJob::decode(&bytes).unwrap(), job);
        }
    }

    #[test]
    fn jobs_queued_by_the_previous_version_still_decode() {
        // A batch as the previous version queued it: no `edit` tag, no `version`.
        let old = r#"{"entries":[{"id":"665f1c2b8a1e4d00123456aa","user_id":"665f1c2b8a1e4d0012345678",
            "exercise_name":"Squat","exercise_name_lower":"squat","date":"2026-06-09T00:00:00Z",
            "sets":[{"reps":5,"weight":100.0,"unit":"kg","weight_kg":100.0}],"idempotency_key":null,
            "created_at":"2026-06-09T00:00:00Z","updated_at":"2026-06-09T00:00:00Z"}],"request_id":null}"#;
        let WriteJob::Insert(batch) = WriteJob::decode(old.as_bytes()).unwrap() else {
            panic!("a batch")
        };
        assert_eq!(batch.entries[0].version, 1);
        let old_refresh =
            r#"{"user_id":"665f1c2b8a1e4d0012345678","entry_ids":["665f1c2b8a1e4d00123456aa"]}"#;
        let job: SettlePrsJob = serde_json::from_str(old_refresh).unwrap();
        assert!(job.changes.is_empty());
        assert_eq!(job.entry_ids.len(), 1);
    }

    #[test]
    fn entries_group_by_user_in_order() {
        let a = entry("665f1c2b8a1e4d0012345678");
        let b = entry("665f1c2b8a1e4d0012345679");
        let c = entry("665f1c2b8a1e4d0012345678");
        let grouped = ids_by_user([&a, &b, &c]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[&a.user_id], vec![a.id, c.id]);
        assert_eq!(grouped[&b.user_id], vec![b.id]);
    }

    #[test]
    fn queue_names_parse_back() {
        for q in QueueName::ALL {
            assert_eq!(QueueName::parse(q.as_str()), Some(q));
        }
        assert_eq!(QueueName::parse("other"), None);
    }
}
