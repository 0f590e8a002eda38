//! Bad input gets a clear error and changes nothing: every string argument of every tool
//! is attacked with path traversal and injection values, plus missing, mistyped and
//! oversized arguments. Each rejection is an `isError` result naming the argument, and
//! the simulator sees no request at all (not even a login).

use aic_mcp_tests::assert_rejected;
use aic_mcp_tests::{Env, EnvOptions};
use serde_json::{json, Value};

const TRAVERSAL: &[&str] = &[
    "../config/managed",
    "a/b",
    "..",
    "a\\b",
    "%2e%2e",
    "x%2Fy",
    "%5C",
    " ",
    "",
    ".",
];

/// (tool, valid arguments, JSON pointers of path-segment arguments)
fn segment_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "createManagedObject",
            json!({"objectType": "alpha_user", "objectData": {"userName": "x"}}),
            vec!["/objectType"],
        ),
        (
            "deleteManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1"}),
            vec!["/objectType", "/objectId"],
        ),
        (
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1"}),
            vec!["/objectType", "/objectId"],
        ),
        (
            "getManagedObjectSchema",
            json!({"objectType": "alpha_user"}),
            vec!["/objectType"],
        ),
        (
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1", "revision": "1", "operations": []}),
            vec!["/objectType", "/objectId"],
        ),
        (
            "patchManagedObjectRelationship",
            json!({"objectType": "alpha_user", "propertyName": "custom_x", "action": "remove"}),
            vec!["/objectType", "/propertyName"],
        ),
        (
            "queryManagedObjects",
            json!({"objectType": "alpha_user"}),
            vec!["/objectType"],
        ),
        (
            "createManagedObjectDefinition",
            json!({"objectName": "alpha_x", "objectDefinition": {}}),
            vec!["/objectName"],
        ),
        (
            "deleteManagedObjectDefinition",
            json!({"objectName": "alpha_x"}),
            vec!["/objectName"],
        ),
        (
            "patchManagedObjectDefinition",
            json!({"objectName": "alpha_x", "operations": []}),
            vec!["/objectName"],
        ),
    ]
}

/// (tool, argument pointer, rejected values): injection into query parameters and headers.
fn injection_cases() -> Vec<(&'static str, Value, &'static str, Vec<Value>)> {
    let q = json!({"objectType": "alpha_user"});
    let logs = json!({"sources": ["am-access"]});
    vec![
        (
            "queryManagedObjects",
            q.clone(),
            "/queryFilter",
            vec![json!("true\r\nX-Injected: 1"), json!("x".repeat(1001))],
        ),
        (
            "queryManagedObjects",
            q.clone(),
            "/fields",
            vec![
                json!("userName&_queryFilter=true"),
                json!("a b"),
                json!("x".repeat(501)),
            ],
        ),
        (
            "queryManagedObjects",
            q.clone(),
            "/sortKeys",
            vec![json!("userName&_fields=password"), json!("x".repeat(501))],
        ),
        (
            "queryManagedObjects",
            q.clone(),
            "/pagedResultsCookie",
            vec![json!("abc\ndef")],
        ),
        (
            "queryManagedObjects",
            q.clone(),
            "/pageSize",
            vec![json!(0), json!(251), json!("50"), json!(1.5)],
        ),
        (
            "queryLogs",
            logs.clone(),
            "/sources",
            vec![
                json!(["am-access,idm-core"]),
                json!(["am-access&source=x"]),
                json!([""]),
                json!("am-access"),
            ],
        ),
        (
            "queryLogs",
            logs.clone(),
            "/beginTime",
            vec![
                json!("2025-01-01T00:00:00Z&endTime=x"),
                json!("yesterday at noon"),
            ],
        ),
        (
            "queryLogs",
            logs.clone(),
            "/endTime",
            vec![json!("2025-01-01T00:00:00Z\n")],
        ),
        (
            "queryLogs",
            logs.clone(),
            "/transactionId",
            vec![json!("abc def"), json!("abc&_queryFilter=true")],
        ),
        (
            "queryLogs",
            logs.clone(),
            "/queryFilter",
            vec![
                json!("/payload/level eq \"x\"\u{0000}"),
                json!("x".repeat(2001)),
            ],
        ),
        (
            "queryLogs",
            logs.clone(),
            "/pageSize",
            vec![json!(0), json!(1001)],
        ),
        (
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1", "revision": "1", "operations": []}),
            "/revision",
            vec![json!("   "), json!(""), json!("1\r\nX: y")],
        ),
        (
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1", "revision": "1", "operations": []}),
            "/operations",
            vec![
                json!([{"operation": "delete", "field": "/a"}]),
                json!([{"operation": "move", "field": "/a"}]),
                json!({"operation": "add"}),
            ],
        ),
        (
            "patchManagedObjectRelationship",
            json!({"objectType": "alpha_user", "propertyName": "custom_x", "action": "remove"}),
            "/propertyName",
            vec![json!("manager"), json!("xcustom_")],
        ),
        (
            "patchManagedObjectRelationship",
            json!({"objectType": "alpha_user", "propertyName": "custom_x", "action": "remove"}),
            "/action",
            vec![json!("delete"), json!(7)],
        ),
        (
            "patchManagedObjectDefinition",
            json!({"objectName": "alpha_x", "operations": []}),
            "/operations",
            vec![
                json!([{"operation": "add", "field": "schema/properties/x", "value": 1}]),
                json!([{"operation": "add", "field": "/x"}]),
            ],
        ),
        (
            "createManagedObjectDefinition",
            json!({"objectName": "alpha_x", "objectDefinition": {}}),
            "/objectName",
            vec![json!("alpha-x"), json!("alpha x"), json!("alpha_x\"")],
        ),
        (
            "getManagedObjectSchema",
            json!({"objectType": "alpha_user"}),
            "/includeFullDefinition",
            vec![json!("yes")],
        ),
        (
            "createManagedObject",
            json!({"objectType": "alpha_user", "objectData": {}}),
            "/objectData",
            vec![json!("x"), json!([1])],
        ),
    ]
}

fn set(args: &Value, pointer: &str, value: Value) -> Value {
    let mut a = args.clone();
    if let Some(slot) = a.pointer_mut(pointer) {
        *slot = value;
    } else if let Some(obj) = a.as_object_mut() {
        obj.insert(pointer.trim_start_matches('/').to_string(), value);
    }
    a
}

#[tokio::test]
async fn traversal_in_every_path_segment_is_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let mut checked = 0;
    for (tool, valid, pointers) in segment_cases() {
        for pointer in pointers {
            let field = pointer.trim_start_matches('/');
            for bad in TRAVERSAL {
                assert_rejected(&env, tool, set(&valid, pointer, json!(bad)), field).await;
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "{checked}");
}

/// Every tool that takes a managed object type, with valid arguments.
fn managed_type_cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "createManagedObject",
            json!({"objectType": "alpha_user", "objectData": {"userName": "x"}}),
        ),
        (
            "deleteManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1"}),
        ),
        (
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1"}),
        ),
        (
            "getManagedObjectSchema",
            json!({"objectType": "alpha_user"}),
        ),
        (
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": "id1", "revision": "1", "operations": []}),
        ),
        (
            "patchManagedObjectRelationship",
            json!({"objectType": "alpha_user", "propertyName": "custom_x", "action": "remove"}),
        ),
        ("queryManagedObjects", json!({"objectType": "alpha_user"})),
    ]
}

#[tokio::test]
async fn managed_object_types_outside_the_identifier_grammar_are_refused_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    // (value, the character the message names): each would have been percent-encoded and
    // sent before; `?` and `&` would end up in the path of an IDM request.
    let bad: &[(&str, &str)] = &[
        ("alpha_user?_action=patch&x=", "?"),
        ("alpha_user&_fields=password", "&"),
        ("alpha_user#x", "#"),
        ("alpha user", " "),
        ("alpha.user", "."),
        ("alpha_user;x", ";"),
        ("alpha_us\u{e9}r", "\\u{e9}"),
        ("alpha_user\u{0}", "\\u{0}"),
    ];
    for (tool, valid) in managed_type_cases() {
        for (value, found) in bad {
            let args = set(&valid, "/objectType", json!(value));
            assert_rejected(
                &env,
                tool,
                args,
                &format!("objectType: '{}' is not a managed object type name: it contains '{found}'; a type name has only letters, digits, '_' and '-'", value.escape_debug()),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn managed_object_type_names_with_hyphens_and_digits_are_sent() {
    let env = Env::start(EnvOptions::default())
        .await
        .expect("env")
        .logged_in()
        .await
        .expect("login");
    let (_, text) = env
        .call(
            "queryManagedObjects",
            json!({"objectType": "alpha-device_2"}),
        )
        .await;
    let reqs = env.resource_requests();
    assert_eq!(reqs.len(), 1, "{text}");
    assert_eq!(reqs[0].path, "/openidm/managed/alpha-device_2");
}

#[tokio::test]
async fn a_lone_dot_is_refused_as_a_path_segment_in_every_family() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let cases = [
        (
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": "."}),
            "objectId",
        ),
        (
            "patchManagedObjectRelationship",
            json!({"objectType": "alpha_user", "propertyName": ".", "action": "remove"}),
            "propertyName",
        ),
        (
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": "."}),
            "themeIdentifier",
        ),
        ("getVariable", json!({"variableId": "."}), "variableId"),
        (
            "getJourney",
            json!({"realm": "alpha", "journeyName": "."}),
            "journeyName",
        ),
        (
            "deleteJourneyNodes",
            json!({"realm": "alpha", "nodes": [{"nodeType": "MessageNode", "nodeId": "."}]}),
            "nodes[0].nodeId",
        ),
        (
            "getAMScript",
            json!({"realm": "alpha", "scriptId": "."}),
            "scriptId",
        ),
        (
            "createOidcApp",
            json!({"realm": "alpha", "name": "App", "clientId": ".", "owners": [{"_ref": "managed/alpha_user/u1"}]}),
            "clientId",
        ),
    ];
    for (tool, args, field) in cases {
        assert_rejected(
            &env,
            tool,
            args,
            &format!(
                "{field}: '.' is not a usable path segment: a lone dot means the enclosing path"
            ),
        )
        .await;
    }
}

#[tokio::test]
async fn injection_and_out_of_range_values_are_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    for (tool, valid, pointer, values) in injection_cases() {
        let field = pointer.trim_start_matches('/');
        for bad in values {
            assert_rejected(&env, tool, set(&valid, pointer, bad), field).await;
        }
    }
}

#[tokio::test]
async fn missing_required_and_wrong_types_are_rejected_without_a_request() {
    let env = Env::start(EnvOptions::default()).await.expect("env");
    assert_rejected(
        &env,
        "getManagedObject",
        json!({"objectType": "alpha_user"}),
        "objectId",
    )
    .await;
    assert_rejected(&env, "queryLogs", json!({}), "sources").await;
    assert_rejected(
        &env,
        "queryManagedObjects",
        json!({"objectType": 42}),
        "invalid type",
    )
    .await;
    assert_rejected(
        &env,
        "patchManagedObject",
        json!({"objectType": "alpha_user", "objectId": "x", "revision": "1"}),
        "operations",
    )
    .await;
    assert_rejected(&env, "listManagedObjects", json!([1, 2]), "JSON object").await;
    assert_rejected(
        &env,
        "patchManagedObjectRelationship",
        json!({"objectType": "alpha_user", "propertyName": "custom_x", "action": "add"}),
        "propertyDefinition",
    )
    .await;
    let (err, text) = env.call("noSuchTool", json!({})).await;
    assert!(err && text.contains("noSuchTool"), "{text}");
    assert!(env.sim.requests().is_empty());
}

#[tokio::test]
async fn free_form_filters_travel_as_one_encoded_parameter() {
    let env = Env::start(EnvOptions::default())
        .await
        .expect("env")
        .logged_in()
        .await
        .expect("login");
    let filter = "userName eq \"a&_fields=password#x\" or givenName sw \"?\"";
    let (_, text) = env
        .call(
            "queryManagedObjects",
            json!({"objectType": "alpha_user", "queryFilter": filter}),
        )
        .await;
    let reqs = env.resource_requests();
    assert_eq!(reqs.len(), 1, "{text}");
    let pairs = reqs[0].query_pairs();
    assert_eq!(pairs[0], ("_queryFilter".to_string(), filter.to_string()));
    assert!(
        !pairs.iter().any(|(k, _)| k == "_fields"),
        "no parameter was smuggled in"
    );
    assert_eq!(reqs[0].path, "/openidm/managed/alpha_user");
}

#[tokio::test]
async fn unusual_but_safe_ids_are_percent_encoded() {
    let env = Env::start(EnvOptions::default())
        .await
        .expect("env")
        .logged_in()
        .await
        .expect("login");
    let (err, text) = env
        .call(
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": "a b?c#d%e"}),
        )
        .await;
    assert!(err, "no such object: {text}");
    let reqs = env.resource_requests();
    assert_eq!(
        reqs[0].path,
        "/openidm/managed/alpha_user/a%20b%3Fc%23d%25e"
    );
    assert_eq!(reqs[0].query, None, "'?' in an id cannot start a query");
}
