//! AM journeys and nodes (12 of the AM family's 18 tools, contract §3.7; local mode only).
//! Journeys are AM authentication trees under
//! `/am/json/{realm}/realm-config/authentication/authenticationtrees/trees`, their node
//! instances live under `…/nodes/{nodeType}/{nodeId}`, and the realm's default journey is
//! `core.orgConfig` of `/am/json/{realm}/realm-config/authentication`.
//!
//! Deliberate fixes over the reference: the id mapping of `createJourney`/`updateJourney`
//! is applied to PageNode children too; results are ordered deterministically (input order);
//! `getJourney` fans out with bounded concurrency under the call's one token exchange and
//! names the node request that failed; `updateJourney` refuses an unpaired
//! `nodes`/`entryNodeId` before reading anything; error categories come from the HTTP
//! status rather than from substrings of the error text.

mod graph;
pub(super) mod tracking;

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};

use self::graph::{
    graph_rules, is_uuid, name_rule, node_reads, page_child_reads, segment_rule, structure_errors,
    transform, with_child_ids, NodeDef, Ordered, Read, MAX_NAME, MAX_NODES, MAX_TEXT,
};
use super::common::{am_headers, AM};
use super::{failure, format_success, pretty, tool, Args, CallCtx, Hints, Meta, Realm, ToolDef};
use crate::tenant::{ApiRequest, ApiResponse, TenantError};
use crate::validate::{self, ValidationError};

/// `Accept-API-Version` of the realm authentication config.
const V10: &str = "protocol=1.0,resource=1.0";
/// Fields of `listJourneys` (form-encoded: the commas become `%2C`).
const LIST_FIELDS: &str = "_id,description,identityResource,uiConfig,nodes,enabled,mustRun,maximumSessionTime,maximumIdleTime";
/// Concurrent node requests of one call, unless `AIC_FANOUT_LIMIT` says otherwise (1 = one
/// request at a time).
const DEFAULT_FANOUT: usize = 8;
const MAX_FANOUT: usize = 32;
/// Most node types in one details call.
const MAX_TYPES: usize = 100;

/// This module's tools (any order: the registry sorts the AM family).
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "listJourneys",
                title: "List AM Journeys",
                description: "List the authentication journeys (AM trees) of a realm with their description, identity resource, enabled flag, node map and session limits, plus defaultJourney: the journey the realm uses when no journey is named. Use getJourney to read one journey with its node details.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            list_journeys,
        ),
        tool(
            Meta {
                name: "getJourney",
                title: "Get AM Journey (with Node Details)",
                description: "Read one authentication journey: its entry node, nodes with their connections, static nodes and settings. Node schemas and configurations are included automatically in nodeData (schemas keyed by node type, configs keyed by node id, including the children of PageNodes), so no further calls are needed to see how each node is set up.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            get_journey,
        ),
        tool(
            Meta {
                name: "getNodeTypeDetails",
                title: "Get Node Type Details",
                description: "Get the configuration schema, the default configuration (template) and the outcomes of one or more node types, for example [\"PageNode\", \"DataStoreDecisionNode\"]. Use this before building or changing a journey to know each node's properties and outcome ids. A type that cannot be read is reported in its own entry (error) without failing the others; results come in the order given.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            get_node_type_details,
        ),
        tool(
            Meta {
                name: "getDynamicNodeOutcomes",
                title: "Get Dynamic Node Outcomes",
                description: "Ask AM which outcomes a node would have with a given configuration, for nodes whose outcomes depend on it. For a PageNode pass {\"nodes\": [{\"nodeType\": \"ValidatedUsernameNode\", \"_properties\": {}}, …]} (children without _id get one); for a ChoiceCollectorNode pass {\"choices\": [\"Email\", \"SMS\"]}; for a ScriptedDecisionNode pass {\"outcomes\": [\"true\", \"false\"]}. Consult getNodeTypeDetails for the schema of the configuration.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            get_dynamic_outcomes,
        ),
        tool(
            Meta {
                name: "listNodeTypes",
                title: "List AM Node Types",
                description: "List the node types that can be used in journeys of a realm (each with its _id, name and tags). Use getNodeTypeDetails for a type's schema and outcomes.",
                scopes: AM,
                hints: Hints::READ,
                container: false,
            },
            list_node_types,
        ),
        tool(
            Meta {
                name: "createJourney",
                title: "Create Journey",
                description: "Create a journey from a simple graph, or overwrite it: this is an upsert, an existing journey with the same name is replaced. journeyData.nodes is keyed by node ids of your choice (readable ids such as \"login-page\" are turned into UUIDs, also for the _id of PageNode children; the mapping is returned as nodeIdMapping); each node has nodeType, displayName, connections (outcome id -> target node id, or \"success\"/\"failure\" for the journey's terminal nodes) and config. journeyData.entryNodeId names the first node. Example: {\"entryNodeId\": \"page\", \"nodes\": {\"page\": {\"nodeType\": \"PageNode\", \"displayName\": \"Sign in\", \"connections\": {\"outcome\": \"check\"}, \"config\": {\"nodes\": [{\"_id\": \"user\", \"nodeType\": \"ValidatedUsernameNode\", \"displayName\": \"Username\"}]}}, \"check\": {\"nodeType\": \"DataStoreDecisionNode\", \"displayName\": \"Check credentials\", \"connections\": {\"true\": \"success\", \"false\": \"failure\"}, \"config\": {}}}}. Use getNodeTypeDetails for each type's config and outcomes first.",
                scopes: AM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: false,
            },
            create_journey,
        ),
        tool(
            Meta {
                name: "updateJourney",
                title: "Update Journey",
                description: "Update a journey: change its settings (description, identityResource, mustRun, innerTreeOnly, uiConfig, enabled, maximumSessionTime, maximumIdleTime in minutes) and/or replace its whole graph by giving nodes and entryNodeId together (same format as createJourney; readable ids become UUIDs and the mapping is returned). Settings not given keep their values; uiConfig replaces the whole object. Nodes that the new graph no longer uses are not deleted: remove them afterwards with deleteJourneyNodes.",
                scopes: AM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: false,
            },
            update_journey,
        ),
        tool(
            Meta {
                name: "updateJourneyNode",
                title: "Update Journey Node",
                description: "Replace the configuration of one node instance (identified by its node type and UUID). This is a full replacement: read the current config with getJourney (nodeData.configs), change what is needed and send the whole config, for example {\"script\": \"3f2e…\", \"outcomes\": [\"true\", \"false\"], \"outputs\": [\"*\"], \"inputs\": [\"*\"]}. Fails if the node does not exist.",
                scopes: AM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: false,
            },
            update_journey_node,
        ),
        tool(
            Meta {
                name: "deleteJourney",
                title: "Delete Journey",
                description: "Delete a journey. AM deletes the journey's node instances with it. Users can no longer sign in through it; this cannot be undone.",
                scopes: AM,
                hints: Hints::DESTRUCTIVE,
                container: false,
            },
            delete_journey,
        ),
        tool(
            Meta {
                name: "deleteJourneyNodes",
                title: "Delete Journey Nodes (Batch)",
                description: "Delete node instances in bulk, for example the orphans left when updateJourney replaced a graph: [{\"nodeType\": \"MessageNode\", \"nodeId\": \"<uuid>\"}]. Deleting a journey already deletes its nodes, so this is only for nodes no journey uses. Each node's result (deleted, error) is reported in the order given; one failure does not stop the others.",
                scopes: AM,
                hints: Hints::DESTRUCTIVE,
                container: false,
            },
            delete_journey_nodes,
        ),
        tool(
            Meta {
                name: "setDefaultJourney",
                title: "Set Default Journey",
                description: "Make a journey the realm's default authentication journey (used when a sign-in names no journey). The admin authentication journey is kept. The journey's existence is not checked: check the name with listJourneys first.",
                scopes: AM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: false,
            },
            set_default_journey,
        ),
        tool(
            Meta {
                name: "getJourneyPreviewUrl",
                title: "Get Journey Preview URL",
                description: "Build the browser URL that runs a journey in the realm's hosted login pages, to try it out; without journeyName the realm's default journey. Sends no request.",
                scopes: &[],
                hints: Hints::LOCAL_READ,
                container: false,
            },
            get_preview_url,
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Shared helpers

fn trees_path(realm: Realm) -> String {
    format!("/am/json/{realm}/realm-config/authentication/authenticationtrees/trees")
}

fn nodes_path(realm: Realm) -> String {
    format!("/am/json/{realm}/realm-config/authentication/authenticationtrees/nodes")
}

fn auth_config_path(realm: Realm) -> String {
    format!("/am/json/{realm}/realm-config/authentication")
}

/// "Auth-config headers".
fn auth_config(req: ApiRequest) -> ApiRequest {
    req.api_version(V10).json_content_type()
}

fn tree_request(method: fn(&str) -> ApiRequest, realm: Realm, name: &str) -> ApiRequest {
    am_headers(method(&trees_path(realm)).seg(name))
}

fn node_request(method: fn(&str) -> ApiRequest, realm: Realm, ty: &str, id: &str) -> ApiRequest {
    am_headers(method(&nodes_path(realm)).seg(ty).seg(id))
}

fn type_action(realm: Realm, ty: &str, action: &'static str) -> ApiRequest {
    am_headers(ApiRequest::post(&nodes_path(realm)).seg(ty)).query_literal(action)
}

/// The error category of the journey tools, from the HTTP status.
pub fn category(e: &TenantError) -> &'static str {
    match e.status() {
        Some(401 | 403) => "unauthorized",
        Some(404) => "not_found",
        Some(400 | 422) => "invalid_request",
        Some(_) => "transient",
        None => match e {
            TenantError::Auth(_) => "unauthorized",
            _ => "transient",
        },
    }
}

/// How many node requests of one call run at once (`AIC_FANOUT_LIMIT`, default 8).
fn fanout_limit() -> usize {
    std::env::var("AIC_FANOUT_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map(|n| n.clamp(1, MAX_FANOUT))
        .unwrap_or(DEFAULT_FANOUT)
}

/// Sends the requests with bounded concurrency; results in request order.
async fn send_all(
    ctx: &CallCtx,
    requests: Vec<ApiRequest>,
) -> Vec<Result<ApiResponse, TenantError>> {
    stream::iter(requests.into_iter().map(|req| {
        let ctx = ctx.clone();
        async move { ctx.send(req).await }
    }))
    .buffered(fanout_limit())
    .collect()
    .await
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RealmArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
}

impl Args for RealmArgs {}

async fn list_journeys(ctx: CallCtx, a: RealmArgs) -> Result<String, String> {
    let realm = a.realm;
    let prefix = format!("Failed to list journeys in realm \"{realm}\"");
    let trees = am_headers(ApiRequest::get(&trees_path(realm)))
        .query("_queryFilter", "true")
        .query("_pageSize", "-1")
        .query("_fields", LIST_FIELDS);
    let config = auth_config(ApiRequest::get(&auth_config_path(realm)));
    let (trees, config) = futures::join!(ctx.send(trees), ctx.send(config));
    let trees = trees.map_err(|e| failure(&prefix, e))?;
    let config = config.map_err(|e| failure(&prefix, e))?;
    let default = config
        .body
        .get("core")
        .and_then(|c| c.get("orgConfig"))
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = match trees.body {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("result".into(), other);
            m
        }
    };
    out.insert("defaultJourney".into(), default);
    Ok(format_success(&Value::Object(out), &trees.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JourneyArgs {
    /// Realm of the journey: alpha or bravo.
    realm: Realm,
    /// The journey's name (its _id), for example "Login".
    #[schemars(length(min = 1))]
    journey_name: String,
}

impl Args for JourneyArgs {
    fn validate(&self) -> validate::Result {
        segment_rule("journeyName", &self.journey_name)
    }
}

/// The request of one read.
fn read_request(realm: Realm, read: &Read) -> ApiRequest {
    match read {
        Read::Schema(ty) => type_action(realm, ty, "_action=schema").json(json!({})),
        Read::Config { id, ty } => node_request(ApiRequest::get, realm, ty, id),
    }
}

/// Runs the reads with bounded concurrency; results in read order.
async fn fetch_all(
    ctx: &CallCtx,
    realm: Realm,
    reads: Vec<Read>,
) -> Vec<(Read, Result<ApiResponse, TenantError>)> {
    let requests = reads.iter().map(|r| read_request(realm, r)).collect();
    let results = send_all(ctx, requests).await;
    reads.into_iter().zip(results).collect()
}

/// Stores the fetched schemas and configs; the first failed schema, else the first failed
/// config, fails the call (in request order, so the report is deterministic).
fn absorb(
    results: Vec<(Read, Result<ApiResponse, TenantError>)>,
    schemas: &mut Map<String, Value>,
    configs: &mut Map<String, Value>,
) -> Result<(), (String, &'static str)> {
    let mut first_schema: Option<(String, &'static str)> = None;
    let mut first_config: Option<(String, &'static str)> = None;
    for (job, r) in results {
        match (job, r) {
            (Read::Schema(ty), Ok(resp)) => {
                schemas.insert(ty, resp.body);
            }
            (Read::Config { id, .. }, Ok(resp)) => {
                configs.insert(id, resp.body);
            }
            (Read::Schema(ty), Err(e)) => {
                if first_schema.is_none() {
                    first_schema =
                        Some((format!("schema for node type \"{ty}\": {e}"), category(&e)));
                }
            }
            (Read::Config { id, ty }, Err(e)) => {
                if first_config.is_none() {
                    first_config = Some((
                        format!("config for node \"{id}\" ({ty}): {e}"),
                        category(&e),
                    ));
                }
            }
        }
    }
    match first_schema.or(first_config) {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

async fn get_journey(ctx: CallCtx, a: JourneyArgs) -> Result<String, String> {
    let (realm, name) = (a.realm, a.journey_name.as_str());
    let fail = |category: &str, err: &dyn std::fmt::Display| {
        format!("Failed to get journey \"{name}\" in realm \"{realm}\" [{category}]: {err}")
    };
    let journey = ctx
        .send(tree_request(ApiRequest::get, realm, name))
        .await
        .map_err(|e| fail(category(&e), &e))?;
    let Some(nodes) = journey
        .body
        .get("nodes")
        .and_then(Value::as_object)
        .filter(|n| !n.is_empty())
    else {
        return Ok(format_success(&journey.body, &journey.transaction_id));
    };
    // Top-level nodes: one schema per distinct type, one config per node.
    let reads = node_reads(nodes).map_err(|e| fail("invalid_request", &e))?;
    let mut schemas = Map::new();
    let mut configs = Map::new();
    let results = fetch_all(&ctx, realm, reads).await;
    absorb(results, &mut schemas, &mut configs).map_err(|(e, c)| fail(c, &e))?;
    // PageNode children, one level.
    let reads =
        page_child_reads(nodes, &configs, &schemas).map_err(|e| fail("invalid_request", &e))?;
    if !reads.is_empty() {
        let results = fetch_all(&ctx, realm, reads).await;
        absorb(results, &mut schemas, &mut configs).map_err(|(e, c)| fail(c, &e))?;
    }
    let mut out = match journey.body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.insert(
        "nodeData".into(),
        json!({"schemas": schemas, "configs": configs}),
    );
    Ok(format_success(&Value::Object(out), &journey.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeTypesArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The node types, for example ["PageNode", "ScriptedDecisionNode"].
    #[schemars(length(min = 1))]
    node_types: Vec<String>,
}

impl Args for NodeTypesArgs {
    fn validate(&self) -> validate::Result {
        if self.node_types.is_empty() {
            return Err(ValidationError::new(
                "nodeTypes",
                "must contain at least 1 node type",
            ));
        }
        if self.node_types.len() > MAX_TYPES {
            return Err(ValidationError::new(
                "nodeTypes",
                format!(
                    "has {} entries; the limit is {MAX_TYPES}",
                    self.node_types.len()
                ),
            ));
        }
        for (i, t) in self.node_types.iter().enumerate() {
            segment_rule(&format!("nodeTypes[{i}]"), t)?;
        }
        Ok(())
    }
}

const TYPE_ACTIONS: [(&str, &str); 3] = [
    ("schema", "_action=schema"),
    ("template", "_action=template"),
    ("outcomes", "_action=listOutcomes"),
];

async fn get_node_type_details(ctx: CallCtx, a: NodeTypesArgs) -> Result<String, String> {
    let realm = a.realm;
    let mut types: Vec<String> = Vec::new();
    for t in a.node_types {
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let jobs: Vec<(usize, usize)> = (0..types.len())
        .flat_map(|t| (0..TYPE_ACTIONS.len()).map(move |k| (t, k)))
        .collect();
    let requests: Vec<ApiRequest> = jobs
        .into_iter()
        .map(|(t, k)| type_action(realm, &types[t], TYPE_ACTIONS[k].1).json(json!({})))
        .collect();
    let results = send_all(&ctx, requests).await;
    let mut out = Map::new();
    let (mut ok, mut failed) = (0, 0);
    let mut results = results.into_iter();
    for ty in &types {
        let mut data: Vec<Value> = Vec::new();
        let mut error: Option<String> = None;
        for (label, _) in TYPE_ACTIONS {
            match results.next() {
                Some(Ok(r)) => data.push(r.body),
                Some(Err(e)) => {
                    if error.is_none() {
                        error = Some(format!("{label}: {e}"));
                    }
                }
                None => {
                    if error.is_none() {
                        error = Some(format!("{label}: no response"));
                    }
                }
            }
        }
        let entry = match error {
            None => {
                ok += 1;
                let mut d = data.into_iter();
                json!({
                    "nodeType": ty,
                    "schema": d.next().unwrap_or(Value::Null),
                    "template": d.next().unwrap_or(Value::Null),
                    "outcomes": d.next().unwrap_or(Value::Null),
                    "error": null,
                })
            }
            Some(e) => {
                failed += 1;
                json!({"nodeType": ty, "schema": null, "template": null, "outcomes": null, "error": e})
            }
        };
        out.insert(ty.clone(), entry);
    }
    Ok(pretty(&json!({
        "realm": realm,
        "results": out,
        "successCount": ok,
        "errorCount": failed,
    })))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DynamicOutcomesArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The node type, for example "PageNode", "ChoiceCollectorNode" or
    /// "ScriptedDecisionNode".
    #[schemars(length(min = 1))]
    node_type: String,
    /// The node configuration to evaluate, for example {"outcomes": ["true", "false"]} for
    /// a ScriptedDecisionNode or {"nodes": [{"nodeType": "ValidatedUsernameNode",
    /// "_properties": {}}]} for a PageNode.
    config: Map<String, Value>,
}

impl Args for DynamicOutcomesArgs {
    fn validate(&self) -> validate::Result {
        segment_rule("nodeType", &self.node_type)
    }
}

async fn get_dynamic_outcomes(ctx: CallCtx, a: DynamicOutcomesArgs) -> Result<String, String> {
    let (realm, ty) = (a.realm, a.node_type.as_str());
    let prefix = format!("Failed to get dynamic outcomes for \"{ty}\" in realm \"{realm}\"");
    let config = with_child_ids(ty, a.config);
    let r = ctx
        .send(type_action(realm, ty, "_action=listOutcomes").json(Value::Object(config)))
        .await
        .map_err(|e| failure(&prefix, e))?;
    Ok(format_success(
        &json!({"realm": realm, "nodeType": ty, "outcomes": r.body}),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

async fn list_node_types(ctx: CallCtx, a: RealmArgs) -> Result<String, String> {
    let realm = a.realm;
    let prefix = format!("Failed to list node types in realm \"{realm}\"");
    let r = ctx
        .send(
            am_headers(ApiRequest::post(&nodes_path(realm)))
                .query_literal("_action=getAllTypes")
                .json(json!({})),
        )
        .await
        .map_err(|e| failure(&prefix, e))?;
    let types = r
        .body
        .get("result")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let count = types.len();
    Ok(format_success(
        &json!({"realm": realm, "nodeTypes": types, "count": count}),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub struct JourneyData {
    /// The id (key in nodes) of the first node, for example "login-page".
    entry_node_id: String,
    /// The nodes, keyed by ids of your choice (UUIDs are kept, other ids replaced).
    #[schemars(with = "HashMap<String, NodeDef>")]
    nodes: Ordered<NodeDef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateJourneyArgs {
    /// Realm of the journey: alpha or bravo.
    realm: Realm,
    /// The journey's name (its _id), for example "PasswordlessLogin". An existing journey
    /// with this name is replaced.
    #[schemars(length(min = 1))]
    journey_name: String,
    /// What the journey is for, shown in the admin console.
    description: Option<String>,
    /// The identity object type the journey signs in, in the form
    /// managed/<realm>_<objectType>, for example "managed/alpha_user".
    identity_resource: Option<String>,
    /// The graph: {"entryNodeId": "<node id>", "nodes": {"<node id>": {"nodeType",
    /// "displayName", "connections", "config"}}}.
    journey_data: JourneyData,
}

fn metadata_rules(
    description: &Option<String>,
    identity_resource: &Option<String>,
) -> validate::Result {
    if let Some(d) = description {
        validate::max_chars("description", d, MAX_TEXT)?;
    }
    if let Some(r) = identity_resource {
        validate::text("identityResource", r, MAX_NAME)?;
    }
    Ok(())
}

impl Args for CreateJourneyArgs {
    fn validate(&self) -> validate::Result {
        segment_rule("journeyName", &self.journey_name)?;
        metadata_rules(&self.description, &self.identity_resource)?;
        graph_rules(
            "journeyData.",
            &self.journey_data.entry_node_id,
            &self.journey_data.nodes,
        )
    }
}

impl CreateJourneyArgs {
    /// Why the call is refused before any request (an invalid graph), if it is.
    fn refusal(&self) -> Option<String> {
        structure_errors(&self.journey_data.entry_node_id, &self.journey_data.nodes)
    }
}

async fn create_journey(ctx: CallCtx, a: CreateJourneyArgs) -> Result<String, String> {
    let (realm, name) = (a.realm, a.journey_name.as_str());
    let data = &a.journey_data;
    if let Some(e) = a.refusal() {
        return Err(e);
    }
    let t = transform(name, &data.entry_node_id, &data.nodes);
    let mut body = t.core;
    if let Some(d) = a.description.as_ref().filter(|d| !d.is_empty()) {
        body.insert("description".into(), Value::String(d.clone()));
    }
    if let Some(r) = a.identity_resource.as_ref().filter(|r| !r.is_empty()) {
        body.insert("identityResource".into(), Value::String(r.clone()));
    }
    let r = ctx
        .send(tree_request(ApiRequest::put, realm, name).json(Value::Object(body)))
        .await
        .map_err(|e| {
            format!(
                "Failed to create journey \"{name}\" [{}]: {e}",
                category(&e)
            )
        })?;
    Ok(format_success(
        &json!({"success": true, "journeyName": name, "nodeIdMapping": t.mapping}),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateJourneyArgs {
    /// Realm of the journey: alpha or bravo.
    realm: Realm,
    /// The journey's name (its _id), for example "Login".
    #[schemars(length(min = 1))]
    journey_name: String,
    /// New description.
    description: Option<String>,
    /// New identity resource, for example "managed/alpha_user".
    identity_resource: Option<String>,
    /// Whether the journey runs even when the user already has a session.
    must_run: Option<bool>,
    /// Whether the journey can only be used inside another journey (InnerTreeEvaluatorNode).
    inner_tree_only: Option<bool>,
    /// New UI configuration; replaces the whole object, for example
    /// {"categories": "[\"Authentication\"]"}.
    ui_config: Option<Map<String, Value>>,
    /// Whether users can run the journey.
    enabled: Option<bool>,
    /// Maximum session time in minutes, for example 120.
    maximum_session_time: Option<Number>,
    /// Maximum idle time in minutes, for example 30.
    maximum_idle_time: Option<Number>,
    /// With nodes: the id (key in nodes) of the new first node.
    entry_node_id: Option<String>,
    /// With entryNodeId: the complete new graph, in createJourney's format.
    #[schemars(with = "Option<HashMap<String, NodeDef>>")]
    #[serde(default)]
    nodes: Option<Ordered<NodeDef>>,
}

/// The ten accepted fields, in the reference's order.
const UPDATE_FIELDS: &str = "description, identityResource, mustRun, innerTreeOnly, uiConfig, enabled, maximumSessionTime, maximumIdleTime, nodes, entryNodeId";

impl Args for UpdateJourneyArgs {
    fn validate(&self) -> validate::Result {
        segment_rule("journeyName", &self.journey_name)?;
        metadata_rules(&self.description, &self.identity_resource)?;
        for (field, n) in [
            ("maximumSessionTime", &self.maximum_session_time),
            ("maximumIdleTime", &self.maximum_idle_time),
        ] {
            if let Some(n) = n {
                if n.as_f64().map(|f| f < 0.0).unwrap_or(true) {
                    return Err(ValidationError::new(
                        field,
                        "must be a number of minutes, 0 or more",
                    ));
                }
            }
        }
        if let Some(entry) = &self.entry_node_id {
            name_rule("entryNodeId", entry)?;
        }
        if let (Some(entry), Some(nodes)) = (&self.entry_node_id, &self.nodes) {
            graph_rules("", entry, nodes)?;
        }
        Ok(())
    }
}

impl UpdateJourneyArgs {
    /// The supplied metadata, in the reference's order.
    fn metadata(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("description", self.description.clone().map(Value::String));
        put(
            "identityResource",
            self.identity_resource.clone().map(Value::String),
        );
        put("mustRun", self.must_run.map(Value::Bool));
        put("innerTreeOnly", self.inner_tree_only.map(Value::Bool));
        put("uiConfig", self.ui_config.clone().map(Value::Object));
        put("enabled", self.enabled.map(Value::Bool));
        put(
            "maximumSessionTime",
            self.maximum_session_time.clone().map(Value::Number),
        );
        put(
            "maximumIdleTime",
            self.maximum_idle_time.clone().map(Value::Number),
        );
        m
    }
}

impl UpdateJourneyArgs {
    /// Why the call is refused before any request (nothing to update, an unpaired graph
    /// field, an invalid graph), if it is.
    fn refusal(&self) -> Option<String> {
        if self.metadata().is_empty() && self.nodes.is_none() && self.entry_node_id.is_none() {
            return Some(format!(
                "No updates provided. Specify at least one of: {UPDATE_FIELDS}"
            ));
        }
        match (&self.nodes, &self.entry_node_id) {
            (Some(_), None) => Some("nodes was given without entryNodeId: a new graph needs both nodes and entryNodeId (the id of its first node).".into()),
            (None, Some(_)) => Some("entryNodeId was given without nodes: the entry node can only change together with the whole graph; pass nodes (the complete graph) as well.".into()),
            (Some(nodes), Some(entry)) => structure_errors(entry, nodes),
            (None, None) => None,
        }
    }
}

async fn update_journey(ctx: CallCtx, a: UpdateJourneyArgs) -> Result<String, String> {
    let (realm, name) = (a.realm, a.journey_name.as_str());
    if let Some(e) = a.refusal() {
        return Err(e);
    }
    let metadata = a.metadata();
    let graph = match (&a.nodes, &a.entry_node_id) {
        (Some(nodes), Some(entry)) => Some(transform(name, entry, nodes)),
        _ => None,
    };
    let fail = |e: TenantError| {
        format!(
            "Failed to update journey \"{name}\" [{}]: {e}",
            category(&e)
        )
    };
    let current = ctx
        .send(tree_request(ApiRequest::get, realm, name))
        .await
        .map_err(fail)?;
    let mut body = match current.body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    body.remove("_rev");
    let mut mapping = None;
    if let Some(t) = graph {
        body.extend(t.core);
        mapping = Some(t.mapping);
    }
    body.extend(metadata);
    let r = ctx
        .send(tree_request(ApiRequest::put, realm, name).json(Value::Object(body)))
        .await
        .map_err(fail)?;
    let mut out = json!({"success": true, "journeyName": name});
    if let (Some(m), Some(o)) = (mapping, out.as_object_mut()) {
        o.insert("nodeIdMapping".into(), Value::Object(m));
    }
    Ok(format_success(&out, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateNodeArgs {
    /// Realm of the node: alpha or bravo.
    realm: Realm,
    /// The node's type, for example "ScriptedDecisionNode".
    #[schemars(length(min = 1))]
    node_type: String,
    /// The node's id (a UUID), for example "5b5a3c7e-8f1d-4a3b-9c2e-1d2f3a4b5c6d".
    #[schemars(extend("format" = "uuid"))]
    node_id: String,
    /// The complete new configuration (full replacement), for example {"outcomes":
    /// ["true", "false"], "script": "<script id>", "inputs": ["*"], "outputs": ["*"]}.
    config: Map<String, Value>,
}

impl Args for UpdateNodeArgs {
    fn validate(&self) -> validate::Result {
        segment_rule("nodeType", &self.node_type)?;
        if !is_uuid(&self.node_id) {
            return Err(ValidationError::new(
                "nodeId",
                format!(
                    "'{}' must be a UUID (8-4-4-4-12 hexadecimal digits)",
                    self.node_id.chars().take(64).collect::<String>()
                ),
            ));
        }
        Ok(())
    }
}

async fn update_journey_node(ctx: CallCtx, a: UpdateNodeArgs) -> Result<String, String> {
    let (realm, ty, id) = (a.realm, a.node_type.as_str(), a.node_id.as_str());
    let fail = |e: TenantError| format!("Failed to update node \"{id}\" [{}]: {e}", category(&e));
    ctx.send(node_request(ApiRequest::get, realm, ty, id))
        .await
        .map_err(fail)?;
    let mut body = Map::new();
    body.insert("_id".into(), Value::String(id.to_string()));
    body.extend(a.config);
    let r = ctx
        .send(node_request(ApiRequest::put, realm, ty, id).json(Value::Object(body)))
        .await
        .map_err(fail)?;
    Ok(format_success(
        &json!({"success": true, "nodeType": ty, "nodeId": id}),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

async fn delete_journey(ctx: CallCtx, a: JourneyArgs) -> Result<String, String> {
    let (realm, name) = (a.realm, a.journey_name.as_str());
    let r = ctx
        .send(tree_request(ApiRequest::delete, realm, name))
        .await
        .map_err(|e| {
            format!(
                "Failed to delete journey \"{name}\" [{}]: {e}",
                category(&e)
            )
        })?;
    Ok(format_success(
        &json!({
            "success": true,
            "journeyName": name,
            "message": format!("Journey \"{name}\" and all its nodes deleted from realm \"{realm}\""),
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub struct NodeRef {
    /// The node's type, for example "MessageNode".
    #[schemars(length(min = 1))]
    node_type: String,
    /// The node's id, for example "5b5a3c7e-8f1d-4a3b-9c2e-1d2f3a4b5c6d".
    #[schemars(length(min = 1))]
    node_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteNodesArgs {
    /// Realm of the nodes: alpha or bravo.
    realm: Realm,
    /// The nodes to delete, for example [{"nodeType": "MessageNode", "nodeId":
    /// "5b5a3c7e-8f1d-4a3b-9c2e-1d2f3a4b5c6d"}].
    #[schemars(length(min = 1))]
    nodes: Vec<NodeRef>,
}

impl Args for DeleteNodesArgs {
    fn validate(&self) -> validate::Result {
        if self.nodes.is_empty() {
            return Err(ValidationError::new(
                "nodes",
                "must contain at least 1 node",
            ));
        }
        if self.nodes.len() > MAX_NODES {
            return Err(ValidationError::new(
                "nodes",
                format!("has {} entries; the limit is {MAX_NODES}", self.nodes.len()),
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            segment_rule(&format!("nodes[{i}].nodeType"), &n.node_type)?;
            segment_rule(&format!("nodes[{i}].nodeId"), &n.node_id)?;
        }
        Ok(())
    }
}

async fn delete_journey_nodes(ctx: CallCtx, a: DeleteNodesArgs) -> Result<String, String> {
    let realm = a.realm;
    let requests: Vec<ApiRequest> = a
        .nodes
        .iter()
        .map(|n| node_request(ApiRequest::delete, realm, &n.node_type, &n.node_id))
        .collect();
    let results = send_all(&ctx, requests).await;
    let (mut ok, mut failed) = (0, 0);
    let rows: Vec<Value> = a
        .nodes
        .iter()
        .zip(results)
        .map(|(n, r)| {
            let error = match r {
                Ok(_) => {
                    ok += 1;
                    Value::Null
                }
                Err(e) => {
                    failed += 1;
                    Value::String(e.to_string())
                }
            };
            json!({
                "nodeType": n.node_type,
                "nodeId": n.node_id,
                "deleted": error.is_null(),
                "error": error,
            })
        })
        .collect();
    Ok(pretty(&json!({
        "realm": realm,
        "results": rows,
        "successCount": ok,
        "errorCount": failed,
    })))
}

// ---------------------------------------------------------------------------------------

async fn set_default_journey(ctx: CallCtx, a: JourneyArgs) -> Result<String, String> {
    let (realm, name) = (a.realm, a.journey_name.as_str());
    let fail = |e: TenantError| format!("Failed to set default journey [{}]: {e}", category(&e));
    let config = ctx
        .send(auth_config(ApiRequest::get(&auth_config_path(realm))))
        .await
        .map_err(fail)?;
    let admin = config
        .body
        .get("core")
        .and_then(|c| c.get("adminAuthModule"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("Login")
        .to_string();
    let r = ctx
        .send(
            auth_config(ApiRequest::put(&auth_config_path(realm)))
                .json(json!({"orgConfig": name, "adminAuthModule": admin})),
        )
        .await
        .map_err(fail)?;
    Ok(format_success(
        &json!({
            "success": true,
            "realm": realm,
            "defaultJourney": name,
            "message": format!("Default journey for realm \"{realm}\" set to \"{name}\""),
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewArgs {
    /// Realm of the journey: alpha or bravo.
    realm: Realm,
    /// The journey to run, for example "Login"; without it the realm's default journey.
    #[schemars(length(min = 1))]
    journey_name: Option<String>,
}

impl Args for PreviewArgs {
    fn validate(&self) -> validate::Result {
        match &self.journey_name {
            Some(n) => segment_rule("journeyName", n),
            None => Ok(()),
        }
    }
}

async fn get_preview_url(ctx: CallCtx, a: PreviewArgs) -> Result<String, String> {
    let realm = a.realm;
    let origin = ctx.inner.session.client().tenant().origin();
    let mut url = format!("{origin}/am/XUI/?realm=/{realm}");
    if let Some(name) = &a.journey_name {
        url.push_str("&authIndexType=service&authIndexValue=");
        url.push_str(&validate::encode_component(name));
    }
    Ok(pretty(&json!({
        "realm": realm,
        "journeyName": a.journey_name.as_deref().unwrap_or("(default)"),
        "previewUrl": url,
    })))
}
