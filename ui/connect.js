// Connect view: the six assistants, their config entry (copy it or let the app add it after
// a reviewed diff), and the HTTP endpoint's bearer when that endpoint is on. The Profile
// select picks the entry: `aic` (the active profile) or a profile's own `aic-NAME`.

import * as ipc from "./ipc.js";
import { subscribeStatus } from "./status.js";
import { $, copyWithFeedback, el, errorCode, errorMessage, setBanner, show } from "./util.js";

const STATE = {
  not_detected: "Not installed here",
  absent: "Not added",
  installed: "Added",
  different: "Different entry",
  invalid: "Cannot read the file",
  unsupported: "Not available here",
};
const ADD_LABEL = { absent: "Add…", different: "Update…", installed: "Review…" };

const results = new Map(); // `${profile}\n${assistant id}` → last apply message
let dialogState = null; // {assistant, preview, profile}
let loadSeq = 0;
let profile = null; // the selected profile's name; null: the active profile (entry aic)

const resultKey = (target, id) => `${target ?? ""}\n${id}`;

// ---------------------------------------------------------------- profile select

/** Fills the Profile select from the settings, keeping the selection while it exists. */
async function loadProfiles() {
  let names = [];
  try {
    const s = await ipc.getSettings();
    names = (Array.isArray(s?.profiles) ? s.profiles : []).map((p) => p?.name).filter((n) => typeof n === "string" && n);
  } catch {
    // Without the settings only the entry aic is offered; the list still loads.
  }
  if (profile !== null && !names.includes(profile)) profile = null;
  const select = $("connect-profile");
  select.replaceChildren(
    el("option", { text: "Active profile (entry aic)", attrs: { value: "" } }),
    ...names.map((name) => el("option", { text: `${name} (entry aic-${name})`, attrs: { value: name } })),
  );
  select.value = profile ?? "";
}

async function refreshAll() {
  await loadProfiles();
  return refreshAssistants();
}

// ---------------------------------------------------------------- list

export async function refreshAssistants() {
  const seq = ++loadSeq;
  const target = profile;
  const button = $("assistants-refresh");
  button.disabled = true;
  try {
    const list = await ipc.assistants(target);
    if (seq !== loadSeq) return;
    setBanner($("connect-error"), "");
    renderList(Array.isArray(list) ? list : [], target);
  } catch (e) {
    if (seq === loadSeq) setBanner($("connect-error"), `Could not read the assistants' configuration: ${errorMessage(e)}`);
  } finally {
    if (seq === loadSeq) button.disabled = false;
  }
}

function renderList(list, target) {
  $("assistant-list").replaceChildren(...list.map((a) => card(a, target)));
}

function card(a, target) {
  const state = STATE[a.state] ? a.state : "absent";
  // Unsupported (Windows for now): an entry could not work, so none is offered, only why.
  const unsupported = state === "unsupported";
  const actions = el("div", { class: "card-actions" });
  if (!unsupported) {
    const copy = el("button", { class: "btn small copy", text: "Copy", attrs: { type: "button" } });
    copy.addEventListener("click", () => copyWithFeedback(copy, a.entry));
    actions.append(copy);
  }
  if (ADD_LABEL[state]) {
    const add = el("button", {
      class: `btn small add${state === "absent" ? " primary" : ""}`,
      text: ADD_LABEL[state],
      attrs: { type: "button" },
    });
    add.addEventListener("click", () => startAdd(a, add, target));
    actions.append(add);
  }

  const result = results.get(resultKey(target, a.id));
  const dim = state === "not_detected" || unsupported;
  return el(
    "article",
    { class: `card assistant${dim ? " dim" : ""}`, dataset: { id: a.id, state, entry: entryName(a, target) } },
    el(
      "div",
      { class: "assistant-head" },
      el("div", { class: "assistant-title" }, el("h3", { text: a.name }), el("span", { class: "badge", dataset: { state }, text: STATE[state] })),
      actions,
    ),
    el("code", { class: "assistant-path selectable", text: a.path }),
    a.problem ? el("div", { class: "banner warn assistant-problem", text: a.problem }) : null,
    a.note && !unsupported ? el("p", { class: "assistant-note muted", text: a.note }) : null,
    unsupported ? null : el("pre", { class: "entry selectable", text: a.entry }),
    result ? el("div", { class: "banner ok assistant-result", text: result }) : null,
  );
}

/** The entry's name: as the app reported it, else from the selection it was listed for. */
function entryName(a, target) {
  if (typeof a.entry_name === "string" && a.entry_name) return a.entry_name;
  return target ? `aic-${target}` : "aic";
}

// ---------------------------------------------------------------- add / update

async function startAdd(assistant, button, target) {
  button.disabled = true;
  setBanner($("connect-error"), "");
  try {
    const preview = await ipc.assistantPreview(assistant.id, target);
    openDialog(assistant, preview, target);
  } catch (e) {
    setBanner($("connect-error"), `${assistant.name}: ${errorMessage(e)}`);
  } finally {
    button.disabled = false;
  }
}

function renderDiff(diff) {
  const pre = $("apply-diff");
  const lines = String(diff || "").replace(/\n$/, "").split("\n");
  pre.replaceChildren(
    ...lines.map((line) => {
      let cls = "ctx";
      if (line.startsWith("+++") || line.startsWith("---")) cls = "meta";
      else if (line.startsWith("@@")) cls = "hunk";
      else if (line.startsWith("+")) cls = "add";
      else if (line.startsWith("-")) cls = "del";
      return el("span", { class: `diff-line ${cls}`, text: `${line}\n` });
    }),
  );
}

function fillDialog(assistant, preview, target) {
  dialogState = { assistant, preview, profile: target };
  const name = entryName(assistant, target);
  $("apply-title").textContent = preview.already_installed ? `Review ${name} in ${assistant.name}` : `Add ${name} to ${assistant.name}`;
  $("apply-path").textContent = preview.path || assistant.path;
  $("apply-backup").textContent = preview.backup_path || (preview.creates_file ? "None — this creates a new file" : "None");
  let note = "";
  if (preview.already_installed) note = "This entry is already in the file. Nothing needs to be written.";
  else if (preview.creates_file) note = "The file does not exist yet; it will be created.";
  setBanner($("apply-note"), note);
  renderDiff(preview.diff);
  $("apply-write").hidden = !!preview.already_installed;
  $("apply-write").disabled = false;
  $("apply-cancel").textContent = preview.already_installed ? "Close" : "Cancel";
}

function openDialog(assistant, preview, target) {
  setBanner($("apply-error"), "");
  fillDialog(assistant, preview, target);
  const dialog = $("apply-dialog");
  if (!dialog.open) dialog.showModal();
  $("apply-cancel").focus();
}

async function write() {
  if (!dialogState) return;
  const { assistant, preview, profile: target } = dialogState;
  const writeBtn = $("apply-write");
  const cancelBtn = $("apply-cancel");
  writeBtn.disabled = true;
  cancelBtn.disabled = true;
  setBanner($("apply-error"), "");
  try {
    const res = await ipc.assistantApply(assistant.id, preview.token, target);
    const message = res && res.message ? res.message : "Written.";
    results.set(resultKey(target, assistant.id), message);
    $("apply-dialog").close();
    setBanner($("connect-result"), `${assistant.name}: ${message}`);
    refreshAssistants();
  } catch (e) {
    if (errorCode(e) === "FileChanged") {
      // The file changed since the preview: show the new change for another review.
      try {
        fillDialog(assistant, await ipc.assistantPreview(assistant.id, target), target);
        setBanner($("apply-error"), "The file changed since this preview. Here is the change against the current file — review it and write again.");
      } catch (e2) {
        setBanner($("apply-error"), errorMessage(e2));
      }
    } else {
      setBanner($("apply-error"), errorMessage(e));
      writeBtn.disabled = false;
    }
  } finally {
    cancelBtn.disabled = false;
  }
}

// ---------------------------------------------------------------- HTTP endpoint bearer

const bearer = { token: null, visible: false, url: null };

async function loadBearer() {
  if (bearer.token === null) bearer.token = (await ipc.httpBearer()).token;
  return bearer.token;
}

function renderBearer() {
  $("http-bearer").textContent = bearer.visible && bearer.token ? bearer.token : "••••••••••••••••••••••••";
  $("http-bearer").dataset.masked = String(!(bearer.visible && bearer.token));
  $("bearer-show").textContent = bearer.visible ? "Hide" : "Show";
}

function onStatus(s) {
  const url = s.http_url || null;
  show($("http-option"), !!url);
  if (url !== bearer.url) {
    bearer.url = url;
    bearer.token = null;
    bearer.visible = false;
    setBanner($("bearer-error"), "");
    renderBearer();
  }
  $("http-option-url").textContent = url || "";
}

/** Called when the Connect view becomes visible. */
export function connectShown() {
  refreshAll();
}

export function initConnect() {
  $("assistants-refresh").addEventListener("click", refreshAll);
  $("connect-profile").addEventListener("change", (e) => {
    profile = e.target.value || null;
    refreshAssistants();
  });
  $("apply-write").addEventListener("click", write);
  $("apply-cancel").addEventListener("click", () => $("apply-dialog").close());
  $("apply-dialog").addEventListener("close", () => {
    dialogState = null;
  });

  $("bearer-show").addEventListener("click", async () => {
    try {
      if (!bearer.visible) await loadBearer();
      bearer.visible = !bearer.visible;
      setBanner($("bearer-error"), "");
    } catch (e) {
      setBanner($("bearer-error"), errorMessage(e));
    }
    renderBearer();
  });
  $("bearer-copy").addEventListener("click", async () => {
    try {
      const token = await loadBearer();
      setBanner($("bearer-error"), "");
      copyWithFeedback($("bearer-copy"), token);
    } catch (e) {
      setBanner($("bearer-error"), errorMessage(e));
    }
  });
  renderBearer();
  subscribeStatus(onStatus);
  return refreshAll();
}
