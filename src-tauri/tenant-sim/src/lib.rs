//! A faithful local simulator of a PingOne Advanced Identity Cloud (AIC) tenant.
//!
//! It serves the OAuth endpoints the AIC MCP client uses (PKCE authorisation code, device code,
//! RFC 8693 token exchange) and the REST families it calls (IDM managed objects and schema,
//! monitoring logs), with knobs for tests: a request log, injected latency, injected faults and
//! token expiry. Start one with [`start`]; it listens on `127.0.0.1:0` by default.
//!
//! What a fresh instance holds:
//! * sign-in: the admins of [`SimConfig::admins`] (default `admin` / `Passw0rd!`); clients
//!   `AICMCPClient` (login: code + PKCE S256, device code, refresh) and `AICMCPExchangeClient`
//!   (RFC 8693 exchange). Resource endpoints accept only exchanged tokens.
//! * IDM: managed types `{alpha,bravo}_{user,role,group,organization,application}` with
//!   relationship properties; users `bjensen`, `scarter`, `jdoe`, `agarcia`, `kwong` (alpha) and
//!   `mlee`, `pnguyen`, `tbrown` (bravo), a few roles, groups and organisations.
//! * Logs: the ten AIC sources with entries from the last hour, plus an `idm-access` /
//!   `am-access` entry for every `/openidm` and `/am` request served (same transaction id as the
//!   response's `x-forgerock-transactionid`).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = aic_tenant_sim::start(aic_tenant_sim::SimConfig::default()).await?;
//! println!("tenant at {}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod am_scripts;
mod am_trees;
mod crest;
mod esv;
mod faults;
mod features;
mod filter;
mod http;
mod idm;
mod logs;
mod oauth;
mod oidc;
mod pages;
mod patch;
mod record;
mod seed;
mod server;
mod state;
mod themes;
mod tls;
mod tokens;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind};
pub use record::RecordedRequest;

/// How a simulator instance behaves. `SimConfig::default()` gives an HTTPS tenant on a free
/// loopback port with interactive sign-in.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `true`: HTTPS with a fresh self-signed CA whose PEM is written to `ca_file`;
    /// `false`: plain HTTP.
    pub tls: bool,
    /// Where to write the CA PEM when `tls` is on. `None`: a file in the temp directory, unique
    /// per instance and removed again when the simulator stops.
    pub ca_file: Option<PathBuf>,
    /// Listen address; the default `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// Authorize GETs redirect straight back with a code (no form); device codes are approved
    /// on their first poll.
    pub auto_approve: bool,
    /// `expires_in` of issued access tokens (primary and exchanged).
    pub token_lifetime_secs: u64,
    /// Whether the code, device and refresh grants also return a `refresh_token`.
    pub issue_refresh_tokens: bool,
    /// The device grant's `interval`; polling faster answers `slow_down`.
    pub device_interval_secs: u64,
    /// Lifetime of a device code.
    pub device_expires_secs: u64,
    /// Username/password pairs accepted by the sign-in forms.
    pub admins: Vec<(String, String)>,
    /// Keep every request (headers and bodies included) for [`SimHandle::requests`]. Tests
    /// want it; the demo tenant turns it off, since it would hold every bearer token it
    /// saw for as long as the app runs.
    pub record_requests: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tls: true,
            ca_file: None,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            auto_approve: false,
            token_lifetime_secs: 3600,
            issue_refresh_tokens: true,
            device_interval_secs: 5,
            device_expires_secs: 300,
            admins: vec![("admin".to_string(), "Passw0rd!".to_string())],
            record_requests: true,
        }
    }
}

/// A running simulator. Dropping it stops the server too; [`SimHandle::shutdown`] also waits
/// for the server task to finish.
pub struct SimHandle {
    base_url: String,
    ca_path: Option<PathBuf>,
    remove_ca_on_stop: bool,
    shared: Arc<state::Shared>,
    server: axum_server::Handle<SocketAddr>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

/// Starts a simulator and returns once it is listening.
pub async fn start(cfg: SimConfig) -> anyhow::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .with_context(|| format!("cannot bind the tenant simulator to {}", cfg.bind))?;
    let addr = listener.local_addr()?;
    let scheme = if cfg.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{}", host_port(addr));
    let std_listener = listener.into_std()?;

    let shared = Arc::new(state::Shared::new(cfg.clone(), base_url.clone()));
    let make = server::MakeSim::new(shared.clone());
    let server: axum_server::Handle<SocketAddr> = axum_server::Handle::new();

    let mut remove_ca_on_stop = false;
    let (task, ca_path) = if cfg.tls {
        let material = tls::generate(addr.ip())?;
        let path = match cfg.ca_file.clone() {
            Some(p) => p,
            None => {
                remove_ca_on_stop = true;
                std::env::temp_dir().join(format!("aic-tenant-sim-ca-{}.pem", uuid::Uuid::new_v4()))
            }
        };
        std::fs::write(&path, &material.ca_pem)
            .with_context(|| format!("cannot write the simulator CA to {}", path.display()))?;
        let rustls = axum_server::tls_rustls::RustlsConfig::from_pem(
            material.chain_pem.into_bytes(),
            material.key_pem.into_bytes(),
        )
        .await
        .context("cannot build the simulator TLS configuration")?;
        let srv = axum_server::from_tcp_rustls(std_listener, rustls)?.handle(server.clone());
        (
            tokio::spawn(async move { srv.serve(make).await }),
            Some(path),
        )
    } else {
        let srv = axum_server::from_tcp(std_listener)?.handle(server.clone());
        (tokio::spawn(async move { srv.serve(make).await }), None)
    };

    tracing::info!(%base_url, "tenant simulator listening");
    Ok(SimHandle {
        base_url,
        ca_path,
        remove_ca_on_stop,
        shared,
        server,
        task: Some(task),
    })
}

fn host_port(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("{}:{}", Ipv4Addr::LOCALHOST, addr.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            format!("[{}]:{}", Ipv6Addr::LOCALHOST, addr.port())
        }
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

impl SimHandle {
    /// The tenant's base URL, e.g. `https://127.0.0.1:43123` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The CA certificate (PEM) to trust when the simulator runs with TLS.
    pub fn ca_pem_path(&self) -> Option<PathBuf> {
        self.ca_path.clone()
    }

    /// Every request received so far, in arrival order (none when `record_requests` is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.all()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.recorder.clear();
    }

    /// Delay added before every response from now on.
    pub fn set_latency(&self, d: Duration) {
        *state::lock(&self.shared.latency) = d;
    }

    /// Queues a fault; the first queued fault matching a request applies to it and its `times`
    /// counts down. A fault pushed with `times == 0` never applies.
    pub fn push_fault(&self, f: Fault) {
        self.shared.faults.push(f);
    }

    /// Removes all queued faults.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Makes every access token issued so far (primary and exchanged) answer 401. Refresh
    /// tokens stay valid.
    pub fn expire_all_tokens(&self) {
        state::lock(&self.shared.auth).expire_all();
    }

    /// Approves a pending device authorisation; `false` if no pending one has this user code.
    pub fn approve_device(&self, user_code: &str) -> bool {
        let user = self
            .shared
            .cfg
            .admins
            .first()
            .map(|(u, _)| u.clone())
            .unwrap_or_else(|| "admin".to_string());
        state::lock(&self.shared.auth).decide_device(user_code, Some(user))
    }

    /// Denies a pending device authorisation; `false` if no pending one has this user code.
    pub fn deny_device(&self, user_code: &str) -> bool {
        state::lock(&self.shared.auth).decide_device(user_code, None)
    }

    /// The primary (login) access tokens that are still valid.
    pub fn live_primary_tokens(&self) -> Vec<String> {
        state::lock(&self.shared.auth).live_primary_tokens()
    }

    /// The refresh tokens that can still be redeemed (also for leak searches).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        state::lock(&self.shared.auth).refresh_tokens()
    }

    /// Stops the server, letting in-flight requests finish (for at most two seconds).
    pub async fn shutdown(mut self) {
        self.server.graceful_shutdown(Some(Duration::from_secs(2)));
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "tenant simulator stopped with an error"),
                Err(e) => tracing::warn!(error = %e, "tenant simulator task failed"),
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.server.shutdown();
        }
        if self.remove_ca_on_stop {
            if let Some(path) = &self.ca_path {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
