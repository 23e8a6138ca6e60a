//! The sandbox of one plugin call: a fresh store with a memory cap and an
//! epoch deadline, nothing imported, and failures classified for the API.

use super::engine::{PluginEngine, ticks};
use std::time::Duration;
use wasmtime::{ResourceLimiter, Store, Trap};

/// What one call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on each linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one call (enforced to within one epoch tick).
    pub deadline: Duration,
}

impl Limits {
    /// Insight plugins (third-party code): 64 MiB, 1 s.
    pub const INSIGHT: Limits = Limits {
        memory_bytes: 64 << 20,
        deadline: Duration::from_secs(1),
    };
    /// The built-in PR component: inputs are folded in chunks, so memory
    /// stays small; the deadline only guards against a broken build.
    pub const PR: Limits = Limits {
        memory_bytes: 64 << 20,
        deadline: Duration::from_secs(10),
    };
}

/// The state of a plugin store: only the memory limiter. Plugins import
/// nothing, so there is no WASI context: no files, network, clock or env.
pub struct StoreState {
    cap: MemoryCap,
}

struct MemoryCap {
    max_bytes: usize,
    /// Set when a growth was refused, to tell a memory bomb from other traps.
    refused: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A fresh store for one call under `limits`.
pub fn new_store(engine: &PluginEngine, limits: Limits) -> Store<StoreState> {
    let mut store = Store::new(
        engine.engine(),
        StoreState {
            cap: MemoryCap {
                max_bytes: limits.memory_bytes,
                refused: false,
            },
        },
    );
    store.limiter(|state| &mut state.cap);
    if engine.has_deadlines() {
        store.set_epoch_deadline(ticks(limits.deadline));
        store.epoch_deadline_trap();
    }
    store
}

/// Re-arms the deadline of a reused store before a call.
pub fn rearm(engine: &PluginEngine, store: &mut Store<StoreState>, limits: Limits) {
    store.data_mut().cap.refused = false;
    if engine.has_deadlines() {
        store.set_epoch_deadline(ticks(limits.deadline));
    }
}

/// Why a plugin call did not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    /// The plugin ran past its deadline and was stopped.
    #[error("plugin ran longer than its {0:?} deadline and was stopped")]
    Timeout(Duration),
    /// The plugin asked for more memory than the cap and then failed.
    #[error("plugin exceeded its {} MiB memory limit", .0 >> 20)]
    MemoryLimit(usize),
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access...).
    #[error("plugin trapped: {0}")]
    Trapped(String),
    /// The plugin rejected a parameter value.
    #[error("invalid parameter {param}: {message}")]
    InvalidParam { param: String, message: String },
    /// The plugin reported a failure of its own.
    #[error("plugin failed: {0}")]
    Failed(String),
}

/// Classifies an error from a call into `store`.
pub fn classify(error: wasmtime::Error, store: &Store<StoreState>, limits: Limits) -> PluginError {
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout(limits.deadline),
        _ if store.data().cap.refused => PluginError::MemoryLimit(limits.memory_bytes),
        Some(trap) => PluginError::Trapped(trap.to_string()),
        None => PluginError::Trapped(format!("{error:#}")),
    }
}
