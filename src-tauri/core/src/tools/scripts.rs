//! AM scripts (6 of the AM family's 18 tools, contract §3.7; local mode only): the
//! realm's scripts under `/am/json/{realm}/scripts` and the scripting context of the
//! Scripted Decision Node. Sources travel base64-encoded in `script`; the tools encode
//! what the caller writes and decode what `getAMScript` reads. Script tools print their
//! own `Transaction ID:` line, `unknown` when the tenant sent none (§5.3).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::common::AM;
use super::{failure, format_success, tool, Args, CallCtx, Hints, Meta, Realm, ToolDef};
use crate::tenant::{ApiRequest, ApiResponse};
use crate::validate::{self, ValidationError};

/// `Accept-API-Version` of the script read in `getAMScript`.
const V10: &str = "protocol=1.0,resource=1.0";
/// `Accept-API-Version` of script list, create, update (its GET and PUT), delete, contexts.
const V20: &str = "protocol=2.0,resource=1.0";
/// The script context of a Scripted Decision Node.
const DECISION_NODE: &str = "AUTHENTICATION_TREE_DECISION_NODE";
/// `listScripts`: next-generation decision-node scripts only.
const LIST_FILTER: &str =
    "context eq \"AUTHENTICATION_TREE_DECISION_NODE\" and evaluatorVersion eq \"2.0\"";
const LIST_FIELDS: &str =
    "_id,name,description,language,context,evaluatorVersion,creationDate,lastModifiedDate";
/// Longest script id accepted (AM script ids are UUIDs).
const MAX_ID: usize = 256;
const MAX_NAME: usize = 256;
const MAX_DESCRIPTION: usize = 4000;
/// Longest script source accepted, in characters.
const MAX_SOURCE: usize = 1_000_000;

const NO_UPDATES: &str = "No updates provided. Specify at least one of: name, description, script";

/// This module's tools (any order: the registry sorts the AM family).
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "createScript",
                title: "Create AM Script",
                description: "Create a JavaScript script for a Scripted Decision Node (next-generation scripting, evaluatorVersion 2.0) in a realm. Call getScriptedDecisionNodeBindings first and use only the bindings and imports it lists. Pass the plain JavaScript source; the tool base64-encodes it. The script sets the outcome with action.goTo(\"<outcome>\"), for example: var user = nodeState.get(\"username\"); action.goTo(user ? \"true\" : \"false\");. The result gives the new script's id, which a ScriptedDecisionNode's config references as 'script'. Names must be unique in the realm.",
                scopes: AM,
                hints: Hints::ADDITIVE,
                container: false,
            },
            create_script,
        )
        .with_script_args(&["script"]),
        tool(
            Meta {
                name: "deleteScript",
                title: "Delete AM Script",
                description: "Permanently delete an AM script by id (as listScripts shows it), for example 9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10. Make sure no journey node (ScriptedDecisionNode) references the script first, or those journeys will fail. This cannot be undone.",
                scopes: AM,
                hints: Hints::DESTRUCTIVE,
                container: false,
            },
            delete_script,
        ),
        tool(
            Meta {
                name: "getAMScript",
                title: "Get AM Script",
                description: "Read an AM script by id, for example 9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10 (listScripts lists ids; a ScriptedDecisionNode's config names its script's id). The source in 'script' is decoded from base64 into plain text; the other fields (name, description, language, context, evaluatorVersion, dates) are returned as AM stores them.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            get_script,
        ),
        tool(
            Meta {
                name: "getScriptedDecisionNodeBindings",
                title: "Get Scripted Decision Node Bindings",
                description: "Get the scripting context of Scripted Decision Nodes in a realm: the bindings (variables such as nodeState, action, callbacks, logger, httpClient) available to next-generation scripts, with their types, and the Java classes scripts may import. Check this before writing or changing a script with createScript or updateScript.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            get_bindings,
        ),
        tool(
            Meta {
                name: "listScripts",
                title: "List AM Scripts",
                description: "List a realm's next-generation Scripted Decision Node scripts (context AUTHENTICATION_TREE_DECISION_NODE, evaluatorVersion 2.0) with their metadata: _id, name, description, language, context, evaluatorVersion, creationDate and lastModifiedDate. Sources are not included; read one with getAMScript. Legacy scripts and scripts of other contexts are not listed.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            list_scripts,
        ),
        tool(
            Meta {
                name: "updateScript",
                title: "Update AM Script",
                description: "Change an existing AM script's name, description and/or JavaScript source, by id (as listScripts shows it). Give at least one of them; fields not given keep their values. Pass the full new plain JavaScript source in 'script' (it replaces the whole source; the tool base64-encodes it). Check getScriptedDecisionNodeBindings for the bindings a decision-node script may use. Journeys that use the script run the new version at once.",
                scopes: AM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: false,
            },
            update_script,
        )
        .with_script_args(&["script"]),
    ]
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// `/am/json/{realm}/scripts`.
fn scripts_path(realm: Realm) -> String {
    format!("/am/json/{realm}/scripts")
}

/// The script v2 header set: `protocol=2.0,resource=1.0` and a JSON content type.
fn v2(req: ApiRequest) -> ApiRequest {
    req.api_version(V20).json_content_type()
}

fn script_request(method: fn(&str) -> ApiRequest, realm: Realm, id: &str) -> ApiRequest {
    method(&scripts_path(realm)).seg(id)
}

fn script_id_rule(id: &str) -> validate::Result {
    validate::safe_segment("scriptId", id)?;
    validate::max_chars("scriptId", id, MAX_ID)
}

fn name_rule(name: &str) -> validate::Result {
    validate::min_chars("name", name, 1)?;
    if name.trim().is_empty() {
        return Err(ValidationError::new(
            "name",
            "must not be blank or whitespace only",
        ));
    }
    validate::text("name", name, MAX_NAME)
}

fn description_rule(description: &str) -> validate::Result {
    validate::max_chars("description", description, MAX_DESCRIPTION)
}

fn source_rule(source: &str) -> validate::Result {
    validate::min_chars("script", source, 1)?;
    validate::max_chars("script", source, MAX_SOURCE)
}

/// The `Transaction ID:` line of the script tools: `unknown` without the header.
fn tx_line(r: &ApiResponse) -> String {
    format!(
        "Transaction ID: {}",
        r.transaction_id.as_deref().unwrap_or("unknown")
    )
}

/// `Script "<name>" <verb> successfully.` / `Script ID: <id>` / `Transaction ID: <tx>`.
/// A response without `name` or `_id` (AM always sends both) shows the name asked for
/// and `unknown`.
fn written(r: &ApiResponse, verb: &str, fallback_name: &str) -> String {
    let name = r
        .body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(fallback_name);
    let id = r
        .body
        .get("_id")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    format!(
        "Script \"{name}\" {verb} successfully.\nScript ID: {id}\n{}",
        tx_line(r)
    )
}

/// The decoded source when `text` is base64 of UTF-8 text, else `None`.
///
/// Stricter than the reference (which decodes anything matching
/// `^[A-Za-z0-9+/]{4,}={0,2}$` and so turns a short plain-text source such as `true` or
/// `nodeState` into garbage): the text must be canonical, padded base64 of at least 4
/// characters, decode to valid UTF-8, and encode back to exactly the same text.
fn decode_source(text: &str) -> Option<String> {
    if text.len() < 4
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        return None;
    }
    let bytes = STANDARD.decode(text).ok()?;
    let decoded = String::from_utf8(bytes).ok()?;
    (STANDARD.encode(decoded.as_bytes()) == text).then_some(decoded)
}

/// Replaces a base64 `script` with its decoded text (other values are left as they are).
fn decode_script(mut body: Value) -> Value {
    if let Some(script) = body.get_mut("script") {
        if let Some(decoded) = script.as_str().and_then(decode_source) {
            *script = Value::String(decoded);
        }
    }
    body
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RealmArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
}

impl Args for RealmArgs {}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptIdArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The script's id, as listScripts shows it, for example
    /// "9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10".
    #[schemars(length(min = 1, max = 256))]
    script_id: String,
}

impl Args for ScriptIdArgs {
    fn validate(&self) -> validate::Result {
        script_id_rule(&self.script_id)
    }
}

async fn get_script(ctx: CallCtx, a: ScriptIdArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, &a.script_id);
    let r = ctx
        .send(
            script_request(ApiRequest::get, realm, id)
                .api_version(V10)
                .json_content_type(),
        )
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to get script \"{id}\" in realm \"{realm}\""),
                e,
            )
        })?;
    Ok(format_success(&decode_script(r.body), &r.transaction_id))
}

async fn delete_script(ctx: CallCtx, a: ScriptIdArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, &a.script_id);
    let r = ctx
        .send(v2(script_request(ApiRequest::delete, realm, id)))
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to delete script \"{id}\" in realm \"{realm}\""),
                e,
            )
        })?;
    Ok(format!(
        "Script \"{id}\" deleted successfully.\n{}",
        tx_line(&r)
    ))
}

async fn get_bindings(ctx: CallCtx, a: RealmArgs) -> Result<String, String> {
    let realm = a.realm;
    let r = ctx
        .send(v2(ApiRequest::get(&format!(
            "/am/json/{realm}/contexts/SCRIPTED_DECISION_NODE"
        ))))
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to get scripted decision node bindings in realm \"{realm}\""),
                e,
            )
        })?;
    Ok(format_success(&r.body, &r.transaction_id))
}

async fn list_scripts(ctx: CallCtx, a: RealmArgs) -> Result<String, String> {
    let realm = a.realm;
    let r = ctx
        .send(
            v2(ApiRequest::get(&scripts_path(realm)))
                .query("_queryFilter", LIST_FILTER)
                .query("_pageSize", "-1")
                .query("_fields", LIST_FIELDS),
        )
        .await
        .map_err(|e| failure(&format!("Failed to list scripts in realm \"{realm}\""), e))?;
    Ok(format_success(&r.body, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The script's name, unique in the realm, for example "Check Email Domain".
    #[schemars(length(min = 1, max = 256))]
    name: String,
    /// What the script does, for example "Routes users of example.com to the
    /// employee branch". Default: empty.
    #[schemars(length(max = 4000))]
    description: Option<String>,
    /// The plain JavaScript source (not base64), for example
    /// "var user = nodeState.get(\"username\"); action.goTo(user ? \"true\" : \"false\");".
    #[schemars(length(min = 1, max = 1000000))]
    script: String,
}

impl Args for CreateArgs {
    fn validate(&self) -> validate::Result {
        name_rule(&self.name)?;
        if let Some(d) = &self.description {
            description_rule(d)?;
        }
        source_rule(&self.script)
    }
}

async fn create_script(ctx: CallCtx, a: CreateArgs) -> Result<String, String> {
    let (realm, name) = (a.realm, &a.name);
    let body = json!({
        "context": DECISION_NODE,
        "name": name,
        "description": a.description.as_deref().unwrap_or(""),
        "language": "JAVASCRIPT",
        "script": STANDARD.encode(a.script.as_bytes()),
        "evaluatorVersion": "2.0",
    });
    let r = ctx
        .send(
            v2(ApiRequest::post(&scripts_path(realm)))
                .query_literal("_action=create")
                .json(body),
        )
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to create script \"{name}\" in realm \"{realm}\""),
                e,
            )
        })?;
    Ok(written(&r, "created", name))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The script's id, as listScripts shows it, for example
    /// "9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10".
    #[schemars(length(min = 1, max = 256))]
    script_id: String,
    /// A new name, unique in the realm, for example "Check Email Domain v2".
    #[schemars(length(min = 1, max = 256))]
    name: Option<String>,
    /// A new description; an empty string clears it.
    #[schemars(length(max = 4000))]
    description: Option<String>,
    /// The complete new plain JavaScript source (not base64); it replaces the whole
    /// source, for example "action.goTo(\"true\");".
    #[schemars(length(min = 1, max = 1000000))]
    script: Option<String>,
}

impl Args for UpdateArgs {
    fn validate(&self) -> validate::Result {
        script_id_rule(&self.script_id)?;
        if let Some(n) = &self.name {
            name_rule(n)?;
        }
        if let Some(d) = &self.description {
            description_rule(d)?;
        }
        if let Some(s) = &self.script {
            source_rule(s)?;
        }
        Ok(())
    }
}

async fn update_script(ctx: CallCtx, a: UpdateArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, &a.script_id);
    if a.name.is_none() && a.description.is_none() && a.script.is_none() {
        return Err(NO_UPDATES.into());
    }
    let prefix = format!("Failed to update script \"{id}\" in realm \"{realm}\"");
    let current = ctx
        .send(v2(script_request(ApiRequest::get, realm, id)))
        .await
        .map_err(|e| failure(&prefix, e))?;
    let mut body = current.body;
    let Some(fields) = body.as_object_mut() else {
        return Err(format!(
            "{prefix}: the tenant returned no script object{}",
            crate::tenant::tx_suffix_of(&current.transaction_id)
        ));
    };
    if let Some(n) = &a.name {
        fields.insert("name".into(), json!(n));
    }
    if let Some(d) = &a.description {
        fields.insert("description".into(), json!(d));
    }
    if let Some(s) = &a.script {
        fields.insert("script".into(), json!(STANDARD.encode(s.as_bytes())));
    }
    let r = ctx
        .send(v2(script_request(ApiRequest::put, realm, id)).json(body))
        .await
        .map_err(|e| failure(&prefix, e))?;
    let fallback = a.name.as_deref().unwrap_or(id);
    Ok(written(&r, "updated", fallback))
}

// ---------------------------------------------------------------------------------------
// Tracking (change journal, current state on approval cards, revert)

/// An AM script, by realm and id. Its state is AM's record with the source decoded, as
/// `getAMScript` shows it: the journal keeps the source (the activity log shows only its
/// length and hash), so a change can be put back.
pub(super) struct ScriptTrack;

#[async_trait::async_trait]
impl super::Track for ScriptTrack {
    fn subject(&self, tool: &str, args: &Value) -> Option<super::Subject> {
        let changes_something = ["name", "description", "script"]
            .iter()
            .any(|k| args.get(*k).is_some_and(|v| !v.is_null()));
        // An update naming no field is refused by the tool before it sends anything: there
        // is nothing to read for it either.
        if !(tool == "deleteScript" || tool == "updateScript" && changes_something) {
            return None;
        }
        let realm = args.get("realm")?.as_str()?;
        let id = args.get("scriptId")?.as_str()?;
        Some(super::Subject {
            kind: "AM script".into(),
            label: format!("{realm} script {id}"),
            key: json!({"realm": realm, "scriptId": id}),
        })
    }

    async fn read(&self, ctx: &CallCtx, subject: &super::Subject) -> Result<Option<Value>, String> {
        let realm = subject
            .key
            .get("realm")
            .and_then(|r| serde_json::from_value::<Realm>(r.clone()).ok())
            .ok_or("the script's realm is not alpha or bravo")?;
        let id = subject
            .key
            .get("scriptId")
            .and_then(Value::as_str)
            .ok_or("the subject names no script")?;
        let r = ctx
            .send(v2(script_request(ApiRequest::get, realm, id)))
            .await;
        Ok(super::track::found(r)?.map(decode_script))
    }

    fn preview(&self, tool: &str, args: &Value, now: &Value) -> Option<Value> {
        if tool != "updateScript" {
            return None;
        }
        let mut then = now.as_object()?.clone();
        for k in ["name", "description", "script"] {
            if let Some(v) = args.get(k).filter(|v| v.is_string()) {
                then.insert(k.into(), v.clone());
            }
        }
        Some(Value::Object(then))
    }

    fn restore(
        &self,
        tool: &str,
        subject: &super::Subject,
        before: Option<&Value>,
        _after: Option<&Value>,
    ) -> Result<super::Restore, String> {
        let before = before
            .and_then(Value::as_object)
            .ok_or("the script's state before the change was not captured")?;
        let text = |k: &str| before.get(k).and_then(Value::as_str);
        let name = text("name").ok_or("the script's name was not captured")?;
        let source = text("script").ok_or("the script's source was not captured")?;
        if decode_source(source).is_some() {
            // The read decodes every source that is base64 of UTF-8 text, so this one is
            // still encoded (AM held something else): writing it back would encode it twice.
            return Err("the script's source was not captured as text".into());
        }
        let description = text("description").unwrap_or("");
        let realm = subject.key.get("realm").cloned().unwrap_or(Value::Null);
        match tool {
            "updateScript" => Ok(super::Restore {
                tool: "updateScript".into(),
                arguments: json!({
                    "realm": realm,
                    "scriptId": subject.key.get("scriptId").cloned().unwrap_or(Value::Null),
                    "name": name,
                    "description": description,
                    "script": source,
                }),
                note: None,
            }),
            "deleteScript" => {
                // createScript makes next-generation Scripted Decision Node scripts only.
                let context = text("context").unwrap_or("");
                let version = before.get("evaluatorVersion").map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                if context != DECISION_NODE || version.as_deref() != Some("2.0") {
                    return Err(format!(
                        "createScript makes only next-generation Scripted Decision Node scripts; this was a {} script (evaluator version {})",
                        if context.is_empty() { "context-less" } else { context },
                        version.as_deref().unwrap_or("unknown"),
                    ));
                }
                Ok(super::Restore {
                    tool: "createScript".into(),
                    arguments: json!({"realm": realm, "name": name, "description": description, "script": source}),
                    note: Some("Re-created with a new id: journey nodes that named the old id must be pointed at the new one (updateJourneyNode).".into()),
                })
            }
            _ => Err(format!("{tool} cannot be undone here")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_base64_of_utf8_text_is_decoded() {
        let src = "var u = nodeState.get(\"username\");\naction.goTo(\"true\"); // ü";
        assert_eq!(decode_source(&STANDARD.encode(src)).as_deref(), Some(src));
        assert_eq!(decode_source("dHJ1ZQ==").as_deref(), Some("true"));
        // Plain text the reference would mis-decode.
        for plain in [
            "true",
            "test",
            "nodeState",
            "abcd",
            "Zm9v1",
            "ab==",
            "a b c d",
        ] {
            assert_eq!(decode_source(plain), None, "{plain}");
        }
        // Not canonical (unpadded or non-zero trailing bits) or not UTF-8.
        for odd in ["dHJ1ZQ", "dHJ1ZR==", "/w==", "", "AAA"] {
            assert_eq!(decode_source(odd), None, "{odd}");
        }
        let body = decode_script(json!({"_id": "x", "script": "dHJ1ZQ==", "name": "n"}));
        assert_eq!(body, json!({"_id": "x", "script": "true", "name": "n"}));
        let plain = json!({"script": "true", "n": 1});
        assert_eq!(decode_script(plain.clone()), plain);
        let other = json!({"script": 5});
        assert_eq!(decode_script(other.clone()), other);
    }

    #[test]
    fn written_scripts_report_name_id_and_transaction() {
        let r = ApiResponse {
            status: 201,
            body: json!({"_id": "abc", "name": "Check"}),
            transaction_id: Some("tx-1".into()),
        };
        assert_eq!(
            written(&r, "created", "x"),
            "Script \"Check\" created successfully.\nScript ID: abc\nTransaction ID: tx-1"
        );
        let bare = ApiResponse {
            status: 200,
            body: Value::Null,
            transaction_id: None,
        };
        assert_eq!(
            written(&bare, "updated", "Fallback"),
            "Script \"Fallback\" updated successfully.\nScript ID: unknown\nTransaction ID: unknown"
        );
        assert_eq!(tx_line(&bare), "Transaction ID: unknown");
    }

    #[test]
    fn metadata_matches_the_contract() {
        let tools = tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "createScript",
                "deleteScript",
                "getAMScript",
                "getScriptedDecisionNodeBindings",
                "listScripts",
                "updateScript"
            ]
        );
        assert!(tools
            .iter()
            .all(|t| !t.container && t.scopes == ["fr:am:*"]));
        let update = &tools[5];
        assert_eq!(
            update.hints,
            Hints {
                read_only: None,
                destructive: Some(false),
                idempotent: Some(true),
                open_world: Some(true),
            }
        );
        assert_eq!(
            update.input_schema["required"],
            json!(["realm", "scriptId"])
        );
        let create = &tools[0];
        assert_eq!(create.hints, Hints::ADDITIVE);
        assert_eq!(
            create.input_schema["required"],
            json!(["realm", "name", "script"])
        );
        assert_eq!(
            create.input_schema["properties"]["realm"]["enum"],
            json!(["alpha", "bravo"])
        );
        assert_eq!(tools[1].hints, Hints::DESTRUCTIVE);
        for i in [2, 3, 4] {
            assert_eq!(tools[i].hints, Hints::READ);
        }
    }
}
