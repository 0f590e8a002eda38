// Approval cards: each call waiting for the admin, shown above the Activity list. The card
// shows the assistant, the tenant, the tool, its arguments (secrets already masked by the
// core) and the time left; its buttons answer with the card's id and the digest of the
// arguments it shows, so an answer can only approve exactly what was on screen.

import * as ipc from "./ipc.js";
import { $, el, errorMessage, fieldDiff, show } from "./util.js";

let cards = [];
const busy = new Set(); // ids being answered
const errors = new Map(); // id → last answer failure
let ticker = 0;

function left(card) {
  const s = Math.max(0, Math.round((card.expires_at_ms - Date.now()) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s left` : `${s} s left`;
}

async function answer(card, what) {
  busy.add(card.id);
  errors.delete(card.id);
  render();
  try {
    await ipc.answerApproval(card.id, card.digest, what);
  } catch (e) {
    errors.set(card.id, errorMessage(e));
  } finally {
    busy.delete(card.id);
    render();
  }
}

function cardNode(card) {
  const who = card.client || "An assistant";
  const disabled = busy.has(card.id);
  const btn = (text, cls, what, name) => {
    const b = el("button", { class: `btn ${cls}`, type: "button", text, dataset: { answer: what }, attrs: { "aria-label": name || text } });
    b.disabled = disabled;
    b.addEventListener("click", () => answer(card, what));
    return b;
  };
  const node = el(
    "article",
    { class: `approval-card${card.destructive ? " destructive" : ""}`, dataset: { id: String(card.id), tool: card.tool } },
    el(
      "header",
      { class: "approval-head" },
      el("span", { class: "approval-summary", text: card.summary }),
      el("span", { class: "approval-left muted", text: left(card) }),
    ),
    el(
      "dl",
      { class: "facts compact" },
      el("dt", { text: "Assistant" }),
      el("dd", { text: who }),
      el("dt", { text: "Tenant" }),
      el("dd", { class: "selectable", text: card.tenant }),
      el("dt", { text: "Tool" }),
      el("dd", {}, el("strong", { text: card.title }), el("span", { class: "muted", text: ` (${card.tool})` }), card.destructive ? el("span", { class: "badge destructive", text: "Destructive" }) : ""),
    ),
  );
  // What will change comes first: it is what the admin decides on.
  const changes = Array.isArray(card.changes) ? card.changes : [];
  if (changes.length) {
    node.append(el("h3", { text: "What will change" }), el("div", { class: "approval-diff" }, fieldDiff(changes)));
  }
  node.append(el("h3", { text: "Arguments" }), el("pre", { class: "json selectable approval-args", text: JSON.stringify(card.arguments, null, 2) }));
  if (card.current) {
    const now = el("pre", { class: "json selectable approval-current", text: JSON.stringify(card.current, null, 2) });
    const title = card.destructive && !changes.length ? "What will be removed or changed (as it is now)" : "As it is now";
    // With a diff, the whole object is one click away; without, it is what the admin reads.
    node.append(changes.length ? el("details", { class: "approval-now" }, el("summary", { text: title }), now) : el("h3", { text: title }), changes.length ? "" : now);
  }
  const err = errors.get(card.id);
  if (err) node.append(el("div", { class: "banner error", text: err }));
  node.append(
    el(
      "div",
      { class: "approval-actions" },
      btn("Approve", "primary", "approve"),
      btn("Deny", "danger", "deny"),
      btn(`Approve ${card.tool} for ${who} for 15 minutes`, "", "approve_for_assistant"),
    ),
  );
  return node;
}

function render() {
  const box = $("approval-cards");
  box.replaceChildren(...cards.map(cardNode));
  show($("approvals"), cards.length > 0);
  $("approvals-title").textContent = cards.length === 1 ? "1 change waiting for your approval" : `${cards.length} changes waiting for your approval`;
  const badge = $("nav-approvals");
  badge.textContent = String(cards.length);
  show(badge, cards.length > 0);
  clearInterval(ticker);
  if (cards.length) {
    ticker = setInterval(() => {
      for (const node of box.querySelectorAll(".approval-card")) {
        const card = cards.find((c) => String(c.id) === node.dataset.id);
        if (card) node.querySelector(".approval-left").textContent = left(card);
      }
    }, 1000);
  }
}

function setCards(list) {
  cards = Array.isArray(list) ? list : [];
  for (const id of [...errors.keys()]) if (!cards.some((c) => c.id === id)) errors.delete(id);
  render();
}

export async function initApprovals() {
  await ipc.onApprovals(setCards);
  setCards(await ipc.approvals());
}
