//! The headless host: `aic-mcp-server` serves MCP over stdio (a drop-in for the reference
//! server). Nothing but protocol is written to stdout; logs go to stderr.

use std::process::ExitCode;

use aic_mcp_core::{App, AppParts, Config};

const USAGE: &str = "Usage: aic-mcp-server [--version | --help]

Serves the PingOne Advanced Identity Cloud MCP tools over stdio.

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
    match args.first().map(String::as_str) {
        None => {}
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
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("aic-mcp-server: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aic-mcp-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let app = match App::start(config, AppParts::default()) {
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
