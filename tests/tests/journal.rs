//! The change journal and revert, through the real MCP service against the simulator:
//! every write that reaches the tenant is journaled with the state before and after (read
//! with the call's own token, secrets masked) and its transaction ids; an update reverted
//! leaves the tenant as it was; a deleted object is re-created from its journaled state; a
//! revert is itself a journaled call; what cannot be undone says why; an approval card
//! shows the object as it is now.

use aic_mcp_core::app::REVERT_CLIENT;
use aic_mcp_core::approval::{Answer, Approvals};
use aic_mcp_core::journal::Undo;
use aic_mcp_core::policy::Rules;
use aic_mcp_tests::{
    answer_next, asking_env, assert_transactions_seen, guarded_env, journaled as changes,
    result_json as body_of, Env,
};
use serde_json::{json, Value};

const BJENSEN: &str = "a1000000-0000-4000-8000-000000000001";

async fn theme(env: &Env, name: &str) -> Value {
    let (err, text) = env
        .call(
            "getTheme",
            json!({"realm": "alpha", "themeIdentifier": name}),
        )
        .await;
    assert!(!err, "{text}");
    body_of(&text)
}

#[tokio::test]
async fn an_update_is_journaled_with_both_states_and_its_revert_restores_the_original() {
    let env = guarded_env(Rules::default(), None).await;
    let original = theme(&env, "Zardoz").await;
    let (err, text) = env
        .call(
            "updateTheme",
            json!({"realm": "alpha", "themeIdentifier": "Zardoz",
                   "themeUpdates": {"backgroundColor": "#101010", "primaryColor": "#202020"}}),
        )
        .await;
    assert!(!err, "{text}");
    assert_ne!(theme(&env, "Zardoz").await, original);

    let list = changes(&env);
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c.tool, "updateTheme");
    assert_eq!(c.client.as_deref(), Some("test"));
    assert_eq!(c.tenant, env.sim.base_url());
    let subject = c.subject.as_ref().expect("subject");
    assert_eq!(subject.kind, "theme");
    assert_eq!(subject.label, "alpha theme Zardoz");
    let (before, after) = (
        c.before.as_ref().expect("before"),
        c.after.as_ref().expect("after"),
    );
    assert_eq!(before["backgroundColor"], original["backgroundColor"]);
    assert_eq!(after["backgroundColor"], "#101010");
    assert_eq!(after["primaryColor"], "#202020");
    // The journal's transaction ids are the ones the tenant saw.
    assert_transactions_seen(&env, c);
    let Undo::Possible { action, restore } = &c.undo else {
        panic!("an update can be reverted: {:?}", c.undo)
    };
    assert_eq!(action, "revert");
    assert_eq!(restore.tool, "updateTheme");

    let text = env.app.revert(&c.id).await.expect("reverted");
    assert!(text.contains("Updated theme"), "{text}");
    assert_eq!(theme(&env, "Zardoz").await, original, "as it was");
    let list = changes(&env);
    assert_eq!(list.len(), 2, "the revert is journaled too");
    assert_eq!(list[0].reverts.as_deref(), Some(c.id.as_str()));
    assert_eq!(list[0].client.as_deref(), Some(REVERT_CLIENT));
}

#[tokio::test]
async fn a_deleted_object_is_re_created_from_its_journaled_state_and_a_patch_reverts_on_its_revision(
) {
    let env = guarded_env(Rules::default(), None).await;
    let (err, text) = env
        .call(
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN, "revision": "*",
                   "operations": [{"operation": "replace", "field": "/mail", "value": "new@example.com"}]}),
        )
        .await;
    assert!(!err, "{text}");
    let patch = changes(&env).remove(0);
    let original_mail = patch.before.as_ref().expect("before")["mail"].clone();
    assert_ne!(original_mail, json!("new@example.com"));
    let Undo::Possible { restore, .. } = &patch.undo else {
        panic!("{:?}", patch.undo)
    };
    assert_eq!(
        restore.arguments["revision"],
        patch.after.as_ref().expect("after")["_rev"]
    );
    env.app.revert(&patch.id).await.expect("reverted");
    let (_, text) = env
        .call(
            "getManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN}),
        )
        .await;
    assert_eq!(body_of(&text)["mail"], original_mail);
    // A second revert of the same patch is bound to a revision that is gone: refused by
    // the tenant, nothing changed.
    let e = env.app.revert(&patch.id).await.expect_err("stale revision");
    assert!(e.to_string().contains("revert did not go through"), "{e}");

    let (err, text) = env
        .call(
            "deleteManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN}),
        )
        .await;
    assert!(!err, "{text}");
    let deleted = changes(&env).remove(0);
    assert_eq!(deleted.tool, "deleteManagedObject");
    assert_eq!(deleted.after, None, "gone");
    let user_name = deleted.before.as_ref().expect("before")["userName"].clone();
    let Undo::Possible { action, restore } = &deleted.undo else {
        panic!("{:?}", deleted.undo)
    };
    assert_eq!(action, "re-create");
    assert!(restore.note.as_deref().unwrap_or("").contains("new _id"));
    env.app.revert(&deleted.id).await.expect("re-created");
    let (err, text) = env
        .call(
            "queryManagedObjects",
            json!({"objectType": "alpha_user", "queryFilter": format!("userName eq {user_name}")}),
        )
        .await;
    assert!(!err, "{text}");
    assert!(text.contains(user_name.as_str().unwrap_or("?")), "{text}");
}

#[tokio::test]
async fn what_cannot_be_undone_says_why_and_a_card_shows_the_object_as_it_is_now() {
    let queue = Approvals::new();
    let env = asking_env(&queue).await;
    let (res, card) = tokio::join!(
        env.call(
            "deleteManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN})
        ),
        answer_next(&queue, Answer::Approve)
    );
    assert!(!res.0, "{}", res.1);
    assert_eq!(
        card.subject.as_deref(),
        Some(format!("alpha_user {BJENSEN}").as_str())
    );
    let current = card.current.expect("the object as it is now");
    assert_eq!(current["_id"], BJENSEN);
    assert!(current.get("userName").is_some());
    // The read for the card went upstream with the call's id: it shows in the request list.
    let gets: Vec<_> = env
        .resource_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(BJENSEN))
        .collect();
    assert!(!gets.is_empty());

    // A create names nothing to read back: journaled, with why it is not undone here.
    let (res, _) = tokio::join!(
        env.call(
            "createTheme",
            json!({"realm": "alpha", "themeData": {"name": "Journal Test"}})
        ),
        answer_next(&queue, Answer::Approve)
    );
    assert!(!res.0, "{}", res.1);
    let c = changes(&env).remove(0);
    assert_eq!(c.tool, "createTheme");
    let Undo::Impossible { why } = &c.undo else {
        panic!("{:?}", c.undo)
    };
    assert!(why.contains("deleting what it created"), "{why}");
    let e = env.app.revert(&c.id).await.expect_err("cannot");
    assert!(
        e.to_string().starts_with("this change cannot be undone"),
        "{e}"
    );
}

/// `getVariable`'s record without what the tenant stamps on every write.
async fn variable(env: &Env, id: &str) -> Value {
    let (err, text) = env.call("getVariable", json!({"variableId": id})).await;
    assert!(!err, "{text}");
    let mut v = body_of(&text);
    if let Some(map) = v.as_object_mut() {
        map.remove("lastChangeDate");
        map.remove("lastChangedBy");
        map.remove("loaded");
    }
    v
}

#[tokio::test]
async fn an_esv_variable_set_is_reverted_and_a_deleted_one_re_created_with_value_type_and_description(
) {
    let env = guarded_env(Rules::default(), None).await;
    let original = variable(&env, "esv-feature-flags").await;
    let (err, text) = env
        .call(
            "setVariable",
            json!({"variableId": "esv-feature-flags", "type": "object",
                   "value": {"newLoginJourney": false}, "description": "changed"}),
        )
        .await;
    assert!(!err, "{text}");
    assert_ne!(variable(&env, "esv-feature-flags").await, original);
    let set = changes(&env).remove(0);
    assert_eq!(
        set.subject.as_ref().map(|s| s.kind.as_str()),
        Some("ESV variable")
    );
    // The states keep the value (the activity log and the journal's arguments do not).
    assert_eq!(
        set.before.as_ref().expect("before")["value"],
        original["value"]
    );
    assert_eq!(
        set.after.as_ref().expect("after")["value"],
        r#"{"newLoginJourney":false}"#
    );
    assert_ne!(set.arguments["value"], json!({"newLoginJourney": false}));
    let Undo::Possible { action, restore } = &set.undo else {
        panic!("{:?}", set.undo)
    };
    assert_eq!(
        (action.as_str(), restore.tool.as_str()),
        ("revert", "setVariable")
    );
    env.app.revert(&set.id).await.expect("reverted");
    assert_eq!(variable(&env, "esv-feature-flags").await, original);

    // Every type comes back as it was, through a delete and its re-create.
    for id in [
        "esv-max-sessions",
        "esv-trusted-networks",
        "esv-debug",
        "esv-allowed-origins",
    ] {
        let original = variable(&env, id).await;
        let (err, text) = env.call("deleteVariable", json!({"variableId": id})).await;
        assert!(!err, "{text}");
        let (err, _) = env.call("getVariable", json!({"variableId": id})).await;
        assert!(err, "{id} is gone");
        let deleted = changes(&env).remove(0);
        assert_eq!(deleted.after, None);
        let Undo::Possible { action, restore } = &deleted.undo else {
            panic!("{:?}", deleted.undo)
        };
        assert_eq!(action, "re-create");
        assert!(restore.note.as_deref().unwrap_or("").contains("restart"));
        env.app.revert(&deleted.id).await.expect("re-created");
        assert_eq!(variable(&env, id).await, original, "{id}");
        assert_eq!(
            changes(&env)[0].reverts.as_deref(),
            Some(deleted.id.as_str())
        );
    }
}

const CHECK_EMAIL: &str = "9f1c6a2e-4b7d-4c1e-8a55-2f0d3b6e7c10";
const LEGACY_CHECK: &str = "c8e5f1a0-2d3b-4e6f-8a9b-0c1d2e3f4a5b";

/// `getAMScript`'s record without what AM stamps on every write.
async fn script(env: &Env, id: &str) -> Value {
    let (err, text) = env
        .call("getAMScript", json!({"realm": "alpha", "scriptId": id}))
        .await;
    assert!(!err, "{text}");
    let json = text.split("\n\nTransaction ID:").next().unwrap_or(&text);
    let mut v: Value = serde_json::from_str(json).expect("JSON");
    if let Some(map) = v.as_object_mut() {
        map.remove("lastModifiedDate");
        map.remove("lastModifiedBy");
    }
    v
}

#[tokio::test]
async fn a_script_update_is_reverted_and_a_deleted_script_re_created_or_refused_with_why() {
    let env = guarded_env(Rules::default(), None).await;
    let original = script(&env, CHECK_EMAIL).await;
    let (err, text) = env
        .call(
            "updateScript",
            json!({"realm": "alpha", "scriptId": CHECK_EMAIL, "name": "Renamed",
                   "script": "action.goTo(\"customer\");"}),
        )
        .await;
    assert!(!err, "{text}");
    let update = changes(&env).remove(0);
    let (before, after) = (
        update.before.as_ref().expect("before"),
        update.after.as_ref().expect("after"),
    );
    // The states hold the decoded source, the arguments its length and hash only.
    assert_eq!(before["script"], original["script"]);
    assert_eq!(after["script"], "action.goTo(\"customer\");");
    assert!(
        update.arguments["script"]
            .as_str()
            .unwrap_or("")
            .starts_with("[script:"),
        "{}",
        update.arguments
    );
    env.app.revert(&update.id).await.expect("reverted");
    assert_eq!(script(&env, CHECK_EMAIL).await, original);

    let (err, text) = env
        .call(
            "deleteScript",
            json!({"realm": "alpha", "scriptId": CHECK_EMAIL}),
        )
        .await;
    assert!(!err, "{text}");
    let deleted = changes(&env).remove(0);
    let Undo::Possible { action, restore } = &deleted.undo else {
        panic!("{:?}", deleted.undo)
    };
    assert_eq!(
        (action.as_str(), restore.tool.as_str()),
        ("re-create", "createScript")
    );
    assert!(restore.note.as_deref().unwrap_or("").contains("new id"));
    let text = env.app.revert(&deleted.id).await.expect("re-created");
    // Same name, description and source under a new id.
    let (err, list) = env.call("listScripts", json!({"realm": "alpha"})).await;
    assert!(!err, "{list}");
    let json = list.split("\n\nTransaction ID:").next().unwrap_or(&list);
    let listed: Value = serde_json::from_str(json).expect("JSON");
    let again = listed["result"]
        .as_array()
        .and_then(|r| r.iter().find(|s| s["name"] == original["name"]))
        .unwrap_or_else(|| panic!("re-created: {text}\n{list}"));
    let new_id = again["_id"].as_str().expect("id");
    assert_ne!(new_id, CHECK_EMAIL);
    let recreated = script(&env, new_id).await;
    for field in [
        "name",
        "description",
        "script",
        "language",
        "context",
        "evaluatorVersion",
    ] {
        assert_eq!(recreated[field], original[field], "{field}");
    }

    // A legacy (1.0) script cannot be made again by createScript: the journal says so.
    let (err, text) = env
        .call(
            "deleteScript",
            json!({"realm": "alpha", "scriptId": LEGACY_CHECK}),
        )
        .await;
    assert!(!err, "{text}");
    let legacy = changes(&env).remove(0);
    let Undo::Impossible { why } = &legacy.undo else {
        panic!("{:?}", legacy.undo)
    };
    assert!(why.contains("evaluator version 1.0"), "{why}");
}

#[tokio::test]
async fn a_card_shows_what_will_change_field_by_field_and_the_call_leaves_exactly_that() {
    let queue = Approvals::new();
    let env = asking_env(&queue).await;
    let (res, card) = tokio::join!(
        env.call(
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN, "revision": "*",
                   "operations": [{"operation": "replace", "field": "/mail", "value": "new@example.com"},
                                  {"operation": "replace", "field": "/password", "value": "S3cret-Passw0rd!"}]}),
        ),
        answer_next(&queue, Answer::Approve)
    );
    assert!(!res.0, "{}", res.1);
    let change: Vec<Value> = card
        .changes
        .iter()
        .map(|c| serde_json::to_value(c).expect("json"))
        .collect();
    let mail = change
        .iter()
        .find(|c| c["path"] == "/mail")
        .unwrap_or_else(|| panic!("{change:?}"));
    assert_eq!(mail["kind"], "changed");
    assert_eq!(mail["after"], "new@example.com");
    // The new password is on the card only as a masked field.
    let card_json = serde_json::to_string(&card).expect("json");
    assert!(!card_json.contains("S3cret-Passw0rd!"), "{card_json}");
    // What the card said would change is what changed.
    let journaled = changes(&env).remove(0);
    let after = journaled.after.expect("after");
    assert_eq!(
        after["mail"],
        card.proposed.as_ref().expect("proposed")["mail"]
    );

    // A variable set without a description clears it: the card says so before it happens.
    let (res, card) = tokio::join!(
        env.call(
            "setVariable",
            json!({"variableId": "esv-max-sessions", "type": "int", "value": 7}),
        ),
        answer_next(&queue, Answer::Approve)
    );
    assert!(!res.0, "{}", res.1);
    let paths: Vec<(&str, Option<&Value>)> = card
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.after.as_ref()))
        .collect();
    assert!(
        paths.contains(&("/description", Some(&json!("")))),
        "{paths:?}"
    );
    assert!(paths.contains(&("/value", Some(&json!("7")))), "{paths:?}");
    let after = variable(&env, "esv-max-sessions").await;
    assert_eq!(after["description"], "");
    assert_eq!(after["value"], "7");

    // A change the tool cannot work out exactly shows the state now and no diff.
    let (res, card) = tokio::join!(
        env.call(
            "patchManagedObject",
            json!({"objectType": "alpha_user", "objectId": BJENSEN, "revision": "*",
                   "operations": [{"operation": "copy", "from": "/mail", "field": "/frUnindexedString1"}]}),
        ),
        answer_next(&queue, Answer::Deny)
    );
    assert!(res.0);
    assert!(card.current.is_some());
    assert!(card.proposed.is_none() && card.changes.is_empty());
}
