//! OAuth2 client agents: the schema and template actions, create-only and conditional
//! writes with revisions, reads and deletes, the required API version and scope, and the
//! seeded IDM applications that link to the seeded clients.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const AM21: &str = "protocol=2.1,resource=1.0";
const AGENTS: &str = "/am/json/alpha/realm-config/agents/OAuth2Client";

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

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// An AM request: the API version and a JSON content type.
    fn am(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req(method, path)
            .header("Accept-API-Version", AM21)
            .header("Content-Type", "application/json")
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        send(self.am(Method::GET, path)).await
    }

    async fn action(&self, action: &str) -> (u16, Value) {
        send(
            self.am(Method::POST, &format!("{AGENTS}?_action={action}"))
                .body("{}"),
        )
        .await
    }

    async fn put(&self, id: &str, header: Option<(&str, &str)>, body: Value) -> (u16, Value) {
        let mut rb = self
            .am(Method::PUT, &format!("{AGENTS}/{id}"))
            .body(body.to_string());
        if let Some((k, v)) = header {
            rb = rb.header(k, v);
        }
        send(rb).await
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

fn assert_crest_error(status: u16, body: &Value, code: u16) {
    assert_eq!(status, code, "{body}");
    assert_eq!(body["code"], code);
    assert!(body["reason"].is_string(), "{body}");
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test]
async fn schema_describes_sections_with_wrapped_values() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:*").await;
    let (status, schema) = api.action("schema").await;
    assert_eq!(status, 200, "{schema}");
    assert_eq!(schema["type"], "object");
    let sections = schema["properties"].as_object().unwrap();
    let names: Vec<&str> = sections.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "coreOAuth2ClientConfig",
            "advancedOAuth2ClientConfig",
            "coreOpenIDClientConfig",
            "signEncOAuth2ClientConfig",
            "coreUmaClientConfig",
            "overrideOAuth2ClientConfig"
        ]
    );
    for (name, section) in sections {
        assert!(section["title"].is_string(), "{name}");
        let props = section["properties"].as_object().unwrap();
        assert!(!props.is_empty(), "{name}");
        for (p, def) in props {
            assert!(def["title"].is_string(), "{name}/{p}");
            let ty = def["properties"]["value"]["type"]
                .as_str()
                .or(def["type"].as_str());
            assert!(ty.is_some(), "{name}/{p} has a type");
        }
    }
    let core = &sections["coreOAuth2ClientConfig"]["properties"];
    assert_eq!(core["redirectionUris"]["title"], "Redirection URIs");
    assert_eq!(
        core["redirectionUris"]["properties"]["value"]["type"],
        "array"
    );
    assert_eq!(
        core["redirectionUris"]["properties"]["inherited"]["type"],
        "boolean"
    );
    assert_eq!(
        core["clientType"]["properties"]["value"]["enum"],
        json!(["Confidential", "Public"])
    );
    assert_eq!(
        core["userpassword"]["type"], "string",
        "the secret is not wrapped"
    );
    let adv = &sections["advancedOAuth2ClientConfig"]["properties"];
    assert!(
        adv["tokenEndpointAuthMethod"]["properties"]["value"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    let ovr = &sections["overrideOAuth2ClientConfig"]["properties"];
    assert_eq!(
        ovr["oidcClaimsPluginType"]["enum"],
        json!(["SCRIPTED", "JAVA"])
    );
    assert_eq!(ovr["issueRefreshToken"]["type"], "boolean");

    // The template: defaults in the same sections, without a secret.
    let (status, template) = api.action("template").await;
    assert_eq!(status, 200);
    assert_eq!(
        template["coreOAuth2ClientConfig"]["status"],
        json!({"inherited": false, "value": "Active"})
    );
    assert!(template["coreOAuth2ClientConfig"]
        .get("userpassword")
        .is_none());
    assert_eq!(
        template["advancedOAuth2ClientConfig"]["grantTypes"]["value"],
        json!(["authorization_code"])
    );
    assert_eq!(
        template["overrideOAuth2ClientConfig"]["issueRefreshToken"],
        true
    );
    assert!(template.get("_id").is_none());

    let (status, body) = api.action("nope").await;
    assert_crest_error(status, &body, 400);
    let (status, body) = send(api.am(Method::POST, AGENTS).body("{}")).await;
    assert_crest_error(status, &body, 400);
}

#[tokio::test]
async fn seeded_clients_and_applications_are_linked() {
    let sim = start(http_cfg()).await;
    let am = Api::new(sim.base_url(), "fr:am:*").await;
    let (status, portal) = am.get(&format!("{AGENTS}/customer-portal")).await;
    assert_eq!(status, 200, "{portal}");
    assert_eq!(portal["_id"], "customer-portal");
    assert!(portal["_rev"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(portal["_type"]["_id"], "OAuth2Client");
    assert_eq!(
        portal["coreOAuth2ClientConfig"]["redirectionUris"],
        json!({"inherited": false, "value": ["https://portal.example.com/callback"]})
    );
    assert_eq!(
        portal["coreOAuth2ClientConfig"]["status"]["value"], "Active",
        "defaults fill what the seed does not set"
    );
    assert!(
        portal["coreOAuth2ClientConfig"]
            .get("userpassword")
            .is_none(),
        "the secret is write-only"
    );
    let (status, body) = am
        .get("/am/json/bravo/realm-config/agents/OAuth2Client/customer-portal")
        .await;
    assert_crest_error(status, &body, 404);
    let (status, partner) = am
        .get("/am/json/bravo/realm-config/agents/OAuth2Client/partner-dashboard")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        partner["coreOAuth2ClientConfig"]["clientName"]["value"],
        json!(["Partner Dashboard"])
    );

    // The clients of a realm can be queried.
    let (status, list) = am.get(&format!("{AGENTS}?_queryFilter=true")).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["customer-portal", "mobile-banking"]);

    // The IDM applications, found by name with a component-encoded filter.
    let idm = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, apps) = send(idm.req(
        Method::GET,
        "/openidm/managed/alpha_application?_queryFilter=true&_fields=name,ssoEntities,templateName,authoritative,_id",
    ))
    .await;
    assert_eq!(status, 200, "{apps}");
    let result = apps["result"].as_array().unwrap();
    let names: Vec<&str> = result.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Customer Portal", "Mobile Banking", "Payroll"]);
    assert_eq!(result[0]["ssoEntities"]["oidcId"], "customer-portal");
    assert_eq!(result[2]["templateName"], "saml");
    assert!(result[2]["ssoEntities"].get("oidcId").is_none());
    assert!(result[0].get("owners").is_none(), "only the asked fields");
    let (status, one) = send(idm.req(
        Method::GET,
        "/openidm/managed/alpha_application?_queryFilter=name%20eq%20%22Mobile%20Banking%22&_fields=*",
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["resultCount"], 1);
    assert_eq!(one["result"][0]["ssoEntities"]["oidcId"], "mobile-banking");
    assert_eq!(
        one["result"][0]["owners"][0]["_ref"],
        "managed/alpha_user/a1000000-0000-4000-8000-000000000002"
    );
    for (realm, id) in [
        ("alpha", "customer-portal"),
        ("alpha", "mobile-banking"),
        ("bravo", "partner-dashboard"),
    ] {
        let (status, _) = am
            .get(&format!(
                "/am/json/{realm}/realm-config/agents/OAuth2Client/{id}"
            ))
            .await;
        assert_eq!(status, 200, "the linked client {realm}/{id} exists");
    }
}

#[tokio::test]
async fn create_only_update_with_revision_and_delete() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:*").await;
    let config = json!({"coreOAuth2ClientConfig": {
        "userpassword": "s3cret",
        "clientName": {"inherited": false, "value": ["New App"]},
        "redirectionUris": {"inherited": false, "value": ["https://new.example.com/cb"]}
    }});
    let (status, created) = api
        .put("new-app", Some(("If-None-Match", "*")), config.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["_id"], "new-app");
    assert_eq!(
        created["coreOAuth2ClientConfig"]["clientName"]["value"],
        json!(["New App"])
    );
    assert_eq!(
        created["coreOAuth2ClientConfig"]["clientType"]["value"],
        "Confidential"
    );
    assert!(created["coreOAuth2ClientConfig"]
        .get("userpassword")
        .is_none());
    let rev = created["_rev"].as_str().unwrap().to_string();

    // Create-only again: 412, nothing changed.
    let (status, body) = api
        .put("new-app", Some(("If-None-Match", "*")), json!({}))
        .await;
    assert_crest_error(status, &body, 412);
    let (_, read) = api.get(&format!("{AGENTS}/new-app")).await;
    assert_eq!(read, created);

    // Update with a stale revision: 412; with the current one: 200 and a new revision.
    let mut update = read.clone();
    update["coreOAuth2ClientConfig"]["scopes"] = json!({"inherited": false, "value": ["openid"]});
    let (status, body) = api
        .put("new-app", Some(("If-Match", "0")), update.clone())
        .await;
    assert_crest_error(status, &body, 412);
    let (status, updated) = api
        .put("new-app", Some(("If-Match", &rev)), update.clone())
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_ne!(updated["_rev"], created["_rev"]);
    assert_eq!(
        updated["coreOAuth2ClientConfig"]["scopes"]["value"],
        json!(["openid"])
    );
    assert_eq!(
        updated["coreOAuth2ClientConfig"]["redirectionUris"]["value"],
        json!(["https://new.example.com/cb"])
    );
    // The old revision no longer matches; a quoted current one does.
    let (status, _) = api
        .put("new-app", Some(("If-Match", &rev)), update.clone())
        .await;
    assert_eq!(status, 412);
    let quoted = format!("\"{}\"", updated["_rev"].as_str().unwrap());
    let (status, _) = api
        .put("new-app", Some(("If-Match", &quoted)), update.clone())
        .await;
    assert_eq!(status, 200);
    // If-Match on a client that does not exist: 412, nothing created.
    let (status, body) = api.put("ghost", Some(("If-Match", "1")), json!({})).await;
    assert_crest_error(status, &body, 412);
    let (status, _) = api.get(&format!("{AGENTS}/ghost")).await;
    assert_eq!(status, 404);

    // Unknown sections, settings and unwrapped values are refused.
    for bad in [
        json!({"nope": {}}),
        json!({"coreOAuth2ClientConfig": {"nope": {"inherited": false, "value": 1}}}),
        json!({"coreOAuth2ClientConfig": {"scopes": ["openid"]}}),
        json!({"coreOAuth2ClientConfig": "x"}),
        json!([1]),
    ] {
        let (status, body) = api.put("bad", None, bad.clone()).await;
        assert_crest_error(status, &body, 400);
    }

    // Delete, then it is gone.
    let (status, deleted) = send(api.am(Method::DELETE, &format!("{AGENTS}/new-app"))).await;
    assert_eq!(status, 200);
    assert_eq!(deleted["_id"], "new-app");
    let (status, body) = api.get(&format!("{AGENTS}/new-app")).await;
    assert_crest_error(status, &body, 404);
    let (status, body) = send(api.am(Method::DELETE, &format!("{AGENTS}/new-app"))).await;
    assert_crest_error(status, &body, 404);
}

#[tokio::test]
async fn unconditional_puts_create_or_replace_and_encoded_ids_are_one_segment() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:*").await;
    // Without conditional headers a PUT creates or replaces.
    let (status, _) = api
        .put(
            "a%20b%3Fc",
            None,
            json!({"coreOAuth2ClientConfig": {"userpassword": "x"}}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, read) = api.get(&format!("{AGENTS}/a%20b%3Fc")).await;
    assert_eq!(status, 200);
    assert_eq!(read["_id"], "a b?c");
    let (status, _) = api.put("a%20b%3Fc", None, json!({})).await;
    assert_eq!(status, 200);
    // An encoded slash stays inside one id.
    let (status, body) = api.get(&format!("{AGENTS}/a%2Fb")).await;
    assert_crest_error(status, &body, 404);
    assert!(body["message"].as_str().unwrap().contains("a/b"));
}

#[tokio::test]
async fn api_version_realm_method_and_scope_are_checked() {
    let sim = start(http_cfg()).await;
    let api = Api::new(sim.base_url(), "fr:am:*").await;
    for version in [
        None,
        Some("protocol=1.0,resource=1.0"),
        Some("resource=2.0"),
    ] {
        let mut rb = api.req(Method::GET, &format!("{AGENTS}/customer-portal"));
        if let Some(v) = version {
            rb = rb.header("Accept-API-Version", v);
        }
        let (status, body) = send(rb).await;
        assert_crest_error(status, &body, 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("protocol=2.1,resource=1.0"));
    }
    let (status, _) = send(
        api.req(Method::GET, &format!("{AGENTS}/customer-portal"))
            .header("accept-api-version", "resource=1.0, protocol=2.1"),
    )
    .await;
    assert_eq!(status, 200, "any order and spacing");

    let (status, body) = api
        .get("/am/json/gamma/realm-config/agents/OAuth2Client/customer-portal")
        .await;
    assert_crest_error(status, &body, 404);
    let (status, body) = send(api.am(Method::PATCH, &format!("{AGENTS}/customer-portal"))).await;
    assert_crest_error(status, &body, 405);
    let (status, body) = api.get(&format!("{AGENTS}/customer-portal/extra")).await;
    assert_crest_error(status, &body, 404);

    // An IDM-only token is refused; no token is 401.
    let idm = Api::new(sim.base_url(), "fr:idm:*").await;
    let (status, _) = idm.get(&format!("{AGENTS}/customer-portal")).await;
    assert_eq!(status, 403);
    let (status, _) = send(
        client()
            .get(format!("{}{AGENTS}/customer-portal", sim.base_url()))
            .header("Accept-API-Version", AM21),
    )
    .await;
    assert_eq!(status, 401);
}
