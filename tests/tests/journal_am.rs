//! The change journal for the AM journey tools and the OIDC app tools, through the real MCP
//! service against the simulator: a node's configuration, a journey's settings, the realm's
//! default journey and an OIDC app's two halves are journaled with their states before and
//! after and the call's transaction ids, and a revert (itself journaled, with `reverts`)
//! leaves them as they were; what cannot be undone (a new graph, a deleted journey or node,
//! a deleted OIDC app createOidcApp cannot rebuild) says why; a call the tool refuses
//! before any request reads nothing and is not journaled.

use aic_mcp_core::app::REVERT_CLIENT;
use aic_mcp_core::journal::{Change, Undo};
use aic_mcp_core::policy::Rules;
use aic_mcp_tests::{
    assert_transactions_seen, guarded_env, journaled as changes, result_json as body_of, Env,
};
use serde_json::{json, Value};

const BJENSEN: &str = "a1000000-0000-4000-8000-000000000001";
/// The IncrementLoginCountNode of the seeded alpha Login journey.
const COUNT_NODE: &str = "5eed0005-7e57-4a00-8000-000000000005";

/// `v` without the revisions the server sets (`_rev`, at any depth).
fn without_revs(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "_rev")
                .map(|(k, v)| (k.clone(), without_revs(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_revs).collect()),
        other => other.clone(),
    }
}

async fn call_ok(env: &Env, tool: &str, args: Value) -> String {
    let (err, text) = env.call(tool, args).await;
    assert!(!err, "{tool}: {text}");
    text
}

async fn journey(env: &Env, name: &str) -> Value {
    body_of(
        &call_ok(
            env,
            "getJourney",
            json!({"realm": "alpha", "journeyName": name}),
        )
        .await,
    )
}

async fn oidc_app(env: &Env, name: &str) -> Value {
    body_of(&call_ok(env, "getOidcApp", json!({"realm": "alpha", "name": name})).await)
}

/// Reverts `c` and checks the revert is journaled as such; returns the revert's entry.
async fn revert(env: &Env, c: &Change) -> Change {
    let before = changes(env).len();
    env.app.revert(&c.id).await.expect("reverted");
    let list = changes(env);
    assert_eq!(list.len(), before + 1, "the revert is journaled too");
    let r = list[0].clone();
    assert_eq!(r.reverts.as_deref(), Some(c.id.as_str()));
    assert_eq!(r.client.as_deref(), Some(REVERT_CLIENT));
    r
}

fn possible(c: &Change) -> (&str, &aic_mcp_core::tools::Restore) {
    match &c.undo {
        Undo::Possible { action, restore } => (action.as_str(), restore),
        Undo::Impossible { why } => panic!("{} can be undone, but: {why}", c.tool),
    }
}

fn impossible(c: &Change) -> &str {
    match &c.undo {
        Undo::Impossible { why } => why,
        Undo::Possible { .. } => panic!("{} cannot be undone: {:?}", c.tool, c.undo),
    }
}

async fn assert_not_revertible(env: &Env, c: &Change) {
    let e = env.app.revert(&c.id).await.expect_err("cannot be undone");
    assert!(
        e.to_string().starts_with("this change cannot be undone"),
        "{e}"
    );
}

#[tokio::test]
async fn a_node_update_is_journaled_and_its_revert_puts_the_configuration_back() {
    let env = guarded_env(Rules::default(), None).await;
    let config = |j: &Value| without_revs(&j["nodeData"]["configs"][COUNT_NODE]);
    let original = config(&journey(&env, "Login").await);
    assert_eq!(original["identityAttribute"], "userName");
    call_ok(
        &env,
        "updateJourneyNode",
        json!({"realm": "alpha", "nodeType": "IncrementLoginCountNode", "nodeId": COUNT_NODE,
               "config": {"identityAttribute": "mail"}}),
    )
    .await;
    assert_ne!(config(&journey(&env, "Login").await), original);

    let c = changes(&env).remove(0);
    assert_eq!(c.tool, "updateJourneyNode");
    let subject = c.subject.as_ref().expect("subject");
    assert_eq!(subject.kind, "journey node");
    assert_eq!(
        subject.label,
        format!("alpha node IncrementLoginCountNode {COUNT_NODE}")
    );
    let (before, after) = (
        c.before.as_ref().expect("before"),
        c.after.as_ref().expect("after"),
    );
    assert_eq!(before["_id"], COUNT_NODE);
    assert_eq!(before["identityAttribute"], "userName");
    assert_eq!(after["identityAttribute"], "mail");
    assert_transactions_seen(&env, &c);
    let (action, restore) = possible(&c);
    assert_eq!(action, "revert");
    assert_eq!(restore.tool, "updateJourneyNode");
    // Without what AM sets itself (_id, _rev, _type).
    assert_eq!(
        restore.arguments["config"],
        json!({"identityAttribute": "userName"})
    );

    let r = revert(&env, &c).await;
    assert_eq!(r.tool, "updateJourneyNode");
    assert_eq!(config(&journey(&env, "Login").await), original, "as it was");
}

#[tokio::test]
async fn journey_settings_and_the_default_journey_revert() {
    let env = guarded_env(Rules::default(), None).await;
    let original = without_revs(&journey(&env, "Login").await);
    call_ok(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "Login", "description": "Changed by the test",
               "enabled": false, "uiConfig": {"categories": "[\"Test\"]"}}),
    )
    .await;
    let c = changes(&env).remove(0);
    let subject = c.subject.as_ref().expect("subject");
    assert_eq!(
        (subject.kind.as_str(), subject.label.as_str()),
        ("journey", "alpha journey Login")
    );
    let (before, after) = (
        c.before.as_ref().expect("before"),
        c.after.as_ref().expect("after"),
    );
    assert_eq!(before["description"], "Platform Login Tree");
    assert_eq!(after["description"], "Changed by the test");
    assert_eq!(after["enabled"], false);
    assert_transactions_seen(&env, &c);
    let (action, restore) = possible(&c);
    assert_eq!((action, restore.tool.as_str()), ("revert", "updateJourney"));
    // The settings, not the graph.
    assert_eq!(
        restore.arguments,
        json!({"realm": "alpha", "journeyName": "Login", "description": "Platform Login Tree",
               "uiConfig": original["uiConfig"], "enabled": true})
    );
    assert_eq!(restore.note, None);
    revert(&env, &c).await;
    assert_eq!(
        without_revs(&journey(&env, "Login").await),
        original,
        "as it was"
    );

    let default = |text: &str| body_of(text)["defaultJourney"].clone();
    let list = json!({"realm": "alpha"});
    assert_eq!(
        default(&call_ok(&env, "listJourneys", list.clone()).await),
        "Login"
    );
    call_ok(
        &env,
        "setDefaultJourney",
        json!({"realm": "alpha", "journeyName": "Registration"}),
    )
    .await;
    let c = changes(&env).remove(0);
    assert_eq!(
        c.subject.as_ref().map(|s| s.label.as_str()),
        Some("alpha default journey")
    );
    assert_eq!(
        c.before.as_ref().expect("before")["defaultJourney"],
        "Login"
    );
    assert_eq!(
        c.after.as_ref().expect("after")["defaultJourney"],
        "Registration"
    );
    assert_transactions_seen(&env, &c);
    let (_, restore) = possible(&c);
    assert_eq!(restore.tool, "setDefaultJourney");
    let r = revert(&env, &c).await;
    assert_eq!(r.after.as_ref().expect("after")["defaultJourney"], "Login");
    assert_eq!(default(&call_ok(&env, "listJourneys", list).await), "Login");
}

#[tokio::test]
async fn journey_graphs_and_deletions_say_why_they_cannot_be_undone() {
    let env = guarded_env(Rules::default(), None).await;
    let graph = |key: &str| {
        json!({"entryNodeId": key, "nodes": {key: {
            "nodeType": "DataStoreDecisionNode", "displayName": "Check",
            "connections": {"true": "success", "false": "failure"}, "config": {}}}})
    };
    let created = body_of(
        &call_ok(
            &env,
            "createJourney",
            json!({"realm": "alpha", "journeyName": "JournalTest", "journeyData": graph("check")}),
        )
        .await,
    );
    let old_node = created["nodeIdMapping"]["check"]
        .as_str()
        .expect("node id")
        .to_string();
    let c = changes(&env).remove(0);
    assert_eq!(c.before, None, "new");
    assert_eq!(c.after.as_ref().expect("after")["_id"], "JournalTest");
    assert!(
        impossible(&c).contains("deleteJourney \"JournalTest\""),
        "{}",
        impossible(&c)
    );
    assert_not_revertible(&env, &c).await;

    // A new graph: journaled with both states, not written back.
    call_ok(
        &env,
        "updateJourney",
        json!({"realm": "alpha", "journeyName": "JournalTest", "entryNodeId": "again",
               "nodes": graph("again")["nodes"]}),
    )
    .await;
    let c = changes(&env).remove(0);
    let (before, after) = (
        c.before.as_ref().expect("before"),
        c.after.as_ref().expect("after"),
    );
    assert_eq!(before["entryNodeId"], old_node.as_str());
    assert_ne!(after["entryNodeId"], before["entryNodeId"]);
    let why = impossible(&c);
    assert!(
        why.contains("replaced the journey's graph") && why.contains("entryNodeId, nodes"),
        "{why}"
    );
    assert_not_revertible(&env, &c).await;

    // The orphan of the old graph: its configuration is kept, it is not re-created.
    call_ok(
        &env,
        "deleteJourneyNodes",
        json!({"realm": "alpha", "nodes": [{"nodeType": "DataStoreDecisionNode", "nodeId": old_node}]}),
    )
    .await;
    let c = changes(&env).remove(0);
    assert_eq!(
        c.subject.as_ref().map(|s| s.label.clone()),
        Some(format!("alpha node DataStoreDecisionNode {old_node}"))
    );
    assert_eq!(
        c.before.as_ref().expect("before")[old_node.as_str()]["_id"],
        old_node.as_str()
    );
    assert_eq!(c.after, None, "gone");
    assert!(impossible(&c).contains("no tool creates a lone node"));
    assert_not_revertible(&env, &c).await;

    call_ok(
        &env,
        "deleteJourney",
        json!({"realm": "alpha", "journeyName": "JournalTest"}),
    )
    .await;
    let c = changes(&env).remove(0);
    assert_eq!(c.before.as_ref().expect("before")["_id"], "JournalTest");
    assert_eq!(c.after, None, "gone");
    assert!(impossible(&c).contains("cannot be re-created"));
    assert_transactions_seen(&env, &c);
    assert_not_revertible(&env, &c).await;
}

#[tokio::test]
async fn an_oidc_app_update_reverts_both_halves_but_not_the_client_secret() {
    let env = guarded_env(Rules::default(), None).await;
    let original = oidc_app(&env, "Customer Portal").await;
    let rev = original["managedApplication"]["_rev"].clone();
    call_ok(
        &env,
        "updateOidcApp",
        json!({"realm": "alpha", "name": "Customer Portal",
               "oauth2Client": {"coreOAuth2ClientConfig": {
                   "scopes": {"inherited": false, "value": ["openid"]},
                   "userpassword": "n3w-s3cret"}},
               "managedApplication": {"_rev": rev, "operations": [
                   {"operation": "replace", "field": "/description", "value": "Changed by the test"},
                   {"operation": "remove", "field": "/url"}]}}),
    )
    .await;
    let changed = oidc_app(&env, "Customer Portal").await;
    assert_ne!(
        changed["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"],
        original["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"]
    );

    let c = changes(&env).remove(0);
    assert!(
        !serde_json::to_string(&c)
            .expect("json")
            .contains("n3w-s3cret"),
        "the secret is not journaled"
    );
    let subject = c.subject.as_ref().expect("subject");
    assert_eq!(
        (subject.kind.as_str(), subject.label.as_str()),
        ("OIDC app", "alpha OIDC app Customer Portal")
    );
    let (before, after) = (
        c.before.as_ref().expect("before"),
        c.after.as_ref().expect("after"),
    );
    assert_eq!(
        before["managedApplication"]["description"],
        original["managedApplication"]["description"]
    );
    assert_eq!(
        after["managedApplication"]["description"],
        "Changed by the test"
    );
    assert_eq!(
        before["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"],
        original["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"]
    );
    assert_eq!(
        after["oauth2Client"]["coreOAuth2ClientConfig"]["scopes"]["value"],
        json!(["openid"])
    );
    assert_transactions_seen(&env, &c);
    let (action, restore) = possible(&c);
    assert_eq!((action, restore.tool.as_str()), ("revert", "updateOidcApp"));
    let note = restore.note.as_deref().unwrap_or("");
    // Only what the change wrote and the journal does not keep: the secret.
    assert!(
        note.contains("Not restored: coreOAuth2ClientConfig.userpassword (")
            && !note.contains("accessTokenLifetime"),
        "{note}"
    );
    // Bound to the application's revision the change left.
    assert_eq!(
        restore.arguments["managedApplication"]["_rev"],
        after["managedApplication"]["_rev"]
    );
    assert!(restore.arguments["oauth2Client"]["coreOAuth2ClientConfig"]
        .get("userpassword")
        .is_none());

    let r = revert(&env, &c).await;
    assert_eq!(r.tool, "updateOidcApp");
    let now = oidc_app(&env, "Customer Portal").await;
    for half in ["managedApplication", "oauth2Client"] {
        assert_eq!(
            without_revs(&now[half]),
            without_revs(&original[half]),
            "{half} as it was"
        );
    }
}

/// A deleted app is re-created only when createOidcApp rebuilds it from the journaled
/// state, its secret aside; one with what createOidcApp does not write says why not.
#[tokio::test]
async fn a_deleted_oidc_app_is_re_created_without_its_secret_or_says_why_not() {
    let env = guarded_env(Rules::default(), None).await;
    call_ok(
        &env,
        "createOidcApp",
        json!({"realm": "alpha", "name": "Journal App", "clientId": "journal-app",
               "owners": [{"_ref": format!("managed/alpha_user/{BJENSEN}")}],
               "oauth2Client": {"coreOAuth2ClientConfig": {
                   "redirectionUris": {"inherited": false, "value": ["https://journal.example.com/cb"]},
                   "userpassword": "s3cret"}}}),
    )
    .await;
    let c = changes(&env).remove(0);
    assert!(
        impossible(&c).contains("deleting what it created"),
        "{}",
        impossible(&c)
    );
    let original = oidc_app(&env, "Journal App").await;

    call_ok(
        &env,
        "deleteOidcApp",
        json!({"realm": "alpha", "name": "Journal App"}),
    )
    .await;
    let c = changes(&env).remove(0);
    assert!(
        !serde_json::to_string(&c).expect("json").contains("s3cret"),
        "the secret is not journaled"
    );
    assert_eq!(
        c.subject.as_ref().map(|s| s.label.as_str()),
        Some("alpha OIDC app Journal App")
    );
    let before = c.before.as_ref().expect("before");
    assert_eq!(
        before["managedApplication"]["_id"],
        original["managedApplication"]["_id"]
    );
    assert_eq!(
        before["oauth2Client"]["coreOAuth2ClientConfig"]["redirectionUris"]["value"],
        json!(["https://journal.example.com/cb"])
    );
    assert_eq!(c.after, None, "gone");
    assert_transactions_seen(&env, &c);
    let Undo::Possible { action, restore } = &c.undo else {
        panic!("{:?}", c.undo)
    };
    assert_eq!(
        (action.as_str(), restore.tool.as_str()),
        ("re-create", "createOidcApp")
    );
    let note = restore.note.as_deref().unwrap_or("");
    assert!(note.contains("client secret is not restored"), "{note}");
    revert(&env, &c).await;
    // Re-created as it was (its client settings, token lifetimes included), with a new
    // application id and without the secret.
    let again = oidc_app(&env, "Journal App").await;
    assert_ne!(
        again["managedApplication"]["_id"],
        original["managedApplication"]["_id"]
    );
    let client = |app: &Value| {
        let mut c = app["oauth2Client"].clone();
        for k in ["_rev", "_id"] {
            c.as_object_mut().map(|m| m.remove(k));
        }
        c["coreOAuth2ClientConfig"]
            .as_object_mut()
            .map(|m| m.remove("userpassword"));
        c
    };
    assert_eq!(client(&again), client(&original));

    // A seeded app also has what createOidcApp does not write.
    call_ok(
        &env,
        "deleteOidcApp",
        json!({"realm": "alpha", "name": "Customer Portal"}),
    )
    .await;
    let c = changes(&env).remove(0);
    assert!(c.before.is_some());
    let why = impossible(&c);
    assert!(
        why.starts_with("The OIDC app \"Customer Portal\" cannot be re-created: ")
            && why.contains("description"),
        "{why}"
    );
    assert_not_revertible(&env, &c).await;
}

#[tokio::test]
async fn a_call_refused_before_any_request_reads_nothing_and_is_not_journaled() {
    let env = guarded_env(Rules::default(), None).await;
    for (tool, args) in [
        (
            "updateJourney",
            json!({"realm": "alpha", "journeyName": "Login"}),
        ),
        (
            "updateJourney",
            json!({"realm": "alpha", "journeyName": "Login", "entryNodeId": "a", "enabled": false}),
        ),
        (
            "createJourney",
            json!({"realm": "alpha", "journeyName": "J", "journeyData": {"entryNodeId": "x", "nodes": {}}}),
        ),
        (
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal"}),
        ),
        (
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Customer Portal", "managedApplication": {"_rev": "1",
                   "operations": [{"operation": "replace", "field": "/ssoEntities/oidcId", "value": "x"}]}}),
        ),
    ] {
        let (err, text) = env.call(tool, args).await;
        assert!(err, "{tool}: {text}");
    }
    assert!(env.sim.requests().is_empty(), "{:?}", env.sim.requests());
    assert!(changes(&env).is_empty());
}

#[tokio::test]
async fn a_node_update_card_shows_the_configuration_it_will_leave() {
    use aic_mcp_core::approval::{Answer, Approvals};
    let queue = Approvals::new();
    let env = aic_mcp_tests::asking_env(&queue).await;
    let (res, card) = tokio::join!(
        env.call(
            "updateJourneyNode",
            json!({"realm": "alpha", "nodeType": "IncrementLoginCountNode", "nodeId": COUNT_NODE,
                   "config": {"identityAttribute": "mail"}}),
        ),
        aic_mcp_tests::answer_next(&queue, Answer::Approve)
    );
    assert!(!res.0, "{}", res.1);
    let shown: Vec<(String, Option<Value>, Option<Value>)> = card
        .changes
        .iter()
        .map(|c| (c.path.clone(), c.before.clone(), c.after.clone()))
        .collect();
    assert_eq!(
        shown,
        [(
            "/identityAttribute".to_string(),
            Some(json!("userName")),
            Some(json!("mail"))
        )]
    );
    // What the card said is what the tenant holds now (its revision aside).
    let after = changes(&env).remove(0).after.expect("after");
    assert_eq!(
        without_revs(&after),
        without_revs(card.proposed.as_ref().expect("proposed"))
    );
}
