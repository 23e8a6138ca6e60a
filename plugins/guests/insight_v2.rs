#![allow(dead_code)] // each guest uses part of it
//! What the 0.2.0 built-in insights share: reading the entries page by page
//! into `EntryView`s, parameters, units and labels. Included with `#[path]`
//! by each guest after its `wit_bindgen::generate!` (the generated modules
//! have the same paths in every guest).

use crate::everfit::insights::types::{DateRange, Entries, UnitDef};
use crate::exports::everfit::insights::insight::{ComputeError, Param, ParamKind, ParamSpec};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use everfit_insights_calc::{EntryView, Fold, MS_PER_DAY};

/// Entries asked for per page: a page of this many (about 3.5 sets each)
/// stays well under a megabyte of guest memory.
pub const PAGE: u32 = 4096;

/// Folds every entry into `acc`, page by page. Each page lists its
/// exercises once, so their slots are looked up once per page.
pub fn fold_entries<A: Fold>(entries: &Entries, acc: &mut A) {
    let mut slots: Vec<A::Slot> = Vec::new();
    while let Some(page) = entries.next_page(PAGE) {
        slots.clear();
        slots.extend(
            page.exercises
                .iter()
                .map(|e| acc.slot(&e.key, &e.name, e.muscle_group.as_deref())),
        );
        let mut set_start = 0usize;
        for (i, &date_ms) in page.date_ms.iter().enumerate() {
            let set_end = page.set_ends[i] as usize;
            let at = page.exercise[i] as usize;
            let exercise = &page.exercises[at];
            acc.push_at(
                slots[at],
                &EntryView {
                    date_ms,
                    exercise: &exercise.key,
                    name: &exercise.name,
                    muscle_group: exercise.muscle_group.as_deref(),
                    reps: &page.reps[set_start..set_end],
                    weight_kg: &page.weight_kg[set_start..set_end],
                },
            );
            set_start = set_end;
        }
    }
}

/// Calls `f` with every entry, page by page.
pub fn for_each_entry(entries: &Entries, f: impl FnMut(&EntryView<'_>)) {
    /// A fold without per-exercise state.
    struct Each<F>(F);
    impl<F: FnMut(&EntryView<'_>)> Fold for Each<F> {
        type Slot = ();
        fn slot(&mut self, _: &str, _: &str, _: Option<&str>) {}
        fn push_at(&mut self, _: (), entry: &EntryView<'_>) {
            (self.0)(entry)
        }
    }
    fold_entries(entries, &mut Each(f));
}

/// The `exercise` parameter. The host passes only that exercise's entries
/// when it is given; optional means "every exercise" when left out.
pub fn exercise_param(required: bool, description: &str) -> ParamSpec {
    ParamSpec {
        name: "exercise".into(),
        description: description.into(),
        kind: ParamKind::Exercise,
        required,
        default_value: None,
    }
}

/// The `unit` parameter (kg or lb, default kg) read by [`unit_factor`];
/// `description` says which values of the result it applies to.
pub fn unit_param(description: &str) -> ParamSpec {
    ParamSpec {
        name: "unit".into(),
        description: description.into(),
        kind: ParamKind::Choice(vec!["kg".into(), "lb".into()]),
        required: false,
        default_value: Some("kg".into()),
    }
}

/// The value of a parameter (the host fills in defaults).
pub fn param<'a>(params: &'a [Param], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.as_str())
}

/// An integer parameter.
pub fn int_param(params: &[Param], name: &str, default: i64) -> Result<i64, ComputeError> {
    match param(params, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ComputeError::InvalidParam((name.into(), format!("{v:?} is not a whole number")))
        }),
    }
}

/// Kilograms per unit of the `unit` parameter (default kg).
pub fn unit_factor<'a>(
    params: &'a [Param],
    units: &[UnitDef],
) -> Result<(&'a str, f64), ComputeError> {
    let unit = param(params, "unit").unwrap_or("kg");
    units
        .iter()
        .find(|u| u.code == unit)
        .map(|u| (unit, u.kg_per_unit))
        .ok_or_else(|| {
            ComputeError::InvalidParam(("unit".into(), format!("unknown unit {unit:?}")))
        })
}

/// The range's days: (first day, end day exclusive), either open.
pub fn range_days(range: &DateRange) -> (Option<i64>, Option<i64>) {
    (
        range.from_ms.map(|ms| ms.div_euclid(MS_PER_DAY)),
        // An end inside a day includes that day.
        range
            .to_ms
            .map(|ms| (ms + MS_PER_DAY - 1).div_euclid(MS_PER_DAY)),
    )
}

/// "2026-06-08" of a day number.
pub fn day_label(day: i64) -> String {
    let (y, m, d) = everfit_insights_calc::calendar::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}
