//! What travels on the queues. Payloads are JSON so an operator can read a
//! dead job, and carry final ids so a redelivered job stores nothing twice.

use crate::domain::{EntryId, UserId, WorkoutEntry};
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

/// Fold stored entries into the PR read model of their user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshPrsJob {
    pub user_id: UserId,
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

impl RefreshPrsJob {
    /// One job per user the batch touched.
    pub fn for_batch(job: &WriteBatch) -> Vec<RefreshPrsJob> {
        ids_by_user(&job.entries)
            .into_iter()
            .map(|(user_id, entry_ids)| RefreshPrsJob {
                user_id,
                entry_ids,
                request_id: job.request_id.clone(),
            })
            .collect()
    }
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
        }
    }

    #[test]
    fn persist_job_round_trips_exactly() {
        let job = WriteBatch {
            entries: vec![entry("665f1c2b8a1e4d0012345678")],
            request_id: Some("r1".into()),
        };
        let bytes = serde_json::to_vec(&job).unwrap();
        assert_eq!(serde_json::from_slice::<WriteBatch>(&bytes).unwrap(), job);
    }

    #[test]
    fn refresh_jobs_group_entries_by_user() {
        let a = entry("665f1c2b8a1e4d0012345678");
        let b = entry("665f1c2b8a1e4d0012345679");
        let c = entry("665f1c2b8a1e4d0012345678");
        let job = WriteBatch {
            entries: vec![a.clone(), b.clone(), c.clone()],
            request_id: None,
        };
        let jobs = RefreshPrsJob::for_batch(&job);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].entry_ids, vec![a.id, c.id]);
        assert_eq!(jobs[1].entry_ids, vec![b.id]);
    }

    #[test]
    fn queue_names_parse_back() {
        for q in QueueName::ALL {
            assert_eq!(QueueName::parse(q.as_str()), Some(q));
        }
        assert_eq!(QueueName::parse("other"), None);
    }
}
