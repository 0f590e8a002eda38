//! Applications / OIDC apps (6 tools, contract §3.8; local mode only). An OIDC app is a
//! pair: the IDM managed object `{realm}_application` (name, owners, `ssoEntities.oidcId`…)
//! and the AM OAuth2 client agent `/am/json/{realm}/realm-config/agents/OAuth2Client/{id}`
//! that `ssoEntities.oidcId` names. The tools that write both halves are not transactional:
//! when the second half fails after the first was written, the result says exactly what
//! was changed and what to do.

mod shape;
pub(super) mod tracking;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use self::shape::{
    application_schema, create_payload, filter_sections, merge_client, name_filter,
    summarize_client_schema, targets_sso_entities,
};
use super::common::{
    am_headers, filter_or_all, some_value, stored_segment, AM_IDM, CONFIG_MANAGED, IDM,
};
use super::{failure, format_success, pretty, tool, Args, CallCtx, Hints, Meta, Realm, ToolDef};
use crate::tenant::{ApiRequest, ApiResponse, TenantError};
use crate::validate::{self, ValidationError};

/// Fields of `listOidcApps`, sent literally (commas unencoded).
const LIST_FIELDS: &str = "_fields=name,ssoEntities,templateName,authoritative,_id";
/// Fields of the lookup by name in `getOidcApp`.
const ALL_FIELDS: &str = "_fields=*";
/// Fields of the lookup by name in `updateOidcApp` and `deleteOidcApp`.
const LINK_FIELDS: &str = "_fields=_id,ssoEntities";
/// Longest application name or client id accepted.
const MAX_NAME: usize = 256;
/// Longest caller query filter of `listOidcApps` (the IDM managed-object query's limit).
const MAX_FILTER: usize = 1000;
/// Longest patch field path.
const MAX_FIELD: usize = 512;
/// Most section names `getOidcAppSchema` accepts.
const MAX_SECTIONS: usize = 50;

/// Create: adds a client and an application, changes nothing that exists (D− OW). The
/// reference declares no destructive hint here, so clients assume destructive; this is
/// the deliberate fix "OIDC write tools carry correct annotations".
const CREATE: Hints = Hints::ADDITIVE;

const NOTHING_TO_UPDATE: &str =
    "Nothing to update: provide oauth2Client, managedApplication, or both.";

/// The family's tools, in registration order.
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "createOidcApp",
                title: "Create OIDC App",
                description: "Create an OIDC application: an AM OAuth2 client with the given clientId, then the IDM application (realm_application object) that links to it, with the given name and owners. Call getOidcAppSchema first to see the client settings. Only supply the client fields you want to set; AM fills in the rest with its defaults. Client settings go inside their section and use AM's wrapper format {\"inherited\": false, \"value\": ...}, for example {\"coreOAuth2ClientConfig\": {\"redirectionUris\": {\"inherited\": false, \"value\": [\"https://app.example.com/callback\"]}, \"scopes\": {\"inherited\": false, \"value\": [\"openid\", \"profile\"]}}}. The client name defaults to the application name. Fails, changing nothing, if a client with this clientId already exists. The two steps are not one transaction: if the application cannot be created after the client was, the result says so and how to finish.",
                scopes: AM_IDM,
                hints: CREATE,
                container: false,
            },
            create_app,
        ),
        tool(
            Meta {
                name: "deleteOidcApp",
                title: "Delete OIDC App",
                description: "Delete an OIDC application found by its exact name: first the IDM application object, then the AM OAuth2 client it links to (ssoEntities.oidcId), if any. Users lose access through this client at once. This cannot be undone. If the client cannot be deleted after the application was, the result says so.",
                scopes: AM_IDM,
                hints: Hints::DESTRUCTIVE,
                container: false,
            },
            delete_app,
        ),
        tool(
            Meta {
                name: "getOidcAppSchema",
                title: "Get OIDC App Schema",
                description: "Get the schema of an OIDC application's two halves: the AM OAuth2 client configuration (sections such as coreOAuth2ClientConfig, advancedOAuth2ClientConfig, coreOpenIDClientConfig and signEncOAuth2ClientConfig) and the IDM application object (its properties; name and owners are required). Compact by default (summary=true): each client setting with its title, type and allowed values. summary=false returns the full JSON schema, optionally limited to some sections, and includeDefaults=true then adds AM's default client configuration. Call this before createOidcApp or updateOidcApp.",
                scopes: AM_IDM,
                hints: Hints::READ,
                container: false,
            },
            get_schema,
        ),
        tool(
            Meta {
                name: "getOidcApp",
                title: "Get OIDC App",
                description: "Read an OIDC application found by its exact name: the IDM application object (owners, template, ssoEntities…) and the AM OAuth2 client it links to (ssoEntities.oidcId) with its full configuration. oauth2Client is null when the application links to no client or the client cannot be read (oauth2ClientError then says why). Use listOidcApps to find names.",
                scopes: AM_IDM,
                hints: Hints::READ,
                container: false,
            },
            get_app,
        ),
        tool(
            Meta {
                name: "listOidcApps",
                title: "List OIDC Apps",
                description: "List the applications of a realm with their name, _id, templateName, authoritative flag and ssoEntities. This lists every application type in the realm, not only OIDC ones: an OIDC application has ssoEntities.oidcId (its OAuth2 client id); SAML and other applications have other or no ssoEntities. An optional CREST filter narrows the list, for example name sw \"Cust\" or templateName eq \"web\".",
                scopes: IDM,
                hints: Hints::READ,
                container: false,
            },
            list_apps,
        ),
        tool(
            Meta {
                name: "updateOidcApp",
                title: "Update OIDC App",
                description: "Update an OIDC application found by its exact name: merge settings into its AM OAuth2 client and/or patch its IDM application object. oauth2Client holds only the settings to change, per section, in AM's wrapper format, for example {\"coreOAuth2ClientConfig\": {\"redirectionUris\": {\"inherited\": false, \"value\": [\"https://app.example.com/callback\"]}}}; a setting given replaces that setting (its whole {inherited, value}), settings not given keep their values. The client is written with its current revision, so a concurrent change makes the update fail rather than be lost. managedApplication patches the IDM object with its current _rev (from getOidcApp), for example {\"_rev\": \"3\", \"operations\": [{\"operation\": \"replace\", \"field\": \"/description\", \"value\": \"Customer portal\"}]}; operations on ssoEntities (the link to the client) are ignored. The client is updated first; the result says exactly what was changed if the application patch then fails. Call getOidcAppSchema for the settings.",
                scopes: AM_IDM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: false,
            },
            update_app,
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Shared helpers

fn yes() -> bool {
    true
}

/// An application name: looked up with a built filter, and the name of new applications.
/// Held to the safe-segment rule as well, so that names stay usable everywhere.
fn name_rule(field: &str, value: &str) -> validate::Result {
    validate::segment(field, value, MAX_NAME)
}

/// A client configuration given by the caller: AM's own keys (`_id`, `_rev`, `_type`)
/// are set by AM and refused here.
fn client_config_rule(field: &str, config: &Map<String, Value>) -> validate::Result {
    for key in ["_id", "_rev", "_type"] {
        if config.contains_key(key) {
            return Err(ValidationError::new(
                format!("{field}.{key}"),
                "is set by AM; leave it out",
            ));
        }
    }
    Ok(())
}

/// `/am/json/{realm}/realm-config/agents/OAuth2Client`.
fn agents_path(realm: Realm) -> String {
    format!("/am/json/{realm}/realm-config/agents/OAuth2Client")
}

fn client_request(method: fn(&str) -> ApiRequest, realm: Realm, client_id: &str) -> ApiRequest {
    am_headers(method(&agents_path(realm)).seg(client_id))
}

fn applications_path(realm: Realm) -> String {
    format!("/openidm/managed/{realm}_application")
}

/// The application found by name.
struct Found {
    id: String,
    /// `ssoEntities.oidcId`, when it is a non-empty string.
    client_id: Option<String>,
    record: Value,
    transaction_id: Option<String>,
}

fn not_found(name: &str, realm: Realm) -> String {
    format!("No application found with name \"{name}\" in realm \"{realm}\".")
}

/// The linked client id of an application record.
fn linked_client(record: &Value) -> Option<String> {
    record
        .get("ssoEntities")
        .and_then(|s| s.get("oidcId"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// GET `/openidm/managed/{realm}_application?_queryFilter=name eq "<name>"&<fields>`; the
/// first result wins.
async fn lookup(
    ctx: &CallCtx,
    realm: Realm,
    name: &str,
    fields: &'static str,
    prefix: &str,
) -> Result<Found, String> {
    let r = ctx
        .send(
            ApiRequest::get(&applications_path(realm))
                .query_component("_queryFilter", &name_filter(name))
                .query_literal(fields),
        )
        .await
        .map_err(|e| failure(prefix, e))?;
    let record = r
        .body
        .get("result")
        .and_then(Value::as_array)
        .and_then(|list| list.first())
        .cloned()
        .ok_or_else(|| not_found(name, realm))?;
    let id = record
        .get("_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            failure(
                prefix,
                format!("the application \"{name}\" was returned without an _id"),
            )
        })?;
    Ok(Found {
        id,
        client_id: linked_client(&record),
        record,
        transaction_id: r.transaction_id,
    })
}

fn tx_json(tx: &Option<String>) -> Value {
    tx.clone().map(Value::String).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// true (default): a compact list of every client setting (title, type, allowed
    /// values) per section, and the application's properties with whether each is
    /// required. false: the full JSON schemas.
    #[serde(default = "yes")]
    #[schemars(extend("default" = true))]
    summary: bool,
    /// With summary=false: only these sections of the client schema, for example
    /// ["coreOAuth2ClientConfig", "coreOpenIDClientConfig"]. Ignored in summary mode.
    #[schemars(length(max = 50))]
    sections: Option<Vec<String>>,
    /// With summary=false: also return AM's default client configuration (the values a
    /// new client gets for settings not given).
    #[serde(default)]
    #[schemars(extend("default" = false))]
    include_defaults: bool,
}

impl Args for SchemaArgs {
    fn validate(&self) -> validate::Result {
        if let Some(sections) = &self.sections {
            if sections.len() > MAX_SECTIONS {
                return Err(ValidationError::new(
                    "sections",
                    format!(
                        "has {} entries; the limit is {MAX_SECTIONS}",
                        sections.len()
                    ),
                ));
            }
            for (i, s) in sections.iter().enumerate() {
                let field = format!("sections[{i}]");
                validate::text(&field, s, MAX_NAME)?;
            }
        }
        Ok(())
    }
}

async fn get_schema(ctx: CallCtx, a: SchemaArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to get OIDC app schema";
    let realm = a.realm;
    let with_template = !a.summary && a.include_defaults;
    let mut requests = vec![am_headers(ApiRequest::post(&agents_path(realm)))
        .query_literal("_action=schema")
        .json(json!({}))];
    if with_template {
        requests.push(
            am_headers(ApiRequest::post(&agents_path(realm)))
                .query_literal("_action=template")
                .json(json!({})),
        );
    }
    requests.push(ApiRequest::get(CONFIG_MANAGED));
    // One scoped token, two or three concurrent requests, results in this fixed order.
    let results: Vec<ApiResponse> =
        futures::future::join_all(requests.into_iter().map(|r| ctx.send(r)))
            .await
            .into_iter()
            .collect::<Result<_, TenantError>>()
            .map_err(|e| failure(PREFIX, e))?;
    let mut results = results.into_iter();
    let (Some(schema), template, Some(config)) = (
        results.next(),
        if with_template { results.next() } else { None },
        results.next(),
    ) else {
        return Err(failure(PREFIX, "a schema request did not run"));
    };
    let client_schema = if a.summary {
        summarize_client_schema(&schema.body)
    } else {
        match &a.sections {
            Some(sections) => filter_sections(&schema.body, sections),
            None => schema.body.clone(),
        }
    };
    let mut oauth2_client = Map::new();
    oauth2_client.insert("schema".into(), client_schema);
    if let Some(t) = template {
        oauth2_client.insert("template".into(), t.body);
    }
    let out = json!({
        "oauth2Client": oauth2_client,
        "managedApplication": {
            "schema": application_schema(&config.body, realm, a.summary),
            "required": ["name", "owners"],
        },
    });
    Ok(format_success(&out, &schema.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// CREST filter on the applications, for example name sw "Cust" or
    /// ssoEntities/oidcId pr (only applications linked to an OAuth2 client). Omitted:
    /// every application of the realm.
    #[schemars(length(max = 1000))]
    query_filter: Option<String>,
}

impl Args for ListArgs {
    fn validate(&self) -> validate::Result {
        if let Some(f) = &self.query_filter {
            validate::text("queryFilter", f, MAX_FILTER)?;
        }
        Ok(())
    }
}

async fn list_apps(ctx: CallCtx, a: ListArgs) -> Result<String, String> {
    let filter = filter_or_all(a.query_filter.as_deref());
    let r = ctx
        .send(
            ApiRequest::get(&applications_path(a.realm))
                .query_component("_queryFilter", filter)
                .query_literal(LIST_FIELDS),
        )
        .await
        .map_err(|e| failure("Failed to list OIDC apps", e))?;
    Ok(format_success(&r.body, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppNameArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The application's exact name, as listOidcApps shows it, for example
    /// "Customer Portal".
    #[schemars(length(min = 1, max = 256))]
    name: String,
}

impl Args for AppNameArgs {
    fn validate(&self) -> validate::Result {
        name_rule("name", &self.name)
    }
}

async fn get_app(ctx: CallCtx, a: AppNameArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to get OIDC app";
    let realm = a.realm;
    let found = lookup(&ctx, realm, &a.name, ALL_FIELDS, PREFIX).await?;
    let mut out = Map::new();
    let mut client = Value::Null;
    let mut am_tx = None;
    let mut am_error = None;
    if let Some(client_id) = &found.client_id {
        match stored_segment("client id", client_id) {
            Err(e) => am_error = Some(e),
            Ok(()) => match ctx
                .send(client_request(ApiRequest::get, realm, client_id))
                .await
            {
                Ok(r) => {
                    client = r.body;
                    am_tx = Some(tx_json(&r.transaction_id));
                }
                Err(e) => {
                    am_error = Some(format!(
                        "the linked OAuth2 client \"{client_id}\" could not be read: {e}"
                    ))
                }
            },
        }
    }
    out.insert("oauth2Client".into(), client);
    out.insert("managedApplication".into(), found.record);
    out.insert("idmTransactionId".into(), tx_json(&found.transaction_id));
    if let Some(tx) = am_tx {
        out.insert("amTransactionId".into(), tx);
    }
    if let Some(e) = am_error {
        out.insert("oauth2ClientError".into(), Value::String(e));
    }
    Ok(pretty(&Value::Object(out)))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The application's name, unique in the realm, for example "Customer Portal"; also
    /// the client's display name unless oauth2Client sets coreOAuth2ClientConfig.clientName.
    #[schemars(length(min = 1, max = 256))]
    name: String,
    /// The new OAuth2 client's id (used in OAuth requests as client_id), for example
    /// "customer-portal". No '/', '\' or '..'.
    #[schemars(length(min = 1, max = 256))]
    client_id: String,
    /// The application's owners, at least one, as references to users, for example
    /// [{"_ref": "managed/alpha_user/<user _id>"}].
    #[schemars(length(min = 1))]
    owners: Vec<Map<String, Value>>,
    /// Client settings to set, per section, in AM's wrapper format, for example
    /// {"coreOAuth2ClientConfig": {"redirectionUris": {"inherited": false, "value":
    /// ["https://app.example.com/callback"]}, "clientType": {"inherited": false, "value":
    /// "Confidential"}}}. Omitted settings take AM's defaults (see getOidcAppSchema).
    oauth2_client: Option<Map<String, Value>>,
}

impl Args for CreateArgs {
    fn validate(&self) -> validate::Result {
        name_rule("name", &self.name)?;
        // The client id is a path segment of every AM request (contract §4.1).
        validate::segment("clientId", &self.client_id, MAX_NAME)?;
        if self.owners.is_empty() {
            return Err(ValidationError::new("owners", "needs at least one owner"));
        }
        for (i, owner) in self.owners.iter().enumerate() {
            match owner.get("_ref") {
                Some(Value::String(r)) if !r.trim().is_empty() => {}
                _ => {
                    return Err(ValidationError::new(
                        format!("owners[{i}]._ref"),
                        "is required: a reference such as \"managed/alpha_user/<user _id>\"",
                    ))
                }
            }
        }
        if let Some(config) = &self.oauth2_client {
            client_config_rule("oauth2Client", config)?;
            if let Some(core) = config.get("coreOAuth2ClientConfig") {
                if !core.is_object() {
                    return Err(ValidationError::new(
                        "oauth2Client.coreOAuth2ClientConfig",
                        "must be an object of settings",
                    ));
                }
            }
        }
        Ok(())
    }
}

async fn create_app(ctx: CallCtx, a: CreateArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to create OIDC app";
    let realm = a.realm;
    let client = ctx
        .send(
            client_request(ApiRequest::put, realm, &a.client_id)
                .if_none_match_any()
                .json(create_payload(a.oauth2_client.as_ref(), &a.name)),
        )
        .await
        .map_err(|e| failure(PREFIX, e))?;
    let application = json!({
        "name": a.name,
        "owners": a.owners,
        "ssoEntities": {"oidcId": a.client_id},
        "templateName": "custom",
        "templateVersion": "1.0",
    });
    let app = ctx
        .send(
            ApiRequest::post(&applications_path(realm))
                .query_literal("_action=create")
                .json(application.clone()),
        )
        .await
        .map_err(|e| {
            failure(
                PREFIX,
                format!(
                    "partly done. The AM OAuth2 client \"{client}\" was created in realm \"{realm}\", but the IDM application \"{name}\" (type {realm}_application) could not be created, so the client exists without a linked application (no rollback). To finish, create the application with createManagedObject (objectType \"{realm}_application\", objectData {data}); or delete the client \"{client}\" in the AM admin console before calling createOidcApp again (a client with this id now exists, so a new createOidcApp with it fails). IDM error: {e}",
                    client = a.client_id,
                    name = a.name,
                    data = application,
                ),
            )
        })?;
    Ok(format_success(
        &json!({"oauth2Client": client.body, "managedApplication": app.body}),
        &app.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum AppPatchOp {
    Add,
    Remove,
    Replace,
}

// One patch operation on the IDM application, sent as given. Not a doc comment: schemars
// would publish it in the tool's schema.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct AppOperation {
    /// add, remove or replace.
    operation: AppPatchOp,
    /// Path of the application property, for example /description or /owners/-
    /// (ssoEntities cannot be changed here).
    field: String,
    /// The value (add, replace).
    #[serde(
        default,
        deserialize_with = "some_value",
        skip_serializing_if = "Option::is_none"
    )]
    value: Option<Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct ManagedApplicationUpdate {
    /// The application's current _rev, from getOidcApp, for example "3".
    #[serde(rename = "_rev")]
    #[schemars(length(min = 1))]
    rev: String,
    /// The patch operations, applied in order, for example [{"operation": "replace",
    /// "field": "/description", "value": "Customer portal"}].
    operations: Vec<AppOperation>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateArgs {
    /// Realm: alpha or bravo.
    realm: Realm,
    /// The application's exact name, as listOidcApps shows it, for example
    /// "Customer Portal".
    #[schemars(length(min = 1, max = 256))]
    name: String,
    /// Client settings to change, per section, in AM's wrapper format, for example
    /// {"coreOAuth2ClientConfig": {"scopes": {"inherited": false, "value": ["openid",
    /// "profile", "email"]}}}. Each setting given replaces the current one; the others
    /// are kept.
    oauth2_client: Option<Map<String, Value>>,
    /// Patch of the IDM application object: its current _rev and the operations, for
    /// example {"_rev": "3", "operations": [{"operation": "replace", "field":
    /// "/description", "value": "Customer portal"}]}.
    managed_application: Option<ManagedApplicationUpdate>,
}

impl Args for UpdateArgs {
    fn validate(&self) -> validate::Result {
        name_rule("name", &self.name)?;
        if let Some(config) = &self.oauth2_client {
            client_config_rule("oauth2Client", config)?;
        }
        if let Some(m) = &self.managed_application {
            let field = "managedApplication._rev";
            if m.rev.trim().is_empty() {
                return Err(ValidationError::new(
                    field,
                    "must not be empty or whitespace only",
                ));
            }
            validate::text(field, &m.rev, MAX_NAME)?;
            for (i, op) in m.operations.iter().enumerate() {
                let field = format!("managedApplication.operations[{i}].field");
                if op.field.trim_start_matches('/').trim().is_empty() {
                    return Err(ValidationError::new(
                        &field,
                        "must name a property of the application, for example /description",
                    ));
                }
                validate::text(&field, &op.field, MAX_FIELD)?;
            }
        }
        Ok(())
    }
}

impl UpdateArgs {
    /// The application patch operations sent, and those ignored (on ssoEntities).
    fn operations(&self) -> (Vec<&AppOperation>, Vec<&AppOperation>) {
        self.managed_application
            .as_ref()
            .map(|m| {
                m.operations
                    .iter()
                    .partition(|op| !targets_sso_entities(&op.field))
            })
            .unwrap_or_default()
    }

    /// Why the call is refused before any request (nothing to update), if it is.
    fn refusal(&self) -> Option<String> {
        if self.oauth2_client.is_none() && self.managed_application.is_none() {
            return Some(NOTHING_TO_UPDATE.into());
        }
        let (kept, ignored) = self.operations();
        (self.oauth2_client.is_none() && kept.is_empty()).then(|| {
            format!(
                "Nothing to update: managedApplication has no operations to apply{}. Nothing was sent.",
                if ignored.is_empty() {
                    ""
                } else {
                    " (operations on ssoEntities, the link to the OAuth2 client, are ignored)"
                }
            )
        })
    }
}

async fn update_app(ctx: CallCtx, a: UpdateArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to update OIDC app";
    let realm = a.realm;
    let name = a.name.as_str();
    if let Some(e) = a.refusal() {
        return Err(e);
    }
    let (kept, ignored) = a.operations();
    let found = lookup(&ctx, realm, name, LINK_FIELDS, PREFIX).await?;
    if !kept.is_empty() {
        // Checked before anything is written.
        stored_segment("application _id", &found.id).map_err(|e| failure(PREFIX, e))?;
    }
    let mut out = Map::new();
    let mut client_note = None;
    if let Some(update) = &a.oauth2_client {
        let Some(client_id) = found.client_id.as_deref() else {
            return Err(format!(
                "Cannot update the OAuth2 client: application \"{name}\" in realm \"{realm}\" has no linked client ID (ssoEntities.oidcId is not set). Nothing was changed."
            ));
        };
        stored_segment("client id", client_id).map_err(|e| failure(PREFIX, e))?;
        let current = ctx
            .send(client_request(ApiRequest::get, realm, client_id))
            .await
            .map_err(|e| failure(PREFIX, e))?;
        let Value::Object(current) = current.body else {
            return Err(failure(
                PREFIX,
                format!("the OAuth2 client \"{client_id}\" was not returned as a JSON object; nothing was changed"),
            ));
        };
        let rev = match current.get("_rev") {
            Some(Value::String(r)) if !r.is_empty() => r.clone(),
            _ => {
                return Err(failure(
                    PREFIX,
                    format!("the OAuth2 client \"{client_id}\" was read without a _rev, so it cannot be written safely (If-Match); nothing was changed"),
                ))
            }
        };
        let put = ctx
            .send(
                client_request(ApiRequest::put, realm, client_id)
                    .if_match(&rev)
                    .json(merge_client(current, update)),
            )
            .await
            .map_err(|e| failure(PREFIX, e))?;
        out.insert("oauth2Client".into(), put.body);
        out.insert("amTransactionId".into(), tx_json(&put.transaction_id));
        client_note = Some(client_id.to_string());
    }
    if let (Some(m), false) = (&a.managed_application, kept.is_empty()) {
        let ops = serde_json::to_value(&kept).map_err(|e| failure(PREFIX, e))?;
        let patched = ctx
            .send(
                ApiRequest::patch(&applications_path(realm))
                    .seg(&found.id)
                    .if_match(&m.rev)
                    .json(ops),
            )
            .await
            .map_err(|e| match &client_note {
                Some(client_id) => failure(
                    PREFIX,
                    format!(
                        "partly done. The AM OAuth2 client \"{client_id}\" was updated, but patching the IDM application \"{name}\" ({id}) failed, so the application was not changed. Read the application's current _rev with getOidcApp and call updateOidcApp again with only managedApplication. IDM error: {e}",
                        id = found.id
                    ),
                ),
                None => failure(PREFIX, e),
            })?;
        out.insert("managedApplication".into(), patched.body);
        out.insert("idmTransactionId".into(), tx_json(&patched.transaction_id));
    }
    if !ignored.is_empty() {
        out.insert(
            "ignoredOperations".into(),
            json!({
                "fields": ignored.iter().map(|op| op.field.clone()).collect::<Vec<_>>(),
                "reason": "ssoEntities links the application to its OAuth2 client and is not changed by updateOidcApp",
            }),
        );
    }
    Ok(pretty(&Value::Object(out)))
}

// ---------------------------------------------------------------------------------------

async fn delete_app(ctx: CallCtx, a: AppNameArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to delete OIDC app";
    let realm = a.realm;
    let found = lookup(&ctx, realm, &a.name, LINK_FIELDS, PREFIX).await?;
    // Both path segments are checked before anything is deleted.
    stored_segment("application _id", &found.id).map_err(|e| failure(PREFIX, e))?;
    if let Some(client_id) = &found.client_id {
        stored_segment("client id", client_id).map_err(|e| failure(PREFIX, e))?;
    }
    let idm = ctx
        .send(ApiRequest::delete(&applications_path(realm)).seg(&found.id))
        .await
        .map_err(|e| failure(PREFIX, e))?;
    let mut deleted = vec![Value::String(format!(
        "IDM managed application ({})",
        found.id
    ))];
    let mut last_tx = idm.transaction_id;
    if let Some(client_id) = &found.client_id {
        let r = ctx
            .send(client_request(ApiRequest::delete, realm, client_id))
            .await
            .map_err(|e| {
                failure(
                    PREFIX,
                    format!(
                        "partly done. The IDM application \"{name}\" ({id}) was deleted from realm \"{realm}\", but deleting its AM OAuth2 client \"{client_id}\" failed, so the client still exists without an application. deleteOidcApp can no longer find it (it looks applications up by name): delete the client \"{client_id}\" in the AM admin console. AM error: {e}",
                        name = a.name,
                        id = found.id,
                    ),
                )
            })?;
        deleted.push(Value::String(format!("AM OAuth2Client ({client_id})")));
        last_tx = r.transaction_id;
    }
    Ok(format_success(&json!({"deleted": deleted}), &last_tx))
}
