//! Weekly volume and hard sets per muscle group (interface 0.2.0): over the
//! requested range, each ISO week's volume (reps x weight) and hard sets
//! (sets of at least `hard-pct` % of their entry's best e1RM) per muscle
//! group of the catalogue. The calculation is `everfit_insights_calc::volume`.
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

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use everfit::insights::types::{DateRange, Entries, UnitDef};
use everfit_insights_calc::volume::{WeekGroup, WeeklyVolume};
use everfit_insights_calc::{MS_PER_DAY, monday_of, round2};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Point,
    Series, Table,
};
use insight_v2::{day_label, fold_entries, int_param, range_days, unit_factor, unit_param};

struct MuscleVolume;

/// "chest" -> "Chest".
fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Guest for MuscleVolume {
    fn describe() -> Descriptor {
        Descriptor {
            name: "muscle-volume".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Weekly volume and hard sets per muscle group".into(),
            description: "Per ISO week and muscle group: volume (reps x weight), sets and hard \
                          sets (sets of at least hard-pct % of the best estimated 1RM of their \
                          exercise that day, so warm-ups do not count). Takes from/to."
                .into(),
            params: vec![
                ParamSpec {
                    name: "hard-pct".into(),
                    description: "A set is hard from this percentage of its entry's best e1RM"
                        .into(),
                    kind: ParamKind::Integer((1, 100)),
                    required: false,
                    default_value: Some("80".into()),
                },
                unit_param("Unit of the volume"),
            ],
        }
    }

    fn compute(
        entries: &Entries,
        range: DateRange,
        params: Vec<Param>,
        units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let hard_pct = int_param(&params, "hard-pct", 80)? as f64;
        let (unit, kg_per_unit) = unit_factor(&params, &units)?;
        let mut acc = WeeklyVolume::new(hard_pct);
        fold_entries(entries, &mut acc);
        let weeks = acc.finish();
        let groups: BTreeSet<&str> = weeks.keys().map(|(_, g)| g.as_str()).collect();
        // Every week of the range (or of the data), empty ones included.
        let (from_day, to_day) = range_days(&range);
        let first = from_day
            .map(monday_of)
            .or_else(|| weeks.keys().next().map(|k| k.0));
        let last = to_day
            .map(|d| monday_of(d - 1))
            .or_else(|| weeks.keys().next_back().map(|k| k.0));
        let mondays: Vec<i64> = match (first, last) {
            (Some(f), Some(l)) if !weeks.is_empty() => {
                (0..).map(|i| f + 7 * i).take_while(|m| *m <= l).collect()
            }
            _ => Vec::new(),
        };
        let volume_unit = format!("{unit} x reps");
        let get = |m: i64, g: &str| weeks.get(&(m, g.to_string())).copied().unwrap_or_default();
        let series_of =
            |g: &str, name: String, label: String, unit: &str, f: &dyn Fn(&WeekGroup) -> f64| {
                Series {
                    name,
                    label: Some(label),
                    unit: Some(unit.into()),
                    points: mondays
                        .iter()
                        .map(|&m| Point {
                            at_ms: m * MS_PER_DAY,
                            label: day_label(m),
                            value: f(&get(m, g)),
                        })
                        .collect(),
                }
            };
        let mut series = Vec::new();
        for g in &groups {
            series.push(series_of(
                g,
                format!("hard-sets-{g}"),
                format!("{} hard sets", title_case(g)),
                "sets",
                &|w| f64::from(w.hard_sets),
            ));
        }
        for g in &groups {
            series.push(series_of(
                g,
                format!("volume-{g}"),
                format!("{} volume", title_case(g)),
                &volume_unit,
                &|w| round2(w.volume_kg / kg_per_unit),
            ));
        }
        let mut totals: BTreeMap<&str, WeekGroup> = BTreeMap::new();
        for ((_, g), w) in &weeks {
            let t = totals.entry(g.as_str()).or_default();
            t.volume_kg += w.volume_kg;
            t.sets += w.sets;
            t.hard_sets += w.hard_sets;
        }
        let n_weeks = mondays.len().max(1) as f64;
        let mut metrics = vec![Metric {
            name: "weeks".into(),
            value: mondays.len() as f64,
            unit: None,
        }];
        for (g, t) in &totals {
            metrics.push(Metric {
                name: format!("hard-sets-per-week-{g}"),
                value: round2(f64::from(t.hard_sets) / n_weeks),
                unit: Some("sets".into()),
            });
        }
        let rows = weeks
            .iter()
            .map(|((m, g), w)| {
                vec![
                    day_label(*m),
                    g.clone(),
                    format!("{}", w.sets),
                    format!("{}", w.hard_sets),
                    format!("{}", round2(w.volume_kg / kg_per_unit)),
                ]
            })
            .collect();
        let summary = if weeks.is_empty() {
            "No sets in this period".to_string()
        } else {
            let busiest = totals
                .iter()
                .max_by_key(|(_, t)| t.hard_sets)
                .map(|(g, _)| *g)
                .unwrap_or_default();
            format!(
                "{} weeks, {} muscle groups; most hard sets: {busiest}",
                mondays.len(),
                groups.len()
            )
        };
        Ok(InsightResult {
            summary,
            metrics,
            series,
            tables: vec![Table {
                name: "per-week".into(),
                columns: vec![
                    "week".into(),
                    "muscle group".into(),
                    "sets".into(),
                    "hard sets".into(),
                    format!("volume ({volume_unit})"),
                ],
                rows,
            }],
        })
    }
}

export!(MuscleVolume);
