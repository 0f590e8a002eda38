// Status view: tenant, admin, sign-in state with a live expiry countdown, token store, local
// endpoint, and the Log in / Cancel / Log out actions. Also the shared "current status" that
// other views (Connect, the sidebar) subscribe to.

import * as ipc from "./ipc.js";
import { $, clock, clockShort, copyWithFeedback, count, countdown, el, errorMessage, parseTime, setBanner, show } from "./util.js";

let current = null;
const subscribers = new Set();
let actionRunning = false;

const STATE_LABEL = {
  signed_out: "Signed out",
  signing_in: "Signing in…",
  signed_in: "Signed in",
};

const MODE_LABEL = {
  "read-only": "Read only",
  ask: "Asks before changes",
  "ask-destructive": "Asks before destructive changes",
  full: "Allows all changes",
};

const STORE_LABEL = {
  keychain: "System keychain",
  file: "File (owner-only)",
  memory: "Memory only — sign-in is lost when the app quits",
};

/** Call `cb(status)` now (if known) and on every change. */
export function subscribeStatus(cb) {
  subscribers.add(cb);
  if (current) cb(current);
  return () => subscribers.delete(cb);
}

function setStatus(s) {
  if (!s || typeof s !== "object") return;
  current = s;
  render();
  for (const cb of subscribers) {
    try {
      cb(s);
    } catch (e) {
      console.warn("status subscriber failed", e);
    }
  }
}

function render() {
  const s = current;
  const state = STATE_LABEL[s.state] ? s.state : "signed_out";

  const pill = $("state");
  pill.textContent = STATE_LABEL[state];
  pill.dataset.state = state;

  $("tenant").textContent = s.tenant || "—";
  show($("profile-tag"), !!s.profile);
  if (s.profile) {
    $("profile-tag-name").textContent = s.profile.name;
    $("profile-tag-swatch").style.background = s.profile.colour;
  }
  show($("demo-badge"), !!s.demo);
  show($("production-badge"), !!s.production);
  document.body.classList.toggle("production", !!s.production);
  const mode = $("mode-badge");
  mode.textContent = MODE_LABEL[s.mode] || s.mode || "";
  mode.dataset.mode = s.mode || "";
  renderProduction();
  $("admin").textContent = s.admin || "—";
  show($("admin-line"), state === "signed_in");
  $("sign-in-hint").textContent = s.sign_in_hint || "";
  show($("sign-in-hint"), state !== "signed_in" && !!s.sign_in_hint);

  $("token-store").textContent = STORE_LABEL[s.token_store] || s.token_store || "—";
  $("socket-path").textContent = s.socket_path || "Not running";
  $("socket-path").classList.toggle("off", !s.socket_path);
  $("http-url").textContent = s.http_url || "Off";
  $("http-url").classList.toggle("off", !s.http_url);
  setBanner($("error"), s.last_error || "");
  // Why the core is not running (or the settings file could not be read), then each
  // endpoint that is not served.
  const problems = [];
  if (s.problem) problems.push(s.problem);
  for (const e of s.endpoint_errors || []) problems.push(e.message);
  setBanner($("endpoint-error"), problems.join("\n"));

  // Actions: Log in while signed out, Cancel while signing in, Log out while signed in.
  const signingIn = state === "signing_in";
  show($("login"), state === "signed_out");
  show($("logout"), state === "signed_in");
  show($("signing-in"), signingIn);
  $("login-url").textContent = s.login_url || "";
  show($("login-url").parentElement, !!s.login_url);
  updateButtons();
  renderExpiry();

  // An action error that is now also the tenant's last error is shown once.
  if (s.last_error && $("action-error").textContent === s.last_error) setBanner($("action-error"), "");

  // Sidebar.
  $("nav-state-dot").dataset.state = state;
  $("foot-tenant").textContent = s.demo ? "Demo tenant" : hostOf(s.tenant);
  $("foot-tenant").title = s.tenant || "";
  $("foot-version").textContent = s.version ? `Version ${s.version}` : "";
}

function renderProduction() {
  const s = current;
  show($("production-card"), !!s.production);
  if (!s.production) return;
  const lifted = Number.isFinite(s.lifted_until_ms) && s.lifted_until_ms > Date.now();
  $("production-title").textContent = lifted ? `Production tenant: changes allowed (${MODE_LABEL[s.mode] || s.mode})` : "Production tenant: read only";
  $("production-text").textContent = lifted
    ? `Read only again at ${clockShort(s.lifted_until_ms)} (${countdown(s.lifted_until_ms)}).`
    : "Assistants can read this tenant but not change it.";
  show($("lift-open"), !lifted);
  show($("lift-end"), lifted);
}

function openLift() {
  const d = $("lift-dialog");
  const host = hostName(current ? current.tenant : "");
  $("lift-tenant").textContent = host;
  $("lift-host").value = "";
  $("lift-confirm").disabled = true;
  setBanner($("lift-error"), "");
  d.showModal();
  $("lift-host").focus();
}

async function confirmLift() {
  const b = $("lift-confirm");
  b.disabled = true;
  try {
    await ipc.liftReadOnly({ mode: $("lift-mode").value, typedHost: $("lift-host").value, minutes: Number($("lift-minutes").value) });
    $("lift-dialog").close();
    refresh();
  } catch (e) {
    setBanner($("lift-error"), errorMessage(e));
    b.disabled = false;
  }
}

function hostName(url) {
  try {
    return new URL(url).hostname;
  } catch {
    return url || "";
  }
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url || "";
  }
}

function renderExpiry() {
  const s = current;
  if (!s) return;
  const expiry = $("expiry");
  const at = $("expiry-at");
  if (s.state === "signed_in" && Number.isFinite(s.expires_at_ms)) {
    const text = countdown(s.expires_at_ms);
    expiry.textContent = text;
    expiry.dataset.expired = String(text === "expired");
    at.textContent = text === "expired" ? "" : `(at ${clockShort(s.expires_at_ms)})`;
  } else {
    expiry.textContent = s.state === "signing_in" ? "Signing in…" : "Not signed in";
    expiry.dataset.expired = "false";
    at.textContent = "";
  }
}

function updateButtons() {
  $("login").disabled = actionRunning;
  $("logout").disabled = actionRunning;
}

async function runAction(action) {
  if (actionRunning) return;
  actionRunning = true;
  updateButtons();
  setBanner($("action-error"), "");
  try {
    await action();
  } catch (e) {
    const msg = errorMessage(e);
    if (!current || msg !== current.last_error) setBanner($("action-error"), msg);
  } finally {
    actionRunning = false;
    updateButtons();
    refresh();
  }
}

// Status events are the source of truth; a fetched status only applies when no event
// arrived while it was in flight (it would be older than that event).
let statusEvents = 0;

async function refresh() {
  const seen = statusEvents;
  try {
    const s = await ipc.status();
    if (seen === statusEvents) setStatus(s);
  } catch (e) {
    setBanner($("action-error"), errorMessage(e));
  }
}

/** Render the Activity summary card ({calls, ok, error, rejected, cancelled, running, last}). */
export function showActivitySummary(sum) {
  const box = $("summary-counts");
  if (!sum.calls) {
    box.replaceChildren(el("span", { class: "muted", text: "No tool calls yet." }));
  } else {
    const chips = [el("span", { class: "summary-total", text: `${count(sum.calls)} tool ${sum.calls === 1 ? "call" : "calls"}` })];
    for (const [k, label] of [["ok", "OK"], ["error", "Error"], ["rejected", "Rejected"], ["cancelled", "Cancelled"], ["refused", "Refused"], ["denied", "Denied"], ["running", "Running"]]) {
      if (sum[k]) chips.push(el("span", { class: "pill", dataset: { outcome: k }, text: `${count(sum[k])} ${label}` }));
    }
    box.replaceChildren(...chips);
  }
  const last = sum.last;
  $("summary-last").textContent = last
    ? `Last: ${last.tool || "unknown tool"}${last.client ? ` from ${last.client}` : ""} at ${clock(last.startMs)}`
    : "";
}

export async function initStatus() {
  $("login").addEventListener("click", () => runAction(() => ipc.login()));
  $("logout").addEventListener("click", () => runAction(() => ipc.logout()));
  $("cancel-login").addEventListener("click", async () => {
    const b = $("cancel-login");
    b.disabled = true;
    try {
      await ipc.cancelLogin();
    } catch (e) {
      setBanner($("action-error"), errorMessage(e));
    } finally {
      b.disabled = false;
    }
  });
  $("copy-login-url").addEventListener("click", () => {
    copyWithFeedback($("copy-login-url"), $("login-url").textContent);
  });

  setInterval(() => {
    renderExpiry();
    if (current) renderProduction();
  }, 1000);
  $("lift-open").addEventListener("click", openLift);
  $("lift-cancel").addEventListener("click", () => $("lift-dialog").close());
  $("lift-confirm").addEventListener("click", confirmLift);
  $("lift-host").addEventListener("input", () => {
    // The confirm button wakes only once the typed name matches (the core checks again).
    $("lift-confirm").disabled = $("lift-host").value.trim().toLowerCase() !== hostName(current ? current.tenant : "").toLowerCase();
  });
  $("lift-end").addEventListener("click", async () => {
    try {
      await ipc.endLift();
      refresh();
    } catch (e) {
      setBanner($("action-error"), errorMessage(e));
    }
  });

  // Listen first, then fetch; an event that arrives while the fetch runs is newer and wins.
  await ipc.onStatus((s) => {
    statusEvents += 1;
    setStatus(s);
    refreshProfiles();
  });
  // The profiles' time left, and a change saved in Settings.
  setInterval(refreshProfiles, 30_000);
  setInterval(refreshSessions, 3_000);
  refreshSessions();
  document.addEventListener("aic-settings", () => refreshProfiles());
  await refresh();
  await refreshProfiles();
}

// ---------------------------------------------------------------- connected assistants

/** "Claude Code · dev (since 09:41)", one per connected session. */
async function refreshSessions() {
  let list;
  try {
    list = await ipc.sessions();
  } catch {
    return; // the core is restarting; the next tick shows them
  }
  const box = $("connected-sessions");
  list = Array.isArray(list) ? list : [];
  if (!list.length) {
    box.textContent = "No assistant";
    return;
  }
  box.replaceChildren(
    ...list.map((s) =>
      el(
        "span",
        { class: "session-chip", dataset: { client: s.client || "" } },
        `${s.client || "unknown assistant"}${s.profile ? ` · ${s.profile}` : ""}`,
        el("span", { class: "muted", text: ` (since ${clock(parseTime(s.since))})` }),
      ),
    ),
  );
}

// ---------------------------------------------------------------- tenant profiles

let profilesSeq = 0;

function profileState(p) {
  switch (p.sign_in?.state) {
    case "signed_in": {
      const min = Math.floor((p.sign_in.expires_at_ms - Date.now()) / 60000);
      return min < 1 ? "Signed in, less than a minute left" : min < 120 ? `Signed in, ${min} min left` : `Signed in, ${Math.floor(min / 60)} h ${min % 60} min left`;
    }
    case "signed_out":
      return "Signed out";
    case "demo":
      return "Demo tenant";
    default:
      return "Sign-in unknown (keychain)";
  }
}

/** The profiles card: every profile, its sign-in, and Make active for the others. */
export async function refreshProfiles() {
  const seq = ++profilesSeq;
  let list;
  try {
    list = await ipc.profiles();
  } catch (e) {
    if (seq === profilesSeq) setBanner($("profiles-error"), errorMessage(e));
    return;
  }
  if (seq !== profilesSeq) return;
  setBanner($("profiles-error"), "");
  list = Array.isArray(list) ? list : [];
  show($("profiles-card"), list.length > 0);
  $("profile-list").replaceChildren(
    ...list.map((p) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = p.colour;
      const action = p.active
        ? el("span", { class: "badge info", text: "Active" })
        : el("button", { class: "btn small", type: "button", text: "Make active", dataset: { profile: p.name } });
      if (!p.active) {
        action.addEventListener("click", async () => {
          action.disabled = true;
          try {
            await ipc.activateProfile(p.name);
            setBanner($("profiles-error"), "");
          } catch (e) {
            setBanner($("profiles-error"), errorMessage(e));
          } finally {
            refreshProfiles();
          }
        });
      }
      // Another profile's sign-in is started or ended from here; the active one's is above.
      let out = el("span");
      const act = (label, key, run) => {
        const b = el("button", { class: "btn small", type: "button", text: label, dataset: { [key]: p.name } });
        b.addEventListener("click", async () => {
          b.disabled = true;
          try {
            await run(p.name);
            setBanner($("profiles-error"), "");
          } catch (e) {
            setBanner($("profiles-error"), errorMessage(e));
          } finally {
            refreshProfiles();
          }
        });
        return b;
      };
      if (!p.active && p.sign_in?.state === "signed_in") out = act("Log out", "logout", ipc.logoutProfile);
      else if (!p.active && p.sign_in?.state === "signed_out") out = act("Log in", "login", ipc.loginProfile);
      return el(
        "div",
        { class: `profile-item${p.active ? " active" : ""}`, dataset: { profile: p.name }, attrs: { role: "listitem" } },
        swatch,
        el("strong", { text: p.name }),
        el("span", { class: "muted profile-tenant selectable", text: p.tenant || "Built-in demo tenant" }),
        el("span", { class: "profile-state", text: [p.production ? "Production" : null, profileState(p), p.admin ? `as ${p.admin}` : null, MODE_LABEL[p.mode] || null].filter(Boolean).join(" · ") }),
        out,
        action,
      );
    }),
  );
}

