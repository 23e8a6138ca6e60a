//! One loaded insight plugin: its self-description, parameter validation and
//! sandboxed calls. Host-side types here are independent of the WIT version;
//! each supported version converts into them.

use super::bindings::v0_1_0;
use super::bindings::{SUPPORTED_VERSIONS, v0_1_0::INSIGHT_EXPORT};
use super::engine::PluginEngine;
use super::sandbox::{Limits, PluginError, StoreState, classify, new_store};
use crate::domain::units::UNITS;
use crate::domain::{FieldError, WorkoutEntry};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wasmtime::component::{Component, Linker};

/// Query parameters the host itself uses on insight routes: plugins cannot declare them.
pub const RESERVED_PARAMS: &[&str] = &["userId", "series"];

/// How a plugin describes itself (`GET /insights`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "name": "progress", "version": "0.1.0", "title": "Progress over time",
    "description": "Best estimated 1RM (Epley), top set and volume of one exercise per week or month, with the trend.",
    "interface": "everfit:insights@0.1.0", "source": "built-in",
    "params": [
        { "name": "exercise", "description": "The exercise (case-insensitive)", "kind": { "type": "exercise" }, "required": true, "default": null },
        { "name": "period", "description": "Bucket size", "kind": { "type": "choice", "values": ["week", "month"] }, "required": false, "default": "week" }
    ]}))]
pub struct Descriptor {
    /// Identifier used in URLs.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    pub title: String,
    pub description: String,
    pub params: Vec<ParamSpec>,
    /// The WIT package version the plugin was built against.
    pub interface: String,
    /// `built-in`, or the file name in PLUGINS_DIR.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    pub kind: ParamKind,
    pub required: bool,
    /// Used when the parameter is left out.
    pub default: Option<String>,
}

/// What a parameter accepts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ParamKind {
    Text,
    Integer {
        min: i64,
        max: i64,
    },
    Number,
    Choice {
        values: Vec<String>,
    },
    /// An exercise name; the plugin receives only that exercise's entries.
    Exercise,
}

/// A typed insight result.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InsightResult {
    pub summary: String,
    pub metrics: Vec<Metric>,
    pub series: Vec<Series>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Series {
    pub name: String,
    pub unit: Option<String>,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// Start of the bucket, ISO-8601 UTC.
    pub at: String,
    pub at_ms: i64,
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Validated parameters, every declared one present (defaults filled in).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The bindings of the interface version a plugin was built against.
enum Pre {
    V0_1_0(v0_1_0::insight::InsightPluginPre<StoreState>),
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
            descriptor: Descriptor {
                name: String::new(),
                version: String::new(),
                title: String::new(),
                description: String::new(),
                params: Vec::new(),
                interface: format!("everfit:insights@{version}"),
                source: source.to_string(),
            },
            engine: engine.clone(),
            pre,
            limits,
            sha256: loaded.sha256,
        };
        let described = plugin
            .describe_call()
            .map_err(|e| anyhow::anyhow!("describe() failed: {e}"))?;
        let mut descriptor = described;
        descriptor.interface = plugin.descriptor.interface.clone();
        descriptor.source = source.to_string();
        check_descriptor(&descriptor)?;
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
        let mut linker = Linker::new(engine.engine());
        // Plugins get no capabilities: any import (a std-built plugin's WASI
        // imports, say) is satisfied by a function that traps when called.
        linker.define_unknown_imports_as_traps(component)?;
        if exports.iter().any(|e| e == INSIGHT_EXPORT) {
            let pre = v0_1_0::insight::InsightPluginPre::new(linker.instantiate_pre(component)?)
                .map_err(|e| {
                    anyhow::anyhow!("exports {INSIGHT_EXPORT} with the wrong shape: {e:#}")
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
            "not an insight plugin: it does not export {INSIGHT_EXPORT} (the insight-plugin world); it exports {exports:?}"
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

    /// Checks caller parameters against the declaration: unknown names,
    /// missing required ones and ill-typed values are field errors naming the
    /// parameter. Defaults are filled in.
    pub fn validate_params(
        &self,
        raw: &BTreeMap<String, String>,
    ) -> Result<Params, Vec<FieldError>> {
        let mut errors = Vec::new();
        for name in raw.keys() {
            if !self.descriptor.params.iter().any(|p| &p.name == name) {
                let known: Vec<&str> = self
                    .descriptor
                    .params
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                errors.push(FieldError::new(
                    name,
                    format!(
                        "unknown parameter for plugin {}; it takes: {}",
                        self.descriptor.name,
                        known.join(", ")
                    ),
                ));
            }
        }
        let mut params = BTreeMap::new();
        for spec in &self.descriptor.params {
            let value = raw
                .get(&spec.name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .or_else(|| spec.default.clone());
            match value {
                None if spec.required => errors.push(FieldError::new(&spec.name, "is required")),
                None => {}
                Some(v) => match check_value(&spec.kind, &v) {
                    Ok(()) => {
                        params.insert(spec.name.clone(), v);
                    }
                    Err(message) => errors.push(FieldError::new(&spec.name, message)),
                },
            }
        }
        if errors.is_empty() {
            Ok(Params(params))
        } else {
            Err(errors)
        }
    }

    /// Runs `compute` in a fresh sandbox (blocking: call from a blocking thread).
    pub fn compute(
        &self,
        entries: &[WorkoutEntry],
        params: &Params,
    ) -> Result<InsightResult, PluginError> {
        let mut store = new_store(&self.engine, self.limits);
        match &self.pre {
            Pre::V0_1_0(pre) => {
                use v0_1_0::insight::everfit::insights::types as t;
                use v0_1_0::insight::exports::everfit::insights::insight as x;
                let plugin = pre
                    .instantiate(&mut store)
                    .map_err(|e| classify(e, &store, self.limits))?;
                let wit_entries: Vec<t::Entry> = entries
                    .iter()
                    .map(|e| t::Entry {
                        id: e.id.to_hex(),
                        exercise: e.exercise_name.clone(),
                        exercise_key: e.exercise_name_lower.clone(),
                        date_ms: e.date.timestamp_millis(),
                        sets: e
                            .sets
                            .iter()
                            .map(|s| t::LoggedSet {
                                reps: s.reps,
                                weight: s.weight,
                                unit: s.unit.code().to_string(),
                                weight_kg: s.weight_kg,
                            })
                            .collect(),
                    })
                    .collect();
                let wit_params: Vec<x::Param> = params
                    .0
                    .iter()
                    .map(|(name, value)| x::Param {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect();
                let units: Vec<t::UnitDef> = UNITS
                    .iter()
                    .map(|u| t::UnitDef {
                        code: u.code.to_string(),
                        kg_per_unit: u.kg_per_unit,
                    })
                    .collect();
                let answer = plugin
                    .everfit_insights_insight()
                    .call_compute(&mut store, &wit_entries, &wit_params, &units)
                    .map_err(|e| classify(e, &store, self.limits))?;
                match answer {
                    Ok(r) => Ok(result_from_v0_1_0(r)),
                    Err(x::ComputeError::InvalidParam((param, message))) => {
                        Err(PluginError::InvalidParam { param, message })
                    }
                    Err(x::ComputeError::Failed(message)) => Err(PluginError::Failed(message)),
                }
            }
        }
    }

    fn describe_call(&self) -> Result<Descriptor, PluginError> {
        let mut store = new_store(&self.engine, self.limits);
        match &self.pre {
            Pre::V0_1_0(pre) => {
                use v0_1_0::insight::exports::everfit::insights::insight as x;
                let plugin = pre
                    .instantiate(&mut store)
                    .map_err(|e| classify(e, &store, self.limits))?;
                let d = plugin
                    .everfit_insights_insight()
                    .call_describe(&mut store)
                    .map_err(|e| classify(e, &store, self.limits))?;
                Ok(Descriptor {
                    name: d.name,
                    version: d.version,
                    title: d.title,
                    description: d.description,
                    params: d
                        .params
                        .into_iter()
                        .map(|p| ParamSpec {
                            name: p.name,
                            description: p.description,
                            kind: match p.kind {
                                x::ParamKind::Text => ParamKind::Text,
                                x::ParamKind::Integer((min, max)) => {
                                    ParamKind::Integer { min, max }
                                }
                                x::ParamKind::Number => ParamKind::Number,
                                x::ParamKind::Choice(values) => ParamKind::Choice { values },
                                x::ParamKind::Exercise => ParamKind::Exercise,
                            },
                            required: p.required,
                            default: p.default_value,
                        })
                        .collect(),
                    interface: String::new(),
                    source: String::new(),
                })
            }
        }
    }
}

fn result_from_v0_1_0(
    r: v0_1_0::insight::exports::everfit::insights::insight::InsightResult,
) -> InsightResult {
    InsightResult {
        summary: r.summary,
        metrics: r
            .metrics
            .into_iter()
            .map(|m| Metric {
                name: m.name,
                value: m.value,
                unit: m.unit,
            })
            .collect(),
        series: r
            .series
            .into_iter()
            .map(|s| Series {
                name: s.name,
                unit: s.unit,
                points: s
                    .points
                    .into_iter()
                    .map(|p| Point {
                        at: chrono::DateTime::from_timestamp_millis(p.at_ms)
                            .map(crate::domain::dates::format_instant)
                            .unwrap_or_default(),
                        at_ms: p.at_ms,
                        label: p.label,
                        value: p.value,
                    })
                    .collect(),
            })
            .collect(),
        tables: r
            .tables
            .into_iter()
            .map(|t| Table {
                name: t.name,
                columns: t.columns,
                rows: t.rows,
            })
            .collect(),
    }
}

fn check_value(kind: &ParamKind, v: &str) -> Result<(), String> {
    match kind {
        ParamKind::Text | ParamKind::Exercise => {
            if v.chars().count() > 200 {
                Err("must be at most 200 characters".into())
            } else {
                Ok(())
            }
        }
        ParamKind::Integer { min, max } => match v.parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(()),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        },
        ParamKind::Number => match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(()),
            _ => Err("must be a number".into()),
        },
        ParamKind::Choice { values } => {
            if values.iter().any(|c| c == v) {
                Ok(())
            } else {
                Err(format!("must be one of: {}", values.join(", ")))
            }
        }
    }
}

/// A plugin's self-description must be usable before the plugin is listed.
fn check_descriptor(d: &Descriptor) -> anyhow::Result<()> {
    let valid_name = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    anyhow::ensure!(
        valid_name,
        "describe() gave the name {:?}: use 1-64 characters [a-z0-9-]",
        d.name
    );
    let mut seen = std::collections::BTreeSet::new();
    for p in &d.params {
        anyhow::ensure!(
            !p.name.is_empty()
                && p.name.len() <= 64
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "parameter name {:?} must be 1-64 characters [A-Za-z0-9_-]",
            p.name
        );
        anyhow::ensure!(
            seen.insert(p.name.as_str()),
            "parameter {:?} is declared twice",
            p.name
        );
        anyhow::ensure!(
            !RESERVED_PARAMS.contains(&p.name.as_str()),
            "parameter {:?} is reserved by the host",
            p.name
        );
        if let ParamKind::Choice { values } = &p.kind {
            anyhow::ensure!(
                !values.is_empty(),
                "parameter {:?} offers no choices",
                p.name
            );
        }
        if let ParamKind::Integer { min, max } = &p.kind {
            anyhow::ensure!(min <= max, "parameter {:?}: min {min} > max {max}", p.name);
        }
        if let Some(default) = &p.default {
            check_value(&p.kind, default)
                .map_err(|m| anyhow::anyhow!("parameter {:?}: default {default:?} {m}", p.name))?;
        }
    }
    anyhow::ensure!(
        d.params
            .iter()
            .filter(|p| p.kind == ParamKind::Exercise)
            .count()
            <= 1,
        "at most one parameter may be of kind exercise"
    );
    Ok(())
}
