//! Compare-and-swap on versioned records: how concurrent writers of one
//! read-model row or one day summary never lose each other's updates and
//! never make it regress. A writer reads the records and their version,
//! merges its candidate in, and writes only if the version is unchanged;
//! when another writer got there first, it reads again and retries.

use super::StoreError;
use crate::domain::records::PersonalRecords;
use async_trait::async_trait;

/// Lost races tolerated before giving up. Each lost race means another
/// writer made progress, so this trips only under pathological contention.
pub const MAX_CAS_ATTEMPTS: usize = 64;

/// Records as stored, with the version a write must match.
pub type Versioned = (PersonalRecords, i64);

/// One stored, versioned `PersonalRecords` (a read-model row, a day summary).
#[async_trait]
pub trait VersionedRecords: Send + Sync {
    /// The stored records and their version; `None` when there are none yet.
    async fn read(&self) -> Result<Option<Versioned>, StoreError>;

    /// Writes `records` if the version is still `expected` (`None`: only if
    /// none exist yet). False when another writer got there first.
    async fn write(
        &self,
        records: &PersonalRecords,
        expected: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Names the records in errors ("read model of U/squat").
    fn describe(&self) -> String;
}

/// Merges `candidate` into `slot` until a write sticks (or nothing changes).
/// `known` is the state the caller already read, which saves the first read.
pub async fn merge_into(
    slot: &dyn VersionedRecords,
    candidate: &PersonalRecords,
    mut known: Option<Option<Versioned>>,
) -> Result<(), StoreError> {
    for _ in 0..MAX_CAS_ATTEMPTS {
        let current = match known.take() {
            Some(current) => current,
            None => slot.read().await?,
        };
        let mut merged = current.as_ref().map(|c| c.0.clone()).unwrap_or_default();
        merged.merge(candidate);
        if current.as_ref().is_some_and(|c| c.0 == merged) {
            return Ok(()); // nothing new: no write
        }
        if slot.write(&merged, current.map(|c| c.1)).await? {
            return Ok(());
        }
    }
    // Contention is a load condition, not a bug: a 503 (or a job retried
    // later), never a 500.
    Err(StoreError::Unavailable(format!(
        "{}: gave up after {MAX_CAS_ATTEMPTS} contended attempts",
        slot.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::SetRecord;
    use std::sync::Mutex;

    fn records(kg: f64, entry: u32) -> PersonalRecords {
        PersonalRecords::compute(&[SetRecord {
            entry_id: format!("{entry:024x}"),
            date_ms: 0,
            set_index: 0,
            reps: 1,
            weight_kg: kg,
        }])
    }

    /// An in-memory slot whose first `interfere` writes lose to a rival that
    /// merges `rival` in just before them.
    struct Slot {
        state: Mutex<Option<Versioned>>,
        interfere: Mutex<usize>,
        rival: PersonalRecords,
        writes: Mutex<usize>,
    }

    impl Slot {
        fn new(initial: Option<PersonalRecords>, interfere: usize, rival: PersonalRecords) -> Self {
            Self {
                state: Mutex::new(initial.map(|r| (r, 1))),
                interfere: Mutex::new(interfere),
                rival,
                writes: Mutex::new(0),
            }
        }
        fn records(&self) -> Option<PersonalRecords> {
            self.state.lock().unwrap().as_ref().map(|s| s.0.clone())
        }
    }

    #[async_trait]
    impl VersionedRecords for Slot {
        async fn read(&self) -> Result<Option<Versioned>, StoreError> {
            Ok(self.state.lock().unwrap().clone())
        }
        async fn write(
            &self,
            records: &PersonalRecords,
            expected: Option<i64>,
        ) -> Result<bool, StoreError> {
            let mut state = self.state.lock().unwrap();
            let mut interfere = self.interfere.lock().unwrap();
            if *interfere > 0 {
                *interfere -= 1;
                let mut rival = state.as_ref().map(|s| s.0.clone()).unwrap_or_default();
                rival.merge(&self.rival);
                let version = state.as_ref().map_or(1, |s| s.1 + 1);
                *state = Some((rival, version));
            }
            let current = state.as_ref().map(|s| s.1);
            if current != expected {
                return Ok(false);
            }
            *state = Some((records.clone(), current.map_or(1, |v| v + 1)));
            *self.writes.lock().unwrap() += 1;
            Ok(true)
        }
        fn describe(&self) -> String {
            "test slot".into()
        }
    }

    #[tokio::test]
    async fn a_lost_race_is_reread_and_keeps_both_updates() {
        // Ours is heavier; the rival's lighter set must not be lost either
        // (it would be the volume record if it had more reps, say).
        let slot = Slot::new(None, 3, records(80.0, 2));
        merge_into(&slot, &records(100.0, 1), None).await.unwrap();
        let mut expected = records(80.0, 2);
        expected.merge(&records(100.0, 1));
        assert_eq!(slot.records(), Some(expected));
        assert_eq!(*slot.writes.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn nothing_new_writes_nothing_and_records_never_regress() {
        let slot = Slot::new(Some(records(120.0, 1)), 0, PersonalRecords::default());
        merge_into(&slot, &records(100.0, 2), None).await.unwrap();
        assert_eq!(slot.records(), Some(records(120.0, 1)));
        assert_eq!(*slot.writes.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn a_stale_known_state_is_corrected_by_the_version_check() {
        let slot = Slot::new(Some(records(120.0, 1)), 0, PersonalRecords::default());
        // The caller believes the slot is empty; the write must miss and re-read.
        merge_into(&slot, &records(100.0, 2), Some(None))
            .await
            .unwrap();
        assert_eq!(slot.records(), Some(records(120.0, 1)));
    }

    #[tokio::test]
    async fn endless_contention_gives_up_with_a_named_error() {
        let slot = Slot::new(None, usize::MAX, records(80.0, 9));
        let err = merge_into(&slot, &records(100.0, 1), None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(err.to_string().contains("test slot"), "{err}");
    }
}
