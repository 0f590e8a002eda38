// Activity view: the live log of tool calls.
//
// Model: `rows` (oldest first, at most MAX_ROWS) of row objects; `byCall` maps call_id → row
// so each event batch is applied incrementally. A tool call is one row (started + finished +
// its upstream requests); auth events and upstream requests without a call are rows of kind
// "sign-in". `view` is the filtered subset (the same array as `rows` when no filter is set).
//
// History comes in pages from the app's ring (newest page at start, PAGE events each); an
// older page is asked for when the list is scrolled (or filtered) down to its oldest rows.
// Its rows go before the others, and events of a call whose row is already shown go before
// that row's events, so rows on screen never move.
//
// The list is virtualised: fixed-height rows, only the visible window plus some overscan is
// in the DOM (a small pool of row elements reused on scroll), on top of a spacer that gives
// the scroll container its full height. Details of the selected row go to a pane below the
// list so row heights never change.

import * as ipc from "./ipc.js";
import { $, clock, count, debounce, duration, el, errorMessage, parseTime, show } from "./util.js";

const ROW_H = 28; // must match .row height in style.css
const HEAD_H = 26; // the sticky column header inside the scroller (.list-head)
const OVERSCAN = 10;
const MAX_ROWS = 10_000;
const MAX_GONE = 20_000; // call ids remembered after Clear / trimming
const MAX_PENDING = 200_000; // events buffered while paused
const PAGE = 500; // events per page of history

const AUTH_LABEL = {
  login_started: "Sign-in started",
  login_succeeded: "Signed in",
  login_failed: "Sign-in failed",
  token_restored: "Session restored",
  token_refreshed: "Token refreshed",
  logged_out: "Signed out",
};
const OUTCOME_LABEL = {
  ok: "OK",
  error: "Error",
  rejected: "Rejected",
  cancelled: "Cancelled",
  refused: "Refused",
  denied: "Denied",
  running: "Running",
};
// A call's guardrail steps (policy and approval), as the detail pane names them.
const GUARD_LABEL = {
  waiting: "Waiting for the admin",
  approved: "Approved",
  denied: "Denied",
  timed_out: "No answer in time",
  refused: "Refused by the mode or a tool switch",
};
const BY_LABEL = { window: "in the app", grant: "by an earlier approval for this assistant", elicitation: "through the assistant's confirmation prompt" };

let rows = []; // oldest first
const byCall = new Map(); // call_id → row
let view = rows; // filtered, oldest first
const gone = new Set(); // call ids cleared from the view or trimmed: later events are dropped
const tools = new Set();
let toolsChanged = false;
const counts = { ok: 0, error: 0, rejected: 0, cancelled: 0, refused: 0, denied: 0, running: 0 }; // tool-call rows by outcome
const summaryListeners = new Set();
let seq = 0;

const filter = { tool: "", outcome: "", profile: "", text: "" };
let selected = null;
let detailRev = -1;

let paused = false;
let pending = [];
let pendingCount = 0;

// Paging back through history: the oldest sequence number loaded, whether older events
// remain, the page in flight, and the last failure. `epoch` changes on Clear, so a page
// that arrives after it is dropped.
const history = { before: null, more: false, loading: false, error: null, epoch: 0 };

let scroller, spacer, rowsBox, emptyBox;
const pool = [];
let frameRequested = false;

// ---------------------------------------------------------------- model

function forget(callId) {
  gone.add(callId);
  if (gone.size > MAX_GONE) {
    let drop = gone.size - MAX_GONE;
    for (const id of gone) {
      if (drop-- <= 0) break;
      gone.delete(id);
    }
  }
}

/** The row of a call, created (and added to `into`) when the call is new. */
function callRow(callId, at, into) {
  if (callId === null || callId === undefined || gone.has(callId)) return null;
  let r = byCall.get(callId);
  if (!r) {
    r = {
      kind: "call",
      id: seq++,
      callId,
      tool: "",
      client: null,
      profile: null,
      outcome: "running",
      startMs: parseTime(at),
      time: null,
      durationMs: null,
      message: null,
      args: null,
      upstream: [],
      guard: [],
      waiting: false,
      events: [],
      hay: null,
      rev: 0,
    };
    byCall.set(callId, r);
    into.push(r);
    counts.running++;
  }
  return r;
}

function signInRow(ev, outcome, into) {
  const r = {
    kind: "sign-in",
    id: seq++,
    callId: null,
    tool: "",
    client: null,
    outcome,
    startMs: parseTime(ev.at),
    time: null,
    durationMs: ev.kind === "upstream" && Number.isFinite(ev.latency_ms) ? ev.latency_ms : null,
    message: ev.kind === "auth" ? ev.detail ?? null : ev.error ?? null,
    args: null,
    upstream: ev.kind === "upstream" ? [ev] : [],
    guard: [],
    waiting: false,
    events: [ev],
    hay: null,
    rev: 0,
  };
  into.push(r);
}

function upstreamFailed(ev) {
  return !!ev.error || ev.status === null || ev.status === undefined || ev.status >= 400;
}

const profiles = new Set();
let profilesChanged = false;
const profileColours = new Map(); // name → colour, from the settings

function noteProfile(name) {
  if (name && !profiles.has(name)) {
    profiles.add(name);
    profilesChanged = true;
  }
}

/** The profiles' colours (Settings), for the rows' marks. */
export function setProfileColours(list) {
  profileColours.clear();
  for (const p of list || []) {
    profileColours.set(p.name, p.colour);
    noteProfile(p.name);
  }
  updateProfileOptions();
  for (const node of pool) node._rev = -1; // repaint with the colours
  if (scroller) requestRender();
}

function updateProfileOptions() {
  if (!profilesChanged) return;
  profilesChanged = false;
  const select = $("filter-profile");
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const p of [...profiles].sort((a, b) => a.localeCompare(b))) select.append(el("option", { text: p, attrs: { value: p } }));
  select.value = keep;
  show(select, profiles.size > 0);
}

function noteTool(tool) {
  if (tool && !tools.has(tool)) {
    tools.add(tool);
    toolsChanged = true;
  }
}

/**
 * Apply a batch of ActivityEvents (oldest first) to the model. `older`: the batch is a page
 * of history, older than every event applied so far; its new rows go before the others.
 */
function applyEvents(events, older = false) {
  const fresh = older ? [] : rows; // where new rows go
  const created = new Set(); // rows made by this (older) batch
  const earlier = new Map(); // existing row → its events from this older batch, oldest first
  const into = older
    ? {
        push(r) {
          fresh.push(r);
          created.add(r);
        },
      }
    : rows;
  const record = (r, ev) => {
    if (older && !created.has(r)) {
      let list = earlier.get(r);
      if (!list) earlier.set(r, (list = []));
      list.push(ev);
    } else {
      if (ev.kind === "upstream") r.upstream.push(ev);
      if (ev.kind === "guard") r.guard.push(ev);
      r.events.push(ev);
    }
    r.hay = null;
    r.rev++;
  };
  for (const ev of events) {
    if (!ev || typeof ev !== "object") continue;
    let r = null;
    switch (ev.kind) {
      case "tool_started":
        r = callRow(ev.call_id, ev.at, into);
        if (!r) continue;
        r.tool = ev.tool || r.tool;
        r.client = ev.client ?? r.client;
        r.profile = ev.profile ?? r.profile;
        noteProfile(r.profile);
        r.args = ev.arguments ?? r.args;
        r.startMs = parseTime(ev.at);
        r.time = null;
        noteTool(r.tool);
        break;
      case "tool_finished":
        r = callRow(ev.call_id, ev.at, into);
        if (!r) continue;
        if (!r.tool) r.tool = ev.tool || "";
        noteTool(r.tool);
        counts[r.outcome]--;
        r.outcome = OUTCOME_LABEL[ev.outcome] && ev.outcome !== "running" ? ev.outcome : "error";
        counts[r.outcome]++;
        r.durationMs = Number.isFinite(ev.duration_ms) ? ev.duration_ms : null;
        r.message = ev.message ?? null;
        r.waiting = false;
        break;
      case "guard":
        r = callRow(ev.call_id, ev.at, into);
        if (!r) continue;
        if (!r.tool) r.tool = ev.tool || "";
        if (r.outcome === "running") r.waiting = ev.step === "waiting";
        break;
      case "upstream":
        if (ev.call_id === null || ev.call_id === undefined) {
          signInRow(ev, upstreamFailed(ev) ? "error" : "ok", fresh);
          continue;
        }
        r = callRow(ev.call_id, ev.at, into);
        if (!r) continue;
        break;
      case "auth":
        signInRow(ev, ev.action === "login_failed" ? "error" : "ok", fresh);
        continue;
      default:
        continue;
    }
    record(r, ev);
  }
  for (const [r, list] of earlier) {
    r.events = list.concat(r.events);
    r.upstream = list.filter((ev) => ev.kind === "upstream").concat(r.upstream);
    r.guard = list.filter((ev) => ev.kind === "guard").concat(r.guard);
  }
  if (older) rows = fresh.concat(rows);
  trim();
}

function trim() {
  const excess = rows.length - MAX_ROWS;
  if (excess <= 0) return;
  history.more = false; // the list is full: older pages would be trimmed at once
  const dropped = rows.splice(0, excess);
  for (const r of dropped) {
    if (r.callId !== null) {
      byCall.delete(r.callId);
      forget(r.callId);
      counts[r.outcome]--;
    }
  }
}

// ---------------------------------------------------------------- filtering

function haystack(r) {
  if (r.hay === null) {
    const parts = [r.tool, r.client, r.profile, r.message];
    for (const u of r.upstream) parts.push(u.method, u.path, u.transaction_id, u.error, u.status);
    for (const ev of r.events) {
      if (ev.kind === "auth") parts.push(AUTH_LABEL[ev.action], ev.action, ev.tenant, ev.detail);
      if (ev.kind === "guard") parts.push(GUARD_LABEL[ev.step], ev.step, ev.by, ev.detail);
    }
    r.hay = parts.filter((p) => p !== null && p !== undefined && p !== "").join("\n").toLowerCase();
  }
  return r.hay;
}

const filtering = () => filter.tool !== "" || filter.outcome !== "" || filter.profile !== "" || filter.text !== "";

function matches(r) {
  if (filter.tool === "__signin") {
    if (r.kind !== "sign-in") return false;
  } else if (filter.tool !== "" && r.tool !== filter.tool) return false;
  if (filter.outcome !== "" && r.outcome !== filter.outcome) return false;
  if (filter.profile !== "" && r.profile !== filter.profile) return false;
  if (filter.text !== "" && !haystack(r).includes(filter.text)) return false;
  return true;
}

function refilter() {
  view = filtering() ? rows.filter(matches) : rows;
}

// ---------------------------------------------------------------- rendering

function rowAt(displayIndex) {
  return view[view.length - 1 - displayIndex]; // newest first
}

function requestRender() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    render();
  });
}

function makeRowElement() {
  const node = el(
    "div",
    { class: "row", attrs: { role: "option" } },
    el("span", { class: "c-time" }),
    el("span", { class: "c-client" }),
    el("span", { class: "c-tool" }),
    el("span", { class: "c-outcome" }, el("span", { class: "pill" })),
    el("span", { class: "c-dur num" }),
    el("span", { class: "c-req num" }),
  );
  node._row = null;
  node._rev = -1;
  node._sel = false;
  return node;
}

function rowLabel(r) {
  if (r.kind === "call") return r.tool || "(unknown tool)";
  const ev = r.events[0];
  if (ev.kind === "auth") return AUTH_LABEL[ev.action] || ev.action;
  return `${ev.method} ${ev.path}`;
}

function fill(node, r) {
  const sel = r === selected;
  if (node._row === r && node._rev === r.rev && node._sel === sel) return;
  node._row = r;
  node._rev = r.rev;
  node._sel = sel;
  const c = node.children;
  if (r.time === null) r.time = clock(r.startMs);
  c[0].textContent = r.time;
  c[1].textContent = r.kind === "call" ? (r.profile ? `${r.client || "—"} · ${r.profile}` : r.client || "—") : "Sign-in";
  // The profile's mark, in its colour.
  node.dataset.profile = r.profile || "";
  node.style.setProperty("--profile", (r.profile && profileColours.get(r.profile)) || "transparent");
  c[2].textContent = rowLabel(r);
  const pill = c[3].firstChild;
  pill.textContent = r.waiting ? "Waiting" : OUTCOME_LABEL[r.outcome];
  pill.dataset.outcome = r.waiting ? "waiting" : r.outcome;
  c[4].textContent = r.durationMs === null ? "" : duration(r.durationMs);
  c[5].textContent = r.upstream.length ? String(r.upstream.length) : "";
  node.dataset.callId = r.callId === null ? "" : String(r.callId);
  node.dataset.tool = r.tool;
  node.dataset.outcome = r.outcome;
  node.dataset.kind = r.kind;
  node.classList.toggle("selected", sel);
  node.classList.toggle("sign-in", r.kind === "sign-in");
  node.setAttribute("aria-selected", String(sel));
}

function setSpacer(total) {
  const h = `${total * ROW_H}px`;
  if (spacer.style.height !== h) spacer.style.height = h;
}

function render() {
  const total = view.length;
  setSpacer(total);
  const height = scroller.clientHeight - HEAD_H;
  if (height <= 0) return; // view hidden; rendered when shown
  const top = scroller.scrollTop;
  const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
  const last = Math.min(total, Math.ceil((top + height) / ROW_H) + OVERSCAN);
  const need = Math.max(0, last - first);

  // Keep the element of every row that stays in the window (only rows scrolling in get new
  // text); recycle the others. DOM order stays the display order.
  const current = new Map();
  for (const node of rowsBox.children) current.set(node._row, node);
  const nodes = new Array(need);
  for (let i = 0; i < need; i++) {
    const r = rowAt(first + i);
    const node = current.get(r);
    if (node) {
      nodes[i] = node;
      current.delete(r);
    }
  }
  const free = [...current.values()];
  for (const node of free) node.remove();
  for (let i = 0; i < need; i++) if (!nodes[i]) nodes[i] = free.pop() || pool.pop() || makeRowElement();
  pool.push(...free);
  const children = rowsBox.children;
  for (let i = 0; i < need; i++) {
    if (children[i] !== nodes[i]) rowsBox.insertBefore(nodes[i], children[i] || null);
    fill(nodes[i], rowAt(first + i));
  }
  const y = `translateY(${first * ROW_H}px)`;
  if (rowsBox.style.transform !== y) rowsBox.style.transform = y;
  // The oldest rows are in reach (or the filtered view does not fill the screen).
  if (last >= total - OVERSCAN) loadOlder();

  if (total === 0) {
    emptyBox.textContent = rows.length
      ? "No rows match the filters."
      : "No tool calls yet. When an assistant uses this server, each call appears here as it happens.";
  }
  show(emptyBox, total === 0);
}

function updateCounts() {
  const c = $("activity-count");
  const shown = view.length;
  const total = rows.length;
  let text = shown === total ? `${count(total)} ${total === 1 ? "row" : "rows"}` : `${count(shown)} of ${count(total)} rows`;
  if (history.loading) text += " · loading older activity…";
  else if (history.error) text += ` · older activity could not be loaded: ${history.error}`;
  c.textContent = text;
  c.dataset.shown = String(shown);
  c.dataset.total = String(total);
  $("export").disabled = shown === 0;
  const nav = $("nav-running");
  nav.textContent = counts.running > 0 ? String(counts.running) : "";
  nav.title = counts.running > 0 ? `${counts.running} running` : "";
  show(nav, counts.running > 0);
  notifySummary();
}

function notifySummary() {
  if (!summaryListeners.size) return;
  let last = null;
  for (let i = rows.length - 1; i >= 0; i--) {
    if (rows[i].kind === "call") {
      last = rows[i];
      break;
    }
  }
  const summary = {
    calls: counts.ok + counts.error + counts.rejected + counts.cancelled + counts.refused + counts.denied + counts.running,
    ...counts,
    last: last && { tool: last.tool, client: last.client, outcome: last.outcome, startMs: last.startMs },
  };
  for (const cb of summaryListeners) cb(summary);
}

/** Call `cb({calls, ok, error, rejected, cancelled, refused, denied, running, last})` whenever the log changes. */
export function subscribeActivitySummary(cb) {
  summaryListeners.add(cb);
  notifySummary();
}

function updateToolOptions() {
  if (!toolsChanged) return;
  toolsChanged = false;
  const select = $("filter-tool");
  const keep = select.value;
  while (select.options.length > 2) select.remove(2);
  for (const t of [...tools].sort((a, b) => a.localeCompare(b))) select.append(el("option", { text: t, attrs: { value: t } }));
  select.value = keep;
}

/** Apply a batch, keeping the rows the user is looking at in place when scrolled down. */
function receive(events, older = false) {
  let anchor = null;
  let offset = 0;
  const top = scroller.scrollTop;
  if (top > 0 && view.length) {
    const d = Math.floor(top / ROW_H);
    anchor = rowAt(Math.min(d, view.length - 1));
    offset = top - d * ROW_H;
  }
  applyEvents(events, older);
  refilter();
  setSpacer(view.length);
  if (anchor) {
    const idx = view.lastIndexOf(anchor);
    if (idx >= 0) scroller.scrollTop = (view.length - 1 - idx) * ROW_H + offset;
  }
  afterChange();
}

function afterChange() {
  updateToolOptions();
  updateProfileOptions();
  updateCounts();
  if (selected && (!rowsIncludes(selected) || selected.rev !== detailRev)) renderDetail();
  requestRender();
}

function rowsIncludes(r) {
  return r.callId !== null ? byCall.get(r.callId) === r : rows.includes(r);
}

// ---------------------------------------------------------------- history

/** Note where a page of history ends; returns its events (oldest first). */
function takePage(page) {
  const events = page && Array.isArray(page.events) ? page.events : [];
  history.before = page && Number.isFinite(page.oldest_seq) ? page.oldest_seq : null;
  history.more = !!(page && page.more) && history.before !== null && rows.length < MAX_ROWS;
  return events;
}

/** Load the page before the oldest one loaded, once, if there is one. */
async function loadOlder() {
  if (history.loading || !history.more) return;
  history.loading = true;
  history.error = null;
  updateCounts();
  const epoch = history.epoch;
  let page = null;
  try {
    page = await ipc.recentActivity(history.before, PAGE);
  } catch (e) {
    if (epoch === history.epoch) {
      history.error = errorMessage(e);
      history.more = false;
    }
  }
  history.loading = false;
  if (epoch !== history.epoch) return; // cleared meanwhile
  if (page) receive(takePage(page), true);
  else updateCounts();
}

// ---------------------------------------------------------------- detail pane

function select(r) {
  selected = r;
  renderDetail();
  requestRender();
}

function renderDetail() {
  const pane = $("activity-detail");
  if (!selected || !rowsIncludes(selected)) {
    selected = null;
    pane.hidden = true;
    detailRev = -1;
    return;
  }
  const r = selected;
  detailRev = r.rev;
  pane.hidden = false;
  $("detail-title").textContent = rowLabel(r);
  const pill = $("detail-outcome");
  pill.textContent = r.waiting ? "Waiting" : OUTCOME_LABEL[r.outcome];
  pill.dataset.outcome = r.waiting ? "waiting" : r.outcome;
  const meta = [];
  if (r.time === null) r.time = clock(r.startMs);
  if (r.kind === "call") meta.push(r.client || "unknown assistant");
  if (r.profile) meta.push(`profile ${r.profile}`);
  meta.push(r.time);
  if (r.durationMs !== null) meta.push(duration(r.durationMs));
  if (r.callId !== null) meta.push(`call ${r.callId}`);
  $("detail-meta").textContent = meta.join(" · ");

  const body = $("detail-body");
  body.replaceChildren();
  if (r.message) {
    const warn = ["rejected", "cancelled", "refused", "denied"].includes(r.outcome);
    body.append(el("div", { class: `banner ${warn ? "warn" : r.outcome === "ok" ? "info" : "error"} selectable`, text: r.message }));
  }
  if (r.guard.length) {
    body.append(el("h3", { text: "Guardrail" }));
    body.append(
      el(
        "ol",
        { class: "guard-path" },
        ...r.guard.map((g) =>
          el(
            "li",
            { dataset: { step: g.step } },
            el("span", { class: "guard-time muted", text: clock(parseTime(g.at)) }),
            el("span", { text: [GUARD_LABEL[g.step] || g.step, g.by ? BY_LABEL[g.by] || g.by : ""].filter(Boolean).join(" ") }),
          ),
        ),
      ),
    );
  }
  if (r.kind === "sign-in" && r.events[0].kind === "auth") {
    const ev = r.events[0];
    body.append(
      el(
        "dl",
        { class: "facts compact" },
        el("dt", { text: "Event" }),
        el("dd", { text: AUTH_LABEL[ev.action] || ev.action }),
        el("dt", { text: "Tenant" }),
        el("dd", { class: "selectable", text: ev.tenant || "—" }),
      ),
    );
  }
  if (r.upstream.length || r.kind === "call") {
    body.append(el("h3", { text: `Upstream requests (${r.upstream.length})` }));
    if (r.upstream.length === 0) {
      body.append(el("p", { class: "muted", text: r.outcome === "running" ? "None yet." : "None." }));
    } else {
      body.append(upstreamTable(r.upstream));
    }
  }
  if (r.kind === "call") {
    body.append(el("h3", { text: "Arguments" }));
    const args = r.args === null ? "(not recorded)" : JSON.stringify(r.args, null, 2);
    body.append(el("pre", { class: "json selectable", text: args }));
  }
}

function upstreamTable(list) {
  const head = el(
    "tr",
    {},
    ...["Method", "Path", "Status", "Latency", "User-Agent", "Transaction ID"].map((h, i) =>
      el("th", { text: h, class: i === 2 || i === 3 ? "num" : "" }),
    ),
  );
  const tbody = el("tbody");
  for (const u of list) {
    const failed = upstreamFailed(u);
    const tr = el(
      "tr",
      { class: failed ? "upstream failed" : "upstream", dataset: { status: u.status ?? "" } },
      el("td", { class: "method", text: u.method }),
      el("td", { class: "path selectable", text: u.path }),
      el("td", { class: "status num", text: u.status ?? "—" }),
      el("td", { class: "latency num", text: Number.isFinite(u.latency_ms) ? `${u.latency_ms} ms` : "" }),
      el("td", { class: "ua selectable", text: u.user_agent ?? "", title: u.user_agent ?? "" }),
      el("td", { class: "txid selectable", text: u.transaction_id ?? "" }),
    );
    tbody.append(tr);
    if (u.error) tbody.append(el("tr", { class: "upstream-error" }, el("td", { class: "selectable", text: u.error, attrs: { colspan: 6 } })));
  }
  return el("table", { class: "upstream-table" }, el("thead", {}, head), tbody);
}

function moveSelection(delta) {
  if (!view.length) return;
  let d = selected ? view.length - 1 - view.lastIndexOf(selected) : -1;
  if (d < 0 || d >= view.length) d = delta > 0 ? -1 : view.length;
  d = Math.max(0, Math.min(view.length - 1, d + delta));
  select(rowAt(d));
  const top = d * ROW_H;
  if (top < scroller.scrollTop) scroller.scrollTop = top;
  else if (top + ROW_H > scroller.scrollTop + scroller.clientHeight - HEAD_H) {
    scroller.scrollTop = top + ROW_H - scroller.clientHeight + HEAD_H;
  }
}

// ---------------------------------------------------------------- controls

function setPaused(p) {
  paused = p;
  const b = $("pause");
  b.textContent = p ? "Resume" : "Pause";
  b.setAttribute("aria-pressed", String(p));
  b.classList.toggle("active", p);
  if (!p && pending.length) {
    const batch = pending.flat();
    pending = [];
    pendingCount = 0;
    receive(batch);
  }
  updatePending();
}

function updatePending() {
  const badge = $("pending-count");
  badge.textContent = `${count(pendingCount)} new`;
  badge.dataset.count = String(pendingCount);
  show(badge, paused);
}

function onBatch(batch) {
  if (!Array.isArray(batch) || batch.length === 0) return;
  if (paused) {
    pending.push(batch);
    pendingCount += batch.length;
    while (pendingCount > MAX_PENDING && pending.length > 1) pendingCount -= pending.shift().length;
    updatePending();
    return;
  }
  receive(batch);
}

function clearView() {
  // Cleared means from now on: history older than the clear is not paged back in.
  history.epoch++;
  history.more = false;
  history.loading = false;
  history.error = null;
  for (const r of rows) if (r.callId !== null) forget(r.callId);
  rows = [];
  byCall.clear();
  for (const k of Object.keys(counts)) counts[k] = 0;
  selected = null;
  refilter();
  scroller.scrollTop = 0;
  renderDetail();
  $("export-message").textContent = "";
  $("export-result").hidden = true;
  afterChange();
}

async function exportRows() {
  const button = $("export");
  const events = [];
  for (const r of view) for (const ev of r.events) events.push(ev);
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  button.disabled = true;
  const msg = $("export-message");
  const box = $("export-result");
  try {
    const res = await ipc.exportActivity(events);
    box.classList.remove("error");
    msg.replaceChildren(
      `Exported ${count(res.count ?? events.length)} events to `,
      el("code", { class: "selectable", text: res.path }),
    );
  } catch (e) {
    box.classList.add("error");
    msg.textContent = `Export failed: ${errorMessage(e)}`;
  } finally {
    box.hidden = false;
    button.disabled = view.length === 0;
  }
}

function applyFilter() {
  refilter();
  scroller.scrollTop = 0;
  afterChange();
}

/** The detail pane's top edge resizes it (pointer drag, or arrow keys when focused). */
function initResize() {
  const handle = $("detail-resize");
  const pane = $("activity-detail");
  const setHeight = (h) => {
    const viewBox = $("view-activity").getBoundingClientRect();
    const clamped = Math.max(110, Math.min(viewBox.height - 190, Math.round(h)));
    pane.style.flexBasis = `${clamped}px`;
  };
  handle.tabIndex = 0;
  handle.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    const bottom = pane.getBoundingClientRect().bottom;
    const move = (ev) => setHeight(bottom - ev.clientY);
    const up = () => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      handle.removeEventListener("pointercancel", up);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    handle.addEventListener("pointercancel", up);
  });
  handle.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    e.preventDefault();
    setHeight(pane.getBoundingClientRect().height + (e.key === "ArrowUp" ? 24 : -24));
  });
}

/** Called when the Activity view becomes visible. */
export function activityShown() {
  requestRender();
}

export async function initActivity() {
  scroller = $("activity-scroll");
  spacer = $("activity-spacer");
  rowsBox = $("activity-rows");
  emptyBox = $("activity-empty");

  scroller.addEventListener("scroll", requestRender, { passive: true });
  new ResizeObserver(requestRender).observe(scroller);
  rowsBox.addEventListener("click", (e) => {
    const node = e.target.closest(".row");
    if (!node || !node._row) return;
    select(node._row === selected ? null : node._row);
  });
  scroller.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") moveSelection(1);
    else if (e.key === "ArrowUp") moveSelection(-1);
    else if (e.key === "Escape") select(null);
    else return;
    e.preventDefault();
  });
  $("detail-close").addEventListener("click", () => select(null));
  initResize();

  $("filter-tool").addEventListener("change", (e) => {
    filter.tool = e.target.value;
    applyFilter();
  });
  $("filter-outcome").addEventListener("change", (e) => {
    filter.outcome = e.target.value;
    applyFilter();
  });
  $("filter-profile").addEventListener("change", (e) => {
    filter.profile = e.target.value;
    applyFilter();
  });
  const onText = debounce(() => {
    filter.text = $("filter-text").value.trim().toLowerCase();
    applyFilter();
  }, 120);
  $("filter-text").addEventListener("input", onText);

  $("pause").addEventListener("click", () => setPaused(!paused));
  $("clear").addEventListener("click", clearView);
  $("export").addEventListener("click", exportRows);
  $("export-dismiss").addEventListener("click", () => ($("export-result").hidden = true));
  afterChange();

  // Listen first and hold live batches until the newest page is in; drop live events the
  // page already contains. Older pages follow as the list is scrolled to its end.
  let early = [];
  let ready = false;
  await ipc.onActivity((batch) => {
    if (!ready) {
      if (Array.isArray(batch)) early.push(...batch);
      return;
    }
    onBatch(batch);
  });
  let snapshot = [];
  try {
    snapshot = takePage(await ipc.recentActivity(null, PAGE));
  } catch (e) {
    emptyBox.textContent = `Could not load recent activity: ${errorMessage(e)}`;
  }
  if (early.length) {
    const tail = new Set(snapshot.slice(-(early.length + 500)).map((ev) => JSON.stringify(ev)));
    early = early.filter((ev) => !tail.has(JSON.stringify(ev)));
  }
  ready = true;
  receive(snapshot.concat(early));
}
