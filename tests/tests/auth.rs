//! Login, exchange, storage and isolation against the simulator: the exact OAuth
//! requests, single-flight login, the 401 → re-login path, refresh, restarts, tenant
//! isolation, the device flow and the clear errors of the PKCE listener.

use std::sync::Arc;
use std::time::Duration;

use aic_mcp_core::auth::{
    AuthError, DevicePrompt, MemoryStore, PromptAnswer, SessionState, StoredToken, TokenStore,
};
use aic_mcp_core::secret::AccessToken;
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind, RecordedRequest, SimConfig};
use aic_mcp_tests::{form, BrowserScript, Env, EnvOptions};
use serde_json::json;

fn grants(reqs: &[RecordedRequest], grant: &str) -> Vec<std::collections::HashMap<String, String>> {
    reqs.iter()
        .filter(|r| r.path == "/am/oauth2/access_token")
        .map(|r| form(&r.body))
        .filter(|f| f.get("grant_type").map(String::as_str) == Some(grant))
        .collect()
}

const CODE: &str = "authorization_code";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Waits (10 s at most) until `cond` holds.
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn pkce_login_sends_exactly_the_contract_requests() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(!err, "{text}");
    let reqs = env.sim.requests();
    let authorize = reqs
        .iter()
        .find(|r| r.path == "/am/oauth2/authorize")
        .expect("browser opened authorize");
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_iter().collect();
    let port = &env.config_env["AIC_REDIRECT_PORT"];
    let redirect = format!("http://localhost:{port}");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "AICMCPClient");
    assert_eq!(
        q["scope"],
        "fr:idm:* fr:idc:monitoring:* fr:idc:esv:update fr:idc:esv:read fr:am:*"
    );
    assert_eq!(q["redirect_uri"], redirect);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"].len(), 22);
    let codes = grants(&reqs, CODE);
    assert_eq!(codes.len(), 1);
    let c = &codes[0];
    assert_eq!(c["client_id"], "AICMCPClient");
    assert_eq!(c["redirect_uri"], redirect);
    assert_eq!(c["code_verifier"].len(), 43);
    let mut keys: Vec<_> = c.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "client_id",
            "code",
            "code_verifier",
            "grant_type",
            "redirect_uri"
        ]
    );
    let ex = grants(&reqs, EXCHANGE);
    assert_eq!(ex.len(), 1);
    let e = &ex[0];
    assert_eq!(e["client_id"], "AICMCPExchangeClient");
    assert_eq!(e["scope"], "fr:idm:*");
    assert_eq!(
        e["subject_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(
        e["requested_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert!(env.sim.live_primary_tokens().contains(&e["subject_token"]));
    for r in reqs.iter().filter(|r| r.path == "/am/oauth2/access_token") {
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            r.header("authorization"),
            None,
            "public clients: no client authentication"
        );
    }
}

#[tokio::test]
async fn concurrent_calls_share_one_login_and_each_call_exchanges_once() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let calls = (0..6).map(|_| env.call("listManagedObjects", json!({})));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|(err, _)| !err), "{results:?}");
    let reqs = env.sim.requests();
    assert_eq!(grants(&reqs, CODE).len(), 1, "single-flight login");
    assert_eq!(
        reqs.iter()
            .filter(|r| r.path == "/am/oauth2/authorize")
            .count(),
        1
    );
    assert_eq!(
        grants(&reqs, EXCHANGE).len(),
        6,
        "one exchange per tool call"
    );
}

#[tokio::test]
async fn pkce_failures_are_clear_and_fail_the_call() {
    for (script, expected) in [
        // A forged state no longer ends the wait (a web page could send one); the login
        // times out, saying what was refused.
        (
            BrowserScript::TamperState,
            "Authentication timeout: User did not complete login within 1 minutes (1 request(s) to the sign-in redirect were refused, the last one: CSRF protection failed: state mismatch)",
        ),
        (BrowserScript::Deny, "Sign-in was denied: access_denied"),
        (
            BrowserScript::Ignore,
            "Authentication timeout: User did not complete login within 1 minutes",
        ),
    ] {
        let mut opts = EnvOptions {
            script: script.clone(),
            login_timeout: Some(Duration::from_millis(1500)),
            ..EnvOptions::default()
        };
        if matches!(script, BrowserScript::Deny) {
            opts.sim.auto_approve = false;
        }
        let env = Env::start(opts).await.expect("env");
        let (err, text) = env.call("listManagedObjects", json!({})).await;
        assert!(err, "{script:?}: {text}");
        assert!(
            text.starts_with("Error listing managed objects: "),
            "{text}"
        );
        assert!(text.contains(expected), "{script:?}: {text}");
        assert!(env.resource_requests().is_empty());
        let status = env.app.status();
        assert_eq!(
            status.last_error.as_deref().map(|e| e.contains(expected)),
            Some(true)
        );
    }
}

#[tokio::test]
async fn a_forged_redirect_is_refused_and_the_real_one_still_signs_in() {
    let env = Env::start(EnvOptions {
        script: BrowserScript::ForgeThenApprove,
        ..EnvOptions::default()
    })
    .await
    .expect("env");
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(!err, "{text}");
    let visits = env.browser.visits();
    assert_eq!(visits.len(), 2, "{visits:?}");
    assert!(visits[0].url.contains("state=forged-state"));
    assert_eq!(visits[0].status, 400);
    assert!(visits[0].body.contains("Invalid state parameter"));
    assert_eq!(visits[1].status, 200);
    assert!(visits[1].body.contains("Authorization Successful"));
    assert_eq!(grants(&env.sim.requests(), CODE).len(), 1);
    assert_eq!(env.app.status().last_error, None);
}

#[tokio::test]
async fn busy_redirect_port_is_named() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let port: u16 = env.config_env["AIC_REDIRECT_PORT"].parse().expect("port");
    let _held = std::net::TcpListener::bind(("127.0.0.1", port)).expect("hold the port");
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(err);
    assert!(
        text.contains(&format!("Port {port} is already in use")),
        "{text}"
    );
    assert!(text.contains("AIC_REDIRECT_PORT"));
}

#[tokio::test]
async fn a_redirect_port_taken_on_ipv6_loopback_is_named_too() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let port: u16 = env.config_env["AIC_REDIRECT_PORT"].parse().expect("port");
    // Another program on [::1]:<port> would receive a browser's `localhost` redirect.
    let _held = match std::net::TcpListener::bind(("::1", port)) {
        Ok(l) => l,
        Err(e) if !aic_mcp_tests::required() => {
            eprintln!("skipped: cannot hold [::1]:{port} ({e})");
            return;
        }
        Err(e) => panic!("cannot hold [::1]:{port}: {e}"),
    };
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(err);
    assert!(
        text.contains(&format!("Port {port} is already in use")),
        "{text}"
    );
    assert!(
        env.sim.requests().is_empty(),
        "no browser was sent to the tenant"
    );
}

#[tokio::test]
async fn dead_primary_token_is_refreshed_then_the_exchange_retried() {
    let env = Env::start(EnvOptions::default())
        .await
        .expect("env")
        .logged_in()
        .await
        .expect("login");
    env.sim.expire_all_tokens();
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(!err, "{text}");
    let reqs = env.sim.requests();
    let ex = grants(&reqs, EXCHANGE);
    assert_eq!(ex.len(), 2, "the 401 exchange and its retry");
    assert_eq!(grants(&reqs, "refresh_token").len(), 1);
    assert_eq!(grants(&reqs, CODE).len(), 0, "no browser needed");
    assert!(env
        .sim
        .live_primary_tokens()
        .contains(&ex[1]["subject_token"]));
}

#[tokio::test]
async fn without_refresh_tokens_a_dead_token_means_a_new_browser_login() {
    let mut opts = EnvOptions::default();
    opts.sim.issue_refresh_tokens = false;
    let env = Env::start(opts)
        .await
        .expect("env")
        .logged_in()
        .await
        .expect("login");
    env.sim.expire_all_tokens();
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(!err, "{text}");
    let reqs = env.sim.requests();
    assert_eq!(grants(&reqs, CODE).len(), 1, "a fresh interactive login");
    assert_eq!(grants(&reqs, EXCHANGE).len(), 2);
}

#[tokio::test]
async fn a_stored_login_survives_a_restart_for_the_same_tenant_only() {
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let sim_env = Env::start(EnvOptions {
        store: Some(store.clone()),
        ..EnvOptions::default()
    })
    .await
    .expect("env");
    let (err, text) = sim_env.call("getLogSources", json!({})).await;
    assert!(!err, "{text}");
    let tenant = sim_env.app.status().tenant;
    let stored = store.load(&tenant).await.expect("load").expect("stored");
    assert_eq!(stored.aic_base_url, tenant);

    // A second app for the same tenant and store: no new login.
    let config =
        aic_mcp_core::Config::from_lookup(|k| sim_env.config_env.get(k).cloned()).expect("config");
    let app2 = aic_mcp_core::App::start(
        config,
        aic_mcp_core::AppParts {
            store: Some(store.clone()),
            interactive_on_demand: false,
            audit_log: false,
            ..aic_mcp_core::AppParts::default()
        },
    )
    .expect("app");
    assert!(app2.restore_login().await, "valid stored token restored");
    sim_env.sim.clear_requests();
    let r = app2
        .mcp_service()
        .call("getLogSources", json!({}), None, None)
        .await;
    assert_eq!(r.is_error, Some(false));
    assert_eq!(grants(&sim_env.sim.requests(), CODE).len(), 0);

    // Another tenant with the same store: the token is not sent there.
    let other = Env::start(EnvOptions {
        store: Some(store.clone()),
        interactive_on_demand: false,
        ..EnvOptions::default()
    })
    .await
    .expect("other env");
    assert!(!other.app.restore_login().await);
    let (err, text) = other.call("getLogSources", json!({})).await;
    assert!(err);
    assert!(text.contains("Not signed in to"), "{text}");
    assert!(
        other.sim.requests().is_empty(),
        "the other tenant saw nothing, least of all our token"
    );
}

#[tokio::test]
async fn a_token_within_the_skew_is_not_used() {
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let env = Env::start(EnvOptions {
        store: Some(store.clone()),
        interactive_on_demand: false,
        ..EnvOptions::default()
    })
    .await
    .expect("env");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    store
        .save(&StoredToken {
            access_token: AccessToken::new("nearly-expired"),
            expires_at: now + 30_000,
            aic_base_url: env.app.status().tenant,
            refresh_token: None,
            subject: None,
        })
        .await
        .expect("save");
    assert!(
        !env.app.restore_login().await,
        "30 s left is inside the 60 s skew"
    );
}

struct CapturePrompt {
    sim_codes: std::sync::Mutex<Vec<String>>,
    answer: PromptAnswer,
}

#[async_trait::async_trait]
impl DevicePrompt for CapturePrompt {
    async fn show(&self, _uri: &str, user_code: &str) -> PromptAnswer {
        if let Ok(mut c) = self.sim_codes.lock() {
            c.push(user_code.to_string());
        }
        if self.answer == PromptAnswer::Shown {
            // Never answers: polling decides.
            std::future::pending::<()>().await;
        }
        self.answer.clone()
    }
}

fn device_env(auto_approve: bool, expires: u64) -> EnvOptions {
    EnvOptions {
        sim: SimConfig {
            tls: true,
            auto_approve,
            device_interval_secs: 1,
            device_expires_secs: expires,
            ..SimConfig::default()
        },
        extra_env: vec![("DOCKER_CONTAINER".into(), "true".into())],
        ..EnvOptions::default()
    }
}

#[tokio::test]
async fn device_flow_polls_until_approved() {
    let env = Env::start(device_env(true, 60)).await.expect("env");
    assert_eq!(
        env.app.registry().tools().len(),
        28,
        "container mode: no AM or application tools"
    );
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(!err, "{text}");
    let reqs = env.sim.requests();
    let dc = reqs
        .iter()
        .find(|r| r.path == "/am/oauth2/device/code")
        .expect("device code request");
    let f = form(&dc.body);
    assert_eq!(f["client_id"], "AICMCPClient");
    assert_eq!(f["code_challenge_method"], "S256");
    let polls = grants(&reqs, "urn:ietf:params:oauth:grant-type:device_code");
    assert!(
        polls.len() >= 2,
        "authorization_pending first: {}",
        polls.len()
    );
    assert_eq!(polls[0]["code_verifier"].len(), 43);
}

#[tokio::test]
async fn device_flow_denied_expired_and_declined() {
    // Denied in the browser.
    let env = Env::start(device_env(false, 60)).await.expect("env");
    let prompt = Arc::new(CapturePrompt {
        sim_codes: Default::default(),
        answer: PromptAnswer::Shown,
    });
    let session = env.app.session().clone();
    let p2 = prompt.clone();
    let login = tokio::spawn(async move { session.login(Some(p2.as_ref())).await });
    let code = loop {
        if let Some(c) = prompt
            .sim_codes
            .lock()
            .ok()
            .and_then(|c| c.first().cloned())
        {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(env.sim.deny_device(&code));
    let e = login.await.expect("join").expect_err("denied");
    assert!(e.to_string().contains("access_denied"), "{e}");

    // Expired before anyone approved.
    let env = Env::start(device_env(false, 2)).await.expect("env");
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(err);
    assert!(
        text.contains("Device code expired - authentication timed out"),
        "{text}"
    );

    // Declined in the MCP client's elicitation: no polling result needed.
    let env = Env::start(device_env(false, 60)).await.expect("env");
    let prompt = CapturePrompt {
        sim_codes: Default::default(),
        answer: PromptAnswer::Refused("decline".into()),
    };
    let e = env
        .app
        .session()
        .login(Some(&prompt))
        .await
        .expect_err("declined");
    assert_eq!(
        e.to_string(),
        "User cancelled authentication (action: decline)"
    );
}

#[tokio::test]
async fn device_flow_slow_down_backs_off() {
    let env = Env::start(device_env(true, 60)).await.expect("env");
    env.sim.push_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/am/oauth2/access_token".into(),
        kind: FaultKind::Status {
            status: 400,
            body: r#"{"error":"slow_down","error_description":"poll less often"}"#.into(),
        },
        times: 1,
    });
    let started = std::time::Instant::now();
    env.app
        .session()
        .login(None)
        .await
        .expect("login after slow_down");
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "interval grew by 5 s: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn every_request_carries_the_user_agent_and_a_unique_transaction_id() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for tool in ["listManagedObjects", "getLogSources", "listManagedObjects"] {
        let (err, text) = env.call(tool, json!({})).await;
        assert!(!err, "{text}");
    }
    let ours: Vec<_> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path != "/am/oauth2/authorize") // the browser's own request
        .collect();
    assert!(ours.len() >= 7);
    let mut ids = std::collections::HashSet::new();
    for r in &ours {
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION"))),
            "{}",
            r.path
        );
        let tx = r
            .header("x-forgerock-transactionid")
            .expect("transaction id")
            .to_string();
        assert!(ids.insert(tx), "transaction ids are unique");
    }
}

#[tokio::test]
async fn activity_log_records_calls_and_requests_but_no_secret() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let mut rx = env.app.bus().subscribe();
    let (err, _) = env
        .call(
            "createManagedObject",
            json!({"objectType": "alpha_user", "objectData": {"userName": "audit.me", "givenName": "A", "sn": "M", "mail": "a@example.com", "password": "Sup3r$ecret"}}),
        )
        .await;
    assert!(!err);
    let mut kinds = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        kinds.push(serde_json::to_value(&ev).expect("json"));
    }
    let started = kinds
        .iter()
        .find(|e| e["kind"] == "tool_started")
        .expect("started");
    assert_eq!(started["arguments"]["objectData"]["password"], "********");
    let up = kinds
        .iter()
        .find(|e| {
            e["kind"] == "upstream" && e["path"] == "/openidm/managed/alpha_user?_action=create"
        })
        .expect("upstream event");
    assert_eq!(up["status"], 201);
    assert_eq!(
        up["user_agent"],
        concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION"))
    );
    let tx = up["transaction_id"].as_str().expect("tx");
    assert!(env
        .sim
        .requests()
        .iter()
        .any(|r| r.header("x-forgerock-transactionid") == Some(tx)));
    assert!(kinds
        .iter()
        .any(|e| e["kind"] == "tool_finished" && e["outcome"] == "ok"));

    env.app.shutdown().await;
    let mut secrets: Vec<String> = env.sim.live_primary_tokens();
    for r in env.sim.requests() {
        if let Some(b) = r
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
        {
            secrets.push(b.to_string());
        }
        let f = form(&r.body);
        for k in ["code", "code_verifier", "refresh_token", "subject_token"] {
            if let Some(v) = f.get(k) {
                secrets.push(v.clone());
            }
        }
    }
    secrets.push("Sup3r$ecret".into());
    assert!(secrets.len() >= 5);
    let log_dir = env.dir.path().join("logs");
    let mut text = String::new();
    for entry in std::fs::read_dir(&log_dir).expect("log dir").flatten() {
        text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    assert!(
        text.contains("\"tool_finished\"") && text.contains(tx),
        "audit file written"
    );
    for s in secrets {
        assert!(!text.contains(&s), "a secret reached the audit log");
    }
}

#[tokio::test]
async fn a_long_error_body_from_the_token_endpoint_is_cut() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let body = format!(
        r#"{{"error":"invalid_grant","error_description":"{}"}}"#,
        "x".repeat(10_000)
    );
    env.sim.push_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/am/oauth2/access_token".into(),
        kind: FaultKind::Status {
            status: 400,
            body: body.clone(),
        },
        times: 1,
    });
    let e = env.app.login().await.expect_err("the code exchange fails");
    let text = e.to_string();
    assert!(
        text.starts_with(
            "Authorization code exchange failed (400 Bad Request): {\"error\":\"invalid_grant\""
        ),
        "{}",
        &text[..200]
    );
    let cut = aic_mcp_core::text::ERROR_BODY_LIMIT;
    assert!(
        text.ends_with(&format!("… {} bytes more", body.len() - cut)),
        "{}",
        &text[text.len() - 100..]
    );
    assert!(text.len() < cut + 200);
}

#[tokio::test]
async fn oauth_requests_are_published_as_upstream_events_with_the_call_id() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let mut rx = env.app.bus().subscribe();
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(!err, "{text}");
    let mut events = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        events.push(serde_json::to_value(&ev).expect("json"));
    }
    let call_id = events
        .iter()
        .find(|e| e["kind"] == "tool_started")
        .map(|e| e["call_id"].clone())
        .expect("tool_started");
    let token_calls: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "upstream" && e["path"] == "/am/oauth2/access_token")
        .collect();
    assert_eq!(
        token_calls.len(),
        2,
        "the code exchange and the token exchange"
    );
    for e in &token_calls {
        assert_eq!(e["method"], "POST");
        assert_eq!(e["status"], 200);
        assert_eq!(
            e["user_agent"],
            concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION"))
        );
    }
    assert_eq!(
        token_calls[1]["call_id"], call_id,
        "the exchange belongs to the call"
    );
    let ids: Vec<_> = token_calls
        .iter()
        .map(|e| e["transaction_id"].as_str().unwrap_or_default())
        .collect();
    assert!(env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/am/oauth2/access_token")
        .all(|r| ids.contains(&r.header("x-forgerock-transactionid").unwrap_or("?"))));
}

#[tokio::test]
async fn a_log_out_while_the_admins_name_is_on_its_way_is_not_undone() {
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let env = Env::start(EnvOptions {
        store: Some(store.clone()),
        ..EnvOptions::default()
    })
    .await
    .expect("env")
    .logged_in()
    .await
    .expect("login");
    let tenant = env.app.status().tenant;
    assert!(store.load(&tenant).await.expect("load").is_some());
    // Every answer now takes 2 s: the log out happens while /openidm/info/login is
    // answering.
    env.sim.set_latency(Duration::from_secs(2));
    let session = env.app.session().clone();
    let identify = tokio::spawn(async move { session.identify().await });
    wait_until("the admin's name to be asked for", || {
        env.sim
            .requests()
            .iter()
            .any(|r| r.path == "/openidm/info/login")
    })
    .await;
    env.app.logout().await.expect("logout");
    assert_eq!(identify.await.expect("join"), None);
    assert!(
        store.load(&tenant).await.expect("load").is_none(),
        "the log out stands: no token saved after it"
    );
    let status = env.app.status();
    assert_eq!(status.state, SessionState::SignedOut);
    assert_eq!(status.admin, None);
}

/// A device sign-in nobody approves, polled every 3 s: room to see that no poll follows a
/// cancellation.
fn slow_device_env() -> EnvOptions {
    let mut opts = device_env(false, 120);
    opts.sim.device_interval_secs = 3;
    opts
}

fn device_polls(env: &Env) -> usize {
    grants(&env.sim.requests(), DEVICE).len()
}

#[tokio::test]
async fn a_cancelled_tool_call_stops_its_device_sign_in() {
    let env = Env::start(slow_device_env()).await.expect("env");
    let service = env.service.clone();
    let call = tokio::spawn(async move {
        service
            .call("getLogSources", json!({}), Some("test".into()), None)
            .await
    });
    wait_until("the first poll", || device_polls(&env) >= 1).await;
    assert_eq!(env.app.status().state, SessionState::SigningIn);
    assert!(env.app.status().login_url.is_some(), "the URL is shown");
    // The MCP client cancels the call: its future is dropped.
    call.abort();
    assert!(call.await.expect_err("aborted").is_cancelled());
    let seen = device_polls(&env);
    tokio::time::sleep(Duration::from_secs(7)).await; // two intervals and more
    assert_eq!(device_polls(&env), seen, "no poll after the cancellation");
    let status = env.app.status();
    assert_eq!(
        status.state,
        SessionState::SignedOut,
        "not stuck signing in"
    );
    assert_eq!(status.login_url, None);
    assert_eq!(status.user_code, None);
    assert_eq!(status.last_error.as_deref(), Some("Sign-in was cancelled"));
}

#[tokio::test]
async fn cancel_stops_a_device_sign_in() {
    let env = Env::start(slow_device_env()).await.expect("env");
    let session = env.app.session().clone();
    let login = tokio::spawn(async move { session.login(None).await });
    wait_until("the first poll", || device_polls(&env) >= 1).await;
    env.app.cancel_login();
    assert_eq!(login.await.expect("join"), Err(AuthError::Cancelled));
    let seen = device_polls(&env);
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(device_polls(&env), seen, "no poll after the cancellation");
    assert_eq!(env.app.status().state, SessionState::SignedOut);
}

#[tokio::test]
async fn a_device_code_that_expires_while_the_tenant_is_unreachable_says_so() {
    let env = Env::start(device_env(true, 3)).await.expect("env");
    // Every poll's connection is closed without an answer; the device-code request is not.
    env.sim.push_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/am/oauth2/access_token".into(),
        kind: FaultKind::Drop,
        times: 100,
    });
    let e = env.app.session().login(None).await.expect_err("expired");
    assert!(
        matches!(e, AuthError::DeviceExpiredUnreachable(_)),
        "polls are retried until the code expires, then named: {e}"
    );
    assert!(
        e.to_string()
            .starts_with("Device code expired - authentication timed out (the last poll failed: "),
        "{e}"
    );
    assert_eq!(e.code(), "Timeout");
    assert!(device_polls(&env) >= 1);
}
