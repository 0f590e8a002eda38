//! IDM managed objects/config/schema and monitoring logs.
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
}

async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.unwrap();
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
        .map(|o| o["userName"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn managed_config_read_patch_put() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, config) = api.get("/openidm/config/managed").await;
    assert_eq!(status, 200);
    assert_eq!(config["_id"], "managed");
    let names: Vec<&str> = config["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for t in [
        "alpha_user",
        "bravo_user",
        "alpha_role",
        "bravo_role",
        "alpha_group",
        "bravo_group",
        "alpha_organization",
        "bravo_organization",
        "alpha_application",
        "bravo_application",
    ] {
        assert!(names.contains(&t), "{t}");
    }
    let user = config["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "alpha_user")
        .unwrap();
    assert_eq!(
        user["schema"]["required"],
        json!(["userName", "givenName", "sn", "mail"])
    );
    let roles = &user["schema"]["properties"]["roles"];
    assert_eq!(roles["type"], "array");
    assert_eq!(roles["items"]["type"], "relationship");
    assert_eq!(
        roles["items"]["resourceCollection"][0]["path"],
        "managed/alpha_role"
    );
    assert_eq!(
        user["schema"]["properties"]["manager"]["resourceCollection"][0]["path"],
        "managed/alpha_user"
    );

    let ops = json!([{"operation": "add", "field": "/objects/-",
        "value": {"name": "alpha_device", "schema": {"required": ["serial"], "properties": {"serial": {"type": "string"}}}}}]);
    let (status, _) = send(
        api.req(reqwest::Method::PATCH, "/openidm/config/managed")
            .json(&ops),
    )
    .await;
    assert_eq!(status, 412, "If-Match is required");
    let (status, patched) = send(
        api.req(reqwest::Method::PATCH, "/openidm/config/managed")
            .header("If-Match", "*")
            .json(&ops),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        patched["objects"].as_array().unwrap().last().unwrap()["name"],
        "alpha_device"
    );

    let (status, body) = send(
        api.req(
            reqwest::Method::POST,
            "/openidm/managed/alpha_device?_action=create",
        )
        .json(&json!({"model": "x"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = send(
        api.req(
            reqwest::Method::POST,
            "/openidm/managed/alpha_device?_action=create",
        )
        .json(&json!({"serial": "SN1"})),
    )
    .await;
    assert_eq!(status, 201);

    let mut config = patched;
    config["objects"]
        .as_array_mut()
        .unwrap()
        .retain(|o| o["name"] != "alpha_device");
    let (status, _) = send(
        api.req(reqwest::Method::PUT, "/openidm/config/managed")
            .header("If-Match", "*")
            .json(&config),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .get("/openidm/managed/alpha_device?_queryFilter=true")
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "Not Found");
}

#[tokio::test]
async fn queries_filter_sort_page_and_select() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;

    let (status, body) = api
        .get("/openidm/managed/alpha_user?_queryFilter=accountStatus+eq+%22active%22&_sortKeys=userName&_fields=userName,mail")
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body), ["agarcia", "bjensen", "kwong", "scarter"]);
    assert_eq!(body["resultCount"], 4);
    assert!(body["pagedResultsCookie"].is_null());
    assert_eq!(body["totalPagedResultsPolicy"], "NONE");
    let first = body["result"][0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["_id", "_rev", "mail", "userName"]);

    // %20 works like +, and a leading slash is optional.
    let (_, body) = api
        .get("/openidm/managed/alpha_user?_queryFilter=%2FgivenName%20sw%20%22Ba%22%20or%20sn%20eq%20%22Wong%22&_sortKeys=-userName")
        .await;
    assert_eq!(ids(&body), ["kwong", "bjensen"]);

    // Walk pages with the cookie.
    let mut seen = Vec::new();
    let mut cookie: Option<String> = None;
    loop {
        let mut path = "/openidm/managed/alpha_user?_queryFilter=true&_pageSize=2&_sortKeys=userName&_totalPagedResultsPolicy=EXACT".to_string();
        if let Some(c) = &cookie {
            path.push_str(&format!("&_pagedResultsCookie={c}"));
        }
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 200);
        assert_eq!(body["totalPagedResults"], 5);
        assert_eq!(body["totalPagedResultsPolicy"], "EXACT");
        seen.extend(ids(&body));
        assert_eq!(body["remainingPagedResults"], 5 - seen.len());
        match body["pagedResultsCookie"].as_str() {
            Some(c) => cookie = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["agarcia", "bjensen", "jdoe", "kwong", "scarter"]);

    let (status, body) = api
        .get("/openidm/managed/alpha_user?_queryFilter=userName+eq+bjensen")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], 400);
    let (status, _) = api.get("/openidm/managed/alpha_user").await;
    assert_eq!(status, 400);
    let (status, body) = api
        .get("/openidm/managed/charlie_user?_queryFilter=true")
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "Not Found");
    let (status, body) = api
        .get("/openidm/managed/bravo_role?_queryFilter=name+co+%22aud%22")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"][0]["name"], "Auditor");
}

#[tokio::test]
async fn object_crud_with_revisions() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;

    let (status, body) = send(
        api.req(
            reqwest::Method::POST,
            "/openidm/managed/alpha_user?_action=create",
        )
        .json(&json!({"userName": "newbie", "givenName": "New"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("sn"));

    let (status, created) = send(
        api.req(reqwest::Method::POST, "/openidm/managed/alpha_user?_action=create")
            .json(&json!({"userName": "newbie", "givenName": "New", "sn": "Bie", "mail": "n@example.com"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(created["_rev"], "1");
    let id = created["_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    let path = format!("/openidm/managed/alpha_user/{id}");
    let (status, got) = api.get(&path).await;
    assert_eq!((status, &got), (200, &created));

    let ops = json!([{"operation": "replace", "field": "/mail", "value": "new@example.com"}]);
    let patch = |rev: Option<&str>| {
        let rb = api.req(reqwest::Method::PATCH, &path).json(&ops);
        match rev {
            Some(r) => rb.header("If-Match", r.to_string()),
            None => rb,
        }
    };
    let (status, body) = send(patch(None)).await;
    assert_eq!(status, 412);
    let (status, body2) = send(patch(Some("7"))).await;
    assert_eq!(status, 412);
    assert_eq!(body2["reason"], "Precondition Failed");
    assert_eq!(body2["code"], 412);
    let _ = body;
    let (status, body) = send(patch(Some("1"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["_rev"].as_str(), body["mail"].as_str()),
        (Some("2"), Some("new@example.com"))
    );
    let ops2 = json!([{"operation": "add", "field": "/description", "value": "hi"}]);
    let (status, body) = send(
        api.req(reqwest::Method::PATCH, &path)
            .header("If-Match", "*")
            .json(&ops2),
    )
    .await;
    assert_eq!((status, body["_rev"].as_str()), (200, Some("3")));
    let (status, _) = send(
        api.req(reqwest::Method::PATCH, &path)
            .header("If-Match", "3")
            .json(&json!([{"operation": "remove", "field": "/sn"}])),
    )
    .await;
    assert_eq!(status, 400, "required fields stay");

    let (status, deleted) = send(api.req(reqwest::Method::DELETE, &path)).await;
    assert_eq!(status, 200);
    assert_eq!(deleted["_id"], id.as_str());
    assert_eq!(deleted["description"], "hi");
    let (status, _) = api.get(&path).await;
    assert_eq!(status, 404);
    let (status, _) = send(api.req(reqwest::Method::DELETE, &path)).await;
    assert_eq!(status, 404);
    let (status, _) = send(patch(Some("*"))).await;
    assert_eq!(status, 404);

    // Percent-encoded ids are decoded before matching.
    let (status, body) = api
        .get("/openidm/managed/alpha%5Fuser/a1000000%2D0000-4000-8000-000000000001")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["userName"], "bjensen");
}

#[tokio::test]
async fn schema_service_properties() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:idm:*").await;
    let path = "/openidm/schema/managed/alpha_user/properties/custom_mentor";
    let def = json!({"type": "relationship", "title": "Mentor", "reverseRelationship": false,
        "resourceCollection": [{"path": "managed/alpha_user", "label": "User"}]});

    let (status, _) = send(
        api.req(reqwest::Method::PUT, path)
            .header("If-Match", "*")
            .json(&def),
    )
    .await;
    assert_eq!(status, 400, "needs Accept-API-Version");
    let (status, _) = send(
        api.req(reqwest::Method::PUT, path)
            .header("Accept-API-Version", "resource=2.0")
            .json(&def),
    )
    .await;
    assert_eq!(status, 400, "needs If-Match");
    let put = || {
        api.req(reqwest::Method::PUT, path)
            .header("accept-api-version", "resource=2.0")
            .header("If-Match", "*")
            .json(&def)
    };
    let (status, body) = send(put()).await;
    assert_eq!((status, &body), (200, &def));
    let (_, config) = api.get("/openidm/config/managed").await;
    let user = config["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "alpha_user")
        .unwrap();
    assert_eq!(user["schema"]["properties"]["custom_mentor"], def);
    assert_eq!(
        user["schema"]["order"].as_array().unwrap().last().unwrap(),
        "custom_mentor"
    );

    let delete = || {
        api.req(reqwest::Method::DELETE, path)
            .header("Accept-API-Version", "resource=2.0")
            .header("If-Match", "*")
    };
    let (status, _) = send(delete()).await;
    assert_eq!(status, 200);
    let (status, _) = send(delete()).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        api.req(
            reqwest::Method::PUT,
            "/openidm/schema/managed/nope_user/properties/custom_x",
        )
        .header("Accept-API-Version", "resource=2.0")
        .header("If-Match", "*")
        .json(&def),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn log_sources_and_queries() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let logs = Api::new(base.clone(), "fr:idc:monitoring:*").await;
    let idm = Api::new(base.clone(), "fr:idm:*").await;

    let (status, body) = logs.get("/monitoring/logs/sources").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"result": ["am-access","am-activity","am-authentication","am-config","am-core","idm-access",
            "idm-activity","idm-config","idm-core","idm-sync"], "resultCount": 10, "pagedResultsCookie": null,
            "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1, "remainingPagedResults": -1})
    );

    let (status, _) = logs.get("/monitoring/logs").await;
    assert_eq!(status, 400, "source is required");
    let (status, _) = logs
        .get("/monitoring/logs?source=am-core&beginTime=2025-01-01T00%3A00%3A00Z&endTime=2025-01-02T00%3A00%3A01Z")
        .await;
    assert_eq!(status, 400, "window over 24h");
    let (status, _) = logs
        .get("/monitoring/logs?source=am-core&beginTime=yesterday")
        .await;
    assert_eq!(status, 400);
    let (status, _) = logs
        .get("/monitoring/logs?source=am-core&_queryFilter=payload%2Flevel+eq+%22ERROR%22")
        .await;
    assert_eq!(status, 500, "paths must start with /");

    let (status, body) = logs
        .get("/monitoring/logs?source=am-core%2Cidm-core&_queryFilter=%2Fpayload%2Flevel+eq+%22ERROR%22&_pageSize=100")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["resultCount"], 1);
    let entry = &body["result"][0];
    assert_eq!(entry["source"], "am-core");
    assert_eq!(entry["type"], "application/json");
    assert!(entry["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(entry["payload"]["transactionId"].is_string());

    // Paging over everything in the window.
    let all_sources = "am-access,am-activity,am-authentication,am-config,am-core,idm-access,idm-activity,idm-config,idm-core,idm-sync";
    let (_, body) = logs
        .get(&format!(
            "/monitoring/logs?source={all_sources}&_pageSize=5"
        ))
        .await;
    assert_eq!(body["resultCount"], 5);
    let cookie = body["pagedResultsCookie"].as_str().unwrap().to_string();
    let (_, next) = logs
        .get(&format!(
            "/monitoring/logs?source={all_sources}&_pageSize=5&_pagedResultsCookie={cookie}"
        ))
        .await;
    assert_ne!(next["result"][0], body["result"][0]);

    // Every served IDM request gets an idm-access entry findable by its transaction id.
    let resp = idm
        .req(
            reqwest::Method::GET,
            "/openidm/managed/alpha_user?_queryFilter=true&_pageSize=1",
        )
        .header("X-ForgeRock-TransactionId", "tx-test-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-forgerock-transactionid"], "tx-test-0001");
    let (status, body) = logs
        .get("/monitoring/logs?source=idm-access&transactionId=tx-test-0001")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["resultCount"], 1, "{body}");
    let p = &body["result"][0]["payload"];
    assert_eq!(p["transactionId"], "tx-test-0001");
    assert_eq!(p["http"]["request"]["method"], "GET");
    assert_eq!(
        p["http"]["request"]["path"],
        format!("{base}/openidm/managed/alpha_user")
    );
    assert_eq!(p["response"]["statusCode"], "200");
    assert_eq!(p["request"]["operation"], "QUERY");
    assert_eq!(p["eventName"], "access");

    // The token exchange shows up in am-access, without any token.
    let (_, body) = logs
        .get("/monitoring/logs?source=am-access&_queryFilter=%2Fpayload%2Frequest%2Fdetail%2Fgrant_type+co+%22token-exchange%22")
        .await;
    assert!(body["resultCount"].as_u64().unwrap() >= 2);
    assert!(!body.to_string().contains(&idm.token));
}
