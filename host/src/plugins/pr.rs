//! The PR calculator backed by the PR component (`everfit:insights/pr`): what
//! the worker and the live path use by default.
//!
//! The component is the built-in, trusted one, so warm instances are pooled
//! (a call costs a re-armed deadline, not an instantiation); an instance that
//! trapped is dropped, never reused. Inputs are folded in chunks, which keeps
//! the guest's memory small whatever the number of sets (folding is
//! associative, so chunking does not change the result).

use super::bindings::v0_1_0::{PR_EXPORT, pr as wit};
use super::engine::PluginEngine;
use super::sandbox::{Limits, PluginError, StoreState, classify, new_store, rearm};
use crate::prs::{PrCalculator, PrCalculatorError};
use anyhow::{Context, bail};
use everfit_pr::{PersonalRecords, SetRecord};
use std::sync::Mutex;
use wasmtime::Store;
use wasmtime::component::Linker;
use wit::everfit::insights::types::SetRecord as WitSet;
use wit::exports::everfit::insights::pr::PersonalRecords as WitRecords;

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
        let mut linker = Linker::new(engine.engine());
        linker.define_unknown_imports_as_traps(&loaded.component)?;
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
        Ok(Warm { store, plugin })
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
        let mut records = records_to_wit(current);
        for chunk in sets.chunks(CHUNK_SETS) {
            let wit_sets: Vec<WitSet> = chunk.iter().map(set_to_wit).collect();
            let result =
                warm.plugin
                    .everfit_insights_pr()
                    .call_fold(&mut warm.store, &records, &wit_sets);
            match result {
                Ok(next) => records = next,
                // The instance is dropped: a trapped instance is never reused.
                Err(e) => return Err(classify(e, &warm.store, self.limits)),
            }
        }
        self.checkin(warm);
        Ok(records_from_wit(records))
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

fn set_to_wit(s: &SetRecord) -> WitSet {
    WitSet {
        entry_id: s.entry_id.clone(),
        date_ms: s.date_ms,
        set_index: s.set_index,
        reps: s.reps,
        weight_kg: s.weight_kg,
    }
}

fn set_from_wit(s: WitSet) -> SetRecord {
    SetRecord {
        entry_id: s.entry_id,
        date_ms: s.date_ms,
        set_index: s.set_index,
        reps: s.reps,
        weight_kg: s.weight_kg,
    }
}

fn records_to_wit(r: &PersonalRecords) -> WitRecords {
    WitRecords {
        heaviest_set: r.heaviest_set.as_ref().map(set_to_wit),
        highest_volume_set: r.highest_volume_set.as_ref().map(set_to_wit),
        best_one_rep_max: r.best_one_rep_max.as_ref().map(set_to_wit),
    }
}

fn records_from_wit(r: WitRecords) -> PersonalRecords {
    PersonalRecords {
        heaviest_set: r.heaviest_set.map(set_from_wit),
        highest_volume_set: r.highest_volume_set.map(set_from_wit),
        best_one_rep_max: r.best_one_rep_max.map(set_from_wit),
    }
}
