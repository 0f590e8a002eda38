//! The OIDC app tools' pure parts, free of I/O: the lookup filter by name, the schema
//! views `getOidcAppSchema` returns, the client payload `createOidcApp` sends, the
//! per-section merge `updateOidcApp` writes, and which patch fields touch the link between
//! an application and its client. The tool bodies in the parent module read and write.

use serde_json::{json, Map, Value};

use crate::tools::Realm;
use crate::validate;

/// `name eq "<name>"`, with `\` and `"` escaped.
pub(super) fn name_filter(name: &str) -> String {
    format!("name eq \"{}\"", validate::crest_string(name))
}

/// The compact view of the AM client schema: per section, per setting `{title, type,
/// enum?}`, the type and values taken from the wrapper's `value` when there is one.
pub(super) fn summarize_client_schema(schema: &Value) -> Value {
    let mut out = Map::new();
    let Some(sections) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    for (name, section) in sections {
        let mut settings = Map::new();
        if let Some(props) = section.get("properties").and_then(Value::as_object) {
            for (prop_name, prop) in props {
                let value = prop.get("properties").and_then(|p| p.get("value"));
                let pick = |key: &str| {
                    value
                        .and_then(|v| v.get(key))
                        .or_else(|| prop.get(key))
                        .cloned()
                };
                let mut entry = Map::new();
                if let Some(title) = prop.get("title") {
                    entry.insert("title".into(), title.clone());
                }
                if let Some(t) = pick("type") {
                    entry.insert("type".into(), t);
                }
                if let Some(e) = pick("enum") {
                    entry.insert("enum".into(), e);
                }
                settings.insert(prop_name.clone(), Value::Object(entry));
            }
        }
        out.insert(name.clone(), Value::Object(settings));
    }
    Value::Object(out)
}

/// The full client schema with `properties` cut down to the named sections.
pub(super) fn filter_sections(schema: &Value, sections: &[String]) -> Value {
    let mut out = schema.clone();
    if let Some(obj) = out.as_object_mut() {
        let kept: Map<String, Value> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter(|(k, _)| sections.iter().any(|s| s == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        obj.insert("properties".into(), Value::Object(kept));
    }
    out
}

/// The IDM half: the `{realm}_application` definition's properties without `ssoEntities`
/// (which the tools manage), compact or full; `null` when the type is not defined.
pub(super) fn application_schema(config: &Value, realm: Realm, summary: bool) -> Value {
    let type_name = format!("{realm}_application");
    let Some(schema) = config
        .get("objects")
        .and_then(Value::as_array)
        .and_then(|objs| {
            objs.iter()
                .find(|o| o.get("name").and_then(Value::as_str) == Some(type_name.as_str()))
        })
        .map(|def| def.get("schema").cloned().unwrap_or(Value::Null))
    else {
        return Value::Null;
    };
    let required: Vec<Value> = schema
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let properties: Map<String, Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(k, _)| k.as_str() != "ssoEntities")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    if !summary {
        let mut full = Map::new();
        full.insert("properties".into(), Value::Object(properties));
        if let Some(r) = schema.get("required") {
            full.insert("required".into(), r.clone());
        }
        return Value::Object(full);
    }
    let compact: Map<String, Value> = properties
        .iter()
        .map(|(k, v)| {
            let mut entry = Map::new();
            if let Some(t) = v.get("type") {
                entry.insert("type".into(), t.clone());
            }
            entry.insert(
                "required".into(),
                Value::Bool(required.iter().any(|r| r.as_str() == Some(k.as_str()))),
            );
            (k.clone(), Value::Object(entry))
        })
        .collect();
    Value::Object(compact)
}

/// JavaScript truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The client payload: the caller's settings, with `coreOAuth2ClientConfig.clientName`
/// set to `[name]` when missing or empty.
pub(super) fn create_payload(config: Option<&Map<String, Value>>, name: &str) -> Value {
    let mut payload = config.cloned().unwrap_or_default();
    let core = payload
        .entry("coreOAuth2ClientConfig")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(core) = core {
        let value = core.get("clientName").and_then(|c| c.get("value"));
        let empty = match value {
            None => true,
            Some(Value::Array(items)) => items.is_empty(),
            Some(v) => !truthy(v),
        };
        if empty {
            core.insert(
                "clientName".into(),
                json!({"inherited": false, "value": [name]}),
            );
        }
    }
    Value::Object(payload)
}

/// Whether a patch field addresses `ssoEntities` (the link to the client), which the
/// tool never changes: the reference's test (`/ssoEntities…` or exactly `ssoEntities`)
/// and any path whose first segment is `ssoEntities`.
pub(super) fn targets_sso_entities(field: &str) -> bool {
    field.starts_with("/ssoEntities")
        || field == "ssoEntities"
        || field.trim_start_matches('/').split('/').next() == Some("ssoEntities")
}

/// The current client merged with the update, section by section: two objects merge
/// shallowly (a given setting replaces the whole `{inherited, value}`); anything else is
/// replaced. AM's `_id`, `_rev` and `_type` are dropped.
pub(super) fn merge_client(mut current: Map<String, Value>, update: &Map<String, Value>) -> Value {
    for key in ["_id", "_rev", "_type"] {
        current.shift_remove(key);
    }
    for (section, value) in update {
        match (current.get_mut(section), value) {
            (Some(Value::Object(cur)), Value::Object(upd)) => {
                cur.extend(upd.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            _ => {
                current.insert(section.clone(), value.clone());
            }
        }
    }
    Value::Object(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter_escapes_quotes_and_backslashes() {
        assert_eq!(
            name_filter("Customer Portal"),
            r#"name eq "Customer Portal""#
        );
        assert_eq!(
            name_filter(r#"x" or true or "y"#),
            r#"name eq "x\" or true or \"y""#
        );
        assert_eq!(name_filter(r"a\"), r#"name eq "a\\""#);
    }

    #[test]
    fn client_name_defaults_to_the_application_name() {
        let name = |config: Value| {
            create_payload(config.as_object(), "App")["coreOAuth2ClientConfig"]["clientName"]
                .clone()
        };
        let default = json!({"inherited": false, "value": ["App"]});
        assert_eq!(name(json!({})), default);
        assert_eq!(name(json!({"coreOAuth2ClientConfig": {}})), default);
        for empty in [
            json!({"inherited": false}),
            json!({"inherited": false, "value": []}),
            json!({"inherited": false, "value": ""}),
            json!({"inherited": false, "value": null}),
            json!({"inherited": false, "value": false}),
            json!({"inherited": false, "value": 0}),
            json!("Named"),
        ] {
            assert_eq!(
                name(json!({"coreOAuth2ClientConfig": {"clientName": empty}})),
                default
            );
        }
        let given = json!({"inherited": false, "value": ["Portal"]});
        assert_eq!(
            name(json!({"coreOAuth2ClientConfig": {"clientName": given.clone()}})),
            given
        );
        assert_eq!(
            create_payload(None, "App"),
            json!({"coreOAuth2ClientConfig": {"clientName": {"inherited": false, "value": ["App"]}}})
        );
        // Other sections are kept as given.
        let p = create_payload(
            json!({"advancedOAuth2ClientConfig": {"grantTypes": {"inherited": false, "value": ["authorization_code"]}}})
                .as_object(),
            "App",
        );
        assert_eq!(
            p["advancedOAuth2ClientConfig"]["grantTypes"]["value"][0],
            "authorization_code"
        );
    }

    #[test]
    fn client_merge_is_shallow_per_section() {
        let current = json!({
            "_id": "c", "_rev": "1", "_type": {"_id": "OAuth2Client"},
            "coreOAuth2ClientConfig": {
                "scopes": {"inherited": false, "value": ["openid"]},
                "status": {"inherited": false, "value": "Active"}
            },
            "overrideOAuth2ClientConfig": {"issueRefreshToken": true},
            "flat": 1
        });
        let update = json!({
            "coreOAuth2ClientConfig": {"scopes": {"value": ["openid", "email"]}},
            "overrideOAuth2ClientConfig": "replaced",
            "newSection": {"x": {"inherited": false, "value": 2}},
            "flat": {"now": "an object"}
        });
        let merged = merge_client(
            current.as_object().cloned().unwrap_or_default(),
            update.as_object().expect("object"),
        );
        assert_eq!(
            merged,
            json!({
                "coreOAuth2ClientConfig": {
                    "scopes": {"value": ["openid", "email"]},
                    "status": {"inherited": false, "value": "Active"}
                },
                "overrideOAuth2ClientConfig": "replaced",
                "flat": {"now": "an object"},
                "newSection": {"x": {"inherited": false, "value": 2}}
            })
        );
    }

    #[test]
    fn sso_entities_operations_are_recognised() {
        for f in [
            "/ssoEntities",
            "/ssoEntities/oidcId",
            "ssoEntities",
            "ssoEntities/oidcId",
            "//ssoEntities",
            "/ssoEntitiesX",
        ] {
            assert!(targets_sso_entities(f), "{f}");
        }
        for f in ["/description", "/owners/-", "/name", "description", "/sso"] {
            assert!(!targets_sso_entities(f), "{f}");
        }
    }

    #[test]
    fn schema_summary_takes_wrapper_types_and_enums() {
        let schema = json!({"type": "object", "properties": {
            "coreOAuth2ClientConfig": {"type": "object", "title": "Core", "properties": {
                "status": {"title": "Client Status", "type": "object", "properties": {
                    "inherited": {"type": "boolean"},
                    "value": {"type": "string", "enum": ["Active", "Inactive"]}}},
                "userpassword": {"title": "Client secret", "type": "string", "format": "password"},
                "untitled": {"properties": {"value": {"type": "array"}}}
            }},
            "overrideOAuth2ClientConfig": {"type": "object", "properties": {
                "oidcClaimsPluginType": {"title": "OIDC Claims Plugin Type", "type": "string", "enum": ["SCRIPTED", "JAVA"]}
            }},
            "empty": {"type": "object"}
        }});
        assert_eq!(
            summarize_client_schema(&schema),
            json!({
                "coreOAuth2ClientConfig": {
                    "status": {"title": "Client Status", "type": "string", "enum": ["Active", "Inactive"]},
                    "userpassword": {"title": "Client secret", "type": "string"},
                    "untitled": {"type": "array"}
                },
                "overrideOAuth2ClientConfig": {
                    "oidcClaimsPluginType": {"title": "OIDC Claims Plugin Type", "type": "string", "enum": ["SCRIPTED", "JAVA"]}
                },
                "empty": {}
            })
        );
        let only = filter_sections(
            &schema,
            &["overrideOAuth2ClientConfig".into(), "nope".into()],
        );
        assert_eq!(
            only["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["overrideOAuth2ClientConfig".to_string()])
        );
        assert_eq!(only["type"], "object");
        assert_eq!(
            filter_sections(&schema, &["nope".into()])["properties"],
            json!({})
        );
    }

    #[test]
    fn application_schema_drops_sso_entities() {
        let config = json!({"objects": [{"name": "alpha_application", "schema": {
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "title": "Name"},
                "ssoEntities": {"type": "object"},
                "owners": {"type": "array"},
                "untyped": {}
            }
        }}]});
        assert_eq!(
            application_schema(&config, Realm::Alpha, true),
            json!({
                "name": {"type": "string", "required": true},
                "owners": {"type": "array", "required": false},
                "untyped": {"required": false}
            })
        );
        let full = application_schema(&config, Realm::Alpha, false);
        assert_eq!(full["required"], json!(["name"]));
        assert!(full["properties"].get("ssoEntities").is_none());
        assert_eq!(full["properties"]["name"]["title"], "Name");
        assert_eq!(application_schema(&config, Realm::Bravo, true), Value::Null);
    }
}
