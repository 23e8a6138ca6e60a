"""Weekly volume for one exercise, as plain Python (no WIT types), so the
logic can be tested natively: python3 -m unittest test_volume.py"""

from datetime import datetime, timedelta, timezone

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


def week_start_ms(date_ms):
    """The Monday (00:00 UTC) of the ISO week holding date_ms."""
    days = date_ms // DAY_MS
    # 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
    return (days - (days + 3) % 7) * DAY_MS


def week_label(start_ms):
    """ISO week label, "2026-W23"."""
    year, week, _ = datetime.fromtimestamp(start_ms / 1000, tz=timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def weekly_volume(sets, kg_per_unit):
    """sets: (date_ms, reps, weight_kg) tuples. Returns one (week_start_ms,
    label, set_count, volume) per week from the first logged week to the
    last, empty weeks included, volume (reps x weight) in the unit whose
    factor to kilograms is kg_per_unit."""
    weeks = {}
    for date_ms, reps, weight_kg in sets:
        start = week_start_ms(date_ms)
        count, volume = weeks.get(start, (0, 0.0))
        weeks[start] = (count + 1, volume + reps * weight_kg / kg_per_unit)
    if not weeks:
        return []
    out = []
    start, last = min(weeks), max(weeks)
    while start <= last:
        count, volume = weeks.get(start, (0, 0.0))
        out.append((start, week_label(start), count, volume))
        start += WEEK_MS
    return out


def round1(x):
    return f"{x:.1f}"
