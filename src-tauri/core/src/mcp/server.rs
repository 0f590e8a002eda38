//! The rmcp handler. Every call is published on the activity bus (started, each upstream
//! request, finished). Failures map as the SDK intends, with one deliberate deviation:
//! argument validation failures are tool results with `isError: true` and the reference's
//! text (`MCP error -32602: Input validation error: …`), as the reference does and as the
//! MCP specification asks since 2025-11-25, so the model can correct its call.
//!
//! A call ends early when the client cancels it (`notifications/cancelled`) or when the
//! core stops ([`CallGate::drain`]): its future is dropped, so the requests it has in flight
//! are dropped with it and none of its later requests is sent; the activity log shows it as
//! `cancelled`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequestParams,
    ElicitationAction, Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, Peer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::{TaskTracker, TaskTrackerToken};

use crate::activity::{mask_arguments, now_rfc3339, ActivityBus, ActivityEvent, Outcome};
use crate::auth::{DevicePrompt, PromptAnswer, Session, StderrPrompt};
use crate::tools::{CallCtx, Registry, ToolDef};

/// The server name reported in `initialize` (the reference's, for drop-in use).
pub const SERVER_NAME: &str = "pingone-aic-mcp-server";

/// What a cancelled call's result says (the client that cancelled never reads it; the log
/// and a call ended by a stopping core do).
const CANCELLED_BY_CLIENT: &str = "Cancelled by the assistant (it cancelled the request or disconnected); requests in flight were dropped and no further request was sent.";
const CANCELLED_BY_STOP: &str = "Cancelled: AIC MCP Desktop stopped (quit, restart or new settings) before the call finished; requests in flight were dropped. Call the tool again.";
const REFUSED_WHILE_STOPPING: &str = "AIC MCP Desktop is stopping (quit, restart or new settings) and takes no new calls; nothing was sent. Call the tool again in a moment.";

/// The tool calls in flight in one running core. Each call holds a ticket while it runs;
/// stopping the core refuses new calls, lets those in flight finish for a grace period,
/// then cancels the rest.
#[derive(Debug, Default)]
pub struct CallGate {
    tracker: TaskTracker,
    cancel: CancellationToken,
    /// Set once stopping began. A lock, not a flag: a call takes its ticket under it, so a
    /// drain either counts that ticket or the call sees the gate closed (with a flag, a call
    /// could check it, the drain find no ticket and finish, and the call then run on).
    closed: Mutex<bool>,
}

impl CallGate {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A ticket for one call, or `None` once the gate is closed.
    fn enter(&self) -> Option<TaskTrackerToken> {
        let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        (!*closed).then(|| self.tracker.token())
    }

    /// How many calls are running.
    pub fn in_flight(&self) -> usize {
        self.tracker.len()
    }

    /// Refuses new calls, waits up to `grace` for the calls in flight, then cancels the
    /// rest and waits (briefly) until they have published their end. Returns how many
    /// calls were cancelled.
    pub async fn drain(&self, grace: Duration) -> usize {
        {
            let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
            *closed = true;
            self.tracker.close();
        }
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return 0;
        }
        let cancelled = self.tracker.len();
        self.cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.tracker.wait()).await;
        cancelled
    }
}

/// One MCP service; cheap to clone, one per connection, all sharing the session.
#[derive(Clone)]
pub struct McpService {
    registry: Arc<Registry>,
    session: Arc<Session>,
    bus: Arc<ActivityBus>,
    gate: Arc<CallGate>,
}

impl McpService {
    pub fn new(
        registry: Arc<Registry>,
        session: Arc<Session>,
        bus: Arc<ActivityBus>,
        gate: Arc<CallGate>,
    ) -> Self {
        Self {
            registry,
            session,
            bus,
            gate,
        }
    }

    /// The tool list as `tools/list` returns it.
    pub fn list(&self) -> Vec<Tool> {
        self.registry.tools().iter().map(descriptor).collect()
    }

    /// Runs one tool call: validation, body, activity events. `client` names the caller.
    pub async fn call(
        &self,
        name: &str,
        arguments: Value,
        client: Option<String>,
        prompt: Option<Arc<dyn DevicePrompt>>,
    ) -> CallToolResult {
        self.call_until(name, arguments, client, prompt, CancellationToken::new())
            .await
    }

    /// [`McpService::call`], ended early (as `Cancelled`) when `cancelled` fires or the
    /// core stops.
    pub async fn call_until(
        &self,
        name: &str,
        arguments: Value,
        client: Option<String>,
        prompt: Option<Arc<dyn DevicePrompt>>,
        cancelled: CancellationToken,
    ) -> CallToolResult {
        let call_id = self.bus.next_call_id();
        let started = Instant::now();
        let def = self.registry.get(name);
        let masked = mask_arguments(&arguments, def.map(ToolDef::masking).unwrap_or_default());
        self.bus.publish(ActivityEvent::ToolStarted {
            call_id,
            at: now_rfc3339(),
            tool: name.to_string(),
            client,
            arguments: masked,
        });
        let ticket = self.gate.enter();
        let (outcome, text) = match (def, &ticket) {
            (_, None) => (Outcome::Error, REFUSED_WHILE_STOPPING.to_string()),
            (None, _) => (Outcome::Rejected, format!("Tool {name} not found")),
            (Some(def), Some(_)) => {
                let ctx = CallCtx::new(self.session.clone(), call_id, def.scopes, prompt);
                match def.prepare(ctx, arguments) {
                    Err(e) => (
                        Outcome::Rejected,
                        format!(
                            "MCP error -32602: Input validation error: Invalid arguments for tool {name}: {e}"
                        ),
                    ),
                    // Dropping the body drops its requests in flight; none after is sent.
                    Ok(body) => tokio::select! {
                        biased;
                        _ = cancelled.cancelled() => (Outcome::Cancelled, CANCELLED_BY_CLIENT.to_string()),
                        _ = self.gate.cancel.cancelled() => (Outcome::Cancelled, CANCELLED_BY_STOP.to_string()),
                        r = body => match r {
                            Ok(text) => (Outcome::Ok, text),
                            Err(text) => (Outcome::Error, text),
                        },
                    },
                }
            }
        };
        self.bus.publish(ActivityEvent::ToolFinished {
            call_id,
            at: now_rfc3339(),
            tool: name.to_string(),
            outcome,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            message: (outcome != Outcome::Ok).then(|| text.clone()),
        });
        drop(ticket);
        let content = vec![ContentBlock::text(text)];
        if outcome == Outcome::Ok {
            CallToolResult::success(content)
        } else {
            CallToolResult::error(content)
        }
    }
}

fn descriptor(def: &ToolDef) -> Tool {
    let mut annotations = ToolAnnotations::default();
    annotations.read_only_hint = def.hints.read_only;
    annotations.destructive_hint = def.hints.destructive;
    annotations.idempotent_hint = def.hints.idempotent;
    annotations.open_world_hint = def.hints.open_world;
    let mut tool = Tool::new(
        def.name,
        def.description,
        Arc::new(def.input_schema.clone()),
    );
    tool.title = Some(def.title.to_string());
    tool.annotations = Some(annotations);
    tool
}

/// Shows the device-login URL through MCP elicitation: URL mode where the client supports
/// it, form mode otherwise, stderr when the client supports neither.
struct ElicitationPrompt {
    peer: Peer<RoleServer>,
}

#[async_trait::async_trait]
impl DevicePrompt for ElicitationPrompt {
    async fn show(&self, uri: &str, user_code: &str) -> PromptAnswer {
        let modes = self.peer.supported_elicitation_modes();
        let message = format!(
            "Sign in to PingOne Advanced Identity Cloud: open this URL in a browser, confirm the code {user_code}, then come back and accept.\n{uri}"
        );
        let id = uuid::Uuid::new_v4().to_string();
        let result = if modes.contains(&rmcp::service::ElicitationMode::Url) {
            match url::Url::parse(uri) {
                Ok(u) => self
                    .peer
                    .elicit_url(message, u, id)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else if modes.contains(&rmcp::service::ElicitationMode::Form) {
            let schema = rmcp::model::ElicitationSchema::builder().build_unchecked();
            self.peer
                .create_elicitation(ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema: schema,
                })
                .await
                .map(|r| r.action)
                .map_err(|e| e.to_string())
        } else {
            return StderrPrompt.show(uri, user_code).await;
        };
        match result {
            Ok(ElicitationAction::Accept) => PromptAnswer::Accepted,
            Ok(ElicitationAction::Decline) => PromptAnswer::Refused("decline".into()),
            Ok(ElicitationAction::Cancel) => PromptAnswer::Refused("cancel".into()),
            Ok(_) => PromptAnswer::Refused("unknown".into()),
            Err(e) => {
                tracing::warn!(error = %e, "elicitation failed; showing the URL on stderr");
                StderrPrompt.show(uri, user_code).await
            }
        }
    }
}

impl ServerHandler for McpService {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.list()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry.get(name).map(descriptor)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let client = context
            .peer
            .peer_info()
            .map(|info| info.client_info.name.clone());
        let prompt: Arc<dyn DevicePrompt> = Arc::new(ElicitationPrompt {
            peer: context.peer.clone(),
        });
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        // `context.ct` fires on `notifications/cancelled` for this request.
        Ok(self
            .call_until(&request.name, args, client, Some(prompt), context.ct)
            .await
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_drain_counts_and_cancels_the_tickets_taken_before_it_and_refuses_later_ones() {
        let gate = CallGate::new();
        let ticket = gate.enter().expect("open");
        assert_eq!(gate.in_flight(), 1);
        let cancelled = gate.cancel.clone();
        let running = tokio::spawn(async move {
            cancelled.cancelled().await;
            drop(ticket);
        });
        assert_eq!(gate.drain(Duration::from_millis(10)).await, 1);
        running.await.expect("the call ended");
        assert!(gate.enter().is_none(), "closed for good");
        assert_eq!(
            gate.drain(Duration::ZERO).await,
            0,
            "a second drain is a no-op"
        );
    }
}
