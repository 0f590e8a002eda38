//! Themes (7 tools, contract §3.4): the hosted-pages themes of a realm. Reads go through
//! the IDM endpoint `/openidm/ui/theme/`; every write is a read-modify-write of the whole
//! `ui/themerealm` config document (GET, then PUT with every other realm and key kept).

use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::common::{plain_text, NoArgs, IDM};
use super::{failure, format_success, pretty, tool, Args, CallCtx, Hints, Meta, Realm, ToolDef};
use crate::tenant::{ApiRequest, TenantError};
use crate::validate::{self, ValidationError};

const THEME_REALM: &str = "/openidm/config/ui/themerealm";
/// The virtual read endpoint; the trailing `/` is part of the path the tenant expects.
const UI_THEME: &str = "/openidm/ui/theme/";
/// Longest theme identifier or name accepted (a UUID is 36).
const MAX_NAME: usize = 256;

/// The family's tools, in registration order.
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "createTheme",
                title: "Create Theme",
                description: "Create a new hosted-pages theme in a realm. Call getThemeSchema first to learn the available fields, their formats and defaults (only name is required; colors are #RRGGBB). The theme gets a generated _id and is created as non-default; make it the realm default afterwards with setDefaultTheme. Fails, changing nothing, if the realm already has a theme with that name.",
                scopes: IDM,
                hints: Hints::ADDITIVE,
                container: true,
            },
            create_theme,
        ),
        tool(
            Meta {
                name: "deleteTheme",
                title: "Delete Theme",
                description: "Delete a theme from a realm, found by its _id or name. The realm's default theme cannot be deleted: make another theme the default with setDefaultTheme first. This cannot be undone.",
                scopes: IDM,
                hints: Hints::DESTRUCTIVE,
                container: true,
            },
            delete_theme,
        ),
        tool(
            Meta {
                name: "getThemeSchema",
                title: "Get Theme Schema",
                description: "Get the documentation of the theme object: every field with its type, format, default and allowed values, which fields accept HTML or per-locale values, and a recommended workflow. Use it before createTheme or updateTheme. Makes no request to the tenant.",
                scopes: &[],
                hints: Hints::LOCAL_READ,
                container: true,
            },
            get_schema,
        ),
        tool(
            Meta {
                name: "getTheme",
                title: "Get Theme",
                description: "Read one theme of a realm, found by its _id or its name, with all its fields. Use getThemes to list the realm's themes.",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            get_theme,
        ),
        tool(
            Meta {
                name: "getThemes",
                title: "Get Themes",
                description: "List the themes of a realm: each theme's _id, name and whether it is the realm's default (isDefault). Use getTheme for a theme's full configuration.",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            get_themes,
        ),
        tool(
            Meta {
                name: "setDefaultTheme",
                title: "Set Default Theme",
                description: "Make a theme, found by its _id or name, the default theme of its realm; the previous default stops being the default. Journeys without a theme of their own use the default theme.",
                scopes: IDM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: true,
            },
            set_default_theme,
        ),
        tool(
            Meta {
                name: "updateTheme",
                title: "Update Theme",
                description: "Change fields of an existing theme, found by its _id or name. The given fields replace the theme's values (top-level, a nested object such as accountPageSections is replaced as a whole); fields not given keep their values. _id cannot be changed, and isDefault is changed only with setDefaultTheme. A new name must not be used by another theme of the realm. See getThemeSchema for the fields.",
                scopes: IDM,
                hints: Hints::IDEMPOTENT_WRITE,
                container: true,
            },
            update_theme,
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Shared helpers

/// A theme's `_id` or name as given by the caller.
fn identifier_rule(value: &str) -> validate::Result {
    validate::segment("themeIdentifier", value, MAX_NAME)
}

/// A theme name inside `themeData` / `themeUpdates`, when it is a non-empty string.
fn name_rule(field: &str, name: &str) -> validate::Result {
    validate::text(field, name, MAX_NAME)
}

/// A JSON value as a JavaScript template literal prints it (a missing one: `undefined`).
fn js_text(v: Option<&Value>) -> String {
    v.map_or_else(|| "undefined".into(), plain_text)
}

fn structure_error(realm: Realm) -> String {
    format!("Invalid theme configuration structure for realm \"{realm}\"")
}

fn not_found(id: &str, realm: Realm) -> String {
    format!("Theme not found: \"{id}\" in realm \"{realm}\"")
}

/// GET `/openidm/config/ui/themerealm`.
async fn theme_config(ctx: &CallCtx) -> Result<Value, TenantError> {
    Ok(ctx.send(ApiRequest::get(THEME_REALM)).await?.body)
}

/// The realm's theme list, or the structure refusal when the config has none.
fn realm_themes(config: &Value, realm: Realm) -> Result<Vec<Value>, String> {
    config
        .get("realm")
        .and_then(|r| r.get(realm.as_str()))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| structure_error(realm))
}

/// First theme whose `_id` or `name` equals `id` exactly.
fn find_theme(themes: &[Value], id: &str) -> Option<usize> {
    themes.iter().position(|t| {
        t.get("_id").and_then(Value::as_str) == Some(id)
            || t.get("name").and_then(Value::as_str) == Some(id)
    })
}

/// PUTs the config with the realm's list replaced; everything else is kept.
async fn put_themes(
    ctx: &CallCtx,
    config: &Value,
    realm: Realm,
    themes: Vec<Value>,
) -> Result<Option<String>, TenantError> {
    let mut updated = config.clone();
    if let Some(realms) = updated.get_mut("realm").and_then(Value::as_object_mut) {
        realms.insert(realm.as_str().to_string(), Value::Array(themes));
    }
    let r = ctx.send(ApiRequest::put(THEME_REALM).json(updated)).await?;
    Ok(r.transaction_id)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateThemeArgs {
    /// Realm of the theme: alpha or bravo.
    realm: Realm,
    /// The theme's fields; name is required and must be new in the realm, for example
    /// {"name": "Acme", "primaryColor": "#0066cc", "primaryOffColor": "#0052a3",
    /// "logo": "https://example.com/logo.svg", "journeyLayout": "card"}. _id and isDefault
    /// are set by the tool.
    theme_data: Map<String, Value>,
}

impl Args for CreateThemeArgs {
    fn validate(&self) -> validate::Result {
        match self.theme_data.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {
                name_rule("themeData.name", name)
            }
            // Missing, empty or not a string: refused by the tool with the reference's text.
            _ => Ok(()),
        }
    }
}

async fn create_theme(ctx: CallCtx, a: CreateThemeArgs) -> Result<String, String> {
    let realm = a.realm;
    let prefix = format!("Failed to create theme in realm \"{realm}\"");
    let name = match a.theme_data.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        _ => return Err("Theme data must include a \"name\" property".into()),
    };
    let config = theme_config(&ctx).await.map_err(|e| failure(&prefix, e))?;
    let mut themes = realm_themes(&config, realm)?;
    if themes
        .iter()
        .any(|t| t.get("name").and_then(Value::as_str) == Some(name.as_str()))
    {
        return Err(format!(
            "Theme with name \"{name}\" already exists in realm \"{realm}\". Choose a different name, or change the existing theme with updateTheme."
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut theme = a.theme_data;
    theme.insert("_id".into(), Value::String(id.clone()));
    theme.insert("isDefault".into(), Value::Bool(false));
    themes.push(Value::Object(theme));
    let tx = put_themes(&ctx, &config, realm, themes)
        .await
        .map_err(|e| failure(&prefix, e))?;
    Ok(format_success(
        &json!({
            "_id": id,
            "name": name,
            "message": format!("Created theme \"{name}\" ({id}) in realm \"{realm}\""),
        }),
        &tx,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeRefArgs {
    /// Realm of the theme: alpha or bravo.
    realm: Realm,
    /// The theme's _id or its exact name, for example "Robroy" or
    /// "4ded6d91-9d7c-4ee5-8f4b-0b8e3a6d0a11".
    #[schemars(length(min = 1))]
    theme_identifier: String,
}

impl Args for ThemeRefArgs {
    fn validate(&self) -> validate::Result {
        identifier_rule(&self.theme_identifier)
    }
}

async fn delete_theme(ctx: CallCtx, a: ThemeRefArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, a.theme_identifier.as_str());
    let prefix = format!("Failed to delete theme from realm \"{realm}\"");
    let config = theme_config(&ctx).await.map_err(|e| failure(&prefix, e))?;
    let mut themes = realm_themes(&config, realm)?;
    let index = find_theme(&themes, id).ok_or_else(|| not_found(id, realm))?;
    let theme = themes.remove(index);
    let name = js_text(theme.get("name"));
    let theme_id = js_text(theme.get("_id"));
    if theme.get("isDefault") == Some(&Value::Bool(true)) {
        return Err(format!(
            "Cannot delete theme \"{name}\" ({theme_id}): it is the default theme of realm \"{realm}\". Make another theme the default with setDefaultTheme first, then delete this one."
        ));
    }
    let tx = put_themes(&ctx, &config, realm, themes)
        .await
        .map_err(|e| failure(&prefix, e))?;
    Ok(format_success(
        &json!({
            "_id": theme.get("_id").cloned().unwrap_or(Value::Null),
            "name": theme.get("name").cloned().unwrap_or(Value::Null),
            "message": format!("Deleted theme \"{name}\" ({theme_id}) from realm \"{realm}\""),
        }),
        &tx,
    ))
}

// ---------------------------------------------------------------------------------------

async fn get_schema(_: CallCtx, _: NoArgs) -> Result<String, String> {
    theme_schema().map(pretty)
}

// ---------------------------------------------------------------------------------------

/// `_id eq "<id>" or name eq "<id>"`, with `\` and `"` escaped.
fn identifier_filter(id: &str) -> String {
    let v = validate::crest_string(id);
    format!("_id eq \"{v}\" or name eq \"{v}\"")
}

async fn get_theme(ctx: CallCtx, a: ThemeRefArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, a.theme_identifier.as_str());
    let r = ctx
        .send(
            ApiRequest::get(UI_THEME)
                .query_component("realm", realm.as_str())
                .query_component("_queryFilter", &identifier_filter(id)),
        )
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to retrieve theme \"{id}\" from realm \"{realm}\""),
                e,
            )
        })?;
    let count = r
        .body
        .get("resultCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if count == 0 {
        return Err(not_found(id, realm));
    }
    if count > 1 {
        return Err(format!(
            "Multiple themes found matching \"{id}\" in realm \"{realm}\" ({count} results). This should not happen: theme ids and names are unique within a realm. Use the theme's _id from getThemes."
        ));
    }
    let theme = r
        .body
        .get("result")
        .and_then(|list| list.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(format_success(&theme, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RealmArgs {
    /// Realm whose themes to list: alpha or bravo.
    realm: Realm,
}

impl Args for RealmArgs {}

async fn get_themes(ctx: CallCtx, a: RealmArgs) -> Result<String, String> {
    let realm = a.realm;
    let r = ctx
        .send(
            ApiRequest::get(UI_THEME)
                .query_component("realm", realm.as_str())
                .query_component("_queryFilter", "true")
                .query_component("_fields", "name,isDefault"),
        )
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to retrieve themes for realm \"{realm}\""),
                e,
            )
        })?;
    let n = r
        .body
        .get("result")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    let text = format!(
        "Found {n} theme(s) for realm \"{realm}\":\n\n{}",
        pretty(&r.body)
    );
    Ok(format_success(&Value::String(text), &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

async fn set_default_theme(ctx: CallCtx, a: ThemeRefArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, a.theme_identifier.as_str());
    let prefix = format!("Failed to set default theme in realm \"{realm}\"");
    let config = theme_config(&ctx).await.map_err(|e| failure(&prefix, e))?;
    let mut themes = realm_themes(&config, realm)?;
    let index = find_theme(&themes, id).ok_or_else(|| not_found(id, realm))?;
    let target = themes[index].clone();
    let name = js_text(target.get("name"));
    let theme_id = js_text(target.get("_id"));
    if target.get("isDefault") == Some(&Value::Bool(true)) {
        // The requested state already holds: a success without a write (idempotent).
        return Ok(format!(
            "Theme \"{name}\" is already the default theme for realm \"{realm}\""
        ));
    }
    for (i, theme) in themes.iter_mut().enumerate() {
        if let Value::Object(t) = theme {
            t.insert("isDefault".into(), Value::Bool(i == index));
        }
    }
    let tx = put_themes(&ctx, &config, realm, themes)
        .await
        .map_err(|e| failure(&prefix, e))?;
    Ok(format_success(
        &json!({
            "_id": target.get("_id").cloned().unwrap_or(Value::Null),
            "name": target.get("name").cloned().unwrap_or(Value::Null),
            "isDefault": true,
            "message": format!("Set theme \"{name}\" ({theme_id}) as default for realm \"{realm}\""),
        }),
        &tx,
    ))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateThemeArgs {
    /// Realm of the theme: alpha or bravo.
    realm: Realm,
    /// The theme's _id or its exact name, for example "Robroy".
    #[schemars(length(min = 1))]
    theme_identifier: String,
    /// The fields to change, for example {"primaryColor": "#0066cc", "logoHeight": "50"}
    /// or {"name": "Acme 2"}. _id and isDefault cannot be changed here.
    theme_updates: Map<String, Value>,
}

impl Args for UpdateThemeArgs {
    fn validate(&self) -> validate::Result {
        identifier_rule(&self.theme_identifier)?;
        match self.theme_updates.get("name") {
            None => Ok(()),
            Some(Value::String(name)) if !name.trim().is_empty() => {
                name_rule("themeUpdates.name", name)
            }
            Some(Value::String(_)) => Err(ValidationError::new(
                "themeUpdates.name",
                "must not be empty or whitespace only",
            )),
            Some(_) => Err(ValidationError::new(
                "themeUpdates.name",
                "must be a string",
            )),
        }
    }
}

async fn update_theme(ctx: CallCtx, a: UpdateThemeArgs) -> Result<String, String> {
    let (realm, id) = (a.realm, a.theme_identifier.as_str());
    if a.theme_updates.contains_key("_id") {
        return Err("Cannot update the \"_id\" field: theme ids are immutable.".into());
    }
    if a.theme_updates.contains_key("isDefault") {
        return Err(
            "Cannot update \"isDefault\" directly: use setDefaultTheme to change the realm's default theme."
                .into(),
        );
    }
    let prefix = format!("Failed to update theme in realm \"{realm}\"");
    let config = theme_config(&ctx).await.map_err(|e| failure(&prefix, e))?;
    let mut themes = realm_themes(&config, realm)?;
    let index = find_theme(&themes, id).ok_or_else(|| not_found(id, realm))?;
    let existing = themes[index].clone();
    let theme_id = existing.get("_id").cloned().unwrap_or(Value::Null);
    if let Some(new_name) = a.theme_updates.get("name").and_then(Value::as_str) {
        let renamed = existing.get("name").and_then(Value::as_str) != Some(new_name);
        let taken = themes.iter().any(|t| {
            t.get("name").and_then(Value::as_str) == Some(new_name)
                && t.get("_id").unwrap_or(&Value::Null) != &theme_id
        });
        if renamed && taken {
            return Err(format!(
                "Theme with name \"{new_name}\" already exists in realm \"{realm}\". Choose a different name."
            ));
        }
    }
    let mut merged = match &existing {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    // Shallow, top-level replace. `_id` and `isDefault` were refused above, so the
    // existing theme's values survive the merge.
    merged.extend(a.theme_updates);
    let name = merged.get("name").cloned().unwrap_or(Value::Null);
    let message = format!(
        "Updated theme \"{}\" ({}) in realm \"{realm}\"",
        js_text(Some(&name)),
        js_text(Some(&theme_id))
    );
    themes[index] = Value::Object(merged);
    let tx = put_themes(&ctx, &config, realm, themes)
        .await
        .map_err(|e| failure(&prefix, e))?;
    Ok(format_success(
        &json!({"_id": theme_id, "name": name, "message": message}),
        &tx,
    ))
}

// ---------------------------------------------------------------------------------------
// getThemeSchema's static documentation (contract §3.4.1)

/// The `getThemeSchema` document as data: `theme_schema.json` beside this module, stored
/// exactly as the tool prints it (pretty JSON, keys in the order shown).
const THEME_SCHEMA_JSON: &str = include_str!("theme_schema.json");

static THEME_SCHEMA: LazyLock<Result<Value, String>> =
    LazyLock::new(|| serde_json::from_str(THEME_SCHEMA_JSON).map_err(|e| e.to_string()));

/// The `getThemeSchema` document, parsed on first use. An error only if the file built
/// into the crate is not JSON (a unit test rules that out).
fn theme_schema() -> Result<&'static Value, String> {
    THEME_SCHEMA
        .as_ref()
        .map_err(|e| format!("the theme schema built into this server is not valid JSON: {e}"))
}

// ---------------------------------------------------------------------------------------
// Tracking (change journal, current state on approval cards, revert)

/// A theme, found by its `_id` (once known) or the identifier the call gave.
pub(super) struct ThemeTrack;

#[async_trait::async_trait]
impl super::Track for ThemeTrack {
    fn subject(&self, tool: &str, args: &Value) -> Option<super::Subject> {
        if !matches!(tool, "updateTheme" | "deleteTheme" | "setDefaultTheme") {
            return None;
        }
        let realm = args.get("realm")?.as_str()?;
        let theme = args.get("themeIdentifier")?.as_str()?;
        Some(super::Subject {
            kind: "theme".into(),
            label: format!("{realm} theme {theme}"),
            key: json!({"realm": realm, "theme": theme}),
        })
    }

    async fn read(&self, ctx: &CallCtx, subject: &super::Subject) -> Result<Option<Value>, String> {
        let realm = subject.key.get("realm").and_then(Value::as_str);
        let realm = realm
            .and_then(|r| serde_json::from_value::<Realm>(json!(r)).ok())
            .ok_or("the theme's realm is not alpha or bravo")?;
        let config = theme_config(ctx).await.map_err(|e| e.to_string())?;
        let themes = realm_themes(&config, realm)?;
        // The `_id` first: a rename must not lose the theme.
        let by = |key: &str| {
            subject
                .key
                .get(key)
                .and_then(Value::as_str)
                .and_then(|id| find_theme(&themes, id))
        };
        Ok(by("id").or_else(|| by("theme")).map(|i| themes[i].clone()))
    }

    fn preview(&self, tool: &str, args: &Value, now: &Value) -> Option<Value> {
        if tool != "updateTheme" {
            return None;
        }
        // As update_theme merges: a shallow, top-level replace.
        let mut then = now.as_object()?.clone();
        for (k, v) in args.get("themeUpdates")?.as_object()? {
            then.insert(k.clone(), v.clone());
        }
        Some(Value::Object(then))
    }

    fn restore(
        &self,
        tool: &str,
        subject: &super::Subject,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<super::Restore, String> {
        let realm = subject.key.get("realm").cloned().unwrap_or(Value::Null);
        let before = before
            .and_then(Value::as_object)
            .ok_or("the theme's state before the change was not captured")?;
        let (fields, masked) = super::track::restorable(before, &["_id", "isDefault"]);
        let id = before.get("_id").and_then(Value::as_str);
        match tool {
            "updateTheme" => {
                let id = id.ok_or("the theme had no _id")?;
                let added: Vec<String> = after
                    .and_then(Value::as_object)
                    .map(|a| {
                        a.keys()
                            .filter(|k| !before.contains_key(*k))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(super::Restore {
                    tool: "updateTheme".into(),
                    arguments: json!({"realm": realm, "themeIdentifier": id, "themeUpdates": fields}),
                    note: super::track::note(&masked, &added),
                })
            }
            "deleteTheme" => Ok(super::Restore {
                tool: "createTheme".into(),
                arguments: json!({"realm": realm, "themeData": fields}),
                note: Some(
                    super::track::note(&masked, &[])
                        .map(|n| format!("{n} "))
                        .unwrap_or_default()
                        + "Re-created with a new _id, not as the realm's default theme.",
                ),
            }),
            _ => Err("a default-theme change is undone by setting the previous default again (setDefaultTheme)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> &'static Value {
        theme_schema().expect("theme_schema.json parses")
    }

    fn names(v: &Value) -> Vec<&str> {
        let mut out: Vec<&str> = match v {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            Value::Object(map) => map.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        out.sort_unstable();
        out
    }

    /// The fields whose `key` is `value`, sorted.
    fn fields_with<'a>(fields: &'a Map<String, Value>, key: &str, value: &Value) -> Vec<&'a str> {
        let mut out: Vec<&str> = fields
            .iter()
            .filter(|(_, f)| f.get(key) == Some(value))
            .map(|(n, _)| n.as_str())
            .collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn schema_file_parses_and_is_stored_as_printed() {
        let s = schema();
        // The file is the tool's output byte for byte (plus a final newline), so a change
        // to the file is exactly the change to what the model reads.
        assert_eq!(format!("{}\n", pretty(s)), THEME_SCHEMA_JSON);
        let keys: Vec<&String> = s.as_object().expect("object").keys().collect();
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
    }

    #[test]
    fn schema_documents_every_field_consistently() {
        let s = schema();
        let fields = s["fields"].as_object().expect("fields");
        assert_eq!(fields.len(), 99);
        for (name, f) in fields {
            for key in ["type", "required", "description"] {
                assert!(f.get(key).is_some(), "{name} lacks {key}");
            }
            if f.get("format") == Some(&json!("hex color (#RRGGBB)")) {
                let d = f["default"].as_str().expect("hex default");
                assert!(
                    d.len() == 7
                        && d.starts_with('#')
                        && d[1..].chars().all(|c| c.is_ascii_hexdigit()),
                    "{name}: {d}"
                );
            }
            if let Some(values) = f.get("enum") {
                assert_eq!(
                    names(values),
                    names(&f["enumDescriptions"]),
                    "{name}: every value is described"
                );
                assert!(values.as_array().expect("enum").contains(&f["default"]));
            }
        }
        let notes = &s["importantNotes"];
        assert_eq!(
            names(&notes["localization"]["fields"]),
            fields_with(fields, "localizable", &json!(true))
        );
        assert_eq!(
            names(&notes["htmlCssFields"]["fields"]),
            fields_with(fields, "htmlSupport", &json!(true))
        );
        for (name, values) in notes["enumFields"].as_object().expect("enums") {
            assert_eq!(&fields[name]["enum"], values, "{name}");
        }
        assert_eq!(names(&notes["enumFields"]), {
            let mut with_enum: Vec<&str> = fields
                .iter()
                .filter(|(_, f)| f.get("enum").is_some())
                .map(|(n, _)| n.as_str())
                .collect();
            with_enum.sort_unstable();
            with_enum
        });
        for name in names(&notes["imageFields"]["fields"]) {
            assert!(fields.contains_key(name), "{name}");
        }
        for (name, source) in notes["autoCalculatedFields"]["fields"]
            .as_object()
            .expect("auto")
        {
            assert!(fields.contains_key(name), "{name}");
            assert!(
                fields.contains_key(source.as_str().unwrap_or("")),
                "{source}"
            );
        }
        assert_eq!(fields["journeyCardShadow"]["default"], 3);
        assert_eq!(fields["logoHeight"]["default"], "40");
        assert_eq!(
            fields["accountPageSections"]["default"]["accountSecurity"]["subsections"]
                ["securityQuestions"]["enabled"],
            false
        );
        assert!(fields["accountPageSections"].get("structure").is_some());
    }

    #[test]
    fn schema_matches_what_the_tools_expect() {
        let s = schema();
        let fields = s["fields"].as_object().expect("fields");
        // createTheme needs a name and nothing else.
        assert_eq!(s["themeStructure"]["requiredFields"], json!(["name"]));
        assert_eq!(fields_with(fields, "required", &json!(true)), ["name"]);
        // The tools set _id and isDefault; updateTheme refuses both.
        for system in [
            &s["themeStructure"]["systemControlledFields"],
            &s["importantNotes"]["systemControlledFields"]["fields"],
        ] {
            assert_eq!(names(system), ["_id", "isDefault"]);
        }
        assert_eq!(fields["_id"]["systemGenerated"], true);
        assert_eq!(fields["isDefault"]["systemControlled"], true);
        assert_eq!(fields["isDefault"]["default"], false);
        // The typical example is a theme the tools accept: a name, known fields only.
        for example in ["minimal", "typical"] {
            let payload = s["themeStructure"]["example"][example]["payload"]
                .as_object()
                .expect("payload");
            assert!(payload.get("name").and_then(Value::as_str).is_some());
            for key in payload.keys() {
                assert!(fields.contains_key(key), "{example}: {key}");
                assert!(key != "_id" && key != "isDefault");
            }
        }
        // Every tool the document names exists (the reference named one that does not).
        let tools: Vec<&str> = tools().iter().map(|t| t.name).collect();
        let text = s.to_string();
        let mut named = 0;
        for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
            let family = ["get", "create", "update", "delete", "set"]
                .iter()
                .any(|verb| word.starts_with(verb))
                && word.contains("Theme");
            if family {
                assert!(tools.contains(&word), "the schema names {word}");
                named += 1;
            }
        }
        assert!(named >= 5, "{named}");
        let workflow = s["recommendedWorkflow"].as_array().expect("steps");
        assert_eq!(workflow.len(), 5);
        assert!(workflow[0].as_str().unwrap_or("").contains("getThemes"));
    }

    #[test]
    fn identifier_filter_escapes_quotes_and_backslashes() {
        assert_eq!(
            identifier_filter("Robroy"),
            r#"_id eq "Robroy" or name eq "Robroy""#
        );
        assert_eq!(
            identifier_filter(r#"x" or true or "y"#),
            r#"_id eq "x\" or true or \"y" or name eq "x\" or true or \"y""#
        );
        assert_eq!(identifier_filter(r"a\"), r#"_id eq "a\\" or name eq "a\\""#);
    }

    #[test]
    fn lookup_matches_id_or_name_exactly() {
        let themes = vec![
            json!({"_id": "1", "name": "Robroy"}),
            json!({"_id": "Robroy2", "name": "Zardoz"}),
        ];
        assert_eq!(find_theme(&themes, "Robroy"), Some(0));
        assert_eq!(find_theme(&themes, "Robroy2"), Some(1));
        assert_eq!(find_theme(&themes, "robroy"), None);
        assert_eq!(find_theme(&themes, "2"), None);
    }

    #[test]
    fn structure_check_needs_a_realm_list() {
        for bad in [
            Value::Null,
            json!({}),
            json!({"realm": {}}),
            json!({"realm": {"alpha": null}}),
            json!({"realm": {"alpha": {"x": 1}}}),
        ] {
            assert_eq!(
                realm_themes(&bad, Realm::Alpha),
                Err("Invalid theme configuration structure for realm \"alpha\"".to_string())
            );
        }
        assert_eq!(
            realm_themes(&json!({"realm": {"alpha": []}}), Realm::Alpha),
            Ok(vec![])
        );
    }
}
