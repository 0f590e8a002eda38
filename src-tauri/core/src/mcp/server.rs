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
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, Peer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::task_tracker::{TaskTracker, TaskTrackerToken};

use crate::activity::Masking;
use crate::activity::{
    mask_arguments, now_rfc3339, ActivityBus, ActivityEvent, GuardStep, Outcome,
};
use crate::approval::{Approvals, ApprovedBy, Question, Queued, Verdict};
use crate::auth::{DevicePrompt, PromptAnswer, Session, StderrPrompt};
use crate::journal::{Change, Journal, Undo};
use crate::policy::{self, Decision, Policy};
use crate::tools::{CallCtx, Registry, Subject, ToolDef, Track};

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

/// The MCP sessions of one running core (each since it was initialized): told
/// `notifications/tools/list_changed`, and listed in the window.
#[derive(Debug, Default)]
pub struct ListeningSessions {
    peers: Mutex<Vec<(Peer<RoleServer>, String)>>,
}

/// One connected assistant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConnectedSession {
    /// Its MCP client name and version from `initialize` (Claude Code, Cursor, …).
    pub client: Option<String>,
    pub client_version: Option<String>,
    /// When it connected (RFC 3339).
    pub since: String,
}

impl ListeningSessions {
    fn add(&self, peer: Peer<RoleServer>) {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        peers.retain(|(p, _)| !p.is_transport_closed());
        peers.push((peer, now_rfc3339()));
    }

    /// The sessions still open, oldest first.
    pub fn connected(&self) -> Vec<ConnectedSession> {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        peers.retain(|(p, _)| !p.is_transport_closed());
        peers
            .iter()
            .map(|(p, since)| {
                let info = p.peer_info();
                ConnectedSession {
                    client: info.as_ref().map(|i| i.client_info.name.clone()),
                    client_version: info.map(|i| i.client_info.version.clone()),
                    since: since.clone(),
                }
            })
            .collect()
    }

    /// Tells every open session that the tool list changed; returns how many were told.
    pub async fn notify_all(&self) -> usize {
        let peers: Vec<_> = {
            let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
            peers.retain(|(p, _)| !p.is_transport_closed());
            peers.iter().map(|(p, _)| p.clone()).collect()
        };
        let mut told = 0;
        for p in peers {
            match p.notify_tool_list_changed().await {
                Ok(()) => told += 1,
                Err(e) => tracing::debug!(error = %e, "list_changed not sent (session closed)"),
            }
        }
        told
    }
}

/// What guards the calls: the rules in force and, in the desktop, the window's approval
/// queue (without it, a call that needs approval asks through MCP elicitation).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub policy: Arc<Policy>,
    pub approvals: Option<Arc<Approvals>>,
    pub sessions: Arc<ListeningSessions>,
    /// Where the writes that reach the tenant are journaled.
    pub journal: Option<Arc<Journal>>,
    /// The tenant profile this core serves (`None`: a tenant from `AIC_BASE_URL`, or the
    /// demo with no profile). Its sessions are bound to it for their whole life.
    pub profile: Option<String>,
}

/// Who is calling: the client's name and what can be asked of it.
#[derive(Clone, Default)]
pub struct Caller {
    pub client: Option<String>,
    /// The journaled change this call reverts (the app's Revert).
    pub reverts: Option<String>,
    /// Shows the device-login URL (MCP elicitation, else stderr).
    pub prompt: Option<Arc<dyn DevicePrompt>>,
    /// Asks the admin through the client (MCP elicitation), headless only.
    pub confirm: Option<Arc<dyn Confirm>>,
}

/// Asks the admin to confirm a change through the assistant (MCP elicitation).
#[async_trait::async_trait]
pub trait Confirm: Send + Sync {
    /// Whether the assistant can be asked at all (it declared form elicitation). A call
    /// that cannot ask is denied without a `waiting` step.
    fn can_ask(&self) -> bool;

    async fn confirm(&self, q: &Question, timeout: Duration) -> Verdict;
}

/// One MCP service; cheap to clone, one per connection, all sharing the session.
#[derive(Clone)]
pub struct McpService {
    registry: Arc<Registry>,
    session: Arc<Session>,
    bus: Arc<ActivityBus>,
    gate: Arc<CallGate>,
    guard: Guard,
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
            guard: Guard::default(),
        }
    }

    /// The same service under `guard`'s rules.
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// The tool list as `tools/list` returns it: the tools the rules let the assistant
    /// call (switched-off tools, and writes in read-only mode, are absent).
    pub fn list(&self) -> Vec<Tool> {
        let rules = self.guard.policy.rules();
        self.registry
            .tools()
            .iter()
            .filter(|t| !matches!(rules.decide(t.name, t.family, t.hints), Decision::Refuse(_)))
            .map(descriptor)
            .collect()
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
        let caller = Caller {
            client,
            prompt,
            ..Caller::default()
        };
        self.call_as(name, arguments, caller, cancelled).await
    }

    /// One call: policy, validation, approval (when the policy asks), body; each step
    /// published on the activity bus.
    pub async fn call_as(
        &self,
        name: &str,
        arguments: Value,
        caller: Caller,
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
            client: caller.client.clone(),
            profile: self.guard.profile.clone(),
            arguments: masked,
        });
        let ticket = self.gate.enter();
        let (outcome, text) = match (def, &ticket) {
            (_, None) => (Outcome::Error, REFUSED_WHILE_STOPPING.to_string()),
            (None, _) => (Outcome::Rejected, format!("Tool {name} not found")),
            (Some(def), Some(_)) => {
                let decision = self.guard.policy.decide(def.name, def.family, def.hints);
                if let Decision::Refuse(refusal) = decision {
                    let text = refusal.message(def.name);
                    self.guard_step(
                        call_id,
                        def.name,
                        GuardStep::Refused,
                        None,
                        None,
                        Some(&text),
                    );
                    (Outcome::Refused, text)
                } else {
                    let write = !policy::is_read_only(def.hints);
                    // What a write addresses, for the journal and the approval card.
                    // A call that must ask and cannot (no window, a client without
                    // elicitation) is refused before anything is read.
                    let askable = self.guard.approvals.is_some()
                        || caller.confirm.as_ref().is_some_and(|c| c.can_ask());
                    let doomed = decision == Decision::Ask && !askable;
                    // Read only when something uses the states: the journal, or a card.
                    let tracked = if write
                        && !doomed
                        && (self.guard.journal.is_some() || decision == Decision::Ask)
                    {
                        def.track
                            .as_ref()
                            .and_then(|t| t.subject(def.name, &arguments).map(|s| (t.clone(), s)))
                    } else {
                        None
                    };
                    let journaled = (write && self.guard.journal.is_some())
                        .then(|| mask_arguments(&arguments, def.masking()));
                    // Only a call that asks keeps a copy of its arguments (for the digest).
                    let asked = (decision == Decision::Ask).then(|| arguments.clone());
                    let ctx = CallCtx::new(
                        self.session.clone(),
                        call_id,
                        def.scopes,
                        caller.prompt.clone(),
                    );
                    let probe = ctx.clone();
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
                            r = async {
                                let mut tracked = tracked;
                                let before = match &mut tracked {
                                    Some((t, subject)) => read_state(t.as_ref(), &probe, subject).await,
                                    None => None,
                                };
                                if let Some(args) = asked {
                                    let shown = Shown {
                                        subject: tracked.as_ref().map(|(_, s)| s.label.clone()),
                                        proposed: match (&tracked, &before) {
                                            (Some((t, _)), Some(now)) => t
                                                .preview(def.name, &args, now)
                                                .map(|p| mask_arguments(&p, Masking::default())),
                                            _ => None,
                                        },
                                        current: before.clone(),
                                    };
                                    self.approve(call_id, def, &caller, args, shown).await?;
                                }
                                match body.await {
                                    Ok(text) => {
                                        if let Some(arguments) = journaled {
                                            self.journal(call_id, def, &caller, &probe, tracked, before, arguments).await;
                                        }
                                        Ok((Outcome::Ok, text))
                                    }
                                    Err(text) => Ok((Outcome::Error, text)),
                                }
                            } => r.unwrap_or_else(|denied: String| (Outcome::Denied, denied)),
                        },
                    }
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

    fn guard_step(
        &self,
        call_id: u64,
        tool: &str,
        step: GuardStep,
        by: Option<ApprovedBy>,
        approval_id: Option<u64>,
        detail: Option<&str>,
    ) {
        self.bus.publish(ActivityEvent::Guard {
            call_id,
            at: now_rfc3339(),
            tool: tool.to_string(),
            step,
            by,
            approval_id,
            detail: detail.map(str::to_string),
        });
    }

    /// Waits for the admin: the window's queue in the desktop, the client's elicitation
    /// headless. `Err` is the text of a call that must not run.
    async fn approve(
        &self,
        call_id: u64,
        def: &ToolDef,
        caller: &Caller,
        arguments: Value,
        shown: Shown,
    ) -> Result<(), String> {
        let timeout = self.guard.policy.rules().approval_timeout;
        let question = Question {
            call_id,
            client: caller.client.clone(),
            tenant: self.session.client().tenant().origin(),
            tool: def.name.to_string(),
            title: def.title.to_string(),
            destructive: policy::is_destructive(def.hints),
            masked_arguments: mask_arguments(&arguments, def.masking()),
            arguments,
            subject: shown.subject,
            current: shown.current,
            proposed: shown.proposed,
        };
        let verdict = match (&self.guard.approvals, &caller.confirm) {
            (Some(queue), _) => match queue.enqueue(question, timeout) {
                Queued::Granted => Verdict::Approved(ApprovedBy::Grant),
                Queued::Waiting(card) => {
                    self.guard_step(
                        call_id,
                        def.name,
                        GuardStep::Waiting,
                        None,
                        Some(card.id()),
                        None,
                    );
                    card.wait().await
                }
            },
            (None, Some(confirm)) if confirm.can_ask() => {
                self.guard_step(
                    call_id,
                    def.name,
                    GuardStep::Waiting,
                    None,
                    None,
                    Some("asked through the assistant (MCP elicitation)"),
                );
                confirm.confirm(&question, timeout).await
            }
            (None, _) => Verdict::Unavailable(NO_ELICITATION.to_string()),
        };
        let (step, by, text) = match verdict {
            Verdict::Approved(by) => {
                self.guard_step(call_id, def.name, GuardStep::Approved, Some(by), None, None);
                return Ok(());
            }
            Verdict::Denied(ApprovedBy::Elicitation) => (
                GuardStep::Denied,
                Some(ApprovedBy::Elicitation),
                DECLINED_IN_CLIENT.to_string(),
            ),
            Verdict::Denied(by) => (GuardStep::Denied, Some(by), DECLINED_IN_APP.to_string()),
            Verdict::TimedOut(t) => (
                GuardStep::TimedOut,
                None,
                timed_out(self.guard.approvals.is_some(), t),
            ),
            Verdict::Dismissed => (
                GuardStep::Denied,
                Some(ApprovedBy::Elicitation),
                DISMISSED_IN_CLIENT.to_string(),
            ),
            Verdict::Unavailable(why) => (GuardStep::Denied, None, why),
        };
        self.guard_step(call_id, def.name, step, by, None, Some(&text));
        Err(text)
    }
}

/// What an approval shows of the object a call addresses (secrets masked).
struct Shown {
    /// How the window names it.
    subject: Option<String>,
    /// As it is now.
    current: Option<Value>,
    /// As the call would leave it, where the tool can tell.
    proposed: Option<Value>,
}

/// The state of what a write addresses, secrets masked; `None` when it does not exist or
/// could not be read (the call goes on; the journal then has no state). Once read, the
/// subject keeps the object's `_id`, so a rename does not lose it.
async fn read_state(t: &dyn Track, ctx: &CallCtx, subject: &mut Subject) -> Option<Value> {
    match t.read(ctx, subject).await {
        Ok(Some(v)) => {
            if let (Some(id), Value::Object(key)) =
                (v.get("_id").and_then(Value::as_str), &mut subject.key)
            {
                key.entry("id")
                    .or_insert_with(|| Value::String(id.to_string()));
            }
            Some(mask_arguments(&v, Masking::default()))
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, label = %subject.label, "could not read the state a write addresses");
            None
        }
    }
}

impl McpService {
    /// Journals a write that reached the tenant: the states before and after (re-read),
    /// the transaction ids, and how it can be undone.
    #[allow(clippy::too_many_arguments)]
    async fn journal(
        &self,
        call_id: u64,
        def: &ToolDef,
        caller: &Caller,
        ctx: &CallCtx,
        tracked: Option<(Arc<dyn Track>, Subject)>,
        before: Option<Value>,
        arguments: Value,
    ) {
        let Some(journal) = &self.guard.journal else {
            return;
        };
        let (subject, after, undo) = match tracked {
            Some((t, mut subject)) => {
                let after = read_state(t.as_ref(), ctx, &mut subject).await;
                let undo = match t.restore(def.name, &subject, before.as_ref(), after.as_ref()) {
                    Ok(restore) => Undo::Possible {
                        action: if def.name.starts_with("delete") {
                            "re-create"
                        } else {
                            "revert"
                        }
                        .into(),
                        restore,
                    },
                    Err(why) => Undo::Impossible { why },
                };
                (Some(subject), after, undo)
            }
            None => (
                None,
                None,
                Undo::Impossible {
                    why: not_undoable(def.name),
                },
            ),
        };
        let change = Change {
            profile: self.guard.profile.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            at: now_rfc3339(),
            call_id,
            client: caller.client.clone(),
            tenant: self.session.client().tenant().origin(),
            tool: def.name.to_string(),
            title: def.title.to_string(),
            subject,
            arguments,
            before,
            after,
            transaction_ids: ctx.transaction_ids(),
            undo,
            reverts: caller.reverts.clone(),
        };
        let journal = journal.clone();
        let written = tokio::task::spawn_blocking(move || journal.append(&change)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "change not journaled"),
            Err(e) => tracing::error!(error = %e, "change not journaled"),
        }
    }
}

/// Why a write without a tracker cannot be undone from the journal.
fn not_undoable(tool: &str) -> String {
    match tool {
        "installIdmFeature" => "A feature install is one-way: it cannot be uninstalled.".into(),
        "enableAiAgent" => "Enabling the AI agent is not undone here; turn it off in the tenant's console.".into(),
        t if t.starts_with("create") => "A create is undone by deleting what it created (its id is in the result).".into(),
        _ => "This kind of change is journaled, but its object is not read back, so it cannot be undone here.".into(),
    }
}

/// How much of a value one line of a confirmation prompt's "What will change" shows.
const CHANGE_LINE_CHARS: usize = 200;

const DECLINED_IN_APP: &str =
    "The admin declined this change in AIC MCP Desktop. Nothing was sent to the tenant.";
const DECLINED_IN_CLIENT: &str =
    "The admin declined this change when asked to confirm it. Nothing was sent to the tenant.";
const DISMISSED_IN_CLIENT: &str = "The admin dismissed the confirmation without approving this change. Nothing was sent to the tenant; call the tool again to be asked again.";
const NO_ELICITATION: &str = "This change needs the admin's approval, and this assistant cannot ask for it (it does not support MCP elicitation). Nothing was sent to the tenant. To proceed, connect through AIC MCP Desktop (it asks in its window), or have the admin set AIC_MODE=full (or read-only).";

fn timed_out(in_app: bool, t: Duration) -> String {
    let secs = t.as_secs();
    let wait = if secs.is_multiple_of(60) && secs >= 60 {
        let m = secs / 60;
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    } else {
        format!("{secs} second{}", if secs == 1 { "" } else { "s" })
    };
    let place = if in_app { " in AIC MCP Desktop" } else { "" };
    format!("The admin declined this change{place}: no answer within {wait}. Nothing was sent to the tenant.")
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

#[async_trait::async_trait]
impl Confirm for ElicitationPrompt {
    fn can_ask(&self) -> bool {
        self.peer
            .supported_elicitation_modes()
            .contains(&rmcp::service::ElicitationMode::Form)
    }

    async fn confirm(&self, q: &Question, timeout: Duration) -> Verdict {
        if !self.can_ask() {
            return Verdict::Unavailable(NO_ELICITATION.to_string());
        }
        let args = serde_json::to_string_pretty(&q.masked_arguments).unwrap_or_default();
        let changes = crate::diff::lines(&q.changes(), CHANGE_LINE_CHARS);
        let message = format!(
            "{}.\nTenant: {}\nTool: {} ({})\nArguments:\n{args}{}{}\n\nApprove this change to the tenant?",
            q.summary(),
            q.tenant,
            q.title,
            q.tool,
            if changes.is_empty() {
                String::new()
            } else {
                format!("\nWhat will change:\n  {}", changes.join("\n  "))
            },
            q.current
                .as_ref()
                .map(|c| format!(
                    "\nAs it is now:\n{}",
                    serde_json::to_string_pretty(c).unwrap_or_default()
                ))
                .unwrap_or_default()
        );
        let schema = rmcp::model::ElicitationSchema::builder()
            .required_bool_with(CONFIRM_FIELD, |b| {
                b.title("Approve this change")
                    .description("Yes runs the call with exactly these arguments.")
            })
            .build();
        let schema = match schema {
            Ok(s) => s,
            Err(e) => return Verdict::Unavailable(format!("cannot ask for approval: {e}")),
        };
        let result = self
            .peer
            .create_elicitation_with_timeout(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema: schema,
                },
                Some(timeout),
            )
            .await;
        match result {
            Ok(r) => match r.action {
                ElicitationAction::Accept => {
                    let yes = r
                        .content
                        .as_ref()
                        .and_then(|c| c.get(CONFIRM_FIELD))
                        .and_then(Value::as_bool)
                        == Some(true);
                    if yes {
                        Verdict::Approved(ApprovedBy::Elicitation)
                    } else {
                        Verdict::Denied(ApprovedBy::Elicitation)
                    }
                }
                ElicitationAction::Decline => Verdict::Denied(ApprovedBy::Elicitation),
                _ => Verdict::Dismissed,
            },
            Err(rmcp::ServiceError::Timeout { timeout }) => Verdict::TimedOut(timeout),
            Err(e) => Verdict::Unavailable(format!(
                "This change needs the admin's approval, and asking through the assistant failed ({e}). Nothing was sent to the tenant."
            )),
        }
    }
}

/// The form field the admin ticks to approve (headless elicitation).
const CONFIRM_FIELD: &str = "approve";

impl ServerHandler for McpService {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(
            match &self.guard.profile {
                // The model sees which tenant a server reaches.
                Some(p) => format!("{SERVER_NAME} ({p})"),
                None => SERVER_NAME.to_string(),
            },
            env!("CARGO_PKG_VERSION"),
        ))
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

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.guard.sessions.add(context.peer);
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
        let elicit = Arc::new(ElicitationPrompt {
            peer: context.peer.clone(),
        });
        let caller = Caller {
            client,
            prompt: Some(elicit.clone()),
            confirm: Some(elicit),
            reverts: None,
        };
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        // `context.ct` fires on `notifications/cancelled` for this request.
        Ok(self
            .call_as(&request.name, args, caller, context.ct)
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
