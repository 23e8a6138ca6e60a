//! The PR report: current records, the previous window and the deltas, in
//! the unit the client asked for. Rounding happens here and only here.

use crate::domain::dates::{DateInput, TimeRange, format_instant};
use crate::domain::{Unit, round2};
use everfit_pr::{PersonalRecords, RecordKind, SetRecord};

/// Differences current - previous, in the presented unit (None when either side is empty).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Deltas {
    pub heaviest_weight: Option<f64>,
    pub highest_volume: Option<f64>,
    pub best_one_rep_max: Option<f64>,
}

/// Computes deltas from unrounded values, then rounds the result.
pub fn deltas(current: &PersonalRecords, previous: &PersonalRecords, unit: Unit) -> Deltas {
    let diff = |kind: RecordKind| -> Option<f64> {
        let (c, p) = (current.get(kind)?, previous.get(kind)?);
        Some(round2(
            unit.from_kg(kind.metric(c)) - unit.from_kg(kind.metric(p)),
        ))
    };
    Deltas {
        heaviest_weight: diff(RecordKind::HeaviestSet),
        highest_volume: diff(RecordKind::HighestVolumeSet),
        best_one_rep_max: diff(RecordKind::BestOneRepMax),
    }
}

/// A record set presented in a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentedSet {
    /// The ranked value (weight, volume or 1RM) in the unit, rounded.
    pub value: f64,
    pub weight: f64,
    pub reps: u32,
    pub unit: Unit,
    pub date: String,
    pub entry_id: String,
}

pub fn present(kind: RecordKind, set: &SetRecord, unit: Unit) -> PresentedSet {
    PresentedSet {
        value: round2(unit.from_kg(kind.metric(set))),
        ..present_set(set, unit)
    }
}

/// A set presented in a unit, ranked by its weight (`value` is the weight):
/// the rep records.
pub fn present_set(set: &SetRecord, unit: Unit) -> PresentedSet {
    let weight = round2(unit.from_kg(set.weight_kg));
    PresentedSet {
        value: weight,
        weight,
        reps: set.reps,
        unit,
        date: chrono::DateTime::from_timestamp_millis(set.date_ms)
            .map(format_instant)
            .unwrap_or_default(),
        entry_id: set.entry_id.clone(),
    }
}

/// The instant a UTC day starts, as presented (the date of a day total).
pub fn present_day(day: i64) -> String {
    format_instant(crate::domain::days::day_start(day))
}

/// The echo of a closed or half-open range in a report.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeEcho {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl RangeEcho {
    pub fn of_inputs(from: Option<DateInput>, to: Option<DateInput>) -> Option<Self> {
        if from.is_none() && to.is_none() {
            return None;
        }
        Some(RangeEcho {
            from: from.map(|f| format_instant(f.instant)),
            to: to.map(|t| format_instant(t.instant)),
        })
    }

    /// A computed window `[start, end)`, shown with its inclusive last millisecond.
    pub fn of_window(range: &TimeRange) -> Self {
        RangeEcho {
            from: range.start.map(format_instant),
            to: range
                .end
                .map(|e| format_instant(e - chrono::Duration::milliseconds(1))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(reps: u32, kg: f64) -> SetRecord {
        SetRecord {
            entry_id: "665f1c2b8a1e4d0012345678".into(),
            date_ms: 1_780_963_200_000,
            set_index: 0,
            reps,
            weight_kg: kg,
        }
    }

    #[test]
    fn spec_example_deltas() {
        let current = PersonalRecords::compute(&[set(3, 110.0), set(10, 90.0)]);
        let previous = PersonalRecords::compute(&[set(3, 100.0), set(10, 85.0)]);
        let d = deltas(&current, &previous, Unit::KG);
        assert_eq!(d.heaviest_weight, Some(10.0));
        assert_eq!(d.highest_volume, Some(50.0));
        assert_eq!(d.best_one_rep_max, Some(7.67)); // 121 - 113.33 (85 x 10)
        let none = deltas(&current, &PersonalRecords::default(), Unit::KG);
        assert_eq!(none, Deltas::default());
    }

    #[test]
    fn presents_in_pounds_with_two_decimals() {
        let lb = Unit::parse("lb").unwrap();
        let p = present(RecordKind::BestOneRepMax, &set(1, 100.0), lb);
        assert_eq!(p.weight, 220.46);
        assert_eq!(p.value, 227.81); // 103.333.. kg / 0.45359237
        assert_eq!(p.date, "2026-06-09T00:00:00Z");
        let kg = present(RecordKind::BestOneRepMax, &set(1, 100.0), Unit::KG);
        assert_eq!(kg.value, 103.33);
        let rep_max = present_set(&set(5, 63.502_931_800_000_006), lb);
        assert_eq!((rep_max.weight, rep_max.reps), (140.0, 5));
        assert_eq!(present_day(-1), "1969-12-31T00:00:00Z");
    }
}
