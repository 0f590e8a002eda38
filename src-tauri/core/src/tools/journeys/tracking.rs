//! How the journey tools' writes are tracked for the change journal, the approval card's
//! current state and revert.
//!
//! What can be put back with the family's own tools is reverted: a node's configuration
//! (`updateJourneyNode` is a full replacement, so the configuration before is written back
//! whole), a journey's settings (`updateJourney` without a graph), and the realm's default
//! journey. What cannot is journaled with its state and the reason: a journey's graph
//! (createJourney and updateJourney place the nodes and set up PageNode children
//! themselves), a deleted journey (AM deleted its node instances with it) and deleted nodes
//! (no tool creates a lone node).

use serde_json::{json, Map, Value};

use super::{
    auth_config, auth_config_path, node_request, send_all, tree_request, CreateJourneyArgs,
    UpdateJourneyArgs,
};
use crate::tenant::ApiRequest;
use crate::tools::{track, CallCtx, Realm, Restore, Subject, Track};

/// The settings `updateJourney` writes without a graph, in its order.
const SETTINGS: [&str; 8] = [
    "description",
    "identityResource",
    "mustRun",
    "innerTreeOnly",
    "uiConfig",
    "enabled",
    "maximumSessionTime",
    "maximumIdleTime",
];

/// What AM sets on a node instance itself; never part of a configuration written back.
const NODE_OWN: [&str; 3] = ["_id", "_rev", "_type"];

/// Most nodes a `deleteJourneyNodes` label names before "and N more".
const LABEL_NODES: usize = 3;

/// Subject kinds.
const NODE: &str = "journey node";
const NODES: &str = "journey nodes";
const JOURNEY: &str = "journey";
const DEFAULT: &str = "default journey";

/// A node instance, a journey, a set of nodes, or the realm's default journey, by what
/// the call names.
pub(in crate::tools) struct JourneyTrack;

fn text<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

/// Whether the tool refuses these arguments before sending anything: then nothing is
/// read either.
fn refused(tool: &str, args: &Value) -> bool {
    fn refusal<A: serde::de::DeserializeOwned>(args: &Value, f: fn(&A) -> Option<String>) -> bool {
        serde_json::from_value::<A>(args.clone())
            .map(|a| f(&a).is_some())
            .unwrap_or(true)
    }
    match tool {
        "updateJourney" => refusal(args, UpdateJourneyArgs::refusal),
        "createJourney" => refusal(args, CreateJourneyArgs::refusal),
        _ => false,
    }
}

fn realm_of(subject: &Subject) -> Result<Realm, String> {
    subject
        .key
        .get("realm")
        .and_then(|r| serde_json::from_value::<Realm>(r.clone()).ok())
        .ok_or_else(|| "the realm is not alpha or bravo".to_string())
}

/// The body of a read, or `None` on 404.
use super::super::track::found;

#[async_trait::async_trait]
impl Track for JourneyTrack {
    fn subject(&self, tool: &str, args: &Value) -> Option<Subject> {
        let realm = text(args, "realm")?;
        match tool {
            "updateJourneyNode" => {
                let (ty, id) = (text(args, "nodeType")?, text(args, "nodeId")?);
                Some(Subject {
                    kind: NODE.into(),
                    label: format!("{realm} node {ty} {id}"),
                    key: json!({"realm": realm, "nodeType": ty, "nodeId": id}),
                })
            }
            "updateJourney" | "deleteJourney" | "createJourney" => {
                if refused(tool, args) {
                    return None;
                }
                let name = text(args, "journeyName")?;
                Some(Subject {
                    kind: JOURNEY.into(),
                    label: format!("{realm} journey {name}"),
                    key: json!({"realm": realm, "journey": name}),
                })
            }
            "setDefaultJourney" => Some(Subject {
                kind: DEFAULT.into(),
                label: format!("{realm} default journey"),
                key: json!({"realm": realm}),
            }),
            "deleteJourneyNodes" => {
                let nodes: Vec<(&str, &str)> = args
                    .get("nodes")?
                    .as_array()?
                    .iter()
                    .map(|n| Some((text(n, "nodeType")?, text(n, "nodeId")?)))
                    .collect::<Option<_>>()?;
                let mut named: Vec<String> = nodes
                    .iter()
                    .take(LABEL_NODES)
                    .map(|(ty, id)| format!("{ty} {id}"))
                    .collect();
                if nodes.len() > LABEL_NODES {
                    named.push(format!("and {} more", nodes.len() - LABEL_NODES));
                }
                Some(Subject {
                    kind: NODES.into(),
                    label: format!(
                        "{realm} node{} {}",
                        if nodes.len() == 1 { "" } else { "s" },
                        named.join(", ")
                    ),
                    key: json!({
                        "realm": realm,
                        "nodes": nodes
                            .iter()
                            .map(|(ty, id)| json!({"nodeType": ty, "nodeId": id}))
                            .collect::<Vec<_>>(),
                    }),
                })
            }
            _ => None,
        }
    }

    async fn read(&self, ctx: &CallCtx, subject: &Subject) -> Result<Option<Value>, String> {
        let realm = realm_of(subject)?;
        let key = |k: &str| text(&subject.key, k).unwrap_or("");
        match subject.kind.as_str() {
            NODE => found(
                ctx.send(node_request(
                    ApiRequest::get,
                    realm,
                    key("nodeType"),
                    key("nodeId"),
                ))
                .await,
            ),
            JOURNEY => found(
                ctx.send(tree_request(ApiRequest::get, realm, key("journey")))
                    .await,
            ),
            DEFAULT => {
                let config = ctx
                    .send(auth_config(ApiRequest::get(&auth_config_path(realm))))
                    .await
                    .map_err(|e| e.to_string())?;
                let core = config.body.get("core");
                let field = |k: &str| core.and_then(|c| c.get(k)).cloned();
                Ok(Some(json!({
                    "defaultJourney": field("orgConfig").unwrap_or(Value::Null),
                    "adminAuthModule": field("adminAuthModule").unwrap_or(Value::Null),
                })))
            }
            NODES => {
                let refs: Vec<(String, String)> = subject
                    .key
                    .get("nodes")
                    .and_then(Value::as_array)
                    .map(|nodes| {
                        nodes
                            .iter()
                            .map(|n| {
                                let f = |k| text(n, k).unwrap_or("").to_string();
                                (f("nodeType"), f("nodeId"))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let requests = refs
                    .iter()
                    .map(|(ty, id)| node_request(ApiRequest::get, realm, ty, id))
                    .collect();
                let mut configs = Map::new();
                for ((_, id), r) in refs.iter().zip(send_all(ctx, requests).await) {
                    if let Some(config) = found(r)? {
                        configs.insert(id.clone(), config);
                    }
                }
                Ok((!configs.is_empty()).then_some(Value::Object(configs)))
            }
            other => Err(format!("no journey object of kind {other}")),
        }
    }

    fn preview(&self, tool: &str, args: &Value, now: &Value) -> Option<Value> {
        if tool != "updateJourneyNode" {
            return None;
        }
        // A full replacement: the node keeps only its own fields (id, revision, type).
        let mut then: Map<String, Value> = now
            .as_object()?
            .iter()
            .filter(|(k, _)| NODE_OWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in args.get("config")?.as_object()? {
            if !NODE_OWN.contains(&k.as_str()) {
                then.insert(k.clone(), v.clone());
            }
        }
        Some(Value::Object(then))
    }

    fn restore(
        &self,
        tool: &str,
        subject: &Subject,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<Restore, String> {
        let realm = subject.key.get("realm").cloned().unwrap_or(Value::Null);
        let journey = text(&subject.key, "journey").unwrap_or("");
        match tool {
            "updateJourneyNode" => restore_node(subject, before, after),
            "updateJourney" => restore_settings(realm, journey, before, after),
            "setDefaultJourney" => restore_default(realm, before, after),
            "createJourney" => Err(match before {
                None => format!(
                    "A journey created by createJourney is undone by deleting it (deleteJourney \"{journey}\"), which also deletes its nodes; that is not done from the journal."
                ),
                Some(_) => format!(
                    "createJourney replaced the existing journey \"{journey}\" (it is an upsert). Its previous graph cannot be written back: createJourney and updateJourney lay out the nodes and set up PageNode children themselves, and the journal keeps the journey, not its nodes' configurations. The previous journey is this change's state before."
                ),
            }),
            "deleteJourney" => Err(format!(
                "A deleted journey cannot be re-created faithfully: AM deleted its node instances with \"{journey}\", and the journal keeps the journey, not its nodes' configurations; createJourney would also lay out the nodes anew and set only the description and identity resource. The journey as it was is this change's state before."
            )),
            "deleteJourneyNodes" => Err(
                "Deleted node instances cannot be re-created: no tool creates a lone node (updateJourneyNode only replaces the configuration of a node that exists). Their configurations are this change's state before.".into(),
            ),
            _ => Err(format!("{tool} cannot be undone here")),
        }
    }
}

/// `updateJourneyNode` back to the configuration before: a full replacement, so every
/// field must be known. A configuration with a field the journal masked (its value is not
/// kept) cannot be written back without erasing that field.
fn restore_node(
    subject: &Subject,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<Restore, String> {
    let before = before
        .and_then(Value::as_object)
        .ok_or("the node's configuration before the change was not captured")?;
    let (config, masked) = track::restorable(before, &NODE_OWN);
    if !masked.is_empty() {
        return Err(format!(
            "The node's configuration has fields whose values the journal does not keep ({}); updateJourneyNode replaces the whole configuration, so writing it back would erase them.",
            masked.join(", ")
        ));
    }
    if let Some(after) = after.and_then(Value::as_object) {
        if track::restorable(after, &NODE_OWN).0 == config {
            return Err("the node's configuration is as it was before the change".into());
        }
    }
    Ok(Restore {
        tool: "updateJourneyNode".into(),
        arguments: json!({
            "realm": subject.key.get("realm").cloned().unwrap_or(Value::Null),
            "nodeType": subject.key.get("nodeType").cloned().unwrap_or(Value::Null),
            "nodeId": subject.key.get("nodeId").cloned().unwrap_or(Value::Null),
            "config": config,
        }),
        note: None,
    })
}

/// Whether `updateJourney` accepts `v` for `setting`.
fn writable(setting: &str, v: &Value) -> bool {
    match setting {
        "description" | "identityResource" => v.is_string(),
        "mustRun" | "innerTreeOnly" | "enabled" => v.is_boolean(),
        "uiConfig" => v.is_object(),
        _ => v.as_f64().is_some_and(|n| n >= 0.0),
    }
}

/// `updateJourney` back to the settings before, when only settings changed. A change to
/// anything else (the graph: nodes, entry node, positions) cannot be written back.
fn restore_settings(
    realm: Value,
    journey: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<Restore, String> {
    let before = before
        .and_then(Value::as_object)
        .ok_or("the journey before the change was not captured")?;
    let after = after
        .and_then(Value::as_object)
        .ok_or("the journey after the change was not captured")?;
    let other: Vec<&str> = before
        .keys()
        .chain(after.keys())
        .map(String::as_str)
        .filter(|k| *k != "_rev" && !SETTINGS.contains(k))
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    if !other.is_empty() {
        let mut other = other;
        other.sort_unstable();
        other.dedup();
        return Err(format!(
            "The change replaced the journey's graph ({}), which cannot be written back: updateJourney lays out the nodes and sets up PageNode children itself, and the journal keeps the journey, not its nodes' configurations. The nodes of the previous graph still exist (updateJourney does not delete them); the journey as it was is this change's state before.",
            other.join(", ")
        ));
    }
    let (fields, masked) = track::restorable(before, &["_id", "_rev"]);
    let mut arguments = Map::new();
    arguments.insert("realm".into(), realm);
    arguments.insert("journeyName".into(), Value::String(journey.to_string()));
    let (mut added, mut secret) = (Vec::new(), Vec::new());
    for setting in SETTINGS {
        if before.get(setting) == after.get(setting) {
            continue;
        }
        match fields.get(setting) {
            Some(v) if writable(setting, v) => {
                arguments.insert(setting.into(), v.clone());
            }
            Some(v) => {
                return Err(format!(
                    "the journey's {setting} was {v}, which updateJourney cannot write back"
                ))
            }
            None if masked.iter().any(|m| m == setting) => secret.push(setting),
            None => added.push(setting.to_string()),
        }
    }
    if arguments.len() == 2 {
        return Err(if !added.is_empty() {
            format!(
                "The change only set settings the journey did not have ({}); updateJourney cannot remove a setting.",
                added.join(", ")
            )
        } else if !secret.is_empty() {
            format!(
                "The change only set settings whose values the journal does not keep ({}).",
                secret.join(", ")
            )
        } else {
            "the journey is as it was before the change".into()
        });
    }
    Ok(Restore {
        tool: "updateJourney".into(),
        arguments: Value::Object(arguments),
        note: track::note(&masked, &added),
    })
}

/// `setDefaultJourney` back to the journey that was the default.
fn restore_default(
    realm: Value,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<Restore, String> {
    let before = before.ok_or("the default journey before the change was not captured")?;
    let previous = before
        .get("defaultJourney")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("the realm had no default journey before the change, and setDefaultJourney cannot unset it")?;
    let field = |v: Option<&Value>, k: &str| v.and_then(|s| s.get(k)).cloned();
    if field(after, "defaultJourney") == Some(Value::String(previous.to_string())) {
        return Err("the default journey is as it was before the change".into());
    }
    // setDefaultJourney writes the admin journey back as it finds it ("Login" when unset).
    let admin_changed = after.is_some()
        && field(Some(before), "adminAuthModule") != field(after, "adminAuthModule");
    Ok(Restore {
        tool: "setDefaultJourney".into(),
        arguments: json!({"realm": realm, "journeyName": previous}),
        note: admin_changed.then(|| {
            "The admin authentication journey the change set (adminAuthModule) stays.".into()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::MASK;

    const ID: &str = "5eed0005-7e57-4a00-8000-000000000005";

    fn subject(tool: &str, args: Value) -> Subject {
        JourneyTrack.subject(tool, &args).expect("a subject")
    }

    fn node() -> Subject {
        subject(
            "updateJourneyNode",
            json!({"realm": "alpha", "nodeType": "IncrementLoginCountNode", "nodeId": ID, "config": {}}),
        )
    }

    /// The subject of every write to a journey (deleteJourney's arguments are the fewest).
    fn journey() -> Subject {
        subject(
            "deleteJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        )
    }

    fn default() -> Subject {
        subject(
            "setDefaultJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        )
    }

    #[test]
    fn subjects_name_what_each_write_addresses() {
        let n = node();
        assert_eq!(n.kind, "journey node");
        assert_eq!(n.label, format!("alpha node IncrementLoginCountNode {ID}"));
        assert_eq!(journey().label, "alpha journey Login");
        let update = subject(
            "updateJourney",
            json!({"realm": "alpha", "journeyName": "Login", "enabled": false}),
        );
        assert_eq!(update.key, json!({"realm": "alpha", "journey": "Login"}));
        assert_eq!(default().label, "alpha default journey");
        let many = subject(
            "deleteJourneyNodes",
            json!({"realm": "bravo", "nodes": [
                {"nodeType": "A", "nodeId": "1"}, {"nodeType": "B", "nodeId": "2"},
                {"nodeType": "C", "nodeId": "3"}, {"nodeType": "D", "nodeId": "4"}]}),
        );
        assert_eq!(many.label, "bravo nodes A 1, B 2, C 3, and 1 more");
        assert_eq!(
            many.key["nodes"][3],
            json!({"nodeType": "D", "nodeId": "4"})
        );
        let one = subject(
            "deleteJourneyNodes",
            json!({"realm": "bravo", "nodes": [{"nodeType": "A", "nodeId": "1"}]}),
        );
        assert_eq!(one.label, "bravo node A 1");
        // Nothing to name: missing or malformed arguments, a read-only or unknown tool.
        for (tool, args) in [
            (
                "updateJourneyNode",
                json!({"realm": "alpha", "nodeType": "X"}),
            ),
            (
                "deleteJourneyNodes",
                json!({"realm": "alpha", "nodes": [{"nodeType": "X"}]}),
            ),
            ("updateJourney", json!({"journeyName": "Login"})),
            (
                "getJourney",
                json!({"realm": "alpha", "journeyName": "Login"}),
            ),
            // Calls the tool refuses before any request: nothing is read either.
            (
                "updateJourney",
                json!({"realm": "alpha", "journeyName": "Login"}),
            ),
            (
                "updateJourney",
                json!({"realm": "alpha", "journeyName": "Login", "entryNodeId": "a"}),
            ),
            (
                "createJourney",
                json!({"realm": "alpha", "journeyName": "J", "journeyData": {
                "entryNodeId": "missing", "nodes": {}}}),
            ),
        ] {
            assert_eq!(JourneyTrack.subject(tool, &args), None, "{tool}");
        }
    }

    #[test]
    fn a_node_is_written_back_whole_without_what_am_sets() {
        let before = json!({"_id": ID, "_rev": "1", "_type": {"_id": "IncrementLoginCountNode"}, "identityAttribute": "userName"});
        let after = json!({"_id": ID, "_rev": "2", "_type": {"_id": "IncrementLoginCountNode"}, "identityAttribute": "mail", "extra": 1});
        let r = JourneyTrack
            .restore("updateJourneyNode", &node(), Some(&before), Some(&after))
            .expect("restorable");
        assert_eq!(r.tool, "updateJourneyNode");
        assert_eq!(
            r.arguments,
            json!({"realm": "alpha", "nodeType": "IncrementLoginCountNode", "nodeId": ID,
                   "config": {"identityAttribute": "userName"}})
        );
        assert_eq!(r.note, None);
        // Unchanged apart from the revision: nothing to revert.
        let same = json!({"_id": ID, "_rev": "3", "identityAttribute": "userName"});
        let e = JourneyTrack
            .restore("updateJourneyNode", &node(), Some(&before), Some(&same))
            .expect_err("no change");
        assert!(e.contains("as it was"), "{e}");
        // A masked field would be erased by the full replacement.
        let secret = json!({"_id": ID, "passwordAttribute": MASK, "validateInput": true});
        let e = JourneyTrack
            .restore("updateJourneyNode", &node(), Some(&secret), Some(&after))
            .expect_err("masked");
        assert!(
            e.contains("passwordAttribute") && e.contains("erase"),
            "{e}"
        );
        let e = JourneyTrack
            .restore("updateJourneyNode", &node(), None, Some(&after))
            .expect_err("no state");
        assert!(e.contains("not captured"), "{e}");
    }

    fn tree(extra: Value) -> Value {
        let mut t = json!({"_id": "Login", "_rev": "1", "entryNodeId": "a", "nodes": {"a": {"x": 1}},
                           "enabled": true, "description": "Platform Login Tree", "uiConfig": {"c": 1}});
        if let (Some(t), Value::Object(extra)) = (t.as_object_mut(), extra) {
            t.extend(extra);
        }
        t
    }

    #[test]
    fn journey_settings_are_written_back_and_a_new_graph_is_not() {
        let s = journey();
        let before = tree(json!({}));
        let after =
            tree(json!({"_rev": "2", "enabled": false, "uiConfig": {}, "maximumIdleTime": 30}));
        let r = JourneyTrack
            .restore("updateJourney", &s, Some(&before), Some(&after))
            .expect("settings");
        assert_eq!(
            r.arguments,
            json!({"realm": "alpha", "journeyName": "Login", "uiConfig": {"c": 1}, "enabled": true})
        );
        assert!(
            r.note.as_deref().unwrap_or("").contains("maximumIdleTime"),
            "{:?}",
            r.note
        );
        // Only an added setting: nothing updateJourney can write.
        let added = tree(json!({"_rev": "2", "maximumIdleTime": 30}));
        let e = JourneyTrack
            .restore("updateJourney", &s, Some(&before), Some(&added))
            .expect_err("cannot remove");
        assert!(e.contains("cannot remove"), "{e}");
        let e = JourneyTrack
            .restore(
                "updateJourney",
                &s,
                Some(&before),
                Some(&tree(json!({"_rev": "2"}))),
            )
            .expect_err("unchanged");
        assert!(e.contains("as it was"), "{e}");
        let graph =
            tree(json!({"_rev": "2", "entryNodeId": "b", "nodes": {"b": {}}, "enabled": false}));
        let e = JourneyTrack
            .restore("updateJourney", &s, Some(&before), Some(&graph))
            .expect_err("graph");
        assert!(e.contains("graph (entryNodeId, nodes)"), "{e}");
        // A value updateJourney does not take.
        let odd = tree(json!({"description": null}));
        let e = JourneyTrack
            .restore("updateJourney", &s, Some(&odd), Some(&before))
            .expect_err("null description");
        assert!(e.contains("description was null"), "{e}");
    }

    #[test]
    fn the_default_journey_is_set_back() {
        let s = default();
        let before = json!({"defaultJourney": "Login", "adminAuthModule": "Login"});
        let after = json!({"defaultJourney": "Registration", "adminAuthModule": "Login"});
        let r = JourneyTrack
            .restore("setDefaultJourney", &s, Some(&before), Some(&after))
            .expect("restorable");
        assert_eq!(
            r.arguments,
            json!({"realm": "alpha", "journeyName": "Login"})
        );
        assert_eq!(r.note, None);
        let unset = json!({"defaultJourney": "Login", "adminAuthModule": ""});
        let r = JourneyTrack
            .restore("setDefaultJourney", &s, Some(&unset), Some(&after))
            .expect("restorable");
        assert!(r.note.unwrap_or_default().contains("adminAuthModule"));
        let none = json!({"defaultJourney": null, "adminAuthModule": "Login"});
        let e = JourneyTrack
            .restore("setDefaultJourney", &s, Some(&none), Some(&after))
            .expect_err("no default before");
        assert!(e.contains("cannot unset"), "{e}");
        let e = JourneyTrack
            .restore("setDefaultJourney", &s, Some(&before), Some(&before))
            .expect_err("same");
        assert!(e.contains("as it was"), "{e}");
    }

    #[test]
    fn what_cannot_be_written_back_says_why() {
        let s = journey();
        let e = JourneyTrack
            .restore("createJourney", &s, None, Some(&tree(json!({}))))
            .expect_err("create");
        assert!(e.contains("deleteJourney \"Login\""), "{e}");
        let e = JourneyTrack
            .restore(
                "createJourney",
                &s,
                Some(&tree(json!({}))),
                Some(&tree(json!({}))),
            )
            .expect_err("upsert");
        assert!(e.contains("replaced the existing journey"), "{e}");
        let e = JourneyTrack
            .restore("deleteJourney", &s, Some(&tree(json!({}))), None)
            .expect_err("delete");
        assert!(e.contains("cannot be re-created"), "{e}");
        let e = JourneyTrack
            .restore("deleteJourneyNodes", &s, Some(&json!({})), None)
            .expect_err("nodes");
        assert!(e.contains("no tool creates a lone node"), "{e}");
    }
}
