//! ForgeRock (CREST) PATCH: `[{operation, field, value?, from?}]` over JSON-pointer fields.
//!
//! `add` sets single-valued fields and appends to lists (`/-` appends one element, an array
//! value is appended element by element); `remove` with a value removes matching list elements;
//! `replace` without a value removes; `move`, `copy`, `test` and `increment` as in CREST.

use serde_json::{Map, Value};

use crate::filter::pointer_segments;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatchError {
    /// The patch document or one operation is malformed or cannot apply (400).
    #[error("{0}")]
    BadRequest(String),
    /// A `test` operation failed (412).
    #[error("{0}")]
    TestFailed(String),
}

fn bad(msg: impl Into<String>) -> PatchError {
    PatchError::BadRequest(msg.into())
}

/// Read access by pointer segments.
pub(crate) fn get<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The container holding the last segment, creating missing intermediate objects.
fn parent_mut<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, PatchError> {
    let mut cur = doc;
    for seg in path {
        cur = match cur {
            Value::Object(m) => m
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            Value::Array(items) => {
                let idx = seg
                    .parse::<usize>()
                    .map_err(|_| bad(format!("'{seg}' is not an array index")))?;
                items
                    .get_mut(idx)
                    .ok_or_else(|| bad(format!("Array index {idx} is out of range")))?
            }
            _ => return Err(bad(format!("Cannot descend into a scalar at '{seg}'"))),
        };
    }
    Ok(cur)
}

fn split_last(path: &[String]) -> Result<(&[String], &String), PatchError> {
    match path.split_last() {
        Some((last, parent)) => Ok((parent, last)),
        None => Err(bad("The patch field must not be empty")),
    }
}

/// Sets a value (CREST `add` when `append_lists`, plain set otherwise).
fn put(
    doc: &mut Value,
    path: &[String],
    value: Value,
    append_lists: bool,
) -> Result<(), PatchError> {
    let (parent_path, last) = split_last(path)?;
    let parent = parent_mut(doc, parent_path)?;
    match parent {
        Value::Array(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let idx = last
                    .parse::<usize>()
                    .map_err(|_| bad(format!("'{last}' is not an array index")))?;
                if idx > items.len() {
                    return Err(bad(format!("Array index {idx} is out of range")));
                }
                if append_lists || idx == items.len() {
                    items.insert(idx, value);
                } else if let Some(slot) = items.get_mut(idx) {
                    *slot = value;
                }
            }
        }
        Value::Object(m) => match (m.get_mut(last.as_str()), value) {
            (Some(Value::Array(existing)), Value::Array(more)) if append_lists => {
                existing.extend(more)
            }
            (Some(Value::Array(existing)), single) if append_lists => existing.push(single),
            (_, v) => {
                m.insert(last.clone(), v);
            }
        },
        _ => return Err(bad("Cannot add a field to a scalar")),
    }
    Ok(())
}

/// Removes a field (no-op if absent); with `value`, removes matching elements of a list.
fn remove(
    doc: &mut Value,
    path: &[String],
    value: Option<&Value>,
) -> Result<Option<Value>, PatchError> {
    let (parent_path, last) = split_last(path)?;
    if get(doc, parent_path).is_none() {
        return Ok(None);
    }
    let parent = parent_mut(doc, parent_path)?;
    if let (Some(wanted), Value::Object(m)) = (value, &mut *parent) {
        if let Some(Value::Array(items)) = m.get_mut(last.as_str()) {
            let drop: Vec<&Value> = match wanted {
                Value::Array(vs) => vs.iter().collect(),
                v => vec![v],
            };
            let before = items.clone();
            items.retain(|item| !drop.contains(&item));
            return Ok(Some(Value::Array(before)));
        }
    }
    Ok(match parent {
        Value::Object(m) => m.shift_remove(last.as_str()),
        Value::Array(items) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => Some(items.remove(i)),
            _ => None,
        },
        _ => None,
    })
}

fn op_field<'a>(op: &'a Map<String, Value>, key: &str) -> Result<&'a str, PatchError> {
    op.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("The patch operation is missing '{key}'")))
}

fn apply_one(doc: &mut Value, op: &Map<String, Value>) -> Result<(), PatchError> {
    let operation = op_field(op, "operation")?;
    let path = pointer_segments(op_field(op, "field")?);
    let value = op.get("value");
    let need_value = || {
        value
            .cloned()
            .ok_or_else(|| bad(format!("The '{operation}' operation requires a value")))
    };
    match operation {
        "add" => put(doc, &path, need_value()?, true),
        "replace" => match value {
            Some(v) => put(doc, &path, v.clone(), false),
            None => remove(doc, &path, None).map(|_| ()),
        },
        "remove" => remove(doc, &path, value).map(|_| ()),
        "move" | "copy" => {
            let from = pointer_segments(op_field(op, "from")?);
            let v = if operation == "move" {
                remove(doc, &from, None)?
            } else {
                get(doc, &from).cloned()
            };
            let v =
                v.ok_or_else(|| bad(format!("The 'from' field of '{operation}' does not exist")))?;
            put(doc, &path, v, false)
        }
        "test" => {
            let expected = need_value()?;
            if get(doc, &path) == Some(&expected) {
                Ok(())
            } else {
                Err(PatchError::TestFailed(format!(
                    "Test failed on field '{}'",
                    path.join("/")
                )))
            }
        }
        "increment" => {
            let delta = need_value()?
                .as_f64()
                .ok_or_else(|| bad("The increment value must be a number"))?;
            let current = get(doc, &path).and_then(Value::as_f64).unwrap_or(0.0);
            let sum = current + delta;
            let v = if sum.fract() == 0.0 && sum.abs() < 9.0e15 {
                Value::from(sum as i64)
            } else {
                Value::from(sum)
            };
            put(doc, &path, v, false)
        }
        other => Err(bad(format!("Unsupported patch operation '{other}'"))),
    }
}

/// Applies a patch document to a copy of `doc`; `doc` is left untouched on error.
pub(crate) fn apply(doc: &Value, ops: &Value) -> Result<Value, PatchError> {
    let ops = ops
        .as_array()
        .ok_or_else(|| bad("The patch body must be a JSON array of operations"))?;
    let mut out = doc.clone();
    for op in ops {
        let op = op
            .as_object()
            .ok_or_else(|| bad("Each patch operation must be a JSON object"))?;
        apply_one(&mut out, op)?;
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> Result<Value, PatchError> {
        apply(&doc, &ops)
    }

    #[test]
    fn add_sets_and_appends() {
        let doc = json!({"a": 1, "list": [1], "objects": [{"name": "x"}]});
        let out = run(
            doc,
            json!([
                {"operation": "add", "field": "/a", "value": 2},
                {"operation": "add", "field": "list", "value": [2, 3]},
                {"operation": "add", "field": "/list/-", "value": 4},
                {"operation": "add", "field": "/objects/-", "value": {"name": "y"}},
                {"operation": "add", "field": "/deep/er", "value": true},
                {"operation": "add", "field": "/objects/0/schema/properties/p", "value": {"type": "string"}},
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"a": 2, "list": [1, 2, 3, 4],
                   "objects": [{"name": "x", "schema": {"properties": {"p": {"type": "string"}}}}, {"name": "y"}],
                   "deep": {"er": true}})
        );
    }

    #[test]
    fn replace_remove_move_copy_test_increment() {
        let doc = json!({"a": 1, "b": {"c": "x"}, "l": ["p", "q", "p"], "n": 5});
        let out = run(
            doc,
            json!([
                {"operation": "replace", "field": "/a", "value": "one"},
                {"operation": "remove", "field": "/l", "value": "p"},
                {"operation": "copy", "from": "/b/c", "field": "/d"},
                {"operation": "move", "from": "/b", "field": "/e"},
                {"operation": "test", "field": "/d", "value": "x"},
                {"operation": "increment", "field": "/n", "value": 2},
                {"operation": "remove", "field": "/nothing"},
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"a": "one", "l": ["q"], "n": 7, "d": "x", "e": {"c": "x"}})
        );
    }

    #[test]
    fn failures() {
        let doc = json!({"a": 1});
        assert!(matches!(
            run(
                doc.clone(),
                json!([{"operation": "test", "field": "/a", "value": 2}])
            ),
            Err(PatchError::TestFailed(_))
        ));
        for ops in [
            json!({"operation": "add"}),
            json!([{"operation": "frob", "field": "/a"}]),
            json!([{"operation": "add", "field": "/a"}]),
            json!([{"field": "/a", "value": 1}]),
            json!([{"operation": "move", "from": "/zz", "field": "/b"}]),
            json!([{"operation": "add", "field": "/a/b", "value": 1}]),
        ] {
            assert!(
                matches!(
                    run(doc.clone(), ops.clone()),
                    Err(PatchError::BadRequest(_))
                ),
                "{ops}"
            );
        }
    }
}
