// Settings view: the tenant profiles (the active one chosen here; each with a name, a
// colour, its tenant URL and what assistants may do there: the mode, the production mark
// and a switch per tool family and per tool), then the app's own settings: sign-in
// redirect port, HTTP endpoint, notifications, the approval timeout.

import * as ipc from "./ipc.js";
import { $, el, errorMessage, setBanner } from "./util.js";

const FIELDS = {
  "profile-name": ["profile name"],
  "profile-colour": ["colour"],
  profile: ["profiles", "active profile"],
  "tenant-url": ["tenant url", "tenant_url", "tenant"],
  "redirect-port": ["redirect port", "redirect_port"],
  "http-port": ["http port", "http_port"],
  "approval-timeout": ["approval timeout"],
  tools: ["tools"],
};

const FAMILY_LABEL = {
  managedObjects: "Managed objects (users, roles, groups…)",
  logs: "Logs",
  themes: "Themes",
  esv: "ESV variables",
  features: "IDM features and AI agents",
  journeys: "Journeys and nodes",
  scripts: "Scripts",
  applications: "OIDC applications",
};
// The mode the app uses when the settings name none.
const DEFAULT_MODE = "ask";

// The colours new profiles take in turn (the core's PROFILE_COLOURS).
const COLOURS = ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777"];

let saved = null;
let savedTimer = 0;
let catalogue = []; // [{name, title, family, read_only, destructive}]
// The profiles being edited (saved ones plus what the form changed) and which one the
// form shows; with no profile at all, the form edits a new one (named on save).
let profiles = [];
let current = 0;

const blankProfile = (n) => ({ name: "", tenant_url: "", colour: COLOURS[n % COLOURS.length], production: false, mode: null, disabled_tools: [] });

/** A profile's name from its tenant URL's host ("demo" without one), as the core names it. */
function nameFor(url) {
  try {
    return url ? new URL(url).hostname || "demo" : "demo";
  } catch {
    return "";
  }
}

function fill(s) {
  // Other views follow the profiles (names, colours).
  document.dispatchEvent(new CustomEvent("aic-settings", { detail: s }));
  profiles = JSON.parse(JSON.stringify(s.profiles || []));
  const active = profiles.findIndex((p) => p.name.toLowerCase() === String(s.active_profile || "").toLowerCase());
  current = active >= 0 ? active : 0;
  if (!profiles.length) profiles = [blankProfile(0)];
  $("redirect-port").value = String(s.redirect_port ?? 3000);
  $("http-enabled").checked = !!s.http_enabled;
  $("http-port").value = String(s.http_port ?? 8765);
  $("notifications").checked = !!s.notifications;
  $("approval-timeout").value = String(s.approval_timeout_secs ?? 120);
  showProfile();
  clearErrors();
  updateDirty();
}

/** The profile choice and the fields of the profile shown. */
function showProfile() {
  const p = profiles[current];
  $("profile").replaceChildren(
    ...profiles.map((q, i) => el("option", { text: q.name || (q.tenant_url ? nameFor(q.tenant_url) : "New profile (demo tenant until a URL is set)"), attrs: { value: String(i) } })),
  );
  $("profile").value = String(current);
  $("profile-swatch").style.background = p.colour;
  $("profile-name").value = p.name;
  $("profile-colour").value = p.colour;
  $("tenant-url").value = p.tenant_url ?? "";
  $("mode").value = p.mode || DEFAULT_MODE;
  $("production").checked = !!p.production;
  setSwitches(p.disabled_tools || []);
  $("remove-profile").disabled = profiles.length === 1 && !saved?.profiles?.length;
  syncEnabled();
}

/** The form's profile fields into the profile shown. */
function keepProfile() {
  const p = profiles[current];
  if (!p) return;
  p.name = $("profile-name").value.trim();
  p.colour = $("profile-colour").value;
  p.tenant_url = $("tenant-url").value.trim();
  p.mode = $("production").checked ? p.mode ?? null : $("mode").value;
  p.production = $("production").checked;
  p.disabled_tools = catalogue.length ? readSwitches() : p.disabled_tools || [];
}

function syncEnabled() {
  $("http-port").disabled = !$("http-enabled").checked;
  const production = $("production").checked;
  $("mode").disabled = production;
  $("mode-help").textContent = production
    ? "A production tenant is read only; allow changes for a while from the Status view."
    : "Approvals appear in Activity; the assistant cannot answer them.";
  for (const fam of document.querySelectorAll("#tool-switches .family")) {
    const on = fam.querySelector("input.family-switch").checked;
    for (const t of fam.querySelectorAll("input.tool-switch")) t.disabled = !on;
  }
}

/** The Tools section: one switch per family, and one per tool inside it. */
function renderSwitches() {
  const box = $("tool-switches");
  const families = new Map();
  for (const t of catalogue) {
    if (!families.has(t.family)) families.set(t.family, []);
    families.get(t.family).push(t);
  }
  box.replaceChildren(
    ...[...families].map(([family, tools]) => {
      const id = `family-${family}`;
      const kind = (t) => (t.read_only ? "reads" : t.destructive ? "destructive" : "changes");
      return el(
        "details",
        { class: "family", dataset: { family } },
        el(
          "summary",
          {},
          el("input", { class: "family-switch", attrs: { type: "checkbox", id, "aria-label": `${FAMILY_LABEL[family] || family} tools` }, dataset: { name: family } }),
          el("label", { text: FAMILY_LABEL[family] || family, attrs: { for: id } }),
          el("span", { class: "muted family-count", text: `${tools.length} tools` }),
        ),
        el(
          "ul",
          { class: "tool-list" },
          ...tools.map((t) =>
            el(
              "li",
              {},
              el("input", { class: "tool-switch", attrs: { type: "checkbox", id: `tool-${t.name}` }, dataset: { name: t.name } }),
              el("label", { attrs: { for: `tool-${t.name}` } }, el("span", { text: t.title }), el("code", { class: "muted", text: ` ${t.name}` })),
              el("span", { class: `badge kind ${kind(t)}`, text: kind(t) }),
            ),
          ),
        ),
      );
    }),
  );
  for (const input of box.querySelectorAll("input")) {
    input.addEventListener("click", (e) => e.stopPropagation()); // a family's box must not fold it
  }
}

function setSwitches(off) {
  const set = new Set(off);
  for (const input of document.querySelectorAll("#tool-switches input")) input.checked = !set.has(input.dataset.name);
}

/** The names turned off: a family when its switch is off, else each tool that is. */
function readSwitches() {
  const off = [];
  for (const fam of document.querySelectorAll("#tool-switches .family")) {
    const f = fam.querySelector("input.family-switch");
    if (!f.checked) {
      off.push(f.dataset.name);
      continue;
    }
    for (const t of fam.querySelectorAll("input.tool-switch")) if (!t.checked) off.push(t.dataset.name);
  }
  return off;
}

function portValue(id, label, errors) {
  const raw = $(id).value.trim();
  const n = Number(raw);
  if (raw === "" || !Number.isInteger(n) || n < 1024 || n > 65535) {
    errors[id] = `${label} must be a whole number from 1024 to 65535.`;
    return null;
  }
  return n;
}

/** The form as a Settings object, plus client-side errors by field id. */
function read() {
  const errors = {};
  const httpEnabled = $("http-enabled").checked;
  const redirect = portValue("redirect-port", "The redirect port", errors);
  let httpPort = portValue("http-port", "The HTTP port", errors);
  if (!httpEnabled && httpPort === null) {
    // A bad port for a disabled endpoint is not worth blocking the save for.
    delete errors["http-port"];
    httpPort = saved ? saved.http_port : 8765;
  }
  const timeoutRaw = $("approval-timeout").value.trim();
  const timeout = Number(timeoutRaw);
  if (timeoutRaw === "" || !Number.isInteger(timeout) || timeout < 10 || timeout > 3600) {
    errors["approval-timeout"] = "The approval timeout must be a whole number of seconds from 10 to 3600.";
  }
  keepProfile();
  // A profile without a name takes its host's (the core checks the rest).
  const list = profiles.map((p) => ({ ...p, name: p.name || nameFor(p.tenant_url) }));
  const p = list[current];
  if (!p.name) errors["profile-name"] = "Give the profile a name, or a tenant URL to name it after.";
  // The very first profile of a fresh install stays implicit until it says something.
  const implicit = !saved?.profiles?.length && list.length === 1 && !p.tenant_url && !$("profile-name").value.trim() && !p.production && !p.mode && !p.disabled_tools.length;
  return {
    settings: {
      profiles: implicit ? [] : list,
      active_profile: implicit ? "" : p.name,
      redirect_port: redirect,
      http_enabled: httpEnabled,
      http_port: httpPort,
      notifications: $("notifications").checked,
      approval_timeout_secs: errors["approval-timeout"] ? null : timeout,
    },
    errors,
  };
}

function clearErrors() {
  for (const id of Object.keys(FIELDS)) showFieldError(id, "");
  setBanner($("settings-error"), "");
}

function showFieldError(id, message) {
  const input = id === "tools" ? $("tool-switches") : $(id);
  const box = $(`${id}-error`);
  box.textContent = message;
  box.hidden = !message;
  input.classList.toggle("invalid", !!message);
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** Map a rejection like "tenant URL: must use https" onto the field it names. */
function showRejection(message) {
  const general = [];
  const byField = {};
  for (const part of String(message).split(/\n|;\s+/)) {
    const text = part.trim();
    if (!text) continue;
    const lower = text.toLowerCase();
    let field = null;
    for (const [id, prefixes] of Object.entries(FIELDS)) {
      if (prefixes.some((p) => lower.startsWith(p))) {
        field = id;
        break;
      }
    }
    if (field) {
      const colon = text.indexOf(":");
      let detail = colon >= 0 ? text.slice(colon + 1).trim() : text;
      if (detail) detail = detail[0].toUpperCase() + detail.slice(1);
      byField[field] = byField[field] ? `${byField[field]} ${detail}` : detail || text;
    } else {
      general.push(text);
    }
  }
  for (const [id, m] of Object.entries(byField)) showFieldError(id, m);
  const firstField = Object.keys(byField)[0];
  if (firstField) (firstField === "tools" ? $("tool-switches") : $(firstField)).focus?.();
  setBanner($("settings-error"), general.length ? general.join(" ") : firstField ? "" : String(message));
}

const key = (s) =>
  JSON.stringify([
    (s.profiles || []).map((p) => [p.name, p.tenant_url ?? "", p.colour, p.mode || DEFAULT_MODE, !!p.production, [...(p.disabled_tools || [])].sort()]),
    s.active_profile || "",
    s.redirect_port,
    !!s.http_enabled,
    s.http_port,
    !!s.notifications,
    s.approval_timeout_secs,
  ]);

function updateDirty() {
  const { settings } = read();
  const dirty = !saved || key(settings) !== key(saved);
  $("revert-settings").disabled = !dirty;
}

async function save(e) {
  e.preventDefault();
  clearErrors();
  clearTimeout(savedTimer);
  setBanner($("settings-saved"), "");
  const { settings, errors } = read();
  if (Object.keys(errors).length) {
    for (const [id, m] of Object.entries(errors)) showFieldError(id, m);
    $(Object.keys(errors)[0])?.focus();
    return;
  }
  const button = $("save-settings");
  button.disabled = true;
  try {
    // The core restarts in place when the tenant or an endpoint changed; the Status view
    // follows through the status event.
    saved = await ipc.saveSettings(settings);
    fill(saved);
    const active = (saved.profiles || []).find((p) => p.name === saved.active_profile);
    setBanner($("settings-saved"), !active || active.tenant_url === "" ? "Saved. The demo tenant will be used." : `Saved. Active profile: ${active.name}.`);
    savedTimer = setTimeout(() => setBanner($("settings-saved"), ""), 4000);
  } catch (err) {
    showRejection(errorMessage(err));
  } finally {
    button.disabled = false;
    updateDirty();
  }
}

export async function loadSettings() {
  try {
    if (!catalogue.length) {
      catalogue = await ipc.toolCatalogue();
      renderSwitches();
    }
    saved = await ipc.getSettings();
    fill(saved);
  } catch (e) {
    setBanner($("settings-error"), `Could not load the settings: ${errorMessage(e)}`);
  }
}

export function initSettings() {
  $("settings-form").addEventListener("submit", save);
  $("settings-form").addEventListener("input", (e) => {
    if (e.target && e.target.id && FIELDS[e.target.id]) showFieldError(e.target.id, "");
    updateDirty();
  });
  $("http-enabled").addEventListener("change", syncEnabled);
  $("profile").addEventListener("change", () => {
    keepProfile();
    current = Number($("profile").value) || 0;
    showProfile();
    clearErrors();
    updateDirty();
  });
  $("profile-colour").addEventListener("input", () => {
    $("profile-swatch").style.background = $("profile-colour").value;
  });
  $("add-profile").addEventListener("click", () => {
    keepProfile();
    profiles.push(blankProfile(profiles.length));
    current = profiles.length - 1;
    showProfile();
    $("profile-name").focus();
    updateDirty();
  });
  $("remove-profile").addEventListener("click", () => {
    keepProfile();
    const p = profiles[current];
    $("remove-profile-name").textContent = p.name || nameFor(p.tenant_url) || "";
    $("remove-profile-dialog").showModal();
  });
  $("remove-profile-cancel").addEventListener("click", () => $("remove-profile-dialog").close());
  $("remove-profile-confirm").addEventListener("click", () => {
    $("remove-profile-dialog").close();
    // Saving then signs it out and deletes its login from the keychain.
    profiles.splice(current, 1);
    if (!profiles.length) profiles = [blankProfile(0)];
    current = Math.min(current, profiles.length - 1);
    showProfile();
    updateDirty();
  });
  $("production").addEventListener("change", syncEnabled);
  $("tool-switches").addEventListener("change", syncEnabled);
  $("revert-settings").addEventListener("click", () => saved && fill(saved));
  $("open-logs").addEventListener("click", async () => {
    const b = $("open-logs");
    b.disabled = true;
    try {
      await ipc.openLogs();
      setBanner($("logs-error"), "");
    } catch (e) {
      setBanner($("logs-error"), errorMessage(e));
    } finally {
      b.disabled = false;
    }
  });
  return loadSettings();
}
