//! How much of an exercise a client logged: the number of entries and the
//! first and last date. Kept beside the records in the day bests and the
//! read model, so an exercise list reads one row per exercise.

use super::records::SetRecord;
use std::collections::HashSet;

/// The entries of one exercise over some days. Merging is associative and
/// commutative over disjoint days (a sum, a min and a max), like records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryStats {
    pub entries: u64,
    /// Instants in ms since the epoch; `None` when there are no entries.
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

impl EntryStats {
    /// The stats of the entries whose sets these are.
    pub fn from_sets(sets: &[SetRecord]) -> Self {
        let mut ids: HashSet<&str> = HashSet::new();
        let mut out = Self::default();
        for s in sets {
            if ids.insert(&s.entry_id) {
                out.merge(&Self {
                    entries: 1,
                    first_ms: Some(s.date_ms),
                    last_ms: Some(s.date_ms),
                });
            }
        }
        out
    }

    /// Adds the stats of other (disjoint) entries. Not idempotent: the
    /// count is a sum, so the same day must never be merged twice.
    pub fn merge(&mut self, other: &Self) {
        self.entries += other.entries;
        self.first_ms = min_some(self.first_ms, other.first_ms);
        self.last_ms = match (self.last_ms, other.last_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(id: &str, date_ms: i64, set_index: u32) -> SetRecord {
        SetRecord {
            entry_id: id.into(),
            date_ms,
            set_index,
            reps: 5,
            weight_kg: 100.0,
        }
    }

    #[test]
    fn counts_entries_not_sets() {
        let s = EntryStats::from_sets(&[set("a", 20, 0), set("a", 20, 1), set("b", 10, 0)]);
        assert_eq!(
            s,
            EntryStats {
                entries: 2,
                first_ms: Some(10),
                last_ms: Some(20)
            }
        );
        assert!(EntryStats::from_sets(&[]).is_empty());
    }

    #[test]
    fn merging_disjoint_days_equals_computing_over_all() {
        let (a, b) = ([set("a", 5, 0)], [set("b", -3, 0), set("c", 9, 0)]);
        let mut merged = EntryStats::from_sets(&a);
        merged.merge(&EntryStats::from_sets(&b));
        merged.merge(&EntryStats::default());
        let all: Vec<SetRecord> = a.iter().chain(&b).cloned().collect();
        assert_eq!(merged, EntryStats::from_sets(&all));
        assert_eq!((merged.first_ms, merged.last_ms), (Some(-3), Some(9)));
    }
}
