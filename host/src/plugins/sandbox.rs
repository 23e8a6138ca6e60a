//! The sandbox of one plugin call: a fresh store with a memory cap, an
//! epoch deadline and a deny-by-default WASI context (`wasi`), and failures
//! classified for the API.

use super::engine::{PluginEngine, ticks};
use super::entries::EntryPages;
use super::wasi::{Wasi, panic_message};
use std::time::{Duration, Instant};
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
    /// Insight plugins (third-party code): 64 MiB, 1 s (the default of
    /// `PLUGIN_TIMEOUT_MS`).
    pub const INSIGHT: Limits = Limits {
        memory_bytes: 64 << 20,
        deadline: Duration::from_secs(1),
    };

    /// These limits with another deadline.
    pub const fn with_deadline(self, deadline: Duration) -> Limits {
        Limits {
            memory_bytes: self.memory_bytes,
            deadline,
        }
    }
    /// The built-in PR component: inputs are folded in chunks, so memory
    /// stays small; the deadline only guards against a broken build.
    pub const PR: Limits = Limits {
        memory_bytes: 64 << 20,
        deadline: Duration::from_secs(10),
    };
}

/// The state of a plugin store: the memory limiter, the WASI context and
/// when the current call must end.
pub struct StoreState {
    cap: MemoryCap,
    wasi: Wasi,
    /// The call's deadline, when deadlines are on (host-side waits end there).
    ends_at: Option<Instant>,
    /// The entries a 0.2.0 `compute` reads page by page.
    pages: Option<EntryPages>,
}

impl StoreState {
    pub fn wasi(&self) -> &Wasi {
        &self.wasi
    }

    pub(super) fn wasi_mut(&mut self) -> &mut Wasi {
        &mut self.wasi
    }

    /// Serves `pages` to the plugin for this call.
    pub(super) fn set_pages(&mut self, pages: EntryPages) {
        self.pages = Some(pages);
    }

    pub(super) fn pages_mut(&mut self) -> Option<&mut EntryPages> {
        self.pages.as_mut()
    }

    /// Time left before the call's deadline (None without deadlines).
    pub fn remaining(&self) -> Option<Duration> {
        self.ends_at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
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
            wasi: Wasi::sandboxed(),
            ends_at: None,
            pages: None,
        },
    );
    store.limiter(|state| &mut state.cap);
    if engine.has_deadlines() {
        store.set_epoch_deadline(ticks(limits.deadline));
        store.epoch_deadline_trap();
        store.data_mut().ends_at = Some(Instant::now() + limits.deadline);
    }
    store
}

/// Re-arms the deadline of a reused store before a call.
pub fn rearm(engine: &PluginEngine, store: &mut Store<StoreState>, limits: Limits) {
    store.data_mut().cap.refused = false;
    if engine.has_deadlines() {
        store.set_epoch_deadline(ticks(limits.deadline));
        store.data_mut().ends_at = Some(Instant::now() + limits.deadline);
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
    /// The plugin trapped (`unreachable`, an out-of-bounds access...).
    #[error("plugin trapped: {0}")]
    Trapped(String),
    /// The plugin panicked; the message is what it printed (for the client's
    /// `details`).
    #[error("plugin panicked: {0}")]
    Panicked(String),
    /// The plugin rejected a parameter value.
    #[error("invalid parameter {param}: {message}")]
    InvalidParam { param: String, message: String },
    /// The plugin reported a failure of its own.
    #[error("plugin failed: {0}")]
    Failed(String),
}

impl PluginError {
    /// A short, bounded name of the kind of failure (never its text), for
    /// metric labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Timeout(_) => "timeout",
            PluginError::MemoryLimit(_) => "memory_limit",
            PluginError::Trapped(_) => "trapped",
            PluginError::Panicked(_) => "panicked",
            PluginError::InvalidParam { .. } => "invalid_param",
            PluginError::Failed(_) => "failed",
        }
    }
}

/// Classifies an error from a call into `store`. The full error, with its
/// wasm backtrace, goes to the log only.
pub fn classify(error: wasmtime::Error, store: &Store<StoreState>, limits: Limits) -> PluginError {
    tracing::warn!(error = ?error, "plugin call failed");
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout(limits.deadline),
        _ if store.data().cap.refused => PluginError::MemoryLimit(limits.memory_bytes),
        trap => {
            let (stderr, _) = store.data().wasi.stderr.contents();
            match (panic_message(&stderr), trap) {
                (Some(message), _) => PluginError::Panicked(message),
                (None, Some(trap)) => PluginError::Trapped(trap.to_string()),
                (None, None) => PluginError::Trapped(error.root_cause().to_string()),
            }
        }
    }
}
