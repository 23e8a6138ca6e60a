// The client page (/app) in a real headless browser: Debian's chromium
// driven by playwright-core (which downloads no browser of its own).
//
//   node app.test.mjs PATH_TO_EVERFIT_BINARY      (tests/browser/run does this)
//
// For each mode (open, then protected by a master key) it starts the
// binary on a free port with a fresh SQLite file, seeds two clients over
// POST /workouts, waits until their PRs are settled, and drives the page
// like a coach would. Any console error, page error or failed request that
// a step did not announce fails the run.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BINARY = process.argv[2];
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const USER = "665f1c2b8a1e4d0012345678";
const OTHER = "665f1c2b8a1e4d0087654321";
const MASTER_KEY = "browser-test-master-key-0123456789";
// Typed by a coach: must show as text, never become markup.
const HOSTILE = `<img src=x onerror="window.__injected=1">Cable Fly`;
const WEEKS = 9;
const HISTORY_PAGE_SIZE = 10; // as in host/app/app.js

if (!BINARY) {
  console.error("usage: node app.test.mjs PATH_TO_EVERFIT_BINARY");
  process.exit(2);
}

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function assertEqual(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`assertion failed: ${message}\n  expected ${e}\n  actual   ${a}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- The server --------------------------------------------------------

async function startServer({ masterKey }) {
  const dir = mkdtempSync(join(tmpdir(), "everfit-browser-"));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: "127.0.0.1",
    PORT: String(port),
    SQLITE_PATH: join(dir, "everfit.db"),
    // The durable embedded queue with its workers, as a self-hosted coach
    // runs it: PRs settle after the 202, so the test waits for them.
    QUEUE: "sqlite",
    RUST_LOG: "warn",
    NO_COLOR: "1",
  };
  if (masterKey) env.MASTER_KEY = masterKey;
  // cwd is the temp dir, so no ./.env of the checkout is read.
  const child = spawn(BINARY, ["serve"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  child.stdout.on("data", (d) => log.push(d.toString()));
  child.stderr.on("data", (d) => log.push(d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const server = {
    base,
    log,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${base}/health`);
      if (r.status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await server.stop();
  throw new Error(`the server did not become healthy:\n${log.join("")}`);
}

async function api(server, method, path, { key, body } = {}) {
  const headers = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const r = await fetch(`${server.base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

// --- Seeding -----------------------------------------------------------

const isoDay = (date) => date.toISOString().slice(0, 10);

// WEEKS weeks of three lifts plus the hostile name, weights rising, so the
// last week holds every heaviest set. Deadlift is logged a day after the
// others each week, so it has the most recent record.
function seedEntries() {
  const entries = [];
  const monday = Date.UTC(2025, 0, 6);
  for (let week = 0; week < WEEKS; week++) {
    const at = (days) => isoDay(new Date(monday + (week * 7 + days) * 86400000));
    const set = (weight, reps) => [{ reps, weight, unit: "kg" }, { reps, weight: weight - 10, unit: "kg" }];
    entries.push({ exerciseName: "Bench Press", date: at(0), sets: set(60 + 2.5 * week, 5) });
    entries.push({ exerciseName: "Back Squat", date: at(0), sets: set(80 + 5 * week, 5) });
    entries.push({ exerciseName: "Deadlift", date: at(1), sets: set(100 + 5 * week, 3) });
  }
  entries.push({ exerciseName: HOSTILE, date: isoDay(new Date(monday)), sets: [{ reps: 12, weight: 20, unit: "kg" }] });
  return entries;
}

function expectedBoard(entries) {
  const board = new Map();
  for (const e of entries) {
    for (const s of e.sets) {
      const best = board.get(e.exerciseName);
      if (!best || s.weight > best.weight) board.set(e.exerciseName, { weight: s.weight, reps: s.reps });
    }
  }
  return board;
}

async function seed(server, key) {
  const entries = seedEntries();
  const r = await api(server, "POST", "/workouts", { key, body: { userId: USER, entries } });
  assertEqual(r.status, 202, `seeding ${USER}: ${JSON.stringify(r.body)}`);
  const other = [{ exerciseName: "Overhead Press", date: "2025-02-03", sets: [{ reps: 5, weight: 40, unit: "kg" }] }];
  const o = await api(server, "POST", "/workouts", { key, body: { userId: OTHER, entries: other } });
  assertEqual(o.status, 202, `seeding ${OTHER}: ${JSON.stringify(o.body)}`);

  // Writes are accepted onto the queue: wait until the history and the
  // PR board show all of them.
  const board = expectedBoard(entries);
  for (let i = 0; i < 150; i++) {
    const prs = await api(server, "GET", `/workouts/prs?userId=${USER}`, { key });
    const history = await api(server, "GET", `/workouts/history?userId=${USER}&limit=100`, { key });
    const settled =
      prs.status === 200 &&
      history.status === 200 &&
      history.body.count === entries.length &&
      prs.body.count === board.size &&
      prs.body.exercises.every((row) => row.heaviestSet && row.heaviestSet.weight === board.get(row.exerciseName).weight);
    if (settled) return { entries, board };
    await sleep(200);
  }
  throw new Error(`the seeded PRs never appeared:\n${server.log.join("")}`);
}

// --- The browser -------------------------------------------------------

// Everything the page reports that is not a success, for the steps to check.
function watch(page) {
  const seen = { console: [], pageErrors: [], failed: [] };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.pageErrors.push(String(e)));
  page.on("requestfailed", (r) => seen.failed.push(`${r.url()}: ${r.failure() && r.failure().errorText}`));
  page.on("response", (r) => {
    if (r.status() >= 400) seen.failed.push(`${r.url()}: ${r.status()}`);
  });
  return {
    // Asserts nothing went wrong since the last check, except the refusals
    // (HTTP statuses of the API's answers) the step announced.
    expect(step, statuses = []) {
      const announced = (line) => statuses.some((s) => line.includes(`status of ${s} `) || line.endsWith(`: ${s}`));
      const unexpected = [
        ...seen.console.filter((l) => !announced(l)),
        ...seen.pageErrors,
        ...seen.failed.filter((l) => !announced(l)),
      ];
      if (statuses.length > 0) {
        assert(
          seen.failed.some(announced),
          `${step}: expected a refused request (${statuses.join(", ")}), saw ${JSON.stringify(seen.failed)}`,
        );
      }
      assertEqual(unexpected, [], `${step}: console errors, page errors or failed requests`);
      seen.console.length = 0;
      seen.pageErrors.length = 0;
      seen.failed.length = 0;
    },
  };
}

async function loaded(page, userId) {
  await page.waitForFunction(
    (id) => {
      const s = document.getElementById("status").textContent;
      return s.startsWith(`Client ${id} loaded`) || s.startsWith(`Client ${id}: some parts`);
    },
    userId,
    { timeout: 20000 },
  );
  return page.textContent("#status");
}

const errorText = (page) => page.$eval("#error", (e) => (e.hidden ? "" : e.textContent));

async function prRows(page) {
  return page.$$eval("#prs-table tbody tr", (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)),
  );
}

async function historyRows(page) {
  return page.$$eval("#history-table tbody tr", (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)),
  );
}

async function checkBoard(page, board) {
  const rows = await prRows(page);
  assertEqual(rows.length, board.size, "one PR row per exercise");
  for (const [name, best] of board) {
    const row = rows.find((r) => r[0] === name);
    assert(row, `the board shows ${name}: ${JSON.stringify(rows)}`);
    assertEqual(row[2], `${best.weight} kg \u00d7 ${best.reps}`, `${name}'s heaviest set`);
  }
  assert(!rows.some((r) => r[0] === "Overhead Press"), "another client's exercise is not shown");
  // The hostile name stayed text.
  assertEqual(await page.$$eval("#prs-table img, #history-table img", (x) => x.length), 0, "no markup injected");
  assertEqual(await page.evaluate(() => window.__injected), undefined, "no script ran");

  await page.selectOption("#prs-sort", "lastPr");
  await page.waitForFunction(() => document.querySelector("#prs-table tbody th")?.textContent === "Deadlift");
  await page.selectOption("#prs-sort", "name");
  await page.waitForFunction(() => document.querySelector("#prs-table tbody th")?.textContent !== "Deadlift");
}

async function checkHistory(page, entries) {
  const pages = Math.ceil(entries.length / HISTORY_PAGE_SIZE);
  const seen = [];
  for (let p = 1; p <= pages; p++) {
    await page.waitForFunction((n) => document.getElementById("history-page").textContent === `Page ${n}`, p);
    const rows = await historyRows(page);
    const expectedRows = p < pages ? HISTORY_PAGE_SIZE : entries.length - HISTORY_PAGE_SIZE * (pages - 1);
    assertEqual(rows.length, expectedRows, `rows on history page ${p}`);
    seen.push(...rows);
    assertEqual(await page.isDisabled("#history-newer"), p === 1, `"Newer" on page ${p}`);
    assertEqual(await page.isDisabled("#history-older"), p === pages, `"Older" on page ${p}`);
    if (p < pages) await page.click("#history-older");
  }
  // Every entry once, newest first.
  assertEqual(seen.length, entries.length, "every entry over the pages");
  const dates = seen.map((r) => r[0]);
  assertEqual(dates, [...dates].sort().reverse(), "history is newest first across pages");
  const hostile = seen.find((r) => r[1] === HOSTILE);
  assert(hostile, "the hostile name is shown as text in the history");
  assertEqual(hostile[3], "12 \u00d7 20 kg", "its sets");
  // And back.
  const last = await historyRows(page);
  await page.click("#history-newer");
  await page.waitForFunction((n) => document.getElementById("history-page").textContent === `Page ${n}`, pages - 1);
  const back = await historyRows(page);
  assertEqual(back, seen.slice(HISTORY_PAGE_SIZE * (pages - 2), HISTORY_PAGE_SIZE * (pages - 1)), "paging back");
  assert(JSON.stringify(back) !== JSON.stringify(last), "paging back changed the rows");
}

async function checkChart(page, exercise) {
  // The progress insight (the list holds other built-ins, sorted by name).
  await page.selectOption("#insight-plugin", "progress");
  await page.selectOption("#param-exercise", exercise);
  await page.click("#insight-form button[type=submit]");
  await page.waitForFunction(
    (name) => {
      const img = document.getElementById("chart-img");
      return !document.getElementById("chart").hidden && img.complete && img.alt.includes(name);
    },
    exercise,
    { timeout: 20000 },
  );
  const img = await page.$eval("#chart-img", (i) => {
    const box = i.getBoundingClientRect();
    return { src: i.src, natural: i.naturalWidth, width: box.width, height: box.height, alt: i.alt };
  });
  assert(img.src.startsWith("blob:"), `the chart comes from a blob URL: ${img.src}`);
  assert(img.natural > 0 && img.width > 0 && img.height > 0, `the chart has a size: ${JSON.stringify(img)}`);
}

// The page's first chart is drawn on load, for the first exercise by name.
async function firstChartDrawn(page) {
  await page.waitForFunction(() => {
    const img = document.getElementById("chart-img");
    return !document.getElementById("chart").hidden && img.complete && img.naturalWidth > 0;
  });
}

// --- The two runs ------------------------------------------------------

async function runOpen(browser) {
  const server = await startServer({ masterKey: null });
  try {
    const { entries, board } = await seed(server, null);
    const page = await browser.newPage();
    const seen = watch(page);
    await page.goto(`${server.base}/app?userId=${USER}`);
    assertEqual(await loaded(page, USER), `Client ${USER} loaded.`, "status");
    assertEqual(await errorText(page), "", "no error shown");
    await checkBoard(page, board);
    await firstChartDrawn(page);
    await checkHistory(page, entries);
    await checkChart(page, "Bench Press");
    seen.expect("open: the page");

    // Errors a coach can make, shown in the page.
    await page.fill("#user-id", "not-an-id");
    await page.click("#client-form button[type=submit]");
    await page.waitForFunction(() => document.getElementById("error").textContent.includes("24 hexadecimal"));
    seen.expect("open: a malformed user id is caught before any request");

    await page.close();
    console.log("ok: open server: PR board, history paging, chart, no console errors");
  } finally {
    await server.stop();
  }
}

async function runProtected(browser) {
  const server = await startServer({ masterKey: MASTER_KEY });
  try {
    const { entries, board } = await seed(server, MASTER_KEY);
    const created = await api(server, "POST", "/keys", {
      key: MASTER_KEY,
      body: { name: "browser test", actions: ["prs.read", "workouts.read", "insights.read"], users: [USER] },
    });
    assertEqual(created.status, 201, `creating an API key: ${JSON.stringify(created.body)}`);
    const key = created.body.key;

    const context = await browser.newContext();
    const page = await context.newPage();
    const seen = watch(page);

    // No key: every part says the server wants one.
    await page.goto(`${server.base}/app?userId=${USER}`);
    await loaded(page, USER);
    const noKey = await errorText(page);
    assert(noKey.includes("401") && noKey.includes("Paste an API key"), `401 shown: ${noKey}`);
    seen.expect("protected: no key", [401]);

    // A wrong key: 403, said so.
    await page.fill("#api-key", "not-a-key");
    await page.click("#client-form button[type=submit]");
    await loaded(page, USER);
    const wrongKey = await errorText(page);
    assert(wrongKey.includes("403") && wrongKey.includes("invalid_api_key"), `403 shown: ${wrongKey}`);
    seen.expect("protected: a wrong key", [403]);

    // The right key, kept for the tab.
    await page.fill("#api-key", key);
    await page.check("#remember-key");
    await page.click("#client-form button[type=submit]");
    await page.waitForFunction((id) => document.getElementById("status").textContent === `Client ${id} loaded.`, USER);
    assertEqual(await errorText(page), "", "no error shown with the key");
    await checkBoard(page, board);
    await firstChartDrawn(page);
    await checkHistory(page, entries);
    await checkChart(page, "Deadlift");
    assert(!page.url().includes(key), "the key is not in the URL");
    seen.expect("protected: with the key");

    // A reload finds the key in sessionStorage and loads the client again.
    await page.reload();
    await page.waitForFunction((id) => document.getElementById("status").textContent === `Client ${id} loaded.`, USER);
    assertEqual(await page.inputValue("#api-key"), key, "the key survives a reload of the tab");
    assertEqual(await prRows(page).then((r) => r.length), board.size, "the board after a reload");
    seen.expect("protected: reload");

    // A client the key is not for: refused by the API, said so.
    await page.fill("#user-id", OTHER);
    await page.click("#client-form button[type=submit]");
    await loaded(page, OTHER);
    const other = await errorText(page);
    assert(other.includes("403") && other.includes("user_not_allowed"), `user_not_allowed shown: ${other}`);
    assertEqual(await prRows(page).then((r) => r.length), 0, "nothing of the other client shown");
    seen.expect("protected: another client", [403]);

    // A fresh tab does not have the key.
    const fresh = await browser.newContext();
    const freshPage = await fresh.newPage();
    await freshPage.goto(`${server.base}/app`);
    assertEqual(await freshPage.inputValue("#api-key"), "", "a new session starts without a key");
    await fresh.close();

    await context.close();
    console.log("ok: protected server: 401/403 shown, then with an API key: PR board, history paging, chart, no console errors");
  } finally {
    await server.stop();
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
let failed = false;
try {
  await runOpen(browser);
  await runProtected(browser);
} catch (error) {
  failed = true;
  console.error(error && error.stack ? error.stack : error);
} finally {
  await browser.close();
}
if (failed) process.exit(1);
console.log("browser test passed");
