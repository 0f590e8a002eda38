//! The headless host: `aic-mcp-server` serves MCP over stdio (a drop-in for the reference
//! server); `serve` runs the same core as the desktop app without a GUI (local socket and
//! optional loopback HTTP); `connect` bridges stdio to a running app's socket. Nothing but
//! protocol is written to stdout; logs go to stderr.

use std::process::ExitCode;

use aic_mcp_core::host::{HostError, HostOptions, HostStatus, SettingsSource, Supervisor};
use aic_mcp_core::settings::Settings;

const USAGE: &str = "Usage: aic-mcp-server [--demo | --profile NAME]
       aic-mcp-server serve [--demo | --profile NAME] [--socket PATH] [--http PORT]
       aic-mcp-server connect [--profile NAME] [--socket PATH]
       aic-mcp-server --version | --help

Serves the PingOne Advanced Identity Cloud MCP tools over stdio.

  serve     run the core without a GUI, like the desktop app: MCP on the local socket
            (0600, this user only) and, with --http, Streamable HTTP on 127.0.0.1:PORT
            guarded by a bearer kept in the OS keychain (AIC_MCP_HTTP_TOKEN overrides it)
            and by Host/Origin checks. All clients share one login.
  connect   bridge stdio to the running AIC MCP Desktop app (or `serve`) through its
            local MCP socket, so the assistant shares the app's login; no secret is
            needed in the assistant's config. AIC_MCP_SOCKET overrides the socket path.
            It refuses (exit 1) a socket whose folder is not a real folder private to
            you (0700, yours) or whose server runs as another user.

  --demo    serve against the built-in demo tenant (a local simulator with sample
            users, roles and logs; sign-in is automatic). No real tenant is touched.
  --profile NAME
            the tenant profile NAME of the AIC MCP Desktop settings file (its tenant,
            mode, switches and production mark; an unknown name stops with the known
            ones). `serve --profile` listens on that profile's own socket beside the
            main one (<socket folder>/profiles/NAME.sock; --socket names the main one);
            `connect --profile` reaches only that profile, whichever one is active.
            Without it, AIC_BASE_URL names the tenant as before.

Environment:
  AIC_BASE_URL       tenant URL, e.g. https://openam-mytenant.forgeblocks.com (required)
  AIC_CA_FILE        PEM bundle trusted in addition to the system roots
  AIC_REDIRECT_PORT  loopback port of the browser login redirect (default 3000)
  AIC_TOKEN_STORE    keychain (default) | file | memory
  AIC_TOKEN_FILE     token file for AIC_TOKEN_STORE=file
  DOCKER_CONTAINER   true: device-code login, token file, 28 tools
  AIC_LOG_DIR        directory of the JSONL activity log and change journal
  AIC_MODE           full (default) | read-only | ask | ask-destructive: ask confirms
                     changes through the assistant's MCP elicitation (a client may answer
                     it by itself; the desktop app asks out of band, in its window)
  AIC_DISABLE_TOOLS  tools or families turned off, e.g. deleteJourney,themes
  AIC_APPROVAL_TIMEOUT  seconds to confirm a change before it is declined (default 120)
  BROWSER            browser command for the login (Linux)";

/// What this run does.
enum Mode {
    Stdio,
    Serve {
        socket: Option<std::path::PathBuf>,
        http: Option<u16>,
    },
}

/// The value of a flag that needs one.
fn value<'a>(tail: &'a [String], flag: &str, what: &str) -> Result<&'a String, String> {
    tail.first()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("{flag} needs {what}"))
}

fn parse(args: &[String]) -> Result<(Mode, bool, Option<String>), String> {
    let mut demo = false;
    let mut profile = None;
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
            "--profile" => {
                let name = value(tail, "--profile", "a profile name")?;
                aic_mcp_core::settings::profile_name_rule(name)?;
                profile = Some(name.clone());
                rest = &tail[1..];
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
    if demo && profile.is_some() {
        return Err("--demo and --profile cannot be used together".into());
    }
    Ok((
        if serve {
            Mode::Serve { socket, http }
        } else {
            Mode::Stdio
        },
        demo,
        profile,
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
    let (mode, demo, profile) = match parse(&args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("aic-mcp-server: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        // AIC_LOG, never opening rmcp's logging of whole requests and results.
        .with_env_filter(aic_mcp_core::logging::env_filter("warn"))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aic-mcp-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(mode, demo, profile))
}

/// `--profile NAME`: the settings file's profile, with the HTTP flags of this run. An
/// unknown name, or an `AIC_BASE_URL` naming another tenant, is an error (exit 2).
fn profile_settings(name: &str, http: Option<u16>) -> Result<Settings, String> {
    let path = Settings::default_path();
    let settings = Settings::load(&path).map_err(|e| e.to_string())?;
    let profile = settings.select(Some(name)).map_err(|e| {
        format!(
            "{}: {} (settings file {})",
            e.setting,
            e.problem,
            path.display()
        )
    })?;
    if let (Some(env), Some(p)) = (
        std::env::var("AIC_BASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty()),
        profile,
    ) {
        let env_origin = aic_mcp_core::config::TenantUrl::parse(env.trim())
            .map(|u| u.origin())
            .unwrap_or(env.clone());
        if p.is_demo() || env_origin != p.tenant_url {
            return Err(format!(
                "AIC_BASE_URL ({env_origin}) and profile {:?} ({}) name different tenants; unset AIC_BASE_URL or drop --profile",
                p.name,
                if p.is_demo() { "the demo tenant" } else { p.tenant_url.as_str() }
            ));
        }
    }
    Ok(Settings {
        http_enabled: http.is_some(),
        http_port: http.unwrap_or(0),
        ..settings
    })
}

/// One lifecycle for both modes: the supervisor starts the core, the mode serves it, and
/// a signal (or stdin's end) stops it, letting calls in flight finish first.
async fn run(mode: Mode, demo: bool, profile: Option<String>) -> ExitCode {
    let (socket, http) = match &mode {
        Mode::Stdio => (None, None),
        Mode::Serve { socket, http } => (
            Some({
                let main = socket
                    .clone()
                    .unwrap_or_else(aic_mcp_core::mcp::socket::default_socket_path);
                match &profile {
                    // The profile's own socket beside the main one (`--socket` names the
                    // main one, as for `connect`): several `serve --profile` side by side.
                    Some(name) => aic_mcp_core::mcp::socket::profile_socket_path(&main, name),
                    None => main,
                }
            }),
            *http,
        ),
    };
    let settings = match &profile {
        Some(name) => match profile_settings(name, http) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("aic-mcp-server: {e}");
                return ExitCode::from(2);
            }
        },
        None => Settings {
            http_enabled: http.is_some(),
            http_port: http.unwrap_or(0),
            ..Settings::default()
        },
    };
    let mut opts = HostOptions::new(SettingsSource::Fixed(settings));
    opts.force_demo = demo;
    opts.socket = socket;
    opts.profile = profile;
    #[cfg(feature = "demo")]
    {
        opts.demo = Some(std::sync::Arc::new(
            aic_mcp_core::demo::DemoProvider::automatic(),
        ));
    }
    let supervisor = Supervisor::new(opts);
    if let Err(e) = supervisor.start().await {
        eprintln!("aic-mcp-server: {e}");
        return match e {
            HostError::Config(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        };
    }
    let status = supervisor.status();
    if demo {
        eprintln!(
            "aic-mcp-server: demo mode: serving the built-in demo tenant at {} (sample data; no real tenant is touched)",
            status.session.tenant
        );
    }
    let result = match mode {
        Mode::Stdio => {
            tokio::select! {
                r = supervisor.serve_stdio() => r.map_err(|e| e.to_string()),
                _ = wait_for_signal() => Ok(()),
            }
        }
        Mode::Serve { .. } => serve(&supervisor, &status).await,
    };
    supervisor.stop().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aic-mcp-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `serve`: the socket (and HTTP) until a signal. An endpoint that cannot be served is
/// fatal here (the desktop shows it instead); notices go to stderr.
async fn serve(supervisor: &Supervisor, status: &HostStatus) -> Result<(), String> {
    if let Some(e) = status.endpoint_errors.first() {
        return Err(e.message.clone());
    }
    if let Some(path) = &status.socket_path {
        eprintln!("aic-mcp-server: MCP socket {path}");
    }
    if let Some(url) = &status.http_url {
        eprintln!(
            "aic-mcp-server: MCP over HTTP at {url} (bearer: AIC_MCP_HTTP_TOKEN, else the OS keychain: service aic-mcp-desktop, account local-http-bearer)"
        );
    }
    let mut notices = supervisor.subscribe_notices();
    loop {
        tokio::select! {
            _ = wait_for_signal() => return Ok(()),
            n = notices.recv() => match n {
                Ok(n) => eprintln!("aic-mcp-server: {}: {}", n.title(), n.body()),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// `aic-mcp-server connect [--profile NAME] [--socket PATH]`: the stdio bridge to the
/// running app (to the profile's own socket with `--profile`). Exits 1 when the app (or
/// that profile) is not served or the socket is not this user's own (see
/// [`aic_mcp_core::mcp::bridge`]), 2 on bad arguments.
fn connect(args: &[String]) -> ExitCode {
    const CONNECT_USAGE: &str = "usage: aic-mcp-server connect [--profile NAME] [--socket PATH]";
    let (mut socket, mut profile) = (None, None);
    let mut rest = args;
    while let Some((flag, tail)) = rest.split_first() {
        let taken = match flag.as_str() {
            "--socket" => value(tail, "--socket", "a path").map(|p| socket = Some(p.clone())),
            "--profile" => value(tail, "--profile", "a profile name").and_then(|n| {
                aic_mcp_core::settings::profile_name_rule(n)?;
                profile = Some(n.clone());
                Ok(())
            }),
            other => Err(format!("unknown argument '{other}'")),
        };
        if let Err(e) = taken {
            eprintln!("aic-mcp-server: {e}\n{CONNECT_USAGE}");
            return ExitCode::from(2);
        }
        rest = &tail[1..];
    }
    let main = socket
        .map(std::path::PathBuf::from)
        .unwrap_or_else(aic_mcp_core::mcp::socket::default_socket_path);
    let path = match &profile {
        Some(name) => {
            let path = aic_mcp_core::mcp::socket::profile_socket_path(&main, name);
            if std::fs::symlink_metadata(&path).is_err() {
                eprintln!(
                    "aic-mcp-server: profile {name:?} is not being served ({} does not exist): make it the active profile in AIC MCP Desktop, or run `aic-mcp-server serve --profile {name}`",
                    path.display()
                );
                return ExitCode::FAILURE;
            }
            path
        }
        None => main,
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
