//! The activity bus: every tool call and every upstream request it makes is published as
//! an [`ActivityEvent`], kept in a bounded ring buffer for late subscribers (the window),
//! and appended to a daily-rolling JSONL audit file. No token, code, verifier or secret
//! value is ever part of an event: arguments are masked before they are published.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Outcome of one tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tool ran and succeeded.
    Ok,
    /// The tool ran and failed (upstream error, auth failure, business refusal).
    Error,
    /// The arguments were rejected; nothing was sent upstream.
    Rejected,
    /// The client cancelled the call (`notifications/cancelled`) or the server stopped
    /// before it finished: its requests in flight were dropped and no later one was sent.
    Cancelled,
}

/// One thing that happened, as shown in the live log and written to the audit file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityEvent {
    /// A tool call began.
    ToolStarted {
        call_id: u64,
        at: String,
        tool: String,
        /// The MCP client's name from `initialize` (Claude Desktop, Cursor, …).
        client: Option<String>,
        /// Arguments with secret values masked.
        arguments: Value,
    },
    /// A tool call ended.
    ToolFinished {
        call_id: u64,
        at: String,
        tool: String,
        outcome: Outcome,
        duration_ms: u64,
        /// The error text for failed or rejected calls.
        message: Option<String>,
    },
    /// One HTTP request to the tenant (resource or OAuth endpoint).
    Upstream {
        call_id: Option<u64>,
        at: String,
        method: String,
        /// Path and query; never a body.
        path: String,
        status: Option<u16>,
        latency_ms: u64,
        user_agent: String,
        transaction_id: String,
        /// Transport error when no status was received.
        error: Option<String>,
    },
    /// A change of login state.
    Auth {
        at: String,
        action: AuthAction,
        tenant: String,
        detail: Option<String>,
    },
}

/// Login state changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthAction {
    LoginStarted,
    LoginSucceeded,
    LoginFailed,
    TokenRestored,
    TokenRefreshed,
    LoggedOut,
}

/// RFC 3339 UTC time with milliseconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

/// Publishes events to live subscribers and keeps the most recent ones.
#[derive(Debug)]
pub struct ActivityBus {
    tx: broadcast::Sender<ActivityEvent>,
    recent: Mutex<VecDeque<ActivityEvent>>,
    capacity: usize,
}

/// Call ids are unique in the process, across buses: a host that restarts its core (the
/// desktop switching tenant) keeps one live log in which ids never repeat.
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

impl ActivityBus {
    /// A bus that remembers the last `capacity` events.
    pub fn new(capacity: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(4096);
        Arc::new(Self {
            tx,
            recent: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity: capacity.max(1),
        })
    }

    /// A fresh id for a tool call.
    pub fn next_call_id(&self) -> u64 {
        NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed)
    }

    pub fn publish(&self, event: ActivityEvent) {
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() == self.capacity {
                recent.pop_front();
            }
            recent.push_back(event.clone());
        }
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ActivityEvent> {
        self.tx.subscribe()
    }

    /// The most recent events, oldest first.
    pub fn recent(&self) -> Vec<ActivityEvent> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

const MASK: &str = "********";

/// Keys whose values are always masked, wherever they appear in the arguments.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "apikey",
        "api_key",
        "privatekey",
        "private_key",
        "valuebase64",
        "otp",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Masks secret values in tool arguments: any key that names a secret, the extra
/// `sensitive` top-level keys a tool declares (an ESV's `value`), and the `value` of a
/// patch operation whose `field` names a secret.
pub fn mask_arguments(args: &Value, sensitive: &[&str]) -> Value {
    fn walk(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let field_is_secret = map
                    .get("field")
                    .and_then(Value::as_str)
                    .map(is_secret_key)
                    .unwrap_or(false);
                Value::Object(
                    map.iter()
                        .map(|(k, v)| {
                            let masked = is_secret_key(k) || (field_is_secret && k == "value");
                            let v = if masked && !v.is_null() {
                                Value::String(MASK.into())
                            } else {
                                walk(v)
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(walk).collect()),
            other => other.clone(),
        }
    }
    let mut out = walk(args);
    if let Value::Object(map) = &mut out {
        for key in sensitive {
            if let Some(v) = map.get_mut(*key) {
                if !v.is_null() {
                    *v = Value::String(MASK.into());
                }
            }
        }
    }
    out
}

/// Keeps the guard of the audit file's background writer; dropping it flushes.
pub struct AuditWriter {
    _guard: tracing_appender::non_blocking::WorkerGuard,
    task: tokio::task::JoinHandle<()>,
}

impl AuditWriter {
    /// Waits for the writer to drain after the cancel token fired.
    pub async fn finish(self) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.task).await;
    }
}

/// Appends every event published on `bus` as one JSON line to
/// `dir/activity.YYYY-MM-DD.jsonl` (daily rolling, 14 files kept), until `cancel` fires.
pub fn spawn_audit_writer(
    bus: &ActivityBus,
    dir: &Path,
    cancel: CancellationToken,
) -> std::io::Result<AuditWriter> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("activity")
        .filename_suffix("jsonl")
        .max_log_files(14)
        .build(dir)
        .map_err(std::io::Error::other)?;
    let (mut writer, guard) = tracing_appender::non_blocking(appender);
    let mut rx = bus.subscribe();
    let task = tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                biased;
                ev = rx.recv() => ev,
                _ = cancel.cancelled() => {
                    // Drain what is already queued, then stop.
                    while let Ok(ev) = rx.try_recv() {
                        write_line(&mut writer, &ev);
                    }
                    break;
                }
            };
            match event {
                Ok(ev) => write_line(&mut writer, &ev),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let line = serde_json::json!({"kind": "audit_gap", "at": now_rfc3339(), "lost_events": n});
                    let _ = writeln!(writer, "{line}");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        let _ = writer.flush();
    });
    Ok(AuditWriter {
        _guard: guard,
        task,
    })
}

fn write_line(w: &mut impl Write, ev: &ActivityEvent) {
    match serde_json::to_string(ev) {
        Ok(line) => {
            if let Err(e) = writeln!(w, "{line}") {
                tracing::warn!(error = %e, "could not write the audit log");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not serialise an activity event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_keys_and_declared_arguments() {
        let args = json!({
            "objectType": "alpha_user",
            "objectData": {"userName": "bjensen", "password": "S3cret!", "nested": {"apiToken": "t"}},
            "operations": [
                {"operation": "replace", "field": "/password", "value": "N3w!"},
                {"operation": "replace", "field": "/mail", "value": "b@example.com"}
            ],
            "value": "esv-plain"
        });
        let m = mask_arguments(&args, &["value"]);
        let s = m.to_string();
        for secret in ["S3cret!", "N3w!", "esv-plain", "\"t\""] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(s.contains("bjensen") && s.contains("b@example.com"));
    }

    #[test]
    fn ring_buffer_keeps_the_latest() {
        let bus = ActivityBus::new(2);
        for i in 0..3 {
            bus.publish(ActivityEvent::Auth {
                at: i.to_string(),
                action: AuthAction::LoggedOut,
                tenant: "t".into(),
                detail: None,
            });
        }
        let recent = bus.recent();
        assert_eq!(recent.len(), 2);
        assert!(matches!(&recent[0], ActivityEvent::Auth { at, .. } if at == "1"));
    }

    #[tokio::test]
    async fn audit_file_gets_one_json_line_per_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bus = ActivityBus::new(10);
        let cancel = CancellationToken::new();
        let writer = spawn_audit_writer(&bus, dir.path(), cancel.clone()).expect("writer");
        bus.publish(ActivityEvent::ToolFinished {
            call_id: 7,
            at: now_rfc3339(),
            tool: "getLogSources".into(),
            outcome: Outcome::Ok,
            duration_ms: 3,
            message: None,
        });
        cancel.cancel();
        writer.finish().await;
        let mut text = String::new();
        for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        let line: Value = serde_json::from_str(text.trim()).expect("one json line");
        assert_eq!(line["kind"], "tool_finished");
        assert_eq!(line["call_id"], 7);
    }
}
