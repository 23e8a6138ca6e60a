//! WebAssembly plugins: the PR component and insight plugins, defined in WIT
//! (`wit/`) and run by wasmtime in a sandbox.
//!
//! - `bindings`: host bindings per released WIT version.
//! - `engine`: the wasmtime engine, epoch ticker and compiled-component disk cache.
//! - `sandbox`: per-call stores with a memory cap and a deadline; trap classification.
//! - `pr`: the component-backed [`crate::prs::PrCalculator`].
//! - `insight`: one loaded insight plugin (descriptor, parameter validation, calls).
//! - `registry`: built-in plugins plus `PLUGINS_DIR`, hot-reloaded.
//! - `entries`: the stored entries a plugin is given.
//! - `chart`: SVG rendering of an insight's time series.
//! - `cli`: `everfit plugins run|check`.

pub mod bindings;
pub mod builtin;
pub mod chart;
pub mod cli;
pub mod engine;
pub mod entries;
pub mod insight;
pub mod pr;
pub mod registry;
pub mod sandbox;

pub use engine::PluginEngine;
pub use insight::{InsightPlugin, InsightResult};
pub use pr::WasmPrCalculator;
pub use registry::{PluginHost, Registry};
pub use sandbox::{Limits, PluginError};
