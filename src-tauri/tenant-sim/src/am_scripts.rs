//! AM scripts (`/am/json/{realm}/scripts…`) and scripting contexts
//! (`/am/json/{realm}/contexts/{context}`).
//!
//! As in AM: sources are stored base64-encoded in `script` (a create or update whose
//! `script` is not base64 is refused with 400); `_action=create` assigns a UUID `_id`
//! and stamps `createdBy`/`creationDate`/`lastModifiedBy`/`lastModifiedDate` (epoch
//! milliseconds); PUT replaces the whole script, keeping its creation stamps; names are
//! unique per realm — a clash answers **409 Conflict** (AM's "script name already
//! exists" error maps to a CREST conflict); default (built-in) scripts cannot be deleted.
//! Versions are enforced as the client sends them: `protocol=2.0,resource=1.0` for list,
//! create, PUT, DELETE and contexts; a single-script GET also accepts
//! `protocol=1.0,resource=1.0` (getAMScript reads with it). Anything else is a 400.

use axum::http::Method;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

const REALMS: [&str; 2] = ["alpha", "bravo"];
/// Who the simulator says created or changed a script.
const ACTOR: &str = "id=mcp-admin,ou=user,o=alpha,ou=services,ou=am-config";
const LANGUAGES: &[&str] = &["JAVASCRIPT", "GROOVY"];

/// State of this family: each realm's scripts by `_id`, in creation order.
#[derive(Debug, Default)]
pub(crate) struct State {
    realms: BTreeMap<String, Map<String, Value>>,
}

impl State {
    pub(crate) fn seeded() -> Self {
        let mut state = State {
            realms: REALMS.iter().map(|r| (r.to_string(), Map::new())).collect(),
        };
        for s in seed() {
            let script = json!({
                "_id": s.id,
                "name": s.name,
                "description": s.description,
                "script": STANDARD.encode(s.source),
                "default": s.default,
                "language": s.language,
                "context": s.context,
                "evaluatorVersion": s.evaluator,
                "createdBy": "id=dsameuser,ou=user,ou=am-config",
                "creationDate": s.created,
                "lastModifiedBy": ACTOR,
                "lastModifiedDate": s.modified,
            });
            if let Some(scripts) = state.realms.get_mut(s.realm) {
                scripts.insert(s.id.to_string(), script);
            }
        }
        state
    }
}

struct Seed {
    realm: &'static str,
    id: &'static str,
    name: &'static str,
    description: &'static str,
    source: &'static str,
    default: bool,
    language: &'static str,
    context: &'static str,
    evaluator: &'static str,
    created: i64,
    modified: i64,
}

const NODE: &str = "AUTHENTICATION_TREE_DECISION_NODE";

fn seed() -> Vec<Seed> {
    vec![
        Seed {
            realm: "alpha",
            id: "9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10",
            name: "Check Email Domain",
            description: "Routes users of example.com to the employee branch",
            source: "var mail = nodeState.get(\"mail\");\nif (mail && String(mail).toLowerCase().endsWith(\"@example.com\")) {\n  action.goTo(\"employee\");\n} else {\n  action.goTo(\"customer\");\n}\n",
            default: false,
            language: "JAVASCRIPT",
            context: NODE,
            evaluator: "2.0",
            created: 1_741_944_413_589,
            modified: 1_743_609_941_730,
        },
        Seed {
            realm: "alpha",
            id: "3b2d8e41-7c5a-4f09-9d16-a4e0c8b15f72",
            name: "Set Session Properties",
            description: "Copies the user's department into a session property",
            source: "var id = nodeState.get(\"_id\");\nvar user = idRepository.getIdentity(id);\nvar dept = user.getAttributeValues(\"fr-attr-str1\");\nif (dept && dept.length > 0) {\n  action.putSessionProperty(\"department\", dept[0]);\n}\naction.goTo(\"true\");\n",
            default: false,
            language: "JAVASCRIPT",
            context: NODE,
            evaluator: "2.0",
            created: 1_743_609_990_118,
            modified: 1_747_741_707_365,
        },
        Seed {
            realm: "alpha",
            id: "c8e5f1a0-2d3b-4e6f-8a9b-0c1d2e3f4a5b",
            name: "Legacy Device Check",
            description: "Pre-2.0 script kept for the old registration journey",
            source: "if (sharedState.get(\"deviceId\")) {\n  outcome = \"true\";\n} else {\n  outcome = \"false\";\n}\n",
            default: false,
            language: "JAVASCRIPT",
            context: NODE,
            evaluator: "1.0",
            created: 1_699_430_100_000,
            modified: 1_699_430_100_000,
        },
        Seed {
            realm: "alpha",
            id: "e4b7c2d9-6a1f-4d38-b5e0-7f9a8c6d5e41",
            name: "Add Department Claim",
            description: "Adds the department claim to access tokens",
            source: "accessToken.setField(\"department\", identity.getAttributeValues(\"fr-attr-str1\")[0]);\n",
            default: false,
            language: "JAVASCRIPT",
            context: "OAUTH2_ACCESS_TOKEN_MODIFICATION",
            evaluator: "2.0",
            created: 1_745_592_151_045,
            modified: 1_745_592_151_045,
        },
        Seed {
            realm: "alpha",
            id: "01e1a3c0-038b-4c16-956a-6c9d89328cff",
            name: "Authentication Tree Decision Node Script",
            description: "Default global script for a scripted decision node",
            source: "/*\n * Default scripted decision node script.\n */\noutcome = \"true\";\n",
            default: true,
            language: "JAVASCRIPT",
            context: NODE,
            evaluator: "1.0",
            created: 1_640_995_200_000,
            modified: 1_640_995_200_000,
        },
        Seed {
            realm: "bravo",
            id: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            name: "Require MFA for Admins",
            description: "Sends members of the admin group to the second-factor branch",
            source: "var groups = nodeState.get(\"groups\") || [];\nvar admin = groups.some(function (g) { return String(g).indexOf(\"admins\") >= 0; });\naction.goTo(admin ? \"mfa\" : \"skip\");\n",
            default: false,
            language: "JAVASCRIPT",
            context: NODE,
            evaluator: "2.0",
            created: 1_744_274_538_221,
            modified: 1_744_274_538_221,
        },
        Seed {
            realm: "bravo",
            id: "7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a",
            name: "Legacy Risk Score",
            description: "Old risk score script (legacy engine)",
            source: "var score = 0;\nif (requestHeaders.get(\"x-forwarded-for\")) { score += 10; }\noutcome = score > 5 ? \"high\" : \"low\";\n",
            default: false,
            language: "JAVASCRIPT",
            context: NODE,
            evaluator: "1.0",
            created: 1_699_430_200_000,
            modified: 1_701_421_800_000,
        },
    ]
}

/// Handles a request routed to this family.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    http::finish(route(shared, req))
}

fn route(shared: &Shared, req: &Req) -> Outcome {
    let segs = req.segs();
    let (realm, kind, rest) = match segs.as_slice() {
        ["am", "json", realm, kind @ ("scripts" | "contexts"), rest @ ..] => (*realm, *kind, rest),
        _ => return Err(http::not_found(req)),
    };
    let m = &req.method;
    match (kind, rest) {
        ("scripts", []) => match *m {
            Method::GET => {
                http::require_api_version(req, "1.0", &["2.0"])?;
                check_realm(realm)?;
                query(shared, req, realm)
            }
            Method::POST => {
                http::require_api_version(req, "1.0", &["2.0"])?;
                check_realm(realm)?;
                match req.q("_action") {
                    Some("create") => create(shared, req, realm),
                    other => Err(Fail::crest(
                        400,
                        format!("Action '{}' not supported", other.unwrap_or("")),
                    )),
                }
            }
            _ => Err(http::method_not_allowed(req)),
        },
        ("scripts", [id]) => match *m {
            Method::GET => {
                http::require_api_version(req, "1.0", &["1.0", "2.0"])?;
                check_realm(realm)?;
                read(shared, realm, id)
            }
            Method::PUT => {
                http::require_api_version(req, "1.0", &["2.0"])?;
                check_realm(realm)?;
                replace(shared, req, realm, id)
            }
            Method::DELETE => {
                http::require_api_version(req, "1.0", &["2.0"])?;
                check_realm(realm)?;
                delete(shared, realm, id)
            }
            _ => Err(http::method_not_allowed(req)),
        },
        ("contexts", [context]) => match *m {
            Method::GET => {
                http::require_api_version(req, "1.0", &["2.0"])?;
                check_realm(realm)?;
                script_context(context)
            }
            _ => Err(http::method_not_allowed(req)),
        },
        _ => Err(http::not_found(req)),
    }
}

fn check_realm(realm: &str) -> Result<(), Fail> {
    if REALMS.contains(&realm) {
        Ok(())
    } else {
        Err(Fail::crest(404, format!("Realm '/{realm}' not found")))
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn not_found(id: &str) -> Fail {
    Fail::crest(404, format!("Script with UUID {id} not found"))
}

fn query(shared: &Shared, req: &Req, realm: &str) -> Outcome {
    let filter_text = req.q("_queryFilter").ok_or_else(|| {
        Fail::crest(
            400,
            "Query request must specify _queryFilter, _queryId or _queryExpression",
        )
    })?;
    let filter = filter::parse(filter_text)
        .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{filter_text}': {e}")))?;
    let paging = crest::paging(req, None)?;
    let mut hits: Vec<Value> = {
        let state = lock(&shared.am_scripts);
        state
            .realms
            .get(realm)
            .map(|scripts| {
                scripts
                    .values()
                    .filter(|s| filter.matches(s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    crest::sort(&mut hits, req.q("_sortKeys"));
    let fields = req.q("_fields");
    let selected = hits
        .iter()
        .map(|s| crest::select_fields(s, fields))
        .collect();
    Ok(http::json(200, &crest::page(selected, paging, None)))
}

fn read(shared: &Shared, realm: &str, id: &str) -> Outcome {
    let state = lock(&shared.am_scripts);
    let script = state
        .realms
        .get(realm)
        .and_then(|s| s.get(id))
        .ok_or_else(|| not_found(id))?;
    Ok(http::json(200, script))
}

/// The writable fields of a create or PUT body, checked as AM checks them.
fn checked_fields(body: &Value) -> Result<Map<String, Value>, Fail> {
    let Value::Object(obj) = body else {
        return Err(Fail::crest(400, "The script must be a JSON object"));
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    let name = text("name").map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(Fail::crest(400, "Script name is required"));
    }
    let source = text("script").ok_or_else(|| Fail::crest(400, "Script is required"))?;
    if STANDARD.decode(source).is_err() {
        return Err(Fail::crest(400, "Script must be base64 encoded"));
    }
    let language = text("language").unwrap_or("JAVASCRIPT");
    if !LANGUAGES.contains(&language) {
        return Err(Fail::crest(
            400,
            format!("Script language '{language}' is not supported"),
        ));
    }
    let context = text("context")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Fail::crest(400, "Script context is required"))?;
    let evaluator = match obj.get("evaluatorVersion") {
        None | Some(Value::Null) => "1.0",
        Some(Value::String(v)) if v == "1.0" || v == "2.0" => v.as_str(),
        Some(other) => {
            return Err(Fail::crest(
                400,
                format!("Invalid evaluatorVersion {other}: use \"1.0\" or \"2.0\""),
            ))
        }
    };
    if evaluator == "2.0" && language != "JAVASCRIPT" {
        return Err(Fail::crest(
            400,
            "Next-generation scripts (evaluatorVersion 2.0) must be JAVASCRIPT",
        ));
    }
    let description = match obj.get("description") {
        None | Some(Value::Null) => "",
        Some(Value::String(d)) => d.as_str(),
        Some(_) => return Err(Fail::crest(400, "Script description must be a string")),
    };
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("description".into(), json!(description));
    out.insert("script".into(), json!(source));
    out.insert("language".into(), json!(language));
    out.insert("context".into(), json!(context));
    out.insert("evaluatorVersion".into(), json!(evaluator));
    Ok(out)
}

fn name_taken(scripts: &Map<String, Value>, name: &str, except: Option<&str>) -> bool {
    scripts.iter().any(|(id, s)| {
        Some(id.as_str()) != except && s.get("name").and_then(Value::as_str) == Some(name)
    })
}

fn conflict(name: &str) -> Fail {
    Fail::crest(409, format!("Script with name {name} already exists"))
}

fn create(shared: &Shared, req: &Req, realm: &str) -> Outcome {
    let fields = checked_fields(&req.json_body()?)?;
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut state = lock(&shared.am_scripts);
    let scripts = state
        .realms
        .get_mut(realm)
        .ok_or_else(|| Fail::crest(404, format!("Realm '/{realm}' not found")))?;
    if name_taken(scripts, &name, None) {
        return Err(conflict(&name));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_millis();
    let mut script = Map::new();
    script.insert("_id".into(), json!(id));
    script.extend(fields);
    script.insert("default".into(), json!(false));
    script.insert("createdBy".into(), json!(ACTOR));
    script.insert("creationDate".into(), json!(now));
    script.insert("lastModifiedBy".into(), json!(ACTOR));
    script.insert("lastModifiedDate".into(), json!(now));
    let script = Value::Object(script);
    scripts.insert(id, script.clone());
    Ok(http::json(201, &script))
}

fn replace(shared: &Shared, req: &Req, realm: &str, id: &str) -> Outcome {
    let body = req.json_body()?;
    if let Some(given) = body.get("_id") {
        if given.as_str() != Some(id) {
            return Err(Fail::crest(
                400,
                format!("The _id in the body ({given}) does not match the script id '{id}'"),
            ));
        }
    }
    let fields = checked_fields(&body)?;
    let mut state = lock(&shared.am_scripts);
    let scripts = state
        .realms
        .get_mut(realm)
        .ok_or_else(|| Fail::crest(404, format!("Realm '/{realm}' not found")))?;
    let old = scripts.get(id).cloned().ok_or_else(|| not_found(id))?;
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name_taken(scripts, name, Some(id)) {
        return Err(conflict(name));
    }
    let mut script = Map::new();
    script.insert("_id".into(), json!(id));
    script.extend(fields);
    for key in ["default", "createdBy", "creationDate"] {
        script.insert(key.into(), old.get(key).cloned().unwrap_or(Value::Null));
    }
    script.insert("lastModifiedBy".into(), json!(ACTOR));
    script.insert("lastModifiedDate".into(), json!(now_millis()));
    let script = Value::Object(script);
    scripts.insert(id.to_string(), script.clone());
    Ok(http::json(200, &script))
}

fn delete(shared: &Shared, realm: &str, id: &str) -> Outcome {
    let mut state = lock(&shared.am_scripts);
    let scripts = state
        .realms
        .get_mut(realm)
        .ok_or_else(|| Fail::crest(404, format!("Realm '/{realm}' not found")))?;
    let script = scripts.get(id).ok_or_else(|| not_found(id))?;
    if script.get("default").and_then(Value::as_bool) == Some(true) {
        return Err(Fail::crest(
            400,
            format!("Script {id} is a default script and cannot be deleted"),
        ));
    }
    scripts.shift_remove(id);
    Ok(http::json(200, &json!({"_id": id})))
}

/// `SCRIPTED_DECISION_NODE`: the next-generation decision-node scripting context.
fn script_context(context: &str) -> Outcome {
    if context != "SCRIPTED_DECISION_NODE" {
        return Err(Fail::crest(
            404,
            format!("Script context {context} not found"),
        ));
    }
    let binding = |name: &str, ty: &str| json!({"name": name, "type": ty});
    Ok(http::json(
        200,
        &json!({
            "_id": "SCRIPTED_DECISION_NODE",
            "bindings": [
                binding("action", "ActionWrapper"),
                binding("callbacksBuilder", "ScriptedCallbacksBuilder"),
                binding("callbacks", "ScriptedCallbacksWrapper"),
                binding("cookieName", "String"),
                binding("existingSession", "Map"),
                binding("httpClient", "HttpClientScriptWrapper"),
                binding("idRepository", "ScriptedIdentityRepository"),
                binding("jwtAssertion", "JwtAssertionScriptWrapper"),
                binding("jwtValidator", "JwtValidatorScriptWrapper"),
                binding("logger", "ScriptedLoggerWrapper"),
                binding("nodeState", "NodeStateScriptWrapper"),
                binding("openidm", "IdmIntegrationServiceScriptWrapper"),
                binding("policyAdvice", "List"),
                binding("realm", "String"),
                binding("requestCookies", "Map"),
                binding("requestHeaders", "Map"),
                binding("requestParameters", "Map"),
                binding("resumedFromSuspend", "Boolean"),
                binding("scriptName", "String"),
                binding("secrets", "SecretsScriptWrapper"),
                binding("systemEnv", "SystemEnvScriptWrapper"),
                binding("utils", "ScriptUtilsWrapper"),
            ],
            "allowedImports": [
                "java.lang.Boolean",
                "java.lang.Double",
                "java.lang.Integer",
                "java.lang.Long",
                "java.lang.Math",
                "java.lang.String",
                "java.util.ArrayList",
                "java.util.HashMap",
                "java.util.HashSet",
                "java.util.LinkedHashMap",
                "java.util.UUID",
                "org.forgerock.json.JsonValue",
            ],
            "evaluatorVersions": {"JAVASCRIPT": ["2.0"]},
        }),
    ))
}
