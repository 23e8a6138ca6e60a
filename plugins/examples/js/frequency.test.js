import assert from "node:assert/strict";
import { test } from "node:test";
import { DAY_MS, frequency, weekLabel, weekStartMs } from "./frequency.js";

// 2026-06-01 is a Monday (ISO week 23).
const JUNE_1 = Date.UTC(2026, 5, 1);

test("weeks start on Monday, UTC, with ISO labels", () => {
  assert.equal(weekStartMs(JUNE_1), JUNE_1);
  assert.equal(weekStartMs(JUNE_1 + 6 * DAY_MS + 1), JUNE_1);
  assert.equal(weekStartMs(JUNE_1 - 1), JUNE_1 - 7 * DAY_MS);
  assert.equal(weekLabel(JUNE_1), "2026-W23");
  // Monday 2024-12-30 starts week 1 of 2025; 2020 had 53 weeks.
  assert.equal(weekLabel(Date.UTC(2024, 11, 30)), "2025-W01");
  assert.equal(weekLabel(Date.UTC(2020, 11, 28)), "2020-W53");
  assert.equal(weekStartMs(Date.UTC(1969, 11, 31)), Date.UTC(1969, 11, 29));
});

test("sessions per week, empty weeks, streaks and gaps", () => {
  const day = (n) => JUNE_1 + n * DAY_MS;
  // Two entries on day 0 are one session.
  const f = frequency([day(0), day(0), day(2), day(7), day(21), day(22), day(24)], 2);
  assert.equal(f.sessions, 6);
  assert.deepEqual(
    f.weeks.map((w) => [w.label, w.sessions]),
    [["2026-W23", 2], ["2026-W24", 1], ["2026-W25", 0], ["2026-W26", 3]],
  );
  assert.equal(f.longestStreak, 1);
  assert.equal(frequency([day(0), day(7), day(14)], 1).longestStreak, 3);
  // From day 7 to day 21: 13 days without a session.
  assert.equal(f.longestGapDays, 13);
  assert.deepEqual(frequency([], 1), { sessions: 0, weeks: [], longestStreak: 0, longestGapDays: 0 });
});
