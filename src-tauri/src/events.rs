//! Core events → the window (batched, typed), the tray and desktop notifications. One task
//! per stream, all stopped with the core's forwarder token. Emit failures are logged.

use std::sync::Arc;
use std::time::Duration;

use aic_mcp_core::activity::ActivityEvent;
use aic_mcp_core::auth::SessionState;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;

use crate::host::{Core, Host};

/// Event names (one per stream).
pub const STATUS_EVENT: &str = "status";
pub const ACTIVITY_EVENT: &str = "activity";
pub const NAVIGATE_EVENT: &str = "navigate";

/// How long activity events are gathered before one batch is emitted: about one frame, so
/// a burst becomes a few batches while a single call's row shows at once.
const BATCH_WINDOW: Duration = Duration::from_millis(16);
/// The largest batch (a burst is split rather than delayed).
const BATCH_MAX: usize = 2_000;

/// Starts the forwarders of one core.
pub fn spawn_forwarders(handle: &AppHandle, core: &Arc<Core>) {
    spawn_status(handle.clone(), core.clone());
    spawn_activity(handle.clone(), core.clone());
    spawn_expiry(handle.clone(), core.clone());
}

pub fn emit_status(handle: &AppHandle, core: &Core) {
    let view = core.status_view();
    crate::tray::update(handle, &view);
    if let Err(e) = handle.emit(STATUS_EVENT, &view) {
        tracing::warn!(error = %e, "could not send the status to the window");
    }
}

fn spawn_status(handle: AppHandle, core: Arc<Core>) {
    let mut rx = core.app.subscribe_status();
    let stop = core.forwarders.clone();
    tauri::async_runtime::spawn(async move {
        let mut previous = rx.borrow().clone();
        emit_status(&handle, &core);
        if previous.state == SessionState::SignedIn {
            identify(&handle, &core);
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                changed = rx.changed() => if changed.is_err() { break },
            }
            let now = rx.borrow_and_update().clone();
            emit_status(&handle, &core);
            match (previous.state, now.state) {
                (SessionState::SigningIn, SessionState::SignedIn) => {
                    notify(
                        &handle,
                        "Signed in",
                        &format!("AIC MCP Desktop is signed in to {}.", now.tenant),
                    );
                    identify(&handle, &core);
                }
                (SessionState::SigningIn, SessionState::SignedOut) => {
                    if let Some(err) = &now.last_error {
                        notify(&handle, "Sign-in failed", err);
                    }
                }
                (_, SessionState::SignedIn) if now.admin.is_none() => identify(&handle, &core),
                _ => {}
            }
            previous = now;
        }
    });
}

/// Learns the admin's name in the background (one exchange and one IDM request).
fn identify(_handle: &AppHandle, core: &Arc<Core>) {
    let core = core.clone();
    tauri::async_runtime::spawn(async move {
        tracing::info!("learning the signed-in admin's name");
        if core.app.identify().await.is_none() {
            tracing::info!("the signed-in admin's name is not known");
        }
    });
}

fn spawn_activity(handle: AppHandle, core: Arc<Core>) {
    let mut rx = core.app.bus().subscribe();
    let stop = core.forwarders.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => break,
                r = rx.recv() => r,
            };
            let mut batch: Vec<ActivityEvent> = match first {
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

/// Warns five minutes before the token expires, signs out when it has (unless a refresh
/// token renews it), and keeps the tray's "expires in" line current.
fn spawn_expiry(handle: AppHandle, core: Arc<Core>) {
    let stop = core.forwarders.clone();
    tauri::async_runtime::spawn(async move {
        let mut warned_for: Option<i64> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let status = core.app.status();
            crate::tray::update(&handle, &core.status_view());
            let Some(expires) = status.expires_at_ms else {
                continue;
            };
            if status.state != SessionState::SignedIn {
                continue;
            }
            let left_ms = expires - now_ms();
            if left_ms <= 5 * 60_000 && left_ms > 60_000 && warned_for != Some(expires) {
                warned_for = Some(expires);
                notify(
                    &handle,
                    "Token expires in 5 minutes",
                    &format!("The sign-in to {} expires soon. Log in again to keep your assistants working.", status.tenant),
                );
            }
            if core.app.check_expiry().await {
                notify(
                    &handle,
                    "Signed out",
                    &format!("Signed out of {} because the token expired.", status.tenant),
                );
            }
        }
    });
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A desktop notification (notify-rust), unless the user turned them off. Runs on the
/// blocking pool: it talks to the notification daemon over D-Bus.
pub fn notify(handle: &AppHandle, summary: &str, body: &str) {
    let host = handle.state::<Arc<Host>>().inner().clone();
    let (summary, body) = (summary.to_string(), body.to_string());
    tauri::async_runtime::spawn(async move {
        if !host.settings.read().await.notifications {
            return;
        }
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
