//! The tool catalogue: one module and one list per family, combined in the contract's
//! registration order. A tool is its metadata, an argument type (deserialised, then
//! validated before anything is sent) and an async body that returns the result text.

pub mod applications;
mod common;
pub mod esv;
pub mod features;
pub mod journeys;
pub mod logs;
pub mod managed_objects;
pub mod scripts;
pub mod themes;
mod track;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::activity::{password_fields, FieldPath, Masking};
use crate::auth::{AuthError, DevicePrompt, Session};
use crate::secret::AccessToken;
use crate::tenant::{ApiRequest, ApiResponse, TenantError};
use crate::validate::ValidationError;

/// The body of a tool call: `Ok(text)` on success, `Err(text)` when the tool ran and failed
/// (the text keeps the reference's prefixes and the `Transaction ID:` suffix).
pub type ToolFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

type Runner = dyn Fn(CallCtx, Value) -> Result<ToolFuture, ValidationError> + Send + Sync;

/// MCP tool annotations (only the hints the reference declares).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

impl Hints {
    /// RO OW
    pub const READ: Hints = Hints {
        read_only: Some(true),
        destructive: None,
        idempotent: None,
        open_world: Some(true),
    };
    /// D− OW
    pub const ADDITIVE: Hints = Hints {
        read_only: None,
        destructive: Some(false),
        idempotent: None,
        open_world: Some(true),
    };
    /// D+ OW
    pub const DESTRUCTIVE: Hints = Hints {
        read_only: None,
        destructive: Some(true),
        idempotent: None,
        open_world: Some(true),
    };
    /// D− Id+ OW: writes whose repetition leaves the same state (upserts, updates,
    /// setting a default).
    pub const IDEMPOTENT_WRITE: Hints = Hints {
        read_only: None,
        destructive: Some(false),
        idempotent: Some(true),
        open_world: Some(true),
    };
    /// D+ Id+ OW
    pub const DESTRUCTIVE_IDEMPOTENT: Hints = Hints {
        read_only: None,
        destructive: Some(true),
        idempotent: Some(true),
        open_world: Some(true),
    };
    /// D+ Id− OW
    pub const DESTRUCTIVE_NOT_IDEMPOTENT: Hints = Hints {
        read_only: None,
        destructive: Some(true),
        idempotent: Some(false),
        open_world: Some(true),
    };
    /// RO without OW: the tool sends no request.
    pub const LOCAL_READ: Hints = Hints {
        read_only: Some(true),
        destructive: None,
        idempotent: None,
        open_world: None,
    };
}

/// The realm of realm-taking tools (a closed enum, contract §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum Realm {
    Alpha,
    Bravo,
}

impl Realm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alpha => "alpha",
            Self::Bravo => "bravo",
        }
    }
}

impl std::fmt::Display for Realm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tool arguments: deserialised from the call, then checked by `validate`.
pub trait Args: DeserializeOwned + JsonSchema + Send + 'static {
    fn validate(&self) -> crate::validate::Result {
        Ok(())
    }
}

/// What a write addresses, named so its state can be read before and after the call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Subject {
    /// "managed object", "theme", …
    pub kind: String,
    /// How the window names it: "alpha_user a1000000-…", "alpha theme Starter Theme".
    pub label: String,
    /// What the family's reader needs to find it again (type and id, realm and name, …).
    pub key: Value,
}

/// The call that puts a journaled state back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Restore {
    pub tool: String,
    pub arguments: Value,
    /// What the restore cannot bring back (secret fields, fields the change added, a new
    /// `_id`).
    pub note: Option<String>,
}

/// How a family tracks the objects its writes address, for the change journal, the
/// approval card's current state, and revert. The tools' bodies never call it.
#[async_trait::async_trait]
pub trait Track: Send + Sync {
    /// The object a call with these arguments addresses; `None` when it names none yet
    /// (a create) or cannot be told from the arguments.
    fn subject(&self, tool: &str, args: &Value) -> Option<Subject>;
    /// Its state now, with the call's own token; `Ok(None)` when it does not exist.
    async fn read(&self, ctx: &CallCtx, subject: &Subject) -> Result<Option<Value>, String>;
    /// The state a call of `tool` with `args` would leave, worked out from the state
    /// `now` (for the approval card's diff); `None` when it cannot be told exactly (the
    /// card then shows the state now and the arguments). Never sends anything.
    fn preview(&self, _tool: &str, _args: &Value, _now: &Value) -> Option<Value> {
        None
    }
    /// The call that undoes `tool`'s change: back to `before` (an update's revert, a
    /// delete's re-create). `after` is the state the change left (its revision, if any).
    /// `Err` says why it cannot be undone.
    fn restore(
        &self,
        tool: &str,
        subject: &Subject,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<Restore, String>;
}

/// One tool.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub scopes: &'static [&'static str],
    pub hints: Hints,
    /// Registered in container mode (`DOCKER_CONTAINER=true`).
    pub container: bool,
    /// The family it belongs to (`themes`, `journeys`, …; see `policy::FAMILIES`), set by
    /// the registry.
    pub family: &'static str,
    /// Top-level argument names whose values are masked in the activity log.
    pub sensitive_args: &'static [&'static str],
    /// Top-level arguments holding a script source, shown in the activity log as their
    /// length and hash.
    pub script_args: &'static [&'static str],
    /// The fields `input_schema` declares `format: password`, masked in the activity log
    /// (derived once, when the tool is built).
    pub password_fields: Vec<FieldPath>,
    pub input_schema: Map<String, Value>,
    /// How its writes are tracked (journal, current state, revert); `None` for reads and
    /// for writes whose object cannot be read back.
    pub track: Option<Arc<dyn Track>>,
    run: Box<Runner>,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The metadata of a tool.
pub struct Meta {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub scopes: &'static [&'static str],
    pub hints: Hints,
    pub container: bool,
}

/// Builds a tool from its metadata, argument type and body.
pub fn tool<A, F, Fut>(meta: Meta, body: F) -> ToolDef
where
    A: Args,
    F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, String>> + Send + 'static,
{
    let body = Arc::new(body);
    let input_schema = input_schema::<A>();
    ToolDef {
        name: meta.name,
        title: meta.title,
        description: meta.description,
        scopes: meta.scopes,
        hints: meta.hints,
        container: meta.container,
        family: "",
        sensitive_args: &[],
        script_args: &[],
        password_fields: password_fields(&input_schema),
        input_schema,
        track: None,
        run: Box::new(move |ctx, args| {
            let args = parse_args::<A>(args)?;
            args.validate()?;
            let body = body.clone();
            Ok(Box::pin(async move { body(ctx, args).await }))
        }),
    }
}

impl ToolDef {
    /// Marks top-level arguments whose values never reach the activity log.
    pub fn with_sensitive_args(mut self, names: &'static [&'static str]) -> Self {
        self.sensitive_args = names;
        self
    }

    /// Marks top-level arguments that hold a script source: the activity log shows only
    /// their length and hash.
    pub fn with_script_args(mut self, names: &'static [&'static str]) -> Self {
        self.script_args = names;
        self
    }

    /// Tracks this tool's writes with `track`.
    pub fn tracked(mut self, track: Arc<dyn Track>) -> Self {
        self.track = Some(track);
        self
    }

    /// How this tool's arguments are masked before they are published.
    pub fn masking(&self) -> Masking<'_> {
        Masking {
            sensitive: self.sensitive_args,
            scripts: self.script_args,
            password_fields: &self.password_fields,
        }
    }

    /// Parses and validates `args`; on success returns the body to await.
    pub fn prepare(&self, ctx: CallCtx, args: Value) -> Result<ToolFuture, ValidationError> {
        (self.run)(ctx, args)
    }
}

fn parse_args<A: DeserializeOwned>(args: Value) -> Result<A, ValidationError> {
    let args = if args.is_null() {
        Value::Object(Map::new())
    } else {
        args
    };
    if !args.is_object() {
        return Err(ValidationError {
            field: "arguments".into(),
            message: "must be a JSON object".into(),
        });
    }
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." || path.is_empty() {
            inner
                .split('`')
                .nth(1)
                .filter(|_| inner.starts_with("missing field"))
                .unwrap_or("arguments")
                .to_string()
        } else {
            path
        };
        ValidationError {
            field,
            message: inner,
        }
    })
}

/// JSON Schema of an argument type as MCP clients want it: an object with `properties`,
/// `required` and `additionalProperties: false`; optional fields without `null`; field
/// docs as descriptions.
pub fn input_schema<A: JsonSchema>() -> Map<String, Value> {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.meta_schema = None;
    let generator = settings.into_generator();
    let schema = generator.into_root_schema_for::<A>();
    let mut value = serde_json::to_value(schema).unwrap_or_else(|_| Value::Object(Map::new()));
    if let Value::Object(map) = &mut value {
        map.remove("title");
        map.remove("description");
        map.insert("additionalProperties".into(), Value::Bool(false));
        map.entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    clean_schema(&mut value);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Removes what schemars adds that a zod-generated schema does not have: integer
/// `format`s, `null` in optional types.
fn clean_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get("type") {
                let non_null: Vec<Value> = types
                    .iter()
                    .filter(|t| t.as_str() != Some("null"))
                    .cloned()
                    .collect();
                if non_null.len() == 1 {
                    map.insert("type".into(), non_null[0].clone());
                }
            }
            if map.get("type").and_then(Value::as_str) == Some("integer") {
                map.remove("format");
            }
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::String(d)) = map.get_mut("description") {
                *d = d.split('\n').map(str::trim).collect::<Vec<_>>().join(" ");
            }
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (_, child) in map.iter_mut() {
                clean_schema(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_schema),
        _ => {}
    }
}

/// Everything a tool body may use: upstream requests with the call's scoped token.
#[derive(Clone)]
pub struct CallCtx {
    inner: Arc<CallInner>,
}

struct CallInner {
    session: Arc<Session>,
    call_id: u64,
    scopes: &'static [&'static str],
    prompt: Option<Arc<dyn DevicePrompt>>,
    tokens: tokio::sync::Mutex<HashMap<String, AccessToken>>,
    /// The transaction ids of the call's answered requests, in order.
    transactions: std::sync::Mutex<Vec<String>>,
}

impl CallCtx {
    pub fn new(
        session: Arc<Session>,
        call_id: u64,
        scopes: &'static [&'static str],
        prompt: Option<Arc<dyn DevicePrompt>>,
    ) -> Self {
        Self {
            inner: Arc::new(CallInner {
                session,
                call_id,
                scopes,
                prompt,
                tokens: tokio::sync::Mutex::new(HashMap::new()),
                transactions: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn call_id(&self) -> u64 {
        self.inner.call_id
    }

    /// One exchange per scope set per call, reused for every request of the call.
    async fn token(&self, scopes: &[&str]) -> Result<AccessToken, AuthError> {
        let key = scopes.join(" ");
        let mut tokens = self.inner.tokens.lock().await;
        if let Some(t) = tokens.get(&key) {
            return Ok(t.clone());
        }
        let t = self
            .inner
            .session
            .scoped_token(
                scopes,
                Some(self.inner.call_id),
                self.inner.prompt.as_deref(),
            )
            .await?;
        tokens.insert(key, t.clone());
        Ok(t)
    }

    /// Sends `req` with a token for the tool's scopes.
    pub async fn send(&self, req: ApiRequest) -> Result<ApiResponse, TenantError> {
        self.send_scoped(req, self.inner.scopes).await
    }

    /// Sends `req` with a token for `scopes` (tools whose requests differ in scope).
    pub async fn send_scoped(
        &self,
        req: ApiRequest,
        scopes: &[&str],
    ) -> Result<ApiResponse, TenantError> {
        let token = self
            .token(scopes)
            .await
            .map_err(|e| TenantError::Auth(e.to_string()))?;
        let r = self
            .inner
            .session
            .client()
            .send(&req, &token, Some(self.inner.call_id))
            .await?;
        if let Some(tx) = &r.transaction_id {
            if let Ok(mut all) = self.inner.transactions.lock() {
                all.push(tx.clone());
            }
        }
        Ok(r)
    }

    /// The transaction ids of the requests this call got answers to.
    pub fn transaction_ids(&self) -> Vec<String> {
        self.inner
            .transactions
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }
}

/// The catalogue for one mode.
#[derive(Debug)]
pub struct Registry {
    tools: Vec<ToolDef>,
}

impl Registry {
    /// All families in the contract's order; container mode keeps only its 28 tools.
    pub fn new(container_mode: bool) -> Self {
        fn family(family: &'static str, tools: Vec<ToolDef>) -> Vec<ToolDef> {
            tools.into_iter().map(|t| ToolDef { family, ..t }).collect()
        }
        let mut tools = Vec::new();
        tools.extend(family(
            "managedObjects",
            track::attach(
                managed_objects::tools(),
                Arc::new(managed_objects::ObjectTrack),
            ),
        ));
        tools.extend(family("logs", logs::tools()));
        tools.extend(family(
            "themes",
            track::attach(themes::tools(), Arc::new(themes::ThemeTrack)),
        ));
        tools.extend(family(
            "esv",
            track::attach(esv::tools(), Arc::new(esv::VariableTrack)),
        ));
        tools.extend(family("features", features::tools()));
        // AM journeys, nodes and scripts: one family in the reference, registered in the
        // code-unit order of its export names (`<name>Tool`).
        let mut am = family(
            "journeys",
            track::attach(
                journeys::tools(),
                Arc::new(journeys::tracking::JourneyTrack),
            ),
        );
        am.extend(family(
            "scripts",
            track::attach(scripts::tools(), Arc::new(scripts::ScriptTrack)),
        ));
        am.sort_by_key(|t| format!("{}Tool", t.name));
        tools.extend(am);
        tools.extend(family(
            "applications",
            track::attach(
                applications::tools(),
                Arc::new(applications::tracking::AppTrack),
            ),
        ));
        if container_mode {
            tools.retain(|t| t.container);
        }
        Self { tools }
    }

    pub fn tools(&self) -> &[ToolDef] {
        &self.tools
    }

    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// `JSON.stringify(v, null, 2)`.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The reference's `formatSuccess`: strings as they are, anything else as pretty JSON,
/// then the response's `Transaction ID:` suffix.
pub fn format_success(v: &Value, tx: &Option<String>) -> String {
    let body = match v {
        Value::String(s) => s.clone(),
        other => pretty(other),
    };
    format!("{body}{}", crate::tenant::tx_suffix_of(tx))
}

/// `"<prefix>: <err>"`.
pub fn failure(prefix: &str, err: impl std::fmt::Display) -> String {
    format!("{prefix}: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::{mask_arguments, PathStep};
    use serde_json::json;

    #[derive(serde::Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct UnlockArgs {
        /// The user.
        user_name: String,
        /// A one-time unlock phrase.
        #[schemars(extend("format" = "password"))]
        unlock_phrase: String,
    }
    impl Args for UnlockArgs {}

    #[test]
    fn password_format_fields_are_derived_when_the_tool_is_built() {
        let def = tool(
            Meta {
                name: "unlockUser",
                title: "Unlock",
                description: "Unlock a user.",
                scopes: &[],
                hints: Hints::ADDITIVE,
                container: true,
            },
            |_ctx: CallCtx, _a: UnlockArgs| async { Ok(String::new()) },
        );
        assert_eq!(
            def.password_fields,
            vec![FieldPath(vec![PathStep::Key("unlockPhrase".into())])]
        );
        let masked = mask_arguments(
            &json!({"userName": "bjensen", "unlockPhrase": "Open Sesame 1"}),
            def.masking(),
        );
        assert_eq!(
            masked,
            json!({"userName": "bjensen", "unlockPhrase": "********"})
        );
    }

    #[test]
    fn tools_taking_a_script_source_declare_it() {
        let registry = Registry::new(false);
        let mut declared = Vec::new();
        for t in registry.tools() {
            let props = t.input_schema.get("properties").and_then(Value::as_object);
            for (name, prop) in props.into_iter().flatten() {
                let doc = prop
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if doc.contains("JavaScript source") {
                    assert!(
                        t.script_args.contains(&name.as_str()),
                        "{}.{name} holds a script source",
                        t.name
                    );
                    declared.push(t.name);
                }
            }
        }
        assert_eq!(declared, ["createScript", "updateScript"]);
        let update = registry.get("updateScript").expect("tool");
        let m = mask_arguments(
            &json!({"realm": "alpha", "scriptId": "s", "script": "var k = 'sk-1';"}),
            update.masking(),
        );
        let shown = m["script"].as_str().unwrap_or_default();
        assert!(shown.starts_with("[script: 15 bytes, sha256 "), "{shown}");
    }

    #[test]
    fn registry_orders_families_and_filters_container_mode() {
        let local = Registry::new(false);
        let names: Vec<&str> = local.tools().iter().map(|t| t.name).collect();
        assert_eq!(names.len(), 52);
        // Families in the reference's order, each sorted by the code-unit order of the
        // reference's export names (`<name>Tool`).
        let families: [(&str, usize); 7] = [
            ("createManagedObjectDefinition", 11),
            ("getLogSources", 2),
            ("createTheme", 7),
            ("deleteVariable", 4),
            ("enableAiAgent", 4),
            ("createJourney", 18),
            ("createOidcApp", 6),
        ];
        let mut start = 0;
        for (first, len) in families {
            let family = &names[start..start + len];
            assert_eq!(family[0], first);
            let mut sorted = family.to_vec();
            sorted.sort_by_key(|n| format!("{n}Tool"));
            assert_eq!(
                sorted,
                family.to_vec(),
                "order within the family of {first}"
            );
            start += len;
        }
        assert_eq!(start, names.len());
        assert_eq!(
            Registry::new(true).tools().len(),
            28,
            "container mode has no AM or application tools"
        );
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "tool names are unique");
    }

    #[test]
    fn schemas_are_closed_objects() {
        for t in Registry::new(false).tools() {
            assert_eq!(
                t.input_schema.get("type"),
                Some(&Value::String("object".into())),
                "{}",
                t.name
            );
            assert_eq!(
                t.input_schema.get("additionalProperties"),
                Some(&Value::Bool(false))
            );
            assert!(!t.input_schema.contains_key("$schema"));
        }
    }
}
