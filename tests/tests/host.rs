//! The supervisor (`aic_mcp_core::host`): one lifecycle for every host. Overlapping
//! restarts leave one core and nothing orphaned; the status names endpoint failures with
//! codes; the expiry timer warns and signs out (or refreshes) from the token's expiry; the
//! demo tenant keeps no request log and no keychain entry; settings changes restart only
//! when the core changes; a core that cannot start says why.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aic_mcp_core::auth::{BearerStore, KeychainStore, MemoryStore, SessionState, TokenStore};
use aic_mcp_core::host::{
    EndpointErrorCode, HostError, HostOptions, Notice, Phase, ProvideRequest, SettingsSource,
    Supervisor, TenantProvider,
};
use aic_mcp_core::settings::{Profile, Settings};
use aic_mcp_core::AppParts;
use aic_mcp_tests::aic_tenant_sim::{self, SimConfig, SimHandle};
use aic_mcp_tests::{free_port, BrowserScript, ScriptedBrowser};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::sync::broadcast;

/// A simulator and the environment a host would read for it.
struct Rig {
    sim: SimHandle,
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    browser: ScriptedBrowser,
}

async fn rig(sim: SimConfig) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = aic_tenant_sim::start(SimConfig {
        ca_file: Some(dir.path().join("ca.pem")),
        ..sim
    })
    .await
    .expect("simulator");
    let ca = sim.ca_pem_path();
    let mut env = HashMap::new();
    env.insert("AIC_BASE_URL".to_string(), sim.base_url());
    if let Some(ca) = &ca {
        env.insert("AIC_CA_FILE".to_string(), ca.display().to_string());
    }
    env.insert("AIC_REDIRECT_PORT".to_string(), free_port().to_string());
    env.insert(
        "AIC_LOG_DIR".to_string(),
        dir.path().join("logs").display().to_string(),
    );
    let browser = ScriptedBrowser::new(ca.as_deref(), BrowserScript::Approve);
    Rig {
        sim,
        dir,
        env,
        browser,
    }
}

/// `settings` with `edit` applied to the served profile; a file without profiles (the
/// tenant comes from `AIC_BASE_URL` here) gets one, naming no tenant of its own.
fn profiled(mut settings: Settings, edit: impl FnOnce(&mut Profile)) -> Settings {
    if settings.profiles.is_empty() {
        settings.profiles.push(Profile {
            name: "test".into(),
            ..Profile::default()
        });
    }
    edit(&mut settings.profiles[0]);
    settings
}

fn sim_config() -> SimConfig {
    SimConfig {
        tls: true,
        auto_approve: true,
        ..SimConfig::default()
    }
}

impl Rig {
    fn socket(&self) -> PathBuf {
        self.dir.path().join("run").join("mcp.sock")
    }

    fn options(&self, settings: SettingsSource) -> HostOptions {
        let env = self.env.clone();
        let mut o = HostOptions::new(settings);
        o.env = Arc::new(move |k: &str| env.get(k).cloned());
        o.socket = Some(self.socket());
        o.parts = AppParts {
            browser: Arc::new(self.browser.clone()),
            store: Some(Arc::new(MemoryStore::default())),
            login_timeout: Some(Duration::from_secs(20)),
            ..AppParts::default()
        };
        o.bearer = BearerStore::memory();
        o.grace = Duration::from_secs(1);
        o
    }
}

/// The next notice that `pick` accepts, within `secs`.
async fn next_notice(
    rx: &mut broadcast::Receiver<Notice>,
    secs: u64,
    pick: impl Fn(&Notice) -> bool,
) -> Notice {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            match rx.recv().await {
                Ok(n) if pick(&n) => return n,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("notices closed"),
            }
        }
    })
    .await
    .expect("the notice in time")
}

/// The host status once `pick` accepts it, within `secs`.
async fn wait_status(
    sup: &Supervisor,
    secs: u64,
    pick: impl Fn(&aic_mcp_core::host::HostStatus) -> bool,
) -> aic_mcp_core::host::HostStatus {
    let mut rx = sup.subscribe_status();
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            let s = rx.borrow_and_update().clone();
            if pick(&s) {
                return s;
            }
            if rx.changed().await.is_err() {
                panic!("status closed");
            }
        }
    })
    .await
    .expect("the status in time")
}

async fn http_status(url: &str, bearer: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test]
async fn overlapping_restarts_leave_one_core_and_nothing_orphaned() {
    let r = rig(sim_config()).await;
    let http_port = free_port();
    let settings = Settings {
        http_enabled: true,
        http_port,
        ..Settings::default()
    };
    let sup = Supervisor::new(r.options(SettingsSource::Fixed(settings)));
    sup.start().await.expect("start");
    let first = sup.app().expect("running");
    // An assistant connected to the first core.
    let mut old_session = tokio::net::UnixStream::connect(r.socket())
        .await
        .expect("connect");

    // Six restarts at once: each stops the core before the next binds the same socket
    // path and HTTP port, so none can fail on an address a leftover still holds.
    let restarts = futures::future::join_all((0..6).map(|_| {
        let sup = sup.clone();
        async move { sup.start().await }
    }))
    .await;
    assert!(restarts.iter().all(Result::is_ok), "{restarts:?}");
    let status = sup.status();
    assert_eq!(status.phase, Phase::Running);
    assert!(
        status.endpoint_errors.is_empty(),
        "{:?}",
        status.endpoint_errors
    );
    assert_eq!(
        status.http_url.as_deref(),
        Some(format!("http://127.0.0.1:{http_port}/mcp").as_str())
    );
    assert!(!Arc::ptr_eq(&first, &sup.app().expect("running")));
    // The first core's session was closed with it.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), old_session.read(&mut buf))
        .await
        .expect("the old session ends");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // One audit writer listens on the shared bus: the running core's.
    assert_eq!(sup.bus().subscriber_count(), 1);
    // The endpoints answer: the socket and HTTP (401 without the bearer).
    tokio::net::UnixStream::connect(r.socket())
        .await
        .expect("the socket answers");
    assert_eq!(
        http_status(status.http_url.as_deref().unwrap_or(""), None).await,
        401
    );

    // Stopped: nothing is left.
    let report = sup.stop().await.expect("was running");
    assert_eq!(report.aborted_endpoints, 0);
    assert!(!r.socket().exists(), "the socket file is removed");
    assert!(std::net::TcpStream::connect(("127.0.0.1", http_port)).is_err());
    assert_eq!(sup.bus().subscriber_count(), 0);
    assert_eq!(sup.status().phase, Phase::Stopped);
    assert!(sup.app().is_none());
}

#[tokio::test]
async fn the_status_names_endpoint_failures_with_codes() {
    let r = rig(sim_config()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let settings = Settings {
        http_enabled: true,
        http_port: port,
        ..Settings::default()
    };
    let sup = Supervisor::new(r.options(SettingsSource::Fixed(settings.clone())));
    let mut notices = sup.subscribe_notices();
    sup.start().await.expect("start");
    let status = sup.status();
    assert_eq!(status.phase, Phase::Running);
    let v = serde_json::to_value(&status).expect("json");
    assert_eq!(v["phase"], "running");
    assert_eq!(v["state"], "signed_out");
    assert_eq!(v["token_store"], "memory");
    assert_eq!(v["demo"], false);
    assert_eq!(v["http_url"], serde_json::Value::Null);
    assert_eq!(v["endpoint_errors"][0]["endpoint"], "http");
    assert_eq!(v["endpoint_errors"][0]["code"], "PortInUse");
    assert!(v["endpoint_errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains(&port.to_string()));
    let n = next_notice(&mut notices, 5, |n| {
        matches!(n, Notice::EndpointFailed { .. })
    })
    .await;
    assert_eq!(n.title(), "Assistants cannot connect");

    // A second host on the same socket: the first one keeps it, the second says so.
    let other = Supervisor::new(r.options(SettingsSource::Fixed(Settings::default())));
    other.start().await.expect("start");
    let errors = other.status().endpoint_errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, EndpointErrorCode::InUse);
    other.stop().await;
    // Stopping the second host must not take the first one's socket away.
    assert!(r.socket().exists());
    tokio::net::UnixStream::connect(r.socket())
        .await
        .expect("the first host still serves");
    sup.stop().await;
}

#[tokio::test]
async fn the_expiry_timer_warns_then_signs_out_when_the_token_runs_out() {
    // 62 s tokens: the session stops using a token 60 s before it expires, so this one is
    // usable for about 2 s. No refresh token: it cannot be renewed.
    let r = rig(SimConfig {
        token_lifetime_secs: 62,
        issue_refresh_tokens: false,
        ..sim_config()
    })
    .await;
    let sup = Supervisor::new(r.options(SettingsSource::Fixed(Settings::default())));
    let mut notices = sup.subscribe_notices();
    sup.start().await.expect("start");
    sup.login().await.expect("login");
    next_notice(&mut notices, 10, |n| matches!(n, Notice::SignedIn { .. })).await;
    let soon = next_notice(&mut notices, 10, |n| {
        matches!(n, Notice::ExpiresSoon { .. })
    })
    .await;
    assert_eq!(soon.title(), "Token expires in 5 minutes");
    let expired = next_notice(&mut notices, 20, |n| matches!(n, Notice::Expired { .. })).await;
    assert!(expired.body().contains("because the token expired"));
    let status = wait_status(&sup, 5, |s| s.session.state == SessionState::SignedOut).await;
    assert!(status
        .session
        .last_error
        .unwrap_or_default()
        .contains("token expired"));
    sup.stop().await;
}

#[tokio::test]
async fn the_expiry_timer_refreshes_a_token_that_can_be_renewed() {
    let r = rig(SimConfig {
        token_lifetime_secs: 62,
        issue_refresh_tokens: true,
        ..sim_config()
    })
    .await;
    let sup = Supervisor::new(r.options(SettingsSource::Fixed(Settings::default())));
    let mut notices = sup.subscribe_notices();
    sup.start().await.expect("start");
    sup.login().await.expect("login");
    let first_expiry = sup
        .app()
        .expect("running")
        .status()
        .expires_at_ms
        .expect("expiry");
    // The timer fires when the token stops being usable and renews it.
    let renewed = wait_status(&sup, 20, |s| {
        s.session.expires_at_ms.is_some_and(|e| e > first_expiry)
    })
    .await;
    assert_eq!(renewed.session.state, SessionState::SignedIn);
    let refreshes = r
        .sim
        .requests()
        .iter()
        .filter(|q| q.body.contains("grant_type=refresh_token"))
        .count();
    assert!(refreshes >= 1, "the refresh grant was used");
    // Never signed out on the way.
    while let Ok(n) = notices.try_recv() {
        assert!(!matches!(n, Notice::Expired { .. }), "{n:?}");
    }
    sup.stop().await;
}

#[tokio::test]
async fn the_demo_tenant_keeps_no_request_log_and_no_keychain_entry() {
    // The provider on its own: its simulator records nothing, its store is memory.
    let env = |_: &str| None;
    let provided = aic_mcp_core::demo::DemoProvider::automatic()
        .provide(ProvideRequest {
            redirect_port: free_port(),
            env: &env,
        })
        .await
        .expect("demo tenant");
    assert_eq!(provided.store.kind(), aic_mcp_core::auth::StoreKind::Memory);
    let sim = provided
        .guard
        .downcast_ref::<SimHandle>()
        .expect("the guard is the simulator");
    let http = aic_mcp_tests::sim_http_client(sim.ca_pem_path().as_deref());
    let resp = http
        .get(format!("{}/openidm/config/managed", sim.base_url()))
        .bearer_auth("a-token-that-must-not-be-kept")
        .send()
        .await
        .expect("the demo tenant answers");
    assert_eq!(resp.status(), 401);
    assert!(sim.requests().is_empty(), "no request log in the demo");

    // Through a host whose configured store would be the keychain: the demo's tokens still
    // stay in memory, and no keychain entry is made for its 127.0.0.1 host.
    let r = rig(sim_config()).await;
    let mut opts = r.options(SettingsSource::Fixed(Settings::default()));
    opts.force_demo = true;
    opts.demo = Some(Arc::new(aic_mcp_core::demo::DemoProvider::automatic()));
    opts.parts.store = None;
    let sup = Supervisor::new(opts);
    sup.start().await.expect("start");
    let status = sup.status();
    assert!(status.demo);
    assert!(status.sign_in_hint.unwrap_or_default().contains("admin"));
    let app = sup.app().expect("running");
    let result = app
        .mcp_service()
        .call("getLogSources", json!({}), Some("test".into()), None)
        .await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let status = wait_status(&sup, 5, |s| s.session.state == SessionState::SignedIn).await;
    assert_eq!(
        status.session.token_store,
        Some(aic_mcp_core::auth::StoreKind::Memory)
    );
    let host = status
        .session
        .tenant
        .split("://")
        .last()
        .unwrap_or_default()
        .to_string();
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        assert_eq!(
            KeychainStore::default().load(&host).await,
            Ok(None),
            "no keychain entry for the demo tenant"
        );
    }
    sup.stop().await;
}

#[tokio::test]
async fn the_http_bearer_comes_from_the_environment_in_every_host() {
    let mut r = rig(sim_config()).await;
    let token = "e".repeat(40);
    r.env
        .insert("AIC_MCP_HTTP_TOKEN".to_string(), token.clone());
    let path = r.dir.path().join("config").join("settings.json");
    Settings {
        http_enabled: true,
        http_port: free_port(),
        ..Settings::default()
    }
    .save(&path)
    .expect("settings");
    // The desktop's kind of host (a settings file), not only `serve`.
    let sup = Supervisor::new(r.options(SettingsSource::File(path.clone())));
    sup.start().await.expect("start");
    let url = sup.status().http_url.expect("HTTP endpoint");
    assert_eq!(sup.http_bearer().await.expect("bearer").expose(), token);
    assert_ne!(http_status(&url, Some(&token)).await, 401);
    assert_eq!(http_status(&url, Some(&"f".repeat(40))).await, 401);
    sup.stop().await;

    r.env
        .insert("AIC_MCP_HTTP_TOKEN".to_string(), "short".to_string());
    let sup = Supervisor::new(r.options(SettingsSource::File(path)));
    sup.start().await.expect("start");
    let status = sup.status();
    assert_eq!(status.http_url, None);
    assert_eq!(status.endpoint_errors[0].code, EndpointErrorCode::Bearer);
    assert!(status.endpoint_errors[0]
        .message
        .contains("AIC_MCP_HTTP_TOKEN must be at least 32 characters"));
    assert!(matches!(sup.http_bearer().await, Err(HostError::HttpOff)));
    sup.stop().await;
}

#[tokio::test]
async fn new_settings_restart_the_core_only_when_it_changes() {
    let r = rig(sim_config()).await;
    let path = r.dir.path().join("config").join("settings.json");
    let sup = Supervisor::new(r.options(SettingsSource::File(path.clone())));
    sup.start().await.expect("start");
    let first = sup.app().expect("running");
    let quiet = Settings {
        notifications: false,
        ..sup.settings()
    };
    sup.update_settings(quiet).await.expect("saved");
    assert!(Arc::ptr_eq(&first, &sup.app().expect("running")));
    assert!(!Settings::load(&path).expect("load").notifications);

    let port = free_port();
    let with_http = Settings {
        http_enabled: true,
        http_port: port,
        ..sup.settings()
    };
    sup.update_settings(with_http).await.expect("saved");
    assert!(!Arc::ptr_eq(&first, &sup.app().expect("running")));
    assert_eq!(
        sup.status().http_url.as_deref(),
        Some(format!("http://127.0.0.1:{port}/mcp").as_str())
    );

    // Invalid settings: refused, nothing saved, the core untouched.
    let running = sup.app().expect("running");
    let bad = Settings {
        redirect_port: 80,
        ..sup.settings()
    };
    let e = sup.update_settings(bad).await.expect_err("invalid");
    assert_eq!(e.code(), "InvalidSettings");
    assert_eq!(Settings::load(&path).expect("load").redirect_port, 3000);
    assert!(Arc::ptr_eq(&running, &sup.app().expect("running")));
    sup.stop().await;
}

#[tokio::test]
async fn a_core_that_cannot_start_says_why() {
    let mut r = rig(sim_config()).await;
    r.env.remove("AIC_BASE_URL");
    let sup = Supervisor::new(r.options(SettingsSource::Fixed(Settings::default())));
    let mut notices = sup.subscribe_notices();
    let e = sup.start().await.expect_err("no tenant");
    assert!(matches!(e, HostError::Config(_)), "{e:?}");
    assert!(e.to_string().starts_with("AIC_BASE_URL: "), "{e}");
    let status = sup.status();
    assert_eq!(status.phase, Phase::Failed);
    assert!(status.problem.unwrap_or_default().contains("AIC_BASE_URL"));
    next_notice(&mut notices, 5, |n| matches!(n, Notice::StartFailed { .. })).await;
    let e = sup.login().await.expect_err("not running");
    assert_eq!(e.code(), "NotReady");
    assert!(e.to_string().contains("could not start"), "{e}");

    // A settings file that cannot be read: the defaults are used and the status says so.
    let path = r.dir.path().join("broken.json");
    std::fs::write(&path, "{ not json").expect("write");
    let sup = Supervisor::new(r.options(SettingsSource::File(path)));
    assert!(sup
        .status()
        .problem
        .unwrap_or_default()
        .contains("using the default settings"));
}

/// A raw MCP session over the supervisor's socket: initialize, then read lines.
async fn socket_session(
    path: &std::path::Path,
) -> (
    tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>>,
    tokio::net::unix::OwnedWriteHalf,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    for msg in [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "host-test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ] {
        write
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .expect("write");
    }
    let init = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("in time")
        .expect("read")
        .expect("a line");
    assert!(init.contains("\"listChanged\":true"), "{init}");
    (lines, write)
}

#[tokio::test]
async fn the_mode_changes_live_from_settings_and_connected_sessions_hear_of_it() {
    let r = rig(sim_config()).await;
    let path = r.dir.path().join("config").join("settings.json");
    let mut opts = r.options(SettingsSource::File(path.clone()));
    opts.default_mode = aic_mcp_core::policy::Mode::Ask;
    let sup = Supervisor::new(opts);
    sup.start().await.expect("start");
    assert_eq!(
        sup.status().mode,
        aic_mcp_core::policy::Mode::Ask,
        "the host's default"
    );
    let first = sup.app().expect("running");
    let (mut lines, _write) = socket_session(&r.socket()).await;
    // The session registers once `initialized` is handled; a change before that would
    // reach nobody, so change back and forth until it is heard.
    let heard = tokio::time::timeout(Duration::from_secs(20), async {
        let mut modes = [
            aic_mcp_core::policy::Mode::ReadOnly,
            aic_mcp_core::policy::Mode::Full,
        ]
        .into_iter()
        .cycle();
        loop {
            let mode = modes.next().expect("cycle");
            sup.update_settings(profiled(sup.settings(), |p| {
                p.mode = Some(mode);
            }))
            .await
            .expect("saved");
            assert_eq!(sup.status().mode, mode);
            if let Ok(Ok(Some(line))) =
                tokio::time::timeout(Duration::from_millis(300), lines.next_line()).await
            {
                return line;
            }
        }
    })
    .await
    .expect("list_changed heard");
    assert!(
        heard.contains("notifications/tools/list_changed"),
        "{heard}"
    );
    assert!(
        Arc::ptr_eq(&first, &sup.app().expect("running")),
        "no restart: the session stayed connected"
    );
    assert!(Settings::load(&path).expect("load").profiles[0]
        .mode
        .is_some());

    // A switch is a list change too.
    sup.update_settings(profiled(sup.settings(), |p| {
        p.disabled_tools = vec!["themes".into()];
    }))
    .await
    .expect("saved");
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("in time")
        .expect("read")
        .expect("line");
    assert!(line.contains("notifications/tools/list_changed"), "{line}");
    // An unknown tool name is refused and nothing is saved.
    let e = sup
        .update_settings(profiled(sup.settings(), |p| {
            p.disabled_tools = vec!["deleteJourneys".into()];
        }))
        .await
        .expect_err("unknown tool");
    assert_eq!(e.code(), "InvalidSettings");
    assert!(e.to_string().contains("deleteJourneys"), "{e}");
    assert_eq!(
        Settings::load(&path).expect("load").profiles[0].disabled_tools,
        ["themes"]
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_production_tenant_is_read_only_until_the_admin_types_its_host_and_then_only_for_a_while()
{
    use aic_mcp_core::host::LiftRequest;
    use aic_mcp_core::policy::Mode;
    let r = rig(sim_config()).await;
    let path = r.dir.path().join("config").join("settings.json");
    let mut opts = r.options(SettingsSource::File(path.clone()));
    opts.default_mode = Mode::Ask;
    let sup = Supervisor::new(opts);
    sup.start().await.expect("start");
    let mut notices = sup.subscribe_notices();
    sup.update_settings(profiled(sup.settings(), |p| {
        p.production = true;
        p.mode = Some(Mode::Full);
    }))
    .await
    .expect("saved");
    let s = sup.status();
    assert!(s.production);
    assert_eq!(
        s.mode,
        Mode::ReadOnly,
        "production wins over the saved mode"
    );
    let host = url::Url::parse(&r.sim.base_url())
        .expect("url")
        .host_str()
        .expect("host")
        .to_string();

    let e = sup
        .lift_read_only(LiftRequest {
            mode: Mode::Ask,
            typed_host: "not-the-tenant.example.com".into(),
            minutes: 60,
        })
        .await
        .expect_err("wrong host");
    assert_eq!(e.code(), "HostMismatch");
    assert_eq!(sup.status().mode, Mode::ReadOnly, "nothing changed");

    let until = sup
        .lift_read_only(LiftRequest {
            mode: Mode::Ask,
            typed_host: host.clone(),
            minutes: 1,
        })
        .await
        .expect("lifted");
    let s = sup.status();
    assert_eq!(s.mode, Mode::Ask);
    assert_eq!(s.lifted_until_ms, Some(until));
    // Ended early by the admin: read only at once, no notice needed.
    sup.end_lift();
    assert_eq!(sup.status().mode, Mode::ReadOnly);
    assert_eq!(sup.status().lifted_until_ms, None);

    // Turning production off ends any lift and the saved mode applies.
    sup.lift_read_only(LiftRequest {
        mode: Mode::Full,
        typed_host: host.to_uppercase(),
        minutes: 1,
    })
    .await
    .expect("lifted");
    sup.update_settings(profiled(sup.settings(), |p| {
        p.production = false;
    }))
    .await
    .expect("saved");
    assert_eq!(sup.status().mode, Mode::Full);
    assert_eq!(sup.status().lifted_until_ms, None);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                if let Ok(Notice::BackToReadOnly { .. }) = notices.recv().await {
                    return;
                }
            }
        })
        .await
        .is_err(),
        "no back-to-read-only notice when the admin ended it"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_lift_runs_out_by_itself_back_to_read_only_with_a_notice() {
    use aic_mcp_core::host::LiftRequest;
    use aic_mcp_core::policy::Mode;
    let r = rig(sim_config()).await;
    let path = r.dir.path().join("config").join("settings.json");
    let mut opts = r.options(SettingsSource::File(path));
    // One "minute" of a lift is 200 ms here.
    opts.lift_minute = Duration::from_millis(200);
    let sup = Supervisor::new(opts);
    sup.start().await.expect("start");
    sup.update_settings(profiled(sup.settings(), |p| {
        p.production = true;
    }))
    .await
    .expect("saved");
    let mut notices = sup.subscribe_notices();
    let host = url::Url::parse(&r.sim.base_url())
        .expect("url")
        .host_str()
        .expect("host")
        .to_string();
    sup.lift_read_only(LiftRequest {
        mode: Mode::Full,
        typed_host: host,
        minutes: 1,
    })
    .await
    .expect("lifted");
    assert_eq!(sup.status().mode, Mode::Full);
    let n = next_notice(&mut notices, 10, |n| {
        matches!(n, Notice::BackToReadOnly { .. })
    })
    .await;
    assert!(n.body().contains("read only again"), "{}", n.body());
    let s = wait_status(&sup, 10, |s| s.mode == Mode::ReadOnly).await;
    assert_eq!(s.lifted_until_ms, None);
    sup.stop().await;
}

#[tokio::test]
async fn a_settings_file_from_before_profiles_becomes_a_profile_keeping_its_tenant_and_sign_in() {
    let mut r = rig(sim_config()).await;
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    // Signed in before profiles existed (the tenant from the environment, as then).
    let mut opts = r.options(SettingsSource::Fixed(Settings::default()));
    opts.parts.store = Some(store.clone());
    let before = Supervisor::new(opts);
    before.start().await.expect("start");
    before.login().await.expect("login");
    before.stop().await;

    // The old file: one tenant at the top level, with its guard settings.
    let tenant = r.env.remove("AIC_BASE_URL").expect("tenant");
    let path = r.dir.path().join("config").join("settings.json");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &path,
        json!({"tenant_url": tenant, "redirect_port": 3000, "http_enabled": false,
               "http_port": 8765, "notifications": false, "mode": "ask-destructive",
               "disabled_tools": ["themes"], "approval_timeout_secs": 90, "production": false})
        .to_string(),
    )
    .expect("write");
    let mut opts = r.options(SettingsSource::File(path.clone()));
    opts.parts.store = Some(store.clone());
    opts.profile_socket = true;
    let sup = Supervisor::new(opts);
    // Written back at once as one profile named after the host, nothing lost.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert!(saved.get("tenant_url").is_none(), "{saved}");
    let host = url::Url::parse(&tenant)
        .expect("url")
        .host_str()
        .expect("host")
        .to_string();
    assert_eq!(saved["active_profile"], host.as_str());
    let profile = &saved["profiles"][0];
    assert_eq!(profile["name"], host.as_str());
    assert_eq!(profile["tenant_url"], tenant.as_str());
    assert_eq!(profile["mode"], "ask-destructive");
    assert_eq!(profile["disabled_tools"], json!(["themes"]));
    assert_eq!(saved["approval_timeout_secs"], 90);
    assert_eq!(saved["notifications"], false);

    // The same tenant, still signed in: no browser, no login.
    sup.start().await.expect("start");
    let status = wait_status(&sup, 5, |s| s.session.state == SessionState::SignedIn).await;
    assert!(
        tenant.ends_with(&format!("//{}", status.session.tenant)),
        "{}",
        status.session.tenant
    );
    assert_eq!(status.mode, aic_mcp_core::policy::Mode::AskDestructive);
    let tag = status.profile.expect("the profile shown");
    assert_eq!(tag.name, host);
    // Its own socket, beside the main one.
    let own = status.profile_socket_path.expect("the profile's socket");
    assert_eq!(
        PathBuf::from(&own),
        r.dir
            .path()
            .join("run")
            .join("profiles")
            .join(format!("{host}.sock"))
    );
    assert!(std::fs::symlink_metadata(&own).is_ok());
    // An assistant connected there is listed with the profile it is bound to, until it
    // leaves.
    assert!(sup.sessions().await.is_empty());
    let (lines, write) = socket_session(std::path::Path::new(&own)).await;
    let listed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(s) = sup.sessions().await.into_iter().next() {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("listed");
    assert_eq!(listed.session.client.as_deref(), Some("host-test"));
    assert_eq!(listed.profile.as_deref(), Some(host.as_str()));
    drop((lines, write));
    tokio::time::timeout(Duration::from_secs(10), async {
        while !sup.sessions().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("gone once it left");
    sup.stop().await;
}

#[tokio::test]
async fn removing_a_profile_signs_it_out_and_deletes_its_login_and_only_its_own() {
    let mut r = rig(sim_config()).await;
    let tenant = r.env.remove("AIC_BASE_URL").expect("tenant");
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let path = r.dir.path().join("config").join("settings.json");
    let profile = |name: &str, url: &str| Profile {
        name: name.into(),
        tenant_url: url.into(),
        ..Profile::default()
    };
    Settings {
        profiles: vec![profile("dev", &tenant), profile("sandbox", "")],
        active_profile: "dev".into(),
        ..Settings::default()
    }
    .save(&path)
    .expect("settings");
    let mut opts = r.options(SettingsSource::File(path.clone()));
    opts.parts.store = Some(store.clone());
    let sup = Supervisor::new(opts);
    sup.start().await.expect("start");
    sup.login().await.expect("login");
    let key = url::Url::parse(&tenant)
        .map(|u| format!("{}:{}", u.host_str().unwrap_or(""), u.port().unwrap_or(443)))
        .expect("url");
    assert!(
        store.load(&key).await.expect("store").is_some(),
        "signed in"
    );

    // Renaming keeps the login (same tenant); removing the demo profile touches nothing.
    sup.update_settings(Settings {
        profiles: vec![profile("development", &tenant)],
        active_profile: "development".into(),
        ..sup.settings()
    })
    .await
    .expect("saved");
    assert!(store.load(&key).await.expect("store").is_some(), "kept");
    let status = wait_status(&sup, 5, |s| s.session.state == SessionState::SignedIn).await;
    assert_eq!(
        status.profile.map(|p| p.name).as_deref(),
        Some("development")
    );

    // Removing it deletes its login: gone from the store, signed out.
    let saved = sup
        .update_settings(Settings {
            profiles: vec![],
            active_profile: String::new(),
            ..sup.settings()
        })
        .await
        .expect("saved");
    assert!(saved.profiles.is_empty());
    assert!(store.load(&key).await.expect("store").is_none(), "deleted");
    sup.stop().await;
}

/// Calls `tool` (no arguments) as request `id` over a raw session and returns the answer
/// line.
async fn call_over(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>>,
    write: &mut tokio::net::unix::OwnedWriteHalf,
    id: u64,
    tool: &str,
) -> String {
    use tokio::io::AsyncWriteExt;
    write
        .write_all(call_line(id, tool).as_bytes())
        .await
        .expect("write");
    tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("in time")
        .expect("read")
        .expect("line")
}

/// One JSON-RPC line: a `tools/call` of `tool` with no arguments.
fn call_line(id: u64, tool: &str) -> String {
    format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": tool, "arguments": {}}})
    )
}

#[tokio::test]
async fn switching_the_active_profile_never_moves_a_running_session_and_both_stay_signed_in() {
    let mut r = rig(sim_config()).await;
    let dev_url = r.env.remove("AIC_BASE_URL").expect("tenant");
    // A second tenant, trusted beside the first.
    let prod = aic_tenant_sim::start(SimConfig {
        ca_file: Some(r.dir.path().join("ca-prod.pem")),
        ..sim_config()
    })
    .await
    .expect("second simulator");
    let bundle = r.dir.path().join("both.pem");
    let pem = |p: Option<PathBuf>| std::fs::read_to_string(p.expect("ca")).expect("pem");
    std::fs::write(&bundle, pem(r.sim.ca_pem_path()) + &pem(prod.ca_pem_path())).expect("bundle");
    r.env
        .insert("AIC_CA_FILE".into(), bundle.display().to_string());
    let path = r.dir.path().join("config").join("settings.json");
    let profile = |name: &str, url: &str| Profile {
        name: name.into(),
        tenant_url: url.into(),
        ..Profile::default()
    };
    Settings {
        profiles: vec![profile("dev", &dev_url), profile("prod", &prod.base_url())],
        active_profile: "dev".into(),
        ..Settings::default()
    }
    .save(&path)
    .expect("settings");
    let mut opts = r.options(SettingsSource::File(path));
    opts.profile_socket = true;
    // As the desktop: a call never opens a browser by itself.
    opts.parts.interactive_on_demand = false;
    // A browser that trusts both tenants.
    opts.parts.browser = Arc::new(ScriptedBrowser::new(
        Some(bundle.as_path()),
        BrowserScript::Approve,
    ));
    let sup = Supervisor::new(opts);
    sup.start().await.expect("start");
    // Every profile is served from the start: prod, not active, on its own socket.
    let prod_socket = aic_mcp_core::mcp::socket::profile_socket_path(&r.socket(), "prod");
    assert!(
        std::fs::symlink_metadata(&prod_socket).is_ok(),
        "prod's socket"
    );
    sup.login().await.expect("login to dev");

    // A session bound to dev (its own socket) makes a call: it reaches dev.
    let own = sup.status().profile_socket_path.expect("dev's socket");
    let (mut lines, mut write) = socket_session(std::path::Path::new(&own)).await;
    let answer = call_over(&mut lines, &mut write, 1, "getLogSources").await;
    assert!(
        answer.contains("\"id\":1") && !answer.contains("\"isError\":true"),
        "{answer}"
    );
    assert!(r
        .sim
        .requests()
        .iter()
        .any(|q| q.path == "/monitoring/logs/sources"));

    // prod becomes active; dev's session is not moved there: its next call is answered by
    // dev's tenant (dev's core stays on standby, serving its own socket), and prod sees
    // nothing of it.
    prod.clear_requests();
    r.sim.clear_requests();
    sup.update_settings(Settings {
        active_profile: "prod".into(),
        ..sup.settings()
    })
    .await
    .expect("saved");
    assert_eq!(
        sup.status().profile.map(|p| p.name).as_deref(),
        Some("prod")
    );
    let answer = call_over(&mut lines, &mut write, 2, "getLogSources").await;
    assert!(
        answer.contains("\"id\":2") && !answer.contains("\"isError\":true"),
        "{answer}"
    );
    assert!(r
        .sim
        .requests()
        .iter()
        .any(|q| q.path == "/monitoring/logs/sources"));
    assert!(
        prod.requests()
            .iter()
            .all(|q| q.path.starts_with("/am/oauth2/") || q.path == "/openidm/info/login"),
        "nothing of dev's session reached prod"
    );
    // Both profiles' assistants are listed, each with its own profile.
    let listed: Vec<Option<String>> = sup
        .sessions()
        .await
        .into_iter()
        .map(|s| s.profile)
        .collect();
    assert_eq!(
        listed,
        [Some("dev".to_string())],
        "dev's session, still bound to dev"
    );

    // Signed in to prod; logging out of dev leaves prod's calls working, through the main
    // socket a new session takes.
    sup.login().await.expect("login to prod");
    sup.logout_profile("dev").await.expect("dev signed out");
    let (lines_dev, write_dev) = (lines, write);
    let (mut lines, mut write) = socket_session(&r.socket()).await;
    let answer = call_over(&mut lines, &mut write, 3, "getLogSources").await;
    assert!(
        answer.contains("\"id\":3") && !answer.contains("\"isError\":true"),
        "{answer}"
    );
    assert!(prod
        .requests()
        .iter()
        .any(|q| q.path == "/monitoring/logs/sources"));
    let overview = sup.profiles_overview().await;
    let state = |n: &str| {
        overview
            .iter()
            .find(|p| p.name == n)
            .map(|p| p.sign_in)
            .expect("listed")
    };
    assert_eq!(state("dev"), aic_mcp_core::host::ProfileSignIn::SignedOut);
    // dev's own session is still dev's: signed out now, its call says so and reaches no
    // tenant.
    prod.clear_requests();
    r.sim.clear_requests();
    let (mut dev_lines, mut dev_write) = (lines_dev, write_dev);
    let answer = call_over(&mut dev_lines, &mut dev_write, 4, "getLogSources").await;
    assert!(
        answer.contains("\"id\":4") && answer.contains("\"isError\":true"),
        "{answer}"
    );
    assert!(r
        .sim
        .requests()
        .iter()
        .all(|q| q.path.starts_with("/am/oauth2/")));
    assert!(prod.requests().is_empty());
    assert!(matches!(
        state("prod"),
        aic_mcp_core::host::ProfileSignIn::SignedIn { .. }
    ));
    sup.stop().await;
}
