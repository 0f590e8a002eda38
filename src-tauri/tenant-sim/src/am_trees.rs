//! AM journeys of the simulated tenant: authentication trees
//! (`/am/json/{realm}/realm-config/authentication/authenticationtrees/trees…`), node types
//! and node instances (`…/authenticationtrees/nodes…`), and the realm authentication
//! configuration (`/am/json/{realm}/realm-config/authentication`).
//!
//! As in AM: trees and nodes need `Accept-API-Version: protocol=2.1,resource=1.0`, the
//! authentication config `protocol=1.0,resource=1.0` (else 400). A tree PUT is validated
//! (the entry node is one of its nodes, connections point at its nodes or the two fixed
//! terminal nodes, node ids and PageNode child ids are UUIDs, node types are known) and
//! creates or replaces the node instances from the `config` given inline with each node
//! (a node without one keeps its instance, or gets the type's template). Deleting a tree
//! deletes its node instances, PageNode children included. Node PUTs create or replace an
//! instance (AM accepts PUTs to ids that do not exist). `_action=listOutcomes` answers from
//! the posted configuration for the node types whose outcomes depend on it
//! (ScriptedDecisionNode, MessageNode, PageNode, ChoiceCollectorNode).
//!
//! The authentication config PUT accepts AM's nested `{core: {orgConfig,
//! adminAuthModule}, …}` and also the flat `{orgConfig, adminAuthModule}` that the
//! reference sends, read as the `core` attributes.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{json, Map, Value};

use crate::crest;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

const REALMS: [&str; 2] = ["alpha", "bravo"];
const AM21: (&str, &str) = ("2.1", "1.0");
const V10: (&str, &str) = ("1.0", "1.0");
/// The fixed terminal nodes of every tree.
pub const SUCCESS_NODE: &str = "70e691a5-1e33-4ac3-a356-e7b6d60d92e0";
pub const FAILURE_NODE: &str = "e301438c-0bd0-429c-ab0c-66126501069a";

/// One configuration property: name, JSON type, title, default.
type Prop = (&'static str, &'static str, &'static str, fn() -> Value);

/// One node type: id, display name, tags, configuration properties (name, type, title,
/// default) and its static outcomes.
struct NodeType {
    id: &'static str,
    name: &'static str,
    tags: &'static [&'static str],
    props: &'static [Prop],
    outcomes: &'static [(&'static str, &'static str)],
}

fn v_true() -> Value {
    Value::Bool(true)
}
fn v_false() -> Value {
    Value::Bool(false)
}
fn v_empty_list() -> Value {
    json!([])
}
fn v_star() -> Value {
    json!(["*"])
}
fn v_empty_map() -> Value {
    json!({})
}
fn v_null() -> Value {
    Value::Null
}
fn v_user_name() -> Value {
    json!("userName")
}
fn v_mail() -> Value {
    json!("mail")
}
fn v_identity() -> Value {
    json!("managed/user")
}
fn v_yes() -> Value {
    json!({"en": "Yes"})
}
fn v_no() -> Value {
    json!({"en": "No"})
}
fn v_attrs() -> Value {
    json!(["givenName", "sn", "mail"])
}

const TRUE_FALSE: &[(&str, &str)] = &[("true", "True"), ("false", "False")];
const SINGLE: &[(&str, &str)] = &[("outcome", "Outcome")];

const NODE_TYPES: &[NodeType] = &[
    NodeType {
        id: "AttributeCollectorNode",
        name: "Attribute Collector",
        tags: &["basic authn", "identity management"],
        props: &[
            (
                "attributesToCollect",
                "array",
                "Attributes to Collect",
                v_attrs,
            ),
            ("required", "boolean", "All Attributes Required", v_false),
            ("validateInputs", "boolean", "Validate Input", v_false),
            (
                "identityAttribute",
                "string",
                "Identity Attribute",
                v_user_name,
            ),
        ],
        outcomes: SINGLE,
    },
    NodeType {
        id: "ChoiceCollectorNode",
        name: "Choice Collector",
        tags: &["utilities"],
        props: &[
            ("choices", "array", "Choices", v_empty_list),
            ("defaultChoice", "string", "Default Choice", v_null),
            ("prompt", "string", "Prompt", v_null),
        ],
        outcomes: &[],
    },
    NodeType {
        id: "CreateObjectNode",
        name: "Create Object",
        tags: &["identity management"],
        props: &[(
            "identityResource",
            "string",
            "Identity Resource",
            v_identity,
        )],
        outcomes: &[("CREATED", "Created"), ("FAILURE", "Failed")],
    },
    NodeType {
        id: "DataStoreDecisionNode",
        name: "Data Store Decision",
        tags: &["basic authn"],
        props: &[],
        outcomes: TRUE_FALSE,
    },
    NodeType {
        id: "EmailSuspendNode",
        name: "Email Suspend Node",
        tags: &["identity management"],
        props: &[
            ("emailTemplateName", "string", "Email Template Name", || {
                json!("registration")
            }),
            ("emailAttribute", "string", "Email Attribute", v_mail),
            (
                "emailSuspendMessage",
                "object",
                "Email Suspend Message",
                || json!({"en": "An email has been sent to the address you entered. Click the link in that email to proceed."}),
            ),
            ("objectLookup", "boolean", "Object Lookup", v_false),
            (
                "identityAttribute",
                "string",
                "Identity Attribute",
                v_user_name,
            ),
        ],
        outcomes: SINGLE,
    },
    NodeType {
        id: "IdentifyExistingUserNode",
        name: "Identify Existing User",
        tags: &["identity management"],
        props: &[
            ("identifier", "string", "Identifier", v_user_name),
            ("identityAttribute", "string", "Identity Attribute", v_mail),
        ],
        outcomes: TRUE_FALSE,
    },
    NodeType {
        id: "IncrementLoginCountNode",
        name: "Increment Login Count",
        tags: &["identity management"],
        props: &[(
            "identityAttribute",
            "string",
            "Identity Attribute",
            v_user_name,
        )],
        outcomes: SINGLE,
    },
    NodeType {
        id: "InnerTreeEvaluatorNode",
        name: "Inner Tree Evaluator",
        tags: &["utilities"],
        props: &[("tree", "string", "Tree Name", v_null)],
        outcomes: TRUE_FALSE,
    },
    NodeType {
        id: "MessageNode",
        name: "Message Node",
        tags: &["utilities"],
        props: &[
            ("message", "object", "Message", v_empty_map),
            ("messageYes", "object", "Positive answer", v_yes),
            ("messageNo", "object", "Negative answer", v_no),
            ("stateField", "string", "Shared State Property Name", v_null),
        ],
        outcomes: &[("true", "True"), ("false", "False")],
    },
    NodeType {
        id: "PageNode",
        name: "Page Node",
        tags: &["utilities"],
        props: &[
            ("nodes", "array", "Nodes", v_empty_list),
            ("pageHeader", "object", "Page Header", v_empty_map),
            ("pageDescription", "object", "Page Description", v_empty_map),
            ("stage", "string", "Stage", v_null),
        ],
        outcomes: &[],
    },
    NodeType {
        id: "PasswordCollectorNode",
        name: "Password Collector",
        tags: &["basic authn"],
        props: &[],
        outcomes: SINGLE,
    },
    NodeType {
        id: "ScriptedDecisionNode",
        name: "Scripted Decision",
        tags: &["utilities"],
        props: &[
            ("script", "string", "Script", v_null),
            ("outcomes", "array", "Outcomes", v_empty_list),
            ("outputs", "array", "Script Outputs", v_star),
            ("inputs", "array", "Script Inputs", v_star),
        ],
        outcomes: &[],
    },
    NodeType {
        id: "UsernameCollectorNode",
        name: "Username Collector",
        tags: &["basic authn"],
        props: &[],
        outcomes: SINGLE,
    },
    NodeType {
        id: "ValidatedPasswordNode",
        name: "Platform Password",
        tags: &["basic authn", "platform"],
        props: &[
            ("validateInput", "boolean", "Validate Input", v_false),
            ("passwordAttribute", "string", "Password Attribute", || {
                json!("password")
            }),
            ("confirmPassword", "boolean", "Confirm Password", v_false),
        ],
        outcomes: SINGLE,
    },
    NodeType {
        id: "ValidatedUsernameNode",
        name: "Platform Username",
        tags: &["basic authn", "platform"],
        props: &[
            ("validateInput", "boolean", "Validate Input", v_false),
            (
                "usernameAttribute",
                "string",
                "Username Attribute",
                v_user_name,
            ),
        ],
        outcomes: SINGLE,
    },
    NodeType {
        id: "AccountLockoutNode",
        name: "Account Lockout",
        tags: &["risk"],
        props: &[("lockAction", "string", "Lock Action", || json!("LOCK"))],
        outcomes: SINGLE,
    },
    NodeType {
        id: "RetryLimitDecisionNode",
        name: "Retry Limit Decision",
        tags: &["risk"],
        props: &[
            ("retryLimit", "integer", "Retry limit", || json!(3)),
            (
                "incrementUserAttributeOnFailure",
                "boolean",
                "Save Retry Limit to User",
                v_true,
            ),
        ],
        outcomes: &[("Retry", "Retry"), ("Reject", "Reject")],
    },
    NodeType {
        id: "SetSuccessUrlNode",
        name: "Success URL",
        tags: &["utilities"],
        props: &[("successUrl", "string", "Success URL", v_null)],
        outcomes: SINGLE,
    },
];

fn node_type(id: &str) -> Option<&'static NodeType> {
    NODE_TYPES.iter().find(|t| t.id == id)
}

impl NodeType {
    fn schema(&self) -> Value {
        let mut props = Map::new();
        for (i, (name, ty, title, _)) in self.props.iter().enumerate() {
            let mut p = json!({"title": title, "description": format!("{title} of the {} node.", self.name), "propertyOrder": 100 * (i + 1)});
            match *ty {
                "array" => {
                    p["type"] = json!("array");
                    p["items"] = json!({"type": "string"});
                }
                "object" => {
                    p["type"] = json!("object");
                    p["patternProperties"] = json!({".*": {"type": "string"}});
                }
                other => p["type"] = json!(other),
            }
            props.insert((*name).to_string(), p);
        }
        json!({"type": "object", "properties": props})
    }

    fn template(&self) -> Value {
        let mut m = Map::new();
        for (name, _, _, default) in self.props {
            m.insert((*name).to_string(), default());
        }
        Value::Object(m)
    }

    fn type_info(&self) -> Value {
        json!({"_id": self.id, "name": self.name, "collection": true})
    }

    fn listing(&self) -> Value {
        json!({"_id": self.id, "name": self.name, "tags": self.tags, "metadata": {"tags": self.tags}, "help": {}})
    }

    /// The outcomes for a configuration.
    fn outcomes(&self, config: &Value) -> Vec<Value> {
        let pair = |id: &str, name: &str| json!({"id": id, "displayName": name});
        match self.id {
            "ScriptedDecisionNode" => strings(config.get("outcomes"))
                .into_iter()
                .map(|o| pair(&o, &o))
                .collect(),
            "ChoiceCollectorNode" => strings(config.get("choices"))
                .into_iter()
                .map(|o| pair(&o, &o))
                .collect(),
            "MessageNode" => {
                let label = |key: &str, default: &str| {
                    config
                        .get(key)
                        .and_then(|m| m.get("en").or_else(|| m.as_object()?.values().next()))
                        .and_then(Value::as_str)
                        .unwrap_or(default)
                        .to_string()
                };
                vec![
                    pair("true", &label("messageYes", "Yes")),
                    pair("false", &label("messageNo", "No")),
                ]
            }
            "PageNode" => {
                // The page has the outcomes of its last child that has more than one.
                let children = config
                    .get("nodes")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut out = vec![pair("outcome", "Outcome")];
                for child in &children {
                    let Some(t) = child
                        .get("nodeType")
                        .and_then(Value::as_str)
                        .and_then(node_type)
                    else {
                        continue;
                    };
                    let props = child.get("_properties").cloned().unwrap_or(json!({}));
                    let o = t.outcomes(&props);
                    if o.len() > 1 || (o.len() == 1 && o[0]["id"] != "outcome") {
                        out = o;
                    }
                }
                out
            }
            _ => self.outcomes.iter().map(|(id, n)| pair(id, n)).collect(),
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One realm's journeys.
#[derive(Debug, Default)]
struct Realm {
    trees: BTreeMap<String, Value>,
    /// (type, id) → instance.
    nodes: BTreeMap<(String, String), Value>,
    auth: Value,
}

/// State of this family.
#[derive(Debug, Default)]
pub(crate) struct State {
    realms: BTreeMap<String, Realm>,
    rev: u64,
}

impl State {
    pub(crate) fn seeded() -> Self {
        let mut s = State::default();
        for (i, realm) in REALMS.iter().enumerate() {
            let mut r = Realm {
                auth: json!({
                    "_id": "",
                    "_type": {"_id": "EMPTY", "name": "Core Attributes", "collection": false},
                    "core": {"orgConfig": "Login", "adminAuthModule": "Login"},
                    "general": {"defaultAuthLevel": 0, "identityType": ["agent", "user"], "locale": "en_US", "statelessSessionsEnabled": false},
                    "trees": {"authenticationSessionsMaxDuration": 5, "authenticationSessionsStateManagement": "JWT"},
                    "security": {"keyAlias": "test", "zeroPageLoginEnabled": false},
                    "userprofile": {"dynamicProfileCreation": "false", "defaultRole": []},
                    "postauthprocess": {"usernameGeneratorEnabled": true, "loginSuccessUrl": ["/enduser/?realm=/{realm}"]},
                }),
                ..Realm::default()
            };
            for (name, tree, nodes) in seed_trees(realm, i) {
                for (ty, id, config) in nodes {
                    let inst = s.instance(ty, &id, config);
                    r.nodes.insert((ty.to_string(), id), inst);
                }
                let mut tree = tree;
                tree["_rev"] = json!(s.next_rev());
                r.trees.insert(name.to_string(), tree);
            }
            s.realms.insert((*realm).to_string(), r);
        }
        s
    }

    fn next_rev(&mut self) -> String {
        self.rev += 1;
        format!("{}", 1_000_000_000u64 + self.rev * 7919)
    }

    /// A stored node instance: the config with `_id`, `_rev` and `_type`.
    fn instance(&mut self, ty: &str, id: &str, config: Value) -> Value {
        let mut m = match config {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("_id".into(), json!(id));
        m.insert("_rev".into(), json!(self.next_rev()));
        if let Some(t) = node_type(ty) {
            m.insert("_type".into(), t.type_info());
        }
        Value::Object(m)
    }
}

type SeedNode = (&'static str, String, Value);

/// Deterministic ids: realm index and a running number.
fn seed_id(realm: usize, n: u32) -> String {
    format!(
        "{:08x}-7e57-4a{:02x}-8000-{:012x}",
        0x5eed_0000u32 + n,
        realm,
        n
    )
}

/// Two journeys per realm: Login and Registration, with their node instances.
fn seed_trees(realm: &str, ri: usize) -> Vec<(&'static str, Value, Vec<SeedNode>)> {
    let id = |n: u32| seed_id(ri, n);
    let (page, user, pass, decide, count, inner) = (id(1), id(2), id(3), id(4), id(5), id(6));
    let login_nodes = vec![
        (
            "PageNode",
            page.clone(),
            json!({
                "nodes": [
                    {"_id": user, "nodeType": "ValidatedUsernameNode", "displayName": "Platform Username"},
                    {"_id": pass, "nodeType": "ValidatedPasswordNode", "displayName": "Platform Password"},
                ],
                "pageDescription": {"en": "New here? <a href=\"#/service/Registration\">Create an account</a>"},
                "pageHeader": {"en": "Sign In"},
            }),
        ),
        (
            "ValidatedUsernameNode",
            user.clone(),
            json!({"usernameAttribute": "userName", "validateInput": false}),
        ),
        (
            "ValidatedPasswordNode",
            pass.clone(),
            json!({"passwordAttribute": "password", "validateInput": false}),
        ),
        ("DataStoreDecisionNode", decide.clone(), json!({})),
        (
            "IncrementLoginCountNode",
            count.clone(),
            json!({"identityAttribute": "userName"}),
        ),
        (
            "InnerTreeEvaluatorNode",
            inner.clone(),
            json!({"tree": "ProgressiveProfile"}),
        ),
    ];
    let login = json!({
        "_id": "Login",
        "identityResource": format!("managed/{realm}_user"),
        "uiConfig": {"categories": "[\"Authentication\"]"},
        "entryNodeId": page,
        "innerTreeOnly": false,
        "nodes": {
            page.clone(): {"connections": {"outcome": decide}, "displayName": "Page Node", "nodeType": "PageNode", "x": 136, "y": 59},
            decide.clone(): {"connections": {"false": FAILURE_NODE, "true": count}, "displayName": "Data Store Decision", "nodeType": "DataStoreDecisionNode", "x": 315, "y": 140},
            count.clone(): {"connections": {"outcome": inner}, "displayName": "Increment Login Count", "nodeType": "IncrementLoginCountNode", "x": 564, "y": 132},
            inner.clone(): {"connections": {"false": FAILURE_NODE, "true": SUCCESS_NODE}, "displayName": "Inner Tree Evaluator", "nodeType": "InnerTreeEvaluatorNode", "x": 815, "y": 180},
        },
        "description": "Platform Login Tree",
        "staticNodes": {"startNode": {"x": 70, "y": 155}, SUCCESS_NODE: {"x": 1037, "y": 151}, FAILURE_NODE: {"x": 1085, "y": 912}},
        "enabled": true,
        "mustRun": false,
    });
    let (rpage, ruser, rattrs, rpass, create, rcount) =
        (id(11), id(12), id(13), id(14), id(15), id(16));
    let reg_nodes = vec![
        (
            "PageNode",
            rpage.clone(),
            json!({
                "nodes": [
                    {"_id": ruser, "nodeType": "ValidatedUsernameNode", "displayName": "Platform Username"},
                    {"_id": rattrs, "nodeType": "AttributeCollectorNode", "displayName": "Attribute Collector"},
                    {"_id": rpass, "nodeType": "ValidatedPasswordNode", "displayName": "Platform Password"},
                ],
                "pageDescription": {"en": "Signing up is fast and easy.<br>Already have an account? <a href=\"#/service/Login\">Sign In</a>"},
                "pageHeader": {"en": "Sign Up"},
            }),
        ),
        (
            "ValidatedUsernameNode",
            ruser.clone(),
            json!({"usernameAttribute": "userName", "validateInput": true}),
        ),
        (
            "AttributeCollectorNode",
            rattrs.clone(),
            json!({"attributesToCollect": ["givenName", "sn", "mail", "preferences/marketing", "preferences/updates"], "identityAttribute": "userName", "validateInputs": true, "required": true}),
        ),
        (
            "ValidatedPasswordNode",
            rpass.clone(),
            json!({"passwordAttribute": "password", "validateInput": true}),
        ),
        (
            "CreateObjectNode",
            create.clone(),
            json!({"identityResource": format!("managed/{realm}_user")}),
        ),
        (
            "IncrementLoginCountNode",
            rcount.clone(),
            json!({"identityAttribute": "userName"}),
        ),
    ];
    let registration = json!({
        "_id": "Registration",
        "identityResource": format!("managed/{realm}_user"),
        "uiConfig": {"categories": "[\"Registration\"]"},
        "entryNodeId": rpage,
        "innerTreeOnly": false,
        "nodes": {
            rpage.clone(): {"connections": {"outcome": create}, "displayName": "Page Node", "nodeType": "PageNode", "x": 261, "y": 168},
            create.clone(): {"connections": {"CREATED": rcount, "FAILURE": FAILURE_NODE}, "displayName": "Create Object", "nodeType": "CreateObjectNode", "x": 501, "y": 230},
            rcount.clone(): {"connections": {"outcome": SUCCESS_NODE}, "displayName": "Increment Login Count", "nodeType": "IncrementLoginCountNode", "x": 733, "y": 232},
        },
        "description": "Platform Registration Tree",
        "staticNodes": {"startNode": {"x": 70, "y": 206}, SUCCESS_NODE: {"x": 985, "y": 235}, FAILURE_NODE: {"x": 702, "y": 357}},
        "enabled": true,
        "mustRun": false,
    });
    vec![
        ("Login", login, login_nodes),
        ("Registration", registration, reg_nodes),
    ]
}

/// Handles a request routed to this family.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    http::finish(route(shared, req))
}

fn route(shared: &Shared, req: &Req) -> Outcome {
    let segs = req.segs();
    let (realm, rest) = match segs.as_slice() {
        ["am", "json", realm, "realm-config", "authentication", rest @ ..] => (*realm, rest),
        _ => return Err(http::not_found(req)),
    };
    let wanted = if rest.is_empty() { V10 } else { AM21 };
    http::require_api_version(req, wanted.1, &[wanted.0])?;
    if !REALMS.contains(&realm) {
        return Err(Fail::crest(404, format!("Realm '/{realm}' not found")));
    }
    let mut state = lock(&shared.am_trees);
    let state = &mut *state;
    match rest {
        [] => match req.method {
            Method::GET => auth_get(state, realm),
            Method::PUT => auth_put(state, req, realm),
            _ => Err(http::method_not_allowed(req)),
        },
        ["authenticationtrees", "trees"] => match req.method {
            Method::GET => query_trees(state, req, realm),
            _ => Err(http::method_not_allowed(req)),
        },
        ["authenticationtrees", "trees", name] => match req.method {
            Method::GET => read_tree(state, realm, name),
            Method::PUT => put_tree(state, req, realm, name),
            Method::DELETE => delete_tree(state, realm, name),
            _ => Err(http::method_not_allowed(req)),
        },
        ["authenticationtrees", "nodes"] => match (req.method.clone(), req.q("_action")) {
            (Method::POST, Some("getAllTypes")) => {
                let all: Vec<Value> = NODE_TYPES.iter().map(NodeType::listing).collect();
                Ok(http::json(
                    200,
                    &crest::page(
                        all,
                        crest::Paging {
                            page_size: None,
                            offset: 0,
                        },
                        None,
                    ),
                ))
            }
            (Method::POST, other) => Err(Fail::crest(
                400,
                format!("Unknown action '{}'", other.unwrap_or("")),
            )),
            _ => Err(http::method_not_allowed(req)),
        },
        ["authenticationtrees", "nodes", ty] => {
            let t = node_type(ty)
                .ok_or_else(|| Fail::crest(404, format!("Node type '{ty}' not found")))?;
            if req.method != Method::POST {
                return Err(http::method_not_allowed(req));
            }
            let body = if req.body.is_empty() {
                json!({})
            } else {
                req.json_body()?
            };
            match req.q("_action") {
                Some("schema") => Ok(http::json(200, &t.schema())),
                Some("template") => Ok(http::json(200, &t.template())),
                Some("listOutcomes") => Ok(http::json(200, &Value::Array(t.outcomes(&body)))),
                other => Err(Fail::crest(
                    400,
                    format!("Unknown action '{}'", other.unwrap_or("")),
                )),
            }
        }
        ["authenticationtrees", "nodes", ty, id] => {
            node_type(ty).ok_or_else(|| Fail::crest(404, format!("Node type '{ty}' not found")))?;
            match req.method {
                Method::GET => read_node(state, realm, ty, id),
                Method::PUT => put_node(state, req, realm, ty, id),
                Method::DELETE => delete_node(state, realm, ty, id),
                _ => Err(http::method_not_allowed(req)),
            }
        }
        _ => Err(http::not_found(req)),
    }
}

fn realm_mut<'a>(state: &'a mut State, realm: &str) -> Result<&'a mut Realm, Fail> {
    state
        .realms
        .get_mut(realm)
        .ok_or_else(|| Fail::crest(404, format!("Realm '/{realm}' not found")))
}

fn auth_get(state: &mut State, realm: &str) -> Outcome {
    let r = realm_mut(state, realm)?;
    Ok(http::json(200, &r.auth))
}

fn auth_put(state: &mut State, req: &Req, realm: &str) -> Outcome {
    let body = req.json_body()?;
    let Value::Object(body) = body else {
        return Err(Fail::crest(400, "The request body must be a JSON object"));
    };
    let rev = state.next_rev();
    let r = realm_mut(state, realm)?;
    let mut updated = r.auth.clone();
    for (k, v) in body {
        match k.as_str() {
            "_id" | "_rev" | "_type" => {}
            // The flat form the reference sends: core attributes at the top level.
            "orgConfig" | "adminAuthModule" => {
                if !v.is_string() {
                    return Err(Fail::crest(
                        400,
                        format!("Invalid value for '{k}': a journey name is required"),
                    ));
                }
                updated["core"][k.as_str()] = v;
            }
            section => {
                let Value::Object(attrs) = v else {
                    return Err(Fail::crest(400, format!("Invalid attribute '{section}'")));
                };
                match updated.get_mut(section).and_then(Value::as_object_mut) {
                    Some(existing) => existing.extend(attrs),
                    None => return Err(Fail::crest(400, format!("Invalid attribute '{section}'"))),
                }
            }
        }
    }
    updated["_rev"] = json!(rev);
    r.auth = updated;
    Ok(http::json(200, &r.auth))
}

fn query_trees(state: &mut State, req: &Req, realm: &str) -> Outcome {
    let filter = req
        .q("_queryFilter")
        .ok_or_else(|| Fail::crest(400, "The _queryFilter parameter is required"))?;
    let paging = crest::paging(req, None)?;
    let r = realm_mut(state, realm)?;
    let mut all: Vec<Value> = r.trees.values().cloned().collect();
    if filter != "true" {
        let f = crate::filter::parse(filter)
            .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{filter}': {e}")))?;
        all.retain(|t| f.matches(t));
    }
    let all: Vec<Value> = all
        .iter()
        .map(|t| crest::select_fields(t, req.q("_fields")))
        .collect();
    Ok(http::json(200, &crest::page(all, paging, None)))
}

fn tree_not_found(name: &str) -> Fail {
    Fail::crest(404, format!("Journey '{name}' not found"))
}

fn read_tree(state: &mut State, realm: &str, name: &str) -> Outcome {
    let r = realm_mut(state, realm)?;
    r.trees
        .get(name)
        .map(|t| http::json(200, t))
        .ok_or_else(|| tree_not_found(name))
}

/// Checks a tree body; returns the node entries (id → entry) in order.
fn validate_tree(body: &Map<String, Value>) -> Result<Map<String, Value>, Fail> {
    let bad = |m: String| Fail::crest(400, m);
    let nodes = match body.get("nodes") {
        Some(Value::Object(n)) => n.clone(),
        None => Map::new(),
        Some(_) => return Err(bad("'nodes' must be an object".into())),
    };
    let entry = body
        .get("entryNodeId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("'entryNodeId' is required".into()))?;
    if !nodes.contains_key(entry) {
        return Err(bad(format!(
            "The entry node '{entry}' is not a node of the tree"
        )));
    }
    for (id, node) in &nodes {
        if !is_uuid(id) {
            return Err(bad(format!(
                "Invalid node id '{id}': node ids must be UUIDs"
            )));
        }
        let ty = node
            .get("nodeType")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("Node '{id}' has no nodeType")))?;
        if node_type(ty).is_none() {
            return Err(bad(format!("Node '{id}' has an unknown node type '{ty}'")));
        }
        if let Some(conns) = node.get("connections") {
            let conns = conns
                .as_object()
                .ok_or_else(|| bad(format!("The connections of node '{id}' must be an object")))?;
            for (outcome, target) in conns {
                let t = target.as_str().unwrap_or("");
                if t != SUCCESS_NODE && t != FAILURE_NODE && !nodes.contains_key(t) {
                    return Err(bad(format!(
                        "Node '{id}' outcome '{outcome}' connects to '{t}', which is not a node of the tree"
                    )));
                }
            }
        }
        if let Some(children) = node
            .get("config")
            .filter(|_| ty == "PageNode")
            .and_then(|c| c.get("nodes"))
            .and_then(Value::as_array)
        {
            for child in children {
                let cid = child.get("_id").and_then(Value::as_str).unwrap_or("");
                if !is_uuid(cid) {
                    return Err(bad(format!(
                        "Invalid node id '{cid}' in page node '{id}': node ids must be UUIDs"
                    )));
                }
                let cty = child.get("nodeType").and_then(Value::as_str).unwrap_or("");
                if node_type(cty).is_none() {
                    return Err(bad(format!(
                        "Unknown node type '{cty}' in page node '{id}'"
                    )));
                }
            }
        }
    }
    Ok(nodes)
}

fn put_tree(state: &mut State, req: &Req, realm: &str, name: &str) -> Outcome {
    let body = req.json_body()?;
    let Value::Object(body) = body else {
        return Err(Fail::crest(400, "The request body must be a JSON object"));
    };
    if let Some(id) = body.get("_id").and_then(Value::as_str) {
        if id != name {
            return Err(Fail::crest(
                400,
                format!("The _id '{id}' does not match the journey '{name}'"),
            ));
        }
    }
    let nodes = validate_tree(&body)?;
    // Node instances from the inline configs (or kept, or the type's template).
    let mut instances: Vec<(String, String, Value)> = Vec::new();
    let mut stored_nodes = Map::new();
    {
        let r = realm_mut(state, realm)?;
        for (id, node) in &nodes {
            let ty = node
                .get("nodeType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let config = match node.get("config") {
                Some(Value::Object(c)) => Some(Value::Object(c.clone())),
                _ => None,
            };
            let config = match config {
                Some(c) => Some(c),
                None if r.nodes.contains_key(&(ty.clone(), id.clone())) => None,
                None => node_type(&ty).map(NodeType::template),
            };
            if let Some(c) = config {
                if ty == "PageNode" {
                    for child in c
                        .get("nodes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let cid = child
                            .get("_id")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        let cty = child
                            .get("nodeType")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        if !r.nodes.contains_key(&(cty.clone(), cid.clone())) {
                            let mut cfg =
                                node_type(&cty).map(NodeType::template).unwrap_or(json!({}));
                            if let (Some(Value::Object(p)), Some(m)) =
                                (child.get("_properties"), cfg.as_object_mut())
                            {
                                m.extend(p.clone());
                            }
                            instances.push((cty, cid, cfg));
                        }
                    }
                }
                instances.push((ty.clone(), id.clone(), c));
            }
            let mut entry = node.as_object().cloned().unwrap_or_default();
            entry.remove("config");
            entry.entry("connections").or_insert_with(|| json!({}));
            stored_nodes.insert(id.clone(), Value::Object(entry));
        }
    }
    let instances: Vec<((String, String), Value)> = instances
        .into_iter()
        .map(|(ty, id, c)| {
            let inst = state.instance(&ty, &id, c);
            ((ty, id), inst)
        })
        .collect();
    let rev = state.next_rev();
    let r = realm_mut(state, realm)?;
    let mut tree = Map::new();
    tree.insert("_id".into(), json!(name));
    tree.insert("_rev".into(), json!(rev));
    tree.insert(
        "identityResource".into(),
        json!(format!("managed/{realm}_user")),
    );
    tree.insert("uiConfig".into(), json!({}));
    tree.insert(
        "entryNodeId".into(),
        body.get("entryNodeId").cloned().unwrap_or(Value::Null),
    );
    tree.insert("innerTreeOnly".into(), json!(false));
    tree.insert("nodes".into(), Value::Object(stored_nodes));
    tree.insert("staticNodes".into(), json!({}));
    tree.insert("enabled".into(), json!(true));
    tree.insert("mustRun".into(), json!(false));
    for (k, v) in body {
        if !matches!(k.as_str(), "_id" | "_rev" | "nodes") {
            tree.insert(k, v);
        }
    }
    for (key, inst) in instances {
        r.nodes.insert(key, inst);
    }
    let created = !r.trees.contains_key(name);
    let tree = Value::Object(tree);
    r.trees.insert(name.to_string(), tree.clone());
    Ok(http::json(if created { 201 } else { 200 }, &tree))
}

fn delete_tree(state: &mut State, realm: &str, name: &str) -> Outcome {
    let r = realm_mut(state, realm)?;
    let tree = r.trees.remove(name).ok_or_else(|| tree_not_found(name))?;
    let mut doomed: Vec<(String, String)> = Vec::new();
    for (id, node) in tree
        .get("nodes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let ty = node
            .get("nodeType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(inst) = r.nodes.get(&(ty.clone(), id.clone())) {
            for child in inst
                .get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(cid), Some(cty)) = (
                    child.get("_id").and_then(Value::as_str),
                    child.get("nodeType").and_then(Value::as_str),
                ) {
                    doomed.push((cty.to_string(), cid.to_string()));
                }
            }
        }
        doomed.push((ty, id.clone()));
    }
    for key in doomed {
        r.nodes.remove(&key);
    }
    Ok(http::json(200, &tree))
}

fn node_not_found(ty: &str, id: &str) -> Fail {
    Fail::crest(404, format!("Node '{id}' of type '{ty}' not found"))
}

fn read_node(state: &mut State, realm: &str, ty: &str, id: &str) -> Outcome {
    let r = realm_mut(state, realm)?;
    r.nodes
        .get(&(ty.to_string(), id.to_string()))
        .map(|n| http::json(200, n))
        .ok_or_else(|| node_not_found(ty, id))
}

fn put_node(state: &mut State, req: &Req, realm: &str, ty: &str, id: &str) -> Outcome {
    let body = req.json_body()?;
    let Value::Object(mut body) = body else {
        return Err(Fail::crest(400, "The request body must be a JSON object"));
    };
    if let Some(given) = body.get("_id").and_then(Value::as_str) {
        if given != id {
            return Err(Fail::crest(
                400,
                format!("The _id '{given}' does not match the node '{id}'"),
            ));
        }
    }
    body.remove("_rev");
    body.remove("_type");
    let inst = state.instance(ty, id, Value::Object(body));
    let r = realm_mut(state, realm)?;
    let created = r
        .nodes
        .insert((ty.to_string(), id.to_string()), inst.clone())
        .is_none();
    Ok(http::json(if created { 201 } else { 200 }, &inst))
}

fn delete_node(state: &mut State, realm: &str, ty: &str, id: &str) -> Outcome {
    let r = realm_mut(state, realm)?;
    r.nodes
        .remove(&(ty.to_string(), id.to_string()))
        .map(|n| http::json(200, &n))
        .ok_or_else(|| node_not_found(ty, id))
}
