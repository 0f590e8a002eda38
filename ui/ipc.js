// The only module that talks to the shell. Every other module imports from here.
//
// It uses Tauri's public JavaScript API, which the app exposes as `window.__TAURI__`
// (`app.withGlobalTauri` in tauri.conf.json): `core.invoke` for commands and `event.listen`
// for events. Command errors reject with {code, message}; anything else is normalised to
// that shape so callers can always show `message`.

function tauri() {
  const api = window.__TAURI__;
  if (!api || !api.core || typeof api.core.invoke !== "function" || !api.event) {
    throw { code: "NotReady", message: "Not running inside AIC MCP Desktop." };
  }
  return api;
}

function normaliseError(e) {
  if (e && typeof e === "object" && typeof e.message === "string") {
    return { code: typeof e.code === "string" ? e.code : "Internal", message: e.message };
  }
  if (typeof e === "string") return { code: "Internal", message: e };
  return { code: "Internal", message: "Unexpected error from the app." };
}

/** Call a shell command. Resolves with its result, rejects with {code, message}. */
export async function invoke(cmd, args = {}) {
  try {
    return await tauri().core.invoke(cmd, args);
  } catch (e) {
    throw normaliseError(e);
  }
}

/**
 * Listen to a shell event. `cb` receives the event's payload. Resolves with a function
 * that stops listening.
 */
export async function listen(event, cb) {
  try {
    return await tauri().event.listen(event, (message) => {
      cb(message ? message.payload : undefined);
    });
  } catch (e) {
    throw normaliseError(e);
  }
}

// ---- commands ----
export const status = () => invoke("status");
export const login = () => invoke("login");
export const cancelLogin = () => invoke("cancel_login");
export const logout = () => invoke("logout");
export const recentActivity = (before = null, limit = 500) => invoke("recent_activity", { before, limit });
export const exportActivity = (events) => invoke("export_activity", { events });
// `profile`: a profile's name for its own entry (aic-NAME); null for the entry aic.
export const assistants = (profile = null) => invoke("assistants", { profile });
export const assistantPreview = (id, profile = null) => invoke("assistant_preview", { id, profile });
export const assistantApply = (id, token, profile = null) => invoke("assistant_apply", { id, token, profile });
export const getSettings = () => invoke("get_settings");
export const saveSettings = (settings) => invoke("save_settings", { settings });
export const openLogs = () => invoke("open_logs");
export const httpBearer = () => invoke("http_bearer");
export const approvals = () => invoke("approvals");
export const answerApproval = (id, digest, answer) => invoke("answer_approval", { id, digest, answer });
export const toolCatalogue = () => invoke("tool_catalogue");
export const liftReadOnly = (request) => invoke("lift_read_only", { request });
export const endLift = () => invoke("end_lift");
export const changes = (limit = 1000) => invoke("changes", { limit });
export const revertChange = (id) => invoke("revert_change", { id });
export const exportChanges = () => invoke("export_changes");
export const profiles = () => invoke("profiles");
export const activateProfile = (name) => invoke("activate_profile", { name });
export const logoutProfile = (name) => invoke("logout_profile", { name });
export const loginProfile = (name) => invoke("login_profile", { name });
export const sessions = () => invoke("sessions");

// ---- events ----
export const onStatus = (cb) => listen("status", cb);
export const onActivity = (cb) => listen("activity", cb);
export const onNavigate = (cb) => listen("navigate", cb);
export const onApprovals = (cb) => listen("approvals", cb);
