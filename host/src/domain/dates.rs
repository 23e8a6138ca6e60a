//! Parsing of the date forms the API accepts, and time ranges.
//!
//! A date is either `YYYY-MM-DD` (UTC midnight) or an RFC 3339 datetime WITH
//! an offset. A datetime without an offset is refused: it would name a
//! different instant on every server. Instants are kept at millisecond
//! precision, the precision both stores share.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound, TimeZone, Utc};

/// A parsed date input, remembering whether it named a whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateInput {
    pub instant: DateTime<Utc>,
    pub date_only: bool,
}

impl DateInput {
    /// The instant just after the period this input covers when used as an
    /// inclusive upper bound: the next midnight for a date, +1 ms otherwise.
    pub fn end_exclusive(&self) -> DateTime<Utc> {
        if self.date_only {
            self.instant + Duration::days(1)
        } else {
            self.instant + Duration::milliseconds(1)
        }
    }
}

/// Why a date string was refused (the message shown to the client).
pub type DateError = &'static str;

/// Parses a date in one of the accepted forms, without range checks.
pub fn parse_date(input: &str) -> Result<DateInput, DateError> {
    // Exactly the text: no surrounding whitespace, as the OpenAPI formats say.
    let s = input;
    if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        if !s
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
        {
            return Err("must be a date (YYYY-MM-DD) or an RFC 3339 datetime with an offset");
        }
        let date =
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "is not a valid calendar date")?;
        let instant = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"));
        return Ok(DateInput {
            instant,
            date_only: true,
        });
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(dt) => Ok(DateInput {
            instant: dt.with_timezone(&Utc).trunc_subsecs(3),
            date_only: false,
        }),
        Err(_) => {
            for fmt in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S%.f",
            ] {
                if NaiveDateTime::parse_from_str(s, fmt).is_ok() {
                    return Err(
                        "must include a UTC offset (Z or +hh:mm): a datetime without one is ambiguous",
                    );
                }
            }
            if looks_like_datetime(s) {
                Err("is not a valid date or time")
            } else {
                Err("must be a date (YYYY-MM-DD) or an RFC 3339 datetime with an offset")
            }
        }
    }
}

fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
}

/// The earliest date a workout may carry.
pub fn earliest_allowed() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Parses a workout date and checks it lies between 1900 and `now` + 1 day.
pub fn parse_workout_date(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, DateError> {
    let date = parse_date(input)?;
    check_bounds(date.instant, now)?;
    Ok(date.instant)
}

fn check_bounds(instant: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DateError> {
    if instant < earliest_allowed() {
        return Err("must not be before 1900-01-01");
    }
    if instant > now + Duration::days(1) {
        return Err("must not be more than one day in the future");
    }
    Ok(())
}

/// A half-open interval of instants `[start, end)`; either side may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub const ALL_TIME: TimeRange = TimeRange {
        start: None,
        end: None,
    };

    /// The part of the range where workouts can lie (from 1900-01-01 to a
    /// day after `now`, the bounds a write accepts); an open side stays
    /// open. What an insight is given, so a valid but absurd bound (the
    /// year 9279) cannot make it walk millennia of empty weeks.
    pub fn within_workout_dates(self, now: DateTime<Utc>) -> Self {
        let (earliest, latest) = (earliest_allowed(), now + Duration::days(1));
        TimeRange {
            start: self.start.map(|s| s.clamp(earliest, latest)),
            end: self.end.map(|e| e.clamp(earliest, latest)),
        }
    }

    /// The range of a `from`/`to` query, both inclusive.
    pub fn from_inputs(from: Option<DateInput>, to: Option<DateInput>) -> Self {
        TimeRange {
            start: from.map(|f| f.instant),
            end: to.map(|t| t.end_exclusive()),
        }
    }

    pub fn is_all_time(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }

    /// The window of equal length that ends just before this one starts.
    /// Only closed ranges have one.
    pub fn previous(&self) -> Option<TimeRange> {
        let (start, end) = (self.start?, self.end?);
        let length = end - start;
        Some(TimeRange {
            start: Some(start - length),
            end: Some(start),
        })
    }
}

/// Formats an instant as the API presents it: RFC 3339 in UTC with `Z`,
/// milliseconds only when present.
pub fn format_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 9, 10, 0, 0).unwrap()
    }

    #[test]
    fn date_only_is_utc_midnight() {
        let d = parse_date("2026-06-09").unwrap();
        assert!(d.date_only);
        assert_eq!(format_instant(d.instant), "2026-06-09T00:00:00Z");
        assert_eq!(format_instant(d.end_exclusive()), "2026-06-10T00:00:00Z");
    }

    #[test]
    fn datetimes_need_an_offset_and_are_converted_to_utc() {
        let d = parse_date("2026-06-09T10:30:00+02:00").unwrap();
        assert!(!d.date_only);
        assert_eq!(format_instant(d.instant), "2026-06-09T08:30:00Z");
        assert_eq!(
            format_instant(parse_date("2026-06-09T10:30:00.123456Z").unwrap().instant),
            "2026-06-09T10:30:00.123Z"
        );
        let err = parse_date("2026-06-09T10:30:00").unwrap_err();
        assert!(err.contains("offset"), "{err}");
    }

    #[test]
    fn impossible_and_malformed_dates_are_refused() {
        assert_eq!(
            parse_date("2026-02-30").unwrap_err(),
            "is not a valid calendar date"
        );
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("09/06/2026").is_err());
        assert!(parse_date("").is_err());
        assert!(parse_date("2026-06-09T25:00:00Z").is_err());
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn workout_dates_are_bounded() {
        assert!(parse_workout_date("1899-12-31", now()).is_err());
        assert!(parse_workout_date("1900-01-01", now()).is_ok());
        assert!(parse_workout_date("2026-06-10T10:00:00Z", now()).is_ok());
        assert_eq!(
            parse_workout_date("2026-06-10T10:00:01Z", now()).unwrap_err(),
            "must not be more than one day in the future"
        );
    }

    #[test]
    fn previous_window_has_equal_length_and_ends_at_start() {
        let from = parse_date("2026-06-01").unwrap();
        let to = parse_date("2026-06-30").unwrap();
        let range = TimeRange::from_inputs(Some(from), Some(to));
        let prev = range.previous().unwrap();
        assert_eq!(prev.end, range.start);
        assert_eq!(format_instant(prev.start.unwrap()), "2026-05-02T00:00:00Z");
        assert!(range.contains(parse_date("2026-06-30T23:59:59Z").unwrap().instant));
        assert!(!range.contains(parse_date("2026-07-01").unwrap().instant));
        assert!(
            TimeRange::from_inputs(Some(from), None)
                .previous()
                .is_none()
        );
    }

    #[test]
    fn a_range_is_cut_to_where_workouts_can_lie() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        let absurd = TimeRange {
            start: Some(at(1, 1, 1)),
            end: Some(at(9279, 3, 26)),
        };
        assert_eq!(
            absurd.within_workout_dates(now),
            TimeRange {
                start: Some(earliest_allowed()),
                end: Some(at(2026, 12, 3)),
            }
        );
        let sane = TimeRange {
            start: Some(at(2026, 6, 1)),
            end: Some(at(2026, 7, 1)),
        };
        assert_eq!(sane.within_workout_dates(now), sane);
        assert_eq!(
            TimeRange::ALL_TIME.within_workout_dates(now),
            TimeRange::ALL_TIME
        );
        // Wholly in the future: empty, never inverted.
        let future = TimeRange {
            start: Some(at(3000, 1, 1)),
            end: Some(at(3001, 1, 1)),
        }
        .within_workout_dates(now);
        assert_eq!(future.start, future.end);
    }
}
