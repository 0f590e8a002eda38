//! ESV endpoints: variables and secrets under `/environment`.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

const R2: &str = "resource=2.0";
const V10: &str = "protocol=1.0,resource=1.0";

struct Api {
    base: String,
    c: reqwest::Client,
    token: String,
}

impl Api {
    async fn new(base: String, scope: &str) -> Self {
        let c = client();
        let token = resource_token(&base, &c, scope).await;
        Api { base, c, token }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn get(&self, path: &str, version: Option<&str>) -> (u16, Value) {
        let mut rb = self.req(reqwest::Method::GET, path);
        if let Some(v) = version {
            rb = rb.header("Accept-API-Version", v);
        }
        send(rb).await
    }

    async fn put(&self, id: &str, version: &str, body: &Value) -> (u16, Value) {
        send(
            self.req(
                reqwest::Method::PUT,
                &format!("/environment/variables/{id}"),
            )
            .header("Accept-API-Version", version)
            .json(body),
        )
        .await
    }

    async fn delete(&self, id: &str, version: &str) -> (u16, Value) {
        send(
            self.req(
                reqwest::Method::DELETE,
                &format!("/environment/variables/{id}"),
            )
            .header("Accept-API-Version", version),
        )
        .await
    }
}

async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
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

fn ids(v: &Value) -> Vec<String> {
    v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["_id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn decoded(v: &Value) -> String {
    String::from_utf8(STANDARD.decode(v["valueBase64"].as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn variable_queries_need_resource_2_and_filter_sort_and_page() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idc:esv:read").await;

    let (status, body) = api
        .get("/environment/variables?_queryFilter=true", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 400);
    assert_eq!(body["reason"], "Bad Request");
    assert!(body["message"].as_str().unwrap().contains("resource=2.0"));
    let (status, _) = api
        .get(
            "/environment/variables?_queryFilter=true",
            Some("resource=1.0"),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = api.get("/environment/variables", Some(R2)).await;
    assert_eq!(status, 400, "_queryFilter is required");

    let (status, all) = api
        .get(
            "/environment/variables?_queryFilter=true&_pageSize=50",
            Some(R2),
        )
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        ids(&all),
        [
            "esv-allowed-origins",
            "esv-debug",
            "esv-feature-flags",
            "esv-max-sessions",
            "esv-tenant-name",
            "esv-trusted-networks"
        ]
    );
    assert_eq!(all["resultCount"], 6);
    assert!(all["pagedResultsCookie"].is_null());
    assert_eq!(all["totalPagedResultsPolicy"], "NONE");
    assert_eq!(all["totalPagedResults"], -1);
    assert_eq!(all["remainingPagedResults"], -1);
    let origins = &all["result"][0];
    assert_eq!(origins["expressionType"], "array");
    assert_eq!(origins["loaded"], true);
    assert_eq!(
        serde_json::from_str::<Value>(&decoded(origins)).unwrap(),
        json!(["https://app.example.com", "https://admin.example.com"])
    );
    for key in [
        "_id",
        "description",
        "valueBase64",
        "expressionType",
        "lastChangeDate",
        "lastChangedBy",
        "loaded",
    ] {
        assert!(origins.get(key).is_some(), "{key}");
    }

    // The tool's filter, form-encoded (`+`) and component-encoded (`%20`).
    for q in [
        "_queryFilter=%2F_id+co+%22max%22&_pageSize=50",
        "_queryFilter=%2F_id%20co%20%22MAX%22",
    ] {
        let (status, hit) = api
            .get(&format!("/environment/variables?{q}"), Some(R2))
            .await;
        assert_eq!(status, 200, "{hit}");
        assert_eq!(ids(&hit), ["esv-max-sessions"], "{q}");
    }
    // An escaped quote stays inside the string: nothing matches, nothing breaks.
    let (status, none) = api
        .get(
            "/environment/variables?_queryFilter=%2F_id+co+%22x%5C%22+or+true+or+%5C%22%22",
            Some(R2),
        )
        .await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none["resultCount"], 0);
    let (status, _) = api
        .get("/environment/variables?_queryFilter=%2F_id+co", Some(R2))
        .await;
    assert_eq!(status, 400, "a broken filter is a 400");

    // Paging with the cookie, and sort keys.
    let (_, page1) = api
        .get(
            "/environment/variables?_queryFilter=true&_pageSize=4&_sortKeys=-lastChangeDate",
            Some(R2),
        )
        .await;
    assert_eq!(
        ids(&page1),
        [
            "esv-debug",
            "esv-max-sessions",
            "esv-feature-flags",
            "esv-allowed-origins"
        ]
    );
    let cookie = page1["pagedResultsCookie"].as_str().unwrap().to_string();
    let (_, page2) = api
        .get(
            &format!(
                "/environment/variables?_queryFilter=true&_pageSize=4&_sortKeys=-lastChangeDate&_pagedResultsCookie={cookie}"
            ),
            Some(R2),
        )
        .await;
    assert_eq!(ids(&page2), ["esv-tenant-name", "esv-trusted-networks"]);
    assert!(page2["pagedResultsCookie"].is_null());
}

#[tokio::test]
async fn secrets_are_listed_without_values() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idc:esv:read").await;
    let (status, _) = api
        .get("/environment/secrets?_queryFilter=true", None)
        .await;
    assert_eq!(status, 400);
    let (status, all) = api
        .get(
            "/environment/secrets?_queryFilter=true&_pageSize=50",
            Some(R2),
        )
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        ids(&all),
        [
            "esv-oauth-client-secret",
            "esv-signing-key",
            "esv-smtp-password",
            "esv-webhook-hmac-key"
        ]
    );
    for s in all["result"].as_array().unwrap() {
        let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "_id",
                "description",
                "encoding",
                "useInPlaceholders",
                "lastChangeDate",
                "lastChangedBy",
                "loaded",
                "activeVersion"
            ]
        );
    }
    let (_, hit) = api
        .get(
            "/environment/secrets?_queryFilter=%2F_id+co+%22oauth%22",
            Some(R2),
        )
        .await;
    assert_eq!(ids(&hit), ["esv-oauth-client-secret"]);
    let (status, one) = api
        .get("/environment/secrets/esv-signing-key", Some(R2))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["encoding"], "pem");
    assert!(one.get("valueBase64").is_none());
    let writer = Api::new(sim.base_url(), "fr:idc:esv:update").await;
    let (status, _) = send(
        writer
            .req(reqwest::Method::PUT, "/environment/secrets/esv-x")
            .header("Accept-API-Version", R2)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 405, "secrets are read-only here");
}

#[tokio::test]
async fn scopes_read_for_get_and_update_for_writes() {
    let sim = start(http_cfg()).await;
    let reader = Api::new(sim.base_url(), "fr:idc:esv:read").await;
    let writer = Api::new(sim.base_url(), "fr:idc:esv:update").await;
    let (status, _) = writer
        .get("/environment/variables/esv-debug", Some(R2))
        .await;
    assert_eq!(status, 403, "GET needs esv:read");
    let body = json!({"valueBase64": STANDARD.encode("true"), "expressionType": "bool"});
    let (status, _) = reader.put("esv-debug", R2, &body).await;
    assert_eq!(status, 403, "PUT needs esv:update");
    let (status, _) = reader.delete("esv-debug", V10).await;
    assert_eq!(status, 403, "DELETE needs esv:update");
    let idm = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, _) = idm.get("/environment/variables/esv-debug", Some(R2)).await;
    assert_eq!(status, 403);
    let (status, _) = send(
        client()
            .get(format!(
                "{}/environment/variables/esv-debug",
                sim.base_url()
            ))
            .header("Accept-API-Version", R2),
    )
    .await;
    assert_eq!(status, 401, "no token");
}

#[tokio::test]
async fn put_creates_then_updates_and_delete_removes() {
    let sim = start(http_cfg()).await;
    let reader = Api::new(sim.base_url(), "fr:idc:esv:read").await;
    let writer = Api::new(sim.base_url(), "fr:idc:esv:update").await;

    let (status, seeded) = reader
        .get("/environment/variables/esv-max-sessions", Some(R2))
        .await;
    assert_eq!(status, 200);
    assert_eq!(decoded(&seeded), "5");
    assert_eq!(seeded["expressionType"], "int");
    let (status, _) = reader
        .get("/environment/variables/esv-max-sessions", None)
        .await;
    assert_eq!(status, 400, "a read needs resource=2.0");
    let (status, missing) = reader
        .get("/environment/variables/esv-nope", Some(R2))
        .await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], 404);
    assert_eq!(missing["reason"], "Not Found");

    let body = json!({"_id": "esv-welcome", "description": "Greeting",
        "valueBase64": STANDARD.encode("Hello, world"), "expressionType": "string"});
    let (status, _) = writer.put("esv-welcome", "resource=1.0", &body).await;
    assert_eq!(status, 400, "a write needs resource=2.0");
    let (status, created) = writer.put("esv-welcome", R2, &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["_id"], "esv-welcome");
    assert_eq!(created["loaded"], false, "loaded after a pod restart");
    assert_eq!(created["lastChangedBy"], "admin");
    assert!(created["lastChangeDate"].as_str().unwrap().ends_with('Z'));
    let (_, read) = reader
        .get("/environment/variables/esv-welcome", Some(R2))
        .await;
    assert_eq!(read, created);
    assert_eq!(decoded(&read), "Hello, world");

    let update = json!({"_id": "esv-welcome", "description": "",
        "valueBase64": STANDARD.encode("Bye"), "expressionType": "string"});
    let (status, updated) = writer.put("esv-welcome", R2, &update).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(decoded(&updated), "Bye");
    assert_eq!(updated["description"], "");

    // The type cannot change; values must parse as their type.
    let retype = json!({"valueBase64": STANDARD.encode("42"), "expressionType": "int"});
    let (status, e) = writer.put("esv-welcome", R2, &retype).await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("cannot be changed"),
        "{e}"
    );
    for (ty, text) in [
        ("int", "\"42\""),
        ("int", "4.2"),
        ("bool", "yes"),
        ("array", "{\"a\":1}"),
        ("object", "[1]"),
        ("number", "many"),
    ] {
        let (status, e) = writer
            .put(
                "esv-typed",
                R2,
                &json!({"valueBase64": STANDARD.encode(text), "expressionType": ty}),
            )
            .await;
        assert_eq!(status, 400, "{ty} {text}: {e}");
    }
    for (id, body) in [
        (
            "ESV-UPPER",
            json!({"valueBase64": "eA==", "expressionType": "string"}),
        ),
        (
            "esv-x",
            json!({"valueBase64": "not base64!", "expressionType": "string"}),
        ),
        ("esv-x", json!({"expressionType": "string"})),
        (
            "esv-x",
            json!({"valueBase64": "eA==", "expressionType": "float"}),
        ),
        (
            "esv-x",
            json!({"_id": "esv-y", "valueBase64": "eA==", "expressionType": "string"}),
        ),
        ("esv-x", json!(["not", "an", "object"])),
    ] {
        let (status, e) = writer.put(id, R2, &body).await;
        assert_eq!(status, 400, "{id} {body}: {e}");
    }

    let (status, _) = writer.delete("esv-welcome", R2).await;
    assert_eq!(status, 400, "a delete needs protocol=1.0,resource=1.0");
    let (status, _) = writer.delete("esv-welcome", "resource=1.0").await;
    assert_eq!(status, 400);
    let (status, deleted) = writer.delete("esv-welcome", V10).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["_id"], "esv-welcome");
    let (status, _) = reader
        .get("/environment/variables/esv-welcome", Some(R2))
        .await;
    assert_eq!(status, 404);
    let (status, _) = writer.delete("esv-welcome", V10).await;
    assert_eq!(status, 404);

    // Percent-encoded ids are decoded before lookup.
    let (status, _) = reader
        .get("/environment/variables/esv%2Ddebug", Some(R2))
        .await;
    assert_eq!(status, 200);
}
