//! Tauri build script: reads tauri.conf.json beside the root Cargo.toml and the
//! capabilities under src-tauri/capabilities.

/// The IPC commands (src-tauri/src/commands.rs); the capability allows exactly these.
const COMMANDS: [&str; 26] = [
    "status",
    "login",
    "cancel_login",
    "logout",
    "recent_activity",
    "export_activity",
    "assistants",
    "assistant_preview",
    "assistant_apply",
    "get_settings",
    "save_settings",
    "open_logs",
    "http_bearer",
    "approvals",
    "answer_approval",
    "tool_catalogue",
    "lift_read_only",
    "end_lift",
    "changes",
    "revert_change",
    "export_changes",
    "profiles",
    "activate_profile",
    "logout_profile",
    "sessions",
    "login_profile",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let app = tauri_build::AppManifest::new().commands(&COMMANDS);
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(app);
    if let Err(e) = tauri_build::try_build(attrs) {
        println!("cargo:warning=tauri build failed: {e:#}");
        std::process::exit(1);
    }
}
