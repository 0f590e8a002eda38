//! `core::host`: the one owner of the core's lifecycle. The desktop shell and
//! `aic-mcp-server` (stdio and `serve`) are thin callers of a [`Supervisor`]: it turns the
//! settings and the environment into a running [`App`] (a configured tenant, or the demo
//! tenant from a [`TenantProvider`]), serves the local socket and the opt-in HTTP endpoint
//! (with its bearer), restores a stored login, publishes one [`HostStatus`], raises
//! [`Notice`]s, and owns the expiry timer (fired from the token's expiry).
//!
//! Start, stop and restart are serialized: each holds the lifecycle lock from the first
//! step to the last, so two overlapping restarts run one after the other and never leave
//! an orphaned socket, HTTP server, session or audit writer. The activity bus outlives
//! restarts, so the live log is one log.

pub mod expiry;
mod production;
mod provider;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

pub use production::{LiftError, LiftRequest, LIFT_DEFAULT, LIFT_RANGE};
pub use provider::{ProvideRequest, ProvidedTenant, TenantProvider};

use crate::activity::ActivityBus;
use crate::app::{App, AppError, AppParts, StopReport, RECENT_EVENTS, STOP_GRACE};
use crate::approval::Approvals;
use crate::auth::{AuthError, BearerStore, SessionState, SessionStatus, StoreError, SKEW_MS};
use crate::config::{Config, ConfigError};
use crate::policy::{Mode, Policy};
use crate::secret::LocalBearer;
use crate::settings::{Profile, Settings, SettingsError};

/// The process environment, or a test's.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The environment of this process.
pub fn process_env() -> EnvLookup {
    Arc::new(|k: &str| std::env::var(k).ok())
}

/// Where the settings come from.
#[derive(Debug, Clone)]
pub enum SettingsSource {
    /// The desktop's settings file: read at start, written by [`Supervisor::update_settings`].
    File(PathBuf),
    /// Fixed for this run (`aic-mcp-server` takes them from its flags and environment).
    Fixed(Settings),
}

/// How a host wants its core run.
pub struct HostOptions {
    pub settings: SettingsSource,
    /// `--demo`: the demo tenant whatever the settings say.
    pub force_demo: bool,
    /// With no tenant configured anywhere: the demo tenant (desktop), or a configuration
    /// error naming `AIC_BASE_URL` (the headless server).
    pub demo_when_unconfigured: bool,
    /// Serve MCP on this local socket.
    pub socket: Option<PathBuf>,
    /// Browser, clock, token store override, login behaviour, audit file. Its `bus` is
    /// ignored: the supervisor's bus serves every run.
    pub parts: AppParts,
    /// Where the HTTP endpoint's bearer lives (`AIC_MCP_HTTP_TOKEN` wins over it).
    pub bearer: BearerStore,
    pub env: EnvLookup,
    /// The tenant used when none is configured (or with `force_demo`).
    pub demo: Option<Arc<dyn TenantProvider>>,
    /// How long calls in flight may finish when the core stops.
    pub grace: Duration,
    /// The mode when neither the settings nor `AIC_MODE` name one: the desktop asks
    /// before changes; the headless server allows all (a drop-in for the reference).
    pub default_mode: Mode,
    /// How long one minute of a production lift lasts (tests shorten it).
    pub lift_minute: Duration,
    /// The profile to serve (`--profile`); `None`: the settings' active profile.
    pub profile: Option<String>,
    /// Also serve the served profile's own socket beside `socket`
    /// (`profiles/<name>.sock`), so `connect --profile NAME` reaches this profile and no
    /// other.
    pub profile_socket: bool,
}

impl HostOptions {
    /// Defaults: the process environment, the keychain bearer, no socket, no demo tenant
    /// (a host that offers one sets `demo`).
    pub fn new(settings: SettingsSource) -> Self {
        Self {
            settings,
            force_demo: false,
            demo_when_unconfigured: false,
            socket: None,
            parts: AppParts::default(),
            bearer: BearerStore::Keychain(Default::default()),
            env: process_env(),
            demo: None,
            grace: STOP_GRACE,
            default_mode: Mode::Full,
            lift_minute: Duration::from_secs(60),
            profile: None,
            profile_socket: false,
        }
    }
}

/// Where the core is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    Running,
    Stopping,
    Stopped,
    /// It did not start; `HostStatus::problem` says why.
    Failed,
}

/// An endpoint assistants connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Socket,
    Http,
}

/// Why an endpoint is not served, for the UI to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EndpointErrorCode {
    /// Another AIC MCP Desktop (or `serve`) serves the socket.
    InUse,
    /// The HTTP port is taken.
    PortInUse,
    /// The socket's folder is not private to this user.
    UnsafeDir,
    /// No local socket on this platform yet.
    Unsupported,
    /// The bearer could not be read or made (keychain), or `AIC_MCP_HTTP_TOKEN` is too short.
    Bearer,
    Io,
}

/// An endpoint that is not served, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointError {
    pub endpoint: Endpoint,
    pub code: EndpointErrorCode,
    pub message: String,
}

/// How a profile is shown: its name in its colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileTag {
    pub name: String,
    pub colour: String,
}

impl From<&Profile> for ProfileTag {
    fn from(p: &Profile) -> Self {
        Self {
            name: p.name.clone(),
            colour: p.colour.clone(),
        }
    }
}

/// A connected assistant and the profile its session is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionOverview {
    #[serde(flatten)]
    pub session: crate::mcp::ConnectedSession,
    pub profile: Option<String>,
}

/// One profile as the tray's Tenants menu and the window list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileOverview {
    pub name: String,
    pub colour: String,
    /// The tenant's origin; empty for the demo tenant.
    pub tenant: String,
    pub production: bool,
    /// The profile new sessions get.
    pub active: bool,
    pub sign_in: ProfileSignIn,
    /// The signed-in admin, when its core knows it.
    pub admin: Option<String>,
    /// What assistants may do there now.
    pub mode: Mode,
}

/// Whether a profile has a login, from the running core (the active profile) or the
/// stored login (the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProfileSignIn {
    SignedIn {
        expires_at_ms: i64,
    },
    SignedOut,
    /// The built-in demo tenant (signed in on demand).
    Demo,
    /// The stored login could not be read (the keychain is locked or missing).
    Unknown,
}

/// The one status a host shows: the core's phase, the session, the endpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostStatus {
    pub phase: Phase,
    #[serde(flatten)]
    pub session: SessionStatus,
    /// The built-in demo tenant is in use.
    pub demo: bool,
    /// Shown next to Log in (the demo's credentials).
    pub sign_in_hint: Option<String>,
    pub socket_path: Option<String>,
    /// The served profile's own socket (`connect --profile NAME`).
    pub profile_socket_path: Option<String>,
    pub http_url: Option<String>,
    pub endpoint_errors: Vec<EndpointError>,
    /// Why the core did not start, or why the settings file could not be read.
    pub problem: Option<String>,
    /// The mode in force and whether the tenant is marked production.
    pub mode: Mode,
    pub production: bool,
    /// The profile served: its name and colour (`None`: a tenant from `AIC_BASE_URL` or
    /// the demo tenant with no profile).
    pub profile: Option<ProfileTag>,
    /// On a production tenant whose read-only mode the admin lifted: when it ends (Unix
    /// milliseconds).
    pub lifted_until_ms: Option<i64>,
    pub version: &'static str,
}

impl HostStatus {
    fn initial() -> Self {
        Self {
            phase: Phase::Stopped,
            session: SessionStatus::signed_out(""),
            demo: false,
            sign_in_hint: None,
            socket_path: None,
            profile_socket_path: None,
            http_url: None,
            endpoint_errors: Vec::new(),
            problem: None,
            mode: Mode::Full,
            production: false,
            profile: None,
            lifted_until_ms: None,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Something worth telling the admin now (the desktop shows a notification; `serve`
/// writes it to stderr).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    SignedIn {
        tenant: String,
    },
    SignInFailed {
        tenant: String,
        message: String,
    },
    /// The token stops being usable within five minutes and no refresh is certain.
    ExpiresSoon {
        tenant: String,
        expires_at_ms: i64,
    },
    /// The token ran out and could not be refreshed: signed out.
    Expired {
        tenant: String,
    },
    EndpointFailed {
        message: String,
    },
    StartFailed {
        message: String,
    },
    /// A production tenant went back to read only when the admin's lift ran out.
    BackToReadOnly {
        tenant: String,
    },
}

impl Notice {
    pub fn title(&self) -> &'static str {
        match self {
            Self::SignedIn { .. } => "Signed in",
            Self::SignInFailed { .. } => "Sign-in failed",
            Self::ExpiresSoon { .. } => "Token expires in 5 minutes",
            Self::Expired { .. } => "Signed out",
            Self::EndpointFailed { .. } => "Assistants cannot connect",
            Self::StartFailed { .. } => "AIC MCP Desktop could not start",
            Self::BackToReadOnly { .. } => "Back to read only",
        }
    }

    pub fn body(&self) -> String {
        match self {
            Self::SignedIn { tenant } => format!("AIC MCP Desktop is signed in to {tenant}."),
            Self::SignInFailed { message, .. }
            | Self::EndpointFailed { message }
            | Self::StartFailed { message } => message.clone(),
            Self::ExpiresSoon { tenant, .. } => format!(
                "The sign-in to {tenant} expires soon. Log in again to keep your assistants working."
            ),
            Self::Expired { tenant } => {
                format!("Signed out of {tenant} because the token expired.")
            }
            Self::BackToReadOnly { tenant } => format!(
                "The production tenant {tenant} is read only again: the time you allowed changes for is over."
            ),
        }
    }
}

/// What a host asked for could not be done.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Settings(#[from] SettingsError),
    #[error("the settings of this run are fixed (flags and environment); nothing was saved")]
    SettingsFixed,
    #[error("the demo tenant could not start: {0}")]
    Demo(String),
    #[error("no tenant is configured and this build has no demo tenant")]
    NoDemo,
    #[error("{0}")]
    Start(#[from] AppError),
    #[error("{0}")]
    NotReady(String),
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("the HTTP endpoint is off (turn it on in Settings)")]
    HttpOff,
    #[error("{0}")]
    Bearer(#[from] StoreError),
    #[error("{0}")]
    Lift(#[from] LiftError),
    #[error("{0}")]
    Revert(String),
    #[error("the change journal: {0}")]
    Journal(String),
}

impl HostError {
    /// A stable code for UIs that branch on the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) | Self::Settings(SettingsError::Invalid { .. }) => "InvalidSettings",
            Self::Settings(SettingsError::Io { .. }) => "Io",
            Self::SettingsFixed => "SettingsFixed",
            Self::Demo(_) | Self::NoDemo | Self::Start(_) => "StartFailed",
            Self::NotReady(_) => "NotReady",
            Self::Auth(e) => e.code(),
            Self::HttpOff => "HttpOff",
            Self::Bearer(_) => "KeychainUnavailable",
            Self::Lift(e) => e.code(),
            Self::Revert(_) => "RevertFailed",
            Self::Journal(_) => "JournalUnavailable",
        }
    }
}

/// One running core and what belongs to it.
struct Running {
    app: Arc<App>,
    /// Keeps a provided tenant (the demo) alive until the core has stopped.
    tenant_guard: Option<Box<dyn std::any::Any + Send + Sync>>,
    /// Stops the status forwarder and the expiry timer.
    watchers: CancellationToken,
    watcher_tasks: Vec<tokio::task::JoinHandle<()>>,
    bearer: Option<LocalBearer>,
    /// Stops the endpoints only the active core serves (the main socket, HTTP).
    main_stop: CancellationToken,
    /// This core's rules (its profile's mode and switches).
    policy: Arc<Policy>,
    /// The profile it serves, the demo's sign-in hint, its own socket.
    profile: Option<String>,
    sign_in_hint: Option<String>,
    profile_socket_path: Option<String>,
}

/// A core being built: the app and what the host keeps beside it.
struct Core {
    app: Arc<App>,
    tenant_guard: Option<Box<dyn std::any::Any + Send + Sync>>,
    demo: bool,
    sign_in_hint: Option<String>,
    policy: Arc<Policy>,
    profile: Option<String>,
    profile_socket_path: Option<String>,
    endpoint_errors: Vec<EndpointError>,
}

/// The one owner of the core's lifecycle (see the module docs).
pub struct Supervisor {
    opts: HostOptions,
    settings_path: Option<PathBuf>,
    settings: RwLock<Settings>,
    /// Why the settings file could not be read (the defaults are used meanwhile).
    settings_error: Mutex<Option<String>>,
    lifecycle: tokio::sync::Mutex<Option<Running>>,
    current: RwLock<Option<Arc<App>>>,
    bus: Arc<ActivityBus>,
    /// The rules in force for the active profile (its core's), changed live.
    policy: RwLock<Arc<Policy>>,
    /// The cores of profiles that were active and still serve their own sockets (their
    /// sessions stay bound to them), by profile name.
    standby: tokio::sync::Mutex<std::collections::BTreeMap<String, Running>>,
    /// The one audit file writer for every core of this host (they share the bus).
    audit: Mutex<Option<(crate::activity::AuditWriter, CancellationToken)>>,
    /// Read only lifted for a while on a production tenant.
    lift: Mutex<Option<production::Lift>>,
    status: watch::Sender<HostStatus>,
    notices: broadcast::Sender<Notice>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

/// Where a profile's login is kept, and its key there (the tenant's `host[:port]`).
type StoredLogin = (Arc<dyn crate::auth::TokenStore>, String);

/// What is needed to reach a running core's tenant and endpoints.
type Built = (Running, HostStatus, Vec<Notice>);

impl Supervisor {
    /// A supervisor with nothing running yet; the settings file (if any) is read now.
    pub fn new(opts: HostOptions) -> Arc<Self> {
        let (settings_path, settings, settings_error) = match &opts.settings {
            SettingsSource::File(path) => match Settings::load_noting_old_form(path) {
                Ok((s, old)) => {
                    if old {
                        // The file from before profiles, written back in the new form
                        // (one profile named after its tenant's host); kept as read when
                        // it cannot be written.
                        match s.save(path) {
                            Ok(_) => {
                                tracing::info!(path = %path.display(), "settings file moved to profiles")
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "settings file not moved to profiles")
                            }
                        }
                    }
                    (Some(path.clone()), s, None)
                }
                Err(e) => (
                    Some(path.clone()),
                    Settings::default(),
                    Some(format!("{e}; using the default settings")),
                ),
            },
            SettingsSource::Fixed(s) => (None, s.clone(), None),
        };
        let mut initial = HostStatus::initial();
        initial.problem = settings_error.clone();
        let policy = opts.parts.policy.clone().unwrap_or_default();
        Arc::new(Self {
            opts,
            settings_path,
            settings: RwLock::new(settings),
            settings_error: Mutex::new(settings_error),
            lifecycle: tokio::sync::Mutex::new(None),
            current: RwLock::new(None),
            bus: ActivityBus::new(RECENT_EVENTS),
            policy: RwLock::new(policy),
            standby: tokio::sync::Mutex::new(std::collections::BTreeMap::new()),
            audit: Mutex::new(None),
            lift: Mutex::new(None),
            status: watch::Sender::new(initial),
            notices: broadcast::Sender::new(64),
        })
    }

    /// The live log, shared by every run of the core.
    pub fn bus(&self) -> &Arc<ActivityBus> {
        &self.bus
    }

    pub fn status(&self) -> HostStatus {
        self.status.borrow().clone()
    }

    pub fn subscribe_status(&self) -> watch::Receiver<HostStatus> {
        self.status.subscribe()
    }

    pub fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// The local socket this host serves (what assistants' entries must reach).
    pub fn socket_path(&self) -> Option<PathBuf> {
        self.opts.socket.clone()
    }

    /// The running core, if any.
    pub fn app(&self) -> Option<Arc<App>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// The running core, or why there is none.
    pub fn running(&self) -> Result<Arc<App>, HostError> {
        self.app().ok_or_else(|| {
            let status = self.status();
            HostError::NotReady(match (status.phase, status.problem) {
                (Phase::Failed, Some(p)) => {
                    format!("AIC MCP Desktop could not start: {p}. Fix it in Settings.")
                }
                (Phase::Starting, _) => "AIC MCP Desktop is still starting.".into(),
                _ => "AIC MCP Desktop is restarting or stopped.".into(),
            })
        })
    }

    fn notify(&self, notice: Notice) {
        tracing::info!(?notice, "notice");
        // No subscriber is not an error.
        let _ = self.notices.send(notice);
    }

    fn update(&self, f: impl FnOnce(&mut HostStatus)) {
        self.status.send_modify(|s| {
            f(s);
            self.stamp_guard(s);
        });
    }

    /// Every status names the rules in force and the profile, whatever built it.
    fn stamp_guard(&self, s: &mut HostStatus) {
        let served = self.served(&self.settings()).ok().flatten();
        s.mode = self.policy().rules().mode;
        s.production = served.as_ref().is_some_and(|p| p.production);
        s.profile = served.as_ref().map(ProfileTag::from);
        s.lifted_until_ms = self.active_lift().map(|l| l.until_ms);
    }

    /// The profile this host serves in `settings`: `--profile`, else the active one
    /// (none with `--demo`).
    pub fn served(&self, settings: &Settings) -> Result<Option<Profile>, HostError> {
        if self.opts.force_demo {
            return Ok(None);
        }
        Ok(settings.select(self.opts.profile.as_deref())?.cloned())
    }

    fn active_lift(&self) -> Option<production::Lift> {
        let lift = self.lift.lock().ok()?.clone()?;
        (lift.until_ms > production::now_ms()).then_some(lift)
    }

    /// Lifts read only on a production tenant for a while: the admin typed the tenant's
    /// host name. When the time is over (or [`Supervisor::end_lift`]), read only is back,
    /// and a notice says so.
    pub async fn lift_read_only(self: &Arc<Self>, req: LiftRequest) -> Result<i64, HostError> {
        let settings = self.settings();
        let tenant = self
            .app()
            .map(|a| a.config().tenant.clone())
            .ok_or_else(|| HostError::NotReady("the core is not running".into()))?;
        let production = self.served(&settings)?.is_some_and(|p| p.production);
        let lift = production::check(&req, production, tenant.host(), self.opts.lift_minute)?;
        let until_ms = lift.until_ms;
        let stop = CancellationToken::new();
        if let Ok(mut slot) = self.lift.lock() {
            if let Some(old) = slot.take() {
                old.stop.cancel();
            }
            *slot = Some(production::Lift {
                stop: stop.clone(),
                ..lift
            });
        }
        self.apply_rules(&settings)?;
        tracing::warn!(mode = req.mode.as_str(), until_ms, tenant = %tenant.origin(), "read only lifted on a production tenant");
        let weak = Arc::downgrade(self);
        let wait =
            Duration::from_millis(u64::try_from(until_ms - production::now_ms()).unwrap_or(0));
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(wait) => {
                    if let Some(host) = weak.upgrade() {
                        host.end_lift_now(true);
                    }
                }
            }
        });
        Ok(until_ms)
    }

    /// Ends a lift before its time: read only again.
    pub fn end_lift(&self) {
        self.end_lift_now(false);
    }

    fn end_lift_now(&self, by_timer: bool) {
        let ended = self.lift.lock().ok().and_then(|mut l| l.take());
        let Some(lift) = ended else { return };
        lift.stop.cancel();
        let settings = self.settings();
        if let Err(e) = self.apply_rules(&settings) {
            tracing::error!(error = %e, "cannot put the rules back after a lift");
        }
        tracing::info!(by_timer, "production tenant read only again");
        if by_timer {
            let tenant = self.status().session.tenant;
            self.notify(Notice::BackToReadOnly { tenant });
        }
    }

    fn publish(&self, mut status: HostStatus) {
        self.stamp_guard(&mut status);
        self.status.send_replace(status);
    }

    /// The newest journaled changes, newest first.
    pub async fn changes(&self, limit: usize) -> Result<Vec<crate::journal::Listed>, HostError> {
        let Some(journal) = self.running()?.guard().journal.clone() else {
            return Ok(Vec::new());
        };
        tokio::task::spawn_blocking(move || journal.list(limit))
            .await
            .map_err(|e| HostError::NotReady(e.to_string()))?
            .map(|list| list.into_iter().map(Into::into).collect())
            .map_err(|e| HostError::Journal(e.to_string()))
    }

    /// Writes the whole change journal, oldest first, to a new private file in `dir`;
    /// returns its path and how many changes it holds.
    pub async fn export_changes(
        &self,
        dir: std::path::PathBuf,
    ) -> Result<(std::path::PathBuf, usize), HostError> {
        let journal = self
            .running()?
            .guard()
            .journal
            .clone()
            .ok_or_else(|| HostError::Journal("this run keeps no change journal".into()))?;
        tokio::task::spawn_blocking(move || {
            let mut all = journal
                .list(usize::MAX)
                .map_err(|e| HostError::Journal(e.to_string()))?;
            all.reverse();
            let path = crate::export::write_changes_export(&dir, &all)
                .map_err(|e| HostError::Journal(e.to_string()))?;
            Ok((path, all.len()))
        })
        .await
        .map_err(|e| HostError::NotReady(e.to_string()))?
    }

    /// Undoes a journaled change through an ordinary tool call (see [`App::revert`]).
    pub async fn revert(&self, id: &str) -> Result<String, HostError> {
        let active = self.running()?;
        // The change is undone on its own profile's tenant: by that profile's core.
        let profile = active
            .guard()
            .journal
            .as_ref()
            .and_then(|j| j.get(id).ok())
            .and_then(|c| c.profile);
        let app = match profile {
            Some(p) if active.guard().profile.as_deref() != Some(p.as_str()) => self
                .standby
                .lock()
                .await
                .get(&p)
                .map(|r| r.app.clone())
                .ok_or_else(|| {
                    HostError::Revert(format!(
                        "the change was made on profile {p:?}, which is not running now; make it active to revert it"
                    ))
                })?,
            _ => active,
        };
        app.revert(id)
            .await
            .map_err(|e| HostError::Revert(e.to_string()))
    }

    /// The rules in force (mode, switches, approval timeout).
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().map(|p| p.clone()).unwrap_or_default()
    }

    /// The window's approval queue (a host without one asks through elicitation).
    pub fn approvals(&self) -> Option<&Arc<Approvals>> {
        self.opts.parts.approvals.as_ref()
    }

    /// Puts the rules of `settings` (and the environment) in force; a tightened rule set
    /// forgets every "approve for this assistant".
    fn apply_rules(&self, settings: &Settings) -> Result<(), HostError> {
        let env = self.opts.env.clone();
        let profile = self.served(settings)?;
        let mut rules = settings.rules(profile.as_ref(), |k| env(k), self.opts.default_mode)?;
        if profile.is_some_and(|p| p.production) && env("AIC_MODE").is_none() {
            if let Some(lift) = self.active_lift() {
                rules.mode = lift.mode;
            }
        }
        if self.policy().set(rules) {
            if let Some(q) = self.approvals() {
                q.revoke_grants();
            }
        }
        self.update(|_| {});
        Ok(())
    }

    fn set_current(&self, app: Option<Arc<App>>) {
        if let Ok(mut c) = self.current.write() {
            *c = app;
        }
    }

    /// Starts the core from the current settings, stopping the running one first. A
    /// failure is also published (phase `Failed`, `problem`, a `StartFailed` notice).
    pub async fn start(self: &Arc<Self>) -> Result<(), HostError> {
        let mut life = self.lifecycle.lock().await;
        let settings = self.settings();
        let served = self.served(&settings).ok().flatten();
        if let Some(running) = life.take() {
            // Another profile becomes active: the previous one's core stays, serving its
            // own socket, so its sessions keep their tenant. Anything else restarts.
            let keep = self.opts.profile_socket
                && running.profile.is_some()
                && running.profile != served.as_ref().map(|p| p.name.clone())
                && running.profile_socket_path.is_some();
            if keep {
                self.demote(running).await;
            } else {
                self.stop_running(running).await;
            }
        }
        self.prune_standby(&settings).await;
        self.update(|s| s.phase = Phase::Starting);
        let standing_by = match &served {
            Some(p) => self.standby.lock().await.remove(&p.name),
            None => None,
        };
        let built = match standing_by {
            Some(running) => Ok(self.promote(running).await),
            None => self.build().await,
        };
        match built {
            Ok((running, status, notices)) => {
                self.set_current(Some(running.app.clone()));
                *life = Some(running);
                self.publish(status);
                for n in notices {
                    self.notify(n);
                }
                self.start_standby(&settings).await;
                Ok(())
            }
            Err(e) => {
                let problem = e.to_string();
                self.update(|s| {
                    *s = HostStatus {
                        phase: Phase::Failed,
                        problem: Some(problem.clone()),
                        ..HostStatus::initial()
                    }
                });
                self.notify(Notice::StartFailed { message: problem });
                Err(e)
            }
        }
    }

    /// Stops the running core and every standby one (nothing happens when none runs),
    /// then the audit file drains.
    pub async fn stop(&self) -> Option<StopReport> {
        let mut life = self.lifecycle.lock().await;
        let standby: Vec<Running> = std::mem::take(&mut *self.standby.lock().await)
            .into_values()
            .collect();
        for r in standby {
            Self::stop_core(r, self.opts.grace).await;
        }
        let report = match life.take() {
            Some(running) => Some(self.stop_running(running).await),
            None => None,
        };
        let audit = self.audit.lock().ok().and_then(|mut a| a.take());
        if let Some((writer, cancel)) = audit {
            cancel.cancel();
            writer.finish().await;
        }
        report
    }

    /// The active core steps back: the main socket and HTTP stop accepting, its status
    /// watchers stop; its own socket, sessions and login stay.
    async fn demote(&self, running: Running) {
        self.set_current(None);
        running.main_stop.cancel();
        running.watchers.cancel();
        let Running {
            app,
            tenant_guard,
            watcher_tasks,
            policy,
            profile,
            sign_in_hint,
            profile_socket_path,
            ..
        } = running;
        for task in watcher_tasks {
            task.abort();
            let _ = task.await;
        }
        let Some(name) = profile.clone() else { return };
        tracing::info!(profile = %name, "profile on standby: its own socket and sessions stay");
        self.standby.lock().await.insert(
            name,
            Running {
                app,
                tenant_guard,
                watchers: CancellationToken::new(),
                watcher_tasks: Vec::new(),
                bearer: None,
                main_stop: CancellationToken::new(),
                policy,
                profile,
                sign_in_hint,
                profile_socket_path,
            },
        );
    }

    /// A standby core becomes the active one again.
    async fn promote(self: &Arc<Self>, running: Running) -> Built {
        tracing::info!(profile = ?running.profile, "standby profile made active");
        let core = Core {
            app: running.app,
            demo: running.tenant_guard.is_some(),
            tenant_guard: running.tenant_guard,
            sign_in_hint: running.sign_in_hint,
            policy: running.policy,
            profile: running.profile,
            profile_socket_path: running.profile_socket_path,
            endpoint_errors: Vec::new(),
        };
        self.attach(core, &self.settings()).await
    }

    /// Stops standby cores whose profile is gone or names another tenant now, and puts
    /// each remaining one's rules in force.
    async fn prune_standby(&self, settings: &Settings) {
        let env = self.opts.env.clone();
        let own = |k: &str| if k == "AIC_BASE_URL" { None } else { env(k) };
        let mut standby = self.standby.lock().await;
        let gone: Vec<String> = standby
            .iter()
            .filter(|(name, r)| {
                let now = settings
                    .profile(name)
                    .and_then(|p| settings.to_config(Some(p), own).ok().flatten())
                    .map(|c| c.tenant.origin());
                now.as_deref() != Some(r.app.config().tenant.origin().as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            if let Some(r) = standby.remove(&name) {
                tracing::info!(profile = %name, "standby profile stopped (removed or changed)");
                Self::stop_core(r, self.opts.grace).await;
            }
        }
        for (name, r) in standby.iter() {
            if let Ok(rules) =
                settings.rules(settings.profile(name), |k| env(k), self.opts.default_mode)
            {
                r.policy.set(rules);
            }
        }
    }

    /// Stops a core that is not the active one.
    async fn stop_core(running: Running, grace: Duration) {
        running.watchers.cancel();
        running.app.shutdown_with_grace(grace).await;
        for task in running.watcher_tasks {
            task.abort();
            let _ = task.await;
        }
        drop(running.tenant_guard);
    }

    async fn stop_running(&self, running: Running) -> StopReport {
        self.set_current(None);
        self.update(|s| s.phase = Phase::Stopping);
        running.watchers.cancel();
        let report = running.app.shutdown_with_grace(self.opts.grace).await;
        for task in running.watcher_tasks {
            task.abort();
            let _ = task.await;
        }
        drop(running.tenant_guard);
        let tenant = running.app.config().tenant.origin();
        self.update(|s| {
            *s = HostStatus {
                phase: Phase::Stopped,
                session: SessionStatus::signed_out(&tenant),
                problem: s.problem.clone(),
                ..HostStatus::initial()
            }
        });
        report
    }

    async fn build(self: &Arc<Self>) -> Result<Built, HostError> {
        let settings = self.settings();
        let served = self.served(&settings)?;
        // The first core takes the host's policy (a host may hand one in); each later one
        // its own, so a core on standby keeps its profile's rules.
        let policy = {
            let current = self.policy();
            let used = self.app().is_some() || !self.standby.lock().await.is_empty();
            if used {
                let fresh = Arc::new(Policy::default());
                if let Ok(mut p) = self.policy.write() {
                    *p = fresh.clone();
                }
                fresh
            } else {
                current
            }
        };
        self.apply_rules(&settings)?;
        let core = self.build_core(&settings, served, policy).await?;
        Ok(self.attach(core, &settings).await)
    }

    /// Starts a standby core for every configured profile that is not served and has none
    /// yet (not the demo tenant's), so each profile's own socket and sign-in are there from
    /// the start. A profile whose core cannot start is logged and left out.
    async fn start_standby(self: &Arc<Self>, settings: &Settings) {
        if !self.opts.profile_socket || self.opts.socket.is_none() {
            return;
        }
        let served = self.served(settings).ok().flatten().map(|p| p.name);
        let env = self.opts.env.clone();
        for p in &settings.profiles {
            if p.is_demo()
                || served.as_deref() == Some(p.name.as_str())
                || self.standby.lock().await.contains_key(&p.name)
            {
                continue;
            }
            let policy = Arc::new(Policy::default());
            match settings.rules(Some(p), |k| env(k), self.opts.default_mode) {
                Ok(rules) => {
                    policy.set(rules);
                }
                Err(e) => {
                    tracing::warn!(profile = %p.name, error = %e, "profile not started");
                    continue;
                }
            }
            match self.build_core(settings, Some(p.clone()), policy).await {
                Ok(core) => {
                    core.app.restore_login().await;
                    self.standby.lock().await.insert(
                        p.name.clone(),
                        Running {
                            app: core.app,
                            tenant_guard: core.tenant_guard,
                            watchers: CancellationToken::new(),
                            watcher_tasks: Vec::new(),
                            bearer: None,
                            main_stop: CancellationToken::new(),
                            policy: core.policy,
                            profile: core.profile,
                            sign_in_hint: core.sign_in_hint,
                            profile_socket_path: core.profile_socket_path,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(profile = %p.name, error = %e, "profile not started")
                }
            }
        }
    }

    /// A new core for `served`: its tenant (or the demo's), `policy` and its own socket.
    async fn build_core(
        self: &Arc<Self>,
        settings: &Settings,
        served: Option<Profile>,
        policy: Arc<Policy>,
    ) -> Result<Core, HostError> {
        let env = self.opts.env.clone();
        let configured = if self.opts.force_demo {
            None
        } else {
            // A profile's own tenant; the environment's only for the served one (as
            // before profiles: AIC_BASE_URL wins).
            let own_only = served.as_ref().is_some_and(|p| {
                self.served(settings)
                    .ok()
                    .flatten()
                    .is_none_or(|s| s.name != p.name)
            });
            if own_only {
                settings.to_config(served.as_ref(), |k| {
                    if k == "AIC_BASE_URL" {
                        None
                    } else {
                        env(k)
                    }
                })?
            } else {
                settings.to_config(served.as_ref(), |k| env(k))?
            }
        };
        let mut parts = AppParts {
            bus: Some(self.bus.clone()),
            policy: Some(policy.clone()),
            profile: served.as_ref().map(|p| p.name.clone()),
            // One audit file for every core of this host (they share the bus): the host
            // writes it; each core keeps the journal.
            audit_log: false,
            journal: Some(self.opts.parts.journal.unwrap_or(self.opts.parts.audit_log)),
            ..self.opts.parts.clone()
        };
        let (config, provided) = match configured {
            Some(config) => (config, None),
            None if self.opts.force_demo || self.opts.demo_when_unconfigured => {
                let provider = self.opts.demo.as_ref().ok_or(HostError::NoDemo)?;
                let p = provider
                    .provide(ProvideRequest {
                        redirect_port: settings.redirect_port,
                        env: env.as_ref(),
                    })
                    .await
                    .map_err(HostError::Demo)?;
                tracing::info!(tenant = %p.config.tenant.origin(), "{} started", provider.describe());
                (p.config.clone(), Some(p))
            }
            // No tenant and no demo wanted: the error that names AIC_BASE_URL.
            None => {
                return Err(match Config::from_lookup(|k| env(k)) {
                    Err(e) => HostError::Config(e),
                    Ok(_) => HostError::NoDemo,
                })
            }
        };
        if let Some(p) = &provided {
            parts.store = Some(p.store.clone());
            if let Some(b) = &p.browser {
                parts.browser = b.clone();
            }
        }
        if self.opts.parts.audit_log {
            self.ensure_audit(&config.log_dir)?;
        }
        let app = App::start(config, parts)?;
        let mut endpoint_errors = Vec::new();
        let profile_socket_path = match (&self.opts.socket, &served) {
            (Some(main), Some(p)) if self.opts.profile_socket => {
                let path = crate::mcp::socket::profile_socket_path(main, &p.name);
                match app.serve_socket(&path).await {
                    Ok(p) => Some(p.display().to_string()),
                    Err(e) => {
                        tracing::warn!(error = %e, "the profile's MCP socket not served");
                        endpoint_errors.push(socket_error(&e));
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(Core {
            app,
            demo: provided.is_some(),
            sign_in_hint: provided.as_ref().and_then(|p| p.sign_in_hint.clone()),
            tenant_guard: provided.map(|p| p.guard),
            policy,
            profile: served.map(|p| p.name),
            profile_socket_path,
            endpoint_errors,
        })
    }

    /// Starts the audit file writer on the host's bus, once.
    fn ensure_audit(&self, dir: &std::path::Path) -> Result<(), HostError> {
        let Ok(mut slot) = self.audit.lock() else {
            return Ok(());
        };
        if slot.is_none() {
            let cancel = CancellationToken::new();
            let writer = crate::activity::spawn_audit_writer(&self.bus, dir, cancel.clone())
                .map_err(|e| {
                    HostError::Start(AppError::AuditLog {
                        dir: dir.display().to_string(),
                        detail: e.to_string(),
                    })
                })?;
            *slot = Some((writer, cancel));
        }
        Ok(())
    }

    /// Makes `core` the active one: the main socket, HTTP, the restored login, the status
    /// watchers, its rules in force.
    async fn attach(self: &Arc<Self>, core: Core, settings: &Settings) -> Built {
        let Core {
            app,
            tenant_guard,
            demo,
            sign_in_hint,
            policy,
            profile,
            profile_socket_path,
            mut endpoint_errors,
        } = core;
        if let Ok(mut p) = self.policy.write() {
            *p = policy.clone();
        }
        if let Err(e) = self.apply_rules(settings) {
            tracing::warn!(error = %e, "the profile's rules were not applied");
        }
        let mut notices = Vec::new();
        let main_stop = app.endpoint_stop();
        let socket_path = match &self.opts.socket {
            None => None,
            Some(path) => match app.serve_socket_until(path, main_stop.clone()).await {
                Ok(p) => Some(p.display().to_string()),
                Err(e) => {
                    tracing::warn!(error = %e, "local MCP socket not served");
                    endpoint_errors.push(socket_error(&e));
                    None
                }
            },
        };
        let mut bearer = None;
        let http_url = if settings.http_enabled {
            match self.resolve_bearer().await {
                Ok(b) => match app
                    .serve_http_until(settings.http_port, b.clone(), main_stop.clone())
                    .await
                {
                    Ok(addr) => {
                        bearer = Some(b);
                        Some(format!("http://{addr}/mcp"))
                    }
                    Err(e) => {
                        endpoint_errors.push(http_error(&e));
                        None
                    }
                },
                Err(e) => {
                    endpoint_errors.push(EndpointError {
                        endpoint: Endpoint::Http,
                        code: EndpointErrorCode::Bearer,
                        message: format!("HTTP endpoint off: {e}"),
                    });
                    None
                }
            }
        } else {
            None
        };
        for e in &endpoint_errors {
            notices.push(Notice::EndpointFailed {
                message: e.message.clone(),
            });
        }
        // A stored login for this tenant is reused without any prompt.
        app.restore_login().await;
        let watchers = CancellationToken::new();
        let watcher_tasks = vec![
            tokio::spawn(watch_session(
                Arc::downgrade(self),
                app.clone(),
                watchers.clone(),
            )),
            tokio::spawn(expiry_timer(
                Arc::downgrade(self),
                app.clone(),
                self.opts.parts.clock.clone(),
                watchers.clone(),
            )),
        ];
        let status = HostStatus {
            phase: Phase::Running,
            session: app.status(),
            demo,
            sign_in_hint: sign_in_hint.clone(),
            socket_path,
            profile_socket_path: profile_socket_path.clone(),
            http_url,
            endpoint_errors,
            problem: self.settings_error.lock().ok().and_then(|e| e.clone()),
            ..HostStatus::initial()
        };
        let running = Running {
            app,
            tenant_guard,
            watchers,
            watcher_tasks,
            bearer,
            main_stop,
            policy,
            profile,
            sign_in_hint,
            profile_socket_path,
        };
        (running, status, notices)
    }

    /// The HTTP endpoint's bearer: `AIC_MCP_HTTP_TOKEN` (32+ characters) when set, else the
    /// stored one (made and stored on first use).
    async fn resolve_bearer(&self) -> Result<LocalBearer, String> {
        match (self.opts.env)("AIC_MCP_HTTP_TOKEN") {
            Some(t) if t.len() >= 32 => Ok(LocalBearer::new(t)),
            Some(_) => Err("AIC_MCP_HTTP_TOKEN must be at least 32 characters".into()),
            None => self
                .opts
                .bearer
                .load_or_create(crate::mcp::http::generate_bearer)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// The bearer the running HTTP endpoint requires.
    pub async fn http_bearer(&self) -> Result<LocalBearer, HostError> {
        let life = self.lifecycle.lock().await;
        life.as_ref()
            .and_then(|r| r.bearer.clone())
            .ok_or(HostError::HttpOff)
    }

    /// Validates and saves new settings; restarts the core in place when the tenant or an
    /// endpoint changed. A core that then fails to start shows it in the status.
    pub async fn update_settings(self: &Arc<Self>, new: Settings) -> Result<Settings, HostError> {
        let path = self.settings_path.clone().ok_or(HostError::SettingsFixed)?;
        let saved = tokio::task::spawn_blocking(move || new.save(&path))
            .await
            .map_err(|e| {
                HostError::Settings(SettingsError::Io {
                    path: String::new(),
                    detail: e.to_string(),
                })
            })??;
        let previous = match self.settings.write() {
            Ok(mut s) => std::mem::replace(&mut *s, saved.clone()),
            Err(_) => Settings::default(),
        };
        if let Ok(mut e) = self.settings_error.lock() {
            *e = None;
        }
        self.update(|s| s.problem = None);
        // What this host serves, before and after (the active profile may have changed).
        let (was, now) = (
            self.served(&previous).ok().flatten(),
            self.served(&saved).ok().flatten(),
        );
        // The tenant the core reaches (the environment wins over a profile).
        let env = self.opts.env.clone();
        let tenant = |s: &Settings, p: &Option<Profile>| {
            s.to_config(p.as_ref(), |k| env(k))
                .ok()
                .flatten()
                .map(|c| c.tenant.origin())
        };
        let (tenant_was, tenant_now) = (tenant(&previous, &was), tenant(&saved, &now));
        let production = |p: &Option<Profile>| p.as_ref().is_some_and(|p| p.production);
        // Another profile (or a renamed one): its sessions must not carry the old name.
        let renamed = match (&was, &now) {
            (Some(a), Some(b)) => a.name != b.name,
            _ => false,
        };
        if production(&was) != production(&now) || tenant_was != tenant_now || renamed {
            // A lift belongs to the tenant it was typed for.
            self.end_lift();
        }
        self.forget_removed_profiles(&previous, &saved).await;
        let core_changed = tenant_was != tenant_now
            || renamed
            || previous.redirect_port != saved.redirect_port
            || previous.http_enabled != saved.http_enabled
            || (saved.http_enabled && previous.http_port != saved.http_port);
        if core_changed {
            // The failure, if any, is in the status.
            let _ = self.start().await;
        } else {
            // Mode, switches and timeout apply live: the sessions stay connected and are
            // told that the tool list changed (on standby profiles too).
            self.apply_rules(&saved)?;
            self.prune_standby(&saved).await;
            self.start_standby(&saved).await;
        }
        Ok(saved)
    }

    /// Where `profile`'s login is kept and under which key (its own tenant, whatever
    /// `AIC_BASE_URL` says); `None` for the demo tenant, which keeps none.
    fn login_of(
        &self,
        settings: &Settings,
        profile: &Profile,
    ) -> Result<Option<StoredLogin>, HostError> {
        let env = self.opts.env.clone();
        let own = |k: &str| if k == "AIC_BASE_URL" { None } else { env(k) };
        let Some(config) = settings.to_config(Some(profile), own)? else {
            return Ok(None);
        };
        let store = self
            .opts
            .parts
            .store
            .clone()
            .unwrap_or_else(|| crate::app::store_for(&config));
        Ok(Some((store, config.tenant.host_key())))
    }

    /// Every profile with whether it has a login: the served one from its session, the
    /// others from their stored logins (one keychain read each).
    pub async fn profiles_overview(&self) -> Vec<ProfileOverview> {
        let settings = self.settings();
        let served = self.served(&settings).ok().flatten().map(|p| p.name);
        let status = self.status();
        let standby: std::collections::BTreeMap<String, (SessionStatus, Mode)> = self
            .standby
            .lock()
            .await
            .iter()
            .map(|(name, r)| (name.clone(), (r.app.status(), r.policy.rules().mode)))
            .collect();
        let env = self.opts.env.clone();
        let mut out = Vec::with_capacity(settings.profiles.len());
        for p in &settings.profiles {
            let is_served = served.as_deref() == Some(p.name.as_str());
            let (session, mode) = if is_served && status.phase == Phase::Running {
                (Some(&status.session), status.mode)
            } else if let Some((session, mode)) = standby.get(&p.name) {
                (Some(session), *mode)
            } else {
                let mode = settings
                    .rules(Some(p), |k| env(k), self.opts.default_mode)
                    .map(|r| r.mode)
                    .unwrap_or(self.opts.default_mode);
                (None, mode)
            };
            let sign_in = if let Some(session) = session {
                match (session.state, session.expires_at_ms) {
                    (crate::auth::SessionState::SignedIn, Some(at)) => {
                        ProfileSignIn::SignedIn { expires_at_ms: at }
                    }
                    _ if p.is_demo() => ProfileSignIn::Demo,
                    _ => ProfileSignIn::SignedOut,
                }
            } else if p.is_demo() {
                ProfileSignIn::Demo
            } else {
                match self.login_of(&settings, p) {
                    Ok(Some((store, key))) => match store.load(&key).await {
                        Ok(Some(t)) if t.expires_at > production::now_ms() => {
                            ProfileSignIn::SignedIn {
                                expires_at_ms: t.expires_at,
                            }
                        }
                        Ok(_) => ProfileSignIn::SignedOut,
                        Err(_) => ProfileSignIn::Unknown,
                    },
                    _ => ProfileSignIn::Unknown,
                }
            };
            out.push(ProfileOverview {
                name: p.name.clone(),
                colour: p.colour.clone(),
                tenant: p.tenant_url.clone(),
                production: p.production,
                active: settings.active().map(|a| a.name.as_str()) == Some(p.name.as_str()),
                sign_in,
                admin: session.and_then(|s| s.admin.clone()),
                mode,
            });
        }
        out
    }

    /// Makes `name` the active profile (saved; new sessions get it, and the core moves to
    /// its tenant). An unknown name changes nothing.
    pub async fn activate_profile(self: &Arc<Self>, name: &str) -> Result<Settings, HostError> {
        let settings = self.settings();
        let profile = settings
            .profile(name)
            .ok_or_else(|| {
                HostError::Settings(SettingsError::Invalid {
                    field: "active profile",
                    message: format!("{name:?} is not one of the profiles"),
                })
            })?
            .name
            .clone();
        self.update_settings(Settings {
            active_profile: profile,
            ..settings
        })
        .await
    }

    /// The assistants connected to the running core now, with the profile they are bound
    /// to (the served one).
    pub async fn sessions(&self) -> Vec<SessionOverview> {
        let mut apps: Vec<Arc<App>> = self.app().into_iter().collect();
        apps.extend(self.standby.lock().await.values().map(|r| r.app.clone()));
        apps.iter()
            .flat_map(|app| {
                let profile = app.guard().profile.clone();
                app.guard()
                    .sessions
                    .connected()
                    .into_iter()
                    .map(move |s| SessionOverview {
                        session: s,
                        profile: profile.clone(),
                    })
            })
            .collect()
    }

    /// Signs in to one profile: the served one through its session (as Log in), one on
    /// standby through its own core (the browser opens for that tenant).
    pub async fn login_profile(&self, name: &str) -> Result<(), HostError> {
        let settings = self.settings();
        if self
            .served(&settings)?
            .is_some_and(|p| p.name.eq_ignore_ascii_case(name))
        {
            return self.login().await;
        }
        let standing_by = self
            .standby
            .lock()
            .await
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, r)| r.app.clone());
        match standing_by {
            Some(app) => Ok(app.login().await?),
            None => Err(HostError::NotReady(format!(
                "profile {name:?} is not running; make it active to sign in"
            ))),
        }
    }

    /// Signs out of one profile and only that one: the served profile through its session
    /// (as Log out), another by deleting its stored login.
    pub async fn logout_profile(&self, name: &str) -> Result<(), HostError> {
        let settings = self.settings();
        let profile = settings.profile(name).cloned().ok_or_else(|| {
            HostError::Settings(SettingsError::Invalid {
                field: "profile",
                message: format!("{name:?} is not one of the profiles"),
            })
        })?;
        if self
            .served(&settings)?
            .is_some_and(|p| p.name == profile.name)
        {
            return self.logout().await;
        }
        // A profile on standby: through its core, whose sessions then need a new sign-in.
        let standing_by = self
            .standby
            .lock()
            .await
            .get(&profile.name)
            .map(|r| r.app.clone());
        if let Some(app) = standing_by {
            return Ok(app.logout().await?);
        }
        // The demo tenant keeps no login.
        if let Some((store, key)) = self.login_of(&settings, &profile)? {
            store.clear(&key).await?;
        }
        tracing::info!(profile = %profile.name, "signed out of a profile that is not served");
        Ok(())
    }

    /// Signs out of the profiles `saved` no longer has: their stored logins are deleted
    /// (unless another profile still names the same tenant). A store that cannot be
    /// reached is logged; the profile is gone from the settings either way.
    async fn forget_removed_profiles(&self, previous: &Settings, saved: &Settings) {
        for gone in previous
            .profiles
            .iter()
            .filter(|p| saved.profile(&p.name).is_none() && !p.is_demo())
            .filter(|p| !saved.profiles.iter().any(|q| q.tenant_url == p.tenant_url))
        {
            let Ok(Some((store, key))) = self.login_of(previous, gone) else {
                continue;
            };
            match store.clear(&key).await {
                Ok(()) => {
                    tracing::info!(profile = %gone.name, tenant = %key, "removed profile signed out")
                }
                Err(e) => {
                    tracing::warn!(profile = %gone.name, error = %e, "removed profile's login not deleted")
                }
            }
        }
    }

    pub async fn login(&self) -> Result<(), HostError> {
        Ok(self.running()?.login().await?)
    }

    pub async fn logout(&self) -> Result<(), HostError> {
        Ok(self.running()?.logout().await?)
    }

    pub fn cancel_login(&self) -> Result<(), HostError> {
        self.running()?.cancel_login();
        Ok(())
    }

    /// Serves MCP over this process's stdio until stdin closes (the headless drop-in).
    pub async fn serve_stdio(&self) -> Result<(), HostError> {
        Ok(self.running()?.serve_stdio().await?)
    }
}

fn socket_error(e: &crate::mcp::socket::SocketError) -> EndpointError {
    use crate::mcp::socket::SocketError;
    let code = match e {
        SocketError::InUse(_) => EndpointErrorCode::InUse,
        SocketError::UnsafeDir { .. } => EndpointErrorCode::UnsafeDir,
        SocketError::Unsupported => EndpointErrorCode::Unsupported,
        SocketError::Io { .. } => EndpointErrorCode::Io,
    };
    EndpointError {
        endpoint: Endpoint::Socket,
        code,
        message: e.to_string(),
    }
}

fn http_error(e: &crate::mcp::http::HttpError) -> EndpointError {
    use crate::mcp::http::HttpError;
    EndpointError {
        endpoint: Endpoint::Http,
        code: match e {
            HttpError::PortInUse(_) => EndpointErrorCode::PortInUse,
            HttpError::Io { .. } => EndpointErrorCode::Io,
        },
        message: e.to_string(),
    }
}

/// Follows the session: the host status, sign-in notices, and learning the admin's name
/// once signed in.
async fn watch_session(sup: Weak<Supervisor>, app: Arc<App>, stop: CancellationToken) {
    let mut rx = app.subscribe_status();
    let mut previous = rx.borrow_and_update().clone();
    let identify = |app: &Arc<App>| {
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                admin = app.identify() => if admin.is_none() {
                    tracing::info!("the signed-in admin's name is not known");
                },
            }
        });
    };
    if previous.state == SessionState::SignedIn && previous.admin.is_none() {
        identify(&app);
    }
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            changed = rx.changed() => if changed.is_err() { break },
        }
        let now = rx.borrow_and_update().clone();
        let Some(sup) = sup.upgrade() else { break };
        sup.update(|s| s.session = now.clone());
        match (previous.state, now.state) {
            (SessionState::SigningIn, SessionState::SignedIn) => sup.notify(Notice::SignedIn {
                tenant: now.tenant.clone(),
            }),
            (SessionState::SigningIn, SessionState::SignedOut) => {
                if let Some(message) = &now.last_error {
                    sup.notify(Notice::SignInFailed {
                        tenant: now.tenant.clone(),
                        message: message.clone(),
                    });
                }
            }
            _ => {}
        }
        let new_login =
            previous.state != SessionState::SignedIn || previous.expires_at_ms != now.expires_at_ms;
        if now.state == SessionState::SignedIn && now.admin.is_none() && new_login {
            identify(&app);
        }
        previous = now;
    }
}

/// Wakes when the signed-in token needs attention: five minutes before it becomes
/// unusable (a notice), and when it does (refresh, else signed out and a notice).
async fn expiry_timer(
    sup: Weak<Supervisor>,
    app: Arc<App>,
    clock: Arc<dyn crate::clock::Clock>,
    stop: CancellationToken,
) {
    let mut rx = app.subscribe_status();
    let mut warned_for = None;
    loop {
        let status = rx.borrow_and_update().clone();
        let wake = expiry::plan(&status, clock.now_ms(), SKEW_MS, warned_for);
        let sleep = async {
            match wake {
                Some(w) => {
                    let ms = u64::try_from(w.at_ms() - clock.now_ms()).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            changed = rx.changed() => {
                if changed.is_err() { break }
                continue;
            }
            _ = sleep => {}
        }
        let Some(sup) = sup.upgrade() else { break };
        match wake {
            Some(expiry::Wake::Warn { expires_at_ms, .. }) => {
                warned_for = Some(expires_at_ms);
                sup.notify(Notice::ExpiresSoon {
                    tenant: status.tenant.clone(),
                    expires_at_ms,
                });
            }
            // Refreshed, or signed out (and told so).
            Some(expiry::Wake::Expire { .. }) => {
                let signed_out = app.check_expiry().await;
                if signed_out {
                    sup.notify(Notice::Expired {
                        tenant: status.tenant.clone(),
                    });
                }
            }
            None => {}
        }
    }
}
