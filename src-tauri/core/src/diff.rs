//! What a change does to an object, field by field: the approval card's "what will change"
//! (the object now against the state the call would leave) and the Changes view's diff of
//! a journaled change (before against after). Objects are compared key by key down to
//! their leaves; an array or a scalar is one field, compared whole.

use serde::Serialize;
use serde_json::{Map, Value};

/// How a field differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// One field that differs, named by its JSON pointer (`/mail`, `/linkedTrees/0`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub kind: Kind,
    /// Its value before (`None` when added).
    pub before: Option<Value>,
    /// Its value after (`None` when removed).
    pub after: Option<Value>,
}

/// The fields that differ between `before` and `after`, in the order of `before`'s keys,
/// then the keys only `after` has. Two equal values give none.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(&mut String::new(), before, after, &mut out);
    out
}

fn walk(path: &mut String, before: &Value, after: &Value, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => objects(path, b, a, out),
        (b, a) if b == a => {}
        (b, a) => out.push(FieldChange {
            path: shown(path),
            kind: Kind::Changed,
            before: Some(b.clone()),
            after: Some(a.clone()),
        }),
    }
}

fn objects(
    path: &mut String,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    let len = path.len();
    for (k, b) in before {
        push_segment(path, k);
        match after.get(k) {
            Some(a) => walk(path, b, a, out),
            None => out.push(FieldChange {
                path: shown(path),
                kind: Kind::Removed,
                before: Some(b.clone()),
                after: None,
            }),
        }
        path.truncate(len);
    }
    for (k, a) in after.iter().filter(|(k, _)| !before.contains_key(*k)) {
        push_segment(path, k);
        out.push(FieldChange {
            path: shown(path),
            kind: Kind::Added,
            before: None,
            after: Some(a.clone()),
        });
        path.truncate(len);
    }
}

/// Appends `/key`, escaped as JSON pointers escape (`~` → `~0`, `/` → `~1`).
fn push_segment(path: &mut String, key: &str) {
    path.push('/');
    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.to_string()
    }
}

/// The changes as lines of text (for a client's confirmation prompt): `/mail: "a" → "b"`,
/// each value cut to `max_chars`.
pub fn lines(changes: &[FieldChange], max_chars: usize) -> Vec<String> {
    let text = |v: &Option<Value>| match v {
        None => "(none)".to_string(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > max_chars {
                let cut: String = s.chars().take(max_chars).collect();
                format!("{cut}…")
            } else {
                s
            }
        }
    };
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.path, text(&c.before), text(&c.after)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_are_compared_to_their_leaves_and_arrays_whole() {
        let before = json!({"_id": "x", "mail": "a@example.com", "name": {"given": "Bo", "family": "J"},
                            "roles": ["a", "b"], "gone": 1, "same": {"k": [1]}});
        let after = json!({"_id": "x", "mail": "b@example.com", "name": {"given": "Bo", "family": "Jensen"},
                           "roles": ["a"], "same": {"k": [1]}, "a/b~c": true});
        let d = diff(&before, &after);
        let paths: Vec<(&str, Kind)> = d.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        assert_eq!(
            paths,
            [
                ("/mail", Kind::Changed),
                ("/name/family", Kind::Changed),
                ("/roles", Kind::Changed),
                ("/gone", Kind::Removed),
                ("/a~1b~0c", Kind::Added),
            ]
        );
        assert_eq!(d[0].before, Some(json!("a@example.com")));
        assert_eq!(d[0].after, Some(json!("b@example.com")));
        assert_eq!(d[3].after, None);
        assert_eq!(d[4].before, None);
        assert!(diff(&before, &before).is_empty());
        // Not both objects: the whole value changed.
        assert_eq!(diff(&json!(1), &json!({"a": 1}))[0].path, "/");
    }

    #[test]
    fn lines_cut_long_values() {
        let d = diff(
            &json!({"s": "x".repeat(50), "n": 1}),
            &json!({"s": "y", "m": 2}),
        );
        assert_eq!(
            lines(&d, 10),
            [
                format!("/s: \"{}… → \"y\"", "x".repeat(9)),
                "/n: 1 → (none)".to_string(),
                "/m: (none) → 2".to_string(),
            ]
        );
    }
}
