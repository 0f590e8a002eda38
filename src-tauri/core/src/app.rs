//! The `App` façade: what every host (headless server, desktop shell, tests) calls. It
//! owns the root `CancellationToken`, the activity bus, the session and the catalogue.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::activity::{spawn_audit_writer, ActivityBus, ActivityEvent, AuditWriter};
use crate::auth::{
    BrowserOpener, FileStore, KeychainStore, LoginOptions, MemoryStore, Session, SessionStatus,
    SystemBrowser, TokenStore,
};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, TokenStoreKind};
use crate::mcp::McpService;
use crate::tenant::TenantClient;
use crate::tools::Registry;

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
pub struct AppParts {
    pub browser: Arc<dyn BrowserOpener>,
    pub clock: Arc<dyn Clock>,
    /// Overrides the store chosen by the configuration.
    pub store: Option<Arc<dyn TokenStore>>,
    /// Start a login when a tool needs one (headless); the desktop says "not signed in".
    pub interactive_on_demand: bool,
    /// Overrides the 5-minute browser login timeout (tests).
    pub login_timeout: Option<std::time::Duration>,
    /// Write the JSONL audit file.
    pub audit_log: bool,
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
        }
    }
}

/// The running core.
pub struct App {
    config: Config,
    bus: Arc<ActivityBus>,
    session: Arc<Session>,
    registry: Arc<Registry>,
    cancel: CancellationToken,
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

/// How many events the live log keeps for a window that opens late.
const RECENT_EVENTS: usize = 10_000;

impl App {
    /// Builds the core from a configuration. Must run inside a tokio runtime.
    pub fn start(config: Config, parts: AppParts) -> Result<Arc<Self>, AppError> {
        let bus = ActivityBus::new(RECENT_EVENTS);
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
        let store: Arc<dyn TokenStore> = match parts.store {
            Some(s) => s,
            None => match &config.token_store {
                TokenStoreKind::Keychain => Arc::new(KeychainStore::default()),
                TokenStoreKind::File(path) => Arc::new(FileStore::new(path.clone())),
                TokenStoreKind::Memory => Arc::new(MemoryStore::default()),
            },
        };
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
        Ok(Arc::new(Self {
            config,
            bus,
            session,
            registry,
            cancel,
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

    /// The root cancellation token; hosts derive child tokens from it.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// An MCP service for one connection.
    pub fn mcp_service(&self) -> McpService {
        McpService::new(
            self.registry.clone(),
            self.session.clone(),
            self.bus.clone(),
        )
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

    pub fn recent_activity(&self) -> Vec<ActivityEvent> {
        self.bus.recent()
    }

    /// Serves MCP over this process's stdin/stdout until stdin closes or the app stops.
    pub async fn serve_stdio(&self) -> Result<(), AppError> {
        use rmcp::ServiceExt;
        let running = self
            .mcp_service()
            .serve_with_ct(rmcp::transport::stdio(), self.cancel.child_token())
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
        let listener = crate::mcp::socket::SocketListener::bind(path).await?;
        let bound = listener.path().to_path_buf();
        let (registry, session, bus) = (
            self.registry.clone(),
            self.session.clone(),
            self.bus.clone(),
        );
        let task = tokio::spawn(listener.serve(
            move || McpService::new(registry.clone(), session.clone(), bus.clone()),
            self.cancel.child_token(),
        ));
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(task);
        }
        Ok(bound)
    }

    /// Serves MCP over Streamable HTTP on 127.0.0.1:`port` (0 = any free port), guarded by
    /// `bearer` and Host/Origin checks. Stops with the app or with `stop`.
    pub async fn serve_http(
        &self,
        port: u16,
        bearer: crate::secret::LocalBearer,
        stop: Option<CancellationToken>,
    ) -> Result<std::net::SocketAddr, crate::mcp::http::HttpError> {
        let (registry, session, bus) = (
            self.registry.clone(),
            self.session.clone(),
            self.bus.clone(),
        );
        let cancel = stop.unwrap_or_else(|| self.cancel.child_token());
        let endpoint = crate::mcp::http::serve_http(
            port,
            bearer,
            move || McpService::new(registry.clone(), session.clone(), bus.clone()),
            cancel,
        )
        .await?;
        let addr = endpoint.addr;
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(endpoint.task);
        }
        Ok(addr)
    }

    /// Stops everything and waits (bounded) for the endpoints and the audit log to drain.
    pub async fn shutdown(&self) {
        self.session.cancel_login();
        self.cancel.cancel();
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for task in tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
        let audit = self.audit.lock().ok().and_then(|mut a| a.take());
        if let Some(audit) = audit {
            audit.finish().await;
        }
    }
}
