//! One loaded insight plugin: loading and checking it, and sandboxed calls.
//!
//! - `types`: what a plugin declares and returns, as the host sees it.
//! - `params`: a caller's parameters checked against the declaration.
//! - `descriptor`: a plugin's self-description checked before it is listed.

pub mod descriptor;
pub mod params;
pub mod types;

use super::engine::PluginEngine;
use super::entries::EntryPages;
use super::imports::{check_provided, imports};
use super::sandbox::{Limits, PluginError, StoreState, new_store};
use super::versions::{SUPPORTED_VERSIONS, since_v0_1_0, since_v0_2_0};
use super::wasi::log_output;
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::domain::{Catalogue, FieldError, WorkoutEntry};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::Component;

pub use descriptor::RESERVED_PARAMS;
pub use types::{
    Descriptor, InsightResult, Metric, ParamKind, ParamSpec, Params, Point, Series, Table,
};

/// The bindings of the interface version a plugin was built against.
enum Pre {
    V0_1_0(since_v0_1_0::insight::InsightPluginPre<StoreState>),
    V0_2_0(since_v0_2_0::insight::InsightPluginPre<StoreState>),
}

/// What one call computes over.
#[derive(Clone)]
pub struct CallInput {
    /// Oldest first. A 0.1.0 plugin gets them in one list, a 0.2.0 plugin
    /// reads them in pages.
    pub entries: Arc<EntryColumns>,
    /// The requested dates (passed to 0.2.0 plugins; the entries lie in it).
    pub range: TimeRange,
    /// Names each exercise's muscle group (0.2.0).
    pub catalogue: Arc<Catalogue>,
}

impl CallInput {
    /// `entries` over all time, with the built-in catalogue.
    pub fn all_time(entries: &[WorkoutEntry]) -> Self {
        Self {
            entries: Arc::new(EntryColumns::from_entries(entries)),
            range: TimeRange::ALL_TIME,
            catalogue: Arc::new(Catalogue::builtin()),
        }
    }
}

pub struct InsightPlugin {
    descriptor: Descriptor,
    engine: PluginEngine,
    pre: Pre,
    limits: Limits,
    sha256: String,
}

impl std::fmt::Debug for InsightPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsightPlugin")
            .field("descriptor", &self.descriptor)
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl InsightPlugin {
    /// Loads and checks a plugin: a component exporting a supported version
    /// of `everfit:insights/insight`, whose `describe` answers in time with a
    /// valid descriptor. Every failure is an error with a clear message.
    pub fn load(
        engine: &PluginEngine,
        bytes: &[u8],
        source: &str,
        limits: Limits,
    ) -> anyhow::Result<Self> {
        let loaded = engine
            .load(bytes)
            .map_err(|e| anyhow::anyhow!("not a valid WebAssembly component: {e:#}"))?;
        let (version, pre) = Self::bind(engine, &loaded.component)?;
        let mut plugin = Self {
            descriptor: Descriptor::default(),
            engine: engine.clone(),
            pre,
            limits,
            sha256: loaded.sha256,
        };
        let mut descriptor = plugin
            .describe_call()
            .map_err(|e| anyhow::anyhow!("describe() failed: {e}"))?;
        descriptor.interface = format!("everfit:insights@{version}");
        descriptor.source = source.to_string();
        descriptor::check(&descriptor)?;
        plugin.descriptor = descriptor;
        Ok(plugin)
    }

    /// Picks the bindings for the interface version the component exports.
    fn bind(engine: &PluginEngine, component: &Component) -> anyhow::Result<(String, Pre)> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(engine.engine())
            .map(|(n, _)| n.to_string())
            .collect();
        if exports.iter().any(|e| e == since_v0_2_0::INSIGHT_EXPORT) {
            check_provided(&imports(engine.engine(), component))?;
            let mut linker = super::wasi::linker(engine.engine())?;
            since_v0_2_0::add_to_linker(&mut linker)?;
            let pre =
                since_v0_2_0::insight::InsightPluginPre::new(linker.instantiate_pre(component)?)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "exports {} with the wrong shape: {e:#}",
                            since_v0_2_0::INSIGHT_EXPORT
                        )
                    })?;
            return Ok(("0.2.0".into(), Pre::V0_2_0(pre)));
        }
        if exports.iter().any(|e| e == since_v0_1_0::INSIGHT_EXPORT) {
            // Before linking: this refusal names every missing import.
            check_provided(&imports(engine.engine(), component))?;
            let linker = super::wasi::linker(engine.engine())?;
            let pre =
                since_v0_1_0::insight::InsightPluginPre::new(linker.instantiate_pre(component)?)
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "exports {} with the wrong shape: {e:#}",
                            since_v0_1_0::INSIGHT_EXPORT
                        )
                    })?;
            return Ok(("0.1.0".into(), Pre::V0_1_0(pre)));
        }
        if let Some(other) = exports
            .iter()
            .find(|e| e.starts_with("everfit:insights/insight@"))
        {
            anyhow::bail!(
                "built against {other}, but this host runs interface versions {}",
                SUPPORTED_VERSIONS.join(", ")
            );
        }
        anyhow::bail!(
            "not an insight plugin: it does not export {} or {} (the insight-plugin world); it exports {exports:?}",
            since_v0_2_0::INSIGHT_EXPORT,
            since_v0_1_0::INSIGHT_EXPORT
        )
    }

    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    pub fn name(&self) -> &str {
        &self.descriptor.name
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The declared `exercise` parameter, if any.
    pub fn exercise_param(&self) -> Option<&str> {
        self.descriptor
            .params
            .iter()
            .find(|p| p.kind == ParamKind::Exercise)
            .map(|p| p.name.as_str())
    }

    /// Checks caller parameters against the declaration (see [`params::validate`]).
    pub fn validate_params(
        &self,
        raw: &BTreeMap<String, String>,
    ) -> Result<Params, Vec<FieldError>> {
        params::validate(&self.descriptor, raw)
    }

    /// The limits each call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The WIT package version the plugin was built against ("0.2.0").
    pub fn interface_version(&self) -> &'static str {
        match self.pre {
            Pre::V0_1_0(_) => "0.1.0",
            Pre::V0_2_0(_) => "0.2.0",
        }
    }

    /// Whether the plugin takes a date range and reads entries in pages
    /// (interface 0.2.0 on), rather than one list of at most the newest
    /// 50,000 entries.
    pub fn pages_entries(&self) -> bool {
        !matches!(self.pre, Pre::V0_1_0(_))
    }

    /// Runs `compute` over `entries` (oldest first, all time) in a fresh
    /// sandbox (blocking: call from a blocking thread).
    pub fn compute(
        &self,
        entries: &[WorkoutEntry],
        params: &Params,
    ) -> Result<InsightResult, PluginError> {
        self.compute_for(&CallInput::all_time(entries), params, None)
    }

    /// [`Self::compute`] for a request: the plugin's output and failures are
    /// logged with the plugin's name and `request_id`.
    pub fn compute_for(
        &self,
        input: &CallInput,
        params: &Params,
        request_id: Option<&str>,
    ) -> Result<InsightResult, PluginError> {
        let span = tracing::info_span!("plugin_call", plugin = self.name(), request_id);
        let _entered = span.enter();
        let mut store = new_store(&self.engine, self.limits);
        let result = match &self.pre {
            Pre::V0_1_0(pre) => {
                since_v0_1_0::compute(pre, &mut store, self.limits, &input.entries, params)
            }
            Pre::V0_2_0(pre) => since_v0_2_0::compute(
                pre,
                &mut store,
                self.limits,
                EntryPages::new(input.entries.clone(), input.catalogue.clone()),
                input.range,
                params,
            ),
        };
        log_output(store.data().wasi(), self.name(), request_id);
        result
    }

    fn describe_call(&self) -> Result<Descriptor, PluginError> {
        let mut store = new_store(&self.engine, self.limits);
        let result = match &self.pre {
            Pre::V0_1_0(pre) => since_v0_1_0::describe(pre, &mut store, self.limits),
            Pre::V0_2_0(pre) => since_v0_2_0::describe(pre, &mut store, self.limits),
        };
        let name = result.as_ref().map_or("(loading)", |d| d.name.as_str());
        log_output(store.data().wasi(), name, None);
        result
    }
}
