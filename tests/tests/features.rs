//! Feature management against the simulator: the exact upstream requests of every tool,
//! one token exchange per call with the tool's scopes, the result texts, the four AI
//! Agents statuses of listFeatures, and bad feature names rejected before any request.

use std::time::Duration;

use aic_mcp_core::tools::{Hints, Registry};
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind};
use aic_mcp_tests::{assert_rejected, take_call as take};
use aic_mcp_tests::{logged_in_env as env, tx_of};
use aic_mcp_tests::{Env, EnvOptions};
use serde_json::{json, Value};

const AM_IDM: &str = "fr:am:* fr:idm:*";
const AM21: &str = "protocol=2.1,resource=1.0";
const ALPHA_PROBE: &str = "/am/json/realms/root/realms/alpha/realm-config/services/oauth-oidc";
const BRAVO_PROBE: &str = "/am/json/realms/root/realms/bravo/realm-config/services/oauth-oidc";

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).expect("a JSON request body")
}

/// The listFeatures output (pretty JSON, no TX suffix).
fn features_of(text: &str) -> Vec<Value> {
    // The whole text is the JSON document: no TX suffix after it.
    let v: Value = serde_json::from_str(text).expect("pretty JSON only");
    assert_eq!(v.as_object().map(|o| o.len()), Some(1));
    v["features"].as_array().expect("features").clone()
}

/// The "AI Agents" entry, checked to be the last one.
fn ai_agents(features: &[Value]) -> Value {
    let last = features
        .last()
        .expect("at least the AI Agents entry")
        .clone();
    assert_eq!(last["name"], "AI Agents");
    assert_eq!(last["type"], "aic");
    assert_eq!(
        last.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(
            ["name", "type", "installed", "status", "message", "details"]
                .map(String::from)
                .to_vec()
        ),
        "keys in the reference's order"
    );
    last
}

async fn list(env: &Env) -> Vec<Value> {
    let (err, text) = env.call("listFeatures", json!({})).await;
    assert!(!err, "{text}");
    env.sim.clear_requests();
    features_of(&text)
}

#[test]
fn metadata_matches_the_contract() {
    let registry = Registry::new(true);
    let names: Vec<&str> = registry.tools().iter().map(|t| t.name).collect();
    let expected = [
        "enableAiAgent",
        "installIdmFeature",
        "listFeatures",
        "validateIdmFeature",
    ];
    let start = names
        .iter()
        .position(|n| *n == "enableAiAgent")
        .expect("registered in container mode");
    assert_eq!(&names[start..start + 4], &expected, "registration order");
    let hints = |ro, d, id| Hints {
        read_only: ro,
        destructive: d,
        idempotent: id,
        open_world: Some(true),
    };
    let rows: [(&str, &str, &[&str], Hints); 4] = [
        (
            "enableAiAgent",
            "Enable AI Agents (End-to-End)",
            &["fr:am:*", "fr:idm:*"],
            hints(None, Some(true), Some(true)),
        ),
        (
            "installIdmFeature",
            "Install IDM Feature",
            &["fr:idm:*"],
            hints(None, Some(true), Some(false)),
        ),
        (
            "listFeatures",
            "List Features",
            &["fr:am:*", "fr:idm:*"],
            hints(Some(true), None, None),
        ),
        (
            "validateIdmFeature",
            "Validate IDM Feature",
            &["fr:idm:*"],
            hints(Some(true), None, None),
        ),
    ];
    for (name, title, scopes, h) in rows {
        let t = registry.get(name).expect(name);
        assert_eq!(t.title, title);
        assert_eq!(t.scopes, scopes, "{name}");
        assert_eq!(t.hints, h, "{name}");
        assert!(t.container);
    }
    for name in ["enableAiAgent", "listFeatures"] {
        let schema = &registry.get(name).expect(name).input_schema;
        assert_eq!(schema.get("properties"), Some(&json!({})), "{name}");
        assert_eq!(schema.get("required"), None, "{name}");
    }
    for name in ["installIdmFeature", "validateIdmFeature"] {
        let schema = &registry.get(name).expect(name).input_schema;
        assert_eq!(schema.get("required"), Some(&json!(["featureName"])));
        let prop = &schema["properties"]["featureName"];
        assert_eq!(prop["type"], "string");
        assert_eq!(prop["minLength"], 1);
        assert_eq!(prop["maxLength"], 128);
        assert!(prop["description"]
            .as_str()
            .unwrap_or_default()
            .contains("password/timestamps"));
    }
    let install = registry.get("installIdmFeature").expect("install");
    for hint in [
        "validateIdmFeature",
        "enableAiAgent",
        "listFeatures",
        "cannot",
    ] {
        assert!(install.description.contains(hint), "{hint}");
    }
    let enable = registry.get("enableAiAgent").expect("enable");
    for hint in ["one-way", "safe to run again", "listFeatures"] {
        assert!(enable.description.contains(hint), "{hint}");
    }
}

#[tokio::test]
async fn list_features_sends_three_probes_with_one_token() {
    let env = env().await;
    let (err, text) = env.call("listFeatures", json!({})).await;
    assert!(!err, "{text}");
    let mut reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 3, "IDM + alpha + bravo");
    reqs.sort_by(|a, b| b.path.cmp(&a.path));
    let (idm, bravo, alpha) = (&reqs[0], &reqs[1], &reqs[2]);
    assert_eq!(
        (idm.method.as_str(), idm.path.as_str(), idm.query.as_deref()),
        ("GET", "/openidm/feature", Some("_queryFilter=true"))
    );
    assert_eq!(idm.header("accept-api-version"), None);
    assert_eq!(idm.header("content-type"), None);
    assert_eq!(idm.body, "");
    for (probe, path) in [(alpha, ALPHA_PROBE), (bravo, BRAVO_PROBE)] {
        assert_eq!(
            (
                probe.method.as_str(),
                probe.path.as_str(),
                probe.query.as_deref()
            ),
            ("GET", path, None)
        );
        assert_eq!(probe.header("accept-api-version"), Some(AM21));
        assert_eq!(
            probe.header("content-type"),
            None,
            "the probes send only the API version"
        );
        assert_eq!(probe.body, "");
        assert_eq!(probe.status, 200);
    }

    // IDM features in upstream order (without aiagent), then AI Agents.
    let features = features_of(&text);
    let names: Vec<&str> = features.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(
        names,
        vec![
            "groups",
            "password/timestamps",
            "indexed/strings/6thru20",
            "am/2fa/profiles",
            "indexed/dates/6thru10",
            "AI Agents"
        ]
    );
    assert_eq!(
        features[0],
        json!({"name": "groups", "type": "idm", "installed": true, "installedVersion": "1.0.0", "availableVersions": ["1.0.0"]})
    );
    assert_eq!(
        features[1],
        json!({"name": "password/timestamps", "type": "idm", "installed": false, "installedVersion": null, "availableVersions": ["1.0.0", "1.1.0"]})
    );
    assert!(
        text.starts_with("{\n  \"features\": [\n    {\n      \"name\": \"groups\",\n"),
        "pretty JSON with 2-space indentation: {text}"
    );

    // Not installed at first.
    let ai = ai_agents(&features);
    assert_eq!(ai["status"], "not_installed");
    assert_eq!(ai["installed"], false);
    assert!(ai["message"]
        .as_str()
        .unwrap_or_default()
        .contains("enableAiAgent"));
    assert_eq!(
        ai["details"],
        json!({"idm": {"installed": false}, "am": {
            "alpha": {"configured": false, "error": null},
            "bravo": {"configured": false, "error": null}}})
    );
}

#[tokio::test]
async fn list_features_probes_run_concurrently() {
    let env = env().await;
    env.sim.set_latency(Duration::from_millis(400));
    let call = env.call("listFeatures", json!({}));
    let watch = async {
        let mut most_in_flight = 0;
        for _ in 0..300 {
            let in_flight = env
                .resource_requests()
                .iter()
                .filter(|r| r.status == 0)
                .count();
            most_in_flight = most_in_flight.max(in_flight);
            if most_in_flight == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        most_in_flight
    };
    let ((err, text), most_in_flight) = tokio::join!(call, watch);
    env.sim.set_latency(Duration::ZERO);
    assert!(!err, "{text}");
    assert_eq!(most_in_flight, 3, "the three probes are in flight together");
    take(&env, AM_IDM);
}

#[tokio::test]
async fn validate_idm_feature_posts_the_encoded_name() {
    let env = env().await;
    let (err, text) = env
        .call(
            "validateIdmFeature",
            json!({"featureName": "indexed/strings/6thru20"}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        (
            "POST",
            "/openidm/feature/indexed/strings/6thru20",
            Some("_action=validate")
        )
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept-api-version"), None);
    assert_eq!(json_of(&r.body), json!({}));
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let body = body_of(&text);
    assert_eq!(body["status"], 200);
    assert_eq!(body["success"], true);
    assert_eq!(
        text.split("\n\nTransaction ID: ").next(),
        Some(serde_json::to_string_pretty(&body).expect("json").as_str()),
        "the response verbatim, pretty"
    );

    // success: false is an answer, not a failure.
    for name in ["groups", "no/such-feature"] {
        let (err, text) = env
            .call("validateIdmFeature", json!({"featureName": name}))
            .await;
        assert!(!err, "{text}");
        assert_eq!(body_of(&text)["success"], false, "{name}");
        assert!(tx_of(&text).is_some());
        take(&env, "fr:idm:*");
    }

    // An upstream failure keeps the prefix and the TX suffix.
    env.sim.push_fault(Fault {
        method: Some("POST".into()),
        path_prefix: "/openidm/feature/groups".into(),
        kind: FaultKind::Status {
            status: 503,
            body: r#"{"code":503,"reason":"Service Unavailable","message":"IDM is starting"}"#
                .into(),
        },
        times: 1,
    });
    let (err, text) = env
        .call("validateIdmFeature", json!({"featureName": "groups"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with(
            "Failed to validate IDM feature 'groups': 503 Service Unavailable - {\"code\":503,"
        ),
        "{text}"
    );
    assert_eq!(
        tx_of(&text),
        take(&env, "fr:idm:*")[0].transaction_id.as_deref()
    );
}

#[tokio::test]
async fn install_idm_feature_is_one_way() {
    let env = env().await;
    let (err, text) = env
        .call(
            "installIdmFeature",
            json!({"featureName": "password/timestamps"}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        (
            "POST",
            "/openidm/feature/password/timestamps",
            Some("_action=install")
        )
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("accept-api-version"), None);
    assert_eq!(json_of(&r.body), json!({}));
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let expected = json!({
        "_id": "password/timestamps",
        "status": "installed",
        "message": "Install complete. This action cannot be undone.",
        "apiResponse": {"status": 200, "message": "Install complete."},
    });
    assert_eq!(
        text,
        format!(
            "{}\n\nTransaction ID: {}",
            serde_json::to_string_pretty(&expected).expect("json"),
            r.transaction_id.as_deref().unwrap_or_default()
        )
    );

    let features = list(&env).await;
    let installed = features
        .iter()
        .find(|f| f["name"] == "password/timestamps")
        .expect("listed");
    assert_eq!(installed["installed"], true);
    assert_eq!(installed["installedVersion"], "1.1.0");

    // A second install fails IDM's pre-install validation: the 400 body is shown.
    let (err, text) = env
        .call(
            "installIdmFeature",
            json!({"featureName": "password/timestamps"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with(
            "Failed to install IDM feature 'password/timestamps': 400 Bad Request - {"
        ),
        "{text}"
    );
    assert!(text.contains("already installed"), "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
}

#[tokio::test]
async fn enable_ai_agent_then_list_shows_installed() {
    let env = env().await;
    for _ in 0..2 {
        let (err, text) = env.call("enableAiAgent", json!({})).await;
        assert!(!err, "{text}");
        let reqs = take(&env, AM_IDM);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
            ("POST", "/environment/aiagent", Some("_action=enable"))
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("accept-api-version"), None);
        assert_eq!(json_of(&r.body), json!({}));
        assert_eq!(tx_of(&text), r.transaction_id.as_deref());
        let body = body_of(&text);
        assert_eq!(
            body.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(
                ["status", "message", "apiResponse"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(body["status"], "enabled");
        assert_eq!(body["apiResponse"], json!({}));
        let message = body["message"].as_str().unwrap_or_default();
        for fact in ["IDM", "alpha", "bravo", "cannot be reverted"] {
            assert!(message.contains(fact), "{fact}: {message}");
        }
    }

    let features = list(&env).await;
    assert!(
        !features.iter().any(|f| f["name"] == "aiagent"),
        "the aiagent record is folded into AI Agents"
    );
    let ai = ai_agents(&features);
    assert_eq!(ai["status"], "installed");
    assert_eq!(ai["installed"], true);
    assert_eq!(ai["message"], "AI Agents is installed.");
    assert_eq!(
        ai["details"],
        json!({"idm": {"installed": true}, "am": {
            "alpha": {"configured": true, "error": null},
            "bravo": {"configured": true, "error": null}}})
    );

    let (err, text) = {
        env.sim.push_fault(Fault {
            method: Some("POST".into()),
            path_prefix: "/environment/aiagent".into(),
            kind: FaultKind::Status {
                status: 500,
                body: r#"{"code":500,"reason":"Internal Server Error","message":"boom"}"#.into(),
            },
            times: 1,
        });
        env.call("enableAiAgent", json!({})).await
    };
    assert!(err);
    assert!(
        text.starts_with("Failed to enable AI Agents: 500 Internal Server Error - "),
        "{text}"
    );
    assert!(tx_of(&text).is_some());
}

#[tokio::test]
async fn partly_installed_ai_agents_are_indeterminate() {
    let env = env().await;
    // The contract does not block installing the IDM half alone.
    let (err, text) = env
        .call("installIdmFeature", json!({"featureName": "aiagent"}))
        .await;
    assert!(!err, "{text}");
    env.sim.clear_requests();

    let ai = ai_agents(&list(&env).await);
    assert_eq!(ai["status"], "indeterminate");
    assert_eq!(ai["installed"], false);
    assert_eq!(
        ai["details"],
        json!({"idm": {"installed": true}, "am": {
            "alpha": {"configured": false, "error": null},
            "bravo": {"configured": false, "error": null}}})
    );
    let message = ai["message"].as_str().unwrap_or_default();
    assert!(message.contains("out of sync"), "{message}");
    assert!(message.contains("enableAiAgent"), "{message}");

    // Running enableAiAgent again finishes the installation.
    let (err, text) = env.call("enableAiAgent", json!({})).await;
    assert!(!err, "{text}");
    env.sim.clear_requests();
    assert_eq!(ai_agents(&list(&env).await)["status"], "installed");
}

#[tokio::test]
async fn a_failed_realm_probe_is_reported_in_details() {
    let env = env().await;
    let fault_body =
        r#"{"code":500,"reason":"Internal Server Error","message":"realm store unavailable"}"#;
    env.sim.push_fault(Fault {
        method: Some("GET".into()),
        path_prefix: "/am/json/realms/root/realms/bravo".into(),
        kind: FaultKind::Status {
            status: 500,
            body: fault_body.into(),
        },
        times: 1,
    });
    let (err, text) = env.call("listFeatures", json!({})).await;
    assert!(!err, "a realm probe failure does not fail the tool: {text}");
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 3);
    let bravo = reqs
        .iter()
        .find(|r| r.path == BRAVO_PROBE)
        .expect("bravo probe");
    assert_eq!(bravo.status, 500);

    let features = features_of(&text);
    assert_eq!(features.len(), 6, "the IDM features are still listed");
    let ai = ai_agents(&features);
    assert_eq!(ai["status"], "indeterminate");
    assert_eq!(ai["installed"], false);
    assert_eq!(ai["details"]["idm"], json!({"installed": false}));
    assert_eq!(
        ai["details"]["am"]["alpha"],
        json!({"configured": false, "error": null})
    );
    assert_eq!(ai["details"]["am"]["bravo"]["configured"], false);
    assert_eq!(
        ai["details"]["am"]["bravo"]["error"].as_str(),
        Some(
            format!(
                "500 Internal Server Error - {fault_body}\n\nTransaction ID: {}",
                bravo.transaction_id.as_deref().unwrap_or_default()
            )
            .as_str()
        )
    );
    let message = ai["message"].as_str().unwrap_or_default();
    assert!(message.contains("bravo"), "{message}");
    assert!(!message.contains("alpha"), "{message}");

    // After enabling, the same failure still makes the status indeterminate, never installed.
    env.call("enableAiAgent", json!({})).await;
    env.sim.push_fault(Fault::new(
        "/am/json/realms/root/realms/alpha",
        FaultKind::Drop,
    ));
    env.sim.clear_requests();
    let ai = ai_agents(&list(&env).await);
    assert_eq!(ai["status"], "indeterminate");
    assert_eq!(ai["details"]["am"]["alpha"]["configured"], false);
    assert!(ai["details"]["am"]["alpha"]["error"].is_string());
    assert_eq!(
        ai["details"]["am"]["bravo"],
        json!({"configured": true, "error": null})
    );
}

#[tokio::test]
async fn a_failed_idm_probe_fails_the_tool() {
    let env = env().await;
    env.sim.push_fault(Fault {
        method: Some("GET".into()),
        path_prefix: "/openidm/feature".into(),
        kind: FaultKind::Status {
            status: 503,
            body: r#"{"code":503,"reason":"Service Unavailable","message":"down"}"#.into(),
        },
        times: 1,
    });
    let (err, text) = env.call("listFeatures", json!({})).await;
    assert!(err);
    assert!(
        text.starts_with("Failed to list features: 503 Service Unavailable - {\"code\":503,"),
        "{text}"
    );
    let reqs = take(&env, AM_IDM);
    let idm = reqs
        .iter()
        .find(|r| r.path == "/openidm/feature")
        .expect("idm probe");
    assert_eq!(tx_of(&text), idm.transaction_id.as_deref());
}

// ---------------------------------------------------------------------------------------
// Bad input: rejected before any request (not even a login).

#[tokio::test]
async fn bad_feature_names_are_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let too_long = "a".repeat(129);
    let bad: Vec<Value> = [
        "",
        " ",
        "../config/managed",
        "..",
        "a/../b",
        "/groups",
        "groups/",
        "password//timestamps",
        "a\\b",
        "%2e%2e",
        "x%2Fy",
        "%5C",
        "a.b",
        "group s",
        "groups?_action=install",
        "groups#x",
        "groups&_queryFilter=true",
        "groups\"",
        "groups\r\nX-Injected: 1",
        "grüppen",
        too_long.as_str(),
    ]
    .into_iter()
    .map(Value::from)
    .chain([json!(42), json!(null), json!(["groups"]), json!({"a": 1})])
    .collect();
    for tool in ["validateIdmFeature", "installIdmFeature"] {
        for value in &bad {
            assert_rejected(&env, tool, json!({"featureName": value}), "featureName").await;
        }
        assert_rejected(&env, tool, json!({}), "featureName").await;
        assert_rejected(&env, tool, json!(["groups"]), "JSON object").await;
    }
    for tool in ["listFeatures", "enableAiAgent"] {
        assert_rejected(&env, tool, json!([1]), "JSON object").await;
        assert_rejected(&env, tool, json!("alpha"), "JSON object").await;
    }
}

#[tokio::test]
async fn the_longest_valid_name_is_accepted() {
    let env = env().await;
    let name = format!("{}/{}", "a".repeat(63), "b".repeat(64));
    assert_eq!(name.len(), 128);
    let (err, text) = env
        .call("validateIdmFeature", json!({"featureName": name}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["success"], false, "no such feature");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(
        reqs[0].path,
        format!("/openidm/feature/{}/{}", "a".repeat(63), "b".repeat(64))
    );
}
