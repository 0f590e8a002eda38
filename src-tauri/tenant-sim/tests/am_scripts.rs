//! AM scripts and scripting contexts under `/am/json/{realm}`.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

const V20: &str = "protocol=2.0,resource=1.0";
const V10: &str = "protocol=1.0,resource=1.0";
const NEXT_GEN: &str =
    "context eq \"AUTHENTICATION_TREE_DECISION_NODE\" and evaluatorVersion eq \"2.0\"";
const CHECK_EMAIL: &str = "9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10";
const LEGACY: &str = "c8e5f1a0-2d3b-4e6f-8a9b-0c1d2e3f4a5b";
const DEFAULT_SCRIPT: &str = "01e1a3c0-038b-4c16-956a-6c9d89328cff";

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
        version: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .c
            .request(method, format!("{}/am/json{path}", self.base))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json");
        if let Some(v) = version {
            rb = rb.header("Accept-API-Version", v);
        }
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let resp = rb.send().await.unwrap();
        assert!(
            resp.headers().contains_key("x-forgerock-transactionid"),
            "every response carries a transaction id"
        );
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str, version: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, version, None).await
    }
}

fn list_path(realm: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("_queryFilter", NEXT_GEN)
        .append_pair("_pageSize", "-1")
        .append_pair(
            "_fields",
            "_id,name,description,language,context,evaluatorVersion,creationDate,lastModifiedDate",
        )
        .finish();
    format!("/{realm}/scripts?{q}")
}

fn names(v: &Value) -> Vec<String> {
    v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

fn new_script(name: &str, source: &str) -> Value {
    json!({
        "context": "AUTHENTICATION_TREE_DECISION_NODE",
        "name": name,
        "description": "",
        "language": "JAVASCRIPT",
        "script": STANDARD.encode(source),
        "evaluatorVersion": "2.0",
    })
}

#[tokio::test]
async fn list_keeps_only_next_generation_decision_node_scripts() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let (status, body) = api.get(&list_path("alpha"), Some(V20)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&body),
        ["Check Email Domain", "Set Session Properties"],
        "legacy, default and token-modification scripts are filtered out"
    );
    assert_eq!(body["resultCount"], 2);
    assert!(body["pagedResultsCookie"].is_null());
    let first = &body["result"][0];
    assert_eq!(first["_id"], CHECK_EMAIL);
    assert!(
        first.get("script").is_none(),
        "_fields leaves the source out"
    );
    assert_eq!(first["evaluatorVersion"], "2.0");
    assert!(first["creationDate"].is_i64());

    let (_, bravo) = api.get(&list_path("bravo"), Some(V20)).await;
    assert_eq!(names(&bravo), ["Require MFA for Admins"]);

    // Everything, with a plain filter.
    let (_, all) = api.get("/alpha/scripts?_queryFilter=true", Some(V20)).await;
    assert_eq!(all["resultCount"], 5);
    assert!(all["result"][0]["script"].is_string());

    // A filter is required; a bad one is a 400.
    let (status, _) = api.get("/alpha/scripts", Some(V20)).await;
    assert_eq!(status, 400);
    let (status, _) = api
        .get("/alpha/scripts?_queryFilter=name%20eq", Some(V20))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn versions_are_enforced_as_the_client_sends_them() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    for v in [
        None,
        Some(V10),
        Some("protocol=2.1,resource=1.0"),
        Some("resource=2.0"),
    ] {
        let (status, body) = api.get(&list_path("alpha"), v).await;
        assert_eq!(status, 400, "{v:?}: {body}");
        assert_eq!(body["code"], 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("protocol=2.0,resource=1.0"));
    }
    let one = format!("/alpha/scripts/{CHECK_EMAIL}");
    // One script reads with 1.0 (getAMScript) or 2.0 (updateScript); any order and spacing.
    for v in [V10, V20, "resource=1.0, protocol=2.0"] {
        let (status, body) = api.get(&one, Some(v)).await;
        assert_eq!(status, 200, "{v}: {body}");
    }
    let (status, _) = api.get(&one, Some("protocol=2.1,resource=1.0")).await;
    assert_eq!(status, 400);
    let (status, _) = api
        .call(reqwest::Method::DELETE, &one, Some(V10), None)
        .await;
    assert_eq!(status, 400, "delete needs 2.0");
    let (status, _) = api
        .get("/alpha/contexts/SCRIPTED_DECISION_NODE", Some(V10))
        .await;
    assert_eq!(status, 400);
    let body = new_script("X", "action.goTo(\"true\");");
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/alpha/scripts?_action=create",
            Some(V10),
            Some(&body),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn create_read_replace_and_delete_a_script() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let source = "var u = nodeState.get(\"username\");\naction.goTo(u ? \"true\" : \"false\");";
    let (status, created) = api
        .call(
            reqwest::Method::POST,
            "/alpha/scripts?_action=create",
            Some(V20),
            Some(&new_script("Has Username", source)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID");
    assert_eq!(created["name"], "Has Username");
    assert_eq!(created["script"], STANDARD.encode(source));
    assert_eq!(created["default"], false);
    assert!(created["creationDate"].is_i64());
    assert!(created["createdBy"].is_string());

    let path = format!("/alpha/scripts/{id}");
    let (status, read) = api.get(&path, Some(V10)).await;
    assert_eq!(status, 200);
    assert_eq!(read, created);
    let (_, listed) = api.get(&list_path("alpha"), Some(V20)).await;
    assert!(names(&listed).contains(&"Has Username".to_string()));
    // Not visible in the other realm.
    let (status, _) = api.get(&format!("/bravo/scripts/{id}"), Some(V20)).await;
    assert_eq!(status, 404);

    // Duplicate names are refused in the same realm only.
    let dup = new_script("Check Email Domain", "action.goTo(\"true\");");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/alpha/scripts?_action=create",
            Some(V20),
            Some(&dup),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["reason"], "Conflict");
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/bravo/scripts?_action=create",
            Some(V20),
            Some(&dup),
        )
        .await;
    assert_eq!(status, 201);

    // PUT replaces the whole script, keeping the creation stamps.
    let mut changed = read.clone();
    changed["description"] = json!("now described");
    changed["script"] = json!(STANDARD.encode("action.goTo(\"false\");"));
    let (status, put) = api
        .call(reqwest::Method::PUT, &path, Some(V20), Some(&changed))
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["description"], "now described");
    assert_eq!(put["creationDate"], created["creationDate"]);
    let (_, again) = api.get(&path, Some(V20)).await;
    assert_eq!(again, put);
    // A rename onto another script's name conflicts.
    changed["name"] = json!("Set Session Properties");
    let (status, _) = api
        .call(reqwest::Method::PUT, &path, Some(V20), Some(&changed))
        .await;
    assert_eq!(status, 409);

    let (status, _) = api
        .call(reqwest::Method::DELETE, &path, Some(V20), None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = api.get(&path, Some(V20)).await;
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "Not Found");
    let (status, _) = api
        .call(reqwest::Method::DELETE, &path, Some(V20), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call(reqwest::Method::PUT, &path, Some(V20), Some(&put))
        .await;
    assert_eq!(status, 404, "PUT does not create");
}

#[tokio::test]
async fn bad_scripts_unknown_realms_and_default_scripts_are_refused() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let mut not_b64 = new_script("A", "x");
    not_b64["script"] = json!("not base64!");
    let mut no_name = new_script("", "x");
    no_name["name"] = json!("  ");
    let mut groovy2 = new_script("G", "x");
    groovy2["language"] = json!("GROOVY");
    let mut bad_version = new_script("V", "x");
    bad_version["evaluatorVersion"] = json!("3.0");
    for body in [not_b64, no_name, groovy2, bad_version, json!([1])] {
        let (status, resp) = api_post(&api, "/alpha/scripts?_action=create", body.clone()).await;
        assert_eq!(status, 400, "{body}: {resp}");
    }
    let (status, _) = api_post(&api, "/alpha/scripts?_action=nope", json!({})).await;
    assert_eq!(status, 400);
    let (status, body) = api.get(&list_path("gamma"), Some(V20)).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = api
        .get(&format!("/gamma/scripts/{CHECK_EMAIL}"), Some(V20))
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/alpha/scripts/{DEFAULT_SCRIPT}"),
            Some(V20),
            None,
        )
        .await;
    assert_eq!(status, 400, "default scripts stay");
    let (status, legacy) = api
        .get(&format!("/alpha/scripts/{LEGACY}"), Some(V10))
        .await;
    assert_eq!(status, 200);
    assert_eq!(legacy["evaluatorVersion"], "1.0");
    // The _id of a PUT body must be the script's.
    let mut moved = legacy.clone();
    moved["_id"] = json!("other");
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/alpha/scripts/{LEGACY}"),
            Some(V20),
            Some(&moved),
        )
        .await;
    assert_eq!(status, 400);
}

async fn api_post(api: &Api, path: &str, body: Value) -> (u16, Value) {
    api.call(reqwest::Method::POST, path, Some(V20), Some(&body))
        .await
}

#[tokio::test]
async fn decision_node_context_lists_bindings_and_imports() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url()).await;
    let (status, body) = api
        .get("/alpha/contexts/SCRIPTED_DECISION_NODE", Some(V20))
        .await;
    assert_eq!(status, 200, "{body}");
    let bindings = body["bindings"].as_array().unwrap();
    for name in [
        "nodeState",
        "action",
        "httpClient",
        "logger",
        "callbacksBuilder",
    ] {
        assert!(
            bindings
                .iter()
                .any(|b| b["name"] == name && b["type"].is_string()),
            "{name}"
        );
    }
    assert!(body["allowedImports"]
        .as_array()
        .unwrap()
        .contains(&json!("java.lang.String")));
    let (status, _) = api.get("/alpha/contexts/OTHER", Some(V20)).await;
    assert_eq!(status, 404);
    let (status, _) = api
        .get("/gamma/contexts/SCRIPTED_DECISION_NODE", Some(V20))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn scripts_need_the_am_scope() {
    let sim = start(http_cfg()).await;
    let c = client();
    let token = resource_token(&sim.base_url(), &c, "fr:idm:*").await;
    let resp = c
        .get(format!("{}/am/json{}", sim.base_url(), list_path("alpha")))
        .bearer_auth(token)
        .header("Accept-API-Version", V20)
        .send()
        .await
        .unwrap();
    assert!(matches!(resp.status().as_u16(), 401 | 403));
}
