// The client page: reads a client's PR board, history and insight charts
// from this server's own HTTP API, as any other API client would.
//
// Rules kept here on purpose:
// - Data from the API is only ever written with textContent (never as
//   markup), so names typed by coaches cannot inject any.
// - The key lives in the password field (memory) and, only when asked, in
//   sessionStorage; it is sent as `Authorization: Bearer` and never put in
//   a URL.
// - Charts are fetched with that header and shown from a blob: URL, since
//   an <img src> to the API could not carry it.
"use strict";

(() => {
  const KEY_STORAGE = "everfit.apiKey";
  const HISTORY_PAGE_SIZE = 10;
  const USER_ID = /^[0-9a-fA-F]{24}$/;

  const $ = (id) => document.getElementById(id);

  const state = {
    userId: "",
    key: "",
    // Bumped on every new client load: answers for an older load are dropped.
    generation: 0,
    board: [],
    plugins: [],
    // cursors[i] is the cursor that reads page i (null for the first page).
    history: { cursors: [null], page: 0 },
    chartUrl: null,
    errors: new Map(),
  };

  class ApiError extends Error {
    constructor(status, envelope, retryAfter) {
      super(envelope && envelope.message ? envelope.message : `HTTP ${status}`);
      this.status = status;
      this.code = envelope && envelope.code;
      this.details = (envelope && envelope.details) || [];
      this.retryAfter = retryAfter;
    }
  }

  async function request(path) {
    const headers = { Accept: "application/json, image/svg+xml" };
    if (state.key) headers.Authorization = `Bearer ${state.key}`;
    let response;
    try {
      response = await fetch(path, { headers, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, { message: "The server cannot be reached." });
    }
    if (!response.ok) {
      let envelope = null;
      try {
        envelope = await response.json();
      } catch (e) {
        envelope = null;
      }
      throw new ApiError(response.status, envelope, response.headers.get("Retry-After"));
    }
    return response;
  }

  const getJson = async (path) => (await request(path)).json();

  // What a person should read for each failure; the server's message and
  // code follow, since they name the precise problem.
  function describe(error) {
    if (!(error instanceof ApiError)) return String(error);
    const why = error.code ? `${error.message} (${error.code})` : error.message;
    const details = error.details.map((d) => `${d.field}: ${d.message}`).join("; ");
    const more = details ? ` ${details}.` : "";
    switch (error.status) {
      case 0:
        return why;
      case 401:
        return `401: this server is protected. Paste an API key or token above. ${why}`;
      case 403:
        return `403: the key was refused or may not read this client. ${why}`;
      case 404:
        return `404: not found. ${why}`;
      case 429:
        return `429: too many requests; try again in ${error.retryAfter || "a few"} s. ${why}`;
      default:
        return `${error.status}: ${why}${more}`;
    }
  }

  function showError(part, error) {
    if (error) state.errors.set(part, `${part}: ${describe(error)}`);
    else state.errors.delete(part);
    const box = $("error");
    box.textContent = [...state.errors.values()].join("\n");
    box.hidden = state.errors.size === 0;
  }

  function clearErrors() {
    state.errors.clear();
    showError("", null);
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  const day = (iso) => (typeof iso === "string" ? iso.slice(0, 10) : "");
  const dash = (value) => (value === null || value === undefined || value === "" ? "\u2014" : value);

  // --- PR board ---------------------------------------------------------

  function recordCells(row) {
    const h = row.heaviestSet;
    const v = row.highestVolumeSet;
    const o = row.bestOneRepMax;
    return [
      h ? `${h.weight} ${h.unit} \u00d7 ${h.reps}` : null,
      v ? `${v.volume} ${v.unit} (${v.weight} ${v.unit} \u00d7 ${v.reps})` : null,
      o ? `${o.oneRepMax} ${o.unit} (${o.weight} ${o.unit} \u00d7 ${o.reps})` : null,
    ];
  }

  async function loadBoard(generation) {
    const sort = $("prs-sort").value;
    const section = $("prs");
    section.setAttribute("aria-busy", "true");
    try {
      const params = new URLSearchParams({ userId: state.userId, sort });
      const body = await getJson(`/workouts/prs?${params}`);
      if (generation !== state.generation) return;
      state.board = body.exercises || [];
      const tbody = $("prs-table").tBodies[0];
      tbody.replaceChildren();
      for (const row of state.board) {
        const tr = el("tr");
        const name = el("th", row.exerciseName);
        name.scope = "row";
        tr.append(name, el("td", dash(row.muscleGroup)));
        for (const cell of recordCells(row)) tr.append(el("td", dash(cell), "num"));
        tr.append(el("td", dash(day(row.lastPrDate))));
        tbody.append(tr);
      }
      $("prs-empty").hidden = state.board.length > 0;
      $("prs-table").hidden = state.board.length === 0;
      showError("Personal records", null);
    } catch (error) {
      if (generation !== state.generation) return;
      state.board = [];
      $("prs-table").tBodies[0].replaceChildren();
      showError("Personal records", error);
    } finally {
      section.removeAttribute("aria-busy");
    }
  }

  // --- History ----------------------------------------------------------

  const setsText = (sets) => (sets || []).map((s) => `${s.reps} \u00d7 ${s.weight} ${s.unit}`).join(", ");

  async function loadHistory(generation, page) {
    const section = $("history");
    section.setAttribute("aria-busy", "true");
    $("history-newer").disabled = true;
    $("history-older").disabled = true;
    try {
      const params = new URLSearchParams({ userId: state.userId, limit: String(HISTORY_PAGE_SIZE) });
      const cursor = state.history.cursors[page];
      if (cursor) params.set("cursor", cursor);
      const body = await getJson(`/workouts/history?${params}`);
      if (generation !== state.generation) return;
      state.history.page = page;
      state.history.cursors.length = page + 1;
      if (body.nextCursor) state.history.cursors.push(body.nextCursor);
      const tbody = $("history-table").tBodies[0];
      tbody.replaceChildren();
      for (const item of body.items || []) {
        const tr = el("tr");
        tr.append(
          el("td", day(item.date)),
          el("td", item.exerciseName),
          el("td", dash(item.muscleGroup)),
          el("td", setsText(item.sets), "num"),
        );
        tbody.append(tr);
      }
      const empty = (body.items || []).length === 0 && page === 0;
      $("history-empty").hidden = !empty;
      $("history-table").hidden = empty;
      $("history-page").textContent = empty ? "" : `Page ${page + 1}`;
      $("history-newer").disabled = page === 0;
      $("history-older").disabled = !body.nextCursor;
      showError("Recent workouts", null);
    } catch (error) {
      if (generation !== state.generation) return;
      $("history-table").tBodies[0].replaceChildren();
      $("history-page").textContent = "";
      showError("Recent workouts", error);
    } finally {
      section.removeAttribute("aria-busy");
    }
  }

  // --- Insights ---------------------------------------------------------

  function paramControl(spec) {
    const id = `param-${spec.name}`;
    const wrap = el("div", undefined, "field");
    const label = el("label", spec.required ? `${spec.name} (required)` : spec.name);
    label.htmlFor = id;
    let control;
    const kind = spec.kind || {};
    if (kind.type === "exercise" && state.board.length > 0) {
      control = el("select");
      for (const row of state.board) control.append(new Option(row.exerciseName, row.exerciseName));
    } else if (kind.type === "choice") {
      control = el("select");
      if (!spec.required) control.append(new Option("(default)", ""));
      for (const value of kind.values || []) control.append(new Option(value, value));
      if (spec.default) control.value = spec.default;
    } else {
      control = el("input");
      control.type = kind.type === "integer" || kind.type === "number" ? "number" : "text";
      if (kind.type === "integer") {
        control.step = "1";
        control.min = String(kind.min);
        control.max = String(kind.max);
      }
      if (kind.type === "number") control.step = "any";
      if (spec.default) control.placeholder = spec.default;
      control.required = spec.required;
    }
    control.id = id;
    control.name = spec.name;
    if (spec.description) control.title = spec.description;
    wrap.append(label, control);
    return wrap;
  }

  function selectedPlugin() {
    return state.plugins.find((p) => p.name === $("insight-plugin").value);
  }

  function renderParams() {
    const plugin = selectedPlugin();
    $("insight-description").textContent = plugin ? plugin.description : "";
    $("insight-params").replaceChildren(...(plugin ? plugin.params.map(paramControl) : []));
  }

  async function loadInsights(generation) {
    try {
      const body = await getJson("/insights");
      if (generation !== state.generation) return false;
      state.plugins = body.plugins || [];
      const select = $("insight-plugin");
      const previous = select.value;
      select.replaceChildren(...state.plugins.map((p) => new Option(p.title || p.name, p.name)));
      if (state.plugins.some((p) => p.name === previous)) select.value = previous;
      showError("Insights", null);
      return state.plugins.length > 0;
    } catch (error) {
      if (generation !== state.generation) return false;
      state.plugins = [];
      $("insight-plugin").replaceChildren();
      showError("Insights", error);
      return false;
    }
  }

  // Whether every required parameter has a value, so drawing is worth a request.
  function paramsReady() {
    const plugin = selectedPlugin();
    if (!plugin) return false;
    return plugin.params.every((spec) => !spec.required || $(`param-${spec.name}`).value !== "");
  }

  async function drawChart(generation) {
    const plugin = selectedPlugin();
    if (!plugin) return;
    const params = new URLSearchParams({ userId: state.userId });
    for (const spec of plugin.params) {
      // An empty value is a 400 (values are read as sent): leave it out.
      const value = $(`param-${spec.name}`).value;
      if (value !== "") params.set(spec.name, value);
    }
    $("insights").setAttribute("aria-busy", "true");
    try {
      const response = await request(`/insights/${encodeURIComponent(plugin.name)}/chart.svg?${params}`);
      const blob = await response.blob();
      if (generation !== state.generation) return;
      const url = URL.createObjectURL(blob);
      const img = $("chart-img");
      await new Promise((resolve, reject) => {
        img.onload = resolve;
        img.onerror = () => reject(new Error("The chart could not be displayed."));
        img.src = url;
      });
      if (state.chartUrl) URL.revokeObjectURL(state.chartUrl);
      state.chartUrl = url;
      const what = [...params.entries()].filter(([k]) => k !== "userId").map(([k, v]) => `${k} ${v}`);
      const caption = `${plugin.title || plugin.name}${what.length ? `: ${what.join(", ")}` : ""}`;
      img.alt = `Chart: ${caption}`;
      $("chart-caption").textContent = caption;
      $("chart").hidden = false;
      showError("Chart", null);
    } catch (error) {
      if (generation !== state.generation) return;
      $("chart").hidden = true;
      showError("Chart", error);
    } finally {
      $("insights").removeAttribute("aria-busy");
    }
  }

  // --- Loading a client -------------------------------------------------

  function readKey() {
    state.key = $("api-key").value.trim();
    if ($("remember-key").checked && state.key) sessionStorage.setItem(KEY_STORAGE, state.key);
    else sessionStorage.removeItem(KEY_STORAGE);
  }

  async function loadClient() {
    const userId = $("user-id").value.trim();
    clearErrors();
    if (!USER_ID.test(userId)) {
      state.errors.set("User ID", "User ID: 24 hexadecimal characters, e.g. 665f1c2b8a1e4d0012345678.");
      showError("", null);
      $("user-id").setAttribute("aria-invalid", "true");
      $("user-id").focus();
      return;
    }
    $("user-id").removeAttribute("aria-invalid");
    readKey();
    state.userId = userId;
    const generation = ++state.generation;
    state.history = { cursors: [null], page: 0 };
    const url = new URL(window.location.href);
    url.searchParams.set("userId", userId);
    window.history.replaceState(null, "", url);

    for (const id of ["prs", "history", "insights"]) $(id).hidden = false;
    $("chart").hidden = true;
    $("status").textContent = `Loading client ${userId}\u2026`;
    const [, , havePlugins] = await Promise.all([
      loadBoard(generation),
      loadHistory(generation, 0),
      loadInsights(generation),
    ]);
    if (generation !== state.generation) return;
    renderParams();
    if (havePlugins && paramsReady()) await drawChart(generation);
    if (generation !== state.generation) return;
    $("status").textContent =
      state.errors.size === 0 ? `Client ${userId} loaded.` : `Client ${userId}: some parts could not be loaded.`;
  }

  function start() {
    const stored = sessionStorage.getItem(KEY_STORAGE);
    if (stored) {
      $("api-key").value = stored;
      $("remember-key").checked = true;
    }
    $("client-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadClient();
    });
    $("remember-key").addEventListener("change", readKey);
    $("prs-sort").addEventListener("change", () => loadBoard(state.generation));
    $("history-newer").addEventListener("click", () =>
      loadHistory(state.generation, Math.max(0, state.history.page - 1)),
    );
    $("history-older").addEventListener("click", () => loadHistory(state.generation, state.history.page + 1));
    $("insight-plugin").addEventListener("change", renderParams);
    $("insight-form").addEventListener("submit", (event) => {
      event.preventDefault();
      drawChart(state.generation);
    });

    const userId = new URLSearchParams(window.location.search).get("userId");
    if (userId) {
      $("user-id").value = userId;
      loadClient();
    }
  }

  start();
})();
