//! The IPC surface: one-line commands over the core's `Supervisor`. The 52 tools are MCP,
//! not IPC. Errors reach the UI as `{code, message}`.

use std::path::Path;
use std::sync::Arc;

use aic_mcp_core::activity::ActivityEvent;
use aic_mcp_core::assistants::{ApplyResult, AssistantView, Assistants, ClientId, Preview};
use aic_mcp_core::host::{HostStatus, Supervisor};
use aic_mcp_core::settings::Settings;
use serde::Serialize;
use tauri::State;

use crate::error::{UiError, UiResult};

type Host<'a> = State<'a, Arc<Supervisor>>;

#[tauri::command]
pub async fn status(host: Host<'_>) -> UiResult<HostStatus> {
    Ok(host.status())
}

#[tauri::command]
pub async fn login(host: Host<'_>) -> UiResult<()> {
    Ok(host.login().await?)
}

#[tauri::command]
pub async fn cancel_login(host: Host<'_>) -> UiResult<()> {
    Ok(host.cancel_login()?)
}

#[tauri::command]
pub async fn logout(host: Host<'_>) -> UiResult<()> {
    Ok(host.logout().await?)
}

#[tauri::command]
pub async fn recent_activity(host: Host<'_>) -> UiResult<Vec<ActivityEvent>> {
    Ok(host.bus().recent())
}

#[derive(Serialize)]
pub struct Exported {
    path: String,
    count: usize,
}

/// Writes the events the user sees (already masked) as JSONL to the Downloads folder.
#[tauri::command]
pub async fn export_activity(events: Vec<serde_json::Value>) -> UiResult<Exported> {
    let dir = dirs::download_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(std::env::temp_dir);
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .map_err(UiError::io)?;
    let path = dir.join(format!("aic-mcp-activity-{stamp}.jsonl"));
    let mut text = String::new();
    for e in &events {
        text.push_str(&serde_json::to_string(e).map_err(UiError::io)?);
        text.push('\n');
    }
    tokio::fs::create_dir_all(&dir).await.map_err(UiError::io)?;
    tokio::fs::write(&path, text).await.map_err(UiError::io)?;
    Ok(Exported {
        path: path.display().to_string(),
        count: events.len(),
    })
}

fn load_assistants() -> UiResult<Assistants> {
    Ok(Assistants::from_env(server_command())?)
}

/// The `aic-mcp-server` binary assistants should run: beside ours (installed together),
/// else on the PATH.
pub fn server_command() -> std::path::PathBuf {
    let name = if cfg!(windows) {
        "aic-mcp-server.exe"
    } else {
        "aic-mcp-server"
    };
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let beside = dir.join(name);
            if beside.exists() {
                return beside;
            }
        }
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|c| c.exists())
        })
        .unwrap_or_else(|| Path::new("/usr/bin").join(name))
}

fn client_id(id: &str) -> UiResult<ClientId> {
    id.parse()
        .map_err(|_| UiError::new("UnknownAssistant", format!("unknown assistant '{id}'")))
}

#[tauri::command]
pub async fn assistants() -> UiResult<Vec<AssistantView>> {
    blocking(|| Ok(load_assistants()?.list())).await
}

#[tauri::command]
pub async fn assistant_preview(id: String) -> UiResult<Preview> {
    blocking(move || Ok(load_assistants()?.preview(client_id(&id)?)?)).await
}

#[tauri::command]
pub async fn assistant_apply(id: String, token: String) -> UiResult<ApplyResult> {
    blocking(move || Ok(load_assistants()?.apply(client_id(&id)?, &token)?)).await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> UiResult<T> + Send + 'static,
) -> UiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new("Internal", e.to_string()))?
}

#[tauri::command]
pub async fn get_settings(host: Host<'_>) -> UiResult<Settings> {
    Ok(host.settings())
}

/// Validates and saves; when the tenant or an endpoint changed, the core restarts in place
/// (the window follows through the status event). Returns the settings as saved.
#[tauri::command]
pub async fn save_settings(host: Host<'_>, settings: Settings) -> UiResult<Settings> {
    Ok(host.inner().update_settings(settings).await?)
}

#[tauri::command]
pub async fn open_logs() -> UiResult<()> {
    open_folder(&aic_mcp_core::config::default_log_dir());
    Ok(())
}

#[derive(Serialize)]
pub struct Bearer {
    token: String,
}

/// The HTTP endpoint's bearer, for the Connect view (only while the endpoint is on).
#[tauri::command]
pub async fn http_bearer(host: Host<'_>) -> UiResult<Bearer> {
    let bearer = host.http_bearer().await?;
    Ok(Bearer {
        token: bearer.expose().to_string(),
    })
}

/// Opens a folder in the file manager (created first so it always opens).
pub fn open_folder(dir: &Path) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!(error = %e, "cannot create {}", dir.display());
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener).arg(dir).spawn() {
        Ok(mut child) => {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot open {}", dir.display()),
    }
}
