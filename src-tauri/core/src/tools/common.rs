//! What the tool families share: their scopes, AM's API version and header set, the IDM
//! managed configuration's path, the empty argument type, the deserialiser that tells an
//! explicit `null` from a missing field, the check on path segments read back from the
//! tenant, and the plain text of a JSON value in result messages.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::Args;
use crate::tenant::ApiRequest;
use crate::validate;

/// Scopes of a tool that calls IDM only.
pub const IDM: &[&str] = &["fr:idm:*"];
/// Scopes of a tool that calls AM only.
pub const AM: &[&str] = &["fr:am:*"];
/// Scopes of a tool that calls both.
pub const AM_IDM: &[&str] = &["fr:am:*", "fr:idm:*"];

/// `Accept-API-Version` of AM trees, nodes, OAuth2 clients and the realm OAuth2 provider.
pub const AM21: &str = "protocol=2.1,resource=1.0";

/// The IDM managed object configuration (every type's definition).
pub const CONFIG_MANAGED: &str = "/openidm/config/managed";

/// The contract's "AM headers": [`AM21`] and `Content-Type: application/json`, also on
/// body-less requests.
pub fn am_headers(req: ApiRequest) -> ApiRequest {
    req.api_version(AM21).json_content_type()
}

/// The arguments of a tool that takes none.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

impl Args for NoArgs {}

/// For `#[serde(default, deserialize_with = "some_value")]` on an `Option<Value>`: a field
/// given as `null` becomes `Some(Value::Null)`, a missing field stays `None` (a patch
/// operation may set a value to `null`).
pub fn some_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A path segment read from the tenant (a node id or type, an application `_id`, a linked
/// client id) that is about to be used in a path: it must pass the same rule as a caller's
/// (contract §4.1). `what` names it in the error text.
pub fn stored_segment(what: &str, value: &str) -> Result<(), String> {
    validate::safe_segment(what, value).map_err(|e| {
        format!(
            "cannot use the stored {what} in a request path: {}",
            e.message
        )
    })
}

/// A caller's CREST query filter, or `true` (every object) when none or an empty one is
/// given.
pub fn filter_or_all(filter: Option<&str>) -> &str {
    filter.filter(|f| !f.is_empty()).unwrap_or("true")
}

/// A JSON value as a JavaScript template literal prints it in our messages: a string
/// as it is, `null` as `null`, anything else as compact JSON.
pub fn plain_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Op {
        #[serde(default, deserialize_with = "some_value")]
        value: Option<Value>,
    }

    #[test]
    fn an_explicit_null_is_not_a_missing_value() {
        let op: Op = serde_json::from_value(json!({"value": null})).expect("null");
        assert_eq!(op.value, Some(Value::Null));
        let op: Op = serde_json::from_value(json!({})).expect("missing");
        assert_eq!(op.value, None);
        let op: Op = serde_json::from_value(json!({"value": [1]})).expect("array");
        assert_eq!(op.value, Some(json!([1])));
    }

    #[test]
    fn stored_segments_follow_the_callers_rule() {
        assert_eq!(stored_segment("node id", "a-b_c 1"), Ok(()));
        let e = stored_segment("node id", "../x").expect_err("traversal");
        assert!(
            e.starts_with("cannot use the stored node id in a request path: "),
            "{e}"
        );
        assert!(e.contains("path traversal"), "{e}");
        assert!(stored_segment("client id", ".").is_err());
        assert!(stored_segment("client id", "").is_err());
    }

    #[test]
    fn a_missing_or_empty_filter_means_every_object() {
        assert_eq!(filter_or_all(None), "true");
        assert_eq!(filter_or_all(Some("")), "true");
        assert_eq!(filter_or_all(Some(" ")), " ");
        assert_eq!(filter_or_all(Some("name sw \"A\"")), "name sw \"A\"");
    }

    #[test]
    fn plain_text_prints_strings_bare_and_the_rest_as_json() {
        assert_eq!(plain_text(&json!("a\"b")), "a\"b");
        assert_eq!(plain_text(&Value::Null), "null");
        assert_eq!(plain_text(&json!(3)), "3");
        assert_eq!(plain_text(&json!({"a": [true]})), r#"{"a":[true]}"#);
    }
}
