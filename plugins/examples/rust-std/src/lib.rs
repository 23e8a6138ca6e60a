//! Rep maxes, an example insight plugin in ordinary std Rust: for one
//! exercise, the heaviest weight lifted for at least 1, 3, 5, 8 and 10 reps,
//! and the weight the best estimated 1RM (Epley) predicts for each.

use std::collections::BTreeMap;

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "insight-plugin",
});

use everfit::insights::types::{Entry, UnitDef};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Table,
};

/// The rep counts reported.
pub const REPS: [u32; 5] = [1, 3, 5, 8, 10];

/// Epley's estimate of the one-rep max.
pub fn e1rm(weight_kg: f64, reps: u32) -> f64 {
    if reps <= 1 {
        weight_kg
    } else {
        weight_kg * (1.0 + f64::from(reps) / 30.0)
    }
}

/// The weight Epley predicts for `reps` reps from a one-rep max (the
/// inverse of [`e1rm`]).
pub fn weight_for(e1rm: f64, reps: u32) -> f64 {
    if reps <= 1 {
        e1rm
    } else {
        e1rm / (1.0 + f64::from(reps) / 30.0)
    }
}

/// For each of [`REPS`]: the heaviest weight (kg) of a set with at least
/// that many reps, if any; and the best estimated 1RM over all sets.
pub fn rep_maxes(sets: &[(u32, f64)]) -> (BTreeMap<u32, Option<f64>>, Option<f64>) {
    let mut best: BTreeMap<u32, Option<f64>> = REPS.iter().map(|&r| (r, None)).collect();
    let mut best_e1rm: Option<f64> = None;
    for &(reps, kg) in sets {
        if reps == 0 || !kg.is_finite() {
            continue;
        }
        for (&r, slot) in best.iter_mut() {
            if reps >= r && slot.is_none_or(|b| kg > b) {
                *slot = Some(kg);
            }
        }
        let e = e1rm(kg, reps);
        if best_e1rm.is_none_or(|b| e > b) {
            best_e1rm = Some(e);
        }
    }
    (best, best_e1rm)
}

fn round1(x: f64) -> String {
    format!("{:.1}", (x * 10.0).round() / 10.0)
}

struct RepMaxes;

impl Guest for RepMaxes {
    fn describe() -> Descriptor {
        Descriptor {
            name: "rep-maxes".into(),
            version: "0.1.0".into(),
            title: "Rep maxes".into(),
            description: "Heaviest weight for 1, 3, 5, 8 and 10 reps, actual and estimated".into(),
            params: vec![ParamSpec {
                name: "exercise".into(),
                description: "The exercise (case-insensitive)".into(),
                kind: ParamKind::Exercise,
                required: true,
                default_value: None,
            }],
        }
    }

    fn compute(
        entries: Vec<Entry>,
        _params: Vec<Param>,
        _units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let sets: Vec<(u32, f64)> = entries
            .iter()
            .flat_map(|e| e.sets.iter().map(|s| (s.reps, s.weight_kg)))
            .collect();
        let (best, best_e1rm) = rep_maxes(&sets);
        let rows = best
            .iter()
            .map(|(&reps, actual)| {
                let estimated = best_e1rm.map(|e| weight_for(e, reps));
                vec![
                    reps.to_string(),
                    actual.map(round1).unwrap_or_default(),
                    estimated.map(round1).unwrap_or_default(),
                ]
            })
            .collect();
        let summary = match best_e1rm {
            Some(e) => format!(
                "best estimated 1RM {} kg over {} sets",
                round1(e),
                sets.len()
            ),
            None => "no sets logged".to_string(),
        };
        Ok(InsightResult {
            summary,
            metrics: best_e1rm
                .map(|e| Metric {
                    name: "best-e1rm".into(),
                    value: e,
                    unit: Some("kg".into()),
                })
                .into_iter()
                .collect(),
            series: vec![],
            tables: vec![Table {
                name: "rep-maxes".into(),
                columns: vec!["reps".into(), "actual-kg".into(), "estimated-kg".into()],
                rows,
            }],
        })
    }
}

export!(RepMaxes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heaviest_set_with_at_least_the_reps_and_the_best_estimate() {
        let (best, e) = rep_maxes(&[(5, 100.0), (3, 110.0), (10, 80.0), (1, 115.0)]);
        assert_eq!(best[&1], Some(115.0));
        assert_eq!(best[&3], Some(110.0));
        assert_eq!(best[&5], Some(100.0));
        assert_eq!(best[&8], Some(80.0));
        assert_eq!(best[&10], Some(80.0));
        // 110 x 3 -> 121; 100 x 5 -> 116.7; 80 x 10 -> 106.7; 115 x 1 -> 115.
        assert!((e.unwrap() - 121.0).abs() < 1e-9);
        assert_eq!(rep_maxes(&[]).1, None);
    }

    #[test]
    fn the_estimate_inverts_epley() {
        for reps in REPS {
            assert!((e1rm(weight_for(120.0, reps), reps) - 120.0).abs() < 1e-9);
        }
    }
}
