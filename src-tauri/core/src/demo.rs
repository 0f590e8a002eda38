//! The built-in demo tenant: the tenant simulator on 127.0.0.1 with sample users, roles,
//! journeys and logs, so a newcomer sees the whole flow without a tenant. It is a
//! [`TenantProvider`] the host asks for when no tenant is configured (or with `--demo`).
//! Nothing real is touched, nothing outlives it: the simulator keeps no request log, the
//! tokens stay in memory (no keychain entry for `127.0.0.1:<port>`), and the tenant dies
//! with the core that used it.

use std::sync::Arc;
use std::time::Duration;

use aic_tenant_sim::SimConfig;

use crate::auth::{BrowserOpener, MemoryStore};
use crate::config::Config;
use crate::host::{ProvideRequest, ProvidedTenant, TenantProvider};

/// The demo admin's credentials (shown by the app next to the sign-in button).
pub const DEMO_USER: &str = "admin";
pub const DEMO_PASSWORD: &str = "Passw0rd!";

/// How the demo signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSignIn {
    /// Headless: the simulator approves at once and a redirect follower plays the browser.
    Automatic,
    /// Desktop: the system browser shows the demo tenant's sign-in form (plain HTTP on
    /// loopback, so no certificate warning).
    Browser,
}

/// The redirect follower gives up on a demo tenant that does not answer.
const FOLLOW_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(30);

/// Follows the demo tenant's auto-approve redirect back to the loopback listener.
#[derive(Debug)]
struct RedirectFollower {
    http: reqwest::Client,
}

#[async_trait::async_trait]
impl BrowserOpener for RedirectFollower {
    async fn open(&self, url: &str) -> Result<(), String> {
        let http = self.http.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            let resp = match http.get(&url).send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "demo sign-in: the demo tenant did not answer");
                    return;
                }
            };
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if let Some(back) = location {
                if let Err(e) = http.get(back).send().await {
                    tracing::warn!(error = %e, "demo sign-in: the redirect listener did not answer");
                }
            }
        });
        Ok(())
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Provides the demo tenant.
#[derive(Debug, Clone, Copy)]
pub struct DemoProvider {
    pub sign_in: DemoSignIn,
}

impl DemoProvider {
    /// The desktop's demo: sign in through the browser's form.
    pub fn browser() -> Self {
        Self {
            sign_in: DemoSignIn::Browser,
        }
    }

    /// The headless demo: signed in without a browser.
    pub fn automatic() -> Self {
        Self {
            sign_in: DemoSignIn::Automatic,
        }
    }
}

#[async_trait::async_trait]
impl TenantProvider for DemoProvider {
    fn describe(&self) -> &'static str {
        "demo tenant"
    }

    async fn provide(&self, request: ProvideRequest<'_>) -> Result<ProvidedTenant, String> {
        self.start(request).await.map_err(|e| format!("{e:#}"))
    }
}

impl DemoProvider {
    async fn start(&self, request: ProvideRequest<'_>) -> anyhow::Result<ProvidedTenant> {
        let automatic = self.sign_in == DemoSignIn::Automatic;
        let tenant = aic_tenant_sim::start(SimConfig {
            tls: automatic,
            auto_approve: automatic,
            admins: vec![(DEMO_USER.to_string(), DEMO_PASSWORD.to_string())],
            record_requests: false,
            ..SimConfig::default()
        })
        .await?;
        let base = tenant.base_url();
        let ca_text = tenant.ca_pem_path().map(|p| p.display().to_string());
        let env = request.env;
        // The environment's redirect port wins (as for a real tenant); else the settings'
        // port on the desktop, or any free port headless (several demos may run at once).
        let port = match env("AIC_REDIRECT_PORT").filter(|p| !p.trim().is_empty()) {
            Some(p) => p,
            None if automatic => free_port()?.to_string(),
            None => request.redirect_port.to_string(),
        };
        let config = Config::from_lookup(|k| match k {
            "AIC_BASE_URL" => Some(base.clone()),
            "AIC_CA_FILE" => ca_text.clone(),
            "AIC_REDIRECT_PORT" => Some(port.clone()),
            "DOCKER_CONTAINER" | "AIC_TOKEN_FILE" | "AIC_TOKEN_STORE" => None,
            other => env(other),
        })?;
        let browser: Option<Arc<dyn BrowserOpener>> = if automatic {
            let mut http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(FOLLOW_CONNECT_TIMEOUT)
                .timeout(FOLLOW_TIMEOUT);
            if let Some(ca) = tenant.ca_pem_path() {
                let pem = std::fs::read(ca)?;
                http = http.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem)?);
            }
            Some(Arc::new(RedirectFollower {
                http: http.build()?,
            }))
        } else {
            None
        };
        Ok(ProvidedTenant {
            config,
            browser,
            store: Arc::new(MemoryStore::default()),
            sign_in_hint: Some(format!(
                "Demo tenant: sign in as {DEMO_USER} / {DEMO_PASSWORD}"
            )),
            guard: Box::new(tenant),
        })
    }
}
