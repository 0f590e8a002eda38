//! The journey graph, free of I/O: the graph argument of `createJourney`/`updateJourney`
//! (its rules and structure check), the id mapping into AM's tree shape (PageNode children
//! included), the ids PageNode children need for `listOutcomes`, and which node schemas
//! and configurations `getJourney` reads for a tree, in which order. The tool bodies in
//! the parent module do the reads and writes.

use std::collections::HashMap;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use crate::tools::common::stored_segment;
use crate::validate::{self, ValidationError};

/// The success terminal of every journey.
pub(super) const SUCCESS_NODE: &str = "70e691a5-1e33-4ac3-a356-e7b6d60d92e0";
/// The failure terminal of every journey.
pub(super) const FAILURE_NODE: &str = "e301438c-0bd0-429c-ab0c-66126501069a";
/// Longest journey name, node id, node type, outcome id or target accepted.
pub(super) const MAX_NAME: usize = 256;
/// Longest description or display name accepted.
pub(super) const MAX_TEXT: usize = 4096;
/// Most nodes in one graph, and in one batch delete.
pub(super) const MAX_NODES: usize = 500;

/// A journey name or node type: a path segment (contract §4.1), printable, bounded.
pub(super) fn segment_rule(field: &str, value: &str) -> validate::Result {
    validate::segment(field, value, MAX_NAME)
}

/// A short identifier that is not a path segment (graph keys, outcome ids, targets).
pub(super) fn name_rule(field: &str, value: &str) -> validate::Result {
    validate::min_chars(field, value, 1)?;
    validate::text(field, value, MAX_NAME)
}

/// 8-4-4-4-12 hexadecimal digits, any case.
pub(super) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An object whose key order is kept (journey graphs and connections).
#[derive(Debug, Clone)]
pub(super) struct Ordered<T>(Vec<(String, T)>);

impl<T> Ordered<T> {
    fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k) {
                        slot.1 = v;
                    } else {
                        out.push((k, v));
                    }
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// One node of a journey graph.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub(super) struct NodeDef {
    /// The node type, for example "PageNode", "DataStoreDecisionNode" or
    /// "ScriptedDecisionNode" (see listNodeTypes).
    node_type: String,
    /// The name shown in the journey editor, for example "Check credentials".
    display_name: String,
    /// Outcome id -> target: another node's id in this graph, or "success" / "failure",
    /// for example {"true": "success", "false": "failure"}.
    #[schemars(with = "HashMap<String, String>")]
    connections: Ordered<String>,
    /// The node's configuration (see getNodeTypeDetails), for example {} for a
    /// DataStoreDecisionNode or {"nodes": [...]} for a PageNode.
    config: Map<String, Value>,
}

/// The graph checks shared by createJourney and updateJourney (argument level).
pub(super) fn graph_rules(prefix: &str, entry: &str, nodes: &Ordered<NodeDef>) -> validate::Result {
    name_rule(&format!("{prefix}entryNodeId"), entry)?;
    if nodes.0.len() > MAX_NODES {
        return Err(ValidationError::new(
            format!("{prefix}nodes"),
            format!("has {} nodes; the limit is {MAX_NODES}", nodes.0.len()),
        ));
    }
    for (key, node) in &nodes.0 {
        let field = format!("{prefix}nodes.{key}");
        name_rule(&field, key)?;
        segment_rule(&format!("{field}.nodeType"), &node.node_type)?;
        validate::max_chars(
            &format!("{field}.displayName"),
            &node.display_name,
            MAX_TEXT,
        )?;
        for (outcome, target) in &node.connections.0 {
            name_rule(&format!("{field}.connections"), outcome)?;
            name_rule(&format!("{field}.connections.{outcome}"), target)?;
        }
    }
    Ok(())
}

/// The structure errors of a graph (contract: all collected, joined by "; ").
pub(super) fn structure_errors(entry: &str, nodes: &Ordered<NodeDef>) -> Option<String> {
    let mut errors = Vec::new();
    if !nodes.contains(entry) {
        errors.push(format!(
            "entryNodeId \"{entry}\" does not reference a valid node"
        ));
    }
    for (key, node) in &nodes.0 {
        for (outcome, target) in &node.connections.0 {
            if target == key {
                errors.push(format!(
                    "Node \"{key}\" outcome \"{outcome}\" cannot connect to itself"
                ));
                continue;
            }
            let alias =
                target.eq_ignore_ascii_case("success") || target.eq_ignore_ascii_case("failure");
            if !alias && !nodes.contains(target) {
                errors.push(format!(
                    "Node \"{key}\" outcome \"{outcome}\" references unknown target \"{target}\""
                ));
            }
        }
    }
    if errors.is_empty() {
        None
    } else {
        Some(format!("Invalid journey structure: {}", errors.join("; ")))
    }
}

fn fresh_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn page_children(node: &NodeDef) -> Option<&Vec<Value>> {
    if node.node_type != "PageNode" {
        return None;
    }
    node.config.get("nodes").and_then(Value::as_array)
}

/// The transformed graph: the tree body's core and the id mapping.
pub(super) struct Transformed {
    /// `_id`, `entryNodeId`, `nodes` and `staticNodes` of the tree body.
    pub(super) core: Map<String, Value>,
    /// The caller's node ids (PageNode children included) to the ids sent, in first-seen
    /// order.
    pub(super) mapping: Map<String, Value>,
}

/// Turns the caller's graph into AM's tree shape (contract §3.7 "Transformation"), with
/// the mapping applied to PageNode children as well.
pub(super) fn transform(journey_name: &str, entry: &str, nodes: &Ordered<NodeDef>) -> Transformed {
    let mut ids: Vec<(String, String)> = Vec::new();
    let map_id = |ids: &mut Vec<(String, String)>, key: &str| {
        if !ids.iter().any(|(k, _)| k == key) {
            let id = if is_uuid(key) {
                key.to_string()
            } else {
                fresh_uuid()
            };
            ids.push((key.to_string(), id));
        }
    };
    for (key, _) in &nodes.0 {
        map_id(&mut ids, key);
    }
    for (_, node) in &nodes.0 {
        for child in page_children(node).into_iter().flatten() {
            if let Some(id) = child.get("_id").and_then(Value::as_str) {
                map_id(&mut ids, id);
            }
        }
    }
    let lookup = |key: &str| -> Option<String> {
        ids.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let resolve = |target: &str| -> String {
        if target.eq_ignore_ascii_case("success") {
            SUCCESS_NODE.to_string()
        } else if target.eq_ignore_ascii_case("failure") {
            FAILURE_NODE.to_string()
        } else {
            lookup(target).unwrap_or_else(|| target.to_string())
        }
    };
    let mut out_nodes = Map::new();
    for (key, node) in &nodes.0 {
        let id = lookup(key).unwrap_or_else(|| key.clone());
        let connections: Map<String, Value> = node
            .connections
            .0
            .iter()
            .map(|(o, t)| (o.clone(), Value::String(resolve(t))))
            .collect();
        let mut config = node.config.clone();
        config.insert("_id".into(), Value::String(id.clone()));
        if node.node_type == "PageNode" {
            if let Some(Value::Array(children)) = config.get_mut("nodes") {
                for child in children.iter_mut() {
                    if let Value::Object(c) = child {
                        let new_id = match c.get("_id") {
                            Some(Value::String(old)) => lookup(old).unwrap_or_else(|| old.clone()),
                            Some(other) => match other {
                                Value::Null => fresh_uuid(),
                                _ => continue,
                            },
                            None => fresh_uuid(),
                        };
                        c.insert("_id".into(), Value::String(new_id));
                    }
                }
            }
        }
        out_nodes.insert(
            id,
            json!({
                "nodeType": node.node_type,
                "displayName": node.display_name,
                "connections": connections,
                "config": config,
            }),
        );
    }
    let mut core = Map::new();
    core.insert("_id".into(), Value::String(journey_name.to_string()));
    core.insert("entryNodeId".into(), Value::String(resolve(entry)));
    core.insert("nodes".into(), Value::Object(out_nodes));
    core.insert(
        "staticNodes".into(),
        json!({
            "startNode": {"x": 50, "y": 250},
            SUCCESS_NODE: {"x": 550, "y": 150},
            FAILURE_NODE: {"x": 550, "y": 350},
        }),
    );
    let mapping = ids
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Transformed { core, mapping }
}

/// A PageNode configuration as `listOutcomes` needs it: every child without an `_id` gets a
/// fresh one. Other node types' configurations are returned as they are.
pub(super) fn with_child_ids(
    node_type: &str,
    mut config: Map<String, Value>,
) -> Map<String, Value> {
    if node_type == "PageNode" {
        if let Some(Value::Array(children)) = config.get_mut("nodes") {
            for child in children.iter_mut() {
                if let Value::Object(c) = child {
                    if !c.contains_key("_id") {
                        c.insert("_id".into(), Value::String(fresh_uuid()));
                    }
                }
            }
        }
    }
    config
}

// ---------------------------------------------------------------------------------------
// What getJourney reads

/// One read of `getJourney`'s fan-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Read {
    /// The schema of a node type.
    Schema(String),
    /// The configuration of one node.
    Config { id: String, ty: String },
}

/// Reads being planned: schemas (each type once, first seen first), then configurations.
#[derive(Default)]
struct Plan {
    schemas: Vec<String>,
    configs: Vec<Read>,
}

impl Plan {
    /// Plans the node `id` of type `ty`; its schema only when neither `known` nor this
    /// plan has it. Ids and types come from the tenant and become path segments, so they
    /// are held to the caller's rule first.
    fn add(&mut self, id: &str, ty: &str, known: &Map<String, Value>) -> Result<(), String> {
        stored_segment("node id", id)?;
        stored_segment("node type", ty)?;
        if !known.contains_key(ty) && !self.schemas.iter().any(|t| t == ty) {
            self.schemas.push(ty.to_string());
        }
        self.configs.push(Read::Config {
            id: id.to_string(),
            ty: ty.to_string(),
        });
        Ok(())
    }

    fn reads(self) -> Vec<Read> {
        self.schemas
            .into_iter()
            .map(Read::Schema)
            .chain(self.configs)
            .collect()
    }
}

/// The reads for a tree's nodes (`nodes` as AM returns it): one schema per node type, then
/// one configuration per node, in graph order. A node without a `nodeType` is skipped; an
/// id or type that is not a usable path segment fails the plan before anything is read.
pub(super) fn node_reads(nodes: &Map<String, Value>) -> Result<Vec<Read>, String> {
    let mut plan = Plan::default();
    for (id, node) in nodes {
        if let Some(ty) = node.get("nodeType").and_then(Value::as_str) {
            plan.add(id, ty, &Map::new())?;
        }
    }
    Ok(plan.reads())
}

/// The reads for the children of a tree's PageNodes, one level deep: each child with an
/// `_id` and a `nodeType` in its PageNode's configuration (`configs`, by node id). Types
/// whose schema was read already (`schemas`) are not read again.
pub(super) fn page_child_reads(
    nodes: &Map<String, Value>,
    configs: &Map<String, Value>,
    schemas: &Map<String, Value>,
) -> Result<Vec<Read>, String> {
    let mut plan = Plan::default();
    for (id, node) in nodes {
        if node.get("nodeType").and_then(Value::as_str) != Some("PageNode") {
            continue;
        }
        let children = configs
            .get(id)
            .and_then(|c| c.get("nodes"))
            .and_then(Value::as_array);
        for child in children.into_iter().flatten() {
            if let (Some(cid), Some(cty)) = (
                child.get("_id").and_then(Value::as_str),
                child.get("nodeType").and_then(Value::as_str),
            ) {
                plan.add(cid, cty, schemas)?;
            }
        }
    }
    Ok(plan.reads())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(v: Value) -> Ordered<NodeDef> {
        serde_json::from_value(v).expect("graph")
    }

    #[test]
    fn uuid_test_accepts_any_case_only() {
        assert!(is_uuid(SUCCESS_NODE));
        assert!(is_uuid("70E691A5-1E33-4AC3-A356-E7B6D60D92E0"));
        assert!(!is_uuid("70e691a5-1e33-4ac3-a356-e7b6d60d92e"));
        assert!(!is_uuid("70e691a5x1e33-4ac3-a356-e7b6d60d92e0"));
        assert!(!is_uuid("zze691a5-1e33-4ac3-a356-e7b6d60d92e0"));
    }

    #[test]
    fn structure_errors_are_collected() {
        let g = graph(json!({
            "a": {"nodeType": "X", "displayName": "A", "connections": {"o": "a", "p": "nowhere", "q": "SUCCESS"}, "config": {}},
        }));
        assert_eq!(
            structure_errors("b", &g).as_deref(),
            Some("Invalid journey structure: entryNodeId \"b\" does not reference a valid node; Node \"a\" outcome \"o\" cannot connect to itself; Node \"a\" outcome \"p\" references unknown target \"nowhere\"")
        );
        assert_eq!(
            structure_errors(
                "a",
                &graph(
                    json!({"a": {"nodeType": "X", "displayName": "A", "connections": {"q": "Failure"}, "config": {}}})
                )
            ),
            None
        );
    }

    #[test]
    fn transform_maps_ids_and_page_children() {
        let keep = "11111111-2222-4333-8444-555555555555";
        let g = graph(json!({
            "page": {"nodeType": "PageNode", "displayName": "P", "connections": {"outcome": keep},
                "config": {"nodes": [{"_id": "user", "nodeType": "ValidatedUsernameNode"}, {"nodeType": "ValidatedPasswordNode"}]}},
            keep: {"nodeType": "DataStoreDecisionNode", "displayName": "D", "connections": {"true": "success", "false": "FAILURE"}, "config": {"_id": "ignored"}},
        }));
        let t = transform("J", "page", &g);
        let keys: Vec<&String> = t.mapping.keys().collect();
        assert_eq!(keys, ["page", keep, "user"]);
        assert_eq!(t.mapping[keep], keep);
        let page_id = t.mapping["page"].as_str().expect("id");
        let user_id = t.mapping["user"].as_str().expect("id");
        assert!(is_uuid(page_id) && is_uuid(user_id));
        assert_eq!(t.core["entryNodeId"], page_id);
        let page = &t.core["nodes"][page_id];
        assert_eq!(page["connections"]["outcome"], keep);
        assert_eq!(page["config"]["_id"], page_id);
        assert_eq!(page["config"]["nodes"][0]["_id"], user_id);
        assert!(is_uuid(
            page["config"]["nodes"][1]["_id"].as_str().expect("fresh")
        ));
        let d = &t.core["nodes"][keep];
        assert_eq!(
            d["connections"],
            json!({"true": SUCCESS_NODE, "false": FAILURE_NODE})
        );
        assert_eq!(d["config"]["_id"], keep);
    }

    fn read(id: &str, ty: &str) -> Read {
        Read::Config {
            id: id.into(),
            ty: ty.into(),
        }
    }

    #[test]
    fn node_reads_are_schemas_once_then_configs_in_graph_order() {
        let nodes = json!({
            "n2": {"nodeType": "PageNode"},
            "n1": {"nodeType": "DataStoreDecisionNode"},
            "n3": {"nodeType": "PageNode"},
            "untyped": {"displayName": "no type"},
        });
        let reads = node_reads(nodes.as_object().expect("map")).expect("plan");
        assert_eq!(
            reads,
            [
                Read::Schema("PageNode".into()),
                Read::Schema("DataStoreDecisionNode".into()),
                read("n2", "PageNode"),
                read("n1", "DataStoreDecisionNode"),
                read("n3", "PageNode"),
            ]
        );
        assert_eq!(node_reads(&Map::new()), Ok(vec![]));
    }

    #[test]
    fn stored_ids_and_types_must_be_path_segments() {
        for nodes in [
            json!({"ok": {"nodeType": "X"}, "../x": {"nodeType": "X"}}),
            json!({"ok": {"nodeType": "a/b"}}),
            json!({".": {"nodeType": "X"}}),
        ] {
            let e = node_reads(nodes.as_object().expect("map")).expect_err("refused");
            assert!(e.starts_with("cannot use the stored node "), "{e}");
        }
        let nodes = json!({"p": {"nodeType": "PageNode"}});
        let configs = json!({"p": {"nodes": [{"_id": "c1", "nodeType": "a\\b"}]}});
        let e = page_child_reads(
            nodes.as_object().expect("map"),
            configs.as_object().expect("map"),
            &Map::new(),
        )
        .expect_err("refused");
        assert!(e.starts_with("cannot use the stored node type"), "{e}");
    }

    #[test]
    fn page_children_are_read_one_level_with_new_schemas_only() {
        let nodes = json!({
            "p1": {"nodeType": "PageNode"},
            "d": {"nodeType": "MessageNode"},
            "p2": {"nodeType": "PageNode"},
            "p3": {"nodeType": "PageNode"},
        });
        let configs = json!({
            "p1": {"nodes": [
                {"_id": "u", "nodeType": "ValidatedUsernameNode"},
                {"_id": "m", "nodeType": "MessageNode"},
                {"nodeType": "NoIdNode"},
                {"_id": "t"},
            ]},
            "d": {"nodes": [{"_id": "not-a-child", "nodeType": "X"}]},
            "p2": {"nodes": [
                {"_id": "pw", "nodeType": "ValidatedPasswordNode"},
                {"_id": "u2", "nodeType": "ValidatedUsernameNode"},
            ]},
        });
        let schemas = json!({"PageNode": {}, "MessageNode": {}});
        let reads = page_child_reads(
            nodes.as_object().expect("map"),
            configs.as_object().expect("map"),
            schemas.as_object().expect("map"),
        )
        .expect("plan");
        assert_eq!(
            reads,
            [
                Read::Schema("ValidatedUsernameNode".into()),
                Read::Schema("ValidatedPasswordNode".into()),
                read("u", "ValidatedUsernameNode"),
                read("m", "MessageNode"),
                read("pw", "ValidatedPasswordNode"),
                read("u2", "ValidatedUsernameNode"),
            ]
        );
    }

    #[test]
    fn page_node_children_get_ids_for_list_outcomes() {
        let config = json!({"nodes": [
            {"nodeType": "ValidatedUsernameNode"},
            {"_id": "keep", "nodeType": "ValidatedPasswordNode"},
            "not an object",
        ], "other": 1});
        let out = with_child_ids("PageNode", config.as_object().cloned().expect("map"));
        let children = out["nodes"].as_array().expect("children");
        assert!(is_uuid(children[0]["_id"].as_str().expect("fresh id")));
        assert_eq!(children[1]["_id"], "keep");
        assert_eq!(children[2], "not an object");
        assert_eq!(out["other"], 1);
        let same = with_child_ids(
            "ChoiceCollectorNode",
            config.as_object().cloned().expect("map"),
        );
        assert_eq!(Value::Object(same), config);
    }
}
