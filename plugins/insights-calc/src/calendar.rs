//! UTC calendar arithmetic without std: weeks start on Monday (ISO), months
//! are calendar months.

use alloc::format;
use alloc::string::String;

const MS_PER_DAY: i64 = 86_400_000;

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01
/// (Howard Hinnant's civil_from_days).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Start (Monday 00:00 UTC) and label ("2026-06-08", the Monday) of the week of `ms`.
pub fn week_of(ms: i64) -> (i64, String) {
    let days = ms.div_euclid(MS_PER_DAY);
    // 1970-01-01 was a Thursday: Monday-based weekday is (days + 3) mod 7.
    let monday = days - (days + 3).rem_euclid(7);
    let (y, m, d) = civil_from_days(monday);
    (monday * MS_PER_DAY, format!("{y:04}-{m:02}-{d:02}"))
}

/// Start (the 1st, 00:00 UTC) and label ("2026-06") of the month of `ms`.
pub fn month_of(ms: i64) -> (i64, String) {
    let (y, m, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    (
        days_from_civil(y, m, 1) * MS_PER_DAY,
        format!("{y:04}-{m:02}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2026-06-09T10:00:00Z is a Tuesday.
        let ms = 1_780_999_200_000;
        assert_eq!(civil_from_days(ms / MS_PER_DAY), (2026, 6, 9));
        assert_eq!(week_of(ms).1, "2026-06-08");
        assert_eq!(month_of(ms).1, "2026-06");
        assert_eq!(days_from_civil(2026, 6, 1), 20_605);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(week_of(0).1, "1969-12-29");
        // Sunday belongs to the week that started on the Monday before.
        let sunday = days_from_civil(2026, 6, 14) * MS_PER_DAY + 1;
        assert_eq!(week_of(sunday).1, "2026-06-08");
    }
}
