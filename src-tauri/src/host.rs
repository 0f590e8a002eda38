//! The shell's state: the running core (`aic_mcp_core::App`), its endpoints and the
//! settings. Switching tenant or endpoints stops the core and starts a new one in place;
//! everything the window shows comes from here.

use std::path::PathBuf;
use std::sync::Arc;

use aic_mcp_core::auth::{BearerStore, KeychainStore, SessionStatus};
use aic_mcp_core::settings::Settings;
use aic_mcp_core::{App, AppParts, Config};
use serde::Serialize;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

/// What the Status view and the tray show.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    #[serde(flatten)]
    pub session: SessionStatus,
    pub demo: bool,
    /// For the demo tenant: the credentials to type in its sign-in form.
    pub sign_in_hint: Option<String>,
    pub socket_path: Option<String>,
    pub http_url: Option<String>,
    pub endpoint_error: Option<String>,
    pub version: &'static str,
}

/// One running core with its endpoints.
pub struct Core {
    pub app: Arc<App>,
    pub demo: bool,
    /// Keeps the demo tenant alive.
    _demo_tenant: Option<Box<dyn std::any::Any + Send + Sync>>,
    pub socket_path: Option<PathBuf>,
    pub http_url: Option<String>,
    pub endpoint_error: Option<String>,
    /// Stops this core's forwarders (status, activity, expiry).
    pub forwarders: CancellationToken,
}

impl Core {
    pub fn status_view(&self) -> StatusView {
        StatusView {
            session: self.app.status(),
            demo: self.demo,
            sign_in_hint: self.demo.then(|| {
                format!(
                    "Demo tenant: sign in as {} / {}",
                    aic_mcp_core::demo::DEMO_USER,
                    aic_mcp_core::demo::DEMO_PASSWORD
                )
            }),
            socket_path: self.socket_path.as_ref().map(|p| p.display().to_string()),
            http_url: self.http_url.clone(),
            endpoint_error: self.endpoint_error.clone(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// How the shell was started.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// `--demo`: the built-in demo tenant whatever the settings say.
    pub force_demo: bool,
    pub settings_path: PathBuf,
    pub socket_path: PathBuf,
}

/// Shared by commands, the tray and the forwarders.
pub struct Host {
    pub launch: LaunchOptions,
    pub settings: RwLock<Settings>,
    /// Why the settings file could not be read (the defaults are used meanwhile).
    pub settings_error: RwLock<Option<String>>,
    core: RwLock<Option<Arc<Core>>>,
}

impl Host {
    pub fn new(launch: LaunchOptions) -> Self {
        let (settings, error) = match Settings::load(&launch.settings_path) {
            Ok(s) => (s, None),
            Err(e) => (Settings::default(), Some(e.to_string())),
        };
        Self {
            launch,
            settings: RwLock::new(settings),
            settings_error: RwLock::new(error),
            core: RwLock::new(None),
        }
    }

    /// The running core, if started.
    pub async fn core(&self) -> Option<Arc<Core>> {
        self.core.read().await.clone()
    }

    /// Starts a core from the current settings (stopping the previous one first).
    pub async fn start_core(&self) -> anyhow::Result<Arc<Core>> {
        self.stop_core().await;
        let settings = self.settings.read().await.clone();
        let env = |k: &str| std::env::var(k).ok();
        let configured = if self.launch.force_demo {
            None
        } else {
            settings.to_config(env)?
        };
        let (config, parts, demo_tenant): (
            Config,
            AppParts,
            Option<Box<dyn std::any::Any + Send + Sync>>,
        ) = match configured {
            Some(config) => (config, AppParts::default(), None),
            None => {
                let port = settings.redirect_port.to_string();
                let demo = aic_mcp_core::demo::start(
                    aic_mcp_core::demo::DemoSignIn::Browser,
                    |k| match k {
                        "AIC_REDIRECT_PORT" => std::env::var(k)
                            .ok()
                            .filter(|v| !v.is_empty())
                            .or(Some(port.clone())),
                        other => std::env::var(other).ok(),
                    },
                )
                .await?;
                tracing::info!(tenant = %demo.tenant.base_url(), "demo tenant started");
                (demo.config, demo.parts, Some(Box::new(demo.tenant)))
            }
        };
        let demo = demo_tenant.is_some();
        let parts = AppParts {
            // The desktop never opens a browser on its own: the admin clicks Log in.
            interactive_on_demand: false,
            ..parts
        };
        let app = App::start(config, parts)?;
        let mut errors = Vec::new();
        if let Some(e) = self.settings_error.read().await.clone() {
            errors.push(format!("{e}; using the default settings"));
        }
        let socket_path = match app.serve_socket(&self.launch.socket_path).await {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "local MCP socket not served");
                errors.push(e.to_string());
                None
            }
        };
        let http_url = if settings.http_enabled {
            match self.http_bearer().await {
                Ok(bearer) => match app.serve_http(settings.http_port, bearer, None).await {
                    Ok(addr) => Some(format!("http://{addr}/mcp")),
                    Err(e) => {
                        errors.push(e.to_string());
                        None
                    }
                },
                Err(e) => {
                    errors.push(format!("HTTP endpoint off: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let forwarders = app.cancel_token().child_token();
        let core = Arc::new(Core {
            app,
            demo,
            _demo_tenant: demo_tenant,
            socket_path,
            http_url,
            endpoint_error: (!errors.is_empty()).then(|| errors.join("; ")),
            forwarders,
        });
        *self.core.write().await = Some(core.clone());
        Ok(core)
    }

    /// Stops the running core: endpoints closed, socket removed, audit log drained. A demo
    /// tenant's token is forgotten (the tenant dies with the core).
    pub async fn stop_core(&self) {
        let old = self.core.write().await.take();
        if let Some(core) = old {
            core.forwarders.cancel();
            if core.demo {
                let _ = core.app.logout().await;
            }
            core.app.shutdown().await;
        }
    }

    /// The HTTP endpoint's bearer, generated once and kept in the keychain.
    pub async fn http_bearer(
        &self,
    ) -> Result<aic_mcp_core::secret::LocalBearer, aic_mcp_core::auth::StoreError> {
        BearerStore::Keychain(KeychainStore::default())
            .load_or_create(aic_mcp_core::mcp::http::generate_bearer)
            .await
    }
}
