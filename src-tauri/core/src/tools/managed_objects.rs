//! Managed objects (11 tools, contract §3.2): IDM managed object instances, their type
//! definitions in `/openidm/config/managed`, and relationship properties through the IDM
//! schema service.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::common::{filter_or_all, plain_text, some_value, NoArgs, CONFIG_MANAGED, IDM};
use super::{failure, format_success, pretty, tool, Args, CallCtx, Hints, Meta, ToolDef};
use crate::tenant::{ApiRequest, TenantError};
use crate::validate;

/// The family's tools, in registration order.
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "createManagedObjectDefinition",
                title: "Create Managed Object Definition",
                description: "Create a new managed object type (definition) in the IDM managed configuration, for example a custom 'alpha_device' type. Inspect an existing type first with getManagedObjectSchema(includeFullDefinition=true) and model the new definition on it (schema with properties and required fields). Fails without changing anything if the type already exists; use patchManagedObjectDefinition to change an existing type.",
                scopes: IDM,
                hints: Hints::ADDITIVE,
                container: true,
            },
            create_definition,
        ),
        tool(
            Meta {
                name: "createManagedObject",
                title: "Create Managed Object",
                description: "Create one managed object (for example a user, role, group or organization) of the given type. The data must include every field that the type's schema marks as required; call getManagedObjectSchema first to see them. Returns the new object's _id.",
                scopes: IDM,
                hints: Hints::ADDITIVE,
                container: true,
            },
            create_object,
        ),
        tool(
            Meta {
                name: "deleteManagedObjectDefinition",
                title: "Delete Managed Object Definition",
                description: "Delete a managed object type (definition) from the IDM managed configuration. Refuses, changing nothing, while relationship properties of other types still point at it; fix those first with patchManagedObjectRelationship. Existing objects of the type become unreachable.",
                scopes: IDM,
                hints: Hints::DESTRUCTIVE,
                container: true,
            },
            delete_definition,
        ),
        tool(
            Meta {
                name: "deleteManagedObject",
                title: "Delete Managed Object",
                description: "Delete one managed object by its _id. This cannot be undone.",
                scopes: IDM,
                hints: Hints::DESTRUCTIVE,
                container: true,
            },
            delete_object,
        ),
        tool(
            Meta {
                name: "getManagedObjectSchema",
                title: "Get Managed Object Schema",
                description: "Show a managed object type's schema: by default a concise view with its required fields and properties. With includeFullDefinition=true, the whole definition, including script hooks (onCreate, onUpdate…), lifecycle settings and notifications. Call this before querying, creating or patching objects of a type.",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            get_schema,
        ),
        tool(
            Meta {
                name: "getManagedObject",
                title: "Get Managed Object",
                description: "Read one managed object by type and _id. The result includes _rev, which patchManagedObject needs.",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            get_object,
        ),
        tool(
            Meta {
                name: "listManagedObjects",
                title: "List Managed Objects",
                description: "List the names of all managed object types defined in the tenant (for example alpha_user, alpha_role, bravo_group). Use these names as objectType in the other managed object tools.",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            list_types,
        ),
        tool(
            Meta {
                name: "patchManagedObjectDefinition",
                title: "Patch Managed Object Definition",
                description: "Change a managed object type's definition with add, remove or replace operations. Each field path addresses the type's own definition and starts with '/', for example /schema/properties/email or /schema/required — not the whole managed configuration. Relationship properties cannot be changed here: use patchManagedObjectRelationship for them.",
                scopes: IDM,
                hints: Hints::ADDITIVE,
                container: true,
            },
            patch_definition,
        ),
        tool(
            Meta {
                name: "patchManagedObjectRelationship",
                title: "Patch Managed Object Relationship",
                description: "Add, update or remove a relationship property of a managed object type through the IDM schema service. Only properties whose name starts with 'custom_' can be changed. For add and update, supply the complete property definition; get an example from getManagedObjectSchema(includeFullDefinition=true) on a type that has relationships (for example alpha_user's 'manager' or 'roles').",
                scopes: IDM,
                hints: Hints::DESTRUCTIVE,
                container: true,
            },
            patch_relationship,
        ),
        tool(
            Meta {
                name: "patchManagedObject",
                title: "Patch Managed Object",
                description: "Apply patch operations to one managed object, with optimistic concurrency: revision must be the object's current _rev (from getManagedObject); a stale revision fails and changes nothing. Each operation has a field that is a JSON-pointer-style path such as /mail or /givenName; add, replace and test need a value; move and copy need from.",
                scopes: IDM,
                hints: Hints::ADDITIVE,
                container: true,
            },
            patch_object,
        ),
        tool(
            Meta {
                name: "queryManagedObjects",
                title: "Query Managed Objects",
                description: "Query managed objects of a type with a CREST query filter, paging, sorting and field selection. Call getManagedObjectSchema first to learn the field names. Filter operators: eq, co (contains), sw (starts with), gt, ge, lt, le, pr (present), ! (not), combined with and / or and parentheses; strings in double quotes, for example userName sw \"b\" and accountStatus eq \"active\". Without a filter, all objects are returned up to the page size. sortKeys is a comma-separated list, '-' for descending (-userName); fields is a comma-separated list (userName,mail). Syntax: https://backstage.forgerock.com/docs/idm/7/crest/crest-query.html",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            query_objects,
        ),
    ]
}

/// `objectType` of every tool that takes a managed object type: a type name (IDM's
/// identifier grammar), so nothing but a type can reach the path.
fn object_type_rule(value: &str) -> validate::Result {
    validate::managed_type("objectType", value)
}

/// `/openidm/managed/{objectType}`: the objects of one type.
fn type_request(method: fn(&str) -> ApiRequest, object_type: &str) -> ApiRequest {
    method("/openidm/managed").seg(object_type)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDefinitionArgs {
    /// Name of the new managed object type, letters, digits and underscores only; by
    /// convention prefixed with the realm, for example "alpha_device".
    #[schemars(pattern(r"^[a-zA-Z0-9_]+$"))]
    object_name: String,
    /// The type definition, for example {"schema": {"title": "Device", "type": "object",
    /// "required": ["serialNumber"], "properties": {"serialNumber": {"type": "string"}}}}.
    /// Its name is set from objectName.
    object_definition: Map<String, Value>,
}

impl Args for CreateDefinitionArgs {
    fn validate(&self) -> validate::Result {
        validate::identifier("objectName", &self.object_name)
    }
}

async fn managed_config(ctx: &CallCtx) -> Result<(Value, Option<String>), TenantError> {
    let r = ctx.send(ApiRequest::get(CONFIG_MANAGED)).await?;
    Ok((r.body, r.transaction_id))
}

fn objects(config: &Value) -> &[Value] {
    config
        .get("objects")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn type_names(config: &Value) -> Vec<String> {
    objects(config)
        .iter()
        .filter_map(|o| o.get("name").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn not_found(name: &str, config: &Value) -> String {
    let names = type_names(config);
    let list = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    format!("Managed object type '{name}' not found. Available types: {list}")
}

fn find_by_name<'a>(config: &'a Value, name: &str) -> Option<(usize, &'a Value)> {
    objects(config)
        .iter()
        .enumerate()
        .find(|(_, o)| o.get("name").and_then(Value::as_str) == Some(name))
}

async fn create_definition(ctx: CallCtx, a: CreateDefinitionArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to create managed object definition";
    let (config, _) = managed_config(&ctx).await.map_err(|e| failure(PREFIX, e))?;
    if find_by_name(&config, &a.object_name).is_some() {
        return Err(format!(
            "Managed object type '{}' already exists. Use patchManagedObjectDefinition to change it, or choose a different name.",
            a.object_name
        ));
    }
    let mut value = a.object_definition.clone();
    value.insert("name".into(), Value::String(a.object_name.clone()));
    let value = Value::Object(value);
    let body = json!([{"operation": "add", "field": "/objects/-", "value": value}]);
    let r = ctx
        .send(ApiRequest::patch(CONFIG_MANAGED).if_match("*").json(body))
        .await
        .map_err(|e| failure(PREFIX, e))?;
    let definition = find_by_name(&r.body, &a.object_name)
        .map(|(_, d)| d.clone())
        .unwrap_or(value);
    Ok(format_success(
        &json!({
            "message": format!("Created managed object definition '{}'", a.object_name),
            "name": a.object_name,
            "definition": definition,
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateObjectArgs {
    /// Managed object type, for example alpha_user, bravo_user, alpha_role, bravo_role,
    /// alpha_group, bravo_group, alpha_organization or bravo_organization. Not an
    /// exhaustive list: listManagedObjects gives every type.
    #[schemars(length(min = 1))]
    object_type: String,
    /// The new object's fields, including every required field of the type's schema,
    /// for example {"userName": "bjensen", "givenName": "Barbara", "sn": "Jensen",
    /// "mail": "bjensen@example.com"}.
    object_data: Map<String, Value>,
}

impl Args for CreateObjectArgs {
    fn validate(&self) -> validate::Result {
        object_type_rule(&self.object_type)
    }
}

async fn create_object(ctx: CallCtx, a: CreateObjectArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to create managed object";
    let r = ctx
        .send(
            type_request(ApiRequest::post, &a.object_type)
                .query_literal("_action=create")
                .json(Value::Object(a.object_data)),
        )
        .await
        .map_err(|e| failure(PREFIX, e))?;
    let id = r.body.get("_id").map(plain_text).unwrap_or_default();
    Ok(format_success(
        &Value::String(format!("Created managed object {id}")),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionNameArgs {
    /// Name of the managed object type, for example "alpha_device".
    #[schemars(pattern(r"^[a-zA-Z0-9_]+$"))]
    object_name: String,
}

impl Args for DefinitionNameArgs {
    fn validate(&self) -> validate::Result {
        validate::identifier("objectName", &self.object_name)
    }
}

/// Relationship properties of other types that point at `target`: `(type, [property])`.
fn referencing_types(config: &Value, target: &str) -> Vec<(String, Vec<String>)> {
    let path = format!("managed/{target}");
    let points_at = |collection: Option<&Value>| {
        collection
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .any(|e| e.get("path").and_then(Value::as_str) == Some(path.as_str()))
            })
            .unwrap_or(false)
    };
    let mut out = Vec::new();
    for object in objects(config) {
        let Some(name) = object.get("name").and_then(Value::as_str) else {
            continue;
        };
        if name == target {
            continue;
        }
        let Some(props) = object
            .pointer("/schema/properties")
            .and_then(Value::as_object)
        else {
            continue;
        };
        let hits: Vec<String> = props
            .iter()
            .filter(|(_, p)| {
                let ty = p.get("type").and_then(Value::as_str);
                (ty == Some("relationship") && points_at(p.get("resourceCollection")))
                    || (ty == Some("array")
                        && p.pointer("/items/type").and_then(Value::as_str) == Some("relationship")
                        && points_at(p.pointer("/items/resourceCollection")))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if !hits.is_empty() {
            out.push((name.to_string(), hits));
        }
    }
    out
}

async fn delete_definition(ctx: CallCtx, a: DefinitionNameArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to delete managed object definition";
    let (config, _) = managed_config(&ctx).await.map_err(|e| failure(PREFIX, e))?;
    let Some((_, removed)) = find_by_name(&config, &a.object_name) else {
        return Err(not_found(&a.object_name, &config));
    };
    let removed = removed.clone();
    let refs = referencing_types(&config, &a.object_name);
    if !refs.is_empty() {
        let list = refs
            .iter()
            .map(|(t, props)| format!("{t} (properties: {})", props.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(format!(
            "Cannot delete managed object type '{}': it is referenced by relationship properties of other types: {list}. Remove or change those relationships first with patchManagedObjectRelationship.",
            a.object_name
        ));
    }
    let mut new_config = config.clone();
    if let Some(list) = new_config.get_mut("objects").and_then(Value::as_array_mut) {
        list.retain(|o| o.get("name").and_then(Value::as_str) != Some(a.object_name.as_str()));
    }
    let r = ctx
        .send(
            ApiRequest::put(CONFIG_MANAGED)
                .if_match("*")
                .json(new_config),
        )
        .await
        .map_err(|e| failure(PREFIX, e))?;
    Ok(format_success(
        &json!({
            "message": format!("Deleted managed object definition '{}'", a.object_name),
            "name": a.object_name,
            "removedDefinition": removed,
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRefArgs {
    /// Managed object type, for example alpha_user, bravo_user, alpha_role, bravo_role,
    /// alpha_group, bravo_group, alpha_organization or bravo_organization. Not an
    /// exhaustive list: listManagedObjects gives every type.
    #[schemars(length(min = 1))]
    object_type: String,
    /// The object's _id, for example "5f1b7e2c-3a4d-4e5f-8a9b-0c1d2e3f4a5b".
    #[schemars(length(min = 1))]
    object_id: String,
}

impl Args for ObjectRefArgs {
    fn validate(&self) -> validate::Result {
        object_type_rule(&self.object_type)?;
        validate::safe_segment("objectId", &self.object_id)
    }
}

async fn delete_object(ctx: CallCtx, a: ObjectRefArgs) -> Result<String, String> {
    let r = ctx
        .send(type_request(ApiRequest::delete, &a.object_type).seg(&a.object_id))
        .await
        .map_err(|e| failure("Failed to delete managed object", e))?;
    Ok(format_success(
        &Value::String(format!(
            "Deleted managed object {} from {}",
            a.object_id, a.object_type
        )),
        &r.transaction_id,
    ))
}

async fn get_object(ctx: CallCtx, a: ObjectRefArgs) -> Result<String, String> {
    let r = ctx
        .send(type_request(ApiRequest::get, &a.object_type).seg(&a.object_id))
        .await
        .map_err(|e| failure("Failed to retrieve managed object", e))?;
    Ok(format_success(&r.body, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetSchemaArgs {
    /// Managed object type, for example alpha_user, bravo_user, alpha_role, bravo_role,
    /// alpha_group, bravo_group, alpha_organization or bravo_organization. Not an
    /// exhaustive list: listManagedObjects gives every type.
    #[schemars(length(min = 1))]
    object_type: String,
    /// true: the whole definition (script hooks, lifecycle, notifications…); false
    /// (default): only the required fields and properties.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    include_full_definition: bool,
}

impl Args for GetSchemaArgs {
    fn validate(&self) -> validate::Result {
        object_type_rule(&self.object_type)
    }
}

async fn get_schema(ctx: CallCtx, a: GetSchemaArgs) -> Result<String, String> {
    let (config, tx) = managed_config(&ctx)
        .await
        .map_err(|e| failure("Failed to retrieve managed object schema", e))?;
    let Some((_, def)) = find_by_name(&config, &a.object_type) else {
        return Err(not_found(&a.object_type, &config));
    };
    if a.include_full_definition {
        return Ok(format_success(def, &tx));
    }
    let schema = def.get("schema");
    Ok(format_success(
        &json!({
            "name": a.object_type,
            "required": schema.and_then(|s| s.get("required")).cloned().unwrap_or_else(|| json!([])),
            "properties": schema.and_then(|s| s.get("properties")).cloned().unwrap_or_else(|| json!({})),
        }),
        &tx,
    ))
}

// ---------------------------------------------------------------------------------------

async fn list_types(ctx: CallCtx, _: NoArgs) -> Result<String, String> {
    let (config, _) = managed_config(&ctx)
        .await
        .map_err(|e| failure("Error listing managed objects", e))?;
    Ok(pretty(&json!({"managedObjectTypes": type_names(&config)})))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum DefinitionOp {
    Add,
    Remove,
    Replace,
}

// One operation of `patchManagedObjectDefinition`; sent with `field` rebased on the
// type's entry in the managed configuration. Not a doc comment (see PatchOperation).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct DefinitionOperation {
    /// add, remove or replace.
    operation: DefinitionOp,
    /// Path inside the type's definition, starting with '/', for example
    /// /schema/properties/email or /schema/required/-.
    field: String,
    /// The new value (add and replace).
    #[serde(
        default,
        deserialize_with = "some_value",
        skip_serializing_if = "Option::is_none"
    )]
    value: Option<Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchDefinitionArgs {
    /// Name of the managed object type, for example "alpha_device".
    #[schemars(pattern(r"^[a-zA-Z0-9_]+$"))]
    object_name: String,
    /// The operations, applied in order.
    operations: Vec<DefinitionOperation>,
}

impl Args for PatchDefinitionArgs {
    fn validate(&self) -> validate::Result {
        validate::identifier("objectName", &self.object_name)?;
        for (i, op) in self.operations.iter().enumerate() {
            if !op.field.starts_with('/') {
                return Err(validate::ValidationError::new(
                    format!("operations[{i}].field"),
                    format!(
                        "'{}' must be a path starting with '/', for example /schema/properties/email",
                        op.field
                    ),
                ));
            }
            if op.operation != DefinitionOp::Remove && op.value.is_none() {
                return Err(validate::ValidationError::new(
                    format!("operations[{i}].value"),
                    "is required for add and replace",
                ));
            }
        }
        Ok(())
    }
}

/// A relationship property definition: `type: relationship`, or an array of them.
fn is_relationship(v: &Value) -> bool {
    let ty = v.get("type").and_then(Value::as_str);
    ty == Some("relationship")
        || (ty == Some("array")
            && v.pointer("/items/type").and_then(Value::as_str) == Some("relationship"))
}

/// True when `v` is, or contains at any depth, a relationship property definition.
fn contains_relationship(v: &Value) -> bool {
    match v {
        Value::Object(map) => is_relationship(v) || map.values().any(contains_relationship),
        Value::Array(items) => items.iter().any(contains_relationship),
        _ => false,
    }
}

fn walk_path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .try_fold(root, |node, seg| {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            match node {
                Value::Object(m) => m.get(&seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            }
        })
}

async fn patch_definition(ctx: CallCtx, a: PatchDefinitionArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to patch managed object definition";
    if a.operations.is_empty() {
        return Err(format!(
            "No operations provided for managed object type '{}'. Supply at least one add, remove or replace operation.",
            a.object_name
        ));
    }
    let (config, _) = managed_config(&ctx).await.map_err(|e| failure(PREFIX, e))?;
    let Some((index, current)) = find_by_name(&config, &a.object_name) else {
        return Err(not_found(&a.object_name, &config));
    };
    for op in &a.operations {
        let touches = match op.operation {
            DefinitionOp::Add | DefinitionOp::Replace => op
                .value
                .as_ref()
                .map(contains_relationship)
                .unwrap_or(false),
            DefinitionOp::Remove => walk_path(current, &op.field)
                .map(contains_relationship)
                .unwrap_or(false),
        };
        if touches {
            let verb = serde_json::to_value(op.operation)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(format!(
                "Refused: the {verb} operation on '{}' touches a relationship property. Relationship properties must be changed with patchManagedObjectRelationship; nothing was changed.",
                op.field
            ));
        }
    }
    let mut body = Vec::with_capacity(a.operations.len());
    for op in &a.operations {
        let mut v = serde_json::to_value(op).map_err(|e| failure(PREFIX, e))?;
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "field".into(),
                Value::String(format!("/objects/{index}{}", op.field)),
            );
        }
        body.push(v);
    }
    let r = ctx
        .send(
            ApiRequest::patch(CONFIG_MANAGED)
                .if_match("*")
                .json(Value::Array(body)),
        )
        .await
        .map_err(|e| failure(PREFIX, e))?;
    let definition = find_by_name(&r.body, &a.object_name)
        .map(|(_, d)| d.clone())
        .unwrap_or(Value::Null);
    Ok(format_success(
        &json!({
            "message": format!("Patched managed object definition '{}'", a.object_name),
            "name": a.object_name,
            "operationsApplied": a.operations.len(),
            "definition": definition,
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum RelationshipAction {
    Add,
    Update,
    Remove,
}

impl RelationshipAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
            Self::Remove => "remove",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchRelationshipArgs {
    /// Managed object type that owns the property, for example "alpha_user".
    #[schemars(length(min = 1))]
    object_type: String,
    /// The relationship property; must start with "custom_", for example "custom_devices".
    #[schemars(length(min = 1))]
    property_name: String,
    /// add a new property, update (replace) an existing one, or remove it.
    action: RelationshipAction,
    /// The complete property definition (required for add and update), for example
    /// {"type": "array", "title": "Devices", "items": {"type": "relationship",
    /// "reverseRelationship": true, "reversePropertyName": "custom_owner",
    /// "resourceCollection": [{"path": "managed/alpha_device", "label": "Device",
    /// "query": {"queryFilter": "true", "fields": ["serialNumber"]}}]}}.
    property_definition: Option<Map<String, Value>>,
}

impl Args for PatchRelationshipArgs {
    fn validate(&self) -> validate::Result {
        object_type_rule(&self.object_type)?;
        validate::safe_segment("propertyName", &self.property_name)?;
        if !self.property_name.starts_with("custom_") {
            return Err(validate::ValidationError::new(
                "propertyName",
                format!(
                    "'{}' must start with 'custom_'; only custom relationship properties can be changed",
                    self.property_name
                ),
            ));
        }
        if self.action != RelationshipAction::Remove && self.property_definition.is_none() {
            return Err(validate::ValidationError::new(
                "propertyDefinition",
                format!(
                    "must be supplied for action '{}' (the complete relationship property definition)",
                    self.action.as_str()
                ),
            ));
        }
        Ok(())
    }
}

async fn patch_relationship(ctx: CallCtx, a: PatchRelationshipArgs) -> Result<String, String> {
    let action = a.action.as_str();
    let (t, p) = (&a.object_type, &a.property_name);
    let base = ApiRequest::get("/openidm/schema/managed")
        .seg(t)
        .lit("properties")
        .seg(p)
        .path_and_query();
    let req = match a.action {
        RelationshipAction::Remove => ApiRequest::delete(&base),
        _ => ApiRequest::put(&base).json(Value::Object(
            a.property_definition.clone().unwrap_or_default(),
        )),
    }
    .api_version("resource=2.0")
    .if_match("*");
    let r = ctx.send(req).await.map_err(|e| match e.status() {
        Some(400) => format!(
            "Failed to {action} relationship property '{p}': bad request. Check that the property definition is complete and valid and that the object type '{t}' exists. Error: {e}"
        ),
        Some(404) => format!(
            "Failed to {action} relationship property '{p}': not found. Verify that the object type '{t}' exists and, for update or remove, that the property exists. Error: {e}"
        ),
        _ => format!("Failed to {action} relationship property '{p}' on '{t}': {e}"),
    })?;
    let out = match a.action {
        RelationshipAction::Remove => json!({
            "message": format!("Removed relationship property '{p}' from '{t}'"),
            "objectType": t,
            "propertyName": p,
        }),
        _ => json!({
            "message": format!("{} relationship property '{p}' on '{t}'", if a.action == RelationshipAction::Add { "Added" } else { "Updated" }),
            "objectType": t,
            "propertyName": p,
            "definition": r.body,
        }),
    };
    Ok(format_success(&out, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

// One operation of `patchManagedObject`, sent as given (keys the caller added are dropped).
// Not a doc comment: schemars would publish it in the tool's schema.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct PatchOperation {
    /// add, remove, replace, move, copy or test.
    operation: PatchOp,
    /// JSON-pointer-style path of the field, for example /mail or /givenName.
    field: String,
    /// The value (add, replace, test).
    #[serde(
        default,
        deserialize_with = "some_value",
        skip_serializing_if = "Option::is_none"
    )]
    value: Option<Value>,
    /// The source path (move, copy), for example /description.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchObjectArgs {
    /// Managed object type, for example alpha_user, bravo_user, alpha_role, bravo_role,
    /// alpha_group, bravo_group, alpha_organization or bravo_organization. Not an
    /// exhaustive list: listManagedObjects gives every type.
    #[schemars(length(min = 1))]
    object_type: String,
    /// The object's _id.
    #[schemars(length(min = 1))]
    object_id: String,
    /// The object's current _rev, from getManagedObject, for example "3".
    #[schemars(length(min = 1))]
    revision: String,
    /// The operations, applied in order, for example
    /// [{"operation": "replace", "field": "/mail", "value": "new@example.com"}].
    operations: Vec<PatchOperation>,
}

impl Args for PatchObjectArgs {
    fn validate(&self) -> validate::Result {
        object_type_rule(&self.object_type)?;
        validate::safe_segment("objectId", &self.object_id)?;
        if self.revision.trim().is_empty() {
            return Err(validate::ValidationError::new(
                "revision",
                "must not be empty or whitespace only",
            ));
        }
        validate::no_control("revision", &self.revision)?;
        for (i, op) in self.operations.iter().enumerate() {
            if matches!(op.operation, PatchOp::Move | PatchOp::Copy) && op.from.is_none() {
                return Err(validate::ValidationError::new(
                    format!("operations[{i}].from"),
                    "is required for move and copy",
                ));
            }
        }
        Ok(())
    }
}

async fn patch_object(ctx: CallCtx, a: PatchObjectArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to patch managed object";
    let body = serde_json::to_value(&a.operations).map_err(|e| failure(PREFIX, e))?;
    let r = ctx
        .send(
            type_request(ApiRequest::patch, &a.object_type)
                .seg(&a.object_id)
                .if_match(&a.revision)
                .json(body),
        )
        .await
        .map_err(|e| failure(PREFIX, e))?;
    let rev = r.body.get("_rev").map(plain_text).unwrap_or_default();
    Ok(format_success(
        &Value::String(format!(
            "Patched managed object {}. New revision: {rev}",
            a.object_id
        )),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryArgs {
    /// Managed object type, for example alpha_user, bravo_user, alpha_role, bravo_role,
    /// alpha_group, bravo_group, alpha_organization or bravo_organization. Not an
    /// exhaustive list: listManagedObjects gives every type.
    #[schemars(length(min = 1))]
    object_type: String,
    /// CREST filter, for example userName sw "b" and accountStatus eq "active".
    /// Omitted: every object, up to pageSize.
    #[schemars(length(max = 1000))]
    query_filter: Option<String>,
    /// Results per page, 1 to 250 (default 50).
    #[schemars(range(min = 1, max = 250))]
    page_size: Option<i64>,
    /// The pagedResultsCookie of the previous page, to get the next one.
    paged_results_cookie: Option<String>,
    /// Comma-separated sort keys, '-' for descending, for example -userName,givenName.
    #[schemars(length(max = 500))]
    sort_keys: Option<String>,
    /// Comma-separated fields to return, for example userName,mail,givenName.
    #[schemars(length(max = 500))]
    fields: Option<String>,
}

impl Args for QueryArgs {
    fn validate(&self) -> validate::Result {
        object_type_rule(&self.object_type)?;
        if let Some(f) = &self.query_filter {
            validate::text("queryFilter", f, 1000)?;
        }
        if let Some(n) = self.page_size {
            validate::range("pageSize", n, 1, 250)?;
        }
        if let Some(c) = &self.paged_results_cookie {
            validate::text("pagedResultsCookie", c, 4096)?;
        }
        if let Some(s) = &self.sort_keys {
            validate::field_list("sortKeys", s, 500)?;
        }
        if let Some(f) = &self.fields {
            validate::field_list("fields", f, 500)?;
        }
        Ok(())
    }
}

async fn query_objects(ctx: CallCtx, a: QueryArgs) -> Result<String, String> {
    let filter = filter_or_all(a.query_filter.as_deref());
    let page_size = a.page_size.unwrap_or(50).min(250).to_string();
    let mut req = type_request(ApiRequest::get, &a.object_type)
        .query("_queryFilter", filter)
        .query("_pageSize", &page_size)
        .query("_totalPagedResultsPolicy", "EXACT");
    if let Some(c) = &a.paged_results_cookie {
        req = req.query("_pagedResultsCookie", c);
    }
    if let Some(s) = &a.sort_keys {
        req = req.query("_sortKeys", s);
    }
    if let Some(f) = &a.fields {
        req = req.query("_fields", f);
    }
    let r = ctx
        .send(req)
        .await
        .map_err(|e| failure(&format!("Failed to query {}", a.object_type), e))?;
    Ok(format_success(&r.body, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------
// Tracking (change journal, current state on approval cards, revert)

/// One managed object, by type and `_id`.
pub(super) struct ObjectTrack;

/// Fields a restore never writes: identity, revision, and what IDM computes.
const NOT_WRITTEN: [&str; 2] = ["_id", "_rev"];

#[async_trait::async_trait]
impl super::Track for ObjectTrack {
    fn subject(&self, tool: &str, args: &Value) -> Option<super::Subject> {
        if !matches!(tool, "deleteManagedObject" | "patchManagedObject") {
            return None;
        }
        let object_type = args.get("objectType")?.as_str()?;
        let id = args.get("objectId")?.as_str()?;
        Some(super::Subject {
            kind: "managed object".into(),
            label: format!("{object_type} {id}"),
            key: serde_json::json!({"objectType": object_type, "objectId": id}),
        })
    }

    async fn read(&self, ctx: &CallCtx, subject: &super::Subject) -> Result<Option<Value>, String> {
        let field = |k: &str| subject.key.get(k).and_then(Value::as_str).unwrap_or("");
        super::track::found(
            ctx.send(type_request(ApiRequest::get, field("objectType")).seg(field("objectId")))
                .await,
        )
    }

    fn preview(&self, tool: &str, args: &Value, now: &Value) -> Option<Value> {
        if tool != "patchManagedObject" {
            return None;
        }
        let mut then = now.clone();
        for op in args.get("operations")?.as_array()? {
            preview_operation(&mut then, op)?;
        }
        Some(then)
    }

    fn restore(
        &self,
        tool: &str,
        subject: &super::Subject,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<super::Restore, String> {
        let before = before
            .and_then(Value::as_object)
            .ok_or("the object's state before the change was not captured")?;
        let (fields, masked) = super::track::restorable(before, &NOT_WRITTEN);
        let object_type = subject
            .key
            .get("objectType")
            .cloned()
            .unwrap_or(Value::Null);
        match tool {
            "deleteManagedObject" => Ok(super::Restore {
                tool: "createManagedObject".into(),
                arguments: serde_json::json!({"objectType": object_type, "objectData": fields}),
                note: Some(
                    super::track::note(&masked, &[])
                        .map(|n| format!("{n} "))
                        .unwrap_or_default()
                        + "Re-created with a new _id; relationships to other objects are not restored.",
                ),
            }),
            "patchManagedObject" => {
                let after = after
                    .and_then(Value::as_object)
                    .ok_or("the object's state after the change was not captured")?;
                // Bound to the revision the change left: if anything changed the object
                // since, the revert fails and changes nothing.
                let revision = after
                    .get("_rev")
                    .and_then(Value::as_str)
                    .ok_or("the object's revision after the change is unknown")?;
                let mut operations = Vec::new();
                for (k, v) in &fields {
                    if after.get(k) != Some(v) {
                        operations.push(serde_json::json!({"operation": "replace", "field": format!("/{k}"), "value": v}));
                    }
                }
                for k in after.keys() {
                    if !before.contains_key(k) && !NOT_WRITTEN.contains(&k.as_str()) {
                        operations.push(serde_json::json!({"operation": "remove", "field": format!("/{k}")}));
                    }
                }
                if operations.is_empty() {
                    return Err("the object is as it was before the change".into());
                }
                Ok(super::Restore {
                    tool: "patchManagedObject".into(),
                    arguments: serde_json::json!({
                        "objectType": object_type,
                        "objectId": subject.key.get("objectId").cloned().unwrap_or(Value::Null),
                        "revision": revision,
                        "operations": operations,
                    }),
                    note: super::track::note(&masked, &[]),
                })
            }
            _ => Err(format!("{tool} cannot be undone here")),
        }
    }
}

/// Applies one patch operation to `doc` for a preview, where its effect is certain: `add`
/// or `replace` with a value, and `remove` without one, on a field whose containers are
/// objects and whose value is not a list (a list's `add` appends, its `remove` with a
/// value removes matching elements; those, `move`, `copy` and `test` are not worked out:
/// `None`).
fn preview_operation(doc: &mut Value, op: &Value) -> Option<()> {
    let field = op.get("field")?.as_str()?;
    let segments: Vec<String> = field
        .strip_prefix('/')
        .unwrap_or(field)
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let (last, parents) = segments.split_last()?;
    let mut cur = doc;
    for seg in parents {
        cur = cur
            .as_object_mut()?
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let container = cur.as_object_mut()?;
    if last.is_empty() || container.get(last).is_some_and(Value::is_array) {
        return None;
    }
    match (op.get("operation")?.as_str()?, op.get("value")) {
        ("add" | "replace", Some(v)) if !v.is_array() => {
            container.insert(last.clone(), v.clone());
        }
        ("remove", None) | ("replace", None) => {
            container.shift_remove(last);
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_preview_is_worked_out_only_where_its_effect_is_certain() {
        use crate::tools::Track as _;
        let now = json!({"_id": "u", "mail": "a@example.com", "name": {"given": "Bo"}, "roles": ["r"], "tmp": 1});
        let preview = |ops: Value| {
            ObjectTrack.preview("patchManagedObject", &json!({"operations": ops}), &now)
        };
        assert_eq!(
            preview(json!([
                {"operation": "replace", "field": "/mail", "value": "b@example.com"},
                {"operation": "add", "field": "name/family", "value": "Jensen"},
                {"operation": "remove", "field": "/tmp"},
                {"operation": "add", "field": "/new/deep", "value": true},
            ])),
            Some(
                json!({"_id": "u", "mail": "b@example.com", "name": {"given": "Bo", "family": "Jensen"},
                        "roles": ["r"], "new": {"deep": true}})
            )
        );
        for uncertain in [
            json!([{"operation": "add", "field": "/roles", "value": "s"}]),
            json!([{"operation": "remove", "field": "/roles", "value": "r"}]),
            json!([{"operation": "add", "field": "/x", "value": [1]}]),
            json!([{"operation": "test", "field": "/tmp", "value": 1}]),
            json!([{"operation": "move", "from": "/mail", "field": "/m"}]),
            json!([{"operation": "replace", "field": "/roles/0", "value": "s"}]),
            json!([{"operation": "replace", "field": "/mail/x", "value": "s"}]),
        ] {
            assert_eq!(preview(uncertain.clone()), None, "{uncertain}");
        }
    }

    #[test]
    fn relationship_detection_is_recursive() {
        assert!(is_relationship(&json!({"type": "relationship"})));
        assert!(is_relationship(
            &json!({"type": "array", "items": {"type": "relationship"}})
        ));
        assert!(contains_relationship(
            &json!({"manager": {"type": "relationship"}, "mail": {"type": "string"}})
        ));
        assert!(!contains_relationship(&json!({"mail": {"type": "string"}})));
    }

    #[test]
    fn references_are_found_in_other_types_only() {
        let config = json!({"objects": [
            {"name": "alpha_user", "schema": {"properties": {
                "roles": {"type": "array", "items": {"type": "relationship", "resourceCollection": [{"path": "managed/alpha_role"}]}},
                "manager": {"type": "relationship", "resourceCollection": [{"path": "managed/alpha_user"}]}
            }}},
            {"name": "alpha_role", "schema": {"properties": {
                "members": {"type": "array", "items": {"type": "relationship", "resourceCollection": [{"path": "managed/alpha_user"}]}}
            }}}
        ]});
        assert_eq!(
            referencing_types(&config, "alpha_role"),
            vec![("alpha_user".to_string(), vec!["roles".to_string()])]
        );
        assert_eq!(
            referencing_types(&config, "alpha_user"),
            vec![("alpha_role".to_string(), vec!["members".to_string()])]
        );
        assert!(referencing_types(&config, "alpha_group").is_empty());
    }

    #[test]
    fn patch_operations_are_sent_as_given_in_key_order() {
        let ops: Vec<PatchOperation> = serde_json::from_value(json!([
            {"from": "/a", "field": "/b", "operation": "move", "extra": 1},
            {"value": null, "field": "/c", "operation": "replace"},
            {"field": "/d", "operation": "remove"},
        ]))
        .expect("ops");
        assert_eq!(
            serde_json::to_string(&ops).expect("json"),
            r#"[{"operation":"move","field":"/b","from":"/a"},{"operation":"replace","field":"/c","value":null},{"operation":"remove","field":"/d"}]"#
        );
        let op: DefinitionOperation = serde_json::from_value(
            json!({"value": {"type": "string"}, "field": "/x", "operation": "add"}),
        )
        .expect("op");
        assert_eq!(
            serde_json::to_string(&op).expect("json"),
            r#"{"operation":"add","field":"/x","value":{"type":"string"}}"#
        );
    }

    #[test]
    fn paths_walk_objects_and_arrays() {
        let v = json!({"schema": {"properties": {"a/b": {"type": "x"}}, "required": ["q"]}});
        assert_eq!(
            walk_path(&v, "/schema/properties/a~1b/type"),
            Some(&json!("x"))
        );
        assert_eq!(walk_path(&v, "/schema/required/0"), Some(&json!("q")));
        assert_eq!(walk_path(&v, "/nope"), None);
    }
}
