//! Training frequency and consistency. A session is a day (UTC) with at
//! least one entry; weeks are ISO weeks (Monday, UTC). Over the weeks from
//! the range's first to its last (or, for an open end, the first or last
//! session's), empty weeks included: sessions per week, the longest and the
//! current streak of weeks with at least `min_sessions` sessions, and the
//! longest gap between two sessions.

use crate::keyed::at_day;
use crate::{EntryView, day_of, monday_of};
use alloc::vec::Vec;

/// Accumulates entries; order does not matter.
#[derive(Debug, Default, Clone)]
pub struct Frequency {
    /// The days with an entry, ascending, each once.
    days: Vec<(i64, ())>,
}

/// The finished figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// (Monday's day number, sessions that week), every week of the span.
    pub weeks: Vec<(i64, u32)>,
    pub sessions: u32,
    /// Longest run of consecutive weeks with at least `min_sessions`.
    pub longest_streak: u32,
    /// The run ending with the last week of the span.
    pub current_streak: u32,
    /// Weeks with at least `min_sessions`.
    pub weeks_meeting: u32,
    /// Longest gap between two consecutive sessions, in days (0 with fewer
    /// than two sessions), and the day it began.
    pub longest_gap_days: i64,
    pub longest_gap_from: Option<i64>,
    pub first_day: Option<i64>,
    pub last_day: Option<i64>,
}

impl Frequency {
    pub fn push(&mut self, entry: &EntryView<'_>) {
        at_day(&mut self.days, day_of(entry.date_ms), || ());
    }

    /// The figures over the span `[from_day, to_day)` (day numbers), each
    /// end defaulting to the first and last session.
    pub fn finish(&self, from_day: Option<i64>, to_day: Option<i64>, min_sessions: u32) -> Report {
        let (Some(&(first, _)), Some(&(last, _))) = (self.days.first(), self.days.last()) else {
            return Report::default();
        };
        let start = monday_of(from_day.unwrap_or(first));
        // `to_day` is exclusive: the span's last day is the one before.
        let end = monday_of(to_day.map_or(last, |d| d - 1));
        let mut weeks: Vec<(i64, u32)> = Vec::new();
        let mut monday = start;
        while monday <= end {
            weeks.push((monday, 0));
            monday += 7;
        }
        for &(day, _) in &self.days {
            let m = monday_of(day);
            if m >= start && m <= end {
                weeks[((m - start) / 7) as usize].1 += 1;
            }
        }
        let (mut longest, mut run, mut meeting) = (0, 0, 0);
        for &(_, n) in &weeks {
            if n >= min_sessions {
                run += 1;
                meeting += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        let (mut gap, mut gap_from) = (0, None);
        for pair in self.days.windows(2) {
            let ((a, _), (b, _)) = (pair[0], pair[1]);
            if b - a > gap {
                gap = b - a;
                gap_from = Some(a);
            }
        }
        Report {
            weeks,
            sessions: self.days.len() as u32,
            longest_streak: longest,
            current_streak: run,
            weeks_meeting: meeting,
            longest_gap_days: gap,
            longest_gap_from: gap_from,
            first_day: Some(first),
            last_day: Some(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{BASE_MS, entries, in_both_orders};
    use proptest::prelude::*;

    /// Plainly, day by day: walk every day of the span, count sessions per
    /// week, and check every pair of weeks and of sessions.
    fn plain(days: &[i64], from: Option<i64>, to: Option<i64>, min: u32) -> Report {
        let mut days: Vec<i64> = days.to_vec();
        days.sort();
        days.dedup();
        if days.is_empty() {
            return Report::default();
        }
        let first_day = from.unwrap_or(days[0]);
        let last_day = to.map_or(*days.last().unwrap(), |t| t - 1);
        let mut weeks: Vec<(i64, u32)> = Vec::new();
        let mut d = first_day;
        // Back to the Monday: 1970-01-05 was a Monday.
        while (d - 4).rem_euclid(7) != 0 {
            d -= 1;
        }
        while d <= last_day {
            let n = days.iter().filter(|&&x| x >= d && x < d + 7).count() as u32;
            weeks.push((d, n));
            d += 7;
        }
        let meets = |i: usize| weeks[i].1 >= min;
        let mut longest = 0;
        for i in 0..weeks.len() {
            for j in i..weeks.len() {
                if (i..=j).all(meets) {
                    longest = longest.max((j - i + 1) as u32);
                }
            }
        }
        let current = (0..weeks.len()).rev().take_while(|&i| meets(i)).count() as u32;
        let mut gap = 0;
        let mut gap_from = None;
        for i in 1..days.len() {
            if days[i] - days[i - 1] > gap {
                gap = days[i] - days[i - 1];
                gap_from = Some(days[i - 1]);
            }
        }
        Report {
            weeks_meeting: (0..weeks.len()).filter(|&i| meets(i)).count() as u32,
            weeks,
            sessions: days.len() as u32,
            longest_streak: longest,
            current_streak: current,
            longest_gap_days: gap,
            longest_gap_from: gap_from,
            first_day: Some(days[0]),
            last_day: Some(*days.last().unwrap()),
        }
    }

    proptest! {
        #[test]
        fn matches_the_plain_computation(
            entries in entries(),
            min in 1u32..4,
            from in proptest::option::of(-20i64..20),
            len in proptest::option::of(1i64..500),
        ) {
            let base = day_of(BASE_MS);
            let from = from.map(|f| base + f);
            let to = len.map(|l| from.unwrap_or(base) + l);
            // The host passes only entries inside the range.
            let inside: Vec<_> = entries
                .iter()
                .filter(|e| {
                    let d = day_of(e.date_ms);
                    from.is_none_or(|f| d >= f) && to.is_none_or(|t| d < t)
                })
                .collect();
            let days: Vec<i64> = inside.iter().map(|e| day_of(e.date_ms)).collect();
            let want = plain(&days, from, to, min);
            // In the random order, then oldest first as the host sends them.
            for order in in_both_orders(inside) {
                let mut acc = Frequency::default();
                for e in order {
                    acc.push(&e.view());
                }
                prop_assert_eq!(acc.finish(from, to, min), want.clone());
            }
        }
    }

    #[test]
    fn streaks_and_gaps() {
        let mut acc = Frequency::default();
        // Mondays of three consecutive weeks, then one three weeks later.
        for day in [4, 11, 12, 18, 39] {
            acc.push(&EntryView {
                date_ms: day * crate::MS_PER_DAY + 5,
                exercise: "squat",
                name: "Squat",
                muscle_group: None,
                reps: &[],
                weight_kg: &[],
            });
        }
        let r = acc.finish(None, None, 1);
        assert_eq!(
            r.weeks.iter().map(|w| w.1).collect::<Vec<_>>(),
            [1, 2, 1, 0, 0, 1]
        );
        assert_eq!((r.longest_streak, r.current_streak), (3, 1));
        assert_eq!((r.longest_gap_days, r.longest_gap_from), (21, Some(18)));
        assert_eq!(acc.finish(None, None, 2).longest_streak, 1);
    }
}
