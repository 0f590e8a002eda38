//! Every tool of the managed-object and log families against the simulator: the exact
//! upstream requests (method, path, query, headers, body), one token exchange per call
//! with the tool's scopes, and the result text the contract describes.

use aic_mcp_tests::take_call as take;
use aic_mcp_tests::{tx_of, wire_env as env};
use serde_json::{json, Value};

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

#[tokio::test]
async fn list_managed_objects() {
    let env = env().await;
    let (err, text) = env.call("listManagedObjects", json!({})).await;
    assert!(!err, "{text}");
    let v: Value = serde_json::from_str(&text).expect("pretty json, no TX suffix");
    let names = v["managedObjectTypes"].as_array().expect("array");
    assert!(names.contains(&json!("alpha_user")) && names.contains(&json!("bravo_role")));
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/openidm/config/managed")
    );
    assert_eq!(reqs[0].header("accept-api-version"), None);
}

#[tokio::test]
async fn get_managed_object_schema_concise_full_and_missing() {
    let env = env().await;
    let (err, text) = env
        .call(
            "getManagedObjectSchema",
            json!({"objectType": "alpha_user"}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(
        tx_of(&text),
        reqs[0].transaction_id.as_deref(),
        "TX suffix of the GET"
    );
    let v = body_of(&text);
    assert_eq!(v["name"], "alpha_user");
    assert!(v["required"].is_array() && v["properties"].is_object());
    assert_eq!(v.as_object().map(|o| o.len()), Some(3));

    let (_, full) = env
        .call(
            "getManagedObjectSchema",
            json!({"objectType": "alpha_user", "includeFullDefinition": true}),
        )
        .await;
    assert_eq!(body_of(&full)["name"], "alpha_user");
    assert!(body_of(&full)["schema"].is_object());
    env.sim.clear_requests();

    let (err, text) = env
        .call(
            "getManagedObjectSchema",
            json!({"objectType": "Alpha_user"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Managed object type 'Alpha_user' not found. Available types: "),
        "{text}"
    );
    assert!(text.contains("alpha_user, "));
}

#[tokio::test]
async fn create_get_patch_query_delete_object() {
    let env = env().await;
    let data = json!({"userName": "e2e.user", "givenName": "E2E", "sn": "User", "mail": "e2e@example.com", "password": "Secr3t!Pass"});
    let (err, text) = env
        .call(
            "createManagedObject",
            json!({"objectType": "alpha_user", "objectData": data}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/openidm/managed/alpha_user");
    assert_eq!(r.query.as_deref(), Some("_action=create"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(serde_json::from_str::<Value>(&r.body).expect("json"), data);
    let first_line = text.lines().next().unwrap_or_default();
    let id = first_line
        .strip_prefix("Created managed object ")
        .expect("created text")
        .to_string();
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());

    let (err, text) = env
        .call(
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": id}),
        )
        .await;
    assert!(!err, "{text}");
    let obj = body_of(&text);
    assert_eq!(obj["userName"], "e2e.user");
    let rev = obj["_rev"].as_str().expect("rev").to_string();
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs[0].path, format!("/openidm/managed/alpha_user/{id}"));

    let (err, text) = env
        .call(
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": id, "revision": rev,
                   "operations": [{"operation": "replace", "field": "/mail", "value": "new@example.com", "ignored": 1}]}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs[0].method, "PATCH");
    assert_eq!(reqs[0].header("if-match"), Some(rev.as_str()));
    assert_eq!(
        serde_json::from_str::<Value>(&reqs[0].body).expect("json"),
        json!([{"operation": "replace", "field": "/mail", "value": "new@example.com"}]),
        "unknown keys are dropped"
    );
    let new_rev = text
        .lines()
        .next()
        .unwrap_or_default()
        .rsplit("New revision: ")
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(text.starts_with(&format!("Patched managed object {id}. New revision: ")));
    assert_ne!(new_rev, rev);

    // A stale revision fails with the tenant's 412 and changes nothing.
    let (err, text) = env
        .call(
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": id, "revision": rev,
                   "operations": [{"operation": "replace", "field": "/mail", "value": "x@example.com"}]}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to patch managed object: 412 Precondition Failed - "),
        "{text}"
    );
    assert!(text.contains("\n\nTransaction ID: "));
    env.sim.clear_requests();

    let (err, text) = env
        .call(
            "queryManagedObjects",
            json!({"objectType": "alpha_user", "queryFilter": "userName eq \"e2e.user\"", "fields": "userName,mail", "sortKeys": "-userName"}),
        )
        .await;
    assert!(!err, "{text}");
    let result = body_of(&text);
    assert_eq!(result["resultCount"], 1);
    assert_eq!(result["result"][0]["mail"], "new@example.com");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs[0].path, "/openidm/managed/alpha_user");
    assert_eq!(
        reqs[0].query_pairs(),
        vec![
            (
                "_queryFilter".to_string(),
                "userName eq \"e2e.user\"".to_string()
            ),
            ("_pageSize".to_string(), "50".to_string()),
            ("_totalPagedResultsPolicy".to_string(), "EXACT".to_string()),
            ("_sortKeys".to_string(), "-userName".to_string()),
            ("_fields".to_string(), "userName,mail".to_string()),
        ]
    );
    assert!(
        reqs[0]
            .query
            .as_deref()
            .unwrap_or("")
            .contains("userName+eq+%22e2e.user%22"),
        "form-style encoding"
    );

    let (err, text) = env
        .call(
            "deleteManagedObject",
            json!({"objectType": "alpha_user", "objectId": id}),
        )
        .await;
    assert!(!err, "{text}");
    assert!(text.starts_with(&format!(
        "Deleted managed object {id} from alpha_user\n\nTransaction ID: "
    )));
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].header("if-match")),
        ("DELETE", None)
    );

    let (err, text) = env
        .call(
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": id}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to retrieve managed object: 404 Not Found - "),
        "{text}"
    );
}

#[tokio::test]
async fn query_defaults_and_page_size_clamp() {
    let env = env().await;
    let (err, text) = env
        .call(
            "queryManagedObjects",
            json!({"objectType": "bravo_user", "queryFilter": "", "pageSize": 250}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(
        reqs[0].query_pairs(),
        vec![
            ("_queryFilter".to_string(), "true".to_string()),
            ("_pageSize".to_string(), "250".to_string()),
            ("_totalPagedResultsPolicy".to_string(), "EXACT".to_string()),
        ]
    );
    assert!(body_of(&text)["result"].is_array());
}

#[tokio::test]
async fn definitions_create_patch_relationship_delete() {
    let env = env().await;
    let definition = json!({"schema": {"title": "Device", "type": "object", "required": ["serialNumber"],
        "properties": {"serialNumber": {"type": "string"}}}});
    let (err, text) = env
        .call(
            "createManagedObjectDefinition",
            json!({"objectName": "alpha_device", "objectDefinition": definition}),
        )
        .await;
    assert!(!err, "{text}");
    let v = body_of(&text);
    assert_eq!(
        v["message"],
        "Created managed object definition 'alpha_device'"
    );
    assert_eq!(v["definition"]["name"], "alpha_device");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[1].method.as_str()),
        ("GET", "PATCH")
    );
    assert_eq!(reqs[1].header("if-match"), Some("*"));
    let mut expected_value = definition.clone();
    expected_value["name"] = json!("alpha_device");
    assert_eq!(
        serde_json::from_str::<Value>(&reqs[1].body).expect("json"),
        json!([{"operation": "add", "field": "/objects/-", "value": expected_value}])
    );

    // Duplicate: refused after the GET, no write.
    let (err, text) = env
        .call(
            "createManagedObjectDefinition",
            json!({"objectName": "alpha_device", "objectDefinition": definition}),
        )
        .await;
    assert!(err);
    assert!(text.contains("'alpha_device' already exists"), "{text}");
    assert_eq!(take(&env, "fr:idm:*").len(), 1);

    // Patch a plain property: the field is rebased on the type's index.
    let (err, text) = env
        .call(
            "patchManagedObjectDefinition",
            json!({"objectName": "alpha_device", "operations": [{"operation": "add", "field": "/schema/properties/color", "value": {"type": "string"}}]}),
        )
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["operationsApplied"], 1);
    assert_eq!(
        body_of(&text)["definition"]["schema"]["properties"]["color"]["type"],
        "string"
    );
    let reqs = take(&env, "fr:idm:*");
    let ops: Value = serde_json::from_str(&reqs[1].body).expect("json");
    let field = ops[0]["field"].as_str().unwrap_or_default();
    assert!(
        field.starts_with("/objects/") && field.ends_with("/schema/properties/color"),
        "{field}"
    );

    // A relationship in a definition patch is refused without a write.
    let (err, text) = env
        .call(
            "patchManagedObjectDefinition",
            json!({"objectName": "alpha_device", "operations": [{"operation": "add", "field": "/schema/properties/owner",
                   "value": {"type": "relationship", "resourceCollection": [{"path": "managed/alpha_user"}]}}]}),
        )
        .await;
    assert!(err);
    assert!(text.contains("patchManagedObjectRelationship"), "{text}");
    assert_eq!(take(&env, "fr:idm:*").len(), 1, "GET only");

    // Empty operations: no request at all.
    let (err, text) = env
        .call(
            "patchManagedObjectDefinition",
            json!({"objectName": "alpha_device", "operations": []}),
        )
        .await;
    assert!(err && text.starts_with("No operations provided"), "{text}");
    assert!(env.sim.requests().is_empty());

    // Relationship from alpha_user to alpha_device through the schema service.
    let prop = json!({"type": "array", "title": "Devices", "items": {"type": "relationship",
        "resourceCollection": [{"path": "managed/alpha_device", "label": "Device"}]}});
    let (err, text) = env
        .call(
            "patchManagedObjectRelationship",
            json!({"objectType": "alpha_user", "propertyName": "custom_devices", "action": "add", "propertyDefinition": prop}),
        )
        .await;
    assert!(!err, "{text}");
    assert_eq!(
        body_of(&text)["message"],
        "Added relationship property 'custom_devices' on 'alpha_user'"
    );
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(reqs[0].method, "PUT");
    assert_eq!(
        reqs[0].path,
        "/openidm/schema/managed/alpha_user/properties/custom_devices"
    );
    assert_eq!(reqs[0].header("accept-api-version"), Some("resource=2.0"));
    assert_eq!(reqs[0].header("if-match"), Some("*"));
    assert_eq!(
        serde_json::from_str::<Value>(&reqs[0].body).expect("json"),
        prop
    );

    // Now alpha_device is referenced: delete is refused, naming the reference.
    let (err, text) = env
        .call(
            "deleteManagedObjectDefinition",
            json!({"objectName": "alpha_device"}),
        )
        .await;
    assert!(err);
    assert!(
        text.contains("alpha_user (properties: custom_devices)"),
        "{text}"
    );
    assert_eq!(take(&env, "fr:idm:*").len(), 1, "GET only");

    let (err, text) = env
        .call("patchManagedObjectRelationship", json!({"objectType": "alpha_user", "propertyName": "custom_devices", "action": "remove"}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(
        body_of(&text)["message"],
        "Removed relationship property 'custom_devices' from 'alpha_user'"
    );
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].body.as_str()),
        ("DELETE", "")
    );

    let (err, text) = env
        .call("patchManagedObjectRelationship", json!({"objectType": "alpha_user", "propertyName": "custom_devices", "action": "remove"}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to remove relationship property 'custom_devices': not found."),
        "{text}"
    );
    env.sim.clear_requests();

    let (err, text) = env
        .call(
            "deleteManagedObjectDefinition",
            json!({"objectName": "alpha_device"}),
        )
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["removedDefinition"]["name"], "alpha_device");
    let reqs = take(&env, "fr:idm:*");
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].header("if-match")),
        ("PUT", Some("*"))
    );
    let put: Value = serde_json::from_str(&reqs[1].body).expect("json");
    assert!(put["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .all(|o| o["name"] != "alpha_device"));
    assert_eq!(put["_id"], "managed", "other top-level keys are kept");
}

#[tokio::test]
async fn log_sources_and_query() {
    let env = env().await;
    let (err, text) = env.call("getLogSources", json!({})).await;
    assert!(!err, "{text}");
    assert!(text.contains("am-authentication"));
    let reqs = take(&env, "fr:idc:monitoring:*");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/monitoring/logs/sources")
    );
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());

    // A managed-object call leaves its transaction id in the tenant's idm-access log.
    let (_, text) = env.call("listManagedObjects", json!({})).await;
    assert!(!text.contains("Transaction ID"));
    let tx = env.resource_requests()[0]
        .header("x-forgerock-transactionid")
        .expect("tx")
        .to_string();
    env.sim.clear_requests();
    let (err, text) = env
        .call(
            "queryLogs",
            json!({"sources": ["idm-access", "am-access"], "transactionId": tx}),
        )
        .await;
    assert!(!err, "{text}");
    let v = body_of(&text);
    assert!(v["resultCount"].as_u64().unwrap_or(0) >= 1, "{text}");
    assert!(text.contains(&tx));
    let reqs = take(&env, "fr:idc:monitoring:*");
    assert_eq!(
        reqs[0].query_pairs(),
        vec![
            ("source".to_string(), "idm-access,am-access".to_string()),
            ("transactionId".to_string(), tx.clone()),
            ("_pageSize".to_string(), "100".to_string()),
        ]
    );
    assert!(reqs[0]
        .query
        .as_deref()
        .unwrap_or("")
        .starts_with("source=idm-access%2Cam-access&"));

    // A filter without a leading '/' gets the tenant's 500, reported with the prefix.
    let (err, text) = env
        .call("queryLogs", json!({"sources": ["am-access"], "queryFilter": "payload/level eq \"ERROR\"", "pageSize": 5000}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("MCP error -32602: Input validation error"),
        "pageSize 5000 is out of range: {text}"
    );
    let (err, text) = env
        .call("queryLogs", json!({"sources": ["am-access"], "queryFilter": "payload/level eq \"ERROR\"", "pageSize": 1000}))
        .await;
    assert!(err);
    assert!(
        text.starts_with("Failed to query logs: 500 Internal Server Error - "),
        "{text}"
    );
}
