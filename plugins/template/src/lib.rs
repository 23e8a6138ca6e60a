//! Template insight plugin: total training volume (reps x kg) and sets per
//! exercise for one user, optionally over the last `days` days.
//!
//! Everything a plugin does is in `describe` (what it is, which parameters it
//! takes) and `compute` (entries + parameters -> metrics, series, tables).
//! It runs sandboxed: no files, network, clock or environment, a 64 MiB
//! memory cap and a 1 s deadline per call.

use std::collections::BTreeMap;

wit_bindgen::generate!({
    path: "wit",
    world: "insight-plugin",
});

use everfit::insights::types::{Entry, UnitDef};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Table,
};

const MS_PER_DAY: i64 = 86_400_000;

struct Plugin;

impl Guest for Plugin {
    fn describe() -> Descriptor {
        Descriptor {
            // The URL name: GET /insights/volume?userId=...
            name: "volume".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Training volume".into(),
            description: "Total volume (reps x kg) and sets per exercise".into(),
            params: vec![ParamSpec {
                name: "days".into(),
                description: "Only the last N days before the newest entry (0: all)".into(),
                kind: ParamKind::Integer((0, 3650)),
                required: false,
                default_value: Some("0".into()),
            }],
        }
    }

    fn compute(
        entries: Vec<Entry>,
        params: Vec<Param>,
        _units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        // The host has validated `days` against the declaration already.
        let days: i64 = params
            .iter()
            .find(|p| p.name == "days")
            .and_then(|p| p.value.parse().ok())
            .unwrap_or(0);
        Ok(volume_report(&entries, days))
    }
}

/// The plugin's logic, kept free of the sandbox so `cargo test` can run it.
pub fn volume_report(entries: &[Entry], days: i64) -> InsightResult {
    let newest = entries.iter().map(|e| e.date_ms).max().unwrap_or(0);
    let since = if days > 0 {
        newest - days * MS_PER_DAY
    } else {
        i64::MIN
    };
    // exercise -> (volume kg, sets)
    let mut per_exercise: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.date_ms > since) {
        let slot = per_exercise.entry(entry.exercise.clone()).or_default();
        for set in &entry.sets {
            slot.0 += f64::from(set.reps) * set.weight_kg;
            slot.1 += 1;
        }
    }
    let total: f64 = per_exercise.values().map(|v| v.0).sum();
    InsightResult {
        summary: format!("{} exercises, {total:.0} kg of volume", per_exercise.len()),
        metrics: vec![Metric {
            name: "total-volume".into(),
            value: total,
            unit: Some("kg*reps".into()),
        }],
        series: Vec::new(),
        tables: vec![Table {
            name: "per-exercise".into(),
            columns: vec![
                "exercise".into(),
                "volume (kg x reps)".into(),
                "sets".into(),
            ],
            rows: per_exercise
                .iter()
                .map(|(name, (volume, sets))| {
                    vec![name.clone(), format!("{volume:.1}"), format!("{sets}")]
                })
                .collect(),
        }],
    }
}

export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use everfit::insights::types::LoggedSet;

    fn entry(exercise: &str, day: i64, sets: &[(u32, f64)]) -> Entry {
        Entry {
            id: format!("{day:024x}"),
            exercise: exercise.into(),
            exercise_key: exercise.to_lowercase(),
            date_ms: day * MS_PER_DAY,
            sets: sets
                .iter()
                .map(|&(reps, kg)| LoggedSet {
                    reps,
                    weight: kg,
                    unit: "kg".into(),
                    weight_kg: kg,
                })
                .collect(),
        }
    }

    #[test]
    fn sums_volume_per_exercise_and_honours_days() {
        let entries = [
            entry("Squat", 1, &[(5, 100.0), (5, 100.0)]),
            entry("Bench Press", 10, &[(10, 60.0)]),
        ];
        let all = volume_report(&entries, 0);
        assert_eq!(all.metrics[0].value, 1600.0);
        assert_eq!(all.tables[0].rows[0], vec!["Bench Press", "600.0", "1"]);
        let recent = volume_report(&entries, 3);
        assert_eq!(recent.metrics[0].value, 600.0);
    }
}
