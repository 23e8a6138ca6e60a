//! Plateau detector: per exercise, the days its best e1RM rose above every
//! earlier day's (a PR; the first day counts as one), the last such day, and
//! whether `weeks` or more have passed since it, as of a given day, while the
//! exercise was still being trained after it (sessions since the last PR).

use crate::keyed::{Slots, at_day};
use crate::{EntryView, Fold, day_of, e1rm};
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// One exercise's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub best_e1rm_kg: f64,
    /// The day (day number) of the last PR.
    pub last_pr_day: i64,
    /// PR days in all.
    pub prs: u32,
    /// Days with sets after the last PR.
    pub sessions_since: u32,
    /// Whole days from the last PR to `as_of`.
    pub days_since: i64,
    /// At least `weeks` x 7 days since the last PR and trained since.
    pub plateaued: bool,
}

/// Accumulates entries; order does not matter.
#[derive(Debug, Default, Clone)]
pub struct Plateaus {
    /// Per exercise key: (day, that day's best e1RM), by day.
    exercises: Slots<Vec<(i64, f64)>>,
}

impl Fold for Plateaus {
    type Slot = usize;

    fn slot(&mut self, exercise: &str, name: &str, _: Option<&str>) -> usize {
        self.exercises.slot(exercise, name)
    }

    fn push_at(&mut self, slot: usize, entry: &EntryView<'_>) {
        let best = entry.sets().map(|(r, w)| e1rm(w, r)).reduce(f64::max);
        let Some(best) = best else { return };
        let day_best = at_day(self.exercises.get_mut(slot), day_of(entry.date_ms), || best);
        if best > *day_best {
            *day_best = best;
        }
    }
}

impl Plateaus {
    /// The display name first given for an exercise key.
    pub fn display_name(&self, exercise: &str) -> Option<&str> {
        self.exercises.display(exercise)
    }

    /// The verdict per exercise, as of day `as_of` (None: each exercise's
    /// last day with sets).
    pub fn finish(&self, weeks: u32, as_of: Option<i64>) -> BTreeMap<String, Verdict> {
        self.exercises
            .iter()
            .filter_map(|(exercise, _, days)| {
                let mut best = f64::NEG_INFINITY;
                let (mut last_pr, mut last_pr_at, mut prs) = (0, 0, 0);
                for (i, &(day, e)) in days.iter().enumerate() {
                    if e > best {
                        best = e;
                        (last_pr, last_pr_at) = (day, i);
                        prs += 1;
                    }
                }
                let &(last_day, _) = days.last()?;
                let as_of = as_of.unwrap_or(last_day);
                let sessions_since = (days.len() - 1 - last_pr_at) as u32;
                let days_since = as_of - last_pr;
                Some((
                    exercise.to_string(),
                    Verdict {
                        best_e1rm_kg: best,
                        last_pr_day: last_pr,
                        prs,
                        sessions_since,
                        days_since,
                        plateaued: sessions_since > 0 && days_since >= i64::from(weeks) * 7,
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Owned, entries, in_both_orders};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Plainly, set by set: a set is a PR when its e1RM beats every set of
    /// every earlier day; the last PR's day is the latest such set's.
    fn plain(entries: &[Owned], weeks: u32, as_of: Option<i64>) -> BTreeMap<String, Verdict> {
        let mut sets: Vec<(String, i64, f64)> = Vec::new();
        for e in entries {
            for (&r, &w) in e.reps.iter().zip(&e.weight_kg) {
                if r > 0 {
                    sets.push((e.exercise.clone(), day_of(e.date_ms), e1rm(w, r)));
                }
            }
        }
        let mut out = BTreeMap::new();
        let mut names: Vec<&String> = sets.iter().map(|s| &s.0).collect();
        names.sort();
        names.dedup();
        for name in names {
            let mine: Vec<&(String, i64, f64)> = sets.iter().filter(|s| &s.0 == name).collect();
            let is_pr = |s: &&(String, i64, f64)| {
                mine.iter().filter(|o| o.1 < s.1).all(|o| o.2 < s.2)
                    && mine.iter().filter(|o| o.1 == s.1).all(|o| o.2 <= s.2)
            };
            let pr_days: Vec<i64> = {
                let mut d: Vec<i64> = mine.iter().filter(|s| is_pr(s)).map(|s| s.1).collect();
                d.sort();
                d.dedup();
                d
            };
            let last_pr = *pr_days.last().unwrap();
            let last_day = mine.iter().map(|s| s.1).max().unwrap();
            let mut later: Vec<i64> = mine.iter().map(|s| s.1).filter(|&d| d > last_pr).collect();
            later.sort();
            later.dedup();
            let as_of = as_of.unwrap_or(last_day);
            out.insert(
                name.clone(),
                Verdict {
                    best_e1rm_kg: mine.iter().map(|s| s.2).reduce(f64::max).unwrap(),
                    last_pr_day: last_pr,
                    prs: pr_days.len() as u32,
                    sessions_since: later.len() as u32,
                    days_since: as_of - last_pr,
                    plateaued: !later.is_empty() && as_of - last_pr >= i64::from(weeks) * 7,
                },
            );
        }
        out
    }

    proptest! {
        #[test]
        fn matches_the_plain_computation(entries in entries(), weeks in 1u32..12, as_of in proptest::option::of(20_454i64..20_900)) {
            let want = plain(&entries, weeks, as_of);
            // In the random order, then oldest first as the host sends them.
            for order in in_both_orders(&entries) {
                let mut acc = Plateaus::default();
                for e in order {
                    acc.push(&e.view());
                }
                prop_assert_eq!(acc.finish(weeks, as_of), want.clone());
            }
        }
    }

    #[test]
    fn no_progress_for_weeks_is_a_plateau() {
        let mut acc = Plateaus::default();
        let day = |d: i64, kg: f64| (d * crate::MS_PER_DAY, [5u32], [kg]);
        for (ms, reps, kg) in [day(0, 100.0), day(7, 105.0), day(14, 100.0), day(49, 105.0)] {
            acc.push(&EntryView {
                date_ms: ms,
                exercise: "squat",
                name: "Squat",
                muscle_group: None,
                reps: &reps,
                weight_kg: &kg,
            });
        }
        let v = &acc.finish(4, None)["squat"];
        assert_eq!((v.last_pr_day, v.prs, v.sessions_since), (7, 2, 2));
        assert_eq!(v.days_since, 42);
        assert!(v.plateaued, "a tie is not progress");
        assert!(!acc.finish(7, None)["squat"].plateaued);
    }
}
