// Boot and navigation. Each view lives in its own module; all IPC goes through ipc.js.

import * as ipc from "./ipc.js";
import { activityShown, initActivity, setProfileColours, subscribeActivitySummary } from "./activity.js";
import { initApprovals } from "./approvals.js";
import { changesShown, initChanges } from "./changes.js";
import { connectShown, initConnect } from "./connect.js";
import { initSettings } from "./settings.js";
import { initStatus, showActivitySummary } from "./status.js";
import { $, errorMessage, setBanner } from "./util.js";

const VIEWS = ["status", "activity", "changes", "connect", "settings"];
const ON_SHOW = { activity: activityShown, connect: connectShown, changes: changesShown };
let currentView = null;

function showView(name) {
  if (!VIEWS.includes(name) || name === currentView) return;
  currentView = name;
  for (const v of VIEWS) {
    const active = v === name;
    $(`view-${v}`).hidden = !active;
    const nav = $(`nav-${v}`);
    nav.classList.toggle("active", active);
    if (active) nav.setAttribute("aria-current", "page");
    else nav.removeAttribute("aria-current");
  }
  document.body.dataset.view = name;
  const hook = ON_SHOW[name];
  if (hook) hook();
}

function bootError(what, e) {
  const box = $("boot-error");
  const line = `${what}: ${errorMessage(e)}`;
  setBanner(box, box.hidden ? line : `${box.textContent}\n${line}`);
}

function initNav() {
  for (const v of VIEWS) $(`nav-${v}`).addEventListener("click", () => showView(v));
  for (const link of document.querySelectorAll("[data-goto]")) {
    link.addEventListener("click", () => showView(link.dataset.goto));
  }
  // Ctrl/Cmd + 1…5 switch views.
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
      const i = Number(e.key) - 1;
      if (i >= 0 && i < VIEWS.length) {
        e.preventDefault();
        showView(VIEWS[i]);
      }
    }
  });
}

async function boot() {
  initNav();
  showView("status");
  subscribeActivitySummary(showActivitySummary);
  document.addEventListener("aic-settings", (e) => setProfileColours(e.detail?.profiles));
  // Each view boots on its own: one failing does not take the others down.
  const steps = [
    ["Navigation", ipc.onNavigate((name) => showView(String(name)))],
    ["Status", initStatus()],
    ["Activity", initActivity()],
    ["Approvals", initApprovals()],
    ["Changes", initChanges()],
    ["Connect", initConnect()],
    ["Settings", initSettings()],
  ];
  await Promise.all(steps.map(([what, p]) => Promise.resolve(p).catch((e) => bootError(what, e))));
}

boot();
