//! Themes (7 tools, contract §3.4): the hosted-pages themes of a realm. Reads go through
//! the IDM endpoint `/openidm/ui/theme/`; every write is a read-modify-write of the whole
//! `ui/themerealm` config document (GET, then PUT with every other realm and key kept).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::common::{plain_text, NoArgs};
use super::{failure, format_success, pretty, tool, Args, CallCtx, Hints, Meta, Realm, ToolDef};
use crate::tenant::{ApiRequest, TenantError};
use crate::validate::{self, ValidationError};

const IDM: &[&str] = &["fr:idm:*"];
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
    Ok(pretty(&theme_schema()))
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

const HEX: &str = "hex color (#RRGGBB)";
const IMAGE: &str = "URL, base64 data URI, or localized object";
const TEXT_OR_LOCALIZED: &str = "string or localized object";
const HTML: &str = "HTML string or localized object";
const DEFAULT_HEADER: &str =
    "<div class=\"d-flex justify-content-center py-4 flex-grow-1\">Header Content</div>";
const DEFAULT_FOOTER: &str =
    "<div class=\"d-flex justify-content-center py-4 w-100\"><span>© 2021 My Company</span></div>";
const SVG_DATA_URI: &str =
    "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=";

/// One entry of `fields`: `type`, `required: false`, `description`, then the extras.
fn field(ty: &str, description: &str, extras: Value) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(ty));
    m.insert("required".into(), json!(false));
    m.insert("description".into(), json!(description));
    if let Value::Object(extra) = extras {
        m.extend(extra);
    }
    Value::Object(m)
}

fn color(description: &str, default: &str) -> Value {
    field(
        "string",
        description,
        json!({"format": HEX, "default": default}),
    )
}

fn switch(description: &str, default: bool) -> Value {
    field("boolean", description, json!({"default": default}))
}

fn image(description: &str, examples: &[&str]) -> Value {
    field(
        "string",
        description,
        json!({"format": IMAGE, "localizable": true, "default": "", "examples": examples}),
    )
}

fn alt_text(description: &str) -> Value {
    field(
        "string",
        description,
        json!({"format": TEXT_OR_LOCALIZED, "localizable": true, "default": ""}),
    )
}

fn html(description: &str, default: &str, example: &str) -> Value {
    field(
        "string",
        description,
        json!({"format": HTML, "localizable": true, "htmlSupport": true, "default": default, "example": example}),
    )
}

fn choice(description: &str, values: &[(&str, &str)], default: &str) -> Value {
    let names: Vec<&str> = values.iter().map(|(v, _)| *v).collect();
    let meanings: Map<String, Value> = values
        .iter()
        .map(|(v, d)| ((*v).to_string(), json!(d)))
        .collect();
    field(
        "string",
        description,
        json!({"enum": names, "enumDescriptions": meanings, "default": default, "example": default}),
    )
}

const LAYOUTS: &[(&str, &str)] = &[
    ("card", "The journey is shown in a card centred on the page"),
    (
        "justified-left",
        "The journey sits on the left; the right side can show a content panel",
    ),
    (
        "justified-right",
        "The journey sits on the right; the left side can show a content panel",
    ),
];

const BUTTON_POSITIONS: &[(&str, &str)] = &[
    ("flex-column", "The button spans the full width of the card"),
    ("justify-content-center", "The button is centred"),
    ("justify-content-start", "The button is aligned to the left"),
    ("justify-content-end", "The button is aligned to the right"),
];

const FOCUS_ELEMENTS: &[(&str, &str)] = &[
    (
        "header",
        "Screen readers and keyboards start at the header on every step",
    ),
    (
        "headerFirstStep",
        "Start at the header on the first step, then at the page content",
    ),
    ("content", "Always start at the page content"),
];

const LOCALIZABLE: &[&str] = &[
    "favicon",
    "logo",
    "logoAltText",
    "logoProfile",
    "logoProfileAltText",
    "logoProfileCollapsed",
    "logoProfileCollapsedAltText",
    "journeyHeader",
    "journeyFooter",
    "journeyJustifiedContent",
    "accountFooter",
];

fn theme_fields() -> Map<String, Value> {
    let mut f = Map::new();
    let mut add = |name: &str, v: Value| {
        f.insert(name.to_string(), v);
    };

    // Identity and system fields
    add(
        "_id",
        field(
            "string",
            "The theme's unique identifier",
            json!({"systemGenerated": true, "immutable": true,
                   "note": "A UUID generated by createTheme; never send it when creating a theme."}),
        ),
    );
    let mut name = field(
        "string",
        "The theme's display name, also usable as themeIdentifier",
        json!({"constraints": "Must be unique within the realm", "example": "Acme Corporate"}),
    );
    if let Value::Object(m) = &mut name {
        m.insert("required".into(), json!(true));
    }
    add("name", name);
    add(
        "linkedTrees",
        field(
            "array",
            "Journeys (authentication trees) that use this theme",
            json!({"default": [], "example": ["Login", "Registration"]}),
        ),
    );
    add(
        "isDefault",
        field(
            "boolean",
            "Whether this theme is the realm's default theme",
            json!({"systemControlled": true, "default": false,
                   "note": "Always false for a new theme; change it only with setDefaultTheme."}),
        ),
    );

    // Global styles
    add(
        "primaryColor",
        color("Main brand color: buttons, checkboxes, switches", "#324054"),
    );
    add(
        "primaryOffColor",
        color("Brand color when hovering a button", "#242E3C"),
    );
    add(
        "buttonFocusBorderColor",
        color("Focus outline of buttons and links", "#0672cb"),
    );
    add("secondaryColor", color("Muted (secondary) text", "#69788b"));
    add(
        "successColor",
        color("Success messages and actions", "#2ed47a"),
    );
    add(
        "dangerColor",
        color("Errors and critical alerts", "#f7685b"),
    );
    add("warningColor", color("Warning messages", "#ffb946"));
    add("infoColor", color("Informational messages", "#109cf1"));
    add(
        "lightColor",
        color("Light color, for text on dark backgrounds", "#f6f8fa"),
    );
    add(
        "darkColor",
        color("Dark color, for text or dark backgrounds", "#23282e"),
    );
    add(
        "fontFamily",
        field(
            "string",
            "Font of all text: a standard font or a Google Fonts family name",
            json!({"default": "Open Sans", "examples": ["Open Sans", "Roboto", "Arial", "Helvetica", "Lato"]}),
        ),
    );
    add("textColor", color("Text color on buttons", "#ffffff"));
    add(
        "buttonRounded",
        field(
            "string",
            "Corner radius of buttons, in pixels",
            json!({"format": "pixels (0-100)", "default": "5", "examples": ["0", "5", "20", "50"]}),
        ),
    );
    add("linkColor", color("Links", "#109cf1"));
    add(
        "linkActiveColor",
        color("Links when hovered or active", "#0c85cf"),
    );
    add(
        "linkColorOnDark",
        color("Links on a dark background", "#109cf1"),
    );
    add(
        "linkActiveColorOnDark",
        color("Hovered or active links on a dark background", "#0a6eab"),
    );
    add("boldLinks", switch("Show links in bold", false));
    add(
        "switchBackgroundColor",
        color("Background of toggle switches when off", "#939393"),
    );
    add(
        "favicon",
        image(
            "Browser tab icon of journey and account pages",
            &[
                "https://example.com/favicon.ico",
                "data:image/x-icon;base64,AAABAAEAEBAAAAEAIABoBAAAFgAAAC...",
            ],
        ),
    );

    // Journey pages
    add(
        "backgroundColor",
        color("Page background behind the journey", "#324054"),
    );
    add(
        "backgroundImage",
        field(
            "string",
            "Optional background image of journey pages",
            json!({"format": "URL or base64 data URI", "default": "",
                   "examples": ["https://example.com/background.jpg", "data:image/jpeg;base64,/9j/4AAQSkZJRg..."]}),
        ),
    );
    add(
        "journeyCardBackgroundColor",
        color("Background of the sign-in card", "#ffffff"),
    );
    add(
        "journeyCardHeaderBackgroundColor",
        color("Background of the sign-in card's header", "#ffffff"),
    );
    add(
        "journeyCardTitleColor",
        color("Title text of journey pages", "#23282e"),
    );
    add(
        "journeyCardTextColor",
        color("Body text of journey pages", "#5e6d82"),
    );
    add(
        "journeyInputBackgroundColor",
        color("Background of input fields", "#ffffff"),
    );
    add(
        "journeyInputBorderColor",
        color("Border of input fields", "#c0c9d5"),
    );
    add(
        "journeyInputFocusBorderColor",
        color(
            "Border of the focused input field (falls back to primaryColor when unset)",
            "#324054",
        ),
    );
    add(
        "journeyInputSelectColor",
        color("Selected item of drop-down lists", "#e4f4fd"),
    );
    add(
        "journeyInputSelectHoverColor",
        color("Hovered item of drop-down lists", "#f6f8fa"),
    );
    add(
        "journeyInputTextColor",
        color("Text typed into input fields", "#23282e"),
    );
    add(
        "journeyInputLabelColor",
        color("Labels of input fields", "#5e6d82"),
    );
    add(
        "journeyCardShadow",
        field(
            "number",
            "Size of the sign-in card's shadow, in pixels",
            json!({"format": "pixels (0-25)", "default": 3, "examples": [0, 3, 12, 25]}),
        ),
    );
    add(
        "journeyCardBorderRadius",
        field(
            "number",
            "Corner radius of the sign-in card, in pixels",
            json!({"format": "pixels (0-100)", "default": 4, "examples": [0, 4, 16, 32]}),
        ),
    );
    add(
        "journeyFloatingLabels",
        switch("Labels float inside input fields", true),
    );
    add(
        "journeyShowAsteriskForRequiredFields",
        switch("Mark required fields with an asterisk (*)", false),
    );
    add(
        "logoEnabled",
        switch("Show the logo on journey pages", true),
    );
    add(
        "logo",
        image(
            "Logo of journey pages (PNG, JPG or SVG)",
            &["https://example.com/logo.svg", SVG_DATA_URI],
        ),
    );
    add(
        "logoAltText",
        alt_text("Alternative text of the journey logo, for accessibility"),
    );
    add(
        "logoHeight",
        field(
            "string",
            "Height of the journey logo, in pixels",
            json!({"format": "pixels (40-100)", "default": "40", "examples": ["40", "56", "72", "100"]}),
        ),
    );
    add(
        "journeyLayout",
        choice("Layout of journey pages", LAYOUTS, "card"),
    );
    add(
        "journeySignInButtonPosition",
        choice(
            "Position of the sign-in button",
            BUTTON_POSITIONS,
            "flex-column",
        ),
    );
    add(
        "journeyJustifiedContentEnabled",
        switch(
            "Show the content panel next to the journey (justified layouts only)",
            false,
        ),
    );
    add(
        "journeyJustifiedContent",
        html(
            "HTML of the content panel of justified layouts",
            "",
            "<div class=\"d-flex align-items-center h-100 p-5\"><h2>Welcome to Acme</h2></div>",
        ),
    );
    add(
        "journeyJustifiedContentMobileViewEnabled",
        switch("Also show the content panel on small screens", false),
    );
    add(
        "journeyTheaterMode",
        switch(
            "Use the whole browser window (layouts other than card)",
            false,
        ),
    );
    add(
        "journeyHeaderEnabled",
        switch("Show a header above the journey", false),
    );
    add(
        "journeyHeader",
        html(
            "HTML of the journey header",
            DEFAULT_HEADER,
            "<div class=\"d-flex justify-content-center py-3\"><strong>Acme</strong></div>",
        ),
    );
    add(
        "journeyHeaderSkipLinkEnabled",
        switch(
            "Add a 'skip to content' link before the header, for keyboard users",
            false,
        ),
    );
    add(
        "journeyFocusElement",
        choice(
            "Where keyboard and screen-reader focus starts on journey pages",
            FOCUS_ELEMENTS,
            "header",
        ),
    );
    add(
        "journeyFooterEnabled",
        switch("Show a footer below the journey", false),
    );
    add(
        "journeyFooter",
        html(
            "HTML of the journey footer",
            DEFAULT_FOOTER,
            "<div class=\"text-center py-3\"><a href=\"https://example.com/privacy\">Privacy</a></div>",
        ),
    );
    add(
        "journeyA11yAddFallbackErrorHeading",
        switch(
            "Add a heading to error messages that have none, for screen readers",
            true,
        ),
    );
    add(
        "journeyRememberMeEnabled",
        switch("Offer a 'remember me' checkbox on sign-in", false),
    );
    add(
        "journeyRememberMeLabel",
        field(
            "string",
            "Label of the 'remember me' checkbox",
            json!({"default": "", "example": "Remember me"}),
        ),
    );

    // Account pages
    add(
        "accountNavigationBackgroundColor",
        color("Background of the account navigation menu", "#ffffff"),
    );
    add(
        "accountNavigationTextColor",
        color("Text of the account navigation menu", "#455469"),
    );
    add(
        "profileMenuHighlightColor",
        color("Background of the selected menu item", "#f3f5f8"),
    );
    add(
        "profileMenuTextHighlightColor",
        color("Text of the selected menu item", "#455469"),
    );
    add(
        "profileMenuHoverColor",
        color("Background of a hovered menu item", "#f3f5f8"),
    );
    add(
        "profileMenuHoverTextColor",
        color("Text of a hovered menu item", "#455469"),
    );
    add(
        "accountNavigationToggleBorderColor",
        color("Border of the menu's collapse toggle", "#e7eef4"),
    );
    add(
        "topBarBackgroundColor",
        color("Background of the top bar", "#ffffff"),
    );
    add(
        "topBarBorderColor",
        color("Border of the top bar", "#e7eef4"),
    );
    add(
        "topBarHeaderColor",
        color("Heading text of the top bar", "#23282e"),
    );
    add("topBarTextColor", color("Text of the top bar", "#69788b"));
    add(
        "profileBackgroundColor",
        color("Background of account pages", "#f6f8fa"),
    );
    add(
        "pageTitle",
        color("Page titles of account pages", "#23282e"),
    );
    add("bodyText", color("Body text of account pages", "#23282e"));
    add(
        "accountCardBackgroundColor",
        color("Background of account cards", "#ffffff"),
    );
    add(
        "accountCardOuterBorderColor",
        color("Outer border of account cards", "#e7eef4"),
    );
    add(
        "accountCardInnerBorderColor",
        color("Dividers inside account cards", "#e7eef4"),
    );
    add(
        "accountCardHeaderColor",
        color("Heading text of account cards", "#23282e"),
    );
    add(
        "accountCardTextColor",
        color("Text of account cards", "#5e6d82"),
    );
    add(
        "accountCardTabActiveColor",
        color("Background of the active tab", "#e4f4fd"),
    );
    add(
        "accountCardTabActiveBorderColor",
        color("Underline of the active tab", "#109cf1"),
    );
    add(
        "accountTableRowHoverColor",
        color("Hovered table row", "#f6f8fa"),
    );
    add(
        "accountCardInputBackgroundColor",
        color("Background of input fields on account pages", "#ffffff"),
    );
    add(
        "accountCardInputBorderColor",
        color("Border of input fields on account pages", "#c0c9d5"),
    );
    add(
        "accountCardInputFocusBorderColor",
        color(
            "Border of the focused input field on account pages (falls back to primaryColor when unset)",
            "#324054",
        ),
    );
    add(
        "accountCardInputSelectColor",
        color(
            "Selected item of drop-down lists on account pages",
            "#edf7fd",
        ),
    );
    add(
        "accountCardInputSelectHoverColor",
        color(
            "Hovered item of drop-down lists on account pages",
            "#f6f8fa",
        ),
    );
    add(
        "accountCardInputTextColor",
        color("Text typed into input fields on account pages", "#23282e"),
    );
    add(
        "accountCardInputLabelColor",
        color("Labels of input fields on account pages", "#5e6d82"),
    );
    add(
        "accountCardShadow",
        field(
            "number",
            "Size of the account cards' shadow, in pixels",
            json!({"format": "pixels (0-25)", "default": 3, "examples": [0, 3, 12, 25]}),
        ),
    );
    add(
        "logoProfile",
        image(
            "Logo of account pages while the navigation menu is expanded",
            &["https://example.com/logo-wide.svg", SVG_DATA_URI],
        ),
    );
    add(
        "logoProfileAltText",
        alt_text("Alternative text of the expanded account logo"),
    );
    add(
        "logoProfileCollapsed",
        image(
            "Logo of account pages while the navigation menu is collapsed",
            &["https://example.com/logo-mark.svg", SVG_DATA_URI],
        ),
    );
    add(
        "logoProfileCollapsedAltText",
        alt_text("Alternative text of the collapsed account logo"),
    );
    add(
        "logoProfileHeight",
        field(
            "string",
            "Height of the expanded account logo, in pixels",
            json!({"format": "pixels (20-40)", "default": "24", "examples": ["20", "24", "32", "40"]}),
        ),
    );
    add(
        "logoProfileCollapsedHeight",
        field(
            "string",
            "Height of the collapsed account logo, in pixels",
            json!({"format": "pixels (20-40)", "default": "24", "examples": ["20", "24", "32", "40"]}),
        ),
    );
    add(
        "accountFooterEnabled",
        switch("Show a footer on account pages", false),
    );
    add(
        "accountFooter",
        html(
            "HTML of the account pages' footer",
            DEFAULT_FOOTER,
            "<div class=\"text-center py-3 small\">© 2025 Acme Corporation</div>",
        ),
    );
    add(
        "accountPageSections",
        field(
            "object",
            "Which sections the user's profile page shows; each section (and each subsection of accountSecurity) is {\"enabled\": boolean}",
            json!({
                "structure": {
                    "personalInformation": {"enabled": "boolean, default true"},
                    "accountSecurity": {
                        "enabled": "boolean, default true",
                        "subsections": {
                            "username": {"enabled": "boolean, default true (always shown)"},
                            "password": {"enabled": "boolean, default true"},
                            "twoStepVerification": {"enabled": "boolean, default true"},
                            "securityQuestions": {"enabled": "boolean, default false"}
                        }
                    },
                    "social": {"enabled": "boolean, default false"},
                    "trustedDevices": {"enabled": "boolean, default true"},
                    "oauthApplications": {"enabled": "boolean, default false"},
                    "preferences": {"enabled": "boolean, default false"},
                    "consent": {"enabled": "boolean, default false"},
                    "accountControls": {"enabled": "boolean, default false"}
                },
                "default": {
                    "personalInformation": {"enabled": true},
                    "accountSecurity": {
                        "enabled": true,
                        "subsections": {
                            "username": {"enabled": true},
                            "password": {"enabled": true},
                            "twoStepVerification": {"enabled": true},
                            "securityQuestions": {"enabled": false}
                        }
                    },
                    "social": {"enabled": false},
                    "trustedDevices": {"enabled": true},
                    "oauthApplications": {"enabled": false},
                    "preferences": {"enabled": false},
                    "consent": {"enabled": false},
                    "accountControls": {"enabled": false}
                }
            }),
        ),
    );
    f
}

/// The whole `getThemeSchema` document.
pub fn theme_schema() -> Value {
    let names = |values: &[(&'static str, &'static str)]| -> Vec<&'static str> {
        values.iter().map(|(v, _)| *v).collect()
    };
    json!({
        "schemaVersion": "1.0",
        "description": "A PingOne Advanced Identity Cloud theme: the look of a realm's hosted journey pages (sign-in, registration…) and account pages. Themes live in the realm's theme configuration; exactly one theme per realm is the default.",
        "themeStructure": {
            "description": "A theme is a flat JSON object of the fields listed under 'fields' (accountPageSections is the only nested one). Fields left out take their default.",
            "requiredFields": ["name"],
            "systemControlledFields": {
                "_id": "A UUID generated when the theme is created; do not send it on create",
                "isDefault": "Set only through setDefaultTheme; always false on create"
            },
            "example": {
                "minimal": {
                    "description": "The least a new theme needs",
                    "payload": {"name": "Acme"}
                },
                "typical": {
                    "description": "Brand colors, a logo and the card layout",
                    "payload": {
                        "name": "Acme Brand",
                        "primaryColor": "#0066cc",
                        "primaryOffColor": "#0052a3",
                        "logo": "https://example.com/logo.svg",
                        "logoHeight": "48",
                        "journeyLayout": "card",
                        "backgroundColor": "#f5f7fa"
                    }
                }
            }
        },
        "fields": theme_fields(),
        "importantNotes": {
            "htmlCssFields": {
                "description": "These fields take HTML styled with Bootstrap 4 classes and inline CSS",
                "fields": ["journeyHeader", "journeyFooter", "journeyJustifiedContent", "accountFooter"],
                "supported": ["Bootstrap 4 classes", "inline CSS (style attributes)", "inline SVG", "images as data URIs"],
                "notSupported": ["external stylesheets (<link>)", "external fonts (@import or <link>)", "JavaScript", "<script> elements"],
                "example": "<div class=\"d-flex justify-content-center py-3\" style=\"background-color: #f5f7fa;\"><strong>Acme</strong></div>"
            },
            "localization": {
                "description": "Localizable fields accept either one value for every language or an object keyed by locale",
                "format": "{\"en\": \"English value\", \"fr\": \"Valeur française\"}",
                "fields": LOCALIZABLE,
                "example": {"en": "Welcome", "fr": "Bienvenue", "es": "Bienvenido"}
            },
            "colorFormat": {
                "description": "Every color is a six-digit hex value with a leading #",
                "format": "#RRGGBB",
                "valid": ["#ffffff", "#000000", "#0066cc", "#324054"],
                "invalid": ["#fff", "#ffffffff", "white", "rgb(255, 255, 255)"]
            },
            "imageFields": {
                "description": "Image fields take a hosted HTTPS URL or a base64 data URI",
                "fields": ["favicon", "logo", "logoProfile", "logoProfileCollapsed", "backgroundImage"],
                "supportedFormats": ["PNG", "JPG/JPEG", "SVG", "ICO (favicon only)"],
                "examples": {
                    "hostedUrl": "https://example.com/logo.svg",
                    "dataUri": SVG_DATA_URI
                },
                "notes": [
                    "SVG is the best choice for logos: it scales and stays small",
                    "Data URIs embed the image in the theme, but they can be very long; prefer a hosted URL for large images"
                ]
            },
            "enumFields": {
                "journeyLayout": names(LAYOUTS),
                "journeySignInButtonPosition": names(BUTTON_POSITIONS),
                "journeyFocusElement": names(FOCUS_ELEMENTS)
            },
            "autoCalculatedFields": {
                "description": "When not set, these fields take the value of another field",
                "fields": {
                    "journeyInputFocusBorderColor": "primaryColor",
                    "accountCardInputFocusBorderColor": "primaryColor"
                }
            },
            "systemControlledFields": {
                "description": "Set by the tools, never by the caller",
                "fields": {
                    "_id": "Generated on create and never changed",
                    "isDefault": "false on create; changed only with setDefaultTheme"
                }
            }
        },
        "recommendedWorkflow": [
            "1. List the realm's themes with getThemes",
            "2. Read an existing theme with getTheme to see a real example (the stock \"Robroy\" theme, if present, is a good one)",
            "3. Review this schema for the fields, formats and defaults",
            "4. Create the new theme with createTheme",
            "5. Make it the realm's default with setDefaultTheme"
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_documents_every_field() {
        let s = theme_schema();
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
        let fields = s["fields"].as_object().expect("fields");
        assert_eq!(fields.len(), 99);
        for (name, f) in fields {
            for key in ["type", "required", "description"] {
                assert!(f.get(key).is_some(), "{name} lacks {key}");
            }
            if f.get("format") == Some(&json!(HEX)) {
                let d = f["default"].as_str().expect("hex default");
                assert!(
                    d.len() == 7
                        && d.starts_with('#')
                        && d[1..].chars().all(|c| c.is_ascii_hexdigit()),
                    "{name}: {d}"
                );
            }
        }
        assert_eq!(fields["name"]["required"], true);
        assert_eq!(fields.values().filter(|f| f["required"] == true).count(), 1);
        let localizable: Vec<&str> = fields
            .iter()
            .filter(|(_, f)| f.get("localizable") == Some(&json!(true)))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut expected = LOCALIZABLE.to_vec();
        expected.sort_unstable();
        let mut got = localizable.clone();
        got.sort_unstable();
        assert_eq!(got, expected);
        let html: Vec<&str> = fields
            .iter()
            .filter(|(_, f)| f.get("htmlSupport") == Some(&json!(true)))
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            html,
            [
                "journeyJustifiedContent",
                "journeyHeader",
                "journeyFooter",
                "accountFooter"
            ]
        );
        assert_eq!(
            fields["journeyLayout"]["enum"],
            json!(["card", "justified-left", "justified-right"])
        );
        assert_eq!(
            fields["journeyFocusElement"]["enum"],
            json!(["header", "headerFirstStep", "content"])
        );
        assert_eq!(fields["journeyCardShadow"]["default"], 3);
        assert_eq!(fields["logoHeight"]["default"], "40");
        assert_eq!(
            fields["accountPageSections"]["default"]["accountSecurity"]["subsections"]
                ["securityQuestions"]["enabled"],
            false
        );
        assert!(fields["accountPageSections"].get("structure").is_some());
        let workflow = s["recommendedWorkflow"].as_array().expect("steps");
        assert_eq!(workflow.len(), 5);
        assert!(workflow[0].as_str().unwrap_or("").contains("getThemes"));
        assert!(!s.to_string().contains("getRealmThemes"));
        assert_eq!(
            s["themeStructure"]["example"]["typical"]["payload"]["journeyLayout"],
            "card"
        );
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
