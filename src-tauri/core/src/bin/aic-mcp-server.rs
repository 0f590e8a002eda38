//! The headless host: `aic-mcp-server` serves MCP over stdio (a drop-in for the reference
//! server). Nothing but protocol is written to stdout; logs go to stderr.

use std::process::ExitCode;

use aic_mcp_core::{App, AppParts, Config};

const USAGE: &str = "Usage: aic-mcp-server [--demo | --version | --help]

Serves the PingOne Advanced Identity Cloud MCP tools over stdio.

  --demo    serve against the built-in demo tenant (a local simulator with sample
            users, roles and logs; sign-in is automatic). No real tenant is touched.

Environment:
  AIC_BASE_URL       tenant URL, e.g. https://openam-mytenant.forgeblocks.com (required)
  AIC_CA_FILE        PEM bundle trusted in addition to the system roots
  AIC_REDIRECT_PORT  loopback port of the browser login redirect (default 3000)
  AIC_TOKEN_STORE    keychain (default) | file | memory
  AIC_TOKEN_FILE     token file for AIC_TOKEN_STORE=file
  DOCKER_CONTAINER   true: device-code login, token file, 28 tools
  AIC_LOG_DIR        directory of the JSONL activity log
  BROWSER            browser command for the login (Linux)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut demo = false;
    match args.first().map(String::as_str) {
        None => {}
        Some("--demo") if args.len() == 1 => demo = true,
        Some("--version" | "-V") => {
            println!("aic-mcp-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("aic-mcp-server: unknown argument '{other}'\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AIC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aic-mcp-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let (config, parts, _demo_tenant) = if demo {
            match demo::prepare().await {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("aic-mcp-server: cannot start the demo tenant: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            match Config::from_env() {
                Ok(c) => (c, AppParts::default(), None),
                Err(e) => {
                    eprintln!("aic-mcp-server: {e}");
                    return ExitCode::from(2);
                }
            }
        };
        let app = match App::start(config, parts) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("aic-mcp-server: {e}");
                return ExitCode::FAILURE;
            }
        };
        let stop = app.cancel_token().clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            stop.cancel();
        });
        let result = app.serve_stdio().await;
        app.shutdown().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("aic-mcp-server: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(feature = "demo")]
mod demo {
    //! The built-in demo tenant: the tenant simulator on 127.0.0.1 with its own CA, an
    //! automatic sign-in (the simulator approves, and a redirect follower plays the
    //! browser), and the token kept in memory only.

    use std::sync::Arc;

    use aic_mcp_core::auth::BrowserOpener;
    use aic_mcp_core::{AppParts, Config};
    use aic_tenant_sim::{SimConfig, SimHandle};

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

    pub async fn prepare() -> anyhow::Result<(Config, AppParts, Option<SimHandle>)> {
        let sim = aic_tenant_sim::start(SimConfig {
            tls: true,
            auto_approve: true,
            ..SimConfig::default()
        })
        .await?;
        let ca = sim
            .ca_pem_path()
            .ok_or_else(|| anyhow::anyhow!("the demo tenant wrote no CA file"))?;
        let port = match std::env::var("AIC_REDIRECT_PORT") {
            Ok(p) if !p.trim().is_empty() => p,
            _ => free_port()?.to_string(),
        };
        let base = sim.base_url();
        let ca_text = ca.display().to_string();
        let config = Config::from_lookup(|k| match k {
            "AIC_BASE_URL" => Some(base.clone()),
            "AIC_CA_FILE" => Some(ca_text.clone()),
            "AIC_REDIRECT_PORT" => Some(port.clone()),
            "AIC_TOKEN_STORE" => Some("memory".into()),
            "DOCKER_CONTAINER" | "AIC_TOKEN_FILE" => None,
            other => std::env::var(other).ok(),
        })?;
        let pem = std::fs::read(&ca)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem)?)
            .build()?;
        eprintln!(
            "aic-mcp-server: demo mode: serving the built-in demo tenant at {base} (sample data; no real tenant is touched)"
        );
        let parts = AppParts {
            browser: Arc::new(RedirectFollower { http }),
            ..AppParts::default()
        };
        Ok((config, parts, Some(sim)))
    }
}

#[cfg(not(feature = "demo"))]
mod demo {
    pub async fn prepare(
    ) -> anyhow::Result<(aic_mcp_core::Config, aic_mcp_core::AppParts, Option<()>)> {
        anyhow::bail!("this build has no demo tenant (built without the `demo` feature)")
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
