//! Rep maxes: for 1, 3, 5, 8 and 10 reps, the heaviest weight actually
//! lifted for at least that many reps, and the weight the best estimated
//! 1RM predicts for that many.

use crate::{EntryView, e1rm, weight_for};

/// The rep counts reported.
pub const TARGETS: [u32; 5] = [1, 3, 5, 8, 10];

/// A set that holds a record: its weight and the date it was lifted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lift {
    pub weight_kg: f64,
    pub reps: u32,
    pub date_ms: i64,
}

/// The result for one rep count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepMax {
    pub reps: u32,
    /// The heaviest set of at least `reps` reps (ties: the earliest).
    pub actual: Option<Lift>,
    /// What the best e1RM predicts for `reps` reps.
    pub estimated_kg: Option<f64>,
}

/// Accumulates sets; order does not matter.
#[derive(Debug, Default, Clone)]
pub struct RepMaxes {
    /// Best set per exact rep count 1..=10; index 10 holds 10 and more.
    by_reps: [Option<Lift>; 11],
    /// The set with the best e1RM (ties: the earliest).
    best_e1rm: Option<(f64, Lift)>,
}

/// Whether `a` beats `b`: heavier, or as heavy and earlier.
fn better(a: &Lift, b: &Lift) -> bool {
    a.weight_kg > b.weight_kg || (a.weight_kg == b.weight_kg && a.date_ms < b.date_ms)
}

impl RepMaxes {
    pub fn push(&mut self, entry: &EntryView<'_>) {
        for (reps, kg) in entry.sets() {
            let lift = Lift {
                weight_kg: kg,
                reps,
                date_ms: entry.date_ms,
            };
            let slot = &mut self.by_reps[reps.min(10) as usize];
            if slot.is_none_or(|s| better(&lift, &s)) {
                *slot = Some(lift);
            }
            let e = e1rm(kg, reps);
            if self
                .best_e1rm
                .is_none_or(|(b, l)| e > b || (e == b && lift.date_ms < l.date_ms))
            {
                self.best_e1rm = Some((e, lift));
            }
        }
    }

    /// The best e1RM and the set it comes from.
    pub fn best_e1rm(&self) -> Option<(f64, Lift)> {
        self.best_e1rm
    }

    /// One result per [`TARGETS`] entry.
    pub fn finish(&self) -> [RepMax; 5] {
        TARGETS.map(|target| {
            let actual =
                self.by_reps[target as usize..]
                    .iter()
                    .flatten()
                    .fold(None::<Lift>, |best, l| match best {
                        Some(b) if !better(l, &b) => Some(b),
                        _ => Some(*l),
                    });
            RepMax {
                reps: target,
                actual,
                estimated_kg: self.best_e1rm.map(|(e, _)| weight_for(e, target)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Owned, entries};
    use proptest::prelude::*;

    /// Plainly: filter every set with enough reps, take the heaviest
    /// (earliest on ties); the best e1RM over all sets.
    fn plain(entries: &[Owned]) -> [RepMax; 5] {
        let mut sets = alloc::vec::Vec::new();
        for e in entries {
            for (i, &r) in e.reps.iter().enumerate() {
                let w = e.weight_kg[i];
                if r > 0 {
                    sets.push((r, w, e.date_ms));
                }
            }
        }
        let best_e1rm = sets.iter().map(|&(r, w, _)| e1rm(w, r)).reduce(f64::max);
        TARGETS.map(|target| {
            let enough = sets.iter().filter(|s| s.0 >= target);
            let top = enough.clone().map(|s| s.1).reduce(f64::max);
            let actual = top.map(|top| {
                let (r, w, d) = *enough.filter(|s| s.1 == top).min_by_key(|s| s.2).unwrap();
                Lift {
                    weight_kg: w,
                    reps: r,
                    date_ms: d,
                }
            });
            RepMax {
                reps: target,
                actual: actual.map(|a| Lift { reps: 0, ..a }),
                estimated_kg: best_e1rm.map(|e| weight_for(e, target)),
            }
        })
    }

    proptest! {
        #[test]
        fn matches_the_plain_computation(entries in entries()) {
            let mut acc = RepMaxes::default();
            for e in &entries {
                acc.push(&e.view());
            }
            // Equal weights on the same date may come from sets of other
            // rep counts: compare weight and date, not the set's reps.
            let got = acc.finish().map(|m| RepMax {
                actual: m.actual.map(|a| Lift { reps: 0, ..a }),
                ..m
            });
            prop_assert_eq!(got, plain(&entries));
        }

        #[test]
        fn order_does_not_matter(entries in entries()) {
            let (mut a, mut b) = (RepMaxes::default(), RepMaxes::default());
            for e in &entries { a.push(&e.view()); }
            for e in entries.iter().rev() { b.push(&e.view()); }
            let strip = |m: [RepMax; 5]| m.map(|m| RepMax { actual: m.actual.map(|a| Lift { reps: 0, ..a }), ..m });
            prop_assert_eq!(strip(a.finish()), strip(b.finish()));
        }
    }

    #[test]
    fn a_heavier_set_of_more_reps_counts_for_fewer() {
        let reps = [5, 1];
        let kg = [100.0, 90.0];
        let mut acc = RepMaxes::default();
        acc.push(&EntryView {
            date_ms: 0,
            exercise: "squat",
            name: "Squat",
            muscle_group: None,
            reps: &reps,
            weight_kg: &kg,
        });
        let m = acc.finish();
        assert_eq!(
            m[0].actual.unwrap().weight_kg,
            100.0,
            "1RM from the 5-rep set"
        );
        assert_eq!(m[2].actual.unwrap().weight_kg, 100.0);
        assert_eq!(m[3].actual, None, "no set of 8 reps");
        // Best e1RM is 100 x (1 + 5/30); at 5 reps it predicts 100.
        assert!((m[2].estimated_kg.unwrap() - 100.0).abs() < 1e-9);
    }
}
