//! Cancellation end to end. Through the real rmcp server (the service on one end of an
//! in-process pipe, a raw JSON-RPC client on the other): `notifications/cancelled` ends a
//! call as `Cancelled`, its request in flight is dropped, none of its later requests is
//! sent, and the session serves the next call. Through `App::shutdown_with_grace`: a call
//! that finishes within the grace period ends `Ok`, a stalled one is cancelled once the
//! grace period is over, and a call that arrives while stopping is refused and sends
//! nothing. Waits are bounded by generous timeouts; nothing asserts how fast anything is.

use std::time::Duration;

use aic_mcp_core::activity::{ActivityEvent, Outcome};
use aic_mcp_core::mcp::McpService;
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind, RecordedRequest};
use aic_mcp_tests::{logged_in_env, Env};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};
use tokio::sync::broadcast::Receiver;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);
const SOURCES: &str = "/monitoring/logs/sources";
const NODES: &str = "/am/json/alpha/realm-config/authentication/authenticationtrees/nodes";
/// The seeded alpha Login journey's PageNode and its two children.
const PAGE: &str = "5eed0001-7e57-4a00-8000-000000000001";
const USER: &str = "5eed0002-7e57-4a00-8000-000000000002";
const PASS: &str = "5eed0003-7e57-4a00-8000-000000000003";

type Events = Receiver<ActivityEvent>;

/// A raw JSON-RPC client talking to the real rmcp server over an in-process pipe.
struct Rpc {
    write: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Rpc {
    /// Serves `service` and completes the MCP handshake.
    async fn start(service: McpService) -> Self {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_io);
        let server = tokio::spawn(async move {
            if let Ok(running) = service.serve((server_read, server_write)).await {
                let _ = running.waiting().await;
            }
        });
        let (read, write) = tokio::io::split(client_io);
        let mut rpc = Self {
            write,
            lines: BufReader::new(read).lines(),
            server,
        };
        rpc.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "cancel-test", "version": "1"}}}),
        )
        .await;
        rpc.response(0).await;
        rpc.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        rpc
    }

    async fn send(&mut self, message: Value) {
        let line = format!("{message}\n");
        self.write
            .write_all(line.as_bytes())
            .await
            .expect("write to the server");
    }

    /// Sends `tools/call` with this id.
    async fn call(&mut self, id: u64, tool: &str, arguments: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}))
            .await;
    }

    /// Sends `notifications/cancelled` for the request with this id.
    async fn cancel(&mut self, id: u64) {
        self.send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": id, "reason": "the user pressed stop"}}),
        )
        .await;
    }

    /// The response to the request with this id (other messages are skipped).
    async fn response(&mut self, id: u64) -> Value {
        let wait = async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .expect("read from the server")
                    .expect("the server closed the session");
                let v: Value = serde_json::from_str(&line).expect("JSON-RPC line");
                if v["id"] == json!(id) {
                    return v;
                }
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("no response to request {id}"))
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Polls `cond` until it holds; fails the test after [`PATIENCE`].
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let wait = async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(PATIENCE, wait).await.is_err() {
        panic!("timed out waiting until {what}");
    }
}

/// The next event matching `pick`, skipping the others.
async fn next_event<T>(events: &mut Events, mut pick: impl FnMut(ActivityEvent) -> Option<T>) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if let Some(t) = pick(ev) {
                        return t;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("activity bus: {e}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("the expected activity event")
}

/// The call id of the next `tool` call that starts.
async fn started(events: &mut Events, tool: &str) -> u64 {
    next_event(events, |ev| match ev {
        ActivityEvent::ToolStarted {
            call_id, tool: t, ..
        } if t == tool => Some(call_id),
        _ => None,
    })
    .await
}

/// How the call with this id finished: its outcome and message.
async fn finished(events: &mut Events, id: u64) -> (Outcome, Option<String>) {
    next_event(events, |ev| match ev {
        ActivityEvent::ToolFinished {
            call_id,
            outcome,
            message,
            ..
        } if call_id == id => Some((outcome, message)),
        _ => None,
    })
    .await
}

fn requests_to(env: &Env, prefix: &str) -> Vec<RecordedRequest> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with(prefix))
        .collect()
}

fn describe(reqs: &[RecordedRequest]) -> Vec<String> {
    reqs.iter()
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect()
}

/// The text of a `tools/call` response; asserts it is a result (not a JSON-RPC error).
fn result_text(response: &Value) -> (bool, String) {
    let result = &response["result"];
    assert!(result.is_object(), "not a result: {response}");
    let text = result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<String>();
    (result["isError"] == json!(true), text)
}

#[tokio::test]
async fn cancelled_call_drops_its_stalled_request_and_the_session_goes_on() {
    let env = logged_in_env().await;
    let mut events = env.app.bus().subscribe();
    let mut rpc = Rpc::start(env.service.clone()).await;
    env.sim
        .push_fault(Fault::new(SOURCES, FaultKind::Stall).with_method("GET"));

    rpc.call(1, "getLogSources", json!({})).await;
    let call = started(&mut events, "getLogSources").await;
    wait_until("the stalled request reached the tenant", || {
        !requests_to(&env, SOURCES).is_empty()
    })
    .await;
    rpc.cancel(1).await;

    let (outcome, message) = finished(&mut events, call).await;
    assert_eq!(outcome, Outcome::Cancelled, "{message:?}");
    let message = message.unwrap_or_default();
    assert!(
        message.starts_with("Cancelled by the assistant"),
        "{message}"
    );
    let stalled = requests_to(&env, SOURCES);
    assert_eq!(describe(&stalled), [format!("GET {SOURCES} -> 0")]);

    // The same session serves the next call normally, with a fresh request.
    rpc.call(2, "getLogSources", json!({})).await;
    let (is_error, text) = result_text(&rpc.response(2).await);
    assert!(!is_error, "{text}");
    assert!(text.contains("am-access"), "{text}");
    assert_eq!(
        describe(&requests_to(&env, SOURCES)),
        [
            format!("GET {SOURCES} -> 0"),
            format!("GET {SOURCES} -> 200")
        ],
        "the stalled request was never answered; the next one was"
    );
}

#[tokio::test]
async fn cancelled_fan_out_sends_nothing_after_the_cancellation() {
    let env = logged_in_env().await;
    let mut rpc = Rpc::start(env.service.clone()).await;
    let login = json!({"realm": "alpha", "journeyName": "Login"});

    // The whole call, uncancelled: the tree, a first round of node reads, then the
    // PageNode's children.
    rpc.call(1, "getJourney", login.clone()).await;
    let (is_error, text) = result_text(&rpc.response(1).await);
    assert!(!is_error, "{text}");
    let whole = env.resource_requests().len();
    for child in [USER, PASS] {
        let reads = requests_to(&env, NODES)
            .into_iter()
            .filter(|r| r.path.ends_with(child))
            .count();
        assert_eq!(reads, 1, "the child {child} is read in the second round");
    }
    env.sim.clear_requests();

    // The PageNode's read answers late, so the children's round waits for it.
    let delay_ms = 1_500;
    env.sim.push_fault(
        Fault::new(
            format!("{NODES}/PageNode/{PAGE}"),
            FaultKind::Delay { ms: delay_ms },
        )
        .with_method("GET"),
    );
    let mut events = env.app.bus().subscribe();
    rpc.call(2, "getJourney", login.clone()).await;
    let call = started(&mut events, "getJourney").await;
    wait_until(
        "the first round is at the tenant, all answered but the delayed read",
        || {
            let reqs = env.resource_requests();
            let pending: Vec<_> = reqs.iter().filter(|r| r.status == 0).collect();
            reqs.len() == 9
                && pending.len() == 1
                && pending[0].path == format!("{NODES}/PageNode/{PAGE}")
        },
    )
    .await;
    rpc.cancel(2).await;
    let (outcome, message) = finished(&mut events, call).await;
    assert_eq!(outcome, Outcome::Cancelled, "{message:?}");
    let at_cancel = env.sim.requests();

    // A while later: past the delay, when the children's round would have gone out.
    tokio::time::sleep(Duration::from_millis(2 * delay_ms)).await;
    let later = env.sim.requests();
    assert_eq!(
        describe(&later),
        describe(&at_cancel),
        "no request of the cancelled call was sent (or answered) after the cancellation"
    );
    let resource: Vec<_> = later
        .iter()
        .filter(|r| !r.path.starts_with("/am/oauth2/"))
        .collect();
    assert!(
        resource.len() < whole,
        "the call was cut short: {} of {whole} requests",
        resource.len()
    );
    assert!(
        !later
            .iter()
            .any(|r| r.path.ends_with(USER) || r.path.ends_with(PASS)),
        "the PageNode's children were never read"
    );
    // The delayed read was dropped by the client: the tenant never answered it.
    let delayed: Vec<_> = later
        .iter()
        .filter(|r| r.path == format!("{NODES}/PageNode/{PAGE}"))
        .collect();
    assert_eq!(delayed.len(), 1);
    assert_eq!(delayed[0].status, 0, "the delayed read was dropped");

    // The session goes on: the same call again runs to the end.
    env.sim.clear_requests();
    rpc.call(3, "getJourney", login).await;
    let (is_error, text) = result_text(&rpc.response(3).await);
    assert!(!is_error, "{text}");
    assert_eq!(env.resource_requests().len(), whole);
}

/// Spawns a `getLogSources` call on `service`; resolves to (isError, text).
fn spawn_call(service: &McpService) -> tokio::task::JoinHandle<(bool, String)> {
    let service = service.clone();
    tokio::spawn(async move {
        let r = service
            .call("getLogSources", json!({}), Some("test".into()), None)
            .await;
        let text = r
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<String>();
        (r.is_error.unwrap_or(false), text)
    })
}

#[tokio::test]
async fn shutdown_lets_a_call_that_ends_within_the_grace_period_finish() {
    let env = logged_in_env().await;
    let mut events = env.app.bus().subscribe();
    env.sim
        .push_fault(Fault::new(SOURCES, FaultKind::Delay { ms: 500 }).with_method("GET"));
    let call = spawn_call(&env.service);
    let id = started(&mut events, "getLogSources").await;
    wait_until("the delayed request reached the tenant", || {
        !requests_to(&env, SOURCES).is_empty()
    })
    .await;
    assert_eq!(env.app.calls().in_flight(), 1);

    let report = env.app.shutdown_with_grace(PATIENCE).await;
    assert_eq!(report.cancelled_calls, 0);
    let (is_error, text) = call.await.expect("call task");
    assert!(!is_error, "{text}");
    assert!(text.contains("am-access"), "{text}");
    assert_eq!(finished(&mut events, id).await.0, Outcome::Ok);
    assert_eq!(
        describe(&requests_to(&env, SOURCES)),
        [format!("GET {SOURCES} -> 200")]
    );
}

#[tokio::test]
async fn shutdown_cancels_a_stalled_call_after_the_grace_period_and_refuses_new_ones() {
    let env = logged_in_env().await;
    let mut events = env.app.bus().subscribe();
    env.sim
        .push_fault(Fault::new(SOURCES, FaultKind::Stall).with_method("GET"));
    let call = spawn_call(&env.service);
    let id = started(&mut events, "getLogSources").await;
    wait_until("the stalled request reached the tenant", || {
        !requests_to(&env, SOURCES).is_empty()
    })
    .await;
    assert_eq!(env.app.calls().in_flight(), 1);

    let app = env.app.clone();
    let stopping =
        tokio::spawn(async move { app.shutdown_with_grace(Duration::from_secs(2)).await });
    // An unknown tool is refused without a request either way; once the core is
    // stopping it is refused as "stopping".
    let probe = env.service.clone();
    let closed = async {
        loop {
            let r = probe.call("noSuchTool", json!({}), None, None).await;
            let text: String = r
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect();
            if text.contains("is stopping") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, closed)
        .await
        .expect("the core starts stopping");
    let before = env.sim.requests().len();
    let (is_error, text) = env.call("getLogSources", json!({})).await;
    assert!(is_error, "{text}");
    assert!(
        text.starts_with("AIC MCP Desktop is stopping") && text.contains("nothing was sent"),
        "{text}"
    );
    assert_eq!(
        env.sim.requests().len(),
        before,
        "a refused call sends nothing"
    );

    let report = tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("the stop ends")
        .expect("stop task");
    assert_eq!(report.cancelled_calls, 1);
    let (is_error, text) = call.await.expect("call task");
    assert!(is_error, "{text}");
    assert!(text.contains("AIC MCP Desktop stopped"), "{text}");
    let (outcome, message) = finished(&mut events, id).await;
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(message
        .unwrap_or_default()
        .contains("AIC MCP Desktop stopped"));
    assert_eq!(
        describe(&requests_to(&env, SOURCES)),
        [format!("GET {SOURCES} -> 0")],
        "the stalled request was never answered"
    );
}
