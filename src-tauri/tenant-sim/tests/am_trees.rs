//! AM journeys: trees, node types and instances, and the realm authentication config.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const AM21: &str = "protocol=2.1,resource=1.0";
const V10: &str = "protocol=1.0,resource=1.0";
const TREES: &str = "/am/json/alpha/realm-config/authentication/authenticationtrees/trees";
const NODES: &str = "/am/json/alpha/realm-config/authentication/authenticationtrees/nodes";
const AUTH: &str = "/am/json/alpha/realm-config/authentication";
const SUCCESS: &str = "70e691a5-1e33-4ac3-a356-e7b6d60d92e0";
const FAILURE: &str = "e301438c-0bd0-429c-ab0c-66126501069a";
const N1: &str = "11111111-1111-4111-8111-111111111111";
const N2: &str = "22222222-2222-4222-8222-222222222222";
const C1: &str = "33333333-3333-4333-8333-333333333333";

struct Api {
    base: String,
    c: reqwest::Client,
    token: String,
}

impl Api {
    async fn new(base: String) -> Self {
        let c = client();
        let token = resource_token(&base, &c, "fr:am:*").await;
        Api { base, c, token }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        version: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .c
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Accept-API-Version", version)
            .header("Content-Type", "application/json");
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        assert!(resp.headers().contains_key("x-forgerock-transactionid"));
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, AM21, None).await
    }
    async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, AM21, Some(body))
            .await
    }
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, AM21, Some(body))
            .await
    }
    async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, AM21, None).await
    }
}

fn tree(entry: &str, nodes: Value) -> Value {
    json!({"entryNodeId": entry, "nodes": nodes, "staticNodes": {}})
}

#[tokio::test]
async fn lists_seeded_trees_with_fields_and_reads_one() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let (s, body) = api
        .get(&format!(
            "{TREES}?_queryFilter=true&_pageSize=-1&_fields=_id%2Cdescription%2Cnodes%2Cenabled"
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["resultCount"], 2);
    let ids: Vec<&str> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["Login", "Registration"]);
    let keys: Vec<&String> = body["result"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_id", "_rev", "description", "nodes", "enabled"]);

    let (s, login) = api.get(&format!("{TREES}/Login")).await;
    assert_eq!(s, 200);
    let entry = login["entryNodeId"].as_str().unwrap();
    assert_eq!(login["nodes"][entry]["nodeType"], "PageNode");
    // Every node of the seeded tree has an instance; the page's children too.
    let (s, page) = api.get(&format!("{NODES}/PageNode/{entry}")).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["_type"]["_id"], "PageNode");
    for child in page["nodes"].as_array().unwrap() {
        let (s, c) = api
            .get(&format!(
                "{NODES}/{}/{}",
                child["nodeType"].as_str().unwrap(),
                child["_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 200, "{c}");
    }
    for (id, node) in login["nodes"].as_object().unwrap() {
        let (s, _) = api
            .get(&format!(
                "{NODES}/{}/{id}",
                node["nodeType"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 200);
    }
    // Bravo has its own journeys.
    let (s, b) = api
        .get("/am/json/bravo/realm-config/authentication/authenticationtrees/trees/Registration")
        .await;
    assert_eq!(s, 200);
    assert_ne!(b["entryNodeId"], login["entryNodeId"]);

    let (s, e) = api.get(&format!("{TREES}/Nope")).await;
    assert_eq!((s, e["code"].clone()), (404, json!(404)));
    let (s, _) = api
        .get("/am/json/gamma/realm-config/authentication/authenticationtrees/trees/Login")
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn requires_the_api_versions() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let (s, e) = api
        .call(reqwest::Method::GET, &format!("{TREES}/Login"), V10, None)
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("protocol=2.1"));
    let (s, _) = api.call(reqwest::Method::GET, AUTH, AM21, None).await;
    assert_eq!(s, 400);
    let (s, c) = api.call(reqwest::Method::GET, AUTH, V10, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        c["core"],
        json!({"orgConfig": "Login", "adminAuthModule": "Login"})
    );
}

#[tokio::test]
async fn put_creates_validates_replaces_and_delete_removes_nodes() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let body = tree(
        N1,
        json!({
            N1: {"nodeType": "PageNode", "displayName": "Page", "connections": {"outcome": N2},
                "config": {"_id": N1, "nodes": [{"_id": C1, "nodeType": "ValidatedUsernameNode", "displayName": "User"}]}},
            N2: {"nodeType": "DataStoreDecisionNode", "displayName": "Check", "connections": {"true": SUCCESS, "false": FAILURE}, "config": {"_id": N2}},
        }),
    );
    let (s, t) = api.put(&format!("{TREES}/Mine"), &body).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["_id"], "Mine");
    assert!(
        t["nodes"][N1].get("config").is_none(),
        "configs become instances"
    );
    let (s, t2) = api.get(&format!("{TREES}/Mine")).await;
    assert_eq!((s, &t2), (200, &t));
    let (s, page) = api.get(&format!("{NODES}/PageNode/{N1}")).await;
    assert_eq!(s, 200);
    assert_eq!(page["nodes"][0]["_id"], C1);
    let (s, _) = api
        .get(&format!("{NODES}/ValidatedUsernameNode/{C1}"))
        .await;
    assert_eq!(s, 200, "page children get instances");
    let (s, _) = api.put(&format!("{TREES}/Mine"), &body).await;
    assert_eq!(s, 200, "a second PUT replaces");

    // Invalid trees: 400 and nothing changes.
    for bad in [
        tree(
            "nope",
            json!({N1: {"nodeType": "DataStoreDecisionNode", "connections": {}}}),
        ),
        tree(
            N1,
            json!({N1: {"nodeType": "DataStoreDecisionNode", "connections": {"true": "elsewhere"}}}),
        ),
        tree(
            "readable",
            json!({"readable": {"nodeType": "DataStoreDecisionNode", "connections": {}}}),
        ),
        tree(
            N1,
            json!({N1: {"nodeType": "NoSuchNode", "connections": {}}}),
        ),
        tree(
            N1,
            json!({N1: {"nodeType": "PageNode", "connections": {}, "config": {"nodes": [{"_id": "child", "nodeType": "ValidatedUsernameNode"}]}}}),
        ),
    ] {
        let (s, e) = api.put(&format!("{TREES}/Mine"), &bad).await;
        assert_eq!(s, 400, "{bad} -> {e}");
        assert_eq!(e["code"], 400);
    }
    let (_, still) = api.get(&format!("{TREES}/Mine")).await;
    assert_eq!(still["entryNodeId"], N1);

    let (s, _) = api.delete(&format!("{TREES}/Mine")).await;
    assert_eq!(s, 200);
    for path in [
        format!("{TREES}/Mine"),
        format!("{NODES}/PageNode/{N1}"),
        format!("{NODES}/DataStoreDecisionNode/{N2}"),
        format!("{NODES}/ValidatedUsernameNode/{C1}"),
    ] {
        let (s, _) = api.get(&path).await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) = api.delete(&format!("{TREES}/Mine")).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn node_types_actions_and_instances() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let (s, all) = api
        .post(&format!("{NODES}?_action=getAllTypes"), &json!({}))
        .await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = all["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["_id"].as_str().unwrap())
        .collect();
    for t in [
        "PageNode",
        "UsernameCollectorNode",
        "PasswordCollectorNode",
        "ValidatedUsernameNode",
        "ValidatedPasswordNode",
        "DataStoreDecisionNode",
        "ScriptedDecisionNode",
        "IncrementLoginCountNode",
        "InnerTreeEvaluatorNode",
        "MessageNode",
        "EmailSuspendNode",
        "IdentifyExistingUserNode",
    ] {
        assert!(ids.contains(&t), "{t}");
    }
    let (s, schema) = api
        .post(
            &format!("{NODES}/ScriptedDecisionNode?_action=schema"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(schema["properties"]["outcomes"]["type"], "array");
    let (_, template) = api
        .post(&format!("{NODES}/MessageNode?_action=template"), &json!({}))
        .await;
    assert_eq!(template["messageYes"], json!({"en": "Yes"}));
    let (_, o) = api
        .post(
            &format!("{NODES}/DataStoreDecisionNode?_action=listOutcomes"),
            &json!({}),
        )
        .await;
    assert_eq!(
        o,
        json!([{"id": "true", "displayName": "True"}, {"id": "false", "displayName": "False"}])
    );
    let (_, o) = api
        .post(
            &format!("{NODES}/ScriptedDecisionNode?_action=listOutcomes"),
            &json!({"outcomes": ["allow", "deny"]}),
        )
        .await;
    assert_eq!(
        o,
        json!([{"id": "allow", "displayName": "allow"}, {"id": "deny", "displayName": "deny"}])
    );
    let (_, o) = api
        .post(
            &format!("{NODES}/MessageNode?_action=listOutcomes"),
            &json!({"messageYes": {"en": "Continue"}, "messageNo": {"en": "Stop"}}),
        )
        .await;
    assert_eq!(
        o,
        json!([{"id": "true", "displayName": "Continue"}, {"id": "false", "displayName": "Stop"}])
    );
    let (s, _) = api
        .post(&format!("{NODES}/NoSuchNode?_action=schema"), &json!({}))
        .await;
    assert_eq!(s, 404);

    // Instances: PUT creates (AM accepts unknown ids), GET reads, DELETE removes.
    let path = format!("{NODES}/MessageNode/{N1}");
    let (s, _) = api.get(&path).await;
    assert_eq!(s, 404);
    let (s, n) = api
        .put(&path, &json!({"_id": N1, "message": {"en": "Hi"}}))
        .await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["_type"]["_id"], "MessageNode");
    let (s, n2) = api.get(&path).await;
    assert_eq!((s, n2["message"].clone()), (200, json!({"en": "Hi"})));
    let (s, _) = api.put(&path, &json!({"_id": N2})).await;
    assert_eq!(s, 400, "a different _id is refused");
    let (s, _) = api.delete(&path).await;
    assert_eq!(s, 200);
    let (s, _) = api.get(&path).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn auth_config_accepts_nested_and_flat_puts() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let (s, c) = api
        .call(
            reqwest::Method::PUT,
            AUTH,
            V10,
            Some(&json!({"orgConfig": "Registration", "adminAuthModule": "Login"})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["core"]["orgConfig"], "Registration");
    let (_, c) = api.call(reqwest::Method::GET, AUTH, V10, None).await;
    assert_eq!(c["core"]["orgConfig"], "Registration");
    let (s, c) = api
        .call(
            reqwest::Method::PUT,
            AUTH,
            V10,
            Some(&json!({"core": {"orgConfig": "Login"}})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        c["core"],
        json!({"orgConfig": "Login", "adminAuthModule": "Login"})
    );
    let (s, _) = api
        .call(
            reqwest::Method::PUT,
            AUTH,
            V10,
            Some(&json!({"orgConfig": 5})),
        )
        .await;
    assert_eq!(s, 400);
    // Realms are separate.
    let (_, b) = api
        .call(
            reqwest::Method::GET,
            "/am/json/bravo/realm-config/authentication",
            V10,
            None,
        )
        .await;
    assert_eq!(b["core"]["orgConfig"], "Login");
}
