//! Weekly volume and hard sets per muscle group. A week is an ISO week
//! (Monday, UTC). Volume is reps x kilograms. A hard set is a working set:
//! one whose e1RM is at least `hard_pct` percent of the best e1RM among the
//! sets of its entry (the same exercise that day), so warm-ups do not count.
//! Exercises the catalogue has no group for count under [`UNGROUPED`].

use crate::keyed::{Slots, at_day};
use crate::{EntryView, Fold, day_of, e1rm, monday_of};
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The group of exercises the catalogue does not know.
pub const UNGROUPED: &str = "other";

/// One muscle group in one week.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WeekGroup {
    pub volume_kg: f64,
    pub sets: u32,
    pub hard_sets: u32,
}

/// Accumulates entries; order does not matter (sums may differ in the
/// last bits with the order).
#[derive(Debug, Clone)]
pub struct WeeklyVolume {
    hard_pct: f64,
    /// Per muscle group: (Monday's day number, totals), by Monday.
    groups: Slots<Vec<(i64, WeekGroup)>>,
}

impl WeeklyVolume {
    pub fn new(hard_pct: f64) -> Self {
        Self {
            hard_pct,
            groups: Slots::default(),
        }
    }

    /// Totals by (Monday's day number, group), in that order.
    pub fn finish(self) -> BTreeMap<(i64, String), WeekGroup> {
        self.groups
            .iter()
            .flat_map(|(group, _, weeks)| {
                weeks
                    .iter()
                    .map(move |&(monday, totals)| ((monday, group.to_string()), totals))
            })
            .collect()
    }
}

impl Fold for WeeklyVolume {
    /// The muscle group's slot: exercises of one group share it.
    type Slot = usize;

    fn slot(&mut self, _: &str, _: &str, muscle_group: Option<&str>) -> usize {
        let group = muscle_group.unwrap_or(UNGROUPED);
        self.groups.slot(group, group)
    }

    fn push_at(&mut self, slot: usize, entry: &EntryView<'_>) {
        let best = entry.sets().map(|(r, w)| e1rm(w, r)).fold(0.0, f64::max);
        let mut sets = entry.sets().peekable();
        if sets.peek().is_none() {
            return;
        }
        let monday = monday_of(day_of(entry.date_ms));
        let totals = at_day(self.groups.get_mut(slot), monday, WeekGroup::default);
        for (reps, kg) in sets {
            totals.volume_kg += f64::from(reps) * kg;
            totals.sets += 1;
            if is_hard(e1rm(kg, reps), best, self.hard_pct) {
                totals.hard_sets += 1;
            }
        }
    }
}

/// Whether a set of estimated max `e` is hard within an entry whose best is `best`.
pub fn is_hard(e: f64, best: f64, hard_pct: f64) -> bool {
    best > 0.0 && e * 100.0 >= best * hard_pct
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Owned, entries, in_both_orders};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Plainly: for every week and group that has a set, go over all entries
    /// again and add up what falls in it.
    fn plain(entries: &[Owned], hard_pct: f64) -> BTreeMap<(i64, String), WeekGroup> {
        let valid = |r: u32, w: f64| r > 0 && w.is_finite() && w >= 0.0;
        let mut keys: Vec<(i64, String)> = Vec::new();
        for e in entries {
            let week = (e.date_ms.div_euclid(86_400_000) + 3).div_euclid(7) * 7 - 3;
            let group = e.group.clone().unwrap_or_else(|| UNGROUPED.into());
            if e.reps.iter().zip(&e.weight_kg).any(|(&r, &w)| valid(r, w)) {
                keys.push((week, group));
            }
        }
        keys.sort();
        keys.dedup();
        let mut out = BTreeMap::new();
        for (week, group) in keys {
            let mut t = WeekGroup::default();
            for e in entries {
                let e_week = (e.date_ms.div_euclid(86_400_000) + 3).div_euclid(7) * 7 - 3;
                let e_group = e.group.clone().unwrap_or_else(|| UNGROUPED.into());
                if e_week != week || e_group != group {
                    continue;
                }
                let sets: Vec<(u32, f64)> = e
                    .reps
                    .iter()
                    .zip(&e.weight_kg)
                    .map(|(&r, &w)| (r, w))
                    .filter(|&(r, w)| valid(r, w))
                    .collect();
                let best = sets.iter().map(|&(r, w)| e1rm(w, r)).fold(0.0, f64::max);
                for (r, w) in sets {
                    t.volume_kg += f64::from(r) * w;
                    t.sets += 1;
                    // The definition, spelt out: at least hard_pct % of the entry's best.
                    if best > 0.0 && e1rm(w, r) * 100.0 >= best * hard_pct {
                        t.hard_sets += 1;
                    }
                }
            }
            out.insert((week, group), t);
        }
        out
    }

    proptest! {
        #[test]
        fn matches_the_plain_computation(entries in entries(), hard_pct in prop_oneof![Just(80.0), Just(100.0), 0.0..100.0f64]) {
            let want = plain(&entries, hard_pct);
            // In the random order, then oldest first as the host sends them.
            for order in in_both_orders(&entries) {
            let mut acc = WeeklyVolume::new(hard_pct);
            for e in order {
                acc.push(&e.view());
            }
            let got = acc.finish();
            prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
            for (k, g) in &got {
                let w = &want[k];
                prop_assert_eq!(g.sets, w.sets, "{:?}", k);
                prop_assert_eq!(g.hard_sets, w.hard_sets, "{:?}", k);
                prop_assert!((g.volume_kg - w.volume_kg).abs() <= 1e-9 * w.volume_kg.max(1.0), "{:?}: {} vs {}", k, g.volume_kg, w.volume_kg);
            }
            }
        }
    }

    #[test]
    fn warm_ups_are_not_hard_sets() {
        let reps = [10, 5, 5, 5];
        let kg = [40.0, 100.0, 100.0, 95.0];
        let mut acc = WeeklyVolume::new(90.0);
        acc.push(&EntryView {
            date_ms: 0,
            exercise: "squat",
            name: "Squat",
            muscle_group: Some("legs"),
            reps: &reps,
            weight_kg: &kg,
        });
        let weeks = acc.finish();
        let legs = weeks[&(-3, "legs".to_string())];
        assert_eq!((legs.sets, legs.hard_sets), (4, 3));
        assert_eq!(legs.volume_kg, 400.0 + 1475.0);
    }
}
