//! The IPC surface: one-line commands over the core's `Supervisor`. The 52 tools are MCP,
//! not IPC. Errors reach the UI as `{code, message}`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aic_mcp_core::activity::ActivityPage;
use aic_mcp_core::approval::{Answer, AnswerError, ApprovalRequest};
use aic_mcp_core::assistants::{ApplyResult, AssistantView, Assistants, ClientId, Preview};
use aic_mcp_core::host::{HostStatus, LiftRequest, ProfileOverview, SessionOverview, Supervisor};
use aic_mcp_core::journal::Listed;
use aic_mcp_core::policy;
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

/// One page of the live log: the newest events when `before` is `None`, else those before
/// that sequence number (oldest first within the page).
#[tauri::command]
pub async fn recent_activity(
    host: Host<'_>,
    before: Option<u64>,
    limit: Option<usize>,
) -> UiResult<ActivityPage> {
    Ok(host.bus().page(before, limit.unwrap_or(500)))
}

#[derive(Serialize)]
pub struct Exported {
    path: String,
    count: usize,
}

/// Writes the events the user sees (already masked) as JSONL to a new private file in the
/// Downloads folder (else the home folder).
#[tauri::command]
pub async fn export_activity(events: Vec<serde_json::Value>) -> UiResult<Exported> {
    let dir = dirs::download_dir()
        .or_else(dirs::home_dir)
        .ok_or_else(|| UiError::io("no Downloads or home folder to export to"))?;
    let count = events.len();
    let path = blocking(move || {
        aic_mcp_core::export::write_activity_export(&dir, &events).map_err(UiError::io)
    })
    .await?;
    Ok(Exported {
        path: path.display().to_string(),
        count,
    })
}

/// The assistants' configs, with entries for the binary installed beside the app and the
/// socket the app serves: the `aic` entry (active profile), or with `profile` that profile's
/// own entry `aic-<profile>`.
fn load_assistants(socket: Option<PathBuf>, profile: Option<String>) -> UiResult<Assistants> {
    let socket = socket.unwrap_or_else(aic_mcp_core::mcp::socket::default_socket_path);
    Ok(Assistants::for_current_user(socket)?.with_profile(profile.as_deref())?)
}

fn client_id(id: &str) -> UiResult<ClientId> {
    id.parse()
        .map_err(|_| UiError::new("UnknownAssistant", format!("unknown assistant '{id}'")))
}

#[tauri::command]
pub async fn assistants(host: Host<'_>, profile: Option<String>) -> UiResult<Vec<AssistantView>> {
    let socket = host.socket_path();
    blocking(move || Ok(load_assistants(socket, profile)?.list())).await
}

#[tauri::command]
pub async fn assistant_preview(
    host: Host<'_>,
    id: String,
    profile: Option<String>,
) -> UiResult<Preview> {
    let socket = host.socket_path();
    blocking(move || Ok(load_assistants(socket, profile)?.preview(client_id(&id)?)?)).await
}

#[tauri::command]
pub async fn assistant_apply(
    host: Host<'_>,
    id: String,
    token: String,
    profile: Option<String>,
) -> UiResult<ApplyResult> {
    let socket = host.socket_path();
    blocking(move || Ok(load_assistants(socket, profile)?.apply(client_id(&id)?, &token)?)).await
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

/// The calls waiting for the admin, oldest first.
#[tauri::command]
pub async fn approvals(host: Host<'_>) -> UiResult<Vec<ApprovalRequest>> {
    Ok(host.approvals().map(|q| q.waiting()).unwrap_or_default())
}

/// The admin's answer to one card, bound to the arguments' digest the card showed.
#[tauri::command]
pub async fn answer_approval(
    host: Host<'_>,
    id: u64,
    digest: String,
    answer: Answer,
) -> UiResult<()> {
    let queue = host
        .approvals()
        .ok_or_else(|| UiError::new("NotWaiting", "this app has no approval queue"))?;
    queue.answer(id, &digest, answer).map_err(|e| {
        let code = match e {
            AnswerError::NotWaiting => "NotWaiting",
            AnswerError::Mismatch => "Mismatch",
        };
        UiError::new(code, e.to_string())
    })
}

/// One tool for the Settings view's switches.
#[derive(Serialize)]
pub struct ToolInfo {
    name: &'static str,
    title: &'static str,
    family: &'static str,
    read_only: bool,
    destructive: bool,
}

/// Every tool of the catalogue with its family and kind, in the catalogue's order.
#[tauri::command]
pub async fn tool_catalogue() -> UiResult<Vec<ToolInfo>> {
    blocking(|| {
        Ok(aic_mcp_core::tools::Registry::new(false)
            .tools()
            .iter()
            .map(|t| ToolInfo {
                name: t.name,
                title: t.title,
                family: t.family,
                read_only: policy::is_read_only(t.hints),
                destructive: policy::is_destructive(t.hints),
            })
            .collect())
    })
    .await
}

/// Lifts read only on a production tenant for a while (the admin typed its host name);
/// returns when it ends (Unix milliseconds).
#[tauri::command]
pub async fn lift_read_only(host: Host<'_>, request: LiftRequest) -> UiResult<i64> {
    Ok(host.inner().lift_read_only(request).await?)
}

/// Ends a lift now: read only again.
#[tauri::command]
pub async fn end_lift(host: Host<'_>) -> UiResult<()> {
    host.end_lift();
    Ok(())
}

/// The newest journaled changes, newest first.
#[tauri::command]
pub async fn changes(host: Host<'_>, limit: Option<usize>) -> UiResult<Vec<Listed>> {
    Ok(host
        .changes(limit.unwrap_or(aic_mcp_core::journal::LIST_LIMIT))
        .await?)
}

/// Writes the whole change journal to a new private file in the Downloads folder (else the
/// home folder).
#[tauri::command]
pub async fn export_changes(host: Host<'_>) -> UiResult<Exported> {
    let dir = dirs::download_dir()
        .or_else(dirs::home_dir)
        .ok_or_else(|| UiError::io("no Downloads or home folder to export to"))?;
    let (path, count) = host.export_changes(dir).await?;
    Ok(Exported {
        path: path.display().to_string(),
        count,
    })
}

/// Every tenant profile with its sign-in (the others' from the keychain) and which one is
/// active.
#[tauri::command]
pub async fn profiles(host: Host<'_>) -> UiResult<Vec<ProfileOverview>> {
    Ok(host.profiles_overview().await)
}

/// Makes a profile the active one: new sessions get it, and the core moves to its tenant.
#[tauri::command]
pub async fn activate_profile(host: Host<'_>, name: String) -> UiResult<Settings> {
    Ok(host.activate_profile(&name).await?)
}

/// Signs in to one profile (a profile that is not active through its own core).
#[tauri::command]
pub async fn login_profile(host: Host<'_>, name: String) -> UiResult<()> {
    Ok(host.login_profile(&name).await?)
}

/// Signs out of one profile only (the served one through its session, another by deleting
/// its stored login).
#[tauri::command]
pub async fn logout_profile(host: Host<'_>, name: String) -> UiResult<()> {
    Ok(host.logout_profile(&name).await?)
}

/// The assistants connected now, each with the profile its session is bound to.
#[tauri::command]
pub async fn sessions(host: Host<'_>) -> UiResult<Vec<SessionOverview>> {
    Ok(host.sessions().await)
}

/// Undoes a journaled change through an ordinary tool call (approved in ask mode,
/// journaled, in the log). Returns the call's result text.
#[tauri::command]
pub async fn revert_change(host: Host<'_>, id: String) -> UiResult<String> {
    Ok(host.revert(&id).await?)
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
