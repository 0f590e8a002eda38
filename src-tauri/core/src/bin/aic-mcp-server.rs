//! The headless host: `aic-mcp-server` serves MCP over stdio (a drop-in for the reference
//! server); `serve` runs the same core as the desktop app without a GUI (local socket and
//! optional loopback HTTP); `connect` bridges stdio to a running app's socket. Nothing but
//! protocol is written to stdout; logs go to stderr.

use std::process::ExitCode;

use aic_mcp_core::{App, AppParts, Config};

const USAGE: &str = "Usage: aic-mcp-server [--demo]
       aic-mcp-server serve [--demo] [--socket PATH] [--http PORT]
       aic-mcp-server connect [--socket PATH]
       aic-mcp-server --version | --help

Serves the PingOne Advanced Identity Cloud MCP tools over stdio.

  serve     run the core without a GUI, like the desktop app: MCP on the local socket
            (0600, this user only) and, with --http, Streamable HTTP on 127.0.0.1:PORT
            guarded by a bearer kept in the OS keychain (AIC_MCP_HTTP_TOKEN overrides it)
            and by Host/Origin checks. All clients share one login.
  connect   bridge stdio to the running AIC MCP Desktop app (or `serve`) through its
            local MCP socket, so the assistant shares the app's login; no secret is
            needed in the assistant's config. AIC_MCP_SOCKET overrides the socket path.

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

/// What this run does.
enum Mode {
    Stdio,
    Serve {
        socket: Option<std::path::PathBuf>,
        http: Option<u16>,
    },
}

fn parse(args: &[String]) -> Result<(Mode, bool), String> {
    let mut demo = false;
    let mut rest = args;
    let serve = rest.first().map(String::as_str) == Some("serve");
    if serve {
        rest = &rest[1..];
    }
    let (mut socket, mut http) = (None, None);
    while let Some((flag, tail)) = rest.split_first() {
        match flag.as_str() {
            "--demo" => {
                demo = true;
                rest = tail;
            }
            "--socket" if serve => {
                let p = tail
                    .first()
                    .filter(|p| !p.is_empty())
                    .ok_or("--socket needs a path")?;
                socket = Some(std::path::PathBuf::from(p));
                rest = &tail[1..];
            }
            "--http" if serve => {
                let p = tail
                    .first()
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or("--http needs a port number (0 = any free port)")?;
                http = Some(p);
                rest = &tail[1..];
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok((
        if serve {
            Mode::Serve { socket, http }
        } else {
            Mode::Stdio
        },
        demo,
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("connect") => return connect(&args[1..]),
        Some("--version" | "-V") => {
            println!("aic-mcp-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let (mode, demo) = match parse(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("aic-mcp-server: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
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
            match prepare_demo().await {
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
        let result = match mode {
            Mode::Stdio => app.serve_stdio().await.map_err(|e| e.to_string()),
            Mode::Serve { socket, http } => serve(&app, socket, http).await,
        };
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

/// `serve`: the socket (and HTTP) until a signal.
async fn serve(
    app: &App,
    socket: Option<std::path::PathBuf>,
    http: Option<u16>,
) -> Result<(), String> {
    app.restore_login().await;
    let path = socket.unwrap_or_else(aic_mcp_core::mcp::socket::default_socket_path);
    let bound = app.serve_socket(&path).await.map_err(|e| e.to_string())?;
    eprintln!("aic-mcp-server: MCP socket {}", bound.display());
    if let Some(port) = http {
        let bearer = match std::env::var("AIC_MCP_HTTP_TOKEN") {
            Ok(t) if t.len() >= 32 => aic_mcp_core::secret::LocalBearer::new(t),
            Ok(_) => return Err("AIC_MCP_HTTP_TOKEN must be at least 32 characters".into()),
            Err(_) => aic_mcp_core::auth::BearerStore::Keychain(Default::default())
                .load_or_create(aic_mcp_core::mcp::http::generate_bearer)
                .await
                .map_err(|e| e.to_string())?,
        };
        let addr = app
            .serve_http(port, bearer, None)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!(
            "aic-mcp-server: MCP over HTTP at http://{addr}/mcp (bearer in the OS keychain: service aic-mcp-desktop, account local-http-bearer)"
        );
    }
    app.cancel_token().cancelled().await;
    Ok(())
}

/// Keeps the demo tenant alive for as long as the server runs.
type DemoGuard = Option<Box<dyn std::any::Any + Send>>;

#[cfg(feature = "demo")]
async fn prepare_demo() -> anyhow::Result<(Config, AppParts, DemoGuard)> {
    let demo = aic_mcp_core::demo::start(aic_mcp_core::demo::DemoSignIn::Automatic, |k| {
        std::env::var(k).ok()
    })
    .await?;
    eprintln!(
        "aic-mcp-server: demo mode: serving the built-in demo tenant at {} (sample data; no real tenant is touched)",
        demo.tenant.base_url()
    );
    Ok((demo.config, demo.parts, Some(Box::new(demo.tenant))))
}

#[cfg(not(feature = "demo"))]
async fn prepare_demo() -> anyhow::Result<(Config, AppParts, DemoGuard)> {
    anyhow::bail!("this build has no demo tenant (built without the `demo` feature)")
}

/// `aic-mcp-server connect [--socket PATH]`: the stdio bridge to the running app.
fn connect(args: &[String]) -> ExitCode {
    let path = match args {
        [] => aic_mcp_core::mcp::socket::default_socket_path(),
        [flag, p] if flag == "--socket" && !p.is_empty() => std::path::PathBuf::from(p),
        _ => {
            eprintln!("aic-mcp-server: usage: aic-mcp-server connect [--socket PATH]");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aic-mcp-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(aic_mcp_core::mcp::bridge::connect_stdio(&path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aic-mcp-server: {e}");
            ExitCode::FAILURE
        }
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
