// Small helpers shared by the views. Data always goes into the DOM as text (textContent),
// never as markup.

export const $ = (id) => document.getElementById(id);

/**
 * Create an element. `props`: {class, text, title, attrs: {name: value}, dataset: {k: v}}.
 * Children may be nodes or strings (strings become text nodes).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.title) node.title = props.title;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) node.setAttribute(k, String(v));
  if (props.dataset) for (const [k, v] of Object.entries(props.dataset)) node.dataset[k] = String(v ?? "");
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

/** Show or hide an element (the `hidden` attribute). */
export function show(node, visible) {
  node.hidden = !visible;
}

/** Put a message into a banner element and show it; an empty message hides it. */
export function setBanner(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

const pad2 = (n) => String(n).padStart(2, "0");

/** Local wall-clock time HH:MM:SS of an epoch-ms value ("" when unknown). */
export function clock(ms) {
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Local HH:MM of an epoch-ms value. */
export function clockShort(ms) {
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** Epoch ms of an RFC 3339 timestamp (NaN when it does not parse). */
export function parseTime(at) {
  return typeof at === "string" ? Date.parse(at) : NaN;
}

/** "expires in 42 min", "expires in 1 h 5 min", "expires in 38 s", "expired". */
export function countdown(expiresAtMs, nowMs = Date.now()) {
  if (!Number.isFinite(expiresAtMs)) return "";
  const left = expiresAtMs - nowMs;
  if (left <= 0) return "expired";
  if (left < 60_000) return `expires in ${Math.ceil(left / 1000)} s`;
  const minutes = Math.floor(left / 60_000);
  if (minutes < 60) return `expires in ${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `expires in ${h} h ${m} min` : `expires in ${h} h`;
}

/** "840 ms", "1.2 s", "2 min 3 s". */
export function duration(ms) {
  if (!Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A number with thousands separators. */
export const count = (n) => Number(n).toLocaleString();

/** The message of a rejected command ({code, message}) or any thrown value. */
export function errorMessage(e) {
  if (e && typeof e === "object" && typeof e.message === "string") return e.message;
  if (typeof e === "string") return e;
  return "Something went wrong.";
}

export function errorCode(e) {
  return e && typeof e === "object" && typeof e.code === "string" ? e.code : "Internal";
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Write text to the clipboard; falls back to a selected off-screen textarea. */
async function writeClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", { class: "clipboard-helper", attrs: { readonly: "", "aria-hidden": "true" } });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

/** Copy text to the clipboard and flash "Copied" on the button. */
export async function copyWithFeedback(button, text) {
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  if (await writeClipboard(text)) {
    button.textContent = "Copied";
    button.classList.add("copied");
  } else {
    button.textContent = "Copy failed";
  }
  clearTimeout(Number(button.dataset.timer || 0));
  button.dataset.timer = String(
    setTimeout(() => {
      button.textContent = label;
      button.classList.remove("copied");
    }, 1500),
  );
}

const shownValue = (v) => (typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v, null, 2));

/**
 * A field-by-field diff (the core's list of {path, kind: added|removed|changed, before,
 * after}) as a table: field, before, after. Values go in as text.
 */
export function fieldDiff(changes) {
  const value = (c, side) => {
    const absent = (side === "before" && c.kind === "added") || (side === "after" && c.kind === "removed");
    return el("td", { class: `diff-${side}` }, absent ? el("span", { class: "muted", text: "(none)" }) : el("code", { class: "selectable", text: shownValue(c[side]) }));
  };
  return el(
    "table",
    { class: "field-diff" },
    el("thead", {}, el("tr", {}, el("th", { text: "Field" }), el("th", { text: "Before" }), el("th", { text: "After" }))),
    el(
      "tbody",
      {},
      ...changes.map((c) => el("tr", { dataset: { kind: c.kind, path: c.path } }, el("td", {}, el("code", { class: "selectable", text: c.path })), value(c, "before"), value(c, "after"))),
    ),
  );
}
