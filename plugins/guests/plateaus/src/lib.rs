//! Plateau detector (interface 0.2.0): per exercise (or the one asked for),
//! the last day its best estimated 1RM (Epley) beat every earlier day's, and
//! whether `weeks` or more have passed since while it was still trained. As
//! of the range's end when given, else each exercise's last session. The
//! calculation is `everfit_insights_calc::plateau`.
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

use alloc::vec::Vec;
use alloc::{format, vec};
use everfit::insights::types::{DateRange, Entries, UnitDef};
use everfit_insights_calc::plateau::Plateaus;
use everfit_insights_calc::round2;
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Table,
};
use insight_v2::{
    day_label, exercise_param, fold_entries, int_param, range_days, unit_factor, unit_param,
};

struct PlateauDetector;

impl Guest for PlateauDetector {
    fn describe() -> Descriptor {
        Descriptor {
            name: "plateaus".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Plateau detector".into(),
            description: "Per exercise: the best estimated 1RM (Epley), the date of the last \
                          e1RM record, and a plateau when no record came in `weeks` weeks of \
                          training since. Takes from/to (as of the end of the range)."
                .into(),
            params: vec![
                exercise_param(
                    false,
                    "Only this exercise (case-insensitive); all when left out",
                ),
                ParamSpec {
                    name: "weeks".into(),
                    description: "Weeks without an e1RM record that make a plateau".into(),
                    kind: ParamKind::Integer((1, 104)),
                    required: false,
                    default_value: Some("4".into()),
                },
                unit_param("Unit of the weights in the result"),
            ],
        }
    }

    fn compute(
        entries: &Entries,
        range: DateRange,
        params: Vec<Param>,
        units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let weeks = int_param(&params, "weeks", 4)?.clamp(1, 104) as u32;
        let (unit, kg_per_unit) = unit_factor(&params, &units)?;
        let mut acc = Plateaus::default();
        fold_entries(entries, &mut acc);
        // Verdicts are per key; a person reads the display name (the oldest
        // entry's, as the user wrote it).
        fn shown<'a>(acc: &'a Plateaus, key: &'a str) -> &'a str {
            acc.display_name(key).unwrap_or(key)
        }
        // As of the range's last day, when it has an end.
        let as_of = range_days(&range).1.map(|end| end - 1);
        let verdicts = acc.finish(weeks, as_of);
        let plateaued: Vec<&str> = verdicts
            .iter()
            .filter(|(_, v)| v.plateaued)
            .map(|(e, _)| shown(&acc, e))
            .collect();
        let mut metrics = vec![
            Metric {
                name: "exercises".into(),
                value: verdicts.len() as f64,
                unit: None,
            },
            Metric {
                name: "plateaued".into(),
                value: plateaued.len() as f64,
                unit: None,
            },
        ];
        if verdicts.len() == 1
            && let Some(v) = verdicts.values().next()
        {
            metrics.push(Metric {
                name: "weeks-since-pr".into(),
                value: round2(v.days_since as f64 / 7.0),
                unit: Some("weeks".into()),
            });
        }
        let rows = verdicts
            .iter()
            .map(|(exercise, v)| {
                vec![
                    shown(&acc, exercise).into(),
                    format!("{}", round2(v.best_e1rm_kg / kg_per_unit)),
                    day_label(v.last_pr_day),
                    format!("{}", v.days_since / 7),
                    format!("{}", v.sessions_since),
                    if v.plateaued {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                ]
            })
            .collect();
        let summary = match (verdicts.len(), plateaued.len()) {
            (0, _) => "No sets in this period".into(),
            (n, 0) => format!(
                "No plateau: every one of {n} exercises set an e1RM record within {weeks} weeks"
            ),
            (n, _) => format!(
                "{} of {n} exercises without an e1RM record in {weeks}+ weeks: {}",
                plateaued.len(),
                plateaued.join(", ")
            ),
        };
        Ok(InsightResult {
            summary,
            metrics,
            series: Vec::new(),
            tables: vec![Table {
                name: "exercises".into(),
                columns: vec![
                    "exercise".into(),
                    format!("best e1RM ({unit})"),
                    "last e1RM record".into(),
                    "weeks since".into(),
                    "sessions since".into(),
                    "plateau".into(),
                ],
                rows,
            }],
        })
    }
}

export!(PlateauDetector);
