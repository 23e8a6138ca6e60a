// Training frequency, an example insight plugin in JavaScript
// (componentize-js): sessions per ISO week over all exercises, the longest
// streak of weeks with at least `min-sessions` sessions, and the longest
// gap between two sessions.
//
// WIT to JS, as componentize-js maps it: records are objects with camelCase
// fields, variants `{ tag, val }`, options `undefined` or the value, and
// 64-bit integers (timestamps, integer bounds) BigInt.

import { frequency } from "./frequency.js";

function describe() {
  return {
    name: "training-frequency",
    version: "0.1.0",
    title: "Training frequency",
    description: "Sessions per week, the longest streak of weeks and the longest gap",
    params: [
      {
        name: "min-sessions",
        description: "Sessions a week needs to count toward a streak",
        kind: { tag: "integer", val: [1n, 7n] },
        required: false,
        defaultValue: "1",
      },
    ],
  };
}

function compute(entries, params) {
  const minSessions = Number(params.find((p) => p.name === "min-sessions").value);
  const f = frequency(entries.map((e) => Number(e.dateMs)), minSessions);
  if (f.sessions === 0) {
    return { summary: "no sessions logged", metrics: [], series: [], tables: [] };
  }
  const perWeek = f.sessions / f.weeks.length;
  const metric = (name, value, unit) => ({ name, value, unit });
  return {
    summary:
      `${f.sessions} sessions over ${f.weeks.length} weeks (${perWeek.toFixed(1)} a week); ` +
      `longest streak ${f.longestStreak} weeks of ${minSessions}+; longest gap ${f.longestGapDays} days`,
    metrics: [
      metric("sessions", f.sessions),
      metric("weeks", f.weeks.length),
      metric("sessions-per-week", perWeek),
      metric("longest-streak", f.longestStreak, "weeks"),
      metric("longest-gap", f.longestGapDays, "days"),
    ],
    series: [
      {
        name: "sessions",
        unit: "sessions",
        points: f.weeks.map((w) => ({ atMs: BigInt(w.startMs), label: w.label, value: w.sessions })),
      },
    ],
    tables: [
      {
        name: "weeks",
        columns: ["week", "sessions"],
        rows: f.weeks.map((w) => [w.label, String(w.sessions)]),
      },
    ],
  };
}

export const insight = { describe, compute };
