//! `aic-tenant-sim`: runs the tenant simulator until Ctrl-C or SIGTERM.
//!
//! Prints `AIC_BASE_URL=<url>` (and `AIC_CA_FILE=<path>` with TLS) on stdout; logs go to stderr.
//! With `--control`, a second loopback listener (plain HTTP, its own port, printed as
//! `AIC_SIM_CONTROL=<url>`) lets out-of-process tests read the request log and the live
//! tokens and inject faults. The simulated tenant itself gains no extra routes.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /requests` | the request log, oldest first; `status` is 0 while a request is in flight or when it got no answer |
//! | `GET /tokens` | the live primary and refresh tokens |
//! | `POST /clear` | forgets the request log |
//! | `POST /faults` | queues one fault (a JSON body, below); 204, or 400 naming what is wrong |
//! | `DELETE /faults` | removes every queued fault |
//!
//! A fault is `{"path_prefix": "/monitoring", "kind": …}` with optional `"method": "GET"`
//! (any method when absent) and `"times": N` (default 1, at least 1). `kind` is `"drop"`
//! (close the connection), `"stall"` (never answer), `{"delay": {"ms": 300}}` (answer
//! late), `{"status": {"status": 503, "body": "…"}}` or
//! `{"too_many_requests": {"retry_after_secs": 2}}`; see [`aic_tenant_sim::FaultKind`].
//! Faults apply in the order they were queued, as [`aic_tenant_sim::SimHandle::push_fault`]
//! describes.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use aic_tenant_sim::{Fault, FaultKind, SimConfig};
use anyhow::{anyhow, bail, Context as _};
use serde::Deserialize;

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

/// The JSON body of `POST /faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    #[serde(default)]
    method: Option<String>,
    path_prefix: String,
    kind: KindSpec,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

/// [`FaultKind`] as JSON: a unit kind is a string, the others an object named by the kind.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KindSpec {
    Status {
        status: u16,
        #[serde(default)]
        body: String,
    },
    TooManyRequests {
        retry_after_secs: u64,
    },
    Drop,
    Stall,
    Delay {
        ms: u64,
    },
}

/// Reads a `POST /faults` body; the error says what is wrong.
fn parse_fault(body: &[u8]) -> Result<Fault, String> {
    let spec: FaultSpec =
        serde_json::from_slice(body).map_err(|e| format!("invalid fault: {e}"))?;
    if spec.times == 0 {
        return Err("invalid fault: `times` must be at least 1".into());
    }
    let kind = match spec.kind {
        KindSpec::Status { status, body } => {
            if !(100..=599).contains(&status) {
                return Err(format!(
                    "invalid fault: status {status} is not an HTTP status (100-599)"
                ));
            }
            FaultKind::Status { status, body }
        }
        KindSpec::TooManyRequests { retry_after_secs } => {
            FaultKind::TooManyRequests { retry_after_secs }
        }
        KindSpec::Drop => FaultKind::Drop,
        KindSpec::Stall => FaultKind::Stall,
        KindSpec::Delay { ms } => FaultKind::Delay { ms },
    };
    let mut fault = Fault::new(spec.path_prefix, kind).with_times(spec.times);
    if let Some(method) = spec.method {
        if axum::http::Method::from_bytes(method.as_bytes()).is_err() || method.is_empty() {
            return Err(format!("invalid fault: '{method}' is not an HTTP method"));
        }
        fault = fault.with_method(method);
    }
    Ok(fault)
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
    let push_fault = {
        let sim = sim.clone();
        move |body: axum::body::Bytes| {
            let sim = sim.clone();
            async move {
                match parse_fault(&body) {
                    Ok(fault) => {
                        sim.push_fault(fault);
                        (axum::http::StatusCode::NO_CONTENT, String::new())
                    }
                    Err(e) => (axum::http::StatusCode::BAD_REQUEST, e),
                }
            }
        }
    };
    let clear_faults = {
        let sim = sim.clone();
        move || {
            let sim = sim.clone();
            async move {
                sim.clear_faults();
                axum::http::StatusCode::NO_CONTENT
            }
        }
    };
    let app = axum::Router::new()
        .route("/requests", get(requests))
        .route("/tokens", get(tokens))
        .route("/clear", post(clear))
        .route("/faults", post(push_fault).delete(clear_faults));
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

    #[test]
    fn fault_bodies() {
        let f = parse_fault(br#"{"path_prefix": "/monitoring", "kind": "stall"}"#).unwrap();
        assert_eq!(f, Fault::new("/monitoring", FaultKind::Stall));
        let f = parse_fault(
            br#"{"method": "GET", "path_prefix": "/am", "times": 3, "kind": {"delay": {"ms": 250}}}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            Fault::new("/am", FaultKind::Delay { ms: 250 })
                .with_method("GET")
                .with_times(3)
        );
        let f =
            parse_fault(br#"{"path_prefix": "", "kind": {"status": {"status": 503}}}"#).unwrap();
        assert_eq!(
            f.kind,
            FaultKind::Status {
                status: 503,
                body: String::new()
            }
        );
        let f = parse_fault(
            br#"{"path_prefix": "/x", "kind": {"too_many_requests": {"retry_after_secs": 2}}}"#,
        )
        .unwrap();
        assert_eq!(
            f.kind,
            FaultKind::TooManyRequests {
                retry_after_secs: 2
            }
        );
        assert_eq!(
            parse_fault(br#"{"path_prefix": "/x", "kind": "drop"}"#)
                .unwrap()
                .kind,
            FaultKind::Drop
        );
        for (bad, why) in [
            (&br#"{"kind": "stall"}"#[..], "missing field `path_prefix`"),
            (
                br#"{"path_prefix": "/", "kind": "hang"}"#,
                "unknown variant `hang`",
            ),
            (
                br#"{"path_prefix": "/", "kind": "stall", "tims": 2}"#,
                "unknown field `tims`",
            ),
            (
                br#"{"path_prefix": "/", "kind": {"delay": {"ms": 1, "x": 1}}}"#,
                "unknown field `x`",
            ),
            (
                br#"{"path_prefix": "/", "kind": "stall", "times": 0}"#,
                "at least 1",
            ),
            (
                br#"{"path_prefix": "/", "kind": {"status": {"status": 42}}}"#,
                "status 42",
            ),
            (
                br#"{"path_prefix": "/", "kind": "drop", "method": "G T"}"#,
                "'G T' is not an HTTP method",
            ),
            (
                br#"{"path_prefix": "/", "kind": "drop", "method": ""}"#,
                "is not an HTTP method",
            ),
            (b"not json", "invalid fault"),
        ] {
            let e = parse_fault(bad).unwrap_err();
            assert!(e.starts_with("invalid fault: ") && e.contains(why), "{e}");
        }
    }
}
