//! The progress insight: for one exercise, the best estimated one-rep max
//! (Epley), the top set and the volume per week or month, with the trend of
//! the best e1RM as a least-squares slope per week.
// no_std in the component; std under `cargo test`, which runs natively.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[path = "../../guest_runtime.rs"]
mod guest_runtime;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use everfit_insights_calc::calendar;
use everfit_pr::epley_one_rep_max;

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "insight-plugin",
});

use everfit::insights::types::{Entry, UnitDef};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Point,
    Series, Table,
};

const MS_PER_WEEK: f64 = 7.0 * 86_400_000.0;

struct Progress;

/// One week or month of sets.
struct Bucket {
    start_ms: i64,
    label: String,
    best_e1rm_kg: f64,
    top_weight_kg: f64,
    top_reps: u32,
    volume_kg: f64,
    sets: u32,
}

fn param<'a>(params: &'a [Param], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.as_str())
}

/// Least-squares slope of `(x, y)` points; None with fewer than two distinct x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.0 - mean_x)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn round2(v: f64) -> f64 {
    // no_std has no f64::round; values here are small and positive-or-zero.
    let scaled = v * 100.0;
    let t = scaled as i64 as f64;
    let r = if scaled - t >= 0.5 {
        t + 1.0
    } else if scaled - t <= -0.5 {
        t - 1.0
    } else {
        t
    };
    r / 100.0
}

impl Guest for Progress {
    fn describe() -> Descriptor {
        Descriptor {
            name: "progress".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Progress over time".into(),
            description: "Best estimated 1RM (Epley), top set and volume of one exercise per week \
                          or month, with the trend of the best e1RM (least-squares slope per week)."
                .into(),
            params: vec![
                ParamSpec {
                    name: "exercise".into(),
                    description: "The exercise (case-insensitive)".into(),
                    kind: ParamKind::Exercise,
                    required: true,
                    default_value: None,
                },
                ParamSpec {
                    name: "period".into(),
                    description: "Bucket size".into(),
                    kind: ParamKind::Choice(vec!["week".into(), "month".into()]),
                    required: false,
                    default_value: Some("week".into()),
                },
                ParamSpec {
                    name: "unit".into(),
                    description: "Unit of the weights in the result".into(),
                    kind: ParamKind::Choice(vec!["kg".into(), "lb".into()]),
                    required: false,
                    default_value: Some("kg".into()),
                },
            ],
        }
    }

    fn compute(
        entries: Vec<Entry>,
        params: Vec<Param>,
        units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let monthly = match param(&params, "period").unwrap_or("week") {
            "week" => false,
            "month" => true,
            other => {
                return Err(ComputeError::InvalidParam((
                    "period".into(),
                    format!("unknown period {other:?}"),
                )));
            }
        };
        let unit = param(&params, "unit").unwrap_or("kg");
        let kg_per_unit = units
            .iter()
            .find(|u| u.code == unit)
            .map(|u| u.kg_per_unit)
            .ok_or_else(|| {
                ComputeError::InvalidParam(("unit".into(), format!("unknown unit {unit:?}")))
            })?;
        let exercise = entries
            .first()
            .map(|e| e.exercise.clone())
            .unwrap_or_else(|| param(&params, "exercise").unwrap_or_default().to_string());
        let buckets = bucketize(&entries, monthly);
        Ok(report(&exercise, &buckets, monthly, unit, kg_per_unit))
    }
}

fn bucketize(entries: &[Entry], monthly: bool) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    for entry in entries {
        let (start_ms, label) = if monthly {
            calendar::month_of(entry.date_ms)
        } else {
            calendar::week_of(entry.date_ms)
        };
        // Entries come oldest first, but do not rely on it.
        let i = match buckets.binary_search_by_key(&start_ms, |b| b.start_ms) {
            Ok(i) => i,
            Err(i) => {
                buckets.insert(
                    i,
                    Bucket {
                        start_ms,
                        label,
                        best_e1rm_kg: 0.0,
                        top_weight_kg: 0.0,
                        top_reps: 0,
                        volume_kg: 0.0,
                        sets: 0,
                    },
                );
                i
            }
        };
        let b = &mut buckets[i];
        for set in &entry.sets {
            let e1rm = epley_one_rep_max(set.weight_kg, set.reps);
            if e1rm > b.best_e1rm_kg {
                b.best_e1rm_kg = e1rm;
            }
            if b.sets == 0
                || set.weight_kg > b.top_weight_kg
                || (set.weight_kg == b.top_weight_kg && set.reps > b.top_reps)
            {
                b.top_weight_kg = set.weight_kg;
                b.top_reps = set.reps;
            }
            b.volume_kg += f64::from(set.reps) * set.weight_kg;
            b.sets += 1;
        }
    }
    buckets.retain(|b| b.sets > 0);
    buckets
}

fn report(
    exercise: &str,
    buckets: &[Bucket],
    monthly: bool,
    unit: &str,
    kg_per_unit: f64,
) -> InsightResult {
    let in_unit = |kg: f64| round2(kg / kg_per_unit);
    let series_of = |name: &str, value: &dyn Fn(&Bucket) -> f64, unit: Option<&str>| Series {
        name: name.into(),
        unit: unit.map(Into::into),
        points: buckets
            .iter()
            .map(|b| Point {
                at_ms: b.start_ms,
                label: b.label.clone(),
                value: value(b),
            })
            .collect(),
    };
    let period = if monthly { "month" } else { "week" };
    let volume_unit = format!("{unit}*reps");
    let series = vec![
        series_of("best-e1rm", &|b| in_unit(b.best_e1rm_kg), Some(unit)),
        series_of("top-set-weight", &|b| in_unit(b.top_weight_kg), Some(unit)),
        series_of("volume", &|b| in_unit(b.volume_kg), Some(&volume_unit)),
    ];
    let trend_points: Vec<(f64, f64)> = buckets
        .iter()
        .map(|b| {
            (
                b.start_ms as f64 / MS_PER_WEEK,
                b.best_e1rm_kg / kg_per_unit,
            )
        })
        .collect();
    let trend = slope(&trend_points);
    let mut metrics = Vec::new();
    if let Some(best) = buckets
        .iter()
        .map(|b| b.best_e1rm_kg)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    {
        metrics.push(Metric {
            name: "best-e1rm".into(),
            value: in_unit(best),
            unit: Some(unit.into()),
        });
    }
    if let Some(t) = trend {
        metrics.push(Metric {
            name: "e1rm-trend-per-week".into(),
            value: round2(t),
            unit: Some(format!("{unit}/week")),
        });
    }
    if let (Some(first), Some(last)) = (buckets.first(), buckets.last()) {
        metrics.push(Metric {
            name: "e1rm-change".into(),
            value: in_unit(last.best_e1rm_kg - first.best_e1rm_kg),
            unit: Some(unit.into()),
        });
    }
    metrics.push(Metric {
        name: "periods".into(),
        value: buckets.len() as f64,
        unit: None,
    });
    let rows = buckets
        .iter()
        .map(|b| {
            vec![
                b.label.clone(),
                format!("{}", in_unit(b.best_e1rm_kg)),
                format!("{} x {}", in_unit(b.top_weight_kg), b.top_reps),
                format!("{}", in_unit(b.volume_kg)),
                format!("{}", b.sets),
            ]
        })
        .collect();
    let summary = match (buckets.len(), trend) {
        (0, _) => format!("No sets of {exercise} found for this user"),
        (n, Some(t)) => format!(
            "{exercise}: {n} {period}s, best e1RM trend {:+} {unit}/week",
            round2(t)
        ),
        (n, None) => format!("{exercise}: {n} {period}, not enough data for a trend"),
    };
    InsightResult {
        summary,
        metrics,
        series,
        tables: vec![Table {
            name: format!("per-{period}"),
            columns: vec![
                period.into(),
                format!("best e1RM ({unit})"),
                format!("top set ({unit} x reps)"),
                format!("volume ({unit} x reps)"),
                "sets".into(),
            ],
            rows,
        }],
    }
}

export!(Progress);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line() {
        let pts = [(0.0, 100.0), (1.0, 102.0), (2.0, 104.0)];
        assert!((slope(&pts).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(slope(&pts[..1]), None);
    }

    #[test]
    fn rounds_to_two_decimals() {
        assert_eq!(round2(1.005_1), 1.01);
        assert_eq!(round2(2.0), 2.0);
        assert_eq!(round2(-1.236), -1.24);
    }
}
