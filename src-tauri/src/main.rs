//! AIC MCP Desktop: the Tauri shell. A tray app that owns the login, serves the core's MCP
//! service on the local socket (and opt-in loopback HTTP) for the user's assistants, and
//! shows a live log of every tool call. The shell stays thin: the core's `Supervisor` owns
//! the lifecycle (settings, tenant, endpoints, expiry); the shell shows its status,
//! activity and notices and forwards the admin's clicks.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod error;
mod events;
mod tray;

use std::sync::Arc;
use std::time::Instant;

use aic_mcp_core::host::{HostOptions, SettingsSource, Supervisor};
use aic_mcp_core::AppParts;
use tauri::{Manager, RunEvent, WindowEvent};

const USAGE: &str = "Usage: aic-mcp-desktop [--demo] [--hidden]

  --demo    use the built-in demo tenant (a local simulator with sample data; sign in
            as admin / Passw0rd!). Also used when no tenant is configured.
  --hidden  start in the tray without showing the window.

Settings live in the OS config folder (aic-mcp-desktop/settings.json); AIC_BASE_URL and
the other variables of aic-mcp-server override them.";

fn main() {
    let started = Instant::now();
    let mut force_demo = false;
    let mut hidden = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => force_demo = true,
            "--hidden" => hidden = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            "--version" | "-V" => {
                println!("aic-mcp-desktop {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            other => {
                eprintln!("aic-mcp-desktop: unknown argument '{other}'\n\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let _log_guard = init_logging();
    // One tokio runtime for the core, reqwest and the commands, handed to Tauri.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aic-mcp-desktop: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    tauri::async_runtime::set(runtime.handle().clone());

    let mut opts = HostOptions::new(SettingsSource::File(
        aic_mcp_core::settings::Settings::default_path(),
    ));
    opts.force_demo = force_demo;
    opts.demo_when_unconfigured = true;
    opts.demo = Some(Arc::new(aic_mcp_core::demo::DemoProvider::browser()));
    opts.socket = Some(aic_mcp_core::mcp::socket::default_socket_path());
    // A session connected through `connect --profile NAME` reaches that profile only.
    opts.profile_socket = true;
    // The desktop never opens a browser on its own: the admin clicks Log in.
    // Writes wait for the admin in the window unless Settings say otherwise; the window's
    // queue answers them (the assistant cannot).
    opts.default_mode = aic_mcp_core::policy::Mode::Ask;
    opts.parts = AppParts {
        interactive_on_demand: false,
        approvals: Some(aic_mcp_core::approval::Approvals::new()),
        ..AppParts::default()
    };
    let supervisor = Supervisor::new(opts);

    let setup_supervisor = supervisor.clone();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            // A second launch focuses the running app instead.
            tray::show_window(app, None);
        }))
        .manage(supervisor.clone())
        .manage(tray::TrayState::default())
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::login,
            commands::cancel_login,
            commands::logout,
            commands::recent_activity,
            commands::export_activity,
            commands::assistants,
            commands::assistant_preview,
            commands::assistant_apply,
            commands::get_settings,
            commands::save_settings,
            commands::open_logs,
            commands::http_bearer,
            commands::approvals,
            commands::answer_approval,
            commands::tool_catalogue,
            commands::lift_read_only,
            commands::end_lift,
            commands::changes,
            commands::revert_change,
            commands::export_changes,
            commands::profiles,
            commands::activate_profile,
            commands::logout_profile,
            commands::sessions,
            commands::login_profile,
        ])
        .setup(move |app| {
            let handle = app.handle().clone();
            if let Err(e) = tray::create(&handle) {
                // No tray host (a bare X server): the window is the way in.
                tracing::warn!(error = %e, "no tray icon");
            }
            if hidden {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.hide();
                }
            }
            let supervisor = setup_supervisor.clone();
            events::spawn_forwarders(&handle, &supervisor);
            tauri::async_runtime::spawn(async move {
                // A failure is in the status (and a notice): the window shows it.
                if let Err(e) = supervisor.start().await {
                    tracing::error!(error = %e, "the core did not start");
                }
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "tray ready: core started, endpoints up"
                );
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the app (and the assistants' endpoint) running.
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("aic-mcp-desktop: {e}");
            std::process::exit(1);
        }
    };
    app.run(move |_handle, event| {
        if let RunEvent::Exit = event {
            // Calls in flight finish (or are cancelled after the grace period), the
            // endpoints close and the audit log drains before the process ends.
            let supervisor = supervisor.clone();
            tauri::async_runtime::block_on(async move { supervisor.stop().await });
        }
    });
}

/// Daily-rolling log files in the OS log folder (the activity JSONL sits beside them).
fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::prelude::*;
    // AIC_LOG, never opening rmcp's logging of whole requests and results.
    let filter = aic_mcp_core::logging::env_filter("info");
    let dir = aic_mcp_core::config::default_log_dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "aic-mcp-desktop: cannot create the log folder {}: {e}",
            dir.display()
        );
    }
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("desktop")
        .filename_suffix("log")
        .max_log_files(14)
        .build(&dir);
    match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(writer)
                        .with_ansi(false),
                )
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_ansi(false),
                )
                .try_init();
            Some(guard)
        }
        Err(e) => {
            eprintln!(
                "aic-mcp-desktop: cannot write logs to {}: {e}",
                dir.display()
            );
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
            None
        }
    }
}
