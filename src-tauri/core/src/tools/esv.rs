//! ESVs (4 tools, contract §3.5): the tenant's environment secrets and variables under
//! `/environment/…`. Variables can be read, set and deleted; secrets are only listed, and
//! never with their values. An ESV value never reaches the activity log (`setVariable`
//! declares `value` sensitive).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Number, Value};

use super::{failure, format_success, tool, Args, CallCtx, Hints, Meta, ToolDef};
use crate::tenant::ApiRequest;
use crate::validate::{self, ValidationError};

const ESV_READ: &[&str] = &["fr:idc:esv:read"];
const ESV_UPDATE: &[&str] = &["fr:idc:esv:update"];
const VARIABLES: &str = "/environment/variables";
const SECRETS: &str = "/environment/secrets";
/// `Accept-API-Version` of queries, variable reads and writes.
const RESOURCE_2: &str = "resource=2.0";
/// `Accept-API-Version` of a variable delete.
const DELETE_VERSION: &str = "protocol=1.0,resource=1.0";
/// The longest ESV id the tenant accepts: `esv-` and 120 more characters.
const MAX_ID_CHARS: usize = 124;
const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The family's tools, in registration order.
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "deleteVariable",
                title: "Delete Environment Variable (ESV)",
                description: "Delete an environment variable (ESV) by id, for example esv-old-feature-flag. Scripts and configuration placeholders that still reference it will break. The change takes effect after the tenant's pods restart. This cannot be undone.",
                scopes: ESV_UPDATE,
                hints: Hints::DESTRUCTIVE,
                container: true,
            },
            delete_variable,
        ),
        tool(
            Meta {
                name: "getVariable",
                title: "Get Environment Variable (ESV)",
                description: "Read one environment variable (ESV) by id, for example esv-tenant-name, with its value decoded from base64 into the 'value' field. The value is always text: array and object variables show their JSON text, bool and int variables show true/false or the digits. Find ids with queryESVs. Secret values cannot be read.",
                scopes: ESV_READ,
                hints: Hints::READ,
                container: true,
            },
            get_variable,
        ),
        tool(
            Meta {
                name: "queryESVs",
                title: "Query Environment Secrets and Variables (ESVs)",
                description: "List or search the tenant's environment variables or secrets (ESVs). The search term matches a substring of the ESV id, for example queryTerm 'oauth' finds esv-oauth-client-secret; without a term everything is listed. Secrets are listed without their values; read a variable's value with getVariable. Results are paged: pageSize 1 to 100 (default 50), and the pagedResultsCookie of a result fetches the next page. sortKeys is a comma-separated list of fields, '-' for descending, for example _id,-lastChangeDate.",
                scopes: ESV_READ,
                hints: Hints::READ,
                container: true,
            },
            query_esvs,
        ),
        tool(
            Meta {
                name: "setVariable",
                title: "Set Environment Variable (ESV)",
                description: "Create an environment variable (ESV) or overwrite its value and description. Pass the value as a native JSON value, not as a JSON-encoded string; the tool serialises and base64-encodes it: a string for type 'string', an array for 'array' (for example [\"https://app.example.com\", \"https://admin.example.com\"]), an object for 'object' (for example {\"enabled\": true}), true or false for 'bool', an integer for 'int', a number for 'number'. Prefer 'array' over 'list' (a legacy comma-separated text; an array value is joined with commas). The type of an existing variable cannot be changed: delete it and create it again instead. Ids start with 'esv-' followed by lower-case letters, digits, '_' or '-', at most 124 characters in all, for example esv-max-sessions. Changes take effect after the tenant's pods restart.",
                scopes: ESV_UPDATE,
                hints: Hints::IDEMPOTENT_WRITE,
                container: true,
            },
            set_variable,
        )
        .with_sensitive_args(&["value"]),
    ]
}

/// The id of a variable to read or delete: a safe path segment no longer than any ESV id.
fn variable_id_rule(value: &str) -> validate::Result {
    validate::safe_segment("variableId", value)?;
    validate::max_chars("variableId", value, MAX_ID_CHARS)
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableIdArgs {
    /// The variable's id, for example "esv-tenant-name" (queryESVs lists them).
    #[schemars(length(min = 1))]
    variable_id: String,
}

impl Args for VariableIdArgs {
    fn validate(&self) -> validate::Result {
        variable_id_rule(&self.variable_id)
    }
}

async fn delete_variable(ctx: CallCtx, a: VariableIdArgs) -> Result<String, String> {
    let id = &a.variable_id;
    let r = ctx
        .send(
            ApiRequest::delete(VARIABLES)
                .seg(id)
                .api_version(DELETE_VERSION),
        )
        .await
        .map_err(|e| failure(&format!("Failed to delete variable '{id}'"), e))?;
    Ok(format_success(
        &json!({
            "_id": id,
            "message": format!("Deleted variable '{id}'. Pod restart required for changes to take effect."),
        }),
        &r.transaction_id,
    ))
}

async fn get_variable(ctx: CallCtx, a: VariableIdArgs) -> Result<String, String> {
    let id = &a.variable_id;
    let r = ctx
        .send(ApiRequest::get(VARIABLES).seg(id).api_version(RESOURCE_2))
        .await
        .map_err(|e| failure(&format!("Failed to get variable '{id}'"), e))?;
    Ok(format_success(&decode_value(r.body), &r.transaction_id))
}

/// Base64 as Node's `Buffer.from(text, "base64")` reads it: padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Replaces a non-empty `valueBase64` with the decoded text as `value`, the last key. A
/// value that is not base64 at all is left as it came.
fn decode_value(mut body: Value) -> Value {
    let Value::Object(map) = &mut body else {
        return body;
    };
    let Some(encoded) = map
        .get("valueBase64")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return body;
    };
    let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(bytes) = LENIENT.decode(compact) else {
        return body;
    };
    map.shift_remove("valueBase64");
    map.shift_remove("value");
    map.insert(
        "value".into(),
        Value::String(String::from_utf8_lossy(&bytes).into_owned()),
    );
    body
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum EsvKind {
    Variable,
    Secret,
}

impl EsvKind {
    fn path(self) -> &'static str {
        match self {
            Self::Variable => VARIABLES,
            Self::Secret => SECRETS,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::Variable => "variables",
            Self::Secret => "secrets",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryArgs {
    /// "variable" to list environment variables, "secret" to list secrets.
    #[serde(rename = "type")]
    kind: EsvKind,
    /// Part of the ESV id to look for, for example "oauth" (finds esv-oauth-client-id).
    /// Omitted or empty: every variable or secret.
    #[schemars(length(max = 100))]
    query_term: Option<String>,
    /// Results per page, 1 to 100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    page_size: Option<i64>,
    /// The pagedResultsCookie of the previous page, to get the next one.
    paged_results_cookie: Option<String>,
    /// Comma-separated sort keys, '-' for descending, for example _id,-lastChangeDate.
    #[schemars(length(max = 200))]
    sort_keys: Option<String>,
}

impl Args for QueryArgs {
    fn validate(&self) -> validate::Result {
        if let Some(t) = &self.query_term {
            validate::text("queryTerm", t, 100)?;
        }
        if let Some(n) = self.page_size {
            validate::range("pageSize", n, 1, 100)?;
        }
        if let Some(c) = &self.paged_results_cookie {
            validate::text("pagedResultsCookie", c, 4096)?;
        }
        if let Some(s) = &self.sort_keys {
            validate::field_list("sortKeys", s, 200)?;
        }
        Ok(())
    }
}

/// `/_id co "<term>"` with the term escaped, or `true` without a term.
fn id_filter(term: Option<&str>) -> String {
    match term.filter(|t| !t.is_empty()) {
        Some(t) => format!("/_id co \"{}\"", validate::crest_string(t)),
        None => "true".to_string(),
    }
}

async fn query_esvs(ctx: CallCtx, a: QueryArgs) -> Result<String, String> {
    let page_size = a.page_size.unwrap_or(50).min(100).to_string();
    let mut req = ApiRequest::get(a.kind.path())
        .api_version(RESOURCE_2)
        .query("_queryFilter", &id_filter(a.query_term.as_deref()))
        .query("_pageSize", &page_size);
    if let Some(c) = &a.paged_results_cookie {
        req = req.query("_pagedResultsCookie", c);
    }
    if let Some(s) = &a.sort_keys {
        req = req.query("_sortKeys", s);
    }
    let r = ctx.send(req).await.map_err(|e| {
        failure(
            &format!("Failed to query environment {}", a.kind.plural()),
            e,
        )
    })?;
    Ok(format_success(&r.body, &r.transaction_id))
}

// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum ExpressionType {
    String,
    Array,
    Object,
    Bool,
    Int,
    Number,
    List,
}

impl ExpressionType {
    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Array => "array",
            Self::Object => "object",
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Number => "number",
            Self::List => "list",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetVariableArgs {
    /// The variable's id: "esv-" followed by lower-case letters, digits, '_' or '-', at
    /// most 124 characters, for example "esv-max-sessions".
    #[schemars(length(min = 1))]
    variable_id: String,
    /// The value as a native JSON value matching type, not a JSON-encoded string: for
    /// example "Example Corp" (string), ["https://app.example.com"] (array),
    /// {"enabled": true} (object), true (bool), 5 (int), 2.5 (number), ["a", "b"] or
    /// "a,b" (list).
    value: Value,
    /// The variable's type: string, array, object, bool, int, number or list (legacy
    /// comma-separated text; prefer array). It cannot change once the variable exists.
    #[serde(rename = "type")]
    kind: ExpressionType,
    /// What the variable is for, for example "Maximum concurrent sessions per user".
    #[schemars(length(max = 1000))]
    description: Option<String>,
}

impl Args for SetVariableArgs {
    fn validate(&self) -> validate::Result {
        validate::safe_segment("variableId", &self.variable_id)?;
        esv_id_rule(&self.variable_id)?;
        value_matches_type(&self.value, self.kind)?;
        if let Some(d) = &self.description {
            validate::max_chars("description", d, MAX_DESCRIPTION_CHARS)?;
        }
        Ok(())
    }
}

/// Contract §4.5: `^esv-[a-z0-9_-]{1,120}$`.
fn esv_id_rule(id: &str) -> validate::Result {
    let ok = id
        .strip_prefix("esv-")
        .map(|rest| {
            (1..=MAX_ID_CHARS - 4).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    let shown: String = id.chars().take(80).collect();
    let ellipsis = if id.chars().count() > 80 { "…" } else { "" };
    Err(ValidationError::new(
        "variableId",
        format!(
            "Invalid variable ID '{}{ellipsis}': an ESV id is 'esv-' followed by 1 to 120 lower-case letters, digits, '_' or '-' (^esv-[a-z0-9_-]{{1,120}}$, at most 124 characters), for example esv-max-sessions",
            shown.escape_debug()
        ),
    ))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn contains_object(v: &Value) -> bool {
    match v {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(contains_object),
        _ => false,
    }
}

fn is_integral(n: &Number) -> bool {
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

/// The value is of the JSON kind its type stores (the reference would otherwise store,
/// for example, the quoted text "\"42\"" in an int variable, or "[object Object]").
fn value_matches_type(value: &Value, kind: ExpressionType) -> validate::Result {
    let ty = kind.as_str();
    let bad = |message: String| Err(ValidationError::new("value", message));
    if value.is_null() {
        return bad(format!(
            "must not be null; pass the variable's value as a native JSON value of type '{ty}'"
        ));
    }
    let encoded_hint = match value {
        Value::String(s) if serde_json::from_str::<Value>(s).is_ok() => {
            " (pass the value itself, not its JSON text)"
        }
        _ => "",
    };
    let fits = match kind {
        ExpressionType::String | ExpressionType::List => {
            if contains_object(value) {
                return bad(format!(
                    "a '{ty}' variable stores text, and an object would become '[object Object]'; use type 'object' for a JSON object"
                ));
            }
            true
        }
        ExpressionType::Array => value.is_array(),
        ExpressionType::Object => value.is_object(),
        ExpressionType::Bool => value.is_boolean(),
        ExpressionType::Int => value.as_number().is_some_and(is_integral),
        ExpressionType::Number => value.is_number(),
    };
    if fits {
        return Ok(());
    }
    let wanted = match kind {
        ExpressionType::Array => "a JSON array, for example [\"a\", \"b\"]",
        ExpressionType::Object => "a JSON object, for example {\"enabled\": true}",
        ExpressionType::Bool => "true or false",
        ExpressionType::Int => "an integer, for example 5",
        _ => "a number, for example 2.5",
    };
    bad(format!(
        "type '{ty}' needs {wanted}, not a {}{encoded_hint}",
        json_kind(value)
    ))
}

/// JavaScript's `Number.prototype.toString()` for a JSON number (integers exactly).
fn js_number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 || !f.is_finite() {
        return "0".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as JavaScript does.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i64::try_from(digits.len()).unwrap_or(1);
    let n = exp + 1;
    let zeros = |count: i64| "0".repeat(usize::try_from(count).unwrap_or(0));
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", zeros(n - k))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", zeros(-n))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{sign}{}", e.abs())
        }
    };
    if f < 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

/// JavaScript's `String(v)`: arrays joined by ',' (null items empty), objects
/// `[object Object]`.
fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => js_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// JavaScript's `JSON.stringify(v)`: compact, keys in their order, numbers as JavaScript
/// prints them.
fn js_json(v: &Value) -> String {
    match v {
        Value::Number(n) => js_number(n),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(js_json).collect::<Vec<_>>().join(",")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), js_json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

/// The text an ESV of `kind` stores for `value` (contract §3.5).
fn serialise(value: &Value, kind: ExpressionType) -> String {
    match kind {
        ExpressionType::String | ExpressionType::List => js_string(value),
        _ => js_json(value),
    }
}

async fn set_variable(ctx: CallCtx, a: SetVariableArgs) -> Result<String, String> {
    let id = &a.variable_id;
    let value_base64 = STANDARD.encode(serialise(&a.value, a.kind).as_bytes());
    let body = json!({
        "_id": id,
        "description": a.description.as_deref().unwrap_or(""),
        "valueBase64": value_base64,
        "expressionType": a.kind.as_str(),
    });
    let r = ctx
        .send(
            ApiRequest::put(VARIABLES)
                .seg(id)
                .api_version(RESOURCE_2)
                .json(body),
        )
        .await
        .map_err(|e| failure(&format!("Failed to set variable '{id}'"), e))?;
    Ok(format_success(
        &json!({
            "_id": id,
            "message": format!("Set variable '{id}'. Pod restart required for changes to take effect."),
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------
// Tracking (change journal, current state on approval cards, revert)

/// An ESV variable, by id. Its state is the tenant's record with the value decoded, as
/// `getVariable` shows it: the journal keeps the value (a variable is configuration, not a
/// secret; ESV secrets are never read), so a change can be put back.
pub(super) struct VariableTrack;

#[async_trait::async_trait]
impl super::Track for VariableTrack {
    fn subject(&self, tool: &str, args: &Value) -> Option<super::Subject> {
        if !matches!(tool, "setVariable" | "deleteVariable") {
            return None;
        }
        let id = args.get("variableId")?.as_str()?;
        Some(super::Subject {
            kind: "ESV variable".into(),
            label: format!("variable {id}"),
            key: json!({"variableId": id}),
        })
    }

    async fn read(&self, ctx: &CallCtx, subject: &super::Subject) -> Result<Option<Value>, String> {
        let id = subject
            .key
            .get("variableId")
            .and_then(Value::as_str)
            .ok_or("the subject names no variable")?;
        // The write's token carries the update scope only; the read asks for its own.
        let r = ctx
            .send_scoped(
                ApiRequest::get(VARIABLES).seg(id).api_version(RESOURCE_2),
                ESV_READ,
            )
            .await;
        Ok(super::track::found(r)?.map(decode_value))
    }

    fn preview(&self, tool: &str, args: &Value, now: &Value) -> Option<Value> {
        if tool != "setVariable" {
            return None;
        }
        let kind: ExpressionType = serde_json::from_value(args.get("type")?.clone()).ok()?;
        let value = serialise(args.get("value")?, kind);
        let mut then = now.as_object()?.clone();
        then.shift_remove("valueBase64");
        // As set_variable writes it: no description clears the description.
        let description = args
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        then.insert("description".into(), json!(description));
        then.insert("expressionType".into(), json!(kind.as_str()));
        then.shift_remove("value");
        then.insert("value".into(), Value::String(value));
        Some(Value::Object(then))
    }

    fn restore(
        &self,
        tool: &str,
        subject: &super::Subject,
        before: Option<&Value>,
        _after: Option<&Value>,
    ) -> Result<super::Restore, String> {
        let id = subject
            .key
            .get("variableId")
            .cloned()
            .unwrap_or(Value::Null);
        let before = before.ok_or(
            "the variable's state before the change was not captured (if the change created it, deleteVariable removes it)",
        )?;
        let note = match tool {
            "setVariable" => "The tenant's pods must restart before they see the restored value.",
            "deleteVariable" => "Re-created with the value, type and description it had. The tenant's pods must restart before they see it.",
            _ => return Err(format!("{tool} cannot be undone here")),
        };
        Ok(super::Restore {
            tool: "setVariable".into(),
            arguments: set_arguments(&id, before)?,
            note: Some(note.into()),
        })
    }
}

/// The `setVariable` arguments that write `state` (a variable as `getVariable` shows it)
/// back: its decoded value as the native JSON value of its type.
fn set_arguments(id: &Value, state: &Value) -> Result<Value, String> {
    let kind = state
        .get("expressionType")
        .and_then(Value::as_str)
        .ok_or("the variable's type was not captured")?;
    let kind: ExpressionType = serde_json::from_value(json!(kind))
        .map_err(|_| format!("the variable's type '{kind}' is not one setVariable writes"))?;
    let text = match state.get("value") {
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err("the variable's value was not captured as text".into()),
        // An empty value has no `valueBase64` to decode.
        None if state.get("valueBase64").and_then(Value::as_str) == Some("") => "",
        None => return Err("the variable's value was not captured".into()),
    };
    let value = match kind {
        ExpressionType::String | ExpressionType::List => Value::String(text.to_string()),
        _ => serde_json::from_str(text).map_err(|e| {
            format!(
                "the variable's value is not the {} it is typed as ({e})",
                kind.as_str()
            )
        })?,
    };
    value_matches_type(&value, kind).map_err(|e| e.to_string())?;
    let mut arguments = json!({"variableId": id, "value": value, "type": kind.as_str()});
    if let Some(d) = state.get("description").and_then(Value::as_str) {
        arguments["description"] = json!(d);
    }
    Ok(arguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> String {
        let v: Value = serde_json::from_str(text).expect("number");
        js_number(v.as_number().expect("number"))
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        for (input, js) in [
            ("0", "0"),
            ("-0.0", "0"),
            ("42", "42"),
            ("-7", "-7"),
            ("1.0", "1"),
            ("1.5", "1.5"),
            ("-2.25", "-2.25"),
            ("0.1", "0.1"),
            ("123.456", "123.456"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1.5e-7", "1.5e-7"),
            ("1e20", "100000000000000000000"),
            ("1e21", "1e+21"),
            ("1.25e22", "1.25e+22"),
            ("18446744073709551615", "18446744073709551615"),
        ] {
            assert_eq!(num(input), js, "{input}");
        }
    }

    #[test]
    fn string_and_list_use_javascript_string_semantics() {
        let s = |v: Value| serialise(&v, ExpressionType::String);
        assert_eq!(s(json!("Example Corp")), "Example Corp");
        assert_eq!(
            s(json!(["a", "b", 3, true, null, ["c", "d"]])),
            "a,b,3,true,,c,d"
        );
        assert_eq!(s(json!(true)), "true");
        assert_eq!(s(json!(2.50)), "2.5");
        assert_eq!(
            serialise(
                &json!(["10.0.0.0/8", "192.168.0.0/16"]),
                ExpressionType::List
            ),
            "10.0.0.0/8,192.168.0.0/16"
        );
        assert_eq!(serialise(&json!("a,b"), ExpressionType::List), "a,b");
    }

    #[test]
    fn other_types_are_compact_json() {
        assert_eq!(serialise(&json!(true), ExpressionType::Bool), "true");
        assert_eq!(serialise(&json!(42), ExpressionType::Int), "42");
        assert_eq!(serialise(&json!(5.0), ExpressionType::Int), "5");
        assert_eq!(serialise(&json!(2.5), ExpressionType::Number), "2.5");
        assert_eq!(
            serialise(&json!(["a", "b\"c"]), ExpressionType::Array),
            r#"["a","b\"c"]"#
        );
        assert_eq!(
            serialise(
                &json!({"z": 1.0, "a": {"x": [1, "ü\n"]}}),
                ExpressionType::Object
            ),
            r#"{"z":1,"a":{"x":[1,"ü\n"]}}"#
        );
    }

    #[test]
    fn values_must_fit_their_type() {
        let ok = |v: Value, t| value_matches_type(&v, t).is_ok();
        assert!(ok(json!("x"), ExpressionType::String));
        assert!(ok(json!(["a", 1]), ExpressionType::List));
        assert!(ok(json!([]), ExpressionType::Array));
        assert!(ok(json!({}), ExpressionType::Object));
        assert!(ok(json!(false), ExpressionType::Bool));
        assert!(ok(json!(-3), ExpressionType::Int));
        assert!(ok(json!(3.0), ExpressionType::Int));
        assert!(ok(json!(3.5), ExpressionType::Number));
        for (v, t) in [
            (json!(null), ExpressionType::String),
            (json!({"a": 1}), ExpressionType::String),
            (json!(["a", {"b": 1}]), ExpressionType::List),
            (json!("[\"a\"]"), ExpressionType::Array),
            (json!([1]), ExpressionType::Object),
            (json!("true"), ExpressionType::Bool),
            (json!("42"), ExpressionType::Int),
            (json!(4.2), ExpressionType::Int),
            (json!("2.5"), ExpressionType::Number),
        ] {
            let e = value_matches_type(&v, t).expect_err(&v.to_string());
            assert_eq!(e.field, "value");
        }
        let e = value_matches_type(&json!("[\"a\"]"), ExpressionType::Array).expect_err("text");
        assert!(e.message.contains("not its JSON text"), "{e}");
    }

    #[test]
    fn esv_ids_follow_the_tenant_rule() {
        for ok in [
            "esv-a",
            "esv-max-sessions",
            "esv-a_b-9",
            &format!("esv-{}", "x".repeat(120)),
        ] {
            assert!(esv_id_rule(ok).is_ok(), "{ok}");
        }
        for bad in [
            "esv-",
            "ESV-a",
            "esv-A",
            "tenant-name",
            "esv-a b",
            "esv-a.b",
            "esv-ü",
            &format!("esv-{}", "x".repeat(121)),
        ] {
            let e = esv_id_rule(bad).expect_err(bad);
            assert!(e.message.starts_with("Invalid variable ID '"), "{e}");
        }
    }

    #[test]
    fn decoded_value_replaces_base64_as_the_last_key() {
        let v = decode_value(
            json!({"_id": "esv-x", "valueBase64": "WyJhIl0=", "expressionType": "array"}),
        );
        assert_eq!(
            serde_json::to_string(&v).expect("json"),
            r#"{"_id":"esv-x","expressionType":"array","value":"[\"a\"]"}"#
        );
        let unpadded = decode_value(json!({"valueBase64": "YWI"}));
        assert_eq!(unpadded, json!({"value": "ab"}));
        let empty = json!({"_id": "esv-x", "valueBase64": ""});
        assert_eq!(decode_value(empty.clone()), empty);
        let junk = json!({"valueBase64": "!!!"});
        assert_eq!(decode_value(junk.clone()), junk);
    }

    #[test]
    fn built_filters_escape_quotes_and_backslashes() {
        assert_eq!(id_filter(None), "true");
        assert_eq!(id_filter(Some("")), "true");
        assert_eq!(id_filter(Some("tenant")), "/_id co \"tenant\"");
        assert_eq!(
            id_filter(Some(r#"x" or true or "\"#)),
            r#"/_id co "x\" or true or \"\\""#
        );
    }

    #[test]
    fn set_variable_value_is_required_any_and_masked() {
        let tools = tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            ["deleteVariable", "getVariable", "queryESVs", "setVariable"]
        );
        let set = &tools[3];
        assert_eq!(set.sensitive_args, ["value"]);
        let required = set.input_schema["required"].as_array().expect("required");
        for key in ["variableId", "value", "type"] {
            assert!(required.contains(&json!(key)), "{key}");
        }
        let value = &set.input_schema["properties"]["value"];
        assert!(value.get("type").is_none(), "any JSON type: {value}");
        assert!(value["description"].as_str().is_some());
        assert_eq!(
            set.input_schema["properties"]["type"]["enum"],
            json!(["string", "array", "object", "bool", "int", "number", "list"])
        );
        assert!(tools.iter().all(|t| t.container));
    }

    #[test]
    fn a_journaled_variable_is_written_back_as_the_native_value_of_its_type() {
        let id = json!("esv-x");
        let state = |ty: &str, value: &str| json!({"_id": "esv-x", "expressionType": ty, "value": value, "description": "d"});
        for (ty, text, value) in [
            ("string", "Example Corp", json!("Example Corp")),
            ("list", "a,b", json!("a,b")),
            ("int", "5", json!(5)),
            ("number", "2.5", json!(2.5)),
            ("bool", "false", json!(false)),
            ("array", r#"["x","y"]"#, json!(["x", "y"])),
            ("object", r#"{"a":1}"#, json!({"a": 1})),
        ] {
            let args = set_arguments(&id, &state(ty, text)).expect(ty);
            assert_eq!(
                args,
                json!({"variableId": "esv-x", "value": value, "type": ty, "description": "d"})
            );
            // What setVariable would store is the text the tenant held.
            let kind: ExpressionType = serde_json::from_value(json!(ty)).expect("type");
            assert_eq!(serialise(&args["value"], kind), text, "{ty}");
        }
        let empty = json!({"expressionType": "string", "valueBase64": ""});
        assert_eq!(set_arguments(&id, &empty).expect("empty")["value"], "");
        for (bad, why) in [
            (state("int", "five"), "not the int"),
            (state("bool", "1"), "value"),
            (json!({"value": "x"}), "type was not captured"),
            (state("secret", "x"), "not one setVariable writes"),
            (
                json!({"expressionType": "string"}),
                "value was not captured",
            ),
        ] {
            let e = set_arguments(&id, &bad).expect_err("refused");
            assert!(e.contains(why), "{e}");
        }
    }
}
