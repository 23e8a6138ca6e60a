//! Training frequency and consistency (interface 0.2.0): over the requested
//! range (or from the first to the last session), sessions (days with an
//! entry) per ISO week, empty weeks included; the longest and the current
//! streak of weeks with at least `min-sessions`; the longest gap between two
//! sessions. The calculation is `everfit_insights_calc::frequency`.
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
use everfit_insights_calc::frequency::Frequency;
use everfit_insights_calc::{MS_PER_DAY, round2};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Point,
    Series, Table,
};
use insight_v2::{day_label, for_each_entry, int_param, range_days};

struct Consistency;

impl Guest for Consistency {
    fn describe() -> Descriptor {
        Descriptor {
            name: "consistency".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Training frequency and consistency".into(),
            description: "Sessions (days with an entry) per ISO week, empty weeks included; the \
                          longest and the current streak of weeks with at least min-sessions \
                          sessions; the longest gap between two sessions. Takes from/to."
                .into(),
            params: vec![ParamSpec {
                name: "min-sessions".into(),
                description: "Sessions a week needs to count towards a streak".into(),
                kind: ParamKind::Integer((1, 7)),
                required: false,
                default_value: Some("1".into()),
            }],
        }
    }

    fn compute(
        entries: &Entries,
        range: DateRange,
        params: Vec<Param>,
        _units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let min = int_param(&params, "min-sessions", 1)?.clamp(1, 7) as u32;
        let mut acc = Frequency::default();
        for_each_entry(entries, |e| acc.push(e));
        let (from_day, to_day) = range_days(&range);
        let r = acc.finish(from_day, to_day, min);
        let weeks = r.weeks.len();
        let per_week = if weeks == 0 {
            0.0
        } else {
            round2(f64::from(r.sessions) / weeks as f64)
        };
        let consistency = if weeks == 0 {
            0.0
        } else {
            round2(100.0 * f64::from(r.weeks_meeting) / weeks as f64)
        };
        let metric = |name: &str, value: f64, unit: Option<&str>| Metric {
            name: name.into(),
            value,
            unit: unit.map(Into::into),
        };
        let metrics = vec![
            metric("sessions", f64::from(r.sessions), Some("sessions")),
            metric("weeks", weeks as f64, Some("weeks")),
            metric("sessions-per-week", per_week, Some("sessions/week")),
            metric("consistency", consistency, Some("%")),
            metric("longest-streak", f64::from(r.longest_streak), Some("weeks")),
            metric("current-streak", f64::from(r.current_streak), Some("weeks")),
            metric("longest-gap", r.longest_gap_days as f64, Some("days")),
        ];
        let points: Vec<Point> = r
            .weeks
            .iter()
            .map(|&(m, n)| Point {
                at_ms: m * MS_PER_DAY,
                label: day_label(m),
                value: f64::from(n),
            })
            .collect();
        let rows = r
            .weeks
            .iter()
            .map(|&(m, n)| {
                vec![
                    day_label(m),
                    format!("{n}"),
                    if n >= min { "yes".into() } else { "no".into() },
                ]
            })
            .collect();
        let summary = if r.sessions == 0 {
            "No sessions in this period".into()
        } else {
            let gap = match r.longest_gap_from {
                Some(from) => format!(
                    ", longest gap {} days from {}",
                    r.longest_gap_days,
                    day_label(from)
                ),
                None => ", no gap".into(),
            };
            format!(
                "{} sessions in {weeks} weeks ({per_week}/week); longest streak {} weeks, \
                 current {}{gap}",
                r.sessions, r.longest_streak, r.current_streak
            )
        };
        Ok(InsightResult {
            summary,
            metrics,
            series: vec![Series {
                name: "sessions".into(),
                label: Some("Sessions per week".into()),
                unit: Some("sessions".into()),
                points,
            }],
            tables: vec![Table {
                name: "per-week".into(),
                columns: vec!["week".into(), "sessions".into(), format!("at least {min}")],
                rows,
            }],
        })
    }
}

export!(Consistency);
