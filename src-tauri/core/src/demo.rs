//! The built-in demo tenant: the tenant simulator on 127.0.0.1 with sample users, roles,
//! journeys and logs, so a newcomer sees the whole flow without a tenant. Nothing real is
//! touched; the demo tenant lives and dies with the process.

use std::sync::Arc;

use aic_tenant_sim::{SimConfig, SimHandle};

use crate::auth::BrowserOpener;
use crate::config::Config;
use crate::AppParts;

/// The demo admin's credentials (shown by the app next to the sign-in button).
pub const DEMO_USER: &str = "admin";
pub const DEMO_PASSWORD: &str = "Passw0rd!";

/// How the demo signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSignIn {
    /// Headless: the simulator approves at once and a redirect follower plays the browser;
    /// the token stays in memory.
    Automatic,
    /// Desktop: the system browser shows the demo tenant's sign-in form (plain HTTP on
    /// loopback, so no certificate warning); the token goes to the configured store.
    Browser,
}

/// A running demo tenant and the configuration that points at it.
pub struct Demo {
    pub config: Config,
    pub parts: AppParts,
    pub tenant: SimHandle,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

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
            let Ok(resp) = http.get(&url).send().await else {
                return;
            };
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if let Some(back) = location {
                let _ = http.get(back).send().await;
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

/// Starts the demo tenant. `env` supplies the remaining settings (redirect port, token
/// store, log dir); the tenant URL and CA always come from the demo.
pub async fn start(
    sign_in: DemoSignIn,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Demo> {
    let automatic = sign_in == DemoSignIn::Automatic;
    let tenant = aic_tenant_sim::start(SimConfig {
        tls: automatic,
        auto_approve: automatic,
        admins: vec![(DEMO_USER.to_string(), DEMO_PASSWORD.to_string())],
        ..SimConfig::default()
    })
    .await?;
    let base = tenant.base_url();
    let ca_text = tenant.ca_pem_path().map(|p| p.display().to_string());
    let port = match env("AIC_REDIRECT_PORT") {
        Some(p) if !p.trim().is_empty() => p,
        _ => free_port()?.to_string(),
    };
    let config = Config::from_lookup(|k| match k {
        "AIC_BASE_URL" => Some(base.clone()),
        "AIC_CA_FILE" => ca_text.clone(),
        "AIC_REDIRECT_PORT" => Some(port.clone()),
        "AIC_TOKEN_STORE" if automatic => Some("memory".into()),
        "DOCKER_CONTAINER" | "AIC_TOKEN_FILE" => None,
        other => env(other),
    })?;
    let parts = if automatic {
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = tenant.ca_pem_path() {
            let pem = std::fs::read(ca)?;
            http = http.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem)?);
        }
        AppParts {
            browser: Arc::new(RedirectFollower {
                http: http.build()?,
            }),
            ..AppParts::default()
        }
    } else {
        AppParts::default()
    };
    Ok(Demo {
        config,
        parts,
        tenant,
    })
}
