//! The PR plugin: the host's own `everfit-pr` calculations exported through
//! the `everfit:insights/pr` interface, so the component and the native
//! calculator run exactly the same code.
#![no_std]

extern crate alloc;

#[path = "../../guest_runtime.rs"]
mod guest_runtime;

use alloc::vec::Vec;
use everfit_pr::{PersonalRecords, SetRecord};

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "pr-plugin",
});

use everfit::insights::types::SetRecord as WitSet;
use exports::everfit::insights::pr::{Guest, PersonalRecords as WitRecords};

struct PrPlugin;

fn from_wit(s: WitSet) -> SetRecord {
    SetRecord {
        entry_id: s.entry_id,
        date_ms: s.date_ms,
        set_index: s.set_index,
        reps: s.reps,
        weight_kg: s.weight_kg,
    }
}

fn to_wit(s: SetRecord) -> WitSet {
    WitSet {
        entry_id: s.entry_id,
        date_ms: s.date_ms,
        set_index: s.set_index,
        reps: s.reps,
        weight_kg: s.weight_kg,
    }
}

fn records_from_wit(r: WitRecords) -> PersonalRecords {
    PersonalRecords {
        heaviest_set: r.heaviest_set.map(from_wit),
        highest_volume_set: r.highest_volume_set.map(from_wit),
        best_one_rep_max: r.best_one_rep_max.map(from_wit),
    }
}

fn records_to_wit(r: PersonalRecords) -> WitRecords {
    WitRecords {
        heaviest_set: r.heaviest_set.map(to_wit),
        highest_volume_set: r.highest_volume_set.map(to_wit),
        best_one_rep_max: r.best_one_rep_max.map(to_wit),
    }
}

impl Guest for PrPlugin {
    fn compute(sets: Vec<WitSet>) -> WitRecords {
        Self::fold(WitRecords::default_empty(), sets)
    }

    fn fold(current: WitRecords, sets: Vec<WitSet>) -> WitRecords {
        let mut records = records_from_wit(current);
        for set in sets {
            records.fold(&from_wit(set));
        }
        records_to_wit(records)
    }
}

trait EmptyRecords {
    fn default_empty() -> Self;
}

impl EmptyRecords for WitRecords {
    fn default_empty() -> Self {
        WitRecords {
            heaviest_set: None,
            highest_volume_set: None,
            best_one_rep_max: None,
        }
    }
}

export!(PrPlugin);
