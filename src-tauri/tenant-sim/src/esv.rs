//! `/environment/variables` and `/environment/secrets`: the tenant's environment secrets
//! and variables (ESVs).
//!
//! As in AIC: every call names its API version (`Accept-API-Version: resource=2.0` for
//! queries, reads and writes; `protocol=1.0,resource=1.0` for a variable delete) or gets a
//! 400; values travel base64-encoded in `valueBase64` and must parse as their
//! `expressionType`, which cannot change once a variable exists; a written variable is
//! `loaded: false` until the pods restart; secrets are listed without their values.

use axum::http::Method;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::OffsetDateTime;

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

const TYPES: &[&str] = &["string", "array", "object", "bool", "int", "number", "list"];

/// Variables and secrets, each keyed by `_id`.
#[derive(Debug, Default)]
pub(crate) struct State {
    variables: Map<String, Value>,
    secrets: Map<String, Value>,
}

impl State {
    pub(crate) fn seeded() -> Self {
        let mut state = State::default();
        for (id, ty, value, description, date) in seed_variables() {
            state.variables.insert(
                id.to_string(),
                json!({
                    "_id": id,
                    "description": description,
                    "valueBase64": STANDARD.encode(value),
                    "expressionType": ty,
                    "lastChangeDate": date,
                    "lastChangedBy": "admin",
                    "loaded": true,
                }),
            );
        }
        for (id, encoding, placeholders, description, date, version) in seed_secrets() {
            state.secrets.insert(
                id.to_string(),
                json!({
                    "_id": id,
                    "description": description,
                    "encoding": encoding,
                    "useInPlaceholders": placeholders,
                    "lastChangeDate": date,
                    "lastChangedBy": "admin",
                    "loaded": true,
                    "activeVersion": version,
                }),
            );
        }
        state
    }
}

/// `(id, expressionType, stored text, description, lastChangeDate)`.
fn seed_variables() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    vec![
        (
            "esv-tenant-name",
            "string",
            "Example Corp",
            "Display name of the tenant, used in email templates",
            "2025-03-14T09:26:53.589Z",
        ),
        (
            "esv-allowed-origins",
            "array",
            r#"["https://app.example.com","https://admin.example.com"]"#,
            "CORS origins allowed to call the platform",
            "2025-03-14T09:31:12.004Z",
        ),
        (
            "esv-feature-flags",
            "object",
            r#"{"newLoginJourney":true,"betaDashboard":false,"maxUploadMb":25}"#,
            "Feature switches read by journeys and scripts",
            "2025-04-02T16:05:41.730Z",
        ),
        (
            "esv-max-sessions",
            "int",
            "5",
            "Maximum concurrent sessions per user",
            "2025-04-02T16:07:09.118Z",
        ),
        (
            "esv-debug",
            "bool",
            "false",
            "Verbose logging in scripted decision nodes",
            "2025-05-20T11:48:27.365Z",
        ),
        (
            "esv-trusted-networks",
            "list",
            "10.0.0.0/8,192.168.0.0/16",
            "Networks that skip the second factor (legacy list)",
            "2024-11-08T08:15:00.000Z",
        ),
    ]
}

/// `(id, encoding, useInPlaceholders, description, lastChangeDate, activeVersion)`.
fn seed_secrets() -> Vec<(
    &'static str,
    &'static str,
    bool,
    &'static str,
    &'static str,
    &'static str,
)> {
    vec![
        (
            "esv-oauth-client-secret",
            "generic",
            true,
            "Client secret of the CRM OAuth client",
            "2025-02-27T13:40:18.221Z",
            "2",
        ),
        (
            "esv-smtp-password",
            "generic",
            true,
            "Password of the outbound SMTP relay",
            "2025-01-09T10:02:55.870Z",
            "1",
        ),
        (
            "esv-signing-key",
            "pem",
            false,
            "Private key that signs SAML assertions",
            "2024-12-01T07:30:00.000Z",
            "3",
        ),
        (
            "esv-webhook-hmac-key",
            "base64hmac",
            false,
            "HMAC key that signs outgoing webhooks",
            "2025-05-02T18:22:31.045Z",
            "1",
        ),
    ]
}

/// Handles a request routed to this family.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let segs = req.segs();
    let m = &req.method;
    http::finish(match segs.get(1..).unwrap_or_default() {
        ["variables"] if *m == Method::GET => query(shared, req, Collection::Variables),
        ["secrets"] if *m == Method::GET => query(shared, req, Collection::Secrets),
        ["variables", id] => match *m {
            Method::GET => read(shared, req, Collection::Variables, id),
            Method::PUT => put_variable(shared, req, id),
            Method::DELETE => delete_variable(shared, req, id),
            _ => Err(http::method_not_allowed(req)),
        },
        ["secrets", id] if *m == Method::GET => read(shared, req, Collection::Secrets, id),
        ["variables"] | ["secrets"] | ["secrets", _] => Err(http::method_not_allowed(req)),
        _ => Err(http::not_found(req)),
    })
}

#[derive(Debug, Clone, Copy)]
enum Collection {
    Variables,
    Secrets,
}

impl Collection {
    fn items(self, state: &State) -> &Map<String, Value> {
        match self {
            Self::Variables => &state.variables,
            Self::Secrets => &state.secrets,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Variables => "Variable",
            Self::Secrets => "Secret",
        }
    }
}

fn query(shared: &Shared, req: &Req, what: Collection) -> Outcome {
    http::require_api_version(req, "2.0", &[])?;
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
        let state = lock(&shared.esv);
        what.items(&state)
            .values()
            .filter(|v| filter.matches(v))
            .cloned()
            .collect()
    };
    hits.sort_by(|a, b| {
        let id = |v: &Value| v.get("_id").and_then(Value::as_str).map(str::to_string);
        id(a).cmp(&id(b))
    });
    crest::sort(&mut hits, req.q("_sortKeys"));
    let fields = req.q("_fields");
    let hits = hits
        .iter()
        .map(|v| crest::select_fields(v, fields))
        .collect();
    Ok(http::json(
        200,
        &crest::page(hits, paging, req.q("_totalPagedResultsPolicy")),
    ))
}

fn not_found(what: Collection, id: &str) -> Fail {
    Fail::crest(404, format!("{} '{id}' not found", what.noun()))
}

fn read(shared: &Shared, req: &Req, what: Collection, id: &str) -> Outcome {
    http::require_api_version(req, "2.0", &[])?;
    let state = lock(&shared.esv);
    let item = what
        .items(&state)
        .get(id)
        .ok_or_else(|| not_found(what, id))?;
    Ok(http::json(200, item))
}

/// `^esv-[a-z0-9_-]{1,120}$`.
fn valid_id(id: &str) -> bool {
    id.strip_prefix("esv-").is_some_and(|rest| {
        (1..=120).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    })
}

/// Whether `text` is a valid value of an ESV of type `ty`.
fn parses_as(text: &str, ty: &str) -> bool {
    match ty {
        "int" => text.parse::<i64>().is_ok(),
        "number" => text.parse::<f64>().is_ok_and(f64::is_finite),
        "bool" => text == "true" || text == "false",
        "array" => serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_array()),
        "object" => serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()),
        _ => true,
    }
}

fn now() -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let t = OffsetDateTime::now_utc();
    t.format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn bad(message: impl Into<String>) -> Fail {
    Fail::crest(400, message)
}

fn put_variable(shared: &Shared, req: &Req, id: &str) -> Outcome {
    http::require_api_version(req, "2.0", &[])?;
    if !valid_id(id) {
        return Err(bad(format!(
            "Invalid variable id '{id}': it must match ^esv-[a-z0-9_-]{{1,120}}$"
        )));
    }
    let Value::Object(body) = req.json_body()? else {
        return Err(bad("The variable must be a JSON object"));
    };
    if let Some(body_id) = body.get("_id") {
        if body_id.as_str() != Some(id) {
            return Err(bad(format!(
                "The _id in the body ({body_id}) does not match the variable id '{id}'"
            )));
        }
    }
    let encoded = body
        .get("valueBase64")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("valueBase64 is required and must be a string"))?;
    let text = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad("valueBase64 is not base64-encoded UTF-8 text"))?;
    let description = match body.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(d)) => d.clone(),
        Some(_) => return Err(bad("description must be a string")),
    };
    let user = lock(&shared.auth)
        .authorize_resource(req.header("authorization"), &[])
        .map(|g| g.user)
        .unwrap_or_else(|_| "unknown".into());
    let mut state = lock(&shared.esv);
    let existing_type = state
        .variables
        .get(id)
        .and_then(|v| v.get("expressionType"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let ty = match body.get("expressionType") {
        None | Some(Value::Null) => existing_type.clone().unwrap_or_else(|| "string".into()),
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.clone(),
        Some(other) => {
            return Err(bad(format!(
                "Invalid expressionType {other}: expected one of {}",
                TYPES.join(", ")
            )))
        }
    };
    if let Some(old) = existing_type.as_deref().filter(|old| *old != ty) {
        return Err(bad(format!(
            "The expressionType of variable '{id}' cannot be changed from '{old}' to '{ty}'"
        )));
    }
    if !parses_as(&text, &ty) {
        return Err(bad(format!(
            "The value of variable '{id}' is not a valid {ty}"
        )));
    }
    let variable = json!({
        "_id": id,
        "description": description,
        "valueBase64": encoded,
        "expressionType": ty,
        "lastChangeDate": now(),
        "lastChangedBy": user,
        "loaded": false,
    });
    let created = state
        .variables
        .insert(id.to_string(), variable.clone())
        .is_none();
    Ok(http::json(if created { 201 } else { 200 }, &variable))
}

fn delete_variable(shared: &Shared, req: &Req, id: &str) -> Outcome {
    http::require_api_version(req, "1.0", &["1.0"])?;
    let removed = lock(&shared.esv)
        .variables
        .shift_remove(id)
        .ok_or_else(|| not_found(Collection::Variables, id))?;
    Ok(http::json(200, &removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_valid_variables() {
        let state = State::seeded();
        assert!(state.variables.len() >= 5 && state.secrets.len() >= 3);
        for (id, v) in &state.variables {
            assert!(valid_id(id), "{id}");
            let ty = v["expressionType"].as_str().unwrap_or_default();
            let text = STANDARD
                .decode(v["valueBase64"].as_str().unwrap_or_default())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            assert!(parses_as(&text, ty), "{id}: {text}");
        }
        for s in state.secrets.values() {
            assert!(s.get("valueBase64").is_none() && s.get("value").is_none());
        }
    }

    #[test]
    fn values_are_checked_against_their_type() {
        assert!(parses_as("42", "int") && !parses_as("4.2", "int") && !parses_as("\"42\"", "int"));
        assert!(parses_as("4.2", "number") && !parses_as("x", "number"));
        assert!(parses_as("true", "bool") && !parses_as("yes", "bool"));
        assert!(parses_as("[1]", "array") && !parses_as("{}", "array"));
        assert!(parses_as("{}", "object") && !parses_as("[]", "object"));
        assert!(parses_as("anything", "string") && parses_as("a,b", "list"));
        assert!(valid_id("esv-a_b-1") && !valid_id("esv-") && !valid_id("esv-A"));
    }
}
