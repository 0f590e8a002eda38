// Settings view: tenant URL, sign-in redirect port, HTTP endpoint, notifications.

import * as ipc from "./ipc.js";
import { $, errorMessage, setBanner } from "./util.js";

const FIELDS = {
  "tenant-url": ["tenant url", "tenant_url", "tenant"],
  "redirect-port": ["redirect port", "redirect_port"],
  "http-port": ["http port", "http_port"],
};

let saved = null;
let savedTimer = 0;

function fill(s) {
  $("tenant-url").value = s.tenant_url ?? "";
  $("redirect-port").value = String(s.redirect_port ?? 3000);
  $("http-enabled").checked = !!s.http_enabled;
  $("http-port").value = String(s.http_port ?? 8765);
  $("notifications").checked = !!s.notifications;
  syncEnabled();
  clearErrors();
  updateDirty();
}

function syncEnabled() {
  $("http-port").disabled = !$("http-enabled").checked;
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
  return {
    settings: {
      tenant_url: $("tenant-url").value.trim(),
      redirect_port: redirect,
      http_enabled: httpEnabled,
      http_port: httpPort,
      notifications: $("notifications").checked,
    },
    errors,
  };
}

function clearErrors() {
  for (const id of Object.keys(FIELDS)) showFieldError(id, "");
  setBanner($("settings-error"), "");
}

function showFieldError(id, message) {
  const input = $(id);
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
  if (firstField) $(firstField).focus();
  setBanner($("settings-error"), general.length ? general.join(" ") : firstField ? "" : String(message));
}

const key = (s) => JSON.stringify([s.tenant_url ?? "", s.redirect_port, !!s.http_enabled, s.http_port, !!s.notifications]);

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
    $(Object.keys(errors)[0]).focus();
    return;
  }
  const button = $("save-settings");
  button.disabled = true;
  try {
    // The core restarts in place when the tenant or an endpoint changed; the Status view
    // follows through the status event.
    saved = await ipc.saveSettings(settings);
    fill(saved);
    setBanner($("settings-saved"), saved.tenant_url === "" ? "Saved. The demo tenant will be used." : "Saved.");
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
