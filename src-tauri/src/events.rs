//! Core events → the window (batched, typed), the tray and desktop notifications. Three
//! forwarders for the life of the app (the supervisor's status, activity and notices
//! outlive core restarts); emit failures are logged.

use std::sync::Arc;
use std::time::Duration;

use aic_mcp_core::activity::ActivityEvent;
use aic_mcp_core::approval::ApprovalRequest;
use aic_mcp_core::host::{HostStatus, Notice, Supervisor};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

/// Event names (one per stream; the tray's `navigate` is in `tray.rs`).
pub const STATUS_EVENT: &str = "status";
pub const ACTIVITY_EVENT: &str = "activity";
pub const APPROVALS_EVENT: &str = "approvals";

/// How long activity events are gathered before one batch is emitted: about one frame, so
/// a burst becomes a few batches while a single call's row shows at once.
const BATCH_WINDOW: Duration = Duration::from_millis(16);
/// The largest batch (a burst is split rather than delayed).
const BATCH_MAX: usize = 2_000;
/// How often the tray's "Token expires in 42 min" line is redrawn (text only; the expiry
/// itself is the core's timer).
const TRAY_REDRAW: Duration = Duration::from_secs(30);

/// Starts the forwarders.
pub fn spawn_forwarders(handle: &AppHandle, supervisor: &Arc<Supervisor>) {
    spawn_status(handle.clone(), supervisor.clone());
    spawn_activity(handle.clone(), supervisor.clone());
    spawn_notices(handle.clone(), supervisor.clone());
    spawn_approvals(handle.clone(), supervisor.clone());
}

/// The approval queue → the window (the whole list on every change), the tray's waiting
/// state, and one notification per new card (clicking it opens the Activity view; the
/// window is not brought to the front otherwise).
fn spawn_approvals(handle: AppHandle, supervisor: Arc<Supervisor>) {
    let Some(queue) = supervisor.approvals().cloned() else {
        return;
    };
    let mut rx = queue.subscribe();
    tauri::async_runtime::spawn(async move {
        let mut announced: u64 = 0;
        loop {
            let list = rx.borrow_and_update().clone();
            crate::tray::set_waiting(&handle, list.len());
            if let Err(e) = handle.emit(APPROVALS_EVENT, &list) {
                tracing::warn!(error = %e, "could not send the approvals to the window");
            }
            for card in list.iter().filter(|c| c.id > announced) {
                announce(&handle, card);
            }
            announced = list
                .iter()
                .map(|c| c.id)
                .max()
                .unwrap_or(announced)
                .max(announced);
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
}

/// "Claude Code wants to delete managed object alpha_user bjensen": a notification whose
/// click opens the card.
fn announce(handle: &AppHandle, card: &ApprovalRequest) {
    let supervisor = handle.state::<Arc<Supervisor>>().inner().clone();
    if !supervisor.settings().notifications {
        return;
    }
    let summary = card.summary.clone();
    let body = format!(
        "{} on {}. Approve or deny it in AIC MCP Desktop (Activity).",
        card.title, card.tenant
    );
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        tracing::info!(%summary, "approval notification");
        let opened = tokio::task::spawn_blocking(move || {
            let shown = notify_rust::Notification::new()
                .appname("AIC MCP Desktop")
                .summary(&summary)
                .body(&body)
                .action("default", "Review")
                .show();
            match shown {
                Ok(n) => {
                    let mut open = false;
                    #[cfg(all(unix, not(target_os = "macos")))]
                    n.wait_for_action(|action| open = action == "default");
                    #[cfg(not(all(unix, not(target_os = "macos"))))]
                    drop(n);
                    Ok(open)
                }
                Err(e) => Err(e),
            }
        })
        .await;
        match opened {
            Ok(Ok(true)) => crate::tray::show_window(&handle, Some("activity")),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::info!(error = %e, "no notification daemon; notification not shown")
            }
            Err(e) => tracing::warn!(error = %e, "notification task failed"),
        }
    });
}

fn emit_status(handle: &AppHandle, status: &HostStatus) {
    crate::tray::update(handle, status);
    if let Err(e) = handle.emit(STATUS_EVENT, status) {
        tracing::warn!(error = %e, "could not send the status to the window");
    }
}

fn spawn_status(handle: AppHandle, supervisor: Arc<Supervisor>) {
    let mut rx = supervisor.subscribe_status();
    tauri::async_runtime::spawn(async move {
        emit_status(&handle, &rx.borrow_and_update().clone());
        let mut redraw = tokio::time::interval(TRAY_REDRAW);
        loop {
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() { break }
                    let status = rx.borrow_and_update().clone();
                    emit_status(&handle, &status);
                }
                _ = redraw.tick() => crate::tray::update(&handle, &rx.borrow().clone()),
            }
            // The Tenants menu: every profile's sign-in (the others' from the keychain).
            crate::tray::set_tenants(&handle, &supervisor.profiles_overview().await);
        }
    });
}

fn spawn_activity(handle: AppHandle, supervisor: Arc<Supervisor>) {
    let mut rx = supervisor.bus().subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            let mut batch: Vec<ActivityEvent> = match rx.recv().await {
                Ok(e) => vec![e],
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "the activity view fell behind; events were skipped"
                    );
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
            while batch.len() < BATCH_MAX {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Ok(e)) => batch.push(e),
                    Ok(Err(RecvError::Lagged(n))) => {
                        tracing::warn!(missed = n, "the activity view fell behind");
                    }
                    Ok(Err(RecvError::Closed)) | Err(_) => break,
                }
            }
            if let Err(e) = handle.emit(ACTIVITY_EVENT, &batch) {
                tracing::warn!(error = %e, "could not send activity to the window");
            }
        }
    });
}

fn spawn_notices(handle: AppHandle, supervisor: Arc<Supervisor>) {
    let mut rx = supervisor.subscribe_notices();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(notice) => notify(&handle, &notice),
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "notices skipped"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// A desktop notification (notify-rust), unless the user turned them off. Runs on the
/// blocking pool: it talks to the notification daemon over D-Bus.
pub fn notify(handle: &AppHandle, notice: &Notice) {
    let supervisor = handle.state::<Arc<Supervisor>>().inner().clone();
    if !supervisor.settings().notifications {
        return;
    }
    let (summary, body) = (notice.title().to_string(), notice.body());
    tauri::async_runtime::spawn(async move {
        tracing::info!(%summary, "notification");
        let shown = tokio::task::spawn_blocking(move || {
            notify_rust::Notification::new()
                .appname("AIC MCP Desktop")
                .summary(&summary)
                .body(&body)
                .show()
                .map(|_| ())
        })
        .await;
        match shown {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::info!(error = %e, "no notification daemon; notification not shown")
            }
            Err(e) => tracing::warn!(error = %e, "notification task failed"),
        }
    });
}
