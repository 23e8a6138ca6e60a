//! `everfit:insights@0.1.0` (wit/v0.1.0): bindings and conversions.

use crate::domain::columns::EntryColumns;
use crate::domain::dates::format_instant;
use crate::domain::units::UNITS;
use crate::plugins::insight::types::{
    Descriptor, InsightResult, Metric, ParamKind, ParamSpec, Params, Point, Series, Table,
};
use crate::plugins::sandbox::{Limits, PluginError, StoreState, classify};
use wasmtime::Store;

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

use insight::everfit::insights::types as t;
use insight::exports::everfit::insights::insight as x;

/// Calls `describe` in a fresh instance.
pub fn describe(
    pre: &insight::InsightPluginPre<StoreState>,
    store: &mut Store<StoreState>,
    limits: Limits,
) -> Result<Descriptor, PluginError> {
    let plugin = pre
        .instantiate(&mut *store)
        .map_err(|e| classify(e, store, limits))?;
    let d = plugin
        .everfit_insights_insight()
        .call_describe(&mut *store)
        .map_err(|e| classify(e, store, limits))?;
    Ok(Descriptor {
        name: d.name,
        version: d.version,
        title: d.title,
        description: d.description,
        params: d.params.into_iter().map(param_spec).collect(),
        interface: String::new(),
        source: String::new(),
    })
}

/// Calls `compute` in a fresh instance.
pub fn compute(
    pre: &insight::InsightPluginPre<StoreState>,
    store: &mut Store<StoreState>,
    limits: Limits,
    entries: &EntryColumns,
    params: &Params,
) -> Result<InsightResult, PluginError> {
    let plugin = pre
        .instantiate(&mut *store)
        .map_err(|e| classify(e, store, limits))?;
    let wit_entries: Vec<t::Entry> = (0..entries.len()).map(|i| entry(entries, i)).collect();
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
        .call_compute(&mut *store, &wit_entries, &wit_params, &units)
        .map_err(|e| classify(e, store, limits))?;
    match answer {
        Ok(r) => Ok(result(r)),
        Err(x::ComputeError::InvalidParam((param, message))) => {
            Err(PluginError::InvalidParam { param, message })
        }
        Err(x::ComputeError::Failed(message)) => Err(PluginError::Failed(message)),
    }
}

fn entry(entries: &EntryColumns, i: usize) -> t::Entry {
    let exercise = entries.exercise(i);
    t::Entry {
        id: entries.ids()[i].to_hex(),
        exercise: exercise.name.clone(),
        exercise_key: exercise.key.clone(),
        date_ms: entries.dates_ms()[i],
        sets: entries
            .sets(i)
            .map(|s| t::LoggedSet {
                reps: s.reps,
                weight: s.weight,
                unit: s.unit.code().to_string(),
                weight_kg: s.weight_kg,
            })
            .collect(),
    }
}

fn param_spec(p: x::ParamSpec) -> ParamSpec {
    ParamSpec {
        name: p.name,
        description: p.description,
        kind: match p.kind {
            x::ParamKind::Text => ParamKind::Text,
            x::ParamKind::Integer((min, max)) => ParamKind::Integer { min, max },
            x::ParamKind::Number => ParamKind::Number,
            x::ParamKind::Choice(values) => ParamKind::Choice { values },
            x::ParamKind::Exercise => ParamKind::Exercise,
        },
        required: p.required,
        default: p.default_value,
    }
}

fn result(r: x::InsightResult) -> InsightResult {
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
                label: None,
                unit: s.unit,
                points: s
                    .points
                    .into_iter()
                    .map(|p| Point {
                        at: chrono::DateTime::from_timestamp_millis(p.at_ms)
                            .map(format_instant)
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
