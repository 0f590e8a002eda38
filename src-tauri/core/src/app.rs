//! `App`: one running core for one tenant — its session, catalogue, audit writer, the
//! endpoints it serves and the tool calls in flight. Hosts do not build it themselves: the
//! [`crate::host::Supervisor`] starts, stops and restarts it (tests may start one directly).
//!
//! Stopping is ordered so that nothing is lost and nothing is left behind: the endpoints
//! stop accepting (the socket file goes), the calls in flight get a grace period and are
//! then cancelled, the MCP sessions close, a sign-in in progress is cancelled, and the audit
//! writer drains.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::activity::{spawn_audit_writer, ActivityBus, AuditWriter};
use crate::approval::Approvals;
use crate::auth::{
    BrowserOpener, FileStore, KeychainStore, LoginOptions, MemoryStore, Session, SessionStatus,
    SystemBrowser, TokenStore,
};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, TokenStoreKind};
use crate::mcp::{CallGate, Guard, ListeningSessions, McpService};
use crate::policy::Policy;
use crate::tenant::TenantClient;
use crate::tools::Registry;

/// The assistant name a revert's call carries.
pub const REVERT_CLIENT: &str = "AIC MCP Desktop (revert)";

/// Why a change was not undone.
#[derive(Debug, thiserror::Error)]
pub enum RevertError {
    #[error("the change journal is off in this run")]
    NoJournal,
    #[error("{0}")]
    Journal(String),
    #[error("this change cannot be undone: {0}")]
    Impossible(String),
    #[error("the revert did not go through: {0}")]
    Failed(String),
}

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("AIC_CA_FILE: {0}")]
    CaFile(String),
    #[error("{0}")]
    Tenant(String),
    #[error("cannot open the audit log in {dir}: {detail}")]
    AuditLog { dir: String, detail: String },
    #[error("MCP transport: {0}")]
    Transport(String),
}

/// Parts a host or a test may replace.
#[derive(Clone)]
pub struct AppParts {
    pub browser: Arc<dyn BrowserOpener>,
    pub clock: Arc<dyn Clock>,
    /// Overrides the store chosen by the configuration.
    pub store: Option<Arc<dyn TokenStore>>,
    /// Start a login when a tool needs one (headless); the desktop says "not signed in".
    pub interactive_on_demand: bool,
    /// Overrides the 5-minute browser login timeout (tests).
    pub login_timeout: Option<Duration>,
    /// Write the JSONL audit file.
    pub audit_log: bool,
    /// The bus to publish on: a host that restarts its core keeps one live log. A new bus
    /// when `None`.
    pub bus: Option<Arc<ActivityBus>>,
    /// The rules in force (mode, switches); a host shares one across restarts. Allow all
    /// when `None`.
    pub policy: Option<Arc<Policy>>,
    /// The window's approval queue (desktop). Without it, a call that needs approval asks
    /// through MCP elicitation.
    pub approvals: Option<Arc<Approvals>>,
    /// The tenant profile this core serves (its name in the activity, the journal and
    /// the server name assistants see).
    pub profile: Option<String>,
    /// Keep the change journal; `None`: when `audit_log` is on (a host that writes the
    /// audit file itself for several cores turns `audit_log` off and this on).
    pub journal: Option<bool>,
}

impl Default for AppParts {
    fn default() -> Self {
        Self {
            browser: Arc::new(SystemBrowser),
            clock: Arc::new(SystemClock),
            store: None,
            interactive_on_demand: true,
            login_timeout: None,
            audit_log: true,
            bus: None,
            policy: None,
            approvals: None,
            profile: None,
            journal: None,
        }
    }
}

impl std::fmt::Debug for AppParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppParts")
            .field("store", &self.store)
            .field("interactive_on_demand", &self.interactive_on_demand)
            .field("audit_log", &self.audit_log)
            .finish_non_exhaustive()
    }
}

/// How long calls in flight may run on when the core stops, before they are cancelled.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long an endpoint may take to close once its sessions were told to end.
const ENDPOINT_CLOSE: Duration = Duration::from_secs(3);

/// What a stop did, for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StopReport {
    /// Calls still running after the grace period, which were cancelled.
    pub cancelled_calls: usize,
    /// Endpoint tasks that did not end in time and were aborted.
    pub aborted_endpoints: usize,
}

/// The running core.
pub struct App {
    config: Config,
    bus: Arc<ActivityBus>,
    session: Arc<Session>,
    registry: Arc<Registry>,
    gate: Arc<CallGate>,
    guard: Guard,
    /// Stops the sign-in flows and the audit writer (last).
    cancel: CancellationToken,
    /// Stops the endpoints from accepting connections (first).
    accept_stop: CancellationToken,
    /// Ends the MCP sessions (after the calls in flight have drained).
    sessions: CancellationToken,
    audit: Mutex<Option<AuditWriter>>,
    /// Endpoint tasks (socket, HTTP), awaited on shutdown.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tenant", &self.config.tenant)
            .finish_non_exhaustive()
    }
}

/// Sends `notifications/tools/list_changed` to this core's sessions whenever the mode or a
/// switch changes, until the core stops.
async fn tell_sessions_of_list_changes(guard: Guard, stop: CancellationToken) {
    let mut rules = guard.policy.subscribe();
    let mut listed = {
        let r = rules.borrow_and_update();
        (r.mode, r.off.clone())
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = rules.changed() => if changed.is_err() { return },
        }
        let now = {
            let r = rules.borrow_and_update();
            (r.mode, r.off.clone())
        };
        if now != listed {
            listed = now;
            let told = guard.sessions.notify_all().await;
            tracing::info!(sessions = told, "tool list changed (mode or tool switches)");
        }
    }
}

/// How many events the live log keeps for a window that opens late.
pub const RECENT_EVENTS: usize = 10_000;

/// The token store a configuration asks for.
pub fn store_for(config: &Config) -> Arc<dyn TokenStore> {
    match &config.token_store {
        TokenStoreKind::Keychain => Arc::new(KeychainStore::default()),
        TokenStoreKind::File(path) => Arc::new(FileStore::new(path.clone())),
        TokenStoreKind::Memory => Arc::new(MemoryStore::default()),
    }
}

impl App {
    /// Builds the core from a configuration. Must run inside a tokio runtime.
    pub fn start(config: Config, parts: AppParts) -> Result<Arc<Self>, AppError> {
        let bus = parts
            .bus
            .clone()
            .unwrap_or_else(|| ActivityBus::new(RECENT_EVENTS));
        let cancel = CancellationToken::new();
        let ca = match &config.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| AppError::CaFile(e.to_string()))?),
            None => None,
        };
        let client = TenantClient::new(
            config.tenant.clone(),
            ca.as_deref(),
            bus.clone(),
            config.sanitize_errors,
        )
        .map_err(|e| AppError::Tenant(e.to_string()))?;
        let store = parts.store.unwrap_or_else(|| store_for(&config));
        let mut opts = LoginOptions::new(config.login_mode(), config.redirect_port);
        opts.interactive_on_demand = parts.interactive_on_demand;
        if let Some(t) = parts.login_timeout {
            opts.login_timeout = t;
        }
        let session = Session::new(client, store, parts.clock, parts.browser, opts);
        let audit = if parts.audit_log {
            Some(
                spawn_audit_writer(&bus, &config.log_dir, cancel.child_token()).map_err(|e| {
                    AppError::AuditLog {
                        dir: config.log_dir.display().to_string(),
                        detail: e.to_string(),
                    }
                })?,
            )
        } else {
            None
        };
        let registry = Arc::new(Registry::new(config.container_mode));
        let guard = Guard {
            policy: parts.policy.unwrap_or_default(),
            approvals: parts.approvals,
            sessions: Arc::new(ListeningSessions::default()),
            // The journal sits beside the audit file (and is off when that is, unless the
            // host says otherwise).
            journal: parts
                .journal
                .unwrap_or(parts.audit_log)
                .then(|| crate::journal::Journal::new(&config.log_dir)),
            profile: parts.profile,
        };
        tokio::spawn(tell_sessions_of_list_changes(
            guard.clone(),
            cancel.child_token(),
        ));
        Ok(Arc::new(Self {
            config,
            bus,
            session,
            registry,
            gate: CallGate::new(),
            guard,
            cancel,
            accept_stop: CancellationToken::new(),
            sessions: CancellationToken::new(),
            audit: Mutex::new(audit),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn bus(&self) -> &Arc<ActivityBus> {
        &self.bus
    }

    /// The calls in flight.
    pub fn calls(&self) -> &Arc<CallGate> {
        &self.gate
    }

    /// An MCP service for one connection.
    pub fn mcp_service(&self) -> McpService {
        McpService::new(
            self.registry.clone(),
            self.session.clone(),
            self.bus.clone(),
            self.gate.clone(),
        )
        .with_guard(self.guard.clone())
    }

    /// The rules in force and the approval queue.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Undoes a journaled change: the restore call runs as an ordinary tool call (the
    /// policy, an approval in ask mode, the journal and the log all see it), named as
    /// AIC MCP Desktop's revert. Returns the call's result text; `Err` when the change
    /// cannot be undone or the call failed.
    pub async fn revert(&self, id: &str) -> Result<String, RevertError> {
        let journal = self.guard.journal.clone().ok_or(RevertError::NoJournal)?;
        let key = id.to_string();
        let change = tokio::task::spawn_blocking(move || journal.get(&key))
            .await
            .map_err(|e| RevertError::Failed(e.to_string()))?
            .map_err(|e| RevertError::Journal(e.to_string()))?;
        let restore = match change.undo {
            crate::journal::Undo::Possible { restore, .. } => restore,
            crate::journal::Undo::Impossible { why } => return Err(RevertError::Impossible(why)),
        };
        let caller = crate::mcp::Caller {
            client: Some(REVERT_CLIENT.into()),
            reverts: Some(change.id),
            ..Default::default()
        };
        let result = self
            .mcp_service()
            .call_as(
                &restore.tool,
                restore.arguments,
                caller,
                CancellationToken::new(),
            )
            .await;
        let text: String = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        if result.is_error == Some(true) {
            Err(RevertError::Failed(text))
        } else {
            Ok(text)
        }
    }

    fn service_factory(&self) -> impl Fn() -> McpService + Send + Sync + 'static {
        let (registry, session, bus, gate, guard) = (
            self.registry.clone(),
            self.session.clone(),
            self.bus.clone(),
            self.gate.clone(),
            self.guard.clone(),
        );
        move || {
            McpService::new(registry.clone(), session.clone(), bus.clone(), gate.clone())
                .with_guard(guard.clone())
        }
    }

    /// Restores a stored login (valid, same tenant) without any prompt.
    pub async fn restore_login(&self) -> bool {
        self.session.restore().await
    }

    pub async fn login(&self) -> Result<(), crate::auth::AuthError> {
        self.session.login(None).await
    }

    pub async fn logout(&self) -> Result<(), crate::auth::AuthError> {
        self.session.logout().await
    }

    /// Learns the signed-in admin's name (no login is started).
    pub async fn identify(&self) -> Option<String> {
        self.session.identify().await
    }

    /// Signs out when the token has expired and cannot be refreshed; `true` if it did.
    pub async fn check_expiry(&self) -> bool {
        self.session.check_expiry().await
    }

    pub fn cancel_login(&self) {
        self.session.cancel_login();
    }

    pub fn subscribe_status(&self) -> tokio::sync::watch::Receiver<SessionStatus> {
        self.session.subscribe_status()
    }

    pub fn status(&self) -> SessionStatus {
        self.session.status()
    }

    /// Serves MCP over this process's stdin/stdout until stdin closes or the app stops.
    pub async fn serve_stdio(&self) -> Result<(), AppError> {
        use rmcp::ServiceExt;
        let running = self
            .mcp_service()
            .serve_with_ct(rmcp::transport::stdio(), self.sessions.child_token())
            .await
            .map_err(|e| AppError::Transport(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| AppError::Transport(e.to_string()))?;
        Ok(())
    }

    /// Serves MCP on the local unix socket (0600 in a 0700 directory) until the app stops;
    /// returns the socket's path. Every connection gets its own MCP session, all sharing
    /// this app's login.
    pub async fn serve_socket(
        &self,
        path: &std::path::Path,
    ) -> Result<std::path::PathBuf, crate::mcp::socket::SocketError> {
        self.serve_socket_until(path, self.accept_stop.clone())
            .await
    }

    /// A token that stops one endpoint accepting before the core stops (its sessions stay
    /// until the core stops); the core's stop fires it too.
    pub fn endpoint_stop(&self) -> CancellationToken {
        self.accept_stop.child_token()
    }

    /// [`App::serve_socket`], accepting until `stop` (see [`App::endpoint_stop`]).
    pub async fn serve_socket_until(
        &self,
        path: &std::path::Path,
        stop: CancellationToken,
    ) -> Result<std::path::PathBuf, crate::mcp::socket::SocketError> {
        let listener = crate::mcp::socket::SocketListener::bind(path).await?;
        let bound = listener.path().to_path_buf();
        let task =
            tokio::spawn(listener.serve(self.service_factory(), stop, self.sessions.clone()));
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
        Ok(bound)
    }

    /// Serves MCP over Streamable HTTP on 127.0.0.1:`port` (0 = any free port), guarded by
    /// `bearer` and Host/Origin checks, until the app stops.
    pub async fn serve_http(
        &self,
        port: u16,
        bearer: crate::secret::LocalBearer,
    ) -> Result<std::net::SocketAddr, crate::mcp::http::HttpError> {
        self.serve_http_until(port, bearer, self.accept_stop.clone())
            .await
    }

    /// [`App::serve_http`], accepting until `stop` (see [`App::endpoint_stop`]).
    pub async fn serve_http_until(
        &self,
        port: u16,
        bearer: crate::secret::LocalBearer,
        stop: CancellationToken,
    ) -> Result<std::net::SocketAddr, crate::mcp::http::HttpError> {
        let endpoint = crate::mcp::http::serve_http(
            port,
            bearer,
            self.service_factory(),
            stop,
            self.sessions.clone(),
        )
        .await?;
        let addr = endpoint.addr;
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(endpoint.task);
        }
        Ok(addr)
    }

    /// Stops everything with the default grace period for calls in flight.
    pub async fn shutdown(&self) -> StopReport {
        self.shutdown_with_grace(STOP_GRACE).await
    }

    /// Stops everything, in order: no new connections (the socket file is removed), the
    /// calls in flight finish within `grace` or are cancelled, the MCP sessions close, a
    /// sign-in in progress is cancelled, and the audit log drains. Safe to call twice.
    pub async fn shutdown_with_grace(&self, grace: Duration) -> StopReport {
        self.accept_stop.cancel();
        let cancelled_calls = self.gate.drain(grace).await;
        if cancelled_calls > 0 {
            tracing::info!(
                cancelled_calls,
                "calls still running after the grace period were cancelled"
            );
        }
        self.session.cancel_login();
        self.sessions.cancel();
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        let mut aborted_endpoints = 0;
        for mut task in tasks {
            if tokio::time::timeout(ENDPOINT_CLOSE, &mut task)
                .await
                .is_err()
            {
                tracing::warn!("an MCP endpoint did not close in time; aborted");
                task.abort();
                aborted_endpoints += 1;
            }
        }
        self.cancel.cancel();
        let audit = self.audit.lock().ok().and_then(|mut a| a.take());
        if let Some(audit) = audit {
            audit.finish().await;
        }
        StopReport {
            cancelled_calls,
            aborted_endpoints,
        }
    }
}
