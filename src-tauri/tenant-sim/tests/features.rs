//! Feature management: IDM features (list, read, validate, install), AI-agent enablement and
//! the AM realm OAuth2 provider service.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const AM21: &str = "protocol=2.1,resource=1.0";
const PROVIDER: &str = "/am/json/realms/root/realms/alpha/realm-config/services/oauth-oidc";

struct Api {
    base: String,
    c: reqwest::Client,
    primary: String,
    token: String,
}

impl Api {
    async fn new(base: String, scope: &str) -> Self {
        let c = client();
        let primary = login(&base, &c, ALL_SCOPES).await;
        let token = exchange(&base, &c, &primary, scope).await;
        Api {
            base,
            c,
            primary,
            token,
        }
    }

    /// Another exchanged token of the same login.
    async fn token_for(&self, scope: &str) -> String {
        exchange(&self.base, &self.c, &self.primary, scope).await
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        send(self.req(Method::GET, path)).await
    }

    async fn post(&self, path: &str) -> (u16, Value) {
        send(self.req(Method::POST, path).json(&json!({}))).await
    }

    async fn provider(&self, realm: &str) -> (u16, Value) {
        send(
            self.req(
                Method::GET,
                &format!("/am/json/realms/root/realms/{realm}/realm-config/services/oauth-oidc"),
            )
            .header("Accept-API-Version", AM21),
        )
        .await
    }

    async fn feature(&self, id: &str) -> Value {
        let (status, list) = self.get("/openidm/feature?_queryFilter=true").await;
        assert_eq!(status, 200);
        list["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["_id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
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

#[tokio::test]
async fn feature_list_is_seeded_and_queryable() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, list) = api.get("/openidm/feature?_queryFilter=true").await;
    assert_eq!(status, 200);
    let result = list["result"].as_array().unwrap();
    assert_eq!(list["resultCount"], result.len());
    assert_eq!(list["pagedResultsCookie"], Value::Null);
    let ids: Vec<&str> = result.iter().map(|f| f["_id"].as_str().unwrap()).collect();
    for id in [
        "groups",
        "password/timestamps",
        "indexed/strings/6thru20",
        "am/2fa/profiles",
        "aiagent",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    for f in result {
        assert!(f["availableVersions"].is_array(), "{f}");
        assert!(f.as_object().unwrap().contains_key("installedVersion"));
    }
    assert_eq!(
        result[0],
        json!({"_id": "groups", "installedVersion": "1.0.0", "availableVersions": ["1.0.0"]})
    );
    assert_eq!(
        api.feature("aiagent").await["installedVersion"],
        Value::Null
    );
    assert_eq!(
        api.feature("am/2fa/profiles").await["installedVersion"],
        "1.0.0"
    );

    // A CREST filter narrows the list; a query without a filter is refused.
    let (status, some) = api
        .get("/openidm/feature?_queryFilter=installedVersion%20pr")
        .await;
    assert_eq!(status, 200);
    assert_eq!(some["resultCount"], 2, "{some}");
    let (status, body) = api.get("/openidm/feature").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], 400);
    assert_eq!(body["reason"], "Bad Request");

    // Reading one feature by its multi-part name.
    let (status, one) = api.get("/openidm/feature/password/timestamps").await;
    assert_eq!(status, 200);
    assert_eq!(one["availableVersions"], json!(["1.0.0", "1.1.0"]));
    let (status, body) = api.get("/openidm/feature/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "Not Found");
}

#[tokio::test]
async fn validate_answers_200_and_changes_nothing() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, ok) = api
        .post("/openidm/feature/indexed/strings/6thru20?_action=validate")
        .await;
    assert_eq!(status, 200);
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["success"], true);
    assert!(ok["message"].as_str().unwrap().contains("can be installed"));

    let (status, installed) = api.post("/openidm/feature/groups?_action=validate").await;
    assert_eq!(status, 200);
    assert_eq!(installed["success"], false);
    assert!(installed["message"]
        .as_str()
        .unwrap()
        .contains("already installed"));

    let (status, unknown) = api
        .post("/openidm/feature/no/such/feature?_action=validate")
        .await;
    assert_eq!(status, 200);
    assert_eq!(unknown["success"], false);
    assert!(unknown["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));

    assert_eq!(
        api.feature("indexed/strings/6thru20").await["installedVersion"],
        Value::Null,
        "validate installs nothing"
    );
}

#[tokio::test]
async fn install_marks_the_feature_installed_once() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, body) = api
        .post("/openidm/feature/password/timestamps?_action=install")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status": 200, "message": "Install complete."}));
    assert_eq!(
        api.feature("password/timestamps").await["installedVersion"],
        "1.1.0",
        "the latest available version"
    );

    for path in [
        "/openidm/feature/password/timestamps?_action=install",
        "/openidm/feature/nope?_action=install",
    ] {
        let (status, body) = api.post(path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["code"], 400);
        assert_eq!(body["reason"], "Bad Request");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Feature validation failed: "));
    }
    let (_, v) = api
        .post("/openidm/feature/password/timestamps?_action=validate")
        .await;
    assert_eq!(v["success"], false);
}

#[tokio::test]
async fn feature_paths_and_actions_are_checked() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    // An encoded '/' inside one segment names no feature; nor does an empty segment.
    for path in [
        "/openidm/feature/password%2Ftimestamps?_action=validate",
        "/openidm/feature/password//timestamps?_action=validate",
    ] {
        let (status, _) = api.post(path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, body) = api.post("/openidm/feature/groups").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("_action"));
    let (status, _) = api.post("/openidm/feature/groups?_action=uninstall").await;
    assert_eq!(status, 400);
    let (status, _) = send(
        api.req(Method::POST, "/openidm/feature/groups?_action=validate")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(api.req(Method::DELETE, "/openidm/feature/groups")).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn provider_service_needs_the_api_version_and_a_known_realm() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:*").await;
    for realm in ["alpha", "bravo"] {
        let (status, config) = api.provider(realm).await;
        assert_eq!(status, 200);
        assert_eq!(config["_id"], "");
        assert_eq!(config["_type"]["_id"], "oauth-oidc");
        assert_eq!(config["_type"]["name"], "OAuth2 Provider");
        assert_eq!(config["aiAgentsConfig"], json!({"aiAgentsEnabled": false}));
        assert!(config["coreOAuth2Config"].is_object());
        assert!(config["_rev"].is_string());
    }
    let (status, body) = send(api.req(Method::GET, PROVIDER)).await;
    assert_eq!(status, 400, "no Accept-API-Version: {body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("protocol=2.1,resource=1.0"));
    let (status, _) = send(
        api.req(Method::GET, PROVIDER)
            .header("Accept-API-Version", "protocol=1.0,resource=1.0"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        api.req(Method::GET, PROVIDER)
            .header("accept-api-version", "resource=1.0, protocol=2.1"),
    )
    .await;
    assert_eq!(status, 200, "order and spacing do not matter");
    let (status, body) = api.provider("gamma").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], 404);
    let (status, _) = send(
        api.req(
            Method::GET,
            "/am/json/realms/root/realms/alpha/realm-config/services/other",
        )
        .header("Accept-API-Version", AM21),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn provider_put_changes_the_named_attributes() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:*").await;
    let (_, before) = api.provider("alpha").await;
    let (status, after) = send(
        api.req(Method::PUT, PROVIDER)
            .header("Accept-API-Version", AM21)
            .json(&json!({"aiAgentsConfig": {"aiAgentsEnabled": true}})),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["aiAgentsConfig"]["aiAgentsEnabled"], true);
    assert_eq!(after["coreOAuth2Config"], before["coreOAuth2Config"]);
    assert_ne!(after["_rev"], before["_rev"]);
    assert_eq!(api.provider("alpha").await.1, after);
    assert_eq!(
        api.provider("bravo").await.1["aiAgentsConfig"]["aiAgentsEnabled"],
        false,
        "realms are independent"
    );
    let (status, _) = send(
        api.req(Method::PUT, PROVIDER)
            .header("Accept-API-Version", AM21)
            .json(&json!([1])),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn enabling_ai_agents_turns_on_all_three_components() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:* fr:idm:*").await;
    assert_eq!(
        api.feature("aiagent").await["installedVersion"],
        Value::Null
    );
    for _ in 0..2 {
        let (status, body) = api.post("/environment/aiagent?_action=enable").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({}));
        assert_eq!(api.feature("aiagent").await["installedVersion"], "1.0.0");
        for realm in ["alpha", "bravo"] {
            assert_eq!(
                api.provider(realm).await.1["aiAgentsConfig"]["aiAgentsEnabled"],
                true,
                "{realm}"
            );
        }
    }
    let (status, _) = api.post("/environment/aiagent?_action=disable").await;
    assert_eq!(status, 400);
    let (status, _) = api.post("/environment/aiagent").await;
    assert_eq!(status, 400);
    let (status, _) = api.get("/environment/aiagent?_action=enable").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn each_endpoint_needs_its_scopes() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:* fr:idm:*").await;
    let idm_only = api.token_for("fr:idm:*").await;
    let am_only = api.token_for("fr:am:*").await;
    let as_token = |token: &str, method: Method, path: &str| {
        api.c
            .request(method, format!("{}{path}", api.base))
            .bearer_auth(token)
            .header("Accept-API-Version", AM21)
    };
    let (status, _) = send(as_token(
        &idm_only,
        Method::POST,
        "/environment/aiagent?_action=enable",
    ))
    .await;
    assert_eq!(status, 403, "aiagent needs fr:am:* and fr:idm:*");
    let (status, _) = send(as_token(
        &am_only,
        Method::POST,
        "/environment/aiagent?_action=enable",
    ))
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(as_token(
        &am_only,
        Method::GET,
        "/openidm/feature?_queryFilter=true",
    ))
    .await;
    assert_eq!(status, 403, "IDM needs fr:idm:*");
    let (status, _) = send(as_token(&idm_only, Method::GET, PROVIDER)).await;
    assert_eq!(status, 403, "AM needs fr:am:*");
    let (status, _) = send(
        api.c
            .get(format!("{}/openidm/feature?_queryFilter=true", api.base))
            .bearer_auth(&api.primary),
    )
    .await;
    assert_eq!(status, 401, "the primary token is not a resource token");
    // One token with both scopes reaches all three kinds of endpoint.
    assert_eq!(api.get("/openidm/feature?_queryFilter=true").await.0, 200);
    assert_eq!(api.provider("bravo").await.0, 200);
}
