// Changes view: the change journal (every write an assistant made, newest first), the
// object before and after, and Revert where the journal can undo it.

import * as ipc from "./ipc.js";
import { $, clock, count, el, errorMessage, fieldDiff, parseTime, setBanner, show } from "./util.js";

let list = [];
let selected = null;
const profileColours = new Map(); // name → colour, from the settings

document.addEventListener("aic-settings", (e) => {
  profileColours.clear();
  for (const p of e.detail?.profiles || []) profileColours.set(p.name, p.colour);
  renderList();
});

const pretty = (v) => (v === null || v === undefined ? "(none)" : JSON.stringify(v, null, 2));

function renderList() {
  const box = $("change-list");
  show($("changes-empty"), list.length === 0);
  box.replaceChildren(
    ...list.map((c) => {
      const row = el(
        "button",
        { class: `change-row${selected && selected.id === c.id ? " selected" : ""}`, type: "button", dataset: { id: c.id, tool: c.tool, profile: c.profile || "" }, attrs: { role: "listitem", style: `--profile: ${profileColours.get(c.profile) || "transparent"}` } },
        el("span", { class: "muted", text: clock(parseTime(c.at)) }),
        el("span", { text: c.profile ? `${c.client || "—"} · ${c.profile}` : c.client || "—" }),
        el("strong", { text: c.tool }),
        el("span", { class: "muted change-subject", text: c.subject ? c.subject.label : "" }),
        el("span", { class: `badge ${c.undo.kind === "possible" ? "info" : ""}`, text: c.reverts ? "revert" : c.undo.kind === "possible" ? c.undo.action : "cannot undo" }),
      );
      row.addEventListener("click", () => select(c));
      return row;
    }),
  );
}

function select(c) {
  selected = c;
  renderList();
  show($("change-detail"), true);
  $("change-title").textContent = `${c.title} — ${c.subject ? c.subject.label : c.tool}`;
  $("change-meta").textContent = [c.client || "unknown assistant", c.profile ? `profile ${c.profile}` : null, clock(parseTime(c.at)), c.tenant].filter(Boolean).join(" · ");
  const possible = c.undo.kind === "possible";
  $("change-undo").textContent = possible
    ? `${c.undo.action === "re-create" ? "Re-create" : "Revert"} with ${c.undo.restore.tool}.${c.undo.restore.note ? " " + c.undo.restore.note : ""}`
    : `Cannot be undone here: ${c.undo.why}`;
  const b = $("change-revert");
  show(b, possible);
  b.textContent = possible && c.undo.action === "re-create" ? "Re-create" : "Revert";
  b.disabled = false;
  const diff = Array.isArray(c.diff) ? c.diff : [];
  show($("change-diff-box"), diff.length > 0);
  $("change-diff").replaceChildren(...(diff.length ? [fieldDiff(diff)] : []));
  $("change-before").textContent = pretty(c.before);
  $("change-after").textContent = pretty(c.after);
  $("change-args").textContent = pretty(c.arguments);
  $("change-tx").textContent = c.transaction_ids.length ? `Transaction ids: ${c.transaction_ids.join(", ")}` : "";
}

async function load() {
  try {
    list = await ipc.changes();
    setBanner($("changes-error"), "");
  } catch (e) {
    setBanner($("changes-error"), errorMessage(e));
  }
  if (selected) selected = list.find((c) => c.id === selected.id) || null;
  renderList();
  if (selected) select(selected);
  else show($("change-detail"), false);
}

async function revert() {
  if (!selected) return;
  const b = $("change-revert");
  b.disabled = true;
  setBanner($("changes-result"), "");
  setBanner($("changes-error"), "");
  try {
    const text = await ipc.revertChange(selected.id);
    setBanner($("changes-result"), `Done. ${text}`);
  } catch (e) {
    setBanner($("changes-error"), errorMessage(e));
  } finally {
    b.disabled = false;
    load();
  }
}

async function exportJournal() {
  const b = $("changes-export");
  b.disabled = true;
  setBanner($("changes-error"), "");
  try {
    const res = await ipc.exportChanges();
    const banner = $("changes-result");
    banner.replaceChildren(`Exported ${count(res.count)} ${res.count === 1 ? "change" : "changes"} to `, el("code", { class: "selectable", text: res.path }));
    show(banner, true);
  } catch (e) {
    setBanner($("changes-error"), `Export failed: ${errorMessage(e)}`);
  } finally {
    b.disabled = false;
  }
}

export function changesShown() {
  load();
}

export async function initChanges() {
  $("changes-refresh").addEventListener("click", load);
  $("change-revert").addEventListener("click", revert);
  $("changes-export").addEventListener("click", exportJournal);
}
