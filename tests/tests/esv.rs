//! The ESV family against the simulator (the change journal off, so each call's requests
//! are its own): the exact upstream requests (method, path, query,
//! `Accept-API-Version`, body), one token exchange per call with the tool's scope, the
//! result text of the contract (§3.5), a value that never reaches the activity log, and
//! bad input rejected before anything is sent.

use aic_mcp_core::activity::ActivityEvent;
use aic_mcp_tests::aic_tenant_sim::RecordedRequest;
use aic_mcp_tests::assert_rejected;
use aic_mcp_tests::{form, Env, EnvOptions};
use aic_mcp_tests::{logged_in_env, tx_of, wire_env as env};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

const READ: &str = "fr:idc:esv:read";
const UPDATE: &str = "fr:idc:esv:update";

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts the call made exactly one exchange for `scope` and one resource request, and
/// returns that request, clearing the log for the next call.
fn take_one(env: &Env, scope: &str) -> RecordedRequest {
    let exchanges = env.exchanges();
    assert_eq!(exchanges.len(), 1, "one token exchange per tool call");
    let f = form(&exchanges[0].body);
    assert_eq!(f.get("scope").map(String::as_str), Some(scope));
    assert_eq!(
        f.get("client_id").map(String::as_str),
        Some("AICMCPExchangeClient")
    );
    let mut reqs = env.resource_requests();
    assert_eq!(reqs.len(), 1, "one upstream request");
    let r = reqs.remove(0);
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION")))
    );
    let bearer = r.header("authorization").unwrap_or_default();
    assert!(bearer.starts_with("Bearer "));
    for primary in env.sim.live_primary_tokens() {
        assert!(
            !bearer.contains(&primary),
            "the primary token must never reach a resource API"
        );
    }
    env.sim.clear_requests();
    r
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

#[tokio::test]
async fn query_variables_by_id_substring() {
    let env = env().await;
    let (err, text) = env
        .call("queryESVs", json!({"type": "variable", "queryTerm": "max"}))
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, READ);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/environment/variables")
    );
    assert_eq!(r.header("accept-api-version"), Some("resource=2.0"));
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.body, "");
    assert_eq!(
        r.query_pairs(),
        pairs(&[("_queryFilter", "/_id co \"max\""), ("_pageSize", "50")])
    );
    assert_eq!(
        r.query.as_deref(),
        Some("_queryFilter=%2F_id+co+%22max%22&_pageSize=50"),
        "form-style encoding"
    );
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let v = body_of(&text);
    assert_eq!(v["resultCount"], 1);
    assert_eq!(v["result"][0]["_id"], "esv-max-sessions");
    assert_eq!(
        text.split("\n\nTransaction ID: ").next(),
        Some(serde_json::to_string_pretty(&v).expect("json").as_str()),
        "the tenant's answer as pretty JSON"
    );
}

#[tokio::test]
async fn query_secrets_with_paging_and_sort_keys() {
    let env = env().await;
    let (err, text) = env
        .call(
            "queryESVs",
            json!({"type": "secret", "pageSize": 2, "sortKeys": "-_id"}),
        )
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, READ);
    assert_eq!(r.path, "/environment/secrets");
    assert_eq!(r.header("accept-api-version"), Some("resource=2.0"));
    assert_eq!(
        r.query_pairs(),
        pairs(&[
            ("_queryFilter", "true"),
            ("_pageSize", "2"),
            ("_sortKeys", "-_id")
        ])
    );
    let page1 = body_of(&text);
    assert_eq!(page1["result"][0]["_id"], "esv-webhook-hmac-key");
    assert!(page1["result"][0].get("valueBase64").is_none(), "no values");
    let cookie = page1["pagedResultsCookie"]
        .as_str()
        .expect("cookie")
        .to_string();

    let (err, text) = env
        .call(
            "queryESVs",
            json!({"type": "secret", "queryTerm": "", "pageSize": 2, "sortKeys": "-_id", "pagedResultsCookie": cookie}),
        )
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, READ);
    assert_eq!(
        r.query_pairs(),
        pairs(&[
            ("_queryFilter", "true"),
            ("_pageSize", "2"),
            ("_pagedResultsCookie", &cookie),
            ("_sortKeys", "-_id")
        ]),
        "an empty term lists everything"
    );
    let page2 = body_of(&text);
    assert_eq!(page2["result"][1]["_id"], "esv-oauth-client-secret");
    assert!(page2["pagedResultsCookie"].is_null());

    let (err, text) = env
        .call("queryESVs", json!({"type": "variable", "pageSize": 100}))
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, READ);
    assert_eq!(
        r.query_pairs(),
        pairs(&[("_queryFilter", "true"), ("_pageSize", "100")])
    );
}

#[tokio::test]
async fn query_term_quotes_and_backslashes_stay_inside_the_filter_string() {
    let env = env().await;
    let term = r#"x" or true or "\"#;
    let (err, text) = env
        .call("queryESVs", json!({"type": "variable", "queryTerm": term}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["resultCount"], 0, "nothing injected: {text}");
    let r = take_one(&env, READ);
    let q = r.query_pairs();
    assert_eq!(
        q[0],
        (
            "_queryFilter".to_string(),
            r#"/_id co "x\" or true or \"\\""#.to_string()
        )
    );
    assert_eq!(q.len(), 2, "no parameter smuggled in");
}

#[tokio::test]
async fn query_failure_names_the_collection() {
    let env = env().await;
    env.sim.push_fault(aic_mcp_tests::aic_tenant_sim::Fault {
        method: Some("GET".into()),
        path_prefix: "/environment/secrets".into(),
        kind: aic_mcp_tests::aic_tenant_sim::FaultKind::Status {
            status: 503,
            body: "{\"code\":503,\"reason\":\"Service Unavailable\",\"message\":\"down\"}".into(),
        },
        times: 1,
    });
    let (err, text) = env.call("queryESVs", json!({"type": "secret"})).await;
    assert!(err);
    assert!(
        text.starts_with("Failed to query environment secrets: 503 Service Unavailable - {"),
        "{text}"
    );
    let r = take_one(&env, READ);
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
}

#[tokio::test]
async fn get_variable_decodes_its_value_as_the_last_key() {
    let env = env().await;
    let (err, text) = env
        .call("getVariable", json!({"variableId": "esv-allowed-origins"}))
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, READ);
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        ("GET", "/environment/variables/esv-allowed-origins", None)
    );
    assert_eq!(r.header("accept-api-version"), Some("resource=2.0"));
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let v = body_of(&text);
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "_id",
            "description",
            "expressionType",
            "lastChangeDate",
            "lastChangedBy",
            "loaded",
            "value"
        ]
    );
    assert_eq!(
        v["value"], r#"["https://app.example.com","https://admin.example.com"]"#,
        "array variables come back as their JSON text"
    );

    let (err, text) = env
        .call("getVariable", json!({"variableId": "esv-max-sessions"}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["value"], "5");
    env.sim.clear_requests();

    let (err, text) = env
        .call("getVariable", json!({"variableId": "esv-nope"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to get variable 'esv-nope': 404 Not Found - {\"code\":404"),
        "{text}"
    );
    let r = take_one(&env, READ);
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
}

#[tokio::test]
async fn set_get_overwrite_and_delete_a_variable() {
    let env = env().await;
    let (err, text) = env
        .call(
            "setVariable",
            json!({"variableId": "esv-support-email", "value": "help@example.com", "type": "string"}),
        )
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, UPDATE);
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        ("PUT", "/environment/variables/esv-support-email", None)
    );
    assert_eq!(r.header("accept-api-version"), Some("resource=2.0"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("if-match"), None);
    assert_eq!(
        r.body,
        format!(
            r#"{{"_id":"esv-support-email","description":"","valueBase64":"{}","expressionType":"string"}}"#,
            b64("help@example.com")
        ),
        "exact body, keys in the contract's order"
    );
    assert_eq!(
        text,
        format!(
            "{{\n  \"_id\": \"esv-support-email\",\n  \"message\": \"Set variable 'esv-support-email'. Pod restart required for changes to take effect.\"\n}}\n\nTransaction ID: {}",
            r.transaction_id.as_deref().expect("tx")
        )
    );

    let (err, text) = env
        .call("getVariable", json!({"variableId": "esv-support-email"}))
        .await;
    assert!(!err, "{text}");
    let v = body_of(&text);
    assert_eq!(v["value"], "help@example.com");
    assert_eq!(v["expressionType"], "string");
    assert_eq!(v["loaded"], false);
    env.sim.clear_requests();

    let (err, text) = env
        .call(
            "setVariable",
            json!({"variableId": "esv-support-email", "value": "support@example.com", "type": "string", "description": "Support mailbox"}),
        )
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, UPDATE);
    let sent: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(sent["description"], "Support mailbox");
    assert_eq!(sent["valueBase64"], b64("support@example.com"));

    // The tenant refuses a type change; the text keeps the prefix and the tenant's answer.
    let (err, text) = env
        .call(
            "setVariable",
            json!({"variableId": "esv-support-email", "value": 3, "type": "int"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to set variable 'esv-support-email': 400 Bad Request - {"),
        "{text}"
    );
    assert!(text.contains("cannot be changed"), "{text}");
    let r = take_one(&env, UPDATE);
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());

    let (err, text) = env
        .call("deleteVariable", json!({"variableId": "esv-support-email"}))
        .await;
    assert!(!err, "{text}");
    let r = take_one(&env, UPDATE);
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        ("DELETE", "/environment/variables/esv-support-email", None)
    );
    assert_eq!(
        r.header("accept-api-version"),
        Some("protocol=1.0,resource=1.0")
    );
    assert_eq!(r.body, "");
    assert_eq!(
        text,
        format!(
            "{{\n  \"_id\": \"esv-support-email\",\n  \"message\": \"Deleted variable 'esv-support-email'. Pod restart required for changes to take effect.\"\n}}\n\nTransaction ID: {}",
            r.transaction_id.as_deref().expect("tx")
        )
    );

    let (err, text) = env
        .call("getVariable", json!({"variableId": "esv-support-email"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to get variable 'esv-support-email': 404 Not Found - "),
        "{text}"
    );
    env.sim.clear_requests();

    let (err, text) = env
        .call("deleteVariable", json!({"variableId": "esv-support-email"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to delete variable 'esv-support-email': 404 Not Found - "),
        "{text}"
    );
    assert!(text.contains("\n\nTransaction ID: "));
}

#[tokio::test]
async fn values_are_serialised_per_type_and_read_back() {
    let env = env().await;
    let cases = [
        (
            "esv-t-string",
            "string",
            json!("Example Corp"),
            "Example Corp",
        ),
        ("esv-t-string-num", "string", json!(42), "42"),
        (
            "esv-t-array",
            "array",
            json!(["https://a.example.com", "https://b.example.com"]),
            r#"["https://a.example.com","https://b.example.com"]"#,
        ),
        (
            "esv-t-object",
            "object",
            json!({"enabled": true, "limit": 2.0, "tags": ["x"]}),
            r#"{"enabled":true,"limit":2,"tags":["x"]}"#,
        ),
        ("esv-t-bool", "bool", json!(true), "true"),
        ("esv-t-int", "int", json!(30), "30"),
        ("esv-t-number", "number", json!(0.25), "0.25"),
        ("esv-t-list", "list", json!(["a", "b", "c"]), "a,b,c"),
        ("esv-t-list-text", "list", json!("a,b"), "a,b"),
    ];
    for (id, ty, value, stored) in cases {
        let (err, text) = env
            .call(
                "setVariable",
                json!({"variableId": id, "value": value, "type": ty, "description": format!("{ty} test")}),
            )
            .await;
        assert!(!err, "{id}: {text}");
        let r = take_one(&env, UPDATE);
        let sent: Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(
            sent,
            json!({"_id": id, "description": format!("{ty} test"), "valueBase64": b64(stored), "expressionType": ty}),
            "{id}"
        );
        let (err, text) = env.call("getVariable", json!({"variableId": id})).await;
        assert!(!err, "{id}: {text}");
        assert_eq!(body_of(&text)["value"], stored, "{id}");
        env.sim.clear_requests();
    }
}

#[tokio::test]
async fn the_activity_log_never_shows_an_esv_value() {
    // With the change journal on: its reads of the variable show no value either.
    let env = logged_in_env().await;
    let mut events = env.app.bus().subscribe();
    let secret = "hunter2-very-private";
    let (err, text) = env
        .call(
            "setVariable",
            json!({"variableId": "esv-private", "value": secret, "type": "string", "description": "kept visible"}),
        )
        .await;
    assert!(!err, "{text}");
    let mut started = None;
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let ActivityEvent::ToolStarted {
            tool, arguments, ..
        } = &e
        {
            if tool == "setVariable" {
                started = Some(arguments.clone());
            }
        }
        seen.push(serde_json::to_string(&e).expect("event json"));
    }
    let arguments = started.expect("a tool_started event");
    assert_eq!(arguments["value"], "********");
    assert_eq!(arguments["variableId"], "esv-private");
    assert_eq!(arguments["type"], "string");
    assert_eq!(arguments["description"], "kept visible");
    for e in &seen {
        assert!(!e.contains(secret), "value leaked: {e}");
        assert!(!e.contains(&b64(secret)), "encoded value leaked: {e}");
    }
    assert!(seen.iter().any(|e| e.contains("\"tool_finished\"")));

    // A rejected call is masked too.
    let mut events = env.app.bus().subscribe();
    let (err, _) = env
        .call(
            "setVariable",
            json!({"variableId": "esv-private", "value": {"pin": secret}, "type": "string"}),
        )
        .await;
    assert!(err);
    while let Ok(e) = events.try_recv() {
        let line = serde_json::to_string(&e).expect("event json");
        assert!(!line.contains(secret), "value leaked: {line}");
    }
}

// ---------------------------------------------------------------------------------------
// Bad input: rejected with a validation error naming the argument, nothing sent.

const TRAVERSAL: &[&str] = &[
    "../config/managed",
    "esv-a/b",
    "..",
    "esv-a\\b",
    "%2e%2e",
    "esv-x%2Fy",
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

fn valid_set() -> Value {
    json!({"variableId": "esv-x", "value": "v", "type": "string"})
}

#[tokio::test]
async fn variable_ids_with_traversal_are_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for tool in ["deleteVariable", "getVariable"] {
        for bad in TRAVERSAL {
            assert_rejected(&env, tool, json!({"variableId": bad}), "variableId").await;
        }
        let long = format!("esv-{}", "x".repeat(121));
        assert_rejected(&env, tool, json!({"variableId": long}), "variableId").await;
        assert_rejected(&env, tool, json!({}), "variableId").await;
        assert_rejected(&env, tool, json!({"variableId": 42}), "variableId").await;
    }
    for bad in TRAVERSAL {
        assert_rejected(
            &env,
            "setVariable",
            set(&valid_set(), "variableId", json!(bad)),
            "variableId",
        )
        .await;
    }
}

#[tokio::test]
async fn set_variable_ids_must_follow_the_esv_rule() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for bad in [
        json!("ESV-UPPER"),
        json!("esv-Mixed"),
        json!("esv-"),
        json!("tenant-name"),
        json!("esv-a b"),
        json!("esv-a\"b"),
        json!("esv-a?b"),
        json!("esv-a.b"),
        json!("esv-ü"),
        json!(format!("esv-{}", "x".repeat(121))),
        json!(7),
    ] {
        let (_, text) = env
            .call("setVariable", set(&valid_set(), "variableId", bad.clone()))
            .await;
        if bad.is_string() {
            assert!(text.contains("Invalid variable ID '"), "{bad}: {text}");
        }
        assert_rejected(
            &env,
            "setVariable",
            set(&valid_set(), "variableId", bad),
            "variableId",
        )
        .await;
    }
    let longest = format!("esv-{}", "x".repeat(120));
    assert_eq!(longest.len(), 124);
}

#[tokio::test]
async fn set_variable_values_types_and_descriptions_are_checked() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    assert_rejected(&env, "setVariable", without(&valid_set(), "value"), "value").await;
    assert_rejected(&env, "setVariable", without(&valid_set(), "type"), "type").await;
    assert_rejected(
        &env,
        "setVariable",
        without(&valid_set(), "variableId"),
        "variableId",
    )
    .await;
    for ty in [json!("float"), json!("String"), json!(""), json!(1)] {
        assert_rejected(&env, "setVariable", set(&valid_set(), "type", ty), "type").await;
    }
    for (ty, value) in [
        ("string", json!(null)),
        ("string", json!({"a": 1})),
        ("list", json!(["a", {"b": 1}])),
        ("array", json!("[\"a\"]")),
        ("array", json!({"a": 1})),
        ("object", json!("{\"a\":1}")),
        ("object", json!([1])),
        ("bool", json!("true")),
        ("bool", json!(1)),
        ("int", json!("42")),
        ("int", json!(4.5)),
        ("number", json!("2.5")),
    ] {
        let args = json!({"variableId": "esv-x", "value": value, "type": ty});
        assert_rejected(&env, "setVariable", args, "value").await;
    }
    for d in [json!("d".repeat(1001)), json!(5), json!(["a"])] {
        assert_rejected(
            &env,
            "setVariable",
            set(&valid_set(), "description", d),
            "description",
        )
        .await;
    }
    assert_rejected(&env, "setVariable", json!([1, 2]), "JSON object").await;
}

#[tokio::test]
async fn query_arguments_are_checked() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let valid = json!({"type": "variable"});
    assert_rejected(&env, "queryESVs", json!({}), "type").await;
    for ty in [json!("variables"), json!("Secret"), json!(""), json!(7)] {
        assert_rejected(&env, "queryESVs", set(&valid, "type", ty), "type").await;
    }
    for term in [
        json!("x".repeat(101)),
        json!("esv\r\nX-Injected: 1"),
        json!("a\u{0000}"),
        json!(5),
    ] {
        assert_rejected(
            &env,
            "queryESVs",
            set(&valid, "queryTerm", term),
            "queryTerm",
        )
        .await;
    }
    for size in [json!(0), json!(101), json!(-1), json!("50"), json!(1.5)] {
        assert_rejected(&env, "queryESVs", set(&valid, "pageSize", size), "pageSize").await;
    }
    for cookie in [json!("abc\ndef"), json!("c".repeat(4097)), json!(1)] {
        assert_rejected(
            &env,
            "queryESVs",
            set(&valid, "pagedResultsCookie", cookie),
            "pagedResultsCookie",
        )
        .await;
    }
    for keys in [
        json!("_id&_queryFilter=true"),
        json!("_id desc"),
        json!("_id\""),
        json!("k".repeat(201)),
    ] {
        assert_rejected(&env, "queryESVs", set(&valid, "sortKeys", keys), "sortKeys").await;
    }
}

#[tokio::test]
async fn unusual_but_safe_variable_ids_are_percent_encoded() {
    let env = env().await;
    let (err, text) = env
        .call("getVariable", json!({"variableId": "esv-a b?c#d%e"}))
        .await;
    assert!(err, "no such variable: {text}");
    assert!(text.starts_with("Failed to get variable 'esv-a b?c#d%e': 404 Not Found - "));
    let r = take_one(&env, READ);
    assert_eq!(r.path, "/environment/variables/esv-a%20b%3Fc%23d%25e");
    assert_eq!(r.query, None, "'?' in an id cannot start a query");
}
