//! AM journeys and nodes (12 tools of contract §3.7) against the simulator: the exact
//! upstream requests of every tool (method, path, query, API version, JSON content type,
//! body), one token exchange per call (getJourney's fan-out included), the result texts,
//! precise failure reports with status-based categories, the deliberate fixes (PageNode
//! child ids mapped, deterministic order, unpaired graph fields refused before any request)
//! and bad input rejected before anything is sent.

use aic_mcp_core::tools::{Hints, Registry};
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind, RecordedRequest};
use aic_mcp_tests::assert_rejected;
use aic_mcp_tests::{form, Env, EnvOptions};
use aic_mcp_tests::{tx_of, wire_env as env};
use serde_json::{json, Value};

const AM: &str = "fr:am:*";
const AM21: &str = "protocol=2.1,resource=1.0";
const V10: &str = "protocol=1.0,resource=1.0";
const TREES: &str = "/am/json/alpha/realm-config/authentication/authenticationtrees/trees";
const NODES: &str = "/am/json/alpha/realm-config/authentication/authenticationtrees/nodes";
const AUTH: &str = "/am/json/alpha/realm-config/authentication";
const SUCCESS: &str = "70e691a5-1e33-4ac3-a356-e7b6d60d92e0";
const FAILURE: &str = "e301438c-0bd0-429c-ab0c-66126501069a";
/// The seeded alpha Login journey's nodes.
const PAGE: &str = "5eed0001-7e57-4a00-8000-000000000001";
const USER: &str = "5eed0002-7e57-4a00-8000-000000000002";
const PASS: &str = "5eed0003-7e57-4a00-8000-000000000003";
const DECIDE: &str = "5eed0004-7e57-4a00-8000-000000000004";
const COUNT: &str = "5eed0005-7e57-4a00-8000-000000000005";
const INNER: &str = "5eed0006-7e57-4a00-8000-000000000006";
const LIST_FIELDS: &str = "_id,description,identityResource,uiConfig,nodes,enabled,mustRun,maximumSessionTime,maximumIdleTime";

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// A whole text that is pretty JSON and nothing else (no TX suffix).
fn pretty_only(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).expect("the whole text is JSON");
    assert_eq!(serde_json::to_string_pretty(&v).expect("pretty"), text);
    v
}

fn json_of(r: &RecordedRequest) -> Value {
    serde_json::from_str(&r.body).expect("JSON body")
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn query_pairs(r: &RecordedRequest) -> Vec<(String, String)> {
    r.query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// Exactly one exchange for `fr:am:*`, every resource request with the UA, a transaction id
/// and that one token; returns the resource requests, clearing the log.
fn take(env: &Env) -> Vec<RecordedRequest> {
    let exchanges = env.exchanges();
    assert_eq!(exchanges.len(), 1, "one token exchange per tool call");
    let f = form(&exchanges[0].body);
    assert_eq!(f.get("scope").map(String::as_str), Some(AM));
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
    }
    env.sim.clear_requests();
    reqs
}

/// An AM call: method, path, API version and a JSON content type (also without a body).
fn assert_am(r: &RecordedRequest, method: &str, path: &str, version: &str) {
    assert_eq!((r.method.as_str(), r.path.as_str()), (method, path));
    assert_eq!(r.header("accept-api-version"), Some(version), "{path}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
}

fn assert_action(r: &RecordedRequest, path: &str, action: &str) {
    assert_am(r, "POST", path, AM21);
    assert_eq!(r.query.as_deref(), Some(action));
}

async fn call_ok(env: &Env, tool: &str, args: Value) -> String {
    let (err, text) = env.call(tool, args).await;
    assert!(!err, "{tool}: {text}");
    text
}

async fn call_err(env: &Env, tool: &str, args: Value) -> String {
    let (err, text) = env.call(tool, args).await;
    assert!(err, "{tool} should fail: {text}");
    text
}

fn status_fault(method: &str, path: &str, status: u16) -> Fault {
    let mut f = Fault::new(
        path,
        FaultKind::Status {
            status,
            body: json!({"code": status, "reason": "x", "message": "injected"}).to_string(),
        },
    );
    f.method = Some(method.into());
    f
}

// ---------------------------------------------------------------------------------------

const TOOLS: [&str; 12] = [
    "createJourney",
    "deleteJourneyNodes",
    "deleteJourney",
    "getDynamicNodeOutcomes",
    "getJourneyPreviewUrl",
    "getJourney",
    "getNodeTypeDetails",
    "listJourneys",
    "listNodeTypes",
    "setDefaultJourney",
    "updateJourneyNode",
    "updateJourney",
];

#[test]
fn metadata_matches_the_contract() {
    let registry = Registry::new(false);
    let h = |ro, d, id, ow| Hints {
        read_only: ro,
        destructive: d,
        idempotent: id,
        open_world: ow,
    };
    let read = h(Some(true), None, None, Some(true));
    let upsert = h(None, Some(false), Some(true), Some(true));
    let destructive = h(None, Some(true), None, Some(true));
    let rows: [(&str, &str, Hints); 12] = [
        ("createJourney", "Create Journey", upsert),
        (
            "deleteJourneyNodes",
            "Delete Journey Nodes (Batch)",
            destructive,
        ),
        ("deleteJourney", "Delete Journey", destructive),
        ("getDynamicNodeOutcomes", "Get Dynamic Node Outcomes", read),
        (
            "getJourneyPreviewUrl",
            "Get Journey Preview URL",
            h(Some(true), None, None, None),
        ),
        ("getJourney", "Get AM Journey (with Node Details)", read),
        ("getNodeTypeDetails", "Get Node Type Details", read),
        ("listJourneys", "List AM Journeys", read),
        ("listNodeTypes", "List AM Node Types", read),
        ("setDefaultJourney", "Set Default Journey", upsert),
        ("updateJourneyNode", "Update Journey Node", upsert),
        ("updateJourney", "Update Journey", upsert),
    ];
    for (name, title, hints) in rows {
        let t = registry.get(name).expect(name);
        assert_eq!(t.title, title);
        assert_eq!(t.hints, hints, "{name}");
        assert!(!t.container, "{name} is local mode only");
        let scopes: &[&str] = if name == "getJourneyPreviewUrl" {
            &[]
        } else {
            &["fr:am:*"]
        };
        assert_eq!(t.scopes, scopes, "{name}");
    }
    let container = Registry::new(true);
    for name in TOOLS {
        assert!(container.get(name).is_none(), "{name} in container mode");
    }
    let schema = |name: &str| registry.get(name).expect(name).input_schema.clone();
    let s = schema("updateJourneyNode");
    assert_eq!(s["properties"]["nodeId"]["format"], "uuid");
    assert_eq!(
        s["required"],
        json!(["realm", "nodeType", "nodeId", "config"])
    );
    assert_eq!(
        schema("getNodeTypeDetails")["properties"]["nodeTypes"]["minItems"],
        1
    );
    assert_eq!(
        schema("deleteJourneyNodes")["properties"]["nodes"]["minItems"],
        1
    );
    assert_eq!(schema("getJourneyPreviewUrl")["required"], json!(["realm"]));
    let s = schema("createJourney");
    assert_eq!(
        s["required"],
        json!(["realm", "journeyName", "journeyData"])
    );
    let data = &s["properties"]["journeyData"];
    assert_eq!(data["required"], json!(["entryNodeId", "nodes"]));
    let node = &data["properties"]["nodes"]["additionalProperties"];
    assert_eq!(
        node["required"],
        json!(["nodeType", "displayName", "connections", "config"])
    );
    assert_eq!(
        node["properties"]["connections"]["additionalProperties"]["type"],
        "string"
    );
    let s = schema("updateJourney");
    assert_eq!(s["required"], json!(["realm", "journeyName"]));
    for k in [
        "description",
        "identityResource",
        "mustRun",
        "innerTreeOnly",
        "uiConfig",
        "enabled",
        "maximumSessionTime",
        "maximumIdleTime",
        "entryNodeId",
        "nodes",
    ] {
        assert!(s["properties"].get(k).is_some(), "updateJourney.{k}");
    }
    assert_eq!(s["properties"]["maximumSessionTime"]["type"], "number");
}

#[tokio::test]
async fn list_journeys_reads_trees_and_the_default() {
    let env = env().await;
    let text = call_ok(&env, "listJourneys", json!({"realm": "alpha"})).await;
    let mut reqs = take(&env);
    assert_eq!(reqs.len(), 2);
    reqs.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
    assert_am(&reqs[0], "GET", TREES, AM21);
    assert_eq!(
        reqs[0].query.as_deref(),
        Some(
            "_queryFilter=true&_pageSize=-1&_fields=_id%2Cdescription%2CidentityResource%2CuiConfig%2Cnodes%2Cenabled%2CmustRun%2CmaximumSessionTime%2CmaximumIdleTime"
        )
    );
    assert_eq!(query_pairs(&reqs[0])[2].1, LIST_FIELDS);
    assert_eq!(reqs[0].body, "");
    assert_am(&reqs[1], "GET", AUTH, V10);
    assert_eq!(reqs[1].query, None);
    let body = body_of(&text);
    assert_eq!(
        keys(&body),
        [
            "result",
            "resultCount",
            "pagedResultsCookie",
            "totalPagedResultsPolicy",
            "totalPagedResults",
            "remainingPagedResults",
            "defaultJourney"
        ]
    );
    assert_eq!(body["defaultJourney"], "Login");
    assert_eq!(body["result"][0]["_id"], "Login");
    assert_eq!(body["result"][1]["_id"], "Registration");
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());

    env.sim.push_fault(status_fault("GET", AUTH, 500));
    let text = call_err(&env, "listJourneys", json!({"realm": "alpha"})).await;
    assert!(
        text.starts_with(
            "Failed to list journeys in realm \"alpha\": 500 Internal Server Error - "
        ),
        "{text}"
    );
    take(&env);
}

#[tokio::test]
async fn get_journey_fans_out_under_one_exchange() {
    let env = env().await;
    let text = call_ok(
        &env,
        "getJourney",
        json!({"realm": "alpha", "journeyName": "Login"}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(
        reqs.len(),
        13,
        "tree + 4 schemas + 4 configs + 2 schemas + 2 configs"
    );
    assert_am(&reqs[0], "GET", &format!("{TREES}/Login"), AM21);
    let describe = |r: &RecordedRequest| {
        format!(
            "{} {}?{}",
            r.method,
            r.path,
            r.query.clone().unwrap_or_default()
        )
    };
    for r in &reqs[1..] {
        assert_eq!(r.header("accept-api-version"), Some(AM21));
        assert_eq!(r.header("content-type"), Some("application/json"));
        if r.method == "POST" {
            assert_eq!(json_of(r), json!({}));
        } else {
            assert_eq!(r.body, "");
        }
    }
    let mut first: Vec<String> = reqs[1..9].iter().map(describe).collect();
    first.sort();
    let mut expected: Vec<String> = vec![
        format!("POST {NODES}/PageNode?_action=schema"),
        format!("POST {NODES}/DataStoreDecisionNode?_action=schema"),
        format!("POST {NODES}/IncrementLoginCountNode?_action=schema"),
        format!("POST {NODES}/InnerTreeEvaluatorNode?_action=schema"),
        format!("GET {NODES}/PageNode/{PAGE}?"),
        format!("GET {NODES}/DataStoreDecisionNode/{DECIDE}?"),
        format!("GET {NODES}/IncrementLoginCountNode/{COUNT}?"),
        format!("GET {NODES}/InnerTreeEvaluatorNode/{INNER}?"),
    ];
    expected.sort();
    assert_eq!(first, expected);
    let mut second: Vec<String> = reqs[9..].iter().map(describe).collect();
    second.sort();
    let mut expected = vec![
        format!("POST {NODES}/ValidatedUsernameNode?_action=schema"),
        format!("POST {NODES}/ValidatedPasswordNode?_action=schema"),
        format!("GET {NODES}/ValidatedUsernameNode/{USER}?"),
        format!("GET {NODES}/ValidatedPasswordNode/{PASS}?"),
    ];
    expected.sort();
    assert_eq!(second, expected, "PageNode children after the first round");

    let body = body_of(&text);
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
    assert_eq!(body["_id"], "Login");
    assert_eq!(body["entryNodeId"], PAGE);
    assert_eq!(keys(&body).last().map(String::as_str), Some("nodeData"));
    assert_eq!(
        keys(&body["nodeData"]["schemas"]),
        [
            "PageNode",
            "DataStoreDecisionNode",
            "IncrementLoginCountNode",
            "InnerTreeEvaluatorNode",
            "ValidatedUsernameNode",
            "ValidatedPasswordNode"
        ],
        "deterministic: journey order, then children"
    );
    assert_eq!(
        keys(&body["nodeData"]["configs"]),
        [PAGE, DECIDE, COUNT, INNER, USER, PASS]
    );
    assert_eq!(
        body["nodeData"]["configs"][INNER]["tree"],
        "ProgressiveProfile"
    );
    assert_eq!(
        body["nodeData"]["schemas"]["PageNode"]["properties"]["nodes"]["type"],
        "array"
    );
}

#[tokio::test]
async fn get_journey_reports_the_failed_node_request() {
    let env = env().await;
    let args = json!({"realm": "alpha", "journeyName": "Login"});
    env.sim.push_fault(status_fault(
        "GET",
        &format!("{NODES}/DataStoreDecisionNode/{DECIDE}"),
        404,
    ));
    let text = call_err(&env, "getJourney", args.clone()).await;
    assert!(
        text.starts_with(&format!(
            "Failed to get journey \"Login\" in realm \"alpha\" [not_found]: config for node \"{DECIDE}\" (DataStoreDecisionNode): 404 Not Found - "
        )),
        "{text}"
    );
    assert!(text.contains("\n\nTransaction ID: "));
    assert_eq!(
        take(&env).len(),
        9,
        "the children are not fetched after a failure"
    );

    // A schema failure is reported before a config failure.
    env.sim.push_fault(status_fault(
        "GET",
        &format!("{NODES}/PageNode/{PAGE}"),
        404,
    ));
    env.sim.push_fault(status_fault(
        "POST",
        &format!("{NODES}/InnerTreeEvaluatorNode"),
        503,
    ));
    let text = call_err(&env, "getJourney", args.clone()).await;
    assert!(
        text.starts_with("Failed to get journey \"Login\" in realm \"alpha\" [transient]: schema for node type \"InnerTreeEvaluatorNode\": 503 Service Unavailable - "),
        "{text}"
    );
    take(&env);

    // A child's failure names the child.
    env.sim.push_fault(status_fault(
        "GET",
        &format!("{NODES}/ValidatedPasswordNode/{PASS}"),
        403,
    ));
    let text = call_err(&env, "getJourney", args).await;
    assert!(
        text.starts_with(&format!(
            "Failed to get journey \"Login\" in realm \"alpha\" [unauthorized]: config for node \"{PASS}\" (ValidatedPasswordNode): 403 Forbidden - "
        )),
        "{text}"
    );
    take(&env);

    let text = call_err(
        &env,
        "getJourney",
        json!({"realm": "alpha", "journeyName": "No such journey"}),
    )
    .await;
    assert!(
        text.starts_with("Failed to get journey \"No such journey\" in realm \"alpha\" [not_found]: 404 Not Found - "),
        "{text}"
    );
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, format!("{TREES}/No%20such%20journey"));
}

#[tokio::test]
async fn get_node_type_details_keys_results_in_input_order() {
    let env = env().await;
    let text = call_ok(
        &env,
        "getNodeTypeDetails",
        json!({"realm": "alpha", "nodeTypes": ["MessageNode", "NoSuchNode", "PageNode", "MessageNode"]}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 9, "duplicates collapse: 3 types x 3 actions");
    let mut seen: Vec<String> = reqs
        .iter()
        .map(|r| {
            assert_action(r, &r.path, r.query.as_deref().unwrap_or_default());
            assert_eq!(json_of(r), json!({}));
            format!("{}?{}", r.path, r.query.clone().unwrap_or_default())
        })
        .collect();
    seen.sort();
    let mut expected: Vec<String> = ["MessageNode", "NoSuchNode", "PageNode"]
        .iter()
        .flat_map(|t| {
            ["schema", "template", "listOutcomes"].map(|a| format!("{NODES}/{t}?_action={a}"))
        })
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
    let v = pretty_only(&text);
    assert_eq!(keys(&v), ["realm", "results", "successCount", "errorCount"]);
    assert_eq!(
        keys(&v["results"]),
        ["MessageNode", "NoSuchNode", "PageNode"]
    );
    assert_eq!(
        (v["successCount"].clone(), v["errorCount"].clone()),
        (json!(2), json!(1))
    );
    let m = &v["results"]["MessageNode"];
    assert_eq!(
        keys(m),
        ["nodeType", "schema", "template", "outcomes", "error"]
    );
    assert_eq!(m["error"], Value::Null);
    assert_eq!(m["template"]["messageNo"], json!({"en": "No"}));
    assert_eq!(
        m["outcomes"][0],
        json!({"id": "true", "displayName": "Yes"})
    );
    let bad = &v["results"]["NoSuchNode"];
    assert_eq!(
        (
            bad["schema"].clone(),
            bad["template"].clone(),
            bad["outcomes"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
    assert!(
        bad["error"]
            .as_str()
            .expect("error")
            .starts_with("schema: 404 Not Found - "),
        "{bad}"
    );
}

#[tokio::test]
async fn dynamic_outcomes_and_node_types() {
    let env = env().await;
    let text = call_ok(
        &env,
        "getDynamicNodeOutcomes",
        json!({"realm": "alpha", "nodeType": "ScriptedDecisionNode", "config": {"outcomes": ["allow", "deny"]}}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_action(
        &reqs[0],
        &format!("{NODES}/ScriptedDecisionNode"),
        "_action=listOutcomes",
    );
    assert_eq!(json_of(&reqs[0]), json!({"outcomes": ["allow", "deny"]}));
    assert_eq!(
        body_of(&text),
        json!({"realm": "alpha", "nodeType": "ScriptedDecisionNode", "outcomes": [
            {"id": "allow", "displayName": "allow"}, {"id": "deny", "displayName": "deny"}]})
    );
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());

    // PageNode children without _id get one; the page itself gets none.
    let text = call_ok(
        &env,
        "getDynamicNodeOutcomes",
        json!({"realm": "bravo", "nodeType": "PageNode", "config": {"nodes": [
            {"nodeType": "ValidatedUsernameNode", "_properties": {}},
            {"_id": "kept", "nodeType": "DataStoreDecisionNode"}]}}),
    )
    .await;
    let reqs = take(&env);
    let sent = json_of(&reqs[0]);
    assert_eq!(
        reqs[0].path,
        "/am/json/bravo/realm-config/authentication/authenticationtrees/nodes/PageNode"
    );
    assert!(sent.get("_id").is_none());
    assert!(is_uuid(sent["nodes"][0]["_id"].as_str().expect("id")));
    assert_eq!(sent["nodes"][1]["_id"], "kept");
    assert_eq!(
        body_of(&text)["outcomes"],
        json!([{"id": "true", "displayName": "True"}, {"id": "false", "displayName": "False"}])
    );

    let text = call_ok(&env, "listNodeTypes", json!({"realm": "alpha"})).await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_action(&reqs[0], NODES, "_action=getAllTypes");
    assert_eq!(json_of(&reqs[0]), json!({}));
    let v = body_of(&text);
    assert_eq!(keys(&v), ["realm", "nodeTypes", "count"]);
    assert_eq!(
        v["count"].as_u64(),
        Some(v["nodeTypes"].as_array().expect("list").len() as u64)
    );
    assert!(v["nodeTypes"]
        .as_array()
        .expect("list")
        .iter()
        .any(|t| t["_id"] == "PageNode"));
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());

    env.sim.push_fault(status_fault("POST", NODES, 500));
    let text = call_err(&env, "listNodeTypes", json!({"realm": "alpha"})).await;
    assert!(
        text.starts_with("Failed to list node types in realm \"alpha\": 500 "),
        "{text}"
    );
    take(&env);
    let text = call_err(
        &env,
        "getDynamicNodeOutcomes",
        json!({"realm": "alpha", "nodeType": "Unknown Node", "config": {}}),
    )
    .await;
    assert!(
        text.starts_with("Failed to get dynamic outcomes for \"Unknown Node\" in realm \"alpha\": 404 Not Found - "),
        "{text}"
    );
    assert_eq!(take(&env)[0].path, format!("{NODES}/Unknown%20Node"));
}

fn graph() -> Value {
    json!({
        "entryNodeId": "login-page",
        "nodes": {
            "login-page": {
                "nodeType": "PageNode",
                "displayName": "Sign in",
                "connections": {"outcome": "check"},
                "config": {"nodes": [
                    {"_id": "username", "nodeType": "ValidatedUsernameNode", "displayName": "Username"},
                    {"nodeType": "ValidatedPasswordNode", "displayName": "Password"}
                ], "pageHeader": {"en": "Sign in"}}
            },
            "check": {
                "nodeType": "DataStoreDecisionNode",
                "displayName": "Check",
                "connections": {"true": "SUCCESS", "false": "failure"},
                "config": {}
            }
        }
    })
}

#[tokio::test]
async fn create_journey_maps_ids_including_page_children() {
    let env = env().await;
    let text = call_ok(
        &env,
        "createJourney",
        json!({"realm": "alpha", "journeyName": "Passwordless", "description": "Try it",
            "identityResource": "managed/alpha_user", "journeyData": graph()}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_am(&reqs[0], "PUT", &format!("{TREES}/Passwordless"), AM21);
    let v = body_of(&text);
    assert_eq!(keys(&v), ["success", "journeyName", "nodeIdMapping"]);
    assert_eq!(v["success"], true);
    assert_eq!(v["journeyName"], "Passwordless");
    let map = &v["nodeIdMapping"];
    assert_eq!(keys(map), ["login-page", "check", "username"]);
    let (page, check, user) = (
        map["login-page"].as_str().expect("id"),
        map["check"].as_str().expect("id"),
        map["username"].as_str().expect("id"),
    );
    assert!(is_uuid(page) && is_uuid(check) && is_uuid(user));
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());

    let sent = json_of(&reqs[0]);
    assert_eq!(
        keys(&sent),
        [
            "_id",
            "entryNodeId",
            "nodes",
            "staticNodes",
            "description",
            "identityResource"
        ]
    );
    assert_eq!(sent["_id"], "Passwordless");
    assert_eq!(sent["entryNodeId"], page);
    assert_eq!(
        sent["staticNodes"],
        json!({"startNode": {"x": 50, "y": 250}, SUCCESS: {"x": 550, "y": 150}, FAILURE: {"x": 550, "y": 350}})
    );
    assert_eq!(keys(&sent["nodes"]), [page, check]);
    let p = &sent["nodes"][page];
    assert_eq!(
        keys(p),
        ["nodeType", "displayName", "connections", "config"]
    );
    assert_eq!(p["connections"], json!({"outcome": check}));
    assert_eq!(p["config"]["_id"], page);
    assert_eq!(
        p["config"]["nodes"][0]["_id"], user,
        "the fix: children are mapped"
    );
    let fresh = p["config"]["nodes"][1]["_id"].as_str().expect("fresh id");
    assert!(is_uuid(fresh));
    assert_eq!(
        sent["nodes"][check],
        json!({"nodeType": "DataStoreDecisionNode", "displayName": "Check",
            "connections": {"true": SUCCESS, "false": FAILURE}, "config": {"_id": check}})
    );

    // The tenant accepted it; getJourney reads it back with the children's configs.
    let text = call_ok(
        &env,
        "getJourney",
        json!({"realm": "alpha", "journeyName": "Passwordless"}),
    )
    .await;
    take(&env);
    let j = body_of(&text);
    assert_eq!(j["description"], "Try it");
    assert_eq!(keys(&j["nodeData"]["configs"]), [page, check, user, fresh]);

    // Empty description / identityResource are left out; an upstream 400 is invalid_request.
    let mut data = graph();
    data["nodes"]["check"]["nodeType"] = json!("NoSuchNode");
    let text = call_err(
        &env,
        "createJourney",
        json!({"realm": "alpha", "journeyName": "Broken", "description": "", "identityResource": "", "journeyData": data}),
    )
    .await;
    assert!(
        text.starts_with(
            "Failed to create journey \"Broken\" [invalid_request]: 400 Bad Request - "
        ),
        "{text}"
    );
    let reqs = take(&env);
    assert_eq!(
        keys(&json_of(&reqs[0])),
        ["_id", "entryNodeId", "nodes", "staticNodes"]
    );
}

#[tokio::test]
async fn invalid_graphs_are_refused_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let mut self_loop = graph();
    self_loop["nodes"]["check"]["connections"]["true"] = json!("check");
    let mut unknown = graph();
    unknown["nodes"]["check"]["connections"]["false"] = json!("nowhere");
    let mut alias_entry = graph();
    alias_entry["entryNodeId"] = json!("success");
    let cases = [
        (self_loop.clone(), "Invalid journey structure: Node \"check\" outcome \"true\" cannot connect to itself"),
        (unknown.clone(), "Invalid journey structure: Node \"check\" outcome \"false\" references unknown target \"nowhere\""),
        (alias_entry.clone(), "Invalid journey structure: entryNodeId \"success\" does not reference a valid node"),
    ];
    for (data, message) in &cases {
        let text = call_err(
            &env,
            "createJourney",
            json!({"realm": "alpha", "journeyName": "J", "journeyData": data}),
        )
        .await;
        assert_eq!(&text, message);
        let text = call_err(
            &env,
            "updateJourney",
            json!({"realm": "alpha", "journeyName": "J", "entryNodeId": data["entryNodeId"], "nodes": data["nodes"]}),
        )
        .await;
        assert_eq!(&text, message);
    }
    // All errors together.
    let mut both = unknown;
    both["entryNodeId"] = json!("missing");
    both["nodes"]["check"]["connections"]["true"] = json!("check");
    let text = call_err(
        &env,
        "createJourney",
        json!({"realm": "alpha", "journeyName": "J", "journeyData": both}),
    )
    .await;
    assert_eq!(
        text,
        "Invalid journey structure: entryNodeId \"missing\" does not reference a valid node; Node \"check\" outcome \"true\" cannot connect to itself; Node \"check\" outcome \"false\" references unknown target \"nowhere\""
    );
    // updateJourney: nothing to do, or an unpaired graph field, refused before the GET.
    let text = call_err(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Login"}),
    )
    .await;
    assert!(text.starts_with("No updates provided. Specify at least one of: description, identityResource, mustRun, innerTreeOnly, uiConfig, enabled, maximumSessionTime, maximumIdleTime, nodes, entryNodeId"), "{text}");
    let text = call_err(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Login", "nodes": graph()["nodes"]}),
    )
    .await;
    assert!(text.contains("without entryNodeId"), "{text}");
    let text = call_err(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Login", "entryNodeId": "check", "enabled": false}),
    )
    .await;
    assert!(text.contains("without nodes"), "{text}");
    assert!(env.sim.requests().is_empty(), "{:?}", env.sim.requests());
}

#[tokio::test]
async fn update_journey_merges_metadata_or_replaces_the_graph() {
    let env = env().await;
    let before = env.sim.requests().len();
    assert_eq!(before, 0);
    let text = call_ok(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Registration", "description": "New", "mustRun": false,
            "maximumSessionTime": 0, "maximumIdleTime": 30, "uiConfig": {"categories": "[]"}}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 2);
    assert_am(&reqs[0], "GET", &format!("{TREES}/Registration"), AM21);
    assert_eq!(reqs[0].body, "");
    assert_am(&reqs[1], "PUT", &format!("{TREES}/Registration"), AM21);
    let sent = json_of(&reqs[1]);
    assert!(sent.get("_rev").is_none(), "_rev is dropped");
    assert_eq!(sent["description"], "New");
    assert_eq!(sent["mustRun"], false);
    assert_eq!(sent["maximumSessionTime"], 0);
    assert_eq!(sent["maximumIdleTime"], 30);
    assert_eq!(sent["uiConfig"], json!({"categories": "[]"}));
    assert_eq!(sent["identityResource"], "managed/alpha_user", "kept");
    assert_eq!(
        keys(&sent)[..3],
        [
            "_id".to_string(),
            "identityResource".into(),
            "uiConfig".into()
        ],
        "existing keys keep their place"
    );
    let v = body_of(&text);
    assert_eq!(v, json!({"success": true, "journeyName": "Registration"}));
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());

    // Graph path.
    let g = graph();
    let text = call_ok(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Registration", "enabled": false,
            "entryNodeId": g["entryNodeId"], "nodes": g["nodes"]}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 2);
    let sent = json_of(&reqs[1]);
    let v = body_of(&text);
    let page = v["nodeIdMapping"]["login-page"].as_str().expect("mapped");
    assert_eq!(sent["entryNodeId"], page);
    assert_eq!(sent["enabled"], false);
    assert_eq!(sent["description"], "New", "fetched fields kept");
    assert_eq!(
        sent["nodes"][page]["config"]["nodes"][0]["_id"],
        v["nodeIdMapping"]["username"]
    );
    assert_eq!(keys(&v), ["success", "journeyName", "nodeIdMapping"]);

    let text = call_err(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Nope", "enabled": true}),
    )
    .await;
    assert!(
        text.starts_with("Failed to update journey \"Nope\" [not_found]: 404 Not Found - "),
        "{text}"
    );
    assert_eq!(take(&env).len(), 1, "no PUT after a failed GET");
}

#[tokio::test]
async fn update_journey_node_checks_existence_then_replaces() {
    let env = env().await;
    let text = call_ok(
        &env,
        "updateJourneyNode",
        json!({"realm": "alpha", "nodeType": "InnerTreeEvaluatorNode", "nodeId": INNER,
            "config": {"tree": "Registration"}}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 2);
    let path = format!("{NODES}/InnerTreeEvaluatorNode/{INNER}");
    assert_am(&reqs[0], "GET", &path, AM21);
    assert_eq!(reqs[0].body, "");
    assert_am(&reqs[1], "PUT", &path, AM21);
    assert_eq!(
        json_of(&reqs[1]),
        json!({"_id": INNER, "tree": "Registration"})
    );
    assert_eq!(
        body_of(&text),
        json!({"success": true, "nodeType": "InnerTreeEvaluatorNode", "nodeId": INNER})
    );
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());

    let missing = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    let text = call_err(
        &env,
        "updateJourneyNode",
        json!({"realm": "alpha", "nodeType": "MessageNode", "nodeId": missing, "config": {}}),
    )
    .await;
    assert!(
        text.starts_with(&format!(
            "Failed to update node \"{missing}\" [not_found]: 404 Not Found - "
        )),
        "{text}"
    );
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1, "no PUT to a node that does not exist");

    env.sim.push_fault(status_fault("PUT", &path, 403));
    let text = call_err(
        &env,
        "updateJourneyNode",
        json!({"realm": "alpha", "nodeType": "InnerTreeEvaluatorNode", "nodeId": INNER, "config": {}}),
    )
    .await;
    assert!(text.contains("[unauthorized]: 403 Forbidden"), "{text}");
    take(&env);
}

#[tokio::test]
async fn delete_journey_and_orphan_nodes() {
    let env = env().await;
    let text = call_ok(
        &env,
        "deleteJourney",
        json!({"realm": "alpha", "journeyName": "Login"}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_am(&reqs[0], "DELETE", &format!("{TREES}/Login"), AM21);
    assert_eq!(
        body_of(&text),
        json!({"success": true, "journeyName": "Login",
            "message": "Journey \"Login\" and all its nodes deleted from realm \"alpha\""})
    );
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
    let text = call_err(
        &env,
        "deleteJourney",
        json!({"realm": "alpha", "journeyName": "Login"}),
    )
    .await;
    assert!(
        text.starts_with("Failed to delete journey \"Login\" [not_found]: 404 Not Found - "),
        "{text}"
    );
    take(&env);

    // Registration's nodes are still there: delete two, and one that does not exist.
    let nodes = json!([
        {"nodeType": "CreateObjectNode", "nodeId": "5eed000f-7e57-4a00-8000-00000000000f"},
        {"nodeType": "MessageNode", "nodeId": "nope"},
        {"nodeType": "IncrementLoginCountNode", "nodeId": "5eed0010-7e57-4a00-8000-000000000010"},
    ]);
    let text = call_ok(
        &env,
        "deleteJourneyNodes",
        json!({"realm": "alpha", "nodes": nodes}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 3);
    let mut paths: Vec<String> = reqs
        .iter()
        .map(|r| {
            assert_am(r, "DELETE", &r.path, AM21);
            r.path.clone()
        })
        .collect();
    paths.sort();
    let mut expected = vec![
        format!("{NODES}/CreateObjectNode/5eed000f-7e57-4a00-8000-00000000000f"),
        format!("{NODES}/MessageNode/nope"),
        format!("{NODES}/IncrementLoginCountNode/5eed0010-7e57-4a00-8000-000000000010"),
    ];
    expected.sort();
    assert_eq!(paths, expected);
    let v = pretty_only(&text);
    assert_eq!(keys(&v), ["realm", "results", "successCount", "errorCount"]);
    assert_eq!(
        (v["successCount"].clone(), v["errorCount"].clone()),
        (json!(2), json!(1))
    );
    let rows = v["results"].as_array().expect("rows");
    assert_eq!(
        rows[0],
        json!({"nodeType": "CreateObjectNode", "nodeId": "5eed000f-7e57-4a00-8000-00000000000f", "deleted": true, "error": null})
    );
    assert_eq!(rows[1]["nodeId"], "nope", "input order");
    assert_eq!(rows[1]["deleted"], false);
    assert!(rows[1]["error"]
        .as_str()
        .expect("error")
        .starts_with("404 Not Found - "));
    assert_eq!(rows[2]["deleted"], true);
}

#[tokio::test]
async fn set_default_journey_puts_the_flat_body() {
    let env = env().await;
    let text = call_ok(
        &env,
        "setDefaultJourney",
        json!({"realm": "alpha", "journeyName": "Registration"}),
    )
    .await;
    let reqs = take(&env);
    assert_eq!(reqs.len(), 2);
    assert_am(&reqs[0], "GET", AUTH, V10);
    assert_am(&reqs[1], "PUT", AUTH, V10);
    assert_eq!(
        json_of(&reqs[1]),
        json!({"orgConfig": "Registration", "adminAuthModule": "Login"})
    );
    assert_eq!(
        body_of(&text),
        json!({"success": true, "realm": "alpha", "defaultJourney": "Registration",
            "message": "Default journey for realm \"alpha\" set to \"Registration\""})
    );
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());
    let text = call_ok(&env, "listJourneys", json!({"realm": "alpha"})).await;
    take(&env);
    assert_eq!(body_of(&text)["defaultJourney"], "Registration");

    env.sim.push_fault(status_fault("PUT", AUTH, 422));
    let text = call_err(
        &env,
        "setDefaultJourney",
        json!({"realm": "alpha", "journeyName": "Login"}),
    )
    .await;
    assert!(
        text.starts_with(
            "Failed to set default journey [invalid_request]: 422 Unprocessable Entity - "
        ),
        "{text}"
    );
    take(&env);
}

#[tokio::test]
async fn preview_url_sends_nothing() {
    let env = env().await;
    let base = env.sim.base_url();
    let text = call_ok(
        &env,
        "getJourneyPreviewUrl",
        json!({"realm": "bravo", "journeyName": "My Login&x"}),
    )
    .await;
    assert_eq!(
        pretty_only(&text),
        json!({"realm": "bravo", "journeyName": "My Login&x",
            "previewUrl": format!("{}/am/XUI/?realm=/bravo&authIndexType=service&authIndexValue=My%20Login%26x", base.trim_end_matches('/'))})
    );
    let text = call_ok(&env, "getJourneyPreviewUrl", json!({"realm": "alpha"})).await;
    assert_eq!(
        pretty_only(&text),
        json!({"realm": "alpha", "journeyName": "(default)",
            "previewUrl": format!("{}/am/XUI/?realm=/alpha", base.trim_end_matches('/'))})
    );
    assert!(env.sim.requests().is_empty(), "no exchange, no request");
}

// ---------------------------------------------------------------------------------------

fn set(args: &Value, pointer: &str, value: Value) -> Value {
    let mut a = args.clone();
    if let Some(slot) = a.pointer_mut(pointer) {
        *slot = value;
    }
    a
}

fn without(args: &Value, key: &str) -> Value {
    let mut a = args.clone();
    if let Some(m) = a.as_object_mut() {
        m.remove(key);
    }
    a
}

const BAD_SEGMENTS: [&str; 10] = [
    "../config",
    "a/b",
    "..",
    "a\\b",
    "%2e%2e",
    "x%2Fy",
    "%5C",
    " ",
    "",
    "a..b",
];

fn bad_segments() -> Vec<Value> {
    let mut v: Vec<Value> = BAD_SEGMENTS.iter().map(|s| json!(s)).collect();
    v.extend([
        json!("x".repeat(257)),
        json!("Login\r\nX: 1"),
        json!(42),
        json!(["Login"]),
        json!(null),
    ]);
    v
}

fn valid_calls() -> Vec<(&'static str, Value)> {
    let g = graph();
    vec![
        ("listJourneys", json!({"realm": "alpha"})),
        (
            "getJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        ),
        (
            "getNodeTypeDetails",
            json!({"realm": "alpha", "nodeTypes": ["PageNode"]}),
        ),
        (
            "getDynamicNodeOutcomes",
            json!({"realm": "alpha", "nodeType": "PageNode", "config": {}}),
        ),
        ("listNodeTypes", json!({"realm": "alpha"})),
        (
            "createJourney",
            json!({"realm": "alpha", "journeyName": "Login", "journeyData": g}),
        ),
        (
            "updateJourney",
            json!({"realm": "alpha", "journeyName": "Login", "description": "d"}),
        ),
        (
            "updateJourneyNode",
            json!({"realm": "alpha", "nodeType": "MessageNode", "nodeId": INNER, "config": {}}),
        ),
        (
            "deleteJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        ),
        (
            "deleteJourneyNodes",
            json!({"realm": "alpha", "nodes": [{"nodeType": "MessageNode", "nodeId": INNER}]}),
        ),
        (
            "setDefaultJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        ),
        (
            "getJourneyPreviewUrl",
            json!({"realm": "alpha", "journeyName": "Login"}),
        ),
    ]
}

#[tokio::test]
async fn bad_input_is_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let calls = valid_calls();
    assert_eq!(calls.len(), TOOLS.len());
    for (tool, valid) in &calls {
        for bad in [
            json!("gamma"),
            json!("Alpha"),
            json!(""),
            json!(1),
            json!(null),
        ] {
            assert_rejected(&env, tool, set(valid, "/realm", bad), "realm").await;
        }
        assert_rejected(&env, tool, without(valid, "realm"), "realm").await;
        for (field, pointer) in [
            ("journeyName", "/journeyName"),
            ("nodeType", "/nodeType"),
            ("nodeTypes[0]", "/nodeTypes/0"),
            ("nodes[0].nodeType", "/nodes/0/nodeType"),
            ("nodes[0].nodeId", "/nodes/0/nodeId"),
        ] {
            if valid.pointer(pointer).is_none() {
                continue;
            }
            let hint = field.split(['[', '.']).next().unwrap_or(field);
            for bad in bad_segments() {
                if bad.is_null() && *tool == "getJourneyPreviewUrl" {
                    continue; // optional there: null means absent
                }
                assert_rejected(&env, tool, set(valid, pointer, bad), hint).await;
            }
        }
    }
    // Required arguments.
    for (tool, key) in [
        ("getJourney", "journeyName"),
        ("createJourney", "journeyName"),
        ("createJourney", "journeyData"),
        ("updateJourney", "journeyName"),
        ("deleteJourney", "journeyName"),
        ("setDefaultJourney", "journeyName"),
        ("getNodeTypeDetails", "nodeTypes"),
        ("getDynamicNodeOutcomes", "nodeType"),
        ("getDynamicNodeOutcomes", "config"),
        ("updateJourneyNode", "nodeType"),
        ("updateJourneyNode", "nodeId"),
        ("updateJourneyNode", "config"),
        ("deleteJourneyNodes", "nodes"),
    ] {
        let valid = &calls.iter().find(|(t, _)| *t == tool).expect(tool).1;
        assert_rejected(&env, tool, without(valid, key), key).await;
    }
    // updateJourneyNode.nodeId: a UUID.
    let valid = calls[7].1.clone();
    for bad in [
        json!("not-a-uuid"),
        json!("../x"),
        json!("5eed0006-7e57-4a00-8000-00000000000"),
        json!("5eed0006x7e57-4a00-8000-000000000006"),
        json!(""),
        json!(7),
    ] {
        assert_rejected(
            &env,
            "updateJourneyNode",
            set(&valid, "/nodeId", bad),
            "nodeId",
        )
        .await;
    }
    assert_rejected(
        &env,
        "updateJourneyNode",
        set(&valid, "/config", json!("x")),
        "config",
    )
    .await;
    // Arrays: at least one item.
    assert_rejected(
        &env,
        "getNodeTypeDetails",
        set(&calls[2].1, "/nodeTypes", json!([])),
        "nodeTypes",
    )
    .await;
    assert_rejected(
        &env,
        "deleteJourneyNodes",
        set(&calls[9].1, "/nodes", json!([])),
        "nodes",
    )
    .await;
    assert_rejected(
        &env,
        "deleteJourneyNodes",
        set(&calls[9].1, "/nodes/0", json!({"nodeType": "X"})),
        "nodeId",
    )
    .await;
    // Graph fields: node types are path segments later, keys and targets are bounded.
    let create = calls[5].1.clone();
    for (pointer, bad, hint) in [
        (
            "/journeyData/nodes/check/nodeType",
            json!("../x"),
            "nodeType",
        ),
        ("/journeyData/nodes/check/nodeType", json!(""), "nodeType"),
        (
            "/journeyData/nodes/check/connections/true",
            json!("x".repeat(300)),
            "connections",
        ),
        (
            "/journeyData/nodes/check/connections/true",
            json!(5),
            "connections",
        ),
        ("/journeyData/nodes/check/config", json!([]), "config"),
        ("/journeyData/entryNodeId", json!(""), "entryNodeId"),
        (
            "/journeyData/entryNodeId",
            json!("a\u{0007}"),
            "entryNodeId",
        ),
        ("/journeyData/nodes", json!([]), "nodes"),
    ] {
        assert_rejected(&env, "createJourney", set(&create, pointer, bad), hint).await;
    }
    let mut no_display = create.clone();
    if let Some(n) = no_display
        .pointer_mut("/journeyData/nodes/check")
        .and_then(Value::as_object_mut)
    {
        n.remove("displayName");
    }
    assert_rejected(&env, "createJourney", no_display, "displayName").await;
    let update = calls[6].1.clone();
    for (key, bad) in [
        ("mustRun", json!("yes")),
        ("maximumSessionTime", json!(-1)),
        ("maximumIdleTime", json!("30")),
        ("uiConfig", json!("x")),
        ("identityResource", json!("managed/alpha_user\n")),
        ("description", json!("x".repeat(5000))),
    ] {
        assert_rejected(
            &env,
            "updateJourney",
            set(&update, "/description", json!("d"))
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert(key.into(), bad.clone());
                    Value::Object(o)
                })
                .expect("object"),
            key,
        )
        .await;
    }
    assert_rejected(
        &env,
        "getDynamicNodeOutcomes",
        set(&calls[3].1, "/config", json!(1)),
        "config",
    )
    .await;
}
