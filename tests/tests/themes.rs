//! The theme family against the simulator: the exact upstream requests (method, path,
//! query and its encoding, headers, body), one token exchange per call with `fr:idm:*`
//! (none at all for getThemeSchema), the result texts of contract §3.4, and bad input
//! rejected before anything is sent.

use aic_mcp_tests::aic_tenant_sim::{Fault, FaultKind, RecordedRequest};
use aic_mcp_tests::assert_rejected;
use aic_mcp_tests::{form, Env, EnvOptions};
use aic_mcp_tests::{tx_of, wire_env as env};
use serde_json::{json, Value};

const CONFIG: &str = "/openidm/config/ui/themerealm";

fn body_of(text: &str) -> Value {
    let json = text
        .split("\n\nTransaction ID: ")
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn json_of(r: &RecordedRequest) -> Value {
    serde_json::from_str(&r.body).expect("JSON body")
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts the call made exactly one exchange, for `fr:idm:*`, and returns the resource
/// requests it made, clearing the log for the next call.
fn take(env: &Env) -> Vec<RecordedRequest> {
    let exchanges = env.exchanges();
    assert_eq!(exchanges.len(), 1, "one token exchange per tool call");
    let f = form(&exchanges[0].body);
    assert_eq!(f.get("scope").map(String::as_str), Some("fr:idm:*"));
    assert_eq!(
        f.get("client_id").map(String::as_str),
        Some("AICMCPExchangeClient")
    );
    let reqs = env.resource_requests();
    for r in &reqs {
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION")))
        );
        assert!(r.header("x-forgerock-transactionid").is_some());
        assert_eq!(
            r.header("accept-api-version"),
            None,
            "IDM theme calls send none"
        );
        assert_eq!(r.header("if-match"), None, "theme writes have no If-Match");
        let bearer = r.header("authorization").unwrap_or_default();
        assert!(bearer.starts_with("Bearer "));
        for primary in env.sim.live_primary_tokens() {
            assert!(
                !bearer.contains(&primary),
                "the primary token must never reach a resource API"
            );
        }
    }
    env.sim.clear_requests();
    reqs
}

/// Asserts a GET of the theme config followed by a PUT of the whole document; returns the
/// PUT body.
fn read_then_put(reqs: &[RecordedRequest]) -> Value {
    assert_eq!(reqs.len(), 2, "GET then PUT");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", CONFIG)
    );
    assert_eq!(reqs[0].query, None);
    assert_eq!(reqs[0].header("content-type"), None);
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("PUT", CONFIG)
    );
    assert_eq!(reqs[1].query, None);
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
    json_of(&reqs[1])
}

fn alpha_names(config: &Value) -> Vec<String> {
    config["realm"]["alpha"]
        .as_array()
        .expect("alpha themes")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn theme_named(env: &Env, realm: &str, name: &str) -> Value {
    let (err, text) = env
        .call("getTheme", json!({"realm": realm, "themeIdentifier": name}))
        .await;
    env.sim.clear_requests();
    assert!(!err, "{text}");
    body_of(&text)
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_theme_schema_makes_no_request_at_all() {
    // Not logged in: the tool needs no login, no exchange, no tenant.
    let env = Env::start(EnvOptions::default()).await.expect("env");
    let (err, text) = env.call("getThemeSchema", json!({})).await;
    assert!(!err, "{text}");
    assert!(!text.contains("Transaction ID"));
    let v: Value = serde_json::from_str(&text).expect("pretty JSON only");
    assert_eq!(text, serde_json::to_string_pretty(&v).expect("pretty"));
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "schemaVersion",
            "description",
            "themeStructure",
            "fields",
            "importantNotes",
            "recommendedWorkflow"
        ]
    );
    assert_eq!(v["schemaVersion"], "1.0");
    assert_eq!(v["themeStructure"]["requiredFields"], json!(["name"]));
    assert_eq!(v["fields"].as_object().map(|f| f.len()), Some(99));
    assert_eq!(v["fields"]["primaryColor"]["default"], "#324054");
    assert_eq!(v["fields"]["isDefault"]["systemControlled"], true);
    assert_eq!(
        v["importantNotes"]["enumFields"]["journeySignInButtonPosition"],
        json!([
            "flex-column",
            "justify-content-center",
            "justify-content-start",
            "justify-content-end"
        ])
    );
    assert!(
        env.sim.requests().is_empty(),
        "no request, not even a login"
    );

    // Logged in: still no exchange and no resource request.
    let env = env.logged_in().await.expect("login");
    let (err, again) = env.call("getThemeSchema", json!({"ignored": true})).await;
    assert!(!err);
    assert_eq!(again, text, "static content");
    assert!(env.exchanges().is_empty());
    assert!(env.sim.requests().is_empty());
}

#[tokio::test]
async fn get_themes_lists_names_and_defaults() {
    let env = env().await;
    let (err, text) = env.call("getThemes", json!({"realm": "alpha"})).await;
    assert!(!err, "{text}");
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/openidm/ui/theme/", "trailing slash kept");
    assert_eq!(
        r.query.as_deref(),
        Some("realm=alpha&_queryFilter=true&_fields=name%2CisDefault")
    );
    assert_eq!(
        r.query_pairs(),
        pairs(&[
            ("realm", "alpha"),
            ("_queryFilter", "true"),
            ("_fields", "name,isDefault")
        ])
    );
    assert_eq!(r.header("content-type"), None);
    let head = "Found 3 theme(s) for realm \"alpha\":\n\n";
    assert!(text.starts_with(head), "{text}");
    assert_eq!(tx_of(&text), r.transaction_id.as_deref());
    let listing = body_of(&text[head.len()..]);
    assert_eq!(listing["resultCount"], 3);
    let names: Vec<&str> = listing["result"]
        .as_array()
        .expect("result")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["Starter Theme", "Robroy", "Zardoz"]);
    assert_eq!(listing["result"][0]["isDefault"], true);
    assert!(listing["result"][0].get("primaryColor").is_none());

    let (err, text) = env.call("getThemes", json!({"realm": "bravo"})).await;
    assert!(!err);
    assert!(text.starts_with("Found 3 theme(s) for realm \"bravo\":\n\n"));
    assert!(text.contains("Highlander"));
    assert_eq!(
        take(&env)[0].query_pairs()[0],
        ("realm".into(), "bravo".into())
    );
}

#[tokio::test]
async fn get_theme_by_name_or_id_with_an_escaped_component_encoded_filter() {
    let env = env().await;
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy"}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/openidm/ui/theme/")
    );
    assert_eq!(
        reqs[0].query.as_deref(),
        Some("realm=alpha&_queryFilter=_id%20eq%20%22Robroy%22%20or%20name%20eq%20%22Robroy%22"),
        "component encoding: %20 for spaces"
    );
    assert_eq!(tx_of(&text), reqs[0].transaction_id.as_deref());
    let theme = body_of(&text);
    assert_eq!(theme["name"], "Robroy");
    assert_eq!(theme["primaryColor"], "#C60819");
    let id = theme["_id"].as_str().expect("_id").to_string();

    // By _id; a name with a space.
    let (err, text) = env
        .call("getTheme", json!({"realm": "alpha", "themeIdentifier": id}))
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["name"], "Robroy");
    take(&env);
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "bravo", "themeIdentifier": "Starter Theme"}),
        )
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["isDefault"], false);
    assert_eq!(
        take(&env)[0].query_pairs()[1].1,
        r#"_id eq "Starter Theme" or name eq "Starter Theme""#
    );

    // Not in this realm.
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "bravo", "themeIdentifier": "Robroy"}),
        )
        .await;
    assert!(err);
    assert_eq!(text, "Theme not found: \"Robroy\" in realm \"bravo\"");
    take(&env);

    // Quotes and backslashes cannot end the string and add a clause.
    let sneaky = r#"x" or true or "y"#;
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": sneaky}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        format!("Theme not found: \"{sneaky}\" in realm \"alpha\"")
    );
    let reqs = take(&env);
    assert_eq!(
        reqs[0].query_pairs()[1].1,
        r#"_id eq "x\" or true or \"y" or name eq "x\" or true or \"y""#
    );
    assert!(reqs[0]
        .query
        .as_deref()
        .unwrap_or("")
        .contains("%22x%5C%22%20or%20true%20or%20%5C%22y%22"));
    // (A backslash never gets this far: safe-segment rejects it; the filter escaping of
    // `\` is unit-tested in the core.)
}

#[tokio::test]
async fn get_theme_reports_several_matches_and_upstream_failures() {
    let env = env().await;
    env.sim.push_fault(Fault::new(
        "/openidm/ui/theme/",
        FaultKind::Status {
            status: 200,
            body: json!({"result": [{"_id": "1", "name": "X"}, {"_id": "2", "name": "X"}], "resultCount": 2}).to_string(),
        },
    ));
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": "X"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Multiple themes found matching \"X\" in realm \"alpha\""),
        "{text}"
    );
    take(&env);

    env.sim.push_fault(Fault::new(
        "/openidm/ui/theme/",
        FaultKind::Status {
            status: 500,
            body: json!({"code": 500, "reason": "Internal Server Error", "message": "boom"})
                .to_string(),
        },
    ));
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": "X"}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with(
            "Failed to retrieve theme \"X\" from realm \"alpha\": 500 Internal Server Error - {"
        ),
        "{text}"
    );
    let reqs = take(&env);
    assert!(text.ends_with(&format!(
        "\n\nTransaction ID: {}",
        reqs[0].transaction_id.as_deref().unwrap_or("?")
    )));

    env.sim.push_fault(Fault::new(
        "/openidm/ui/theme/",
        FaultKind::Status {
            status: 403,
            body: json!({"code": 403, "reason": "Forbidden", "message": "Access Denied"})
                .to_string(),
        },
    ));
    let (err, text) = env.call("getThemes", json!({"realm": "bravo"})).await;
    assert!(err);
    assert!(
        text.starts_with("Failed to retrieve themes for realm \"bravo\": 403 Forbidden - "),
        "{text}"
    );
    take(&env);
}

#[tokio::test]
async fn create_theme_appends_to_the_realm_and_keeps_everything_else() {
    let env = env().await;
    let data = json!({"name": "Acme", "primaryColor": "#0066cc", "logo": "https://example.com/logo.svg",
        "_id": "chosen-by-caller", "isDefault": true, "accountPageSections": {"social": {"enabled": true}}});
    let (err, text) = env
        .call("createTheme", json!({"realm": "alpha", "themeData": data}))
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env);
    let put = read_then_put(&reqs);
    let result = body_of(&text);
    assert_eq!(
        tx_of(&text),
        reqs[1].transaction_id.as_deref(),
        "TX of the PUT"
    );
    let id = result["_id"].as_str().expect("_id").to_string();
    let uuid = uuid::Uuid::parse_str(&id).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4);
    assert_eq!(
        result,
        json!({"_id": id, "name": "Acme", "message": format!("Created theme \"Acme\" ({id}) in realm \"alpha\"")})
    );

    // The PUT body: the whole document, bravo and _id untouched, the theme appended with
    // a generated _id and isDefault false.
    assert_eq!(put["_id"], "ui/themerealm");
    assert_eq!(
        alpha_names(&put),
        ["Starter Theme", "Robroy", "Zardoz", "Acme"]
    );
    let created = &put["realm"]["alpha"][3];
    let mut expected = data.clone();
    expected["_id"] = json!(id);
    expected["isDefault"] = json!(false);
    assert_eq!(created, &expected);
    let bravo: Vec<&str> = put["realm"]["bravo"]
        .as_array()
        .expect("bravo")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(bravo, ["Starter Theme", "Highlander", "Contrast"]);
    assert_eq!(put["realm"]["alpha"][0]["isDefault"], true, "default kept");

    // It is there now.
    let theme = theme_named(&env, "alpha", "Acme").await;
    assert_eq!(theme["_id"], id.as_str());
    assert_eq!(theme["primaryColor"], "#0066cc");

    // The same name again: refused after the GET, no write.
    let (err, text) = env
        .call(
            "createTheme",
            json!({"realm": "alpha", "themeData": {"name": "Acme"}}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Theme with name \"Acme\" already exists in realm \"alpha\""),
        "{text}"
    );
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");

    // Same name in the other realm is fine.
    let (err, text) = env
        .call(
            "createTheme",
            json!({"realm": "bravo", "themeData": {"name": "Acme"}}),
        )
        .await;
    assert!(!err, "{text}");
    take(&env);

    // A name with quotes is found again through the escaped filter.
    let quoted = r#"Say "Hi" to Acme"#;
    let (err, text) = env
        .call(
            "createTheme",
            json!({"realm": "alpha", "themeData": {"name": quoted}}),
        )
        .await;
    assert!(!err, "{text}");
    take(&env);
    assert_eq!(theme_named(&env, "alpha", quoted).await["name"], quoted);

    // No name: the reference's refusal, before any request (not even an exchange).
    for data in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": 7}),
        json!({"primaryColor": "#000000"}),
    ] {
        let (err, text) = env
            .call("createTheme", json!({"realm": "alpha", "themeData": data}))
            .await;
        assert!(err);
        assert_eq!(text, "Theme data must include a \"name\" property");
        assert!(env.sim.requests().is_empty(), "{data}");
    }
}

#[tokio::test]
async fn update_theme_merges_fields_and_guards_id_default_and_names() {
    let env = env().await;
    let before = theme_named(&env, "alpha", "Robroy").await;
    let id = before["_id"].as_str().expect("_id").to_string();

    let updates = json!({"primaryColor": "#112233", "journeyLayout": "justified-left", "customNote": {"a": 1}});
    let (err, text) = env
        .call(
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy", "themeUpdates": updates}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env);
    let put = read_then_put(&reqs);
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());
    assert_eq!(
        body_of(&text),
        json!({"_id": id, "name": "Robroy", "message": format!("Updated theme \"Robroy\" ({id}) in realm \"alpha\"")})
    );
    let merged = &put["realm"]["alpha"][1];
    let mut expected = before.clone();
    expected["primaryColor"] = json!("#112233");
    expected["journeyLayout"] = json!("justified-left");
    expected["customNote"] = json!({"a": 1});
    assert_eq!(merged, &expected);
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut expected_keys = keys(&before);
    expected_keys.push("customNote".into());
    assert_eq!(
        keys(merged),
        expected_keys,
        "existing keys keep their place"
    );
    assert_eq!(
        alpha_names(&put),
        ["Starter Theme", "Robroy", "Zardoz"],
        "order kept"
    );
    assert_eq!(put["realm"]["bravo"].as_array().map(Vec::len), Some(3));

    // Rename by _id; the new name works as identifier afterwards.
    let (err, text) = env
        .call(
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": id, "themeUpdates": {"name": "Rob Roy"}}),
        )
        .await;
    assert!(!err, "{text}");
    assert_eq!(body_of(&text)["name"], "Rob Roy");
    assert_eq!(
        body_of(&text)["message"],
        format!("Updated theme \"Rob Roy\" ({id}) in realm \"alpha\"")
    );
    take(&env);
    assert_eq!(
        theme_named(&env, "alpha", "Rob Roy").await["_id"],
        id.as_str()
    );

    // Keeping its own name is not a duplicate; another theme's name is.
    let (err, text) = env
        .call(
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": "Rob Roy", "themeUpdates": {"name": "Rob Roy", "logoHeight": "48"}}),
        )
        .await;
    assert!(!err, "{text}");
    assert_eq!(take(&env).len(), 2);
    let (err, text) = env
        .call(
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": "Rob Roy", "themeUpdates": {"name": "Zardoz"}}),
        )
        .await;
    assert!(err);
    assert!(
        text.starts_with("Theme with name \"Zardoz\" already exists in realm \"alpha\""),
        "{text}"
    );
    assert_eq!(take(&env).len(), 1, "GET only");

    // _id and isDefault are refused before any request.
    for (updates, needle) in [
        (json!({"_id": "x"}), "\"_id\""),
        (json!({"isDefault": true}), "setDefaultTheme"),
        (
            json!({"isDefault": false, "primaryColor": "#000000"}),
            "setDefaultTheme",
        ),
    ] {
        let (err, text) = env
            .call(
                "updateTheme",
                json!({"realm": "alpha", "themeIdentifier": "Zardoz", "themeUpdates": updates}),
            )
            .await;
        assert!(err);
        assert!(text.contains(needle), "{text}");
        assert!(env.sim.requests().is_empty());
    }

    // Unknown theme: the lookup refusal after the GET.
    let (err, text) = env
        .call(
            "updateTheme",
            json!({"realm": "bravo", "themeIdentifier": "Zardoz", "themeUpdates": {"primaryColor": "#000000"}}),
        )
        .await;
    assert!(err);
    assert_eq!(text, "Theme not found: \"Zardoz\" in realm \"bravo\"");
    assert_eq!(take(&env).len(), 1);
}

#[tokio::test]
async fn set_default_theme_moves_the_flag_within_the_realm() {
    let env = env().await;
    let (err, text) = env
        .call(
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": "Zardoz"}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env);
    let put = read_then_put(&reqs);
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());
    let zardoz = &put["realm"]["alpha"][2];
    let id = zardoz["_id"].as_str().expect("_id");
    assert_eq!(
        body_of(&text),
        json!({"_id": id, "name": "Zardoz", "isDefault": true,
               "message": format!("Set theme \"Zardoz\" ({id}) as default for realm \"alpha\"")})
    );
    let flags: Vec<(&str, bool)> = put["realm"]["alpha"]
        .as_array()
        .expect("alpha")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or(""),
                t["isDefault"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("Starter Theme", false),
            ("Robroy", false),
            ("Zardoz", true)
        ]
    );
    assert_eq!(
        put["realm"]["bravo"][1]["isDefault"], true,
        "the other realm's default is untouched"
    );

    // Already the default: said so, no write.
    let (err, text) = env
        .call(
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": id}),
        )
        .await;
    assert!(!err, "already in the requested state: {text}");
    assert_eq!(
        text,
        "Theme \"Zardoz\" is already the default theme for realm \"alpha\""
    );
    let reqs = take(&env);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");

    let (err, text) = env
        .call(
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": "Highlander"}),
        )
        .await;
    assert!(err);
    assert_eq!(text, "Theme not found: \"Highlander\" in realm \"alpha\"");
    take(&env);

    // Themes without an isDefault key get one.
    let config = json!({"_id": "ui/themerealm", "realm": {
        "alpha": [{"_id": "t1", "name": "One"}, {"_id": "t2", "name": "Two", "isDefault": true}],
        "bravo": []}});
    env.sim.push_fault(
        Fault::new(
            CONFIG,
            FaultKind::Status {
                status: 200,
                body: config.to_string(),
            },
        )
        .with_method("GET"),
    );
    let (err, text) = env
        .call(
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": "t1"}),
        )
        .await;
    assert!(!err, "{text}");
    let put = read_then_put(&take(&env));
    assert_eq!(
        put["realm"]["alpha"],
        json!([{"_id": "t1", "name": "One", "isDefault": true}, {"_id": "t2", "name": "Two", "isDefault": false}])
    );
    assert_eq!(put["realm"]["bravo"], json!([]));
}

#[tokio::test]
async fn delete_theme_refuses_the_default_and_removes_others() {
    let env = env().await;
    let (err, text) = env
        .call(
            "deleteTheme",
            json!({"realm": "alpha", "themeIdentifier": "Starter Theme"}),
        )
        .await;
    assert!(err);
    assert!(
        text.contains("\"Starter Theme\"")
            && text.contains("default")
            && text.contains("setDefaultTheme"),
        "{text}"
    );
    assert_eq!(take(&env).len(), 1, "GET only");

    let zardoz = theme_named(&env, "alpha", "Zardoz").await;
    let id = zardoz["_id"].as_str().expect("_id").to_string();
    let (err, text) = env
        .call(
            "deleteTheme",
            json!({"realm": "alpha", "themeIdentifier": id}),
        )
        .await;
    assert!(!err, "{text}");
    let reqs = take(&env);
    let put = read_then_put(&reqs);
    assert_eq!(tx_of(&text), reqs[1].transaction_id.as_deref());
    assert_eq!(
        body_of(&text),
        json!({"_id": id, "name": "Zardoz", "message": format!("Deleted theme \"Zardoz\" ({id}) from realm \"alpha\"")})
    );
    assert_eq!(alpha_names(&put), ["Starter Theme", "Robroy"]);
    assert_eq!(put["realm"]["bravo"].as_array().map(Vec::len), Some(3));
    assert_eq!(put["_id"], "ui/themerealm");

    // Gone.
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": "Zardoz"}),
        )
        .await;
    assert!(err);
    assert_eq!(text, "Theme not found: \"Zardoz\" in realm \"alpha\"");
    take(&env);
    let (err, text) = env
        .call(
            "deleteTheme",
            json!({"realm": "alpha", "themeIdentifier": id}),
        )
        .await;
    assert!(err);
    assert_eq!(
        text,
        format!("Theme not found: \"{id}\" in realm \"alpha\"")
    );
    assert_eq!(take(&env).len(), 1);
}

#[tokio::test]
async fn writes_check_the_config_structure_and_report_failures_with_their_prefix() {
    let env = env().await;
    let cases = [
        (
            "createTheme",
            json!({"realm": "alpha", "themeData": {"name": "N"}}),
            "Failed to create theme in realm \"alpha\"",
        ),
        (
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy", "themeUpdates": {"logoHeight": "50"}}),
            "Failed to update theme in realm \"alpha\"",
        ),
        (
            "deleteTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy"}),
            "Failed to delete theme from realm \"alpha\"",
        ),
        (
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy"}),
            "Failed to set default theme in realm \"alpha\"",
        ),
    ];
    for (tool, args, prefix) in &cases {
        // A config without the realm's list: the exact structure refusal, no write.
        for broken in [
            json!({"_id": "ui/themerealm"}),
            json!({"_id": "ui/themerealm", "realm": {"bravo": []}}),
            json!({"_id": "ui/themerealm", "realm": {"alpha": null}}),
        ] {
            env.sim.push_fault(
                Fault::new(
                    CONFIG,
                    FaultKind::Status {
                        status: 200,
                        body: broken.to_string(),
                    },
                )
                .with_method("GET"),
            );
            let (err, text) = env.call(tool, args.clone()).await;
            assert!(err, "{tool}");
            assert_eq!(
                text, "Invalid theme configuration structure for realm \"alpha\"",
                "{tool}"
            );
            assert_eq!(take(&env).len(), 1, "{tool}: GET only");
        }

        // The GET fails.
        env.sim.push_fault(
            Fault::new(
                CONFIG,
                FaultKind::Status {
                    status: 500,
                    body:
                        json!({"code": 500, "reason": "Internal Server Error", "message": "down"})
                            .to_string(),
                },
            )
            .with_method("GET"),
        );
        let (err, text) = env.call(tool, args.clone()).await;
        assert!(err);
        let reqs = take(&env);
        assert_eq!(
            text,
            format!(
                "{prefix}: 500 Internal Server Error - {}\n\nTransaction ID: {}",
                json!({"code": 500, "reason": "Internal Server Error", "message": "down"}),
                reqs[0].transaction_id.as_deref().unwrap_or("?")
            )
        );

        // The PUT fails: same prefix, the PUT's transaction id.
        env.sim.push_fault(
            Fault::new(
                CONFIG,
                FaultKind::Status {
                    status: 409,
                    body: json!({"code": 409, "reason": "Conflict", "message": "busy"}).to_string(),
                },
            )
            .with_method("PUT"),
        );
        let (err, text) = env.call(tool, args.clone()).await;
        assert!(err);
        let reqs = take(&env);
        assert_eq!(reqs.len(), 2, "{tool}");
        assert!(
            text.starts_with(&format!("{prefix}: 409 Conflict - ")),
            "{tool}: {text}"
        );
        assert!(text.ends_with(reqs[1].transaction_id.as_deref().unwrap_or("?")));
    }
    env.sim.clear_faults();
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

/// Every tool that takes arguments, with valid ones.
fn valid_calls() -> Vec<(&'static str, Value)> {
    vec![
        (
            "createTheme",
            json!({"realm": "alpha", "themeData": {"name": "N"}}),
        ),
        (
            "deleteTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy"}),
        ),
        (
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy"}),
        ),
        ("getThemes", json!({"realm": "alpha"})),
        (
            "setDefaultTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy"}),
        ),
        (
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": "Robroy", "themeUpdates": {"logoHeight": "50"}}),
        ),
    ]
}

#[tokio::test]
async fn bad_realms_identifiers_and_payloads_are_rejected_without_a_request() {
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
        if valid.get("themeIdentifier").is_none() {
            continue;
        }
        // themeIdentifier: safe segment, bounded, no control characters, required string.
        for bad in [
            json!("../config/managed"),
            json!("a/b"),
            json!(".."),
            json!("a\\b"),
            json!("%2e%2e"),
            json!("x%2Fy"),
            json!("%5C"),
            json!(" "),
            json!(""),
            json!("x".repeat(257)),
            json!("Robroy\r\nX-Injected: 1"),
            json!("Robroy\u{0000}"),
            json!(42),
            json!(["Robroy"]),
        ] {
            assert_rejected(
                &env,
                tool,
                set(&valid, "themeIdentifier", bad),
                "themeIdentifier",
            )
            .await;
            checked += 1;
        }
        assert_rejected(
            &env,
            tool,
            without(&valid, "themeIdentifier"),
            "themeIdentifier",
        )
        .await;
    }
    assert_eq!(checked, 86);

    // createTheme.themeData: a required object; its name bounded when given.
    let create = json!({"realm": "alpha", "themeData": {"name": "N"}});
    for bad in [
        json!("Acme"),
        json!([{"name": "Acme"}]),
        json!(null),
        json!(3),
    ] {
        assert_rejected(
            &env,
            "createTheme",
            set(&create, "themeData", bad),
            "themeData",
        )
        .await;
    }
    assert_rejected(
        &env,
        "createTheme",
        without(&create, "themeData"),
        "themeData",
    )
    .await;
    for bad in [json!("x".repeat(257)), json!("Acme\nCorp")] {
        assert_rejected(
            &env,
            "createTheme",
            set(&create, "themeData", json!({"name": bad})),
            "themeData.name",
        )
        .await;
    }

    // updateTheme.themeUpdates: a required object; a new name must be a usable name.
    let update = json!({"realm": "alpha", "themeIdentifier": "Robroy", "themeUpdates": {}});
    for bad in [json!("primaryColor=#000"), json!([]), json!(null)] {
        assert_rejected(
            &env,
            "updateTheme",
            set(&update, "themeUpdates", bad),
            "themeUpdates",
        )
        .await;
    }
    assert_rejected(
        &env,
        "updateTheme",
        without(&update, "themeUpdates"),
        "themeUpdates",
    )
    .await;
    for bad in [
        json!(""),
        json!("  "),
        json!(5),
        json!(null),
        json!({"en": "x"}),
        json!("x".repeat(257)),
        json!("a\tb"),
    ] {
        assert_rejected(
            &env,
            "updateTheme",
            set(&update, "themeUpdates", json!({"name": bad})),
            "themeUpdates.name",
        )
        .await;
    }

    // Not an object at all.
    assert_rejected(&env, "getThemes", json!(["alpha"]), "JSON object").await;
    assert_rejected(&env, "getThemeSchema", json!("x"), "JSON object").await;
}

#[tokio::test]
async fn identifiers_at_the_limit_and_unusual_characters_are_accepted() {
    let env = env().await;
    for id in [
        "x".repeat(256),
        "a b?c#d%e&f=g".to_string(),
        "ünïcødé ✓".to_string(),
    ] {
        let (err, text) = env
            .call("getTheme", json!({"realm": "alpha", "themeIdentifier": id}))
            .await;
        assert!(err);
        assert_eq!(
            text,
            format!("Theme not found: \"{id}\" in realm \"alpha\"")
        );
        let reqs = take(&env);
        assert_eq!(reqs[0].path, "/openidm/ui/theme/");
        let q = reqs[0].query_pairs();
        assert_eq!(q.len(), 2, "nothing smuggled into the query: {q:?}");
        assert_eq!(q[1].1, format!("_id eq \"{id}\" or name eq \"{id}\""));
    }
}
