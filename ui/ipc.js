// The only module that talks to the shell. Every other module imports from here.
function invoke(cmd, args = {}) {
  const ipc = window.__TAURI_INTERNALS__;
  if (!ipc) return Promise.reject(new Error("not running inside AIC MCP Desktop"));
  return ipc.invoke(cmd, args);
}

export function appInfo() {
  return invoke("app_info");
}
