//! IDM themes: the `/openidm/ui/theme/` query endpoint and the `ui/themerealm` config.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

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

    async fn get(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::GET, path)).await
    }

    async fn put_config(&self, config: &Value) -> (u16, Value) {
        send(
            self.req(reqwest::Method::PUT, "/openidm/config/ui/themerealm")
                .json(config),
        )
        .await
    }
}

async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    assert!(
        resp.headers().contains_key("x-forgerock-transactionid"),
        "every response carries a transaction id"
    );
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn names(v: &Value) -> Vec<String> {
    v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn lists_a_realms_themes_with_selected_fields() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;

    let (status, body) = api
        .get("/openidm/ui/theme/?realm=alpha&_queryFilter=true&_fields=name%2CisDefault")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["Starter Theme", "Robroy", "Zardoz"]);
    assert_eq!(body["resultCount"], 3);
    assert!(body["pagedResultsCookie"].is_null());
    for t in body["result"].as_array().unwrap() {
        let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["_id", "name", "isDefault"]);
        assert!(uuid::Uuid::parse_str(t["_id"].as_str().unwrap()).is_ok());
    }
    let defaults: Vec<&Value> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["isDefault"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["name"], "Starter Theme");

    // Realms are separate; without _fields every field comes back.
    let (_, body) = api
        .get("/openidm/ui/theme/?realm=bravo&_queryFilter=true")
        .await;
    assert_eq!(names(&body), ["Starter Theme", "Highlander", "Contrast"]);
    let highlander = &body["result"][1];
    assert_eq!(highlander["isDefault"], true);
    assert_eq!(highlander["primaryColor"], "#196ae4");
    assert!(highlander["accountPageSections"]["accountSecurity"]["enabled"] == true);

    // The path also works without the trailing slash; sorting and paging apply.
    let (status, body) = api
        .get("/openidm/ui/theme?realm=alpha&_queryFilter=true&_sortKeys=-name&_pageSize=2")
        .await;
    assert_eq!(status, 200);
    assert_eq!(names(&body), ["Zardoz", "Starter Theme"]);
    assert!(body["pagedResultsCookie"].is_string());

    // A realm without themes has none.
    let (status, body) = api
        .get("/openidm/ui/theme/?realm=gamma&_queryFilter=true")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["resultCount"], 0);
}

#[tokio::test]
async fn filters_by_id_or_name_in_both_encodings() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;

    // Component encoding (%20), as the theme tools send it.
    let (status, body) = api
        .get("/openidm/ui/theme/?realm=alpha&_queryFilter=_id%20eq%20%22Robroy%22%20or%20name%20eq%20%22Robroy%22")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resultCount"], 1);
    assert_eq!(body["result"][0]["name"], "Robroy");
    assert_eq!(body["result"][0]["primaryColor"], "#C60819");
    let id = body["result"][0]["_id"].as_str().unwrap().to_string();

    // Form encoding (+) works the same; the id matches too.
    let (_, body) = api
        .get(&format!(
            "/openidm/ui/theme/?realm=alpha&_queryFilter=_id+eq+%22{id}%22+or+name+eq+%22{id}%22"
        ))
        .await;
    assert_eq!(body["resultCount"], 1);
    assert_eq!(body["result"][0]["_id"], id.as_str());

    // Robroy lives in alpha only.
    let (_, body) = api
        .get("/openidm/ui/theme/?realm=bravo&_queryFilter=name%20eq%20%22Robroy%22")
        .await;
    assert_eq!(body["resultCount"], 0);

    // An escaped quote stays inside the string: no clause is added, nothing matches.
    let (status, body) = api
        .get("/openidm/ui/theme/?realm=alpha&_queryFilter=name%20eq%20%22x%5C%22%20or%20true%20or%20%5C%22y%22")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resultCount"], 0);

    // Read one theme by id.
    let (status, body) = api
        .get(&format!("/openidm/ui/theme/{id}?realm=alpha"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "Robroy");
    let (status, body) = api.get("/openidm/ui/theme/nope?realm=alpha").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], 404);
    assert_eq!(body["reason"], "Not Found");
}

#[tokio::test]
async fn bad_queries_get_crest_errors() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    for path in [
        "/openidm/ui/theme/?_queryFilter=true",
        "/openidm/ui/theme/?realm=alpha",
        "/openidm/ui/theme/?realm=alpha&_queryFilter=name%20eq%20%22unterminated",
        "/openidm/ui/theme/?realm=alpha&_queryFilter=true&_pageSize=x",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], 400);
        assert_eq!(body["reason"], "Bad Request");
        assert!(body["message"].is_string());
    }
    let (status, body) = send(
        api.req(reqwest::Method::POST, "/openidm/ui/theme/?realm=alpha")
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, 405, "{body}");
    let (status, _) = send(api.req(reqwest::Method::DELETE, "/openidm/config/ui/themerealm")).await;
    assert_eq!(status, 405);
    let (status, _) = api.get("/openidm/ui/themes?realm=alpha").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn config_read_put_round_trip() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, config) = api.get("/openidm/config/ui/themerealm").await;
    assert_eq!(status, 200);
    assert_eq!(config["_id"], "ui/themerealm");
    let keys: Vec<&str> = config["realm"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["alpha", "bravo"]);

    // Add a theme and move the default to it; the query endpoint sees the change.
    let mut updated = config.clone();
    let alpha = updated["realm"]["alpha"].as_array_mut().unwrap();
    for t in alpha.iter_mut() {
        t["isDefault"] = json!(false);
    }
    alpha.push(json!({"_id": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "name": "Acme", "isDefault": true, "primaryColor": "#0066cc"}));
    let (status, stored) = api.put_config(&updated).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored, updated);
    let (_, body) = api
        .get("/openidm/ui/theme/?realm=alpha&_queryFilter=isDefault%20eq%20true&_fields=name")
        .await;
    assert_eq!(names(&body), ["Acme"]);
    let (_, again) = api.get("/openidm/config/ui/themerealm").await;
    assert_eq!(again, updated);
    assert_eq!(again["realm"]["bravo"], config["realm"]["bravo"]);

    // The _id is the config's own, whatever the body says.
    let mut renamed = updated.clone();
    renamed["_id"] = json!("something/else");
    let (status, stored) = api.put_config(&renamed).await;
    assert_eq!(status, 200);
    assert_eq!(stored["_id"], "ui/themerealm");

    // Broken documents are refused and change nothing.
    let two_defaults = {
        let mut c = updated.clone();
        c["realm"]["alpha"][0]["isDefault"] = json!(true);
        c
    };
    let duplicate_name = {
        let mut c = updated.clone();
        c["realm"]["alpha"][1]["name"] = json!("Acme");
        c
    };
    let nameless = {
        let mut c = updated.clone();
        c["realm"]["alpha"][1]
            .as_object_mut()
            .unwrap()
            .remove("name");
        c
    };
    for bad in [
        json!([]),
        json!({"_id": "ui/themerealm"}),
        json!({"realm": {"alpha": {}}}),
        two_defaults,
        duplicate_name,
        nameless,
    ] {
        let (status, body) = api.put_config(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["reason"], "Bad Request");
    }
    let (status, body) = send(
        api.req(reqwest::Method::PUT, "/openidm/config/ui/themerealm")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (_, after) = api.get("/openidm/config/ui/themerealm").await;
    assert_eq!(after, updated);
}

#[tokio::test]
async fn theme_endpoints_need_an_idm_token() {
    let sim = start(http_cfg()).await;
    let c = client();
    let resp = c
        .get(format!(
            "{}/openidm/ui/theme/?realm=alpha&_queryFilter=true",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let am = Api::new(sim.base_url(), "fr:am:*").await;
    let (status, _) = am.get("/openidm/config/ui/themerealm").await;
    assert_eq!(status, 403);
    let primary = login(&sim.base_url(), &c, ALL_SCOPES).await;
    let resp = c
        .get(format!("{}/openidm/config/ui/themerealm", sim.base_url()))
        .bearer_auth(primary)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        401,
        "the primary token is not a resource token"
    );
}
