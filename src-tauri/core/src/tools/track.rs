//! Helpers the families' [`super::Track`]s share: which fields of a journaled state can be
//! written back, and the note that says what cannot.

use serde_json::{Map, Value};

use crate::activity::MASK;
use crate::tenant::{ApiResponse, TenantError};

/// A tracker's read: the body, `None` when the tenant says 404 (it does not exist), or
/// why it could not be read.
pub fn found(r: Result<ApiResponse, TenantError>) -> Result<Option<Value>, String> {
    match r {
        Ok(r) => Ok(Some(r.body)),
        Err(TenantError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The fields of `state` a restore writes back: all but `skip` (ids, revisions, flags a
/// tool sets itself) and those the journal masked (their values are not kept). Returns
/// them and the masked fields' names.
pub fn restorable(state: &Map<String, Value>, skip: &[&str]) -> (Map<String, Value>, Vec<String>) {
    let mut masked = Vec::new();
    let fields = state
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .filter(|(k, v)| {
            let secret = contains_mask(v);
            if secret {
                masked.push((*k).clone());
            }
            !secret
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (fields, masked)
}

fn contains_mask(v: &Value) -> bool {
    match v {
        Value::String(s) => s == MASK,
        Value::Array(items) => items.iter().any(contains_mask),
        Value::Object(map) => map.values().any(contains_mask),
        _ => false,
    }
}

/// "Not restored: password (its value is not kept). Fields the change added stay: x."
pub fn note(masked: &[String], added: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    if !masked.is_empty() {
        parts.push(format!(
            "Not restored: {} (secret values are not kept in the journal).",
            masked.join(", ")
        ));
    }
    if !added.is_empty() {
        parts.push(format!(
            "Fields the change added stay: {}.",
            added.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Gives every write of a family its tracker (a write whose object the tracker cannot
/// name from the arguments, a create, is journaled without states).
pub fn attach(
    tools: Vec<super::ToolDef>,
    track: std::sync::Arc<dyn super::Track>,
) -> Vec<super::ToolDef> {
    tools
        .into_iter()
        .map(|t| {
            if crate::policy::is_read_only(t.hints) {
                t
            } else {
                t.tracked(track.clone())
            }
        })
        .collect()
}
