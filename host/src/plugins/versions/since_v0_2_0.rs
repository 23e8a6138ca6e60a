//! `everfit:insights@0.2.0` (wit/v0.2.0): bindings and conversions.
//!
//! New in 0.2.0: the entries are a host resource the plugin reads page by
//! page (columns of numbers, each exercise once per page with its muscle
//! group), the call receives the requested date range, and series carry a
//! human label.

use crate::domain::Catalogue;
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::domain::units::UNITS;
use crate::plugins::entries::EntryPages;
use crate::plugins::insight::types::{
    Descriptor, InsightResult, Metric, ParamKind, ParamSpec, Params, Point, Series, Table,
};
use crate::plugins::sandbox::{Limits, PluginError, StoreState, classify};
use std::collections::HashMap;
use std::ops::Range;
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker, Resource};

/// The world of insight plugins.
pub mod insight {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2.0",
        world: "insight-plugin",
    });
}

/// The interface name a component exports in this version.
pub const INSIGHT_EXPORT: &str = "everfit:insights/insight@0.2.0";

/// The most entries one page holds, whatever the plugin asks for.
pub const MAX_PAGE: u32 = 10_000;

use insight::everfit::insights::types as t;
use insight::exports::everfit::insights::insight as x;

/// Adds the host side of `everfit:insights/types@0.2.0` (the `entries` resource).
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> anyhow::Result<()> {
    t::add_to_linker::<StoreState, HasSelf<StoreState>>(linker, |s| s)?;
    Ok(())
}

impl t::Host for StoreState {}

impl t::HostEntries for StoreState {
    fn next_page(&mut self, _entries: Resource<t::Entries>, max: u32) -> Option<t::Page> {
        let (range, entries, catalogue) = self
            .pages_mut()?
            .next_chunk(max.clamp(1, MAX_PAGE) as usize)?;
        Some(page(entries, range, catalogue))
    }

    fn drop(&mut self, _entries: Resource<t::Entries>) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// Entries `range` of `entries` as a page: the columns copied as they
/// are, set ends and exercise indices counted from the page's start.
fn page(entries: &EntryColumns, range: Range<usize>, catalogue: &Catalogue) -> t::Page {
    let n = range.len();
    let first_set = entries.set_range(range.start).start;
    let sets = first_set..entries.set_range(range.end - 1).end;
    let mut p = t::Page {
        entry_ids: String::with_capacity(n * 24),
        entry_id_ends: Vec::with_capacity(n),
        date_ms: entries.dates_ms()[range.clone()].to_vec(),
        exercise: Vec::with_capacity(n),
        exercises: Vec::new(),
        set_ends: entries.set_ends()[range.clone()]
            .iter()
            .map(|&end| end - first_set as u32)
            .collect(),
        reps: entries.reps()[sets.clone()].to_vec(),
        weight_kg: entries.weights_kg()[sets.clone()].to_vec(),
        weight: entries.weights()[sets.clone()].to_vec(),
        unit: entries.units()[sets]
            .iter()
            .map(|u| UNITS.iter().position(|d| d.code == u.code()).unwrap_or(0) as u32)
            .collect(),
    };
    // One exercise per key on a page, named as its first entry there logged it.
    let mut by_key: HashMap<&str, u32> = HashMap::new();
    let mut of_logged: Vec<Option<u32>> = vec![None; entries.exercises().len()];
    for i in range {
        entries.ids()[i].push_hex(&mut p.entry_ids);
        p.entry_id_ends.push(p.entry_ids.len() as u32);
        let logged = entries.exercise_of()[i] as usize;
        let index = *of_logged[logged].get_or_insert_with(|| {
            let x = &entries.exercises()[logged];
            let next = p.exercises.len() as u32;
            *by_key.entry(x.key.as_str()).or_insert_with(|| {
                p.exercises.push(t::Exercise {
                    name: x.name.clone(),
                    key: x.key.clone(),
                    muscle_group: catalogue.group_of(&x.key).map(str::to_string),
                });
                next
            })
        });
        p.exercise.push(index);
    }
    p
}

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

/// Calls `compute` in a fresh instance, the store serving `pages`.
pub fn compute(
    pre: &insight::InsightPluginPre<StoreState>,
    store: &mut Store<StoreState>,
    limits: Limits,
    pages: EntryPages,
    range: TimeRange,
    params: &Params,
) -> Result<InsightResult, PluginError> {
    let plugin = pre
        .instantiate(&mut *store)
        .map_err(|e| classify(e, store, limits))?;
    store.data_mut().set_pages(pages);
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
    let wit_range = t::DateRange {
        from_ms: range.start.map(|d| d.timestamp_millis()),
        to_ms: range.end.map(|d| d.timestamp_millis()),
    };
    // One resource per call; the store (and with it the entries) is dropped
    // after the call, so its representation needs no table.
    let entries: Resource<t::Entries> = Resource::new_borrow(0);
    let answer = plugin
        .everfit_insights_insight()
        .call_compute(&mut *store, entries, wit_range, &wit_params, &units)
        .map_err(|e| classify(e, store, limits))?;
    match answer {
        Ok(r) => Ok(result(r)),
        Err(x::ComputeError::InvalidParam((param, message))) => {
            Err(PluginError::InvalidParam { param, message })
        }
        Err(x::ComputeError::Failed(message)) => Err(PluginError::Failed(message)),
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
    use crate::domain::dates::format_instant;
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
                label: s.label,
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
