//! Host bindings, one module per released WIT version. A new interface
//! version adds a module here (and a folder in `wit/`); older ones stay so
//! plugins built against them keep loading.

/// `everfit:insights@0.1.0` (wit/v0.1.0).
pub mod v0_1_0 {
    /// The world of the PR plugin.
    pub mod pr {
        wasmtime::component::bindgen!({
            path: "../wit/v0.1.0",
            world: "pr-plugin",
        });
    }

    /// The world of insight plugins.
    pub mod insight {
        wasmtime::component::bindgen!({
            path: "../wit/v0.1.0",
            world: "insight-plugin",
        });
    }

    /// The interface names a component exports in this version.
    pub const PR_EXPORT: &str = "everfit:insights/pr@0.1.0";
    pub const INSIGHT_EXPORT: &str = "everfit:insights/insight@0.1.0";
}

/// Interface versions this host can run, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0"];
