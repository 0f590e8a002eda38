//! Bounded input from the tenant and bounded, masked activity, end to end: tool calls through
//! `McpService::call` against the simulator, checked in the tool's result, the events
//! published on the bus and the JSONL audit file.

use aic_mcp_core::activity::{ARGUMENT_TEXT_LIMIT, MESSAGE_LIMIT};
use aic_mcp_core::text::ERROR_BODY_LIMIT;
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind};
use aic_mcp_tests::{logged_in_env, Env};
use serde_json::{json, Value};
use tokio::sync::broadcast::Receiver;

type Events = Receiver<aic_mcp_core::activity::ActivityEvent>;

/// Every event published so far, as JSON.
fn drain(rx: &mut Events) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(serde_json::to_value(&ev).expect("event json"));
    }
    out
}

/// Stops the app (flushing the audit writer) and returns the audit file's lines.
async fn audit_lines(env: &Env) -> Vec<String> {
    env.app.shutdown().await;
    let mut text = String::new();
    for entry in std::fs::read_dir(env.dir.path().join("logs"))
        .expect("log dir")
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("activity") {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    text.lines().map(str::to_string).collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

fn count(text: &str, c: char) -> usize {
    text.chars().filter(|x| *x == c).count()
}

#[tokio::test]
async fn secrets_in_arguments_never_reach_events_or_the_audit_file() {
    let env = logged_in_env().await;
    let mut rx = env.app.bus().subscribe();
    let secrets = [
        "Pw-SECRET-1",
        "KBA-SECRET-2",
        "PIN-SECRET-3",
        "PASSCODE-SECRET-4",
        "ACCESSKEY-SECRET-5",
        "SHAREDKEY-SECRET-6",
        "AUTHZ-SECRET-7",
        "COOKIE-SECRET-8",
        "KBA-SECRET-9",
        "PIN-SECRET-10",
        "SCRIPT-SECRET-11",
        "SCRIPT-SECRET-12",
    ];
    let (err, text) = env
        .call(
            "createManagedObject",
            json!({"objectType": "alpha_user", "objectData": {
                "userName": "masked.user", "givenName": "M", "sn": "U", "mail": "m@example.com",
                "password": secrets[0],
                "kbaInfo": [{"questionId": "1", "answer": secrets[1]}],
                "pin": secrets[2], "passcode": secrets[3], "accessKey": secrets[4],
                "sharedKey": secrets[5], "authorization": secrets[6], "cookie": secrets[7]
            }}),
        )
        .await;
    assert!(!err, "{text}");
    let id = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Created managed object "))
        .expect("created")
        .to_string();
    let (err, text) = env
        .call(
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": id, "revision": "1", "operations": [
                {"operation": "replace", "field": "/kbaInfo", "value": [{"questionId": "2", "answer": secrets[8]}]},
                {"operation": "replace", "field": "/pin", "value": secrets[9]}
            ]}),
        )
        .await;
    assert!(!err, "{text}");
    let source = format!("var k = '{}'; action.goTo('true');", secrets[10]);
    let (err, text) = env
        .call(
            "createScript",
            json!({"realm": "alpha", "name": "Masked Source", "script": source}),
        )
        .await;
    assert!(!err, "{text}");
    let script_id = text
        .lines()
        .find_map(|l| l.strip_prefix("Script ID: "))
        .unwrap_or_else(|| panic!("script id in {text}"))
        .to_string();
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": script_id, "script": format!("/* {} */ action.goTo('false');", secrets[11])}),
        )
        .await;
    assert!(!err, "{text}");

    let events = drain(&mut rx);
    let started = of_kind(&events, "tool_started");
    assert_eq!(started.len(), 4);
    let user = &started[0]["arguments"]["objectData"];
    for key in [
        "password",
        "pin",
        "passcode",
        "accessKey",
        "sharedKey",
        "authorization",
        "cookie",
    ] {
        assert_eq!(user[key], "********", "{key}");
    }
    assert_eq!(user["kbaInfo"][0]["answer"], "********");
    assert_eq!(user["kbaInfo"][0]["questionId"], "1");
    let shown = started[2]["arguments"]["script"].as_str().unwrap_or("");
    assert!(
        shown.starts_with(&format!("[script: {} bytes, sha256 ", source.len())),
        "{shown}"
    );

    let audit = audit_lines(&env).await.join("\n");
    assert!(
        audit.contains(shown),
        "the audit file shows the script's hash"
    );
    let published = serde_json::to_string(&events).expect("json");
    for secret in secrets {
        assert!(!published.contains(secret), "{secret} reached an event");
        assert!(!audit.contains(secret), "{secret} reached the audit file");
    }
}

#[tokio::test]
async fn an_html_error_page_is_cut_everywhere_it_goes() {
    let env = logged_in_env().await;
    let mut rx = env.app.bus().subscribe();
    let page = format!("<html><body>{}</body></html>", "Z".repeat(1024 * 1024));
    env.sim.push_fault(Fault::new(
        "/openidm/config/managed",
        FaultKind::Status {
            status: 500,
            body: page,
        },
    ));
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(err);
    assert!(
        text.contains("500 Internal Server Error - <html><body>ZZZ"),
        "{}",
        &text[..80]
    );
    assert!(text.contains("bytes more"), "the cut is said");
    assert!(text.contains("\n\nTransaction ID: "), "the suffix survives");
    assert!(
        count(&text, 'Z') <= ERROR_BODY_LIMIT,
        "{}",
        count(&text, 'Z')
    );

    let events = drain(&mut rx);
    let finished = of_kind(&events, "tool_finished");
    let message = finished[0]["message"].as_str().expect("message");
    assert_eq!(message, text, "the event holds the same cut text");
    for up in of_kind(&events, "upstream") {
        assert!(count(&up.to_string(), 'Z') <= ERROR_BODY_LIMIT);
    }
    let audit = audit_lines(&env).await;
    assert!(!audit.is_empty());
    for line in &audit {
        assert!(
            count(line, 'Z') <= ERROR_BODY_LIMIT,
            "{} Zs",
            count(line, 'Z')
        );
    }
    assert!(
        audit.iter().any(|l| l.contains("ZZZZ")),
        "the page's start is kept"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_clear_error() {
    let env = logged_in_env().await;
    let mut rx = env.app.bus().subscribe();
    env.sim.push_fault(Fault::new(
        "/openidm/config/managed",
        FaultKind::Status {
            status: 200,
            body: "x".repeat(40 * 1024 * 1024),
        },
    ));
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(err, "{}", &text[..text.len().min(200)]);
    assert!(text.len() < 1024, "{} bytes", text.len());
    assert!(text.contains("larger than 32 MiB"), "{text}");
    assert!(text.contains("fewer fields"), "{text}");
    let events = drain(&mut rx);
    let up: Vec<_> = of_kind(&events, "upstream")
        .into_iter()
        .filter(|e| e["path"] == "/openidm/config/managed")
        .collect();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0]["status"], 200);
    assert!(up[0]["error"].as_str().unwrap_or("").contains("32 MiB"));
    // The next call is served normally.
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(!err, "{text}");
}

#[tokio::test]
async fn a_huge_argument_is_cut_in_events_and_the_audit_file() {
    let env = logged_in_env().await;
    let mut rx = env.app.bus().subscribe();
    let filter = format!("userName eq \"{}\"", "Q".repeat(1024 * 1024));
    let (err, _) = env
        .call(
            "queryManagedObjects",
            json!({"objectType": "alpha_user", "queryFilter": filter}),
        )
        .await;
    assert!(err, "a 1 MiB filter is refused");
    let events = drain(&mut rx);
    let started = of_kind(&events, "tool_started");
    let shown = started[0]["arguments"]["queryFilter"]
        .as_str()
        .expect("still a string");
    assert!(shown.starts_with("userName eq \"QQQ"), "{}", &shown[..40]);
    assert!(
        shown.ends_with("bytes more"),
        "{}",
        &shown[shown.len() - 40..]
    );
    assert!(count(shown, 'Q') <= ARGUMENT_TEXT_LIMIT);
    for ev in &events {
        assert!(ev.to_string().len() < 2 * MESSAGE_LIMIT);
    }
    for line in audit_lines(&env).await {
        assert!(
            count(&line, 'Q') <= ARGUMENT_TEXT_LIMIT,
            "{} Qs",
            count(&line, 'Q')
        );
    }
}
