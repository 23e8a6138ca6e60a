//! UTC days: the unit of the day bests. A day is `floor(ms / 86_400_000)`,
//! also before 1970; a range of instants splits into the whole days it covers
//! and at most two partial days at its edges.

use super::dates::TimeRange;
use chrono::{DateTime, Utc};

pub const DAY_MS: i64 = 86_400_000;

/// The UTC day of an instant in ms (floor, also before 1970).
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The instant a day starts.
pub fn day_start(day: i64) -> DateTime<Utc> {
    instant(day * DAY_MS)
}

/// A span of UTC days `[first, end)`; an open side is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DaySpan {
    pub first: Option<i64>,
    pub end: Option<i64>,
}

impl DaySpan {
    pub fn contains(&self, day: i64) -> bool {
        self.first.is_none_or(|f| day >= f) && self.end.is_none_or(|e| day < e)
    }

    /// True when no day can be inside.
    pub fn is_empty(&self) -> bool {
        matches!((self.first, self.end), (Some(f), Some(e)) if f >= e)
    }
}

/// A range cut into whole days and the partial days at its edges.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSplit {
    pub whole_days: DaySpan,
    /// Sub-ranges not covered by whole days (0, 1 or 2 of them).
    pub edges: Vec<TimeRange>,
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("range bounds are valid instants")
}

/// Splits `[start, end)` into the whole UTC days inside it and the rest.
pub fn split_range(range: TimeRange) -> RangeSplit {
    let start = range.start.map(|t| t.timestamp_millis());
    let end = range.end.map(|t| t.timestamp_millis());
    // First day whose midnight is >= start; days before the one holding `end`.
    let first = start.map(|s| day_of(s + DAY_MS - 1));
    let last_end = end.map(day_of);
    if let (Some(f), Some(e)) = (first, last_end)
        && f >= e
    {
        // No whole day inside: the range is one (or two) partial days.
        return RangeSplit {
            whole_days: DaySpan {
                first: Some(f),
                end: Some(f),
            },
            edges: vec![range],
        };
    }
    let mut edges = Vec::new();
    if let (Some(s), Some(f)) = (start, first)
        && s < f * DAY_MS
    {
        edges.push(TimeRange {
            start: range.start,
            end: Some(instant(f * DAY_MS)),
        });
    }
    if let (Some(e), Some(l)) = (end, last_end)
        && l * DAY_MS < e
    {
        edges.push(TimeRange {
            start: Some(instant(l * DAY_MS)),
            end: range.end,
        });
    }
    RangeSplit {
        whole_days: DaySpan {
            first,
            end: last_end,
        },
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Option<DateTime<Utc>> {
        Some(instant(ms))
    }

    #[test]
    fn days_floor_also_before_1970() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_start(-1).timestamp_millis(), -DAY_MS);
        assert!(
            DaySpan {
                first: Some(3),
                end: Some(3)
            }
            .is_empty()
        );
        assert!(!DaySpan::default().is_empty());
        assert!(
            DaySpan {
                first: Some(1),
                end: None
            }
            .contains(5)
        );
        assert!(
            !DaySpan {
                first: None,
                end: Some(5)
            }
            .contains(5)
        );
    }

    #[test]
    fn splits_into_whole_days_and_edges() {
        let d = DAY_MS;
        // Midnight to midnight: whole days only.
        let s = split_range(TimeRange {
            start: t(10 * d),
            end: t(13 * d),
        });
        assert_eq!(
            s.whole_days,
            DaySpan {
                first: Some(10),
                end: Some(13)
            }
        );
        assert!(s.edges.is_empty());
        // Mid-day edges.
        let s = split_range(TimeRange {
            start: t(10 * d + 5),
            end: t(13 * d + 7),
        });
        assert_eq!(
            s.whole_days,
            DaySpan {
                first: Some(11),
                end: Some(13)
            }
        );
        assert_eq!(
            s.edges,
            vec![
                TimeRange {
                    start: t(10 * d + 5),
                    end: t(11 * d)
                },
                TimeRange {
                    start: t(13 * d),
                    end: t(13 * d + 7)
                },
            ]
        );
        // Inside one day, and across one midnight without a whole day.
        for (a, b) in [(10 * d + 5, 10 * d + 9), (10 * d + 5, 11 * d + 9)] {
            let range = TimeRange {
                start: t(a),
                end: t(b),
            };
            let s = split_range(range);
            assert_eq!(s.edges, vec![range]);
        }
        // Open sides and days before 1970.
        let s = split_range(TimeRange {
            start: None,
            end: t(-d - 1),
        });
        assert_eq!(
            s.whole_days,
            DaySpan {
                first: None,
                end: Some(-2)
            }
        );
        assert_eq!(s.edges.len(), 1);
        assert!(split_range(TimeRange::ALL_TIME).edges.is_empty());
    }
}
