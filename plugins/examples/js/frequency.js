// Training frequency as plain JavaScript (no WIT types), so the logic can be
// tested natively: node --test

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** The Monday (00:00 UTC) of the ISO week holding `ms`. */
export function weekStartMs(ms) {
  const days = Math.floor(ms / DAY_MS);
  // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
  return (days - (((days + 3) % 7) + 7) % 7) * DAY_MS;
}

/** ISO week label, "2026-W23", of the week starting at `startMs`. */
export function weekLabel(startMs) {
  // The ISO year and week are those of the week's Thursday.
  const thursday = new Date(startMs + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / WEEK_MS) + 1;
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/**
 * `dates`: the entries' dates (ms, UTC, any order, repeats allowed). A
 * session is a day with at least one entry. A week counts toward a streak
 * when it has at least `minSessions` sessions.
 */
export function frequency(dates, minSessions) {
  const days = [...new Set(dates.map((ms) => Math.floor(ms / DAY_MS)))].sort((a, b) => a - b);
  if (days.length === 0) {
    return { sessions: 0, weeks: [], longestStreak: 0, longestGapDays: 0 };
  }
  const perWeek = new Map();
  for (const day of days) {
    const start = weekStartMs(day * DAY_MS);
    perWeek.set(start, (perWeek.get(start) ?? 0) + 1);
  }
  const weeks = [];
  const last = weekStartMs(days[days.length - 1] * DAY_MS);
  let longestStreak = 0;
  let streak = 0;
  for (let start = weekStartMs(days[0] * DAY_MS); start <= last; start += WEEK_MS) {
    const sessions = perWeek.get(start) ?? 0;
    weeks.push({ startMs: start, label: weekLabel(start), sessions });
    streak = sessions >= minSessions ? streak + 1 : 0;
    longestStreak = Math.max(longestStreak, streak);
  }
  let longestGapDays = 0;
  for (let i = 1; i < days.length; i++) {
    // Days without a session between two sessions.
    longestGapDays = Math.max(longestGapDays, days[i] - days[i - 1] - 1);
  }
  return { sessions: days.length, weeks, longestStreak, longestGapDays };
}
