//! Template insight plugin (interface `everfit:insights@0.2.0`): training
//! volume (reps x weight) and sets per exercise over the requested dates,
//! and per ISO week as two series for the chart.
//!
//! Everything a plugin does is in `describe` (what it is, which parameters it
//! takes) and `compute` (the entries, page by page, the date range and the
//! parameters -> summary, metrics, series, tables). It is ordinary std Rust
//! built for `wasm32-wasip2` and runs sandboxed: random numbers, clocks and
//! stdout/stderr (to the service log) work; files, network and environment
//! are denied; 64 MiB of memory and 1 s per call. A panic's message reaches
//! the client in the error's `details`.

use std::collections::BTreeMap;

wit_bindgen::generate!({
    path: "wit",
    world: "insight-plugin",
});

use everfit::insights::types::{DateRange, Entries, Page, UnitDef};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec, Point,
    Series, Table,
};

pub const MS_PER_DAY: i64 = 86_400_000;

/// Entries asked for per page (the host allows up to 10,000): the plugin
/// holds one page at a time, so its memory does not grow with the history.
const PAGE_SIZE: u32 = 4096;

struct Plugin;

impl Guest for Plugin {
    fn describe() -> Descriptor {
        Descriptor {
            // The URL name: GET /insights/volume?userId=...&from=...&to=...
            name: "volume".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: "Training volume".into(),
            description: "Volume (reps x weight) and sets per exercise, and per week. \
                          Takes from/to."
                .into(),
            // `from` and `to` are the host's: they arrive as `range`.
            params: vec![ParamSpec {
                name: "unit".into(),
                description: "Unit of the volume".into(),
                kind: ParamKind::Choice(vec!["kg".into(), "lb".into()]),
                required: false,
                default_value: Some("kg".into()),
            }],
        }
    }

    fn compute(
        entries: &Entries,
        range: DateRange,
        params: Vec<Param>,
        units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let (unit, kg_per_unit) = unit_factor(&params, &units)?;
        let mut volume = Volume::default();
        while let Some(page) = entries.next_page(PAGE_SIZE) {
            volume.add_page(&page);
        }
        Ok(volume.report(&range, unit, kg_per_unit))
    }
}

export!(Plugin);

/// The `unit` parameter and its kilograms per unit, from the host's registry.
pub fn unit_factor<'a>(
    params: &'a [Param],
    units: &[UnitDef],
) -> Result<(&'a str, f64), ComputeError> {
    // The host has checked the value against the declared choice and filled
    // in the default.
    let unit = params
        .iter()
        .find(|p| p.name == "unit")
        .map_or("kg", |p| p.value.as_str());
    units
        .iter()
        .find(|u| u.code == unit)
        .map(|u| (unit, u.kg_per_unit))
        .ok_or_else(|| {
            ComputeError::InvalidParam(("unit".into(), format!("unknown unit {unit:?}")))
        })
}

/// Volume in kilograms and number of sets.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Totals {
    pub volume_kg: f64,
    pub sets: u32,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.volume_kg += other.volume_kg;
        self.sets += other.sets;
    }
}

/// The running totals, fed page by page: small whatever the history's size.
#[derive(Default, Debug)]
pub struct Volume {
    /// Exercise key -> (display name, totals).
    pub per_exercise: BTreeMap<String, (String, Totals)>,
    /// ISO week (its Monday, days since 1970-01-01) -> totals.
    pub per_week: BTreeMap<i64, Totals>,
}

impl Volume {
    /// Adds a page's entries. A page is columns: entry `i` has date
    /// `date_ms[i]`, exercise `exercises[exercise[i]]` and the sets from
    /// `set_ends[i - 1]` (0 for the first) to `set_ends[i]`.
    pub fn add_page(&mut self, page: &Page) {
        let mut set_start = 0;
        for (i, &date_ms) in page.date_ms.iter().enumerate() {
            let set_end = page.set_ends[i] as usize;
            let reps = &page.reps[set_start..set_end];
            let weight_kg = &page.weight_kg[set_start..set_end];
            let entry = Totals {
                volume_kg: reps
                    .iter()
                    .zip(weight_kg)
                    .map(|(&r, &kg)| f64::from(r) * kg)
                    .sum(),
                sets: reps.len() as u32,
            };
            let exercise = &page.exercises[page.exercise[i] as usize];
            self.per_exercise
                .entry(exercise.key.clone())
                .or_insert_with(|| (exercise.name.clone(), Totals::default()))
                .1
                .add(entry);
            let day = date_ms.div_euclid(MS_PER_DAY);
            self.per_week.entry(monday_of(day)).or_default().add(entry);
            set_start = set_end;
        }
    }

    /// The result, volumes in `unit` (`kg_per_unit` kilograms each).
    pub fn report(&self, range: &DateRange, unit: &str, kg_per_unit: f64) -> InsightResult {
        let in_unit = |kg: f64| round1(kg / kg_per_unit);
        let volume_unit = format!("{unit} x reps");
        let mut total = Totals::default();
        for (_, t) in self.per_exercise.values() {
            total.add(*t);
        }
        let weeks = self.weeks(range);
        let week_series =
            |name: &str, label: &str, unit: &str, value: &dyn Fn(Totals) -> f64| Series {
                name: name.into(),
                label: Some(label.into()),
                unit: Some(unit.into()),
                points: weeks
                    .iter()
                    .map(|&monday| Point {
                        at_ms: monday * MS_PER_DAY,
                        label: date_label(monday),
                        value: value(self.per_week.get(&monday).copied().unwrap_or_default()),
                    })
                    .collect(),
            };
        // The chart shows the series sharing the first one's unit by default:
        // volume first.
        let series = vec![
            week_series("volume", "Weekly volume", &volume_unit, &|t| {
                in_unit(t.volume_kg)
            }),
            week_series("sets", "Sets per week", "sets", &|t| f64::from(t.sets)),
        ];
        // The table: the most volume first, then by name.
        let mut exercises: Vec<&(String, Totals)> = self.per_exercise.values().collect();
        exercises.sort_by(|a, b| {
            b.1.volume_kg
                .total_cmp(&a.1.volume_kg)
                .then_with(|| a.0.cmp(&b.0))
        });
        let average = if weeks.is_empty() {
            0.0
        } else {
            total.volume_kg / weeks.len() as f64
        };
        InsightResult {
            summary: format!(
                "{} exercises, {} {volume_unit} of volume in {} sets over {} weeks",
                exercises.len(),
                in_unit(total.volume_kg),
                total.sets,
                weeks.len()
            ),
            metrics: vec![
                Metric {
                    name: "total-volume".into(),
                    value: in_unit(total.volume_kg),
                    unit: Some(volume_unit.clone()),
                },
                Metric {
                    name: "sets".into(),
                    value: f64::from(total.sets),
                    unit: Some("sets".into()),
                },
                Metric {
                    name: "average-weekly-volume".into(),
                    value: in_unit(average),
                    unit: Some(volume_unit.clone()),
                },
            ],
            series,
            tables: vec![Table {
                name: "per-exercise".into(),
                columns: vec![
                    "exercise".into(),
                    format!("volume ({volume_unit})"),
                    "sets".into(),
                ],
                rows: exercises
                    .iter()
                    .map(|(name, t)| {
                        vec![
                            name.clone(),
                            format!("{:.1}", in_unit(t.volume_kg)),
                            t.sets.to_string(),
                        ]
                    })
                    .collect(),
            }],
        }
    }

    /// Every week (its Monday) from the range's first to its last, empty
    /// weeks included, so the chart shows the gaps; an open end is the
    /// first or last week with an entry. None without any entry.
    pub fn weeks(&self, range: &DateRange) -> Vec<i64> {
        let (Some(&first_data), Some(&last_data)) = (
            self.per_week.keys().next(),
            self.per_week.keys().next_back(),
        ) else {
            return Vec::new();
        };
        let first = range
            .from_ms
            .map_or(first_data, |ms| monday_of(ms.div_euclid(MS_PER_DAY)));
        // `to_ms` is exclusive: its week is that of the millisecond before.
        let last = range
            .to_ms
            .map_or(last_data, |ms| monday_of((ms - 1).div_euclid(MS_PER_DAY)));
        (0..)
            .map(|i| first + 7 * i)
            .take_while(|&m| m <= last)
            .collect()
    }
}

/// The Monday of a day's ISO week (days since 1970-01-01, a Thursday).
pub fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

/// "2026-06-08" of a day (days since 1970-01-01); Howard Hinnant's
/// `civil_from_days`.
pub fn date_label(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// To one decimal, so converted units do not print 15 digits.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use everfit::insights::types::Exercise;

    /// 2026-06-01, a Monday, in days since 1970-01-01.
    const JUNE_1: i64 = 20_605;

    /// An entry: (day, exercise, sets as (reps, kg)).
    type TestEntry<'a> = (i64, &'a str, &'a [(u32, f64)]);

    /// A page of entries in the host's column layout.
    fn page(entries: &[TestEntry<'_>]) -> Page {
        let mut p = Page {
            entry_ids: String::new(),
            entry_id_ends: vec![],
            date_ms: vec![],
            exercise: vec![],
            exercises: vec![],
            set_ends: vec![],
            reps: vec![],
            weight_kg: vec![],
            weight: vec![],
            unit: vec![],
        };
        for (i, &(day, name, sets)) in entries.iter().enumerate() {
            p.entry_ids.push_str(&format!("{i:024x}"));
            p.entry_id_ends.push(p.entry_ids.len() as u32);
            p.date_ms.push(day * MS_PER_DAY + 18 * 3_600_000);
            let key = name.to_lowercase();
            let index = match p.exercises.iter().position(|e| e.key == key) {
                Some(at) => at,
                None => {
                    p.exercises.push(Exercise {
                        name: name.into(),
                        key,
                        muscle_group: None,
                    });
                    p.exercises.len() - 1
                }
            };
            p.exercise.push(index as u32);
            for &(reps, kg) in sets {
                p.reps.push(reps);
                p.weight_kg.push(kg);
                p.weight.push(kg);
                p.unit.push(0);
            }
            p.set_ends.push(p.reps.len() as u32);
        }
        p
    }

    const OPEN: DateRange = DateRange {
        from_ms: None,
        to_ms: None,
    };

    fn units() -> Vec<UnitDef> {
        vec![
            UnitDef {
                code: "kg".into(),
                kg_per_unit: 1.0,
            },
            UnitDef {
                code: "lb".into(),
                kg_per_unit: 0.453_592_37,
            },
        ]
    }

    /// Entries with different numbers of sets: a wrong walk of `set_ends`
    /// gives an exercise another entry's sets.
    #[test]
    fn each_entry_gets_its_own_sets() {
        let mut v = Volume::default();
        v.add_page(&page(&[
            (JUNE_1, "Squat", &[(5, 100.0), (5, 100.0), (3, 120.0)]),
            (JUNE_1, "Bench Press", &[(10, 60.0)]),
            (JUNE_1 + 2, "squat", &[(8, 80.0), (8, 80.0)]),
        ]));
        let squat = &v.per_exercise["squat"];
        assert_eq!(squat.0, "Squat");
        assert_eq!(
            squat.1,
            Totals {
                volume_kg: 500.0 + 500.0 + 360.0 + 640.0 + 640.0,
                sets: 5
            }
        );
        assert_eq!(
            v.per_exercise["bench press"].1,
            Totals {
                volume_kg: 600.0,
                sets: 1
            }
        );
        let result = v.report(&OPEN, "kg", 1.0);
        assert_eq!(
            result.tables[0].rows,
            [["Squat", "2640.0", "5"], ["Bench Press", "600.0", "1"]]
        );
        assert_eq!(result.metrics[0].value, 3240.0);
        assert_eq!(result.metrics[1].value, 6.0);
    }

    /// Set indices start again at 0 on every page: carrying them over from
    /// the previous page would read the wrong sets (or past the columns).
    #[test]
    fn pages_add_up_to_the_same_totals() {
        let entries: [TestEntry<'_>; 3] = [
            (JUNE_1, "Squat", &[(5, 100.0), (5, 100.0)]),
            (JUNE_1 + 7, "Deadlift", &[(5, 140.0)]),
            (JUNE_1 + 8, "Squat", &[(3, 110.0), (3, 110.0), (3, 110.0)]),
        ];
        let mut one = Volume::default();
        one.add_page(&page(&entries));
        let mut paged = Volume::default();
        paged.add_page(&page(&entries[..1]));
        paged.add_page(&page(&entries[1..]));
        assert_eq!(paged.per_exercise, one.per_exercise);
        assert_eq!(paged.per_week, one.per_week);
        assert_eq!(
            one.per_week.values().copied().collect::<Vec<_>>(),
            [
                Totals {
                    volume_kg: 1000.0,
                    sets: 2
                },
                Totals {
                    volume_kg: 700.0 + 990.0,
                    sets: 4
                },
            ]
        );
    }

    /// The series spans the range's weeks, empty ones at zero, in the asked
    /// unit; a week runs Monday to Sunday.
    #[test]
    fn weeks_span_the_range_in_the_asked_unit() {
        let mut v = Volume::default();
        v.add_page(&page(&[
            // Sunday 2026-06-14 and Monday 2026-06-08: the same week.
            (JUNE_1 + 13, "Squat", &[(5, 100.0)]),
            (JUNE_1 + 7, "Squat", &[(5, 100.0)]),
        ]));
        // From Wednesday 2026-06-03 to 2026-06-22 exclusive (the Monday of
        // the week after the last).
        let range = DateRange {
            from_ms: Some((JUNE_1 + 2) * MS_PER_DAY),
            to_ms: Some((JUNE_1 + 21) * MS_PER_DAY),
        };
        let params = [Param {
            name: "unit".into(),
            value: "lb".into(),
        }];
        let units = units();
        let (unit, kg_per_unit) = unit_factor(&params, &units).unwrap();
        let result = v.report(&range, unit, kg_per_unit);
        let volume = &result.series[0];
        assert_eq!(volume.unit.as_deref(), Some("lb x reps"));
        assert_eq!(volume.label.as_deref(), Some("Weekly volume"));
        let points: Vec<(&str, f64)> = volume
            .points
            .iter()
            .map(|p| (p.label.as_str(), p.value))
            .collect();
        // 1000 kg = 2204.6 lb.
        assert_eq!(
            points,
            [
                ("2026-06-01", 0.0),
                ("2026-06-08", 2204.6),
                ("2026-06-15", 0.0)
            ]
        );
        assert_eq!(volume.points[1].at_ms, (JUNE_1 + 7) * MS_PER_DAY);
        let sets: Vec<f64> = result.series[1].points.iter().map(|p| p.value).collect();
        assert_eq!(sets, [0.0, 2.0, 0.0]);
        // Averaged over the three weeks of the range, not the one trained.
        assert_eq!(result.metrics[2].value, 734.9);
        // Open ends: the weeks with entries.
        assert_eq!(v.weeks(&OPEN), [JUNE_1 + 7]);
        assert_eq!(Volume::default().weeks(&range), Vec::<i64>::new());
    }

    #[test]
    fn the_default_unit_is_kg_and_an_unknown_one_names_the_parameter() {
        assert_eq!(unit_factor(&[], &units()).unwrap(), ("kg", 1.0));
        let stone = [Param {
            name: "unit".into(),
            value: "st".into(),
        }];
        match unit_factor(&stone, &units()) {
            Err(ComputeError::InvalidParam((name, _))) => assert_eq!(name, "unit"),
            _ => panic!("st is not a unit of the registry"),
        }
    }

    #[test]
    fn weeks_start_on_monday_and_dates_print_as_iso() {
        assert_eq!(monday_of(JUNE_1), JUNE_1);
        assert_eq!(monday_of(JUNE_1 + 6), JUNE_1);
        assert_eq!(monday_of(JUNE_1 + 7), JUNE_1 + 7);
        assert_eq!(monday_of(JUNE_1 - 1), JUNE_1 - 7);
        assert_eq!(date_label(JUNE_1), "2026-06-01");
        assert_eq!(date_label(0), "1970-01-01");
        assert_eq!(date_label(20_454), "2026-01-01");
        assert_eq!(date_label(-1), "1969-12-31");
        assert_eq!(date_label(11_016), "2000-02-29");
    }
}
