//! The AM scripts tools against the simulator (the change journal off, so each call's
//! requests are its own): the exact upstream requests of every tool
//! (method, path, query and its encoding, API version, JSON content type, body with the
//! base64 source), one token exchange per call with `fr:am:*`, the result texts of
//! contract §3.7 with their own `Transaction ID:` line, and bad input rejected before
//! anything is sent.

use aic_mcp_core::tools::Registry;
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind, RecordedRequest};
use aic_mcp_tests::assert_rejected;
use aic_mcp_tests::{form, Env, EnvOptions};
use aic_mcp_tests::{logged_in_env, tx_of, wire_env as env};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

const AM: &str = "fr:am:*";
const V10: &str = "protocol=1.0,resource=1.0";
const V20: &str = "protocol=2.0,resource=1.0";
const SCRIPTS: &str = "/am/json/alpha/scripts";
const CHECK_EMAIL: &str = "9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10";
const CHECK_EMAIL_SOURCE: &str = "var mail = nodeState.get(\"mail\");\nif (mail && String(mail).toLowerCase().endsWith(\"@example.com\")) {\n  action.goTo(\"employee\");\n} else {\n  action.goTo(\"customer\");\n}\n";
const FILTER: &str =
    "context eq \"AUTHENTICATION_TREE_DECISION_NODE\" and evaluatorVersion eq \"2.0\"";
const FIELDS: &str =
    "_id,name,description,language,context,evaluatorVersion,creationDate,lastModifiedDate";

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    let v: Value = serde_json::from_str(json).expect("JSON before the TX suffix");
    assert_eq!(
        serde_json::to_string_pretty(&v).expect("pretty"),
        json,
        "pretty JSON"
    );
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn json_of(r: &RecordedRequest) -> Value {
    serde_json::from_str(&r.body).expect("JSON body")
}

/// Asserts the call made exactly one exchange, for `fr:am:*`, and `n` resource requests
/// with the User-Agent, the scoped token and a JSON content type; returns them, clearing
/// the log.
fn take(env: &Env, n: usize) -> Vec<RecordedRequest> {
    let exchanges = env.exchanges();
    assert_eq!(exchanges.len(), 1, "one token exchange per tool call");
    let f = form(&exchanges[0].body);
    assert_eq!(f.get("scope").map(String::as_str), Some(AM));
    assert_eq!(
        f.get("client_id").map(String::as_str),
        Some("AICMCPExchangeClient")
    );
    let reqs = env.resource_requests();
    assert_eq!(
        reqs.len(),
        n,
        "{:?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let first = reqs
        .first()
        .and_then(|r| r.header("authorization"))
        .unwrap_or_default()
        .to_string();
    for r in &reqs {
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let bearer = r.header("authorization").unwrap_or_default();
        assert!(bearer.starts_with("Bearer "));
        assert_eq!(bearer, first, "the call's one scoped token");
        for primary in env.sim.live_primary_tokens() {
            assert!(!bearer.contains(&primary), "no primary token upstream");
        }
    }
    env.sim.clear_requests();
    reqs
}

fn one(env: &Env) -> RecordedRequest {
    take(env, 1).remove(0)
}

#[tokio::test]
async fn list_scripts_sends_the_constant_filter_form_encoded() {
    let env = env().await;
    let (err, text) = env.call("listScripts", json!({"realm": "alpha"})).await;
    assert!(!err, "{text}");
    let r = one(&env);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", SCRIPTS));
    assert_eq!(r.header("accept-api-version"), Some(V20));
    assert_eq!(r.body, "");
    assert_eq!(
        r.query_pairs(),
        pairs(&[
            ("_queryFilter", FILTER),
            ("_pageSize", "-1"),
            ("_fields", FIELDS)
        ])
    );
    assert_eq!(
        r.query.as_deref(),
        Some(concat!(
            "_queryFilter=context+eq+%22AUTHENTICATION_TREE_DECISION_NODE%22+and+evaluatorVersion+eq+%222.0%22",
            "&_pageSize=-1",
            "&_fields=_id%2Cname%2Cdescription%2Clanguage%2Ccontext%2CevaluatorVersion%2CcreationDate%2ClastModifiedDate"
        )),
        "form-style encoding"
    );
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let v = body_of(&text);
    let names: Vec<&str> = v["result"]
        .as_array()
        .expect("result")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["Check Email Domain", "Set Session Properties"]);
    assert!(v["result"][0].get("script").is_none());

    let (err, text) = env.call("listScripts", json!({"realm": "bravo"})).await;
    assert!(!err, "{text}");
    let r = one(&env);
    assert_eq!(r.path, "/am/json/bravo/scripts");
    assert_eq!(body_of(&text)["resultCount"], 1);
}

#[tokio::test]
async fn get_am_script_decodes_the_source_with_protocol_1() {
    let env = env().await;
    let (err, text) = env
        .call(
            "getAMScript",
            json!({"realm": "alpha", "scriptId": CHECK_EMAIL}),
        )
        .await;
    assert!(!err, "{text}");
    let r = one(&env);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", format!("{SCRIPTS}/{CHECK_EMAIL}").as_str())
    );
    assert_eq!(r.query, None);
    assert_eq!(r.header("accept-api-version"), Some(V10));
    assert_eq!(r.body, "");
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let v = body_of(&text);
    assert_eq!(v["script"], CHECK_EMAIL_SOURCE);
    assert_eq!(v["name"], "Check Email Domain");
    assert_eq!(v["evaluatorVersion"], "2.0");
}

#[tokio::test]
async fn short_plain_text_that_looks_like_base64_is_not_mis_decoded() {
    let env = env().await;
    // A script whose stored value is base64 of "true": decoded.
    let (_, text) = env
        .call(
            "createScript",
            json!({"realm": "alpha", "name": "Always True", "script": "true"}),
        )
        .await;
    let id = text
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("Script ID: "))
        .expect("id")
        .to_string();
    env.sim.clear_requests();
    let (err, text) = env
        .call("getAMScript", json!({"realm": "alpha", "scriptId": id}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["script"], "true");
    // A tenant answer whose script is plain text that matches the reference's regex
    // (`test` would decode to invalid UTF-8): left as it is.
    env.sim.clear_requests();
    let plain = json!({"_id": "p", "name": "Plain", "script": "test"});
    env.sim.push_fault(Fault::new(
        "/am/json/alpha/scripts/p",
        FaultKind::Status {
            status: 200,
            body: plain.to_string(),
        },
    ));
    let (err, text) = env
        .call("getAMScript", json!({"realm": "alpha", "scriptId": "p"}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["script"], "test");
}

#[tokio::test]
async fn get_am_script_failure_names_script_and_realm() {
    let env = env().await;
    let (err, text) = env
        .call(
            "getAMScript",
            json!({"realm": "bravo", "scriptId": CHECK_EMAIL}),
        )
        .await;
    assert!(err);
    let r = one(&env);
    assert_eq!(r.path, format!("/am/json/bravo/scripts/{CHECK_EMAIL}"));
    assert!(
        text.starts_with(&format!(
            "Failed to get script \"{CHECK_EMAIL}\" in realm \"bravo\": 404 Not Found - {{"
        )),
        "{text}"
    );
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
}

#[tokio::test]
async fn bindings_come_from_the_decision_node_context() {
    let env = env().await;
    let (err, text) = env
        .call("getScriptedDecisionNodeBindings", json!({"realm": "bravo"}))
        .await;
    assert!(!err, "{text}");
    let r = one(&env);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/am/json/bravo/contexts/SCRIPTED_DECISION_NODE")
    );
    assert_eq!(r.query, None);
    assert_eq!(r.header("accept-api-version"), Some(V20));
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let v = body_of(&text);
    assert!(v["bindings"]
        .as_array()
        .expect("bindings")
        .iter()
        .any(|b| b["name"] == "nodeState"));
    assert!(v["allowedImports"].is_array());

    env.sim.push_fault(Fault::new(
        "/am/json/alpha/contexts",
        FaultKind::Status {
            status: 503,
            body: json!({"code": 503, "reason": "Service Unavailable", "message": "down"})
                .to_string(),
        },
    ));
    let (err, text) = env
        .call("getScriptedDecisionNodeBindings", json!({"realm": "alpha"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with(
            "Failed to get scripted decision node bindings in realm \"alpha\": 503 Service Unavailable - "
        ),
        "{text}"
    );
    one(&env);
}

#[tokio::test]
async fn create_update_get_and_delete_a_script() {
    let env = env().await;
    let source =
        "var u = nodeState.get(\"username\");\naction.goTo(u ? \"true\" : \"false\"); // ü";
    let (err, text) = env
        .call(
            "createScript",
            json!({"realm": "alpha", "name": "Has Username", "script": source}),
        )
        .await;
    assert!(!err, "{text}");
    let r = one(&env);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", SCRIPTS));
    assert_eq!(r.query.as_deref(), Some("_action=create"));
    assert_eq!(r.header("accept-api-version"), Some(V20));
    let sent = json_of(&r);
    assert_eq!(
        sent,
        json!({
            "context": "AUTHENTICATION_TREE_DECISION_NODE",
            "name": "Has Username",
            "description": "",
            "language": "JAVASCRIPT",
            "script": STANDARD.encode(source),
            "evaluatorVersion": "2.0",
        })
    );
    let keys: Vec<&String> = sent.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "context",
            "name",
            "description",
            "language",
            "script",
            "evaluatorVersion"
        ]
    );
    let id = text
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("Script ID: "))
        .expect("id line")
        .to_string();
    assert_eq!(id.len(), 36);
    let tx = r.transaction_id.clone().expect("tx");
    assert_eq!(
        text,
        format!(
            "Script \"Has Username\" created successfully.\nScript ID: {id}\nTransaction ID: {tx}"
        )
    );

    // Update the description only: GET then PUT with the stored base64 kept.
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": id, "description": "Checks the username"}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, 2);
    let path = format!("{SCRIPTS}/{id}");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", path.as_str())
    );
    assert_eq!(reqs[0].header("accept-api-version"), Some(V20));
    assert_eq!(reqs[0].body, "");
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("PUT", path.as_str())
    );
    assert_eq!(reqs[1].header("accept-api-version"), Some(V20));
    assert_eq!(reqs[1].query, None);
    let put = json_of(&reqs[1]);
    let put_keys: Vec<&String> = put.as_object().expect("object").keys().collect();
    assert_eq!(
        put_keys,
        [
            "_id",
            "name",
            "description",
            "script",
            "language",
            "context",
            "evaluatorVersion",
            "default",
            "createdBy",
            "creationDate",
            "lastModifiedBy",
            "lastModifiedDate"
        ],
        "the fetched object as it came, with overrides"
    );
    assert_eq!(put["_id"], id.as_str());
    assert_eq!(put["name"], "Has Username");
    assert_eq!(put["description"], "Checks the username");
    assert_eq!(
        put["script"],
        STANDARD.encode(source),
        "the stored base64 kept"
    );
    assert_eq!(put["evaluatorVersion"], "2.0");
    assert!(put["creationDate"].is_i64());
    let tx = reqs[1].transaction_id.clone().expect("tx");
    assert_eq!(
        text,
        format!(
            "Script \"Has Username\" updated successfully.\nScript ID: {id}\nTransaction ID: {tx}"
        ),
        "the PUT's transaction id"
    );

    // Update name and source.
    let new_source = "action.goTo(\"true\");";
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": id, "name": "Has Username v2", "script": new_source}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, 2);
    let put = json_of(&reqs[1]);
    assert_eq!(put["name"], "Has Username v2");
    assert_eq!(put["script"], STANDARD.encode(new_source));
    assert_eq!(put["description"], "Checks the username");
    assert_eq!(put["_id"], id.as_str());
    assert!(text.starts_with("Script \"Has Username v2\" updated successfully.\n"));

    // Read it back decoded.
    let (err, text) = env
        .call("getAMScript", json!({"realm": "alpha", "scriptId": id}))
        .await;
    assert!(!err, "{text}");
    one(&env);
    let v = body_of(&text);
    assert_eq!(v["script"], new_source);
    assert_eq!(v["description"], "Checks the username");

    // Delete it.
    let (err, text) = env
        .call("deleteScript", json!({"realm": "alpha", "scriptId": id}))
        .await;
    assert!(!err, "{text}");
    let r = one(&env);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("DELETE", path.as_str())
    );
    assert_eq!(r.header("accept-api-version"), Some(V20));
    assert_eq!(r.body, "");
    let tx = r.transaction_id.clone().expect("tx");
    assert_eq!(
        text,
        format!("Script \"{id}\" deleted successfully.\nTransaction ID: {tx}")
    );

    // Gone: delete and update now fail with their prefixes.
    let (err, text) = env
        .call("deleteScript", json!({"realm": "alpha", "scriptId": id}))
        .await;
    assert!(err);
    assert!(
        text.starts_with(&format!(
            "Failed to delete script \"{id}\" in realm \"alpha\": 404 Not Found - "
        )),
        "{text}"
    );
    one(&env);
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": id, "name": "x"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with(&format!(
            "Failed to update script \"{id}\" in realm \"alpha\": 404 Not Found - "
        )),
        "{text}"
    );
    let reqs = take(&env, 1);
    assert_eq!(reqs[0].method, "GET", "no PUT after a failed read");
}

#[tokio::test]
async fn create_with_description_and_a_duplicate_name() {
    let env = env().await;
    let (err, text) = env
        .call(
            "createScript",
            json!({"realm": "bravo", "name": "Check Email Domain", "description": "Routes by domain", "script": "action.goTo(\"true\");"}),
        )
        .await;
    assert!(!err, "the name is free in bravo: {text}");
    let r = one(&env);
    assert_eq!(r.path, "/am/json/bravo/scripts");
    assert_eq!(json_of(&r)["description"], "Routes by domain");

    let (err, text) = env
        .call(
            "createScript",
            json!({"realm": "alpha", "name": "Check Email Domain", "script": "action.goTo(\"true\");"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with(
            "Failed to create script \"Check Email Domain\" in realm \"alpha\": 409 Conflict - "
        ),
        "{text}"
    );
    let r = one(&env);
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
}

#[tokio::test]
async fn update_without_changes_sends_nothing() {
    // With the change journal on: it reads nothing for a call that changes nothing.
    let env = logged_in_env().await;
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": CHECK_EMAIL}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "No updates provided. Specify at least one of: name, description, script"
    );
    assert!(env.sim.requests().is_empty());
    // An empty description is a change (it clears the description).
    let env = aic_mcp_tests::wire_env().await;
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": CHECK_EMAIL, "description": ""}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, 2);
    assert_eq!(json_of(&reqs[1])["description"], "");
    assert_eq!(
        json_of(&reqs[1])["script"],
        STANDARD.encode(CHECK_EMAIL_SOURCE),
        "the stored source is kept"
    );
}

#[tokio::test]
async fn script_writes_end_with_their_own_transaction_line() {
    // The simulator stamps every answer (injected ones too) with a transaction id, so the
    // `unknown` fallback is covered by the core's unit tests.
    let env = env().await;
    let (err, text) = env
        .call(
            "createScript",
            json!({"realm": "alpha", "name": "Tx Line", "script": "action.goTo(\"true\");"}),
        )
        .await;
    assert!(!err, "{text}");
    let last = text.lines().last().expect("line");
    assert!(last.starts_with("Transaction ID: "), "{text}");
    assert_ne!(last, "Transaction ID: ");
}

#[tokio::test]
async fn unusual_but_safe_script_ids_are_percent_encoded() {
    let env = env().await;
    let (err, text) = env
        .call(
            "deleteScript",
            json!({"realm": "alpha", "scriptId": "a b?c#d%e"}),
        )
        .await;
    assert!(err, "{text}");
    let r = one(&env);
    assert_eq!(r.path, format!("{SCRIPTS}/a%20b%3Fc%23d%25e"));
    assert_eq!(r.query, None);
    assert!(text.starts_with("Failed to delete script \"a b?c#d%e\" in realm \"alpha\": 404"));
}

#[tokio::test]
async fn script_tools_are_local_mode_only_with_am_scope() {
    let local = Registry::new(false);
    let container = Registry::new(true);
    for name in [
        "createScript",
        "deleteScript",
        "getAMScript",
        "getScriptedDecisionNodeBindings",
        "listScripts",
        "updateScript",
    ] {
        let t = local.get(name).expect(name);
        assert_eq!(t.scopes, ["fr:am:*"]);
        assert!(
            container.get(name).is_none(),
            "{name} not in container mode"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Bad input: rejected with a validation error naming the argument, nothing sent.

const TRAVERSAL: &[&str] = &[
    "../scripts",
    "a/b",
    "..",
    "a\\b",
    "%2e%2e",
    "x%2Fy",
    "%5C",
    " ",
    "",
];

fn set(args: &Value, key: &str, value: Value) -> Value {
    let mut a = args.clone();
    if let Some(obj) = a.as_object_mut() {
        obj.insert(key.to_string(), value);
    }
    a
}

fn without(args: &Value, key: &str) -> Value {
    let mut a = args.clone();
    if let Some(obj) = a.as_object_mut() {
        obj.remove(key);
    }
    a
}

fn valid(tool: &str) -> Value {
    match tool {
        "createScript" => {
            json!({"realm": "alpha", "name": "N", "script": "action.goTo(\"true\");"})
        }
        "updateScript" => json!({"realm": "alpha", "scriptId": CHECK_EMAIL, "name": "N"}),
        "getAMScript" | "deleteScript" => json!({"realm": "alpha", "scriptId": CHECK_EMAIL}),
        _ => json!({"realm": "alpha"}),
    }
}

const ALL: &[&str] = &[
    "createScript",
    "deleteScript",
    "getAMScript",
    "getScriptedDecisionNodeBindings",
    "listScripts",
    "updateScript",
];

#[tokio::test]
async fn realms_are_a_closed_enum() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for tool in ALL {
        let args = valid(tool);
        for realm in [
            json!("gamma"),
            json!("Alpha"),
            json!(""),
            json!(1),
            json!("root"),
        ] {
            assert_rejected(&env, tool, set(&args, "realm", realm), "realm").await;
        }
        assert_rejected(&env, tool, without(&args, "realm"), "realm").await;
    }
}

#[tokio::test]
async fn script_ids_are_safe_segments() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for tool in ["getAMScript", "deleteScript", "updateScript"] {
        let args = valid(tool);
        for bad in TRAVERSAL {
            assert_rejected(&env, tool, set(&args, "scriptId", json!(bad)), "scriptId").await;
        }
        for bad in [json!("x".repeat(257)), json!(42), json!(null)] {
            assert_rejected(&env, tool, set(&args, "scriptId", bad), "scriptId").await;
        }
        assert_rejected(&env, tool, without(&args, "scriptId"), "scriptId").await;
    }
}

#[tokio::test]
async fn names_descriptions_and_sources_are_checked() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for tool in ["createScript", "updateScript"] {
        let args = valid(tool);
        for bad in [
            json!(""),
            json!("   "),
            json!("n".repeat(257)),
            json!("a\nb"),
            json!("a\u{0000}"),
            json!(3),
        ] {
            assert_rejected(&env, tool, set(&args, "name", bad), "name").await;
        }
        for bad in [json!("d".repeat(4001)), json!(5), json!(["a"])] {
            assert_rejected(&env, tool, set(&args, "description", bad), "description").await;
        }
        for bad in [json!(""), json!("s".repeat(1_000_001)), json!(true)] {
            assert_rejected(&env, tool, set(&args, "script", bad), "script").await;
        }
    }
    let create = valid("createScript");
    assert_rejected(&env, "createScript", without(&create, "name"), "name").await;
    assert_rejected(&env, "createScript", without(&create, "script"), "script").await;
    assert_rejected(&env, "listScripts", json!([1]), "JSON object").await;
}
