//! The PR calculator backed by the PR component (`everfit:insights/pr`): what
//! the worker and the live path use by default.
//!
//! The component is the built-in, trusted one, so warm instances are pooled
//! (a call costs a re-armed deadline, not an instantiation); an instance that
//! trapped is dropped, never reused. Inputs are folded in chunks, which keeps
//! the guest's memory small whatever the number of sets (folding is
//! associative, so chunking does not change the result).
//!
//! Each chunk is sent as a `set-batch`: columns of numbers, copied into the
//! guest in one block each, and the chunk's entry ids concatenated once (sets
//! of one entry are consecutive, so an id is sent once per entry, not per
//! set). The column buffers live with the pooled instance and are reused.

use super::engine::PluginEngine;
use super::sandbox::{Limits, PluginError, StoreState, classify, new_store, rearm};
use super::versions::since_v0_1_0::{PR_EXPORT, pr as wit};
use crate::domain::records::{PrCalculator, PrCalculatorError};
use anyhow::{Context, bail};
use everfit_pr::{PersonalRecords, PersonalRecordsOf, SetRecord, SetRecordOf};
use std::sync::Mutex;
use wasmtime::Store;
use wit::exports::everfit::insights::pr::{
    PersonalRecords as WitRecords, SetBatch, SetRecord as WitSet,
};

/// Sets sent to the component per call.
pub const CHUNK_SETS: usize = 8192;
/// Warm instances kept for reuse.
const POOL_MAX: usize = 8;
/// Above this many sets a call may take a millisecond or more: hand the
/// tokio worker's other tasks to another thread while it runs.
const BLOCKING_THRESHOLD: usize = 2048;

struct Warm {
    store: Store<StoreState>,
    plugin: wit::PrPlugin,
    /// The last call's batch: its buffers are reused, not reallocated.
    batch: SetBatch,
}

pub struct WasmPrCalculator {
    engine: PluginEngine,
    pre: wit::PrPluginPre<StoreState>,
    pool: Mutex<Vec<Warm>>,
    pool_max: usize,
    limits: Limits,
    sha256: String,
}

impl WasmPrCalculator {
    /// The built-in PR component embedded in the binary.
    pub fn builtin(engine: &PluginEngine) -> anyhow::Result<Self> {
        Self::new(engine, super::builtin::PR_COMPONENT).context("the built-in PR component")
    }

    /// A calculator running the PR component `bytes`.
    pub fn new(engine: &PluginEngine, bytes: &[u8]) -> anyhow::Result<Self> {
        let loaded = engine.load(bytes)?;
        let ty = loaded.component.component_type();
        if ty.get_export(engine.engine(), PR_EXPORT).is_none() {
            let exports: Vec<&str> = ty.exports(engine.engine()).map(|(n, _)| n).collect();
            bail!("not a PR component: it does not export {PR_EXPORT} (exports: {exports:?})");
        }
        // The same deny-by-default WASI as insight plugins (the built-in
        // component imports no WASI today; linking costs nothing per call).
        super::imports::check_provided(&super::imports::imports(
            engine.engine(),
            &loaded.component,
        ))?;
        let linker = super::wasi::linker(engine.engine())?;
        let pre = wit::PrPluginPre::new(linker.instantiate_pre(&loaded.component)?)?;
        Ok(Self {
            engine: engine.clone(),
            pre,
            pool: Mutex::new(Vec::new()),
            pool_max: POOL_MAX,
            limits: Limits::PR,
            sha256: loaded.sha256,
        })
    }

    /// Instantiates for every call instead of reusing warm instances
    /// (what insight plugins do; kept to measure the difference).
    pub fn without_pool(mut self) -> Self {
        self.pool_max = 0;
        self
    }

    fn checkout(&self) -> Result<Warm, PluginError> {
        if let Some(mut warm) = self.pool.lock().expect("pool lock").pop() {
            rearm(&self.engine, &mut warm.store, self.limits);
            return Ok(warm);
        }
        let mut store = new_store(&self.engine, self.limits);
        let plugin = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, &store, self.limits))?;
        Ok(Warm {
            store,
            plugin,
            batch: empty_batch(),
        })
    }

    fn checkin(&self, warm: Warm) {
        let mut pool = self.pool.lock().expect("pool lock");
        if pool.len() < self.pool_max {
            pool.push(warm);
        }
    }

    fn fold_all(
        &self,
        current: &PersonalRecords,
        sets: &[SetRecord],
    ) -> Result<PersonalRecords, PluginError> {
        if sets.is_empty() {
            return Ok(current.clone());
        }
        let mut warm = self.checkout()?;
        let mut records = current.clone();
        for chunk in sets.chunks(CHUNK_SETS) {
            let wit_records = fill_batch(&mut warm.batch, &records, chunk);
            let result = warm.plugin.everfit_insights_pr().call_fold(
                &mut warm.store,
                wit_records,
                &warm.batch,
            );
            match result {
                Ok(next) => match records_from_wit(&next, &warm.batch) {
                    Some(next) => records = next,
                    None => {
                        return Err(PluginError::Failed(
                            "the PR component returned an entry index outside the batch".into(),
                        ));
                    }
                },
                // The instance is dropped: a trapped instance is never reused.
                Err(e) => return Err(classify(e, &warm.store, self.limits)),
            }
        }
        self.checkin(warm);
        Ok(records)
    }
}

impl PrCalculator for WasmPrCalculator {
    fn describe(&self) -> String {
        format!("wasm component {PR_EXPORT} (sha256 {})", &self.sha256[..12])
    }

    fn fold(
        &self,
        current: &PersonalRecords,
        sets: &[SetRecord],
    ) -> Result<PersonalRecords, PrCalculatorError> {
        let run = || {
            self.fold_all(current, sets)
                .map_err(|e| PrCalculatorError::Plugin(e.to_string()))
        };
        if sets.len() < BLOCKING_THRESHOLD {
            return run();
        }
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            _ => run(),
        }
    }
}

fn empty_batch() -> SetBatch {
    SetBatch {
        entry_ids: String::new(),
        entry_id_ends: Vec::new(),
        entry: Vec::new(),
        date_ms: Vec::new(),
        set_index: Vec::new(),
        reps: Vec::new(),
        weight_kg: Vec::new(),
    }
}

/// Refills `batch` with `current`'s sets' ids and `sets` (in place, keeping
/// the buffers) and returns `current` naming its entries by batch index.
fn fill_batch(batch: &mut SetBatch, current: &PersonalRecords, sets: &[SetRecord]) -> WitRecords {
    batch.entry_ids.clear();
    batch.entry_id_ends.clear();
    batch.entry.clear();
    batch.date_ms.clear();
    batch.set_index.clear();
    batch.reps.clear();
    batch.weight_kg.clear();
    let mut record = |s: &Option<SetRecord>| {
        s.as_ref().map(|s| WitSet {
            entry: push_id(batch, &s.entry_id),
            date_ms: s.date_ms,
            set_index: s.set_index,
            reps: s.reps,
            weight_kg: s.weight_kg,
        })
    };
    let wit_records = WitRecords {
        heaviest_set: record(&current.heaviest_set),
        highest_volume_set: record(&current.highest_volume_set),
        best_one_rep_max: record(&current.best_one_rep_max),
    };
    batch.entry.reserve(sets.len());
    batch.date_ms.reserve(sets.len());
    batch.set_index.reserve(sets.len());
    batch.reps.reserve(sets.len());
    batch.weight_kg.reserve(sets.len());
    for s in sets {
        let entry = push_id(batch, &s.entry_id);
        batch.entry.push(entry);
        batch.date_ms.push(s.date_ms);
        batch.set_index.push(s.set_index);
        batch.reps.push(s.reps);
        batch.weight_kg.push(s.weight_kg);
    }
    wit_records
}

/// The batch index of `id`: the last id's when they are equal (the sets of
/// one entry are consecutive), otherwise a newly appended one.
fn push_id(batch: &mut SetBatch, id: &str) -> u32 {
    if let Some(last) = last_id(batch)
        && last == id
    {
        return (batch.entry_id_ends.len() - 1) as u32;
    }
    batch.entry_ids.push_str(id);
    batch.entry_id_ends.push(batch.entry_ids.len() as u32);
    (batch.entry_id_ends.len() - 1) as u32
}

fn last_id(batch: &SetBatch) -> Option<&str> {
    let (&end, before) = batch.entry_id_ends.split_last()?;
    let start = before.last().copied().unwrap_or(0);
    batch.entry_ids.get(start as usize..end as usize)
}

/// The batch's id number `index`, if there is one.
fn batch_id(batch: &SetBatch, index: u32) -> Option<&str> {
    let index = index as usize;
    let end = *batch.entry_id_ends.get(index)? as usize;
    let start = match index {
        0 => 0,
        _ => batch.entry_id_ends[index - 1] as usize,
    };
    batch.entry_ids.get(start..end)
}

/// Records returned for `batch`, with their ids owned again; `None` when
/// one names an entry the batch does not have.
fn records_from_wit(r: &WitRecords, batch: &SetBatch) -> Option<PersonalRecords> {
    let set = |s: &Option<WitSet>| -> Option<Option<SetRecord>> {
        match s {
            None => Some(None),
            Some(s) => Some(Some(SetRecordOf {
                entry_id: batch_id(batch, s.entry)?.to_owned(),
                date_ms: s.date_ms,
                set_index: s.set_index,
                reps: s.reps,
                weight_kg: s.weight_kg,
            })),
        }
    };
    Some(PersonalRecordsOf {
        heaviest_set: set(&r.heaviest_set)?,
        highest_volume_set: set(&r.highest_volume_set)?,
        best_one_rep_max: set(&r.best_one_rep_max)?,
    })
}
