//! `aic-tenant-sim`: runs the tenant simulator until Ctrl-C or SIGTERM.
//!
//! Prints `AIC_BASE_URL=<url>` (and `AIC_CA_FILE=<path>` with TLS) on stdout; logs go to stderr.
//! With `--control`, a second loopback listener (plain HTTP, its own port, printed as
//! `AIC_SIM_CONTROL=<url>`) lets out-of-process tests read the request log and the live
//! tokens: `GET /requests`, `GET /tokens`, `POST /clear`. The simulated tenant itself
//! gains no extra routes.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use aic_tenant_sim::SimConfig;
use anyhow::{anyhow, bail, Context as _};

const USAGE: &str =
    "usage: aic-tenant-sim [--http] [--bind ADDR] [--ca-file PATH] [--auto-approve] \
[--token-lifetime SECS] [--device-interval SECS] [--control]";

/// Parsed command line.
struct Cli {
    cfg: SimConfig,
    control: bool,
}

fn parse_args(args: impl Iterator<Item = String>) -> anyhow::Result<Cli> {
    let mut cfg = SimConfig::default();
    let mut control = false;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> anyhow::Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| anyhow!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--http" => cfg.tls = false,
            "--control" => control = true,
            "--auto-approve" => cfg.auto_approve = true,
            "--bind" => {
                let v = value("--bind")?;
                cfg.bind = v
                    .parse::<SocketAddr>()
                    .with_context(|| format!("invalid --bind address '{v}'"))?;
            }
            "--ca-file" => cfg.ca_file = Some(PathBuf::from(value("--ca-file")?)),
            "--token-lifetime" => {
                cfg.token_lifetime_secs = value("--token-lifetime")?
                    .parse()
                    .context("--token-lifetime takes whole seconds")?;
            }
            "--device-interval" => {
                cfg.device_interval_secs = value("--device-interval")?
                    .parse()
                    .context("--device-interval takes whole seconds")?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n{USAGE}"),
        }
    }
    Ok(Cli { cfg, control })
}

/// Serves the control endpoints for `sim` on 127.0.0.1:0; returns its URL.
async fn start_control(sim: std::sync::Arc<aic_tenant_sim::SimHandle>) -> anyhow::Result<String> {
    use axum::routing::{get, post};
    use serde_json::json;
    let requests = {
        let sim = sim.clone();
        move || {
            let sim = sim.clone();
            async move {
                let list: Vec<serde_json::Value> = sim
                    .requests()
                    .into_iter()
                    .map(|r| {
                        json!({
                            "method": r.method,
                            "path": r.path,
                            "query": r.query,
                            "headers": r.headers,
                            "body": r.body,
                            "status": r.status,
                            "transaction_id": r.transaction_id,
                        })
                    })
                    .collect();
                axum::Json(serde_json::Value::Array(list))
            }
        }
    };
    let tokens = {
        let sim = sim.clone();
        move || {
            let sim = sim.clone();
            async move {
                axum::Json(json!({
                    "primary": sim.live_primary_tokens(),
                    "refresh": sim.live_refresh_tokens(),
                }))
            }
        }
    };
    let clear = {
        let sim = sim.clone();
        move || {
            let sim = sim.clone();
            async move {
                sim.clear_requests();
                axum::http::StatusCode::NO_CONTENT
            }
        }
    };
    let app = axum::Router::new()
        .route("/requests", get(requests))
        .route("/tokens", get(tokens))
        .route("/clear", post(clear));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "control server stopped");
        }
    });
    Ok(url)
}

async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let cli = parse_args(std::env::args().skip(1))?;
    let sim = std::sync::Arc::new(aic_tenant_sim::start(cli.cfg).await?);
    let control = if cli.control {
        Some(start_control(sim.clone()).await?)
    } else {
        None
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "AIC_BASE_URL={}", sim.base_url())?;
        if let Some(ca) = sim.ca_pem_path() {
            writeln!(out, "AIC_CA_FILE={}", ca.display())?;
        }
        if let Some(url) = &control {
            writeln!(out, "AIC_SIM_CONTROL={url}")?;
        }
        out.flush()?;
    }
    wait_for_stop().await?;
    tracing::info!("stopping the tenant simulator");
    // Dropping the last handle stops the server (and removes a temporary CA file).
    drop(sim);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<SimConfig> {
        parse_args(args.iter().map(|s| s.to_string())).map(|c| c.cfg)
    }

    #[test]
    fn flags() {
        let cfg = parse(&[
            "--http",
            "--bind",
            "127.0.0.1:8080",
            "--auto-approve",
            "--token-lifetime=60",
            "--device-interval",
            "1",
            "--ca-file",
            "/tmp/ca.pem",
        ])
        .unwrap();
        assert!(!cfg.tls && cfg.auto_approve);
        assert_eq!(cfg.bind.port(), 8080);
        assert_eq!(cfg.token_lifetime_secs, 60);
        assert_eq!(cfg.device_interval_secs, 1);
        assert_eq!(cfg.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
        assert!(parse(&[]).unwrap().tls);
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--bind"]).is_err());
        assert!(
            parse_args(["--control".to_string()].into_iter())
                .unwrap()
                .control
        );
    }
}
