//! AIC MCP Desktop: the Tauri shell. For now a placeholder window that shows what the
//! headless core provides; the tray app, login window and live monitor come next. The
//! shell stays thin: everything it shows comes from `aic-mcp-core`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use serde::Serialize;

#[derive(Serialize)]
struct AppInfo {
    name: &'static str,
    version: &'static str,
    user_agent: &'static str,
    tools: usize,
}

/// Name, version and tool count for the placeholder window.
#[tauri::command]
fn app_info() -> AppInfo {
    AppInfo {
        name: "AIC MCP Desktop",
        version: env!("CARGO_PKG_VERSION"),
        user_agent: aic_mcp_core::tenant::USER_AGENT,
        tools: aic_mcp_core::tools::Registry::new(false).tools().len(),
    }
}

fn main() {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_info])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("aic-mcp-desktop: {e}");
        std::process::exit(1);
    }
}
