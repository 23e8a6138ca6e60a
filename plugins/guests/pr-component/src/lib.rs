//! The PR plugin: the host's own `everfit-pr` calculations exported through
//! the `everfit:insights/pr` interface, so the component and the native
//! calculator run exactly the same code.
//!
//! Sets arrive in columns with the batch's entry ids sent once; each set is
//! folded with its id borrowed from the batch, so folding allocates nothing.
#![no_std]

extern crate alloc;

#[path = "../../guest_runtime.rs"]
mod guest_runtime;

use alloc::vec::Vec;
use core::cmp::Ordering;
use everfit_pr::{PersonalRecordsOf, SetRecordOf};

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "pr-plugin",
});

use exports::everfit::insights::pr::{
    Guest, PersonalRecords as WitRecords, SetBatch, SetRecord as WitSet,
};

/// An entry id of the batch: its index (what is sent back) and its text
/// (what sets are ordered by, exactly as the host's `String` ids are).
#[derive(Debug, Clone, Copy)]
struct EntryRef<'a> {
    index: u32,
    id: &'a str,
}

impl PartialEq for EntryRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for EntryRef<'_> {}

impl PartialOrd for EntryRef<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EntryRef<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(other.id)
    }
}

/// The batch's ids, split at `ends` (a bad offset traps: the host is trusted).
fn entry_refs<'a>(ids: &'a str, ends: &[u32]) -> Vec<EntryRef<'a>> {
    let mut start = 0;
    ends.iter()
        .enumerate()
        .map(|(index, &end)| {
            let id = &ids[start..end as usize];
            start = end as usize;
            EntryRef {
                index: index as u32,
                id,
            }
        })
        .collect()
}

fn from_wit<'a>(s: WitSet, ids: &[EntryRef<'a>]) -> SetRecordOf<EntryRef<'a>> {
    SetRecordOf {
        entry_id: ids[s.entry as usize],
        date_ms: s.date_ms,
        set_index: s.set_index,
        reps: s.reps,
        weight_kg: s.weight_kg,
    }
}

fn to_wit(s: Option<SetRecordOf<EntryRef<'_>>>) -> Option<WitSet> {
    s.map(|s| WitSet {
        entry: s.entry_id.index,
        date_ms: s.date_ms,
        set_index: s.set_index,
        reps: s.reps,
        weight_kg: s.weight_kg,
    })
}

struct PrPlugin;

impl Guest for PrPlugin {
    fn compute(sets: SetBatch) -> WitRecords {
        Self::fold(
            WitRecords {
                heaviest_set: None,
                highest_volume_set: None,
                best_one_rep_max: None,
            },
            sets,
        )
    }

    fn fold(current: WitRecords, sets: SetBatch) -> WitRecords {
        let ids = entry_refs(&sets.entry_ids, &sets.entry_id_ends);
        let mut records = PersonalRecordsOf {
            heaviest_set: current.heaviest_set.map(|s| from_wit(s, &ids)),
            highest_volume_set: current.highest_volume_set.map(|s| from_wit(s, &ids)),
            best_one_rep_max: current.best_one_rep_max.map(|s| from_wit(s, &ids)),
        };
        let n = sets.entry.len();
        assert!(
            sets.date_ms.len() == n
                && sets.set_index.len() == n
                && sets.reps.len() == n
                && sets.weight_kg.len() == n,
            "columns of different lengths"
        );
        for i in 0..n {
            records.fold(&SetRecordOf {
                entry_id: ids[sets.entry[i] as usize],
                date_ms: sets.date_ms[i],
                set_index: sets.set_index[i],
                reps: sets.reps[i],
                weight_kg: sets.weight_kg[i],
            });
        }
        WitRecords {
            heaviest_set: to_wit(records.heaviest_set),
            highest_volume_set: to_wit(records.highest_volume_set),
            best_one_rep_max: to_wit(records.best_one_rep_max),
        }
    }
}

export!(PrPlugin);
