//! The admin stays in control (`core::policy`, `core::approval`), through the real MCP
//! service against the tenant simulator: read-only mode lists exactly the read-only tools
//! and refuses a write without a request; switched-off tools are absent and refused; in
//! ask mode a write waits for the window's queue: deny and no answer send no write,
//! approve sends exactly one, "approve for this assistant" covers the next call; each
//! step is on the activity bus; changing the rules sends `notifications/tools/list_changed`
//! to a connected session.

use std::time::Duration;

use aic_mcp_core::activity::{ActivityEvent, GuardStep, Outcome};
use aic_mcp_core::approval::{Answer, Approvals, ApprovedBy};
use aic_mcp_core::policy::{Mode, Rules, Switches};
use aic_mcp_tests::{answer_next, guarded_env, Env};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PATIENCE: Duration = Duration::from_secs(30);
const BJENSEN: &str = "a1000000-0000-4000-8000-000000000001";
const USER_PATH: &str = "/openidm/managed/alpha_user/a1000000-0000-4000-8000-000000000001";

fn rules(mode: Mode) -> Rules {
    Rules {
        mode,
        ..Rules::default()
    }
}

/// The read-only tools of the golden catalogue, read from the golden file.
fn golden_read_only() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../src-tauri/core/tests/tools_list.json"
    );
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden")).expect("json");
    golden["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter(|t| t["annotations"]["readOnlyHint"] == json!(true))
        .map(|t| t["name"].as_str().expect("name").to_string())
        .collect()
}

fn listed(env: &Env) -> Vec<String> {
    env.service
        .list()
        .iter()
        .map(|t| t.name.to_string())
        .collect()
}

fn deletes(env: &Env) -> usize {
    env.resource_requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

/// The guard steps and the outcome the bus recorded for one tool.
fn path_of(
    events: &[ActivityEvent],
    tool: &str,
) -> (Vec<(GuardStep, Option<ApprovedBy>)>, Option<Outcome>) {
    let mut steps = Vec::new();
    let mut outcome = None;
    for e in events {
        match e {
            ActivityEvent::Guard {
                tool: t, step, by, ..
            } if t == tool => steps.push((*step, *by)),
            ActivityEvent::ToolFinished {
                tool: t,
                outcome: o,
                ..
            } if t == tool => outcome = Some(*o),
            _ => {}
        }
    }
    (steps, outcome)
}

#[tokio::test]
async fn read_only_mode_lists_exactly_the_read_only_tools_and_a_write_sends_nothing() {
    let env = guarded_env(rules(Mode::ReadOnly), None).await;
    assert_eq!(listed(&env), golden_read_only());
    let (err, text) = env
        .call(
            "deleteManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "deleteManagedObject changes the tenant, and AIC MCP Desktop is in read-only mode for this tenant. Nothing was sent to the tenant."
    );
    assert!(env.resource_requests().is_empty(), "no request at all");
    assert!(env.exchanges().is_empty(), "not even a token exchange");
    let (steps, outcome) = path_of(&env.app.bus().recent(), "deleteManagedObject");
    assert_eq!(steps, [(GuardStep::Refused, None)]);
    assert_eq!(outcome, Some(Outcome::Refused));
    // A read still runs.
    let (err, text) = env
        .call(
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN}),
        )
        .await;
    assert!(!err, "{text}");
    assert!(text.contains("bjensen"));
}

#[tokio::test]
async fn switched_off_tools_and_families_are_absent_and_refused() {
    let env = guarded_env(
        Rules {
            off: Switches::new(["deleteJourney", "themes"]).expect("known"),
            ..Rules::default()
        },
        None,
    )
    .await;
    let names = listed(&env);
    assert!(!names.contains(&"deleteJourney".to_string()));
    assert!(!names.iter().any(|n| n.contains("Theme")), "{names:?}");
    assert!(names.contains(&"getJourney".to_string()));
    assert_eq!(names.len(), 52 - 1 - 7);
    let (err, text) = env.call("getThemes", json!({"realm": "alpha"})).await;
    assert!(err);
    assert_eq!(
        text,
        "getThemes is turned off in AIC MCP Desktop (the themes tools are off). Nothing was sent to the tenant."
    );
    let (err, text) = env
        .call(
            "deleteJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "deleteJourney is turned off in AIC MCP Desktop. Nothing was sent to the tenant."
    );
    assert!(env.resource_requests().is_empty());
}

#[tokio::test]
async fn ask_mode_waits_for_the_window_and_only_an_approval_sends_the_write() {
    let queue = Approvals::new();
    let env = guarded_env(rules(Mode::Ask), Some(queue.clone())).await;
    assert_eq!(listed(&env).len(), 52, "ask mode hides nothing");
    let args = json!({"objectType": "alpha_user", "objectId": BJENSEN});

    // Deny: the declined text, no DELETE.
    let (res, card) = tokio::join!(
        env.call("deleteManagedObject", args.clone()),
        answer_next(&queue, Answer::Deny)
    );
    assert_eq!(
        res,
        (
            true,
            "The admin declined this change in AIC MCP Desktop. Nothing was sent to the tenant."
                .to_string()
        )
    );
    assert_eq!(card.tool, "deleteManagedObject");
    assert_eq!(card.client.as_deref(), Some("test"));
    assert_eq!(card.tenant, env.sim.base_url());
    assert!(card.destructive);
    assert_eq!(card.arguments, args);
    assert_eq!(
        card.summary,
        format!("test wants to delete managed object alpha_user {BJENSEN}")
    );
    assert_eq!(deletes(&env), 0);
    assert!(queue.waiting().is_empty());

    // Approve: exactly one DELETE, of that user.
    let (res, _) = tokio::join!(
        env.call("deleteManagedObject", args.clone()),
        answer_next(&queue, Answer::Approve)
    );
    assert!(!res.0, "{}", res.1);
    let sent: Vec<_> = env
        .resource_requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, USER_PATH);

    // The log shows each path: waiting then denied by the window; waiting then approved.
    let events = env.app.bus().recent();
    let (steps, _) = path_of(&events, "deleteManagedObject");
    assert_eq!(
        steps,
        [
            (GuardStep::Waiting, None),
            (GuardStep::Denied, Some(ApprovedBy::Window)),
            (GuardStep::Waiting, None),
            (GuardStep::Approved, Some(ApprovedBy::Window)),
        ]
    );
    let waiting_ids: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ActivityEvent::Guard {
                step: GuardStep::Waiting,
                approval_id,
                ..
            } => *approval_id,
            _ => None,
        })
        .collect();
    assert_eq!(waiting_ids.len(), 2, "each wait names its card");

    // Reads never wait.
    let (err, _) = env.call("listManagedObjects", json!({})).await;
    assert!(!err);
}

#[tokio::test]
async fn no_answer_in_time_is_a_denial_and_a_grant_covers_the_next_call_of_that_tool_only() {
    let queue = Approvals::new();
    let env = guarded_env(
        Rules {
            mode: Mode::Ask,
            approval_timeout: Duration::from_secs(1),
            ..Rules::default()
        },
        Some(queue.clone()),
    )
    .await;
    let theme = json!({"realm": "alpha", "themeIdentifier": "Starter Theme", "themeUpdates": {"backgroundColor": "#101010"}});
    let (err, text) = env.call("updateTheme", theme.clone()).await;
    assert!(err);
    assert_eq!(
        text,
        "The admin declined this change in AIC MCP Desktop: no answer within 1 second. Nothing was sent to the tenant."
    );
    assert!(queue.waiting().is_empty(), "the card went with the call");
    let writes = |env: &Env| {
        env.resource_requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .count()
    };
    assert_eq!(writes(&env), 0);

    // "Approve for this assistant": this call, and the next one without a card.
    let env2 = guarded_env(rules(Mode::Ask), Some(queue.clone())).await;
    let (res, _) = tokio::join!(
        env2.call("updateTheme", theme.clone()),
        answer_next(&queue, Answer::ApproveForAssistant)
    );
    assert!(!res.0, "{}", res.1);
    let res = tokio::time::timeout(PATIENCE, env2.call("updateTheme", theme.clone()))
        .await
        .expect("a granted call does not wait");
    assert!(!res.0, "{}", res.1);
    assert_eq!(writes(&env2), 2);
    let (steps, _) = path_of(&env2.app.bus().recent(), "updateTheme");
    assert_eq!(
        steps.last(),
        Some(&(GuardStep::Approved, Some(ApprovedBy::Grant)))
    );
    // Another tool still asks.
    let r = tokio::time::timeout(
        Duration::from_millis(300),
        env2.call(
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": "Starter Theme"}),
        ),
    )
    .await;
    assert!(r.is_err(), "setDefaultTheme waits for its own approval");
}

#[tokio::test]
async fn changing_the_rules_tells_a_connected_session_that_the_tool_list_changed() {
    let env = guarded_env(rules(Mode::Full), None).await;
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let service = env.app.mcp_service();
    let server = tokio::spawn(async move {
        if let Ok(running) = service.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let (read, mut write) = tokio::io::split(client_io);
    let mut lines = BufReader::new(read).lines();
    for msg in [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "guard-test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ] {
        write
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .expect("write");
    }
    let init: Value = serde_json::from_str(
        &tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("in time")
            .expect("read")
            .expect("a line"),
    )
    .expect("json");
    assert_eq!(
        init["result"]["capabilities"]["tools"]["listChanged"],
        json!(true),
        "{init}"
    );
    // Wait until the session is registered (initialized was handled), then change the mode.
    let policy = env.app.guard().policy.clone();
    let notified = tokio::time::timeout(PATIENCE, async {
        let mut mode = Mode::ReadOnly;
        loop {
            policy.set(rules(mode));
            mode = if mode == Mode::ReadOnly {
                Mode::Full
            } else {
                Mode::ReadOnly
            };
            if let Ok(Ok(Some(line))) =
                tokio::time::timeout(Duration::from_millis(200), lines.next_line()).await
            {
                return serde_json::from_str::<Value>(&line).expect("json");
            }
        }
    })
    .await
    .expect("a notification");
    assert_eq!(notified["method"], "notifications/tools/list_changed");
    // Only the timeout changing is not a list change.
    let now = policy.rules();
    policy.set(Rules {
        approval_timeout: Duration::from_secs(999),
        ..now
    });
    let nothing = tokio::time::timeout(Duration::from_millis(300), lines.next_line()).await;
    assert!(nothing.is_err(), "no notification for a timeout change");
    drop(write);
    server.abort();
}
