//! Rep maxes (interface 0.2.0): for one exercise over the requested range,
//! the heaviest weight lifted for at least 1, 3, 5, 8 and 10 reps (with its
//! date), and what the best estimated 1RM (Epley) predicts for each. The
//! calculation is `everfit_insights_calc::rep_maxes`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[path = "../../guest_runtime.rs"]
mod guest_runtime;

wit_bindgen::generate!({
    path: "../../../wit/v0.2.0",
    world: "insight-plugin",
});

#[path = "../../insight_v2.rs"]
mod insight_v2;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use everfit::insights::types::{DateRange, Entries, UnitDef};
use everfit_insights_calc::rep_maxes::RepMaxes;
use everfit_insights_calc::{day_of, round2};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, Table,
};
use insight_v2::{day_label, exercise_param, for_each_entry, param, unit_factor, unit_param};

struct RepMax;

impl Guest for RepMax {
    fn describe() -> Descriptor {
        Descriptor {
            name: "rep-max".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Rep maxes".into(),
            description: "For one exercise: the heaviest weight lifted for at least 1, 3, 5, 8 \
                          and 10 reps (actual, with the date), and the weight the best estimated \
                          1RM (Epley) predicts for each. Takes from/to."
                .into(),
            params: vec![
                exercise_param(true, "The exercise (case-insensitive)"),
                unit_param("Unit of the weights in the result"),
            ],
        }
    }

    fn compute(
        entries: &Entries,
        _range: DateRange,
        params: Vec<Param>,
        units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let (unit, kg_per_unit) = unit_factor(&params, &units)?;
        let mut acc = RepMaxes::default();
        // The display name of the oldest entry, as the user wrote it.
        let mut name: Option<String> = None;
        for_each_entry(entries, |e| {
            if name.is_none() {
                name = Some(e.name.to_string());
            }
            acc.push(e);
        });
        let exercise =
            name.unwrap_or_else(|| param(&params, "exercise").unwrap_or_default().into());
        let in_unit = |kg: f64| round2(kg / kg_per_unit);
        let maxes = acc.finish();
        let mut metrics = Vec::new();
        let mut rows = Vec::new();
        for m in &maxes {
            if let Some(a) = m.actual {
                metrics.push(Metric {
                    name: format!("actual-{}rm", m.reps),
                    value: in_unit(a.weight_kg),
                    unit: Some(unit.into()),
                });
            }
            if let Some(e) = m.estimated_kg {
                metrics.push(Metric {
                    name: format!("estimated-{}rm", m.reps),
                    value: in_unit(e),
                    unit: Some(unit.into()),
                });
            }
            rows.push(vec![
                format!("{}", m.reps),
                m.actual
                    .map(|a| format!("{} x {}", in_unit(a.weight_kg), a.reps))
                    .unwrap_or_else(|| "-".into()),
                m.actual
                    .map(|a| day_label(day_of(a.date_ms)))
                    .unwrap_or_else(|| "-".into()),
                m.estimated_kg
                    .map(|e| format!("{}", in_unit(e)))
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        let summary = match acc.best_e1rm() {
            None => format!("No sets of {exercise} in this period"),
            Some((e, lift)) => format!(
                "{exercise}: best estimated 1RM {} {unit} ({} x {} on {})",
                in_unit(e),
                in_unit(lift.weight_kg),
                lift.reps,
                day_label(day_of(lift.date_ms))
            ),
        };
        Ok(InsightResult {
            summary,
            metrics,
            series: Vec::new(),
            tables: vec![Table {
                name: "rep-maxes".into(),
                columns: vec![
                    "reps".into(),
                    format!("best actual ({unit} x reps)"),
                    "date".into(),
                    format!("estimated ({unit})"),
                ],
                rows,
            }],
        })
    }
}

export!(RepMax);
