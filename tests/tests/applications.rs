//! The applications / OIDC apps family against the simulator: the exact upstream requests
//! of every tool (method, path, query and its encoding, API version, If-Match /
//! If-None-Match, body), one token exchange per call with the tool's scopes, the result
//! texts of contract §3.8, partial failures of the two-step writes reported precisely,
//! bad input rejected before anything is sent, and the family's absence in container mode.

use aic_mcp_core::tools::{Hints, Registry};
use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind, RecordedRequest, SimConfig};
use aic_mcp_tests::{assert_rejected, take_call as take};
use aic_mcp_tests::{tx_of, wire_env as env};
use aic_mcp_tests::{Env, EnvOptions};
use serde_json::{json, Value};

const AM_IDM: &str = "fr:am:* fr:idm:*";
const IDM: &str = "fr:idm:*";
const AM21: &str = "protocol=2.1,resource=1.0";
const ALPHA_APPS: &str = "/openidm/managed/alpha_application";
const ALPHA_AGENTS: &str = "/am/json/alpha/realm-config/agents/OAuth2Client";
const PORTAL_ID: &str = "a5000000-0000-4000-8000-000000000001";
const BANKING_ID: &str = "a5000000-0000-4000-8000-000000000002";
const PAYROLL_ID: &str = "a5000000-0000-4000-8000-000000000003";
const LIST_QUERY_TAIL: &str = "_fields=name,ssoEntities,templateName,authoritative,_id";
const OWNER: &str = "managed/alpha_user/a1000000-0000-4000-8000-000000000001";

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// A whole text that is pretty JSON and nothing else (no TX suffix).
fn pretty_only(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).expect("the whole text is JSON");
    assert_eq!(
        serde_json::to_string_pretty(&v).expect("pretty"),
        text,
        "pretty JSON with 2-space indentation, nothing after it"
    );
    v
}

fn json_of(r: &RecordedRequest) -> Value {
    serde_json::from_str(&r.body).expect("JSON body")
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn fault(status: u16, message: &str) -> FaultKind {
    FaultKind::Status {
        status,
        body: json!({"code": status, "reason": "x", "message": message}).to_string(),
    }
}

/// The lookup by name: GET of the realm's applications with the component-encoded
/// `name eq "<name>"` filter and the literal `_fields`.
fn assert_lookup(r: &RecordedRequest, realm: &str, encoded_name: &str, fields: &str) {
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        (
            "GET",
            format!("/openidm/managed/{realm}_application").as_str()
        )
    );
    assert_eq!(
        r.query.as_deref(),
        Some(format!("_queryFilter=name%20eq%20%22{encoded_name}%22&_fields={fields}").as_str())
    );
    assert_idm_headers(r);
    assert_eq!(r.body, "");
}

/// IDM calls here send no API version and no conditional header of their own.
fn assert_idm_headers(r: &RecordedRequest) {
    assert_eq!(r.header("accept-api-version"), None, "{}", r.path);
    assert_eq!(r.header("if-none-match"), None, "{}", r.path);
}

/// An AM call: the protocol 2.1 API version and a JSON content type, also without a body.
fn assert_am(r: &RecordedRequest, method: &str, path: &str) {
    assert_eq!((r.method.as_str(), r.path.as_str()), (method, path));
    assert_eq!(r.header("accept-api-version"), Some(AM21));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

async fn call_ok(env: &Env, tool: &str, args: Value) -> String {
    let (err, text) = env.call(tool, args).await;
    assert!(!err, "{tool}: {text}");
    text
}

/// Reads an app through the tool and clears the log.
async fn read_app(env: &Env, realm: &str, name: &str) -> Value {
    let text = call_ok(env, "getOidcApp", json!({"realm": realm, "name": name})).await;
    env.sim.clear_requests();
    pretty_only(&text)
}

// ---------------------------------------------------------------------------------------

#[test]
fn metadata_matches_the_contract() {
    let registry = Registry::new(false);
    let names: Vec<&str> = registry.tools().iter().map(|t| t.name).collect();
    let expected = [
        "createOidcApp",
        "deleteOidcApp",
        "getOidcAppSchema",
        "getOidcApp",
        "listOidcApps",
        "updateOidcApp",
    ];
    assert_eq!(
        &names[names.len() - 6..],
        &expected,
        "registered last, in this order"
    );
    let hints = |ro, d, id| Hints {
        read_only: ro,
        destructive: d,
        idempotent: id,
        open_world: Some(true),
    };
    let am_idm: &[&str] = &["fr:am:*", "fr:idm:*"];
    let rows: [(&str, &str, &[&str], Hints); 6] = [
        (
            "createOidcApp",
            "Create OIDC App",
            am_idm,
            // The deliberate fix: additive, not (by default) destructive.
            hints(None, Some(false), None),
        ),
        (
            "deleteOidcApp",
            "Delete OIDC App",
            am_idm,
            hints(None, Some(true), None),
        ),
        (
            "getOidcAppSchema",
            "Get OIDC App Schema",
            am_idm,
            hints(Some(true), None, None),
        ),
        (
            "getOidcApp",
            "Get OIDC App",
            am_idm,
            hints(Some(true), None, None),
        ),
        (
            "listOidcApps",
            "List OIDC Apps",
            &["fr:idm:*"],
            hints(Some(true), None, None),
        ),
        (
            "updateOidcApp",
            "Update OIDC App",
            am_idm,
            hints(None, Some(false), Some(true)),
        ),
    ];
    for (name, title, scopes, h) in rows {
        let t = registry.get(name).expect(name);
        assert_eq!(t.title, title);
        assert_eq!(t.scopes, scopes, "{name}");
        assert_eq!(t.hints, h, "{name}");
        assert!(!t.container, "{name} is local mode only");
    }
    let container = Registry::new(true);
    for name in expected {
        assert!(container.get(name).is_none(), "{name} in container mode");
    }

    let schema = |name: &str| registry.get(name).expect(name).input_schema.clone();
    let s = schema("getOidcAppSchema");
    assert_eq!(s["required"], json!(["realm"]));
    assert_eq!(s["properties"]["summary"]["default"], true);
    assert_eq!(s["properties"]["includeDefaults"]["default"], false);
    assert_eq!(s["properties"]["sections"]["type"], "array");
    assert_eq!(s["properties"]["sections"]["items"]["type"], "string");
    assert_eq!(s["properties"]["realm"]["enum"], json!(["alpha", "bravo"]));
    let s = schema("listOidcApps");
    assert_eq!(s["required"], json!(["realm"]));
    assert_eq!(s["properties"]["queryFilter"]["type"], "string");
    for name in ["getOidcApp", "deleteOidcApp"] {
        let s = schema(name);
        assert_eq!(s["required"], json!(["realm", "name"]), "{name}");
        assert_eq!(s["properties"]["name"]["minLength"], 1);
    }
    let s = schema("createOidcApp");
    assert_eq!(
        s["required"],
        json!(["realm", "name", "clientId", "owners"])
    );
    assert_eq!(s["properties"]["owners"]["type"], "array");
    assert_eq!(s["properties"]["owners"]["minItems"], 1);
    assert_eq!(s["properties"]["owners"]["items"]["type"], "object");
    assert_eq!(s["properties"]["oauth2Client"]["type"], "object");
    let s = schema("updateOidcApp");
    assert_eq!(s["required"], json!(["realm", "name"]));
    let m = &s["properties"]["managedApplication"];
    assert_eq!(m["required"], json!(["_rev", "operations"]));
    assert_eq!(m["properties"]["_rev"]["minLength"], 1);
    let op = &m["properties"]["operations"]["items"];
    assert_eq!(
        op["properties"]["operation"]["enum"],
        json!(["add", "remove", "replace"])
    );
    assert_eq!(op["required"], json!(["operation", "field"]));

    let list = registry.get("listOidcApps").expect("list");
    assert!(
        list.description.contains("every application type"),
        "{}",
        list.description
    );
    let create = registry.get("createOidcApp").expect("create");
    for hint in [
        "getOidcAppSchema",
        "Only supply the client fields",
        "{\"inherited\": false, \"value\": ...}",
        "redirectionUris",
        "not one transaction",
    ] {
        assert!(create.description.contains(hint), "{hint}");
    }
    let schema_tool = registry.get("getOidcAppSchema").expect("schema");
    for hint in [
        "Compact by default",
        "before createOidcApp or updateOidcApp",
    ] {
        assert!(schema_tool.description.contains(hint), "{hint}");
    }
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_oidc_apps_lists_every_application_of_the_realm() {
    let env = env().await;
    let text = call_ok(&env, "listOidcApps", json!({"realm": "alpha"})).await;
    let reqs = take(&env, IDM);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", ALPHA_APPS));
    assert_eq!(
        r.query.as_deref(),
        Some(format!("_queryFilter=true&{LIST_QUERY_TAIL}").as_str()),
        "literal _fields with unencoded commas"
    );
    assert_idm_headers(r);
    assert_eq!(r.header("content-type"), None);
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let listing = body_of(&text);
    let names: Vec<&str> = listing["result"]
        .as_array()
        .expect("result")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Customer Portal", "Mobile Banking", "Payroll"],
        "the SAML app too"
    );
    assert_eq!(
        listing["result"][0]["ssoEntities"]["oidcId"],
        "customer-portal"
    );
    assert_eq!(listing["result"][0]["_id"], PORTAL_ID);
    assert!(listing["result"][0].get("owners").is_none());
    assert!(text.starts_with("{\n  \"result\": [\n"), "{text}");

    // A caller's filter, component-encoded; an empty one means everything.
    let text = call_ok(
        &env,
        "listOidcApps",
        json!({"realm": "alpha", "queryFilter": "name sw \"Cust\" or templateName eq \"native\""}),
    )
    .await;
    let reqs = take(&env, IDM);
    assert_eq!(
        reqs[0].query.as_deref(),
        Some(
            format!("_queryFilter=name%20sw%20%22Cust%22%20or%20templateName%20eq%20%22native%22&{LIST_QUERY_TAIL}")
                .as_str()
        )
    );
    assert_eq!(body_of(&text)["resultCount"], 2);
    call_ok(
        &env,
        "listOidcApps",
        json!({"realm": "bravo", "queryFilter": ""}),
    )
    .await;
    let reqs = take(&env, IDM);
    assert_eq!(reqs[0].path, "/openidm/managed/bravo_application");
    assert_eq!(
        reqs[0].query_pairs()[0],
        ("_queryFilter".into(), "true".into())
    );

    // Upstream failures keep the prefix and end with the transaction id.
    env.sim
        .push_fault(Fault::new(ALPHA_APPS, fault(400, "Invalid filter")));
    let (err, text) = env
        .call(
            "listOidcApps",
            json!({"realm": "alpha", "queryFilter": "name eq"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to list OIDC apps: 400 Bad Request - {"),
        "{text}"
    );
    let reqs = take(&env, IDM);
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_oidc_app_reads_the_application_then_its_client() {
    let env = env().await;
    let text = call_ok(
        &env,
        "getOidcApp",
        json!({"realm": "alpha", "name": "Customer Portal"}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 2, "lookup, then the client");
    assert_lookup(&reqs[0], "alpha", "Customer%20Portal", "*");
    assert_am(&reqs[1], "GET", &format!("{ALPHA_AGENTS}/customer-portal"));
    assert_eq!(reqs[1].query, None);
    assert_eq!(reqs[1].body, "");
    let out = pretty_only(&text);
    assert_eq!(
        keys(&out),
        [
            "oauth2Client",
            "managedApplication",
            "idmTransactionId",
            "amTransactionId"
        ]
    );
    assert_eq!(out["idmTransactionId"], json!(reqs[0].transaction_id));
    assert_eq!(out["amTransactionId"], json!(reqs[1].transaction_id));
    assert_eq!(out["managedApplication"]["_id"], PORTAL_ID);
    assert_eq!(out["managedApplication"]["owners"][0]["_ref"], OWNER);
    assert_eq!(out["oauth2Client"]["_id"], "customer-portal");
    assert_eq!(
        out["oauth2Client"]["coreOAuth2ClientConfig"]["redirectionUris"]["value"],
        json!(["https://portal.example.com/callback"])
    );

    // Bravo: same shape, bravo paths.
    call_ok(
        &env,
        "getOidcApp",
        json!({"realm": "bravo", "name": "Partner Dashboard"}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_lookup(&reqs[0], "bravo", "Partner%20Dashboard", "*");
    assert_am(
        &reqs[1],
        "GET",
        "/am/json/bravo/realm-config/agents/OAuth2Client/partner-dashboard",
    );

    // An application without a client: one request, client null, no amTransactionId.
    let text = call_ok(
        &env,
        "getOidcApp",
        json!({"realm": "alpha", "name": "Payroll"}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 1);
    let out = pretty_only(&text);
    assert_eq!(
        keys(&out),
        ["oauth2Client", "managedApplication", "idmTransactionId"]
    );
    assert_eq!(out["oauth2Client"], Value::Null);
    assert_eq!(out["managedApplication"]["templateName"], "saml");

    // The client cannot be read: the application is still returned, with why.
    env.sim.push_fault(Fault::new(
        format!("{ALPHA_AGENTS}/customer-portal"),
        fault(500, "boom"),
    ));
    let text = call_ok(
        &env,
        "getOidcApp",
        json!({"realm": "alpha", "name": "Customer Portal"}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 2);
    let out = pretty_only(&text);
    assert_eq!(
        keys(&out),
        [
            "oauth2Client",
            "managedApplication",
            "idmTransactionId",
            "oauth2ClientError"
        ]
    );
    assert_eq!(out["oauth2Client"], Value::Null);
    let why = out["oauth2ClientError"].as_str().expect("error text");
    assert!(
        why.starts_with(
            "the linked OAuth2 client \"customer-portal\" could not be read: 500 Internal Server Error - "
        ),
        "{why}"
    );
    assert!(why.ends_with(reqs[1].transaction_id.as_deref().unwrap_or("?")));

    // Not found: the reference's exact text; the name is escaped inside the filter.
    let (err, text) = env
        .call(
            "getOidcApp",
            json!({"realm": "bravo", "name": "Customer Portal"}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "No application found with name \"Customer Portal\" in realm \"bravo\"."
    );
    assert_eq!(take(&env, AM_IDM).len(), 1);
    let sneaky = r#"x" or true or "y"#;
    let (err, text) = env
        .call("getOidcApp", json!({"realm": "alpha", "name": sneaky}))
        .await;
    assert!(err, "the injection matches nothing: {text}");
    assert_eq!(
        text,
        format!("No application found with name \"{sneaky}\" in realm \"alpha\".")
    );
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].query_pairs(),
        vec![
            (
                "_queryFilter".to_string(),
                r#"name eq "x\" or true or \"y""#.to_string()
            ),
            ("_fields".to_string(), "*".to_string())
        ]
    );
    assert!(reqs[0]
        .query
        .as_deref()
        .unwrap_or("")
        .starts_with("_queryFilter=name%20eq%20%22x%5C%22%20or%20true%20or%20%5C%22y%22&"));

    // The lookup fails: prefix and transaction id.
    env.sim
        .push_fault(Fault::new(ALPHA_APPS, fault(503, "unavailable")));
    let (err, text) = env
        .call("getOidcApp", json!({"realm": "alpha", "name": "Payroll"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to get OIDC app: 503 Service Unavailable - {"),
        "{text}"
    );
    let reqs = take(&env, AM_IDM);
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_oidc_app_schema_fans_out_and_shapes_both_halves() {
    let env = env().await;
    let sorted = |mut reqs: Vec<RecordedRequest>| {
        reqs.sort_by(|a, b| (&a.path, &a.query).cmp(&(&b.path, &b.query)));
        reqs
    };

    // Summary (default): the schema action and the managed config, concurrently.
    let text = call_ok(&env, "getOidcAppSchema", json!({"realm": "alpha"})).await;
    let reqs = sorted(take(&env, AM_IDM));
    assert_eq!(reqs.len(), 2, "no template in summary mode");
    assert_am(&reqs[0], "POST", ALPHA_AGENTS);
    assert_eq!(reqs[0].query.as_deref(), Some("_action=schema"));
    assert_eq!(json_of(&reqs[0]), json!({}));
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("GET", "/openidm/config/managed")
    );
    assert_eq!(reqs[1].query, None);
    assert_idm_headers(&reqs[1]);
    assert_eq!(reqs[1].header("content-type"), None);
    assert_eq!(
        tx_of(&text),
        reqs[0].transaction_id.as_deref(),
        "TX of the AM schema response"
    );
    let out = body_of(&text);
    assert_eq!(keys(&out), ["oauth2Client", "managedApplication"]);
    assert_eq!(keys(&out["oauth2Client"]), ["schema"]);
    let summary = &out["oauth2Client"]["schema"];
    assert_eq!(
        keys(summary),
        [
            "coreOAuth2ClientConfig",
            "advancedOAuth2ClientConfig",
            "coreOpenIDClientConfig",
            "signEncOAuth2ClientConfig",
            "coreUmaClientConfig",
            "overrideOAuth2ClientConfig"
        ]
    );
    assert_eq!(
        summary["coreOAuth2ClientConfig"]["clientType"],
        json!({"title": "Client type", "type": "string", "enum": ["Confidential", "Public"]})
    );
    assert_eq!(
        summary["coreOAuth2ClientConfig"]["redirectionUris"],
        json!({"title": "Redirection URIs", "type": "array"})
    );
    assert_eq!(
        summary["overrideOAuth2ClientConfig"]["oidcClaimsPluginType"],
        json!({"title": "OIDC Claims Plugin Type", "type": "string", "enum": ["SCRIPTED", "JAVA"]})
    );
    let app = &out["managedApplication"];
    assert_eq!(app["required"], json!(["name", "owners"]));
    assert_eq!(
        app["schema"]["name"],
        json!({"type": "string", "required": true})
    );
    assert_eq!(
        app["schema"]["owners"],
        json!({"type": "array", "required": false})
    );
    assert!(app["schema"].get("ssoEntities").is_none());
    assert!(app["schema"].get("templateName").is_some());

    // Full, one section, with defaults: three requests; the template is never filtered.
    let text = call_ok(
        &env,
        "getOidcAppSchema",
        json!({"realm": "bravo", "summary": false, "includeDefaults": true, "sections": ["coreOpenIDClientConfig", "noSuchSection"]}),
    )
    .await;
    let reqs = sorted(take(&env, AM_IDM));
    assert_eq!(reqs.len(), 3);
    let bravo_agents = "/am/json/bravo/realm-config/agents/OAuth2Client";
    assert_am(&reqs[0], "POST", bravo_agents);
    assert_eq!(reqs[0].query.as_deref(), Some("_action=schema"));
    assert_am(&reqs[1], "POST", bravo_agents);
    assert_eq!(reqs[1].query.as_deref(), Some("_action=template"));
    assert_eq!(json_of(&reqs[1]), json!({}));
    assert_eq!(reqs[2].path, "/openidm/config/managed");
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
    let out = body_of(&text);
    assert_eq!(keys(&out["oauth2Client"]), ["schema", "template"]);
    let full = &out["oauth2Client"]["schema"];
    assert_eq!(full["type"], "object");
    assert_eq!(keys(&full["properties"]), ["coreOpenIDClientConfig"]);
    assert_eq!(
        full["properties"]["coreOpenIDClientConfig"]["properties"]["postLogoutRedirectUri"]
            ["properties"]["value"]["type"],
        "array"
    );
    assert_eq!(keys(&out["oauth2Client"]["template"]).len(), 6);
    assert_eq!(
        out["oauth2Client"]["template"]["coreOAuth2ClientConfig"]["status"],
        json!({"inherited": false, "value": "Active"})
    );
    let app = &out["managedApplication"]["schema"];
    assert_eq!(keys(app), ["properties", "required"]);
    assert_eq!(app["required"], json!(["name"]));
    assert!(app["properties"].get("ssoEntities").is_none());
    assert_eq!(app["properties"]["owners"]["type"], "array");

    // Full without sections: untouched; no template without includeDefaults, nor in
    // summary mode even with it.
    let text = call_ok(
        &env,
        "getOidcAppSchema",
        json!({"realm": "alpha", "summary": false}),
    )
    .await;
    assert_eq!(take(&env, AM_IDM).len(), 2);
    let out = body_of(&text);
    assert_eq!(keys(&out["oauth2Client"]), ["schema"]);
    assert_eq!(keys(&out["oauth2Client"]["schema"]["properties"]).len(), 6);
    let text = call_ok(
        &env,
        "getOidcAppSchema",
        json!({"realm": "alpha", "includeDefaults": true, "sections": ["x"]}),
    )
    .await;
    assert_eq!(take(&env, AM_IDM).len(), 2);
    assert_eq!(
        keys(&body_of(&text)["oauth2Client"]["schema"]).len(),
        6,
        "sections are ignored in summary mode"
    );

    // Any of the requests fails: the prefix and that response's transaction id.
    env.sim.push_fault(Fault::new(
        "/openidm/config/managed",
        fault(500, "config down"),
    ));
    let (err, text) = env
        .call("getOidcAppSchema", json!({"realm": "alpha"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to get OIDC app schema: 500 Internal Server Error - {"),
        "{text}"
    );
    let reqs = take(&env, AM_IDM);
    let failed = reqs
        .iter()
        .find(|r| r.path == "/openidm/config/managed")
        .expect("config request");
    assert_eq!(tx_of(&text), failed.transaction_id.as_deref());
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_oidc_app_puts_the_client_create_only_then_creates_the_application() {
    let env = env().await;
    let owners = json!([{"_ref": OWNER}]);
    let client = json!({
        "coreOAuth2ClientConfig": {
            "userpassword": "n3w-s3cret",
            "redirectionUris": {"inherited": false, "value": ["https://hr.example.com/cb"]},
            "clientName": {"inherited": false, "value": []}
        },
        "advancedOAuth2ClientConfig": {"grantTypes": {"inherited": false, "value": ["authorization_code"]}}
    });
    let text = call_ok(
        &env,
        "createOidcApp",
        json!({"realm": "alpha", "name": "HR Portal", "clientId": "hr portal?v=1", "owners": owners, "oauth2Client": client, "ignored": 1}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 2, "PUT the client, then POST the application");
    let put = &reqs[0];
    assert_am(put, "PUT", &format!("{ALPHA_AGENTS}/hr%20portal%3Fv%3D1"));
    assert_eq!(put.query, None);
    assert_eq!(put.header("if-none-match"), Some("*"));
    assert_eq!(put.header("if-match"), None);
    let mut expected_payload = client.clone();
    expected_payload["coreOAuth2ClientConfig"]["clientName"] =
        json!({"inherited": false, "value": ["HR Portal"]});
    assert_eq!(json_of(put), expected_payload);
    assert_eq!(put.status, 201);
    let post = &reqs[1];
    assert_eq!(
        (
            post.method.as_str(),
            post.path.as_str(),
            post.query.as_deref()
        ),
        ("POST", ALPHA_APPS, Some("_action=create"))
    );
    assert_idm_headers(post);
    assert_eq!(post.header("if-match"), None);
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(
        json_of(post),
        json!({"name": "HR Portal", "owners": owners, "ssoEntities": {"oidcId": "hr portal?v=1"}, "templateName": "custom", "templateVersion": "1.0"})
    );
    assert_eq!(
        tx_of(&text),
        post.transaction_id.as_deref(),
        "TX of the IDM response"
    );
    let out = body_of(&text);
    assert_eq!(keys(&out), ["oauth2Client", "managedApplication"]);
    assert_eq!(out["oauth2Client"]["_id"], "hr portal?v=1");
    assert_eq!(
        out["oauth2Client"]["coreOAuth2ClientConfig"]["clientName"]["value"],
        json!(["HR Portal"])
    );
    assert!(
        !text.contains("n3w-s3cret"),
        "the secret is not echoed back"
    );
    assert_eq!(out["managedApplication"]["name"], "HR Portal");
    assert_eq!(out["managedApplication"]["templateName"], "custom");

    // It can be read back as a pair.
    let app = read_app(&env, "alpha", "HR Portal").await;
    assert_eq!(app["oauth2Client"]["_id"], "hr portal?v=1");
    assert_eq!(
        app["managedApplication"]["ssoEntities"]["oidcId"],
        "hr portal?v=1"
    );

    // Without oauth2Client: only the client name.
    call_ok(
        &env,
        "createOidcApp",
        json!({"realm": "bravo", "name": "Bare", "clientId": "bare", "owners": [{"_ref": "managed/bravo_user/b1000000-0000-4000-8000-000000000001"}]}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(
        reqs[0].path,
        "/am/json/bravo/realm-config/agents/OAuth2Client/bare"
    );
    assert_eq!(
        json_of(&reqs[0]),
        json!({"coreOAuth2ClientConfig": {"clientName": {"inherited": false, "value": ["Bare"]}}})
    );
    assert_eq!(reqs[1].path, "/openidm/managed/bravo_application");

    // A client id that exists: AM answers 412, no application is created.
    let (err, text) = env
        .call(
            "createOidcApp",
            json!({"realm": "alpha", "name": "Portal 2", "clientId": "customer-portal", "owners": [{"_ref": OWNER}]}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to create OIDC app: 412 Precondition Failed - {"),
        "{text}"
    );
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 1, "the IDM step is skipped");
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
}

#[tokio::test]
async fn create_oidc_app_reports_a_client_without_its_application() {
    let env = env().await;
    env.sim.push_fault(
        Fault::new(ALPHA_APPS, fault(403, "Policy validation failed")).with_method("POST"),
    );
    let (err, text) = env
        .call(
            "createOidcApp",
            json!({"realm": "alpha", "name": "Orphan", "clientId": "orphan-client", "owners": [{"_ref": OWNER}]}),
        )
        .await;
    assert!(err);
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].status, 201, "the client was created");
    assert_eq!(reqs[1].status, 403);
    assert!(
        text.starts_with(
            "Failed to create OIDC app: partly done. The AM OAuth2 client \"orphan-client\" was created in realm \"alpha\", but the IDM application \"Orphan\" (type alpha_application) could not be created"
        ),
        "{text}"
    );
    for hint in [
        "without a linked application",
        "createManagedObject",
        "objectType \"alpha_application\"",
        "\"oidcId\":\"orphan-client\"",
        "AM admin console",
        "IDM error: 403 Forbidden - {",
    ] {
        assert!(text.contains(hint), "{hint}: {text}");
    }
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());

    // The client really exists: a second create with its id fails at AM.
    let (err, text) = env
        .call(
            "createOidcApp",
            json!({"realm": "alpha", "name": "Orphan", "clientId": "orphan-client", "owners": [{"_ref": OWNER}]}),
        )
        .await;
    assert!(err);
    assert!(text.contains("412 Precondition Failed"), "{text}");
    assert_eq!(take(&env, AM_IDM).len(), 1);
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn update_oidc_app_merges_the_client_with_its_revision_and_patches_the_application() {
    let env = env().await;
    let before = read_app(&env, "alpha", "Customer Portal").await;
    let rev = before["oauth2Client"]["_rev"]
        .as_str()
        .expect("client _rev")
        .to_string();
    let update = json!({
        "coreOAuth2ClientConfig": {"scopes": {"inherited": false, "value": ["openid", "profile", "email", "phone"]}},
        "overrideOAuth2ClientConfig": {"providerOverridesEnabled": true}
    });
    let text = call_ok(
        &env,
        "updateOidcApp",
        json!({"realm": "alpha", "name": "Customer Portal", "oauth2Client": update,
        "managedApplication": {"_rev": "1", "operations": [
            {"operation": "replace", "field": "/description", "value": "Portal v2", "extra": true},
            {"operation": "replace", "field": "/ssoEntities/oidcId", "value": "hijack"},
            {"operation": "add", "field": "ssoEntities", "value": {}},
            {"operation": "remove", "field": "/url"}
        ]}}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(
        reqs.len(),
        4,
        "lookup, client GET, client PUT, application PATCH"
    );
    assert_lookup(&reqs[0], "alpha", "Customer%20Portal", "_id,ssoEntities");
    let client_path = format!("{ALPHA_AGENTS}/customer-portal");
    assert_am(&reqs[1], "GET", &client_path);
    assert_eq!(reqs[1].body, "");
    assert_am(&reqs[2], "PUT", &client_path);
    assert_eq!(reqs[2].header("if-match"), Some(rev.as_str()));
    assert_eq!(reqs[2].header("if-none-match"), None);
    let put = json_of(&reqs[2]);
    for key in ["_id", "_rev", "_type"] {
        assert!(put.get(key).is_none(), "{key} is AM's own");
    }
    assert_eq!(
        put["coreOAuth2ClientConfig"]["scopes"]["value"],
        json!(["openid", "profile", "email", "phone"])
    );
    assert_eq!(
        put["coreOAuth2ClientConfig"]["redirectionUris"],
        before["oauth2Client"]["coreOAuth2ClientConfig"]["redirectionUris"],
        "settings not given are kept"
    );
    assert_eq!(
        put["overrideOAuth2ClientConfig"]["providerOverridesEnabled"],
        true
    );
    assert_eq!(
        put["overrideOAuth2ClientConfig"]["issueRefreshToken"],
        before["oauth2Client"]["overrideOAuth2ClientConfig"]["issueRefreshToken"]
    );
    assert_eq!(
        put["advancedOAuth2ClientConfig"],
        before["oauth2Client"]["advancedOAuth2ClientConfig"]
    );
    let patch = &reqs[3];
    assert_eq!(
        (
            patch.method.as_str(),
            patch.path.as_str(),
            patch.query.as_deref()
        ),
        ("PATCH", format!("{ALPHA_APPS}/{PORTAL_ID}").as_str(), None)
    );
    assert_idm_headers(patch);
    assert_eq!(patch.header("if-match"), Some("1"));
    assert_eq!(
        json_of(patch),
        json!([
            {"operation": "replace", "field": "/description", "value": "Portal v2"},
            {"operation": "remove", "field": "/url"}
        ]),
        "ssoEntities operations dropped, unknown keys stripped"
    );
    let out = pretty_only(&text);
    assert_eq!(
        keys(&out),
        [
            "oauth2Client",
            "amTransactionId",
            "managedApplication",
            "idmTransactionId",
            "ignoredOperations"
        ]
    );
    assert_eq!(out["amTransactionId"], json!(reqs[2].transaction_id));
    assert_eq!(out["idmTransactionId"], json!(reqs[3].transaction_id));
    assert_ne!(out["oauth2Client"]["_rev"], json!(rev));
    assert_eq!(out["managedApplication"]["description"], "Portal v2");
    assert_eq!(out["managedApplication"]["_rev"], "2");
    assert_eq!(
        out["ignoredOperations"]["fields"],
        json!(["/ssoEntities/oidcId", "ssoEntities"])
    );

    // Both changes are there; the link is untouched.
    let after = read_app(&env, "alpha", "Customer Portal").await;
    assert_eq!(
        after["managedApplication"]["ssoEntities"]["oidcId"],
        "customer-portal"
    );
    assert!(after["managedApplication"].get("url").is_none());
    assert_eq!(
        after["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"]["value"][3],
        "phone"
    );

    // Only the client: three requests, no PATCH.
    let text = call_ok(
        &env,
        "updateOidcApp",
        json!({"realm": "alpha", "name": "Mobile Banking", "oauth2Client": {"coreOAuth2ClientConfig": {"status": {"inherited": false, "value": "Inactive"}}}}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET", "PUT"]);
    let out = pretty_only(&text);
    assert_eq!(keys(&out), ["oauth2Client", "amTransactionId"]);
    assert_eq!(
        out["oauth2Client"]["coreOAuth2ClientConfig"]["status"]["value"],
        "Inactive"
    );

    // Only the application (even one without a client): lookup and PATCH.
    let text = call_ok(
        &env,
        "updateOidcApp",
        json!({"realm": "alpha", "name": "Payroll", "managedApplication": {"_rev": "1", "operations": [
            {"operation": "add", "field": "/icon", "value": "payroll.svg"}]}}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].path, format!("{ALPHA_APPS}/{PAYROLL_ID}"));
    let out = pretty_only(&text);
    assert_eq!(keys(&out), ["managedApplication", "idmTransactionId"]);
    assert_eq!(out["managedApplication"]["icon"], "payroll.svg");
}

#[tokio::test]
async fn update_oidc_app_refusals_send_nothing_or_change_nothing() {
    let env = env().await;
    // Neither part: the exact text, before any request (not even an exchange).
    let (err, text) = env
        .call(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal"}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "Nothing to update: provide oauth2Client, managedApplication, or both."
    );
    assert!(env.sim.requests().is_empty());
    // Only ssoEntities operations, or none: no empty PATCH, nothing sent.
    for ops in [
        json!([{"operation": "replace", "field": "/ssoEntities/oidcId", "value": "x"}]),
        json!([]),
    ] {
        let (err, text) = env
            .call(
                "updateOidcApp",
                json!({"realm": "alpha", "name": "Customer Portal", "managedApplication": {"_rev": "1", "operations": ops}}),
            )
            .await;
        assert!(err);
        assert!(
            text.starts_with("Nothing to update: managedApplication has no operations to apply"),
            "{text}"
        );
        assert!(text.ends_with("Nothing was sent."), "{text}");
        assert!(env.sim.requests().is_empty(), "{ops}");
    }

    // A client update for an application without a client: refused after the lookup.
    let (err, text) = env
        .call(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Payroll", "oauth2Client": {"coreOAuth2ClientConfig": {}},
                   "managedApplication": {"_rev": "1", "operations": [{"operation": "replace", "field": "/description", "value": "x"}]}}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "Cannot update the OAuth2 client: application \"Payroll\" in realm \"alpha\" has no linked client ID (ssoEntities.oidcId is not set). Nothing was changed."
    );
    assert_eq!(take(&env, AM_IDM).len(), 1);

    // Not found.
    let (err, text) = env
        .call(
            "updateOidcApp",
            json!({"realm": "bravo", "name": "Nope", "oauth2Client": {}}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "No application found with name \"Nope\" in realm \"bravo\"."
    );
    assert_eq!(take(&env, AM_IDM).len(), 1);

    // The client comes back without _rev: no unconditional write, nothing changed.
    let client_path = format!("{ALPHA_AGENTS}/customer-portal");
    env.sim.push_fault(
        Fault::new(
            client_path.clone(),
            FaultKind::Status {
                status: 200,
                body: json!({"_id": "customer-portal", "coreOAuth2ClientConfig": {}}).to_string(),
            },
        )
        .with_method("GET"),
    );
    let (err, text) = env
        .call(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal", "oauth2Client": {"coreOAuth2ClientConfig": {}},
                   "managedApplication": {"_rev": "1", "operations": [{"operation": "replace", "field": "/description", "value": "x"}]}}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "Failed to update OIDC app: the OAuth2 client \"customer-portal\" was read without a _rev, so it cannot be written safely (If-Match); nothing was changed"
    );
    let reqs = take(&env, AM_IDM);
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "GET"], "no PUT, no PATCH");

    // AM refuses the write (a concurrent change): nothing else is sent.
    env.sim.push_fault(
        Fault::new(client_path.clone(), fault(412, "revision mismatch")).with_method("PUT"),
    );
    let (err, text) = env
        .call(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal", "oauth2Client": {"coreOAuth2ClientConfig": {}},
                   "managedApplication": {"_rev": "1", "operations": [{"operation": "replace", "field": "/description", "value": "x"}]}}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to update OIDC app: 412 Precondition Failed - {"),
        "{text}"
    );
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 3);
    assert_eq!(tx_of(&text), reqs[2].transaction_id.as_deref());
    let app = read_app(&env, "alpha", "Customer Portal").await;
    assert_eq!(
        app["managedApplication"]["_rev"], "1",
        "application untouched"
    );
}

#[tokio::test]
async fn update_oidc_app_reports_a_client_updated_but_an_application_not_patched() {
    let env = env().await;
    let (err, text) = env
        .call(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal",
                   "oauth2Client": {"coreOAuth2ClientConfig": {"scopes": {"inherited": false, "value": ["openid"]}}},
                   "managedApplication": {"_rev": "7", "operations": [{"operation": "replace", "field": "/description", "value": "x"}]}}),
        )
        .await;
    assert!(err);
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[2].status, 200, "the client was written");
    assert_eq!(reqs[3].status, 412, "stale application _rev");
    assert!(
        text.starts_with(
            &format!("Failed to update OIDC app: partly done. The AM OAuth2 client \"customer-portal\" was updated, but patching the IDM application \"Customer Portal\" ({PORTAL_ID}) failed, so the application was not changed.")
        ),
        "{text}"
    );
    assert!(text.contains("getOidcApp"), "{text}");
    assert!(
        text.contains("IDM error: 412 Precondition Failed - {"),
        "{text}"
    );
    assert_eq!(tx_of(&text), reqs[3].transaction_id.as_deref());
    let app = read_app(&env, "alpha", "Customer Portal").await;
    assert_eq!(
        app["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"]["value"],
        json!(["openid"])
    );
    assert_eq!(
        app["managedApplication"]["description"],
        "Self-service portal for customers"
    );
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_oidc_app_deletes_the_application_then_its_client() {
    let env = env().await;
    let text = call_ok(
        &env,
        "deleteOidcApp",
        json!({"realm": "alpha", "name": "Mobile Banking"}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 3);
    assert_lookup(&reqs[0], "alpha", "Mobile%20Banking", "_id,ssoEntities");
    let idm = &reqs[1];
    assert_eq!(
        (idm.method.as_str(), idm.path.as_str(), idm.query.as_deref()),
        (
            "DELETE",
            format!("{ALPHA_APPS}/{BANKING_ID}").as_str(),
            None
        )
    );
    assert_idm_headers(idm);
    assert_eq!(idm.header("if-match"), None);
    assert_eq!(idm.header("content-type"), None);
    assert_am(
        &reqs[2],
        "DELETE",
        &format!("{ALPHA_AGENTS}/mobile-banking"),
    );
    assert_eq!(reqs[2].body, "");
    assert_eq!(
        tx_of(&text),
        reqs[2].transaction_id.as_deref(),
        "TX of the last response"
    );
    assert_eq!(
        body_of(&text),
        json!({"deleted": [
            format!("IDM managed application ({BANKING_ID})"),
            "AM OAuth2Client (mobile-banking)"
        ]})
    );
    let (err, text) = env
        .call(
            "getOidcApp",
            json!({"realm": "alpha", "name": "Mobile Banking"}),
        )
        .await;
    assert!(err);
    assert!(text.starts_with("No application found"), "{text}");
    env.sim.clear_requests();

    // No client: one delete.
    let text = call_ok(
        &env,
        "deleteOidcApp",
        json!({"realm": "alpha", "name": "Payroll"}),
    )
    .await;
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 2);
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());
    assert_eq!(
        body_of(&text),
        json!({"deleted": [format!("IDM managed application ({PAYROLL_ID})")]})
    );

    // Not found: nothing deleted.
    let (err, text) = env
        .call(
            "deleteOidcApp",
            json!({"realm": "alpha", "name": "Payroll"}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        "No application found with name \"Payroll\" in realm \"alpha\"."
    );
    assert_eq!(take(&env, AM_IDM).len(), 1);
}

#[tokio::test]
async fn delete_oidc_app_reports_an_application_deleted_but_a_client_left() {
    let env = env().await;
    env.sim.push_fault(
        Fault::new(
            format!("{ALPHA_AGENTS}/customer-portal"),
            fault(500, "AM down"),
        )
        .with_method("DELETE"),
    );
    let (err, text) = env
        .call(
            "deleteOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal"}),
        )
        .await;
    assert!(err);
    let reqs = take(&env, AM_IDM);
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].status, 200, "the application was deleted");
    assert!(
        text.starts_with(&format!(
            "Failed to delete OIDC app: partly done. The IDM application \"Customer Portal\" ({PORTAL_ID}) was deleted from realm \"alpha\", but deleting its AM OAuth2 client \"customer-portal\" failed"
        )),
        "{text}"
    );
    assert!(text.contains("AM admin console"), "{text}");
    assert!(
        text.contains("AM error: 500 Internal Server Error - {"),
        "{text}"
    );
    assert_eq!(tx_of(&text), reqs[2].transaction_id.as_deref());

    // The IDM delete fails: the client is not touched.
    env.sim.push_fault(
        Fault::new(format!("{ALPHA_APPS}/{BANKING_ID}"), fault(500, "IDM down"))
            .with_method("DELETE"),
    );
    let (err, text) = env
        .call(
            "deleteOidcApp",
            json!({"realm": "alpha", "name": "Mobile Banking"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to delete OIDC app: 500 Internal Server Error - {"),
        "{text}"
    );
    assert_eq!(take(&env, AM_IDM).len(), 2, "no AM delete");
    assert!(read_app(&env, "alpha", "Mobile Banking").await["oauth2Client"].is_object());

    // A stored link that is not a safe path segment: refused before anything is deleted.
    env.sim.push_fault(
        Fault::new(
            ALPHA_APPS,
            FaultKind::Status {
                status: 200,
                body: json!({"result": [{"_id": BANKING_ID, "_rev": "1", "ssoEntities": {"oidcId": ".."}}], "resultCount": 1}).to_string(),
            },
        )
        .with_method("GET"),
    );
    let (err, text) = env
        .call(
            "deleteOidcApp",
            json!({"realm": "alpha", "name": "Mobile Banking"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with(
            "Failed to delete OIDC app: cannot use the stored client id in a request path"
        ),
        "{text}"
    );
    assert_eq!(take(&env, AM_IDM).len(), 1, "only the lookup");
}

// ---------------------------------------------------------------------------------------
// Bad input: rejected with an isError text naming the argument, and nothing is sent.

fn set(args: &Value, key: &str, value: Value) -> Value {
    let mut a = args.clone();
    a[key] = value;
    a
}

fn without(args: &Value, key: &str) -> Value {
    let mut a = args.clone();
    if let Some(m) = a.as_object_mut() {
        m.remove(key);
    }
    a
}

fn valid_calls() -> Vec<(&'static str, Value)> {
    vec![
        (
            "createOidcApp",
            json!({"realm": "alpha", "name": "N", "clientId": "c", "owners": [{"_ref": OWNER}]}),
        ),
        ("deleteOidcApp", json!({"realm": "alpha", "name": "N"})),
        ("getOidcAppSchema", json!({"realm": "alpha"})),
        ("getOidcApp", json!({"realm": "alpha", "name": "N"})),
        ("listOidcApps", json!({"realm": "alpha"})),
        (
            "updateOidcApp",
            json!({"realm": "alpha", "name": "N", "oauth2Client": {}}),
        ),
    ]
}

const BAD_SEGMENTS: [&str; 10] = [
    "../config/managed",
    "a/b",
    "..",
    "a\\b",
    "%2e%2e",
    "x%2Fy",
    "%5C",
    " ",
    "",
    "a..b",
];

#[tokio::test]
async fn bad_input_is_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let mut checked = 0;
    for (tool, valid) in valid_calls() {
        // realm: closed enum, required.
        for bad in [
            json!("gamma"),
            json!("Alpha"),
            json!(""),
            json!(1),
            json!(null),
        ] {
            assert_rejected(&env, tool, set(&valid, "realm", bad), "realm").await;
            checked += 1;
        }
        assert_rejected(&env, tool, without(&valid, "realm"), "realm").await;
        if valid.get("name").is_none() {
            continue;
        }
        // name: a safe segment, bounded, no control characters, a required string.
        let mut bad_names: Vec<Value> = BAD_SEGMENTS.iter().map(|s| json!(s)).collect();
        bad_names.extend([
            json!("x".repeat(257)),
            json!("Portal\r\nX-Injected: 1"),
            json!("Portal\u{0000}"),
            json!(42),
            json!(["Portal"]),
            json!(null),
        ]);
        for bad in bad_names {
            assert_rejected(&env, tool, set(&valid, "name", bad), "name").await;
            checked += 1;
        }
        assert_rejected(&env, tool, without(&valid, "name"), "name").await;
    }
    assert_eq!(checked, 6 * 5 + 4 * 16);

    // createOidcApp: clientId, owners, oauth2Client.
    let create = valid_calls()[0].1.clone();
    for bad in BAD_SEGMENTS.iter().map(|s| json!(s)).chain([
        json!("c".repeat(257)),
        json!("c\nd"),
        json!(7),
    ]) {
        assert_rejected(
            &env,
            "createOidcApp",
            set(&create, "clientId", bad),
            "clientId",
        )
        .await;
    }
    assert_rejected(
        &env,
        "createOidcApp",
        without(&create, "clientId"),
        "clientId",
    )
    .await;
    for (bad, hint) in [
        (json!([]), "owners"),
        (json!("managed/alpha_user/x"), "owners"),
        (json!(["managed/alpha_user/x"]), "owners"),
        (json!([{}]), "owners[0]._ref"),
        (json!([{"_ref": OWNER}, {"_ref": ""}]), "owners[1]._ref"),
        (json!([{"_ref": 5}]), "owners[0]._ref"),
        (json!(null), "owners"),
    ] {
        assert_rejected(&env, "createOidcApp", set(&create, "owners", bad), hint).await;
    }
    assert_rejected(&env, "createOidcApp", without(&create, "owners"), "owners").await;
    for (bad, hint) in [
        (json!("x"), "oauth2Client"),
        (json!([1]), "oauth2Client"),
        (json!({"_rev": "1"}), "oauth2Client._rev"),
        (json!({"_id": "c"}), "oauth2Client._id"),
        (
            json!({"coreOAuth2ClientConfig": "x"}),
            "oauth2Client.coreOAuth2ClientConfig",
        ),
    ] {
        assert_rejected(
            &env,
            "createOidcApp",
            set(&create, "oauth2Client", bad),
            hint,
        )
        .await;
    }

    // updateOidcApp: oauth2Client and managedApplication.
    let update = json!({"realm": "alpha", "name": "N"});
    for (bad, hint) in [
        (json!("x"), "oauth2Client"),
        (json!({"_type": {}}), "oauth2Client._type"),
    ] {
        assert_rejected(
            &env,
            "updateOidcApp",
            set(&update, "oauth2Client", bad),
            hint,
        )
        .await;
    }
    let op = json!({"operation": "replace", "field": "/description", "value": "x"});
    for (bad, hint) in [
        (json!("x"), "managedApplication"),
        (json!({"operations": [op]}), "_rev"),
        (json!({"_rev": "", "operations": [op]}), "_rev"),
        (
            json!({"_rev": "  ", "operations": [op]}),
            "managedApplication._rev",
        ),
        (
            json!({"_rev": "1\r\nX: y", "operations": [op]}),
            "managedApplication._rev",
        ),
        (json!({"_rev": 1, "operations": [op]}), "_rev"),
        (json!({"_rev": "1"}), "operations"),
        (json!({"_rev": "1", "operations": op}), "operations"),
        (
            json!({"_rev": "1", "operations": [{"operation": "move", "field": "/a"}]}),
            "operation",
        ),
        (
            json!({"_rev": "1", "operations": [{"operation": "add", "value": 1}]}),
            "field",
        ),
        (
            json!({"_rev": "1", "operations": [{"operation": "replace", "field": "/", "value": {}}]}),
            "managedApplication.operations[0].field",
        ),
        (
            json!({"_rev": "1", "operations": [op, {"operation": "remove", "field": "/a\nb"}]}),
            "managedApplication.operations[1].field",
        ),
        (
            json!({"_rev": "1", "operations": [{"operation": "remove", "field": "x".repeat(513)}]}),
            "managedApplication.operations[0].field",
        ),
    ] {
        assert_rejected(
            &env,
            "updateOidcApp",
            set(&update, "managedApplication", bad),
            hint,
        )
        .await;
    }

    // getOidcAppSchema: booleans and section names.
    let schema = json!({"realm": "alpha"});
    for (key, bad, hint) in [
        ("summary", json!("false"), "summary"),
        ("includeDefaults", json!(1), "includeDefaults"),
        ("sections", json!("coreOAuth2ClientConfig"), "sections"),
        ("sections", json!([1]), "sections"),
        ("sections", json!(["a\nb"]), "sections[0]"),
        ("sections", json!(["x".repeat(257)]), "sections[0]"),
        ("sections", json!(vec!["s"; 51]), "sections"),
    ] {
        assert_rejected(&env, "getOidcAppSchema", set(&schema, key, bad), hint).await;
    }

    // listOidcApps: the caller's filter is bounded and single-line.
    let list = json!({"realm": "alpha"});
    for bad in [json!("x".repeat(1001)), json!("true\r\nX: y"), json!(true)] {
        assert_rejected(
            &env,
            "listOidcApps",
            set(&list, "queryFilter", bad),
            "queryFilter",
        )
        .await;
    }

    // Not an object at all.
    assert_rejected(&env, "listOidcApps", json!(["alpha"]), "JSON object").await;
}

#[tokio::test]
async fn unusual_but_valid_names_are_sent_escaped() {
    let env = env().await;
    for name in [
        "x".repeat(256),
        "a b?c#d%e&f=g".to_string(),
        r#"Say "Hi""#.to_string(),
        "ünïcødé ✓".to_string(),
    ] {
        let (err, text) = env
            .call("getOidcApp", json!({"realm": "alpha", "name": name}))
            .await;
        assert!(err);
        assert_eq!(
            text,
            format!("No application found with name \"{name}\" in realm \"alpha\".")
        );
        let reqs = take(&env, AM_IDM);
        assert_eq!(reqs[0].path, ALPHA_APPS);
        let q = reqs[0].query_pairs();
        assert_eq!(q.len(), 2, "nothing smuggled into the query: {q:?}");
        assert_eq!(
            q[0].1,
            format!(
                "name eq \"{}\"",
                name.replace('\\', "\\\\").replace('"', "\\\"")
            )
        );
    }
}

#[tokio::test]
async fn container_mode_has_no_application_tools() {
    let env = Env::start(EnvOptions {
        extra_env: vec![("DOCKER_CONTAINER".into(), "true".into())],
        sim: SimConfig {
            tls: true,
            device_interval_secs: 1,
            auto_approve: true,
            ..SimConfig::default()
        },
        ..EnvOptions::default()
    })
    .await
    .expect("env");
    for (tool, args) in valid_calls() {
        assert!(env.app.registry().get(tool).is_none(), "{tool}");
        let (err, text) = env.call(tool, args).await;
        assert!(err, "{tool}: {text}");
        assert_eq!(text, format!("Tool {tool} not found"));
    }
    assert!(env.sim.requests().is_empty(), "no login, no request");
}
