//! WebAssembly plugins: the PR component and insight plugins, defined in WIT
//! (`wit/`) and run by wasmtime in a sandbox.
//!
//! - `versions`: host bindings per released WIT version (`since_vX_Y_Z`).
//! - `engine`: the wasmtime engine, epoch ticker and compiled-component disk cache.
//! - `imports`: a component's imports and which the sandbox provides, denies or lacks.
//! - `sandbox`: per-call stores with a memory cap and a deadline; trap classification.
//! - `wasi`: the deny-by-default WASI preview 2 context and linker; captured output.
//! - `pr`: the component-backed [`crate::domain::records::PrCalculator`].
//! - `insight`: one loaded insight plugin: its types, parameter and descriptor checks, calls.
//! - `registry`: built-in plugins plus `PLUGINS_DIR`, hot-reloaded.
//! - `entries`: the stored entries a plugin is given.
//! - `chart`: SVG rendering of an insight's time series.

pub mod builtin;
pub mod chart;
pub mod engine;
pub mod entries;
pub mod imports;
pub mod insight;
pub mod pr;
pub mod registry;
pub mod sandbox;
pub mod versions;
pub mod wasi;

pub use engine::PluginEngine;
pub use insight::{InsightPlugin, InsightResult};
pub use pr::WasmPrCalculator;
pub use registry::{PluginHost, Registry};
pub use sandbox::{Limits, PluginError};
