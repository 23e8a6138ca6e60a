//! Host bindings of `everfit:insights`, one module per released WIT version
//! (as `wit/` has one folder per version). A module turns its version's
//! types into the host's own (`insight::types`), so nothing else depends on
//! a WIT version. A new version adds a module; older ones stay so plugins
//! built against them keep loading.

pub mod since_v0_1_0;
pub mod since_v0_2_0;

/// Interface versions this host can run, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.2.0", "0.1.0"];
