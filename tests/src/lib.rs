//! Test harness: a tenant simulator on 127.0.0.1:0 and an `App` pointed at it, with a
//! scripted "browser" that completes the PKCE login over plain HTTP. Tests that need the
//! real parts (Chromium, the Secret Service) bring them on top of this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aic_mcp_core::auth::{BrowserOpener, MemoryStore, TokenStore};
use aic_mcp_core::mcp::McpService;
use aic_mcp_core::{App, AppParts, Config};
use aic_tenant_sim::{RecordedRequest, SimConfig, SimHandle};
use serde_json::Value;

pub use aic_tenant_sim;

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(39_999)
}

/// An HTTP client that trusts the simulator's CA and never follows redirects.
pub fn sim_http_client(ca: Option<&Path>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20));
    if let Some(ca) = ca {
        if let Ok(pem) = std::fs::read(ca) {
            if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&pem) {
                b = b.tls_certs_merge(certs);
            }
        }
    }
    b.build().unwrap_or_default()
}

/// What the scripted browser does with the authorize URL.
#[derive(Debug, Clone)]
pub enum BrowserScript {
    /// Follow the simulator's auto-approve redirect back to the listener.
    Approve,
    /// Follow the redirect but replace `state` with another value (the listener refuses
    /// it and keeps waiting, so the login times out).
    TamperState,
    /// Send the redirect with a forged `state` first (as a web page could), then the real
    /// one.
    ForgeThenApprove,
    /// Submit the login form with the right credentials and press Deny.
    Deny,
    /// Do nothing (the login times out).
    Ignore,
}

/// What the redirect listener answered the scripted browser.
#[derive(Debug, Clone)]
pub struct Visit {
    pub url: String,
    pub status: u16,
    pub body: String,
}

/// A "browser" that performs the redirect dance with reqwest.
#[derive(Debug, Clone)]
pub struct ScriptedBrowser {
    pub client: reqwest::Client,
    pub script: BrowserScript,
    pub opened: Arc<std::sync::Mutex<Vec<String>>>,
    /// The redirect listener's answers, in order.
    pub visits: Arc<std::sync::Mutex<Vec<Visit>>>,
}

impl ScriptedBrowser {
    pub fn new(ca: Option<&Path>, script: BrowserScript) -> Self {
        Self {
            client: sim_http_client(ca),
            script,
            opened: Arc::default(),
            visits: Arc::default(),
        }
    }

    /// The redirect listener's answers so far.
    pub fn visits(&self) -> Vec<Visit> {
        self.visits.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// `redirect` with its `state` replaced.
fn forge_state(redirect: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(redirect) else {
        return redirect.to_string();
    };
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged-state".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// GETs `url` and records the answer.
async fn visit(client: &reqwest::Client, visits: &std::sync::Mutex<Vec<Visit>>, url: &str) {
    let Ok(r) = client.get(url).send().await else {
        return;
    };
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    if let Ok(mut v) = visits.lock() {
        v.push(Visit {
            url: url.to_string(),
            status,
            body,
        });
    }
}

fn location(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[async_trait::async_trait]
impl BrowserOpener for ScriptedBrowser {
    async fn open(&self, url: &str) -> Result<(), String> {
        if let Ok(mut o) = self.opened.lock() {
            o.push(url.to_string());
        }
        let client = self.client.clone();
        let script = self.script.clone();
        let visits = self.visits.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            let redirect = match script {
                BrowserScript::Ignore => return,
                BrowserScript::Approve
                | BrowserScript::TamperState
                | BrowserScript::ForgeThenApprove => {
                    let Ok(r) = client.get(&url).send().await else {
                        return;
                    };
                    location(&r)
                }
                BrowserScript::Deny => {
                    let Ok(parsed) = reqwest::Url::parse(&url) else {
                        return;
                    };
                    let mut form: Vec<(String, String)> = parsed
                        .query_pairs()
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    form.push(("username".into(), "admin".into()));
                    form.push(("password".into(), "Passw0rd!".into()));
                    form.push(("decision".into(), "deny".into()));
                    let post_url = format!(
                        "{}://{}{}",
                        parsed.scheme(),
                        parsed.host_str().unwrap_or("127.0.0.1"),
                        parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
                    ) + parsed.path();
                    let Ok(r) = client.post(post_url).form(&form).send().await else {
                        return;
                    };
                    location(&r)
                }
            };
            let Some(redirect) = redirect else { return };
            match script {
                BrowserScript::TamperState => {
                    visit(&client, &visits, &forge_state(&redirect)).await;
                }
                BrowserScript::ForgeThenApprove => {
                    visit(&client, &visits, &forge_state(&redirect)).await;
                    visit(&client, &visits, &redirect).await;
                }
                _ => visit(&client, &visits, &redirect).await,
            }
        });
        Ok(())
    }
}

/// Options of a test environment.
pub struct EnvOptions {
    pub sim: SimConfig,
    pub script: BrowserScript,
    pub extra_env: Vec<(String, String)>,
    pub store: Option<Arc<dyn TokenStore>>,
    pub login_timeout: Option<Duration>,
    pub interactive_on_demand: bool,
    /// The rules in force (allow all when `None`) and the window's approval queue.
    pub policy: Option<Arc<aic_mcp_core::policy::Policy>>,
    pub approvals: Option<Arc<aic_mcp_core::approval::Approvals>>,
    /// The audit file and the change journal (whose reads of a write's object before and
    /// after are requests of their own; tests of a tool's exact requests turn it off).
    pub audit_log: bool,
}

impl Default for EnvOptions {
    fn default() -> Self {
        Self {
            sim: SimConfig {
                tls: true,
                auto_approve: true,
                ..SimConfig::default()
            },
            script: BrowserScript::Approve,
            extra_env: Vec::new(),
            store: Some(Arc::new(MemoryStore::default())),
            login_timeout: Some(Duration::from_secs(20)),
            interactive_on_demand: true,
            policy: None,
            approvals: None,
            audit_log: true,
        }
    }
}

/// A simulator and an app pointed at it.
pub struct Env {
    pub sim: SimHandle,
    pub app: Arc<App>,
    pub service: McpService,
    pub browser: ScriptedBrowser,
    pub dir: tempfile::TempDir,
    pub config_env: HashMap<String, String>,
}

impl Env {
    pub async fn start(opts: EnvOptions) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut sim_cfg = opts.sim;
        if sim_cfg.tls && sim_cfg.ca_file.is_none() {
            sim_cfg.ca_file = Some(dir.path().join("sim-ca.pem"));
        }
        let sim = aic_tenant_sim::start(sim_cfg).await?;
        let ca = sim.ca_pem_path();
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert("AIC_BASE_URL".into(), sim.base_url());
        if let Some(ca) = &ca {
            env.insert("AIC_CA_FILE".into(), ca.display().to_string());
        }
        env.insert("AIC_REDIRECT_PORT".into(), free_port().to_string());
        env.insert("AIC_TOKEN_STORE".into(), "memory".into());
        env.insert(
            "AIC_LOG_DIR".into(),
            dir.path().join("logs").display().to_string(),
        );
        for (k, v) in opts.extra_env {
            env.insert(k, v);
        }
        let config = Config::from_lookup(|k| env.get(k).cloned())?;
        let browser = ScriptedBrowser::new(ca.as_deref(), opts.script);
        let app = App::start(
            config,
            AppParts {
                browser: Arc::new(browser.clone()),
                store: opts.store,
                login_timeout: opts.login_timeout,
                interactive_on_demand: opts.interactive_on_demand,
                policy: opts.policy,
                approvals: opts.approvals,
                audit_log: opts.audit_log,
                ..AppParts::default()
            },
        )?;
        let service = app.mcp_service();
        Ok(Self {
            sim,
            app,
            service,
            browser,
            dir,
            config_env: env,
        })
    }

    /// Calls a tool; returns (isError, text).
    pub async fn call(&self, tool: &str, args: Value) -> (bool, String) {
        let r = self
            .service
            .call(tool, args, Some("test".into()), None)
            .await;
        let text = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("");
        (r.is_error.unwrap_or(false), text)
    }

    /// Logs in and forgets the requests the login made.
    pub async fn logged_in(self) -> anyhow::Result<Self> {
        self.app.login().await?;
        self.sim.clear_requests();
        Ok(self)
    }

    /// Requests to resource endpoints (not OAuth, not the browser's).
    pub fn resource_requests(&self) -> Vec<RecordedRequest> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| !r.path.starts_with("/am/oauth2/"))
            .collect()
    }

    /// Token-exchange requests.
    pub fn exchanges(&self) -> Vec<RecordedRequest> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| {
                r.path == "/am/oauth2/access_token"
                    && r.body.contains(
                        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange",
                    )
            })
            .collect()
    }

    pub fn ca(&self) -> Option<PathBuf> {
        self.sim.ca_pem_path()
    }
}

/// Form fields of a recorded request body.
pub fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// True when the test must not be skipped (CI sets CI=true).
pub fn required() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
        || std::env::var_os("AIC_REQUIRE_REAL_PARTS").is_some()
}

/// Locates a workspace binary built by cargo (target/<profile>/<name>).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_dir.join(name)
}

/// A simulator and an app that has already logged in (the login's requests forgotten).
pub async fn logged_in_env() -> Env {
    match Env::start(EnvOptions::default()).await {
        Ok(env) => match env.logged_in().await {
            Ok(env) => env,
            Err(e) => panic!("login failed: {e}"),
        },
        Err(e) => panic!("test environment failed to start: {e}"),
    }
}

/// A signed-in environment under `rules`, with the window's approval queue when given.
pub async fn guarded_env(
    rules: aic_mcp_core::policy::Rules,
    approvals: Option<Arc<aic_mcp_core::approval::Approvals>>,
) -> Env {
    Env::start(EnvOptions {
        policy: Some(aic_mcp_core::policy::Policy::new(rules)),
        approvals,
        ..EnvOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("test environment failed to start: {e}"))
    .logged_in()
    .await
    .unwrap_or_else(|e| panic!("login failed: {e}"))
}

/// Waits (at most 30 s) for the next approval card and answers it with `answer`; returns
/// the card. The card is cloned out of the queue's list before answering: answering
/// while the list is borrowed would deadlock.
pub async fn answer_next(
    q: &aic_mcp_core::approval::Approvals,
    answer: aic_mcp_core::approval::Answer,
) -> aic_mcp_core::approval::ApprovalRequest {
    let mut rx = q.subscribe();
    let card = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let first = rx.borrow_and_update().first().cloned();
            if let Some(c) = first {
                return c;
            }
            rx.changed().await.expect("queue open");
        }
    })
    .await
    .expect("a card appears");
    q.answer(card.id, &card.digest, answer)
        .expect("answer taken");
    card
}

/// A signed-in environment without the audit file and change journal: a write sends only
/// its own requests (for tests of a tool's exact requests).
pub async fn wire_env() -> Env {
    match Env::start(EnvOptions {
        audit_log: false,
        ..EnvOptions::default()
    })
    .await
    {
        Ok(env) => env
            .logged_in()
            .await
            .unwrap_or_else(|e| panic!("login failed: {e}")),
        Err(e) => panic!("test environment failed to start: {e}"),
    }
}

/// The JSON of a result before its `Transaction ID:` suffix (the whole text when it has
/// none); panics naming the text when it is not JSON.
pub fn result_json(text: &str) -> serde_json::Value {
    let json = text.split("\n\nTransaction ID:").next().unwrap_or(text);
    serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The change journal of `env`'s core, newest first (the journal must be on).
pub fn journaled(env: &Env) -> Vec<aic_mcp_core::journal::Change> {
    env.app
        .guard()
        .journal
        .as_ref()
        .expect("journal on")
        .list(100)
        .expect("journal")
}

/// Asserts the journaled change carries transaction ids, each one the tenant saw.
pub fn assert_transactions_seen(env: &Env, c: &aic_mcp_core::journal::Change) {
    assert!(!c.transaction_ids.is_empty(), "{}", c.tool);
    let seen: Vec<String> = env
        .sim
        .requests()
        .into_iter()
        .filter_map(|r| r.transaction_id)
        .collect();
    for tx in &c.transaction_ids {
        assert!(seen.contains(tx), "{tx} was sent");
    }
}

/// An environment in Ask mode (60 s to answer) whose approvals go to `queue`.
pub async fn asking_env(queue: &Arc<aic_mcp_core::approval::Approvals>) -> Env {
    guarded_env(
        aic_mcp_core::policy::Rules {
            mode: aic_mcp_core::policy::Mode::Ask,
            approval_timeout: std::time::Duration::from_secs(60),
            ..aic_mcp_core::policy::Rules::default()
        },
        Some(queue.clone()),
    )
    .await
}

/// The transaction id of a result's `Transaction ID:` suffix.
pub fn tx_of(text: &str) -> Option<&str> {
    text.rsplit_once("\n\nTransaction ID: ").map(|(_, tx)| tx)
}

/// Asserts that the tool call just made did exactly one token exchange, for `scope`, with
/// the exchange client, and that every resource request carried the User-Agent, a
/// transaction id and that one scoped token (never a primary token). Returns the resource
/// requests and clears the simulator's log for the next call.
pub fn take_call(env: &Env, scope: &str) -> Vec<RecordedRequest> {
    let exchanges = env.exchanges();
    assert_eq!(exchanges.len(), 1, "one token exchange per tool call");
    let f = form(&exchanges[0].body);
    assert_eq!(f.get("scope").map(String::as_str), Some(scope));
    assert_eq!(
        f.get("client_id").map(String::as_str),
        Some("AICMCPExchangeClient")
    );
    let reqs = env.resource_requests();
    let bearers: Vec<&str> = reqs
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default())
        .collect();
    for (r, bearer) in reqs.iter().zip(&bearers) {
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION")))
        );
        assert!(r.header("x-forgerock-transactionid").is_some());
        assert!(bearer.starts_with("Bearer "));
        assert_eq!(*bearer, bearers[0], "the call's one scoped token");
        for primary in env.sim.live_primary_tokens() {
            assert!(
                !bearer.contains(&primary),
                "the primary token must never reach a resource API"
            );
        }
    }
    env.sim.clear_requests();
    reqs
}

/// Asserts that a call was rejected as bad input: an isError result with the reference's
/// validation text naming `field_hint`, and not a single request to the simulator.
pub async fn assert_rejected(env: &Env, tool: &str, args: Value, field_hint: &str) {
    let (err, text) = env.call(tool, args.clone()).await;
    assert!(err, "{tool} accepted {args}: {text}");
    assert!(
        text.starts_with(&format!(
            "MCP error -32602: Input validation error: Invalid arguments for tool {tool}: "
        )),
        "{tool} {args}: {text}"
    );
    assert!(
        text.contains(field_hint),
        "{tool}: the message names '{field_hint}': {text}"
    );
    let seen = env.sim.requests();
    assert!(
        seen.is_empty(),
        "{tool} {args} sent {} request(s): {:?}",
        seen.len(),
        seen.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}
