//! How the OIDC app tools' writes are tracked for the change journal, the approval card's
//! current state and revert.
//!
//! An app's state is both halves: `{"_id": <application _id>, "managedApplication": <IDM
//! record>, "oauth2Client": <AM client or null>}`, masked by the activity log's secret
//! rules (which hide the client secret, and also the settings named after tokens, such as
//! `accessTokenLifetime`). An update is reverted by `updateOidcApp`: the client settings
//! it changed are given back (each replaces that setting), the application is patched back
//! on the revision the change left; what the change wrote under a masked name (the secret)
//! is not restored, and the note says so. A deleted app is re-created by `createOidcApp`
//! only when that rebuilds it: an application holding nothing but what createOidcApp
//! writes, and a client with no masked setting but the secret (which is never restored).

use serde_json::{json, Map, Value};

use super::shape::name_filter;
use super::{applications_path, client_request, linked_client, UpdateArgs};
use crate::activity::{mask_arguments, Masking};
use crate::tenant::{ApiRequest, TenantError};
use crate::tools::common::stored_segment;
use crate::tools::{track, CallCtx, Realm, Restore, Subject, Track};

/// The client secret setting of `coreOAuth2ClientConfig` (write-only in AM).
const SECRET: &str = "userpassword";
/// What AM sets on a client itself.
const CLIENT_OWN: [&str; 3] = ["_id", "_rev", "_type"];
/// What the tools never write on an application: its identity, revision, and the link.
const APP_OWN: [&str; 3] = ["_id", "_rev", "ssoEntities"];
/// All `createOidcApp` writes on the application, and its fixed template.
const CREATED_FIELDS: [&str; 7] = [
    "_id",
    "_rev",
    "name",
    "owners",
    "ssoEntities",
    "templateName",
    "templateVersion",
];
const TEMPLATE: (&str, &str) = ("custom", "1.0");

/// An OIDC app (application and client), by realm and name, then by its `_id`.
pub(in crate::tools) struct AppTrack;

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `section.setting` names of the settings in `config` whose values the activity log
/// masks (the client secret, …).
fn secret_settings(config: &Value) -> Vec<String> {
    let masked = mask_arguments(config, Masking::default());
    let mut out = Vec::new();
    for (section, value) in masked.as_object().into_iter().flatten() {
        match value {
            Value::Object(settings) => {
                let (_, names) = track::restorable(settings, &[]);
                out.extend(names.into_iter().map(|n| format!("{section}.{n}")));
            }
            v => {
                let one = Map::from_iter([(section.clone(), v.clone())]);
                out.extend(track::restorable(&one, &[]).1);
            }
        }
    }
    out
}

/// The top-level application fields a patch addresses (`/description/en` → `description`),
/// but the link, which updateOidcApp never patches.
fn patched_fields(ops: &Value) -> Vec<String> {
    let mut out: Vec<String> = ops
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|op| text(op, "field"))
        .filter_map(|f| f.trim_start_matches('/').split('/').next())
        .map(|f| f.replace("~1", "/").replace("~0", "~"))
        .filter(|f| !f.is_empty() && f != "ssoEntities")
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[async_trait::async_trait]
impl Track for AppTrack {
    fn subject(&self, tool: &str, args: &Value) -> Option<Subject> {
        if !matches!(tool, "updateOidcApp" | "deleteOidcApp") {
            return None;
        }
        if tool == "updateOidcApp"
            && serde_json::from_value::<UpdateArgs>(args.clone())
                .map(|a| a.refusal().is_some())
                .unwrap_or(true)
        {
            // Refused before any request: nothing is read either.
            return None;
        }
        let realm = text(args, "realm")?;
        let name = text(args, "name")?;
        let mut key = json!({"realm": realm, "name": name});
        if tool == "updateOidcApp" {
            // What the change writes that the states cannot show: a new secret, fields the
            // application read does not return.
            key["secrets"] = json!(args
                .get("oauth2Client")
                .map(secret_settings)
                .unwrap_or_default());
            key["patched"] = json!(args
                .get("managedApplication")
                .and_then(|m| m.get("operations"))
                .map(patched_fields)
                .unwrap_or_default());
        }
        Some(Subject {
            kind: "OIDC app".into(),
            label: format!("{realm} OIDC app {name}"),
            key,
        })
    }

    async fn read(&self, ctx: &CallCtx, subject: &Subject) -> Result<Option<Value>, String> {
        let realm = subject
            .key
            .get("realm")
            .and_then(|r| serde_json::from_value::<Realm>(r.clone()).ok())
            .ok_or("the app's realm is not alpha or bravo")?;
        // The `_id` once known: a rename must not lose the app.
        let record = match text(&subject.key, "id") {
            Some(id) => {
                stored_segment("application _id", id)?;
                match ctx
                    .send(
                        ApiRequest::get(&applications_path(realm))
                            .seg(id)
                            .query_literal("_fields=*"),
                    )
                    .await
                {
                    Ok(r) => r.body,
                    Err(TenantError::Status { status: 404, .. }) => return Ok(None),
                    Err(e) => return Err(e.to_string()),
                }
            }
            None => {
                let name = text(&subject.key, "name").unwrap_or("");
                let r = ctx
                    .send(
                        ApiRequest::get(&applications_path(realm))
                            .query_component("_queryFilter", &name_filter(name))
                            .query_literal("_fields=*"),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                match r
                    .body
                    .get("result")
                    .and_then(Value::as_array)
                    .and_then(|l| l.first())
                {
                    Some(record) => record.clone(),
                    None => return Ok(None),
                }
            }
        };
        let id = record
            .get("_id")
            .cloned()
            .ok_or("the application was returned without an _id")?;
        let client = match linked_client(&record) {
            None => Value::Null,
            Some(client_id) => {
                stored_segment("client id", &client_id)?;
                match ctx
                    .send(client_request(ApiRequest::get, realm, &client_id))
                    .await
                {
                    Ok(r) => r.body,
                    Err(TenantError::Status { status: 404, .. }) => Value::Null,
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        Ok(Some(json!({
            "_id": id,
            "managedApplication": record,
            "oauth2Client": client,
        })))
    }

    fn restore(
        &self,
        tool: &str,
        subject: &Subject,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Result<Restore, String> {
        let realm = subject.key.get("realm").cloned().unwrap_or(Value::Null);
        match tool {
            "updateOidcApp" => restore_update(realm, subject, before, after),
            "deleteOidcApp" => restore_delete(realm, subject, before),
            _ => Err(format!("{tool} cannot be undone here")),
        }
    }
}

/// A JSON pointer to a top-level field.
fn pointer(field: &str) -> String {
    format!("/{}", field.replace('~', "~0").replace('/', "~1"))
}

fn halves(state: Option<&Value>, when: &str) -> Result<(Map<String, Value>, Value), String> {
    let state =
        state.ok_or_else(|| format!("the app's state {when} the change was not captured"))?;
    let record = state
        .get("managedApplication")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| format!("the application {when} the change was not captured"))?;
    Ok((
        record,
        state.get("oauth2Client").cloned().unwrap_or(Value::Null),
    ))
}

/// The client settings to give back (those the change altered, but masked ones: their
/// values are not kept) and those the change added (they stay).
fn client_changes(before: &Value, after: &Value) -> (Map<String, Value>, Vec<String>) {
    let (mut changed, mut added) = (Map::new(), Vec::new());
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    for (section, b) in before {
        if CLIENT_OWN.contains(&section.as_str()) {
            continue;
        }
        let a = after.get(section);
        match (b, a) {
            (Value::Object(b), Some(Value::Object(a))) => {
                let (fields, _) = track::restorable(b, &[SECRET]);
                let settings: Map<String, Value> = fields
                    .into_iter()
                    .filter(|(k, v)| a.get(k) != Some(v))
                    .collect();
                if !settings.is_empty() {
                    changed.insert(section.clone(), Value::Object(settings));
                }
                added.extend(
                    a.keys()
                        .filter(|k| !b.contains_key(*k) && k.as_str() != SECRET)
                        .map(|k| format!("{section}.{k}")),
                );
            }
            (b, a) if a != Some(b) => {
                let one = Map::from_iter([(section.clone(), b.clone())]);
                changed.extend(track::restorable(&one, &[]).0);
            }
            _ => {}
        }
    }
    added.extend(
        after
            .keys()
            .filter(|k| !before.contains_key(*k) && !CLIENT_OWN.contains(&k.as_str()))
            .cloned(),
    );
    (changed, added)
}

/// The strings of a list in the subject's key.
fn key_list<'a>(subject: &'a Subject, key: &str) -> Vec<&'a str> {
    subject
        .key
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// `updateOidcApp` back to the state before: the client settings the change altered, and
/// a patch of the application on the revision the change left.
fn restore_update(
    realm: Value,
    subject: &Subject,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<Restore, String> {
    let (app_before, client_before) = halves(before, "before")?;
    let (app_after, client_after) = halves(after, "after")?;
    let patched = key_list(subject, "patched");
    for field in &patched {
        if !app_before.contains_key(*field) && !app_after.contains_key(*field) {
            return Err(format!(
                "The change patched the application's {field}, which its read does not return, so it cannot be put back."
            ));
        }
    }
    let (client, added) = if client_before.is_object() && client_after.is_object() {
        client_changes(&client_before, &client_after)
    } else if client_before == client_after {
        (Map::new(), Vec::new())
    } else {
        return Err("the app's OAuth2 client could not be read both before and after the change, so its settings cannot be put back".into());
    };
    // Not restored: what the change wrote whose values the journal does not keep (the
    // client secret, settings the secret rules mask, masked application fields).
    let (fields, app_masked) = track::restorable(&app_before, &APP_OWN);
    let mut masked: Vec<String> = key_list(subject, "secrets")
        .into_iter()
        .map(str::to_string)
        .collect();
    masked.extend(
        app_masked
            .into_iter()
            .filter(|f| patched.contains(&f.as_str())),
    );
    let mut operations = Vec::new();
    for (k, v) in &fields {
        if app_after.get(k) != Some(v) {
            operations.push(json!({"operation": "replace", "field": pointer(k), "value": v}));
        }
    }
    for k in app_after.keys() {
        if !app_before.contains_key(k) && !APP_OWN.contains(&k.as_str()) {
            operations.push(json!({"operation": "remove", "field": pointer(k)}));
        }
    }
    if client.is_empty() && operations.is_empty() {
        return Err(if masked.is_empty() {
            "the app is as it was before the change".into()
        } else {
            format!(
                "The change only set values the journal does not keep ({}).",
                masked.join(", ")
            )
        });
    }
    // The app is found by name: by the name the change left.
    let name = app_after
        .get("name")
        .or_else(|| app_before.get("name"))
        .cloned()
        .or_else(|| subject.key.get("name").cloned())
        .unwrap_or(Value::Null);
    let mut arguments = json!({"realm": realm, "name": name});
    if !client.is_empty() {
        arguments["oauth2Client"] = Value::Object(client);
    }
    if !operations.is_empty() {
        // Bound to the revision the change left: if anything changed the application
        // since, the revert fails (the client part may already be written back).
        let revision = app_after
            .get("_rev")
            .and_then(Value::as_str)
            .ok_or("the application's revision after the change is unknown")?;
        arguments["managedApplication"] = json!({"_rev": revision, "operations": operations});
    }
    Ok(Restore {
        tool: "updateOidcApp".into(),
        arguments,
        note: track::note(&masked, &added),
    })
}

/// `createOidcApp` from the state before, when it rebuilds the app: an application with
/// only what createOidcApp writes, and its client (without the secret).
fn restore_delete(
    realm: Value,
    subject: &Subject,
    before: Option<&Value>,
) -> Result<Restore, String> {
    let (app, client) = halves(before, "before")?;
    let name = app
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| text(&subject.key, "name"))
        .unwrap_or("")
        .to_string();
    let cannot = |why: String| format!("The OIDC app \"{name}\" cannot be re-created: {why}");
    let client_id = linked_client(&Value::Object(app.clone())).ok_or_else(|| {
        cannot("it linked to no OAuth2 client, and createOidcApp always creates one.".into())
    })?;
    let Value::Object(client) = client else {
        return Err(cannot(format!(
            "its OAuth2 client \"{client_id}\" could not be read before the change."
        )));
    };
    let mut extra: Vec<String> = app
        .keys()
        .filter(|k| !CREATED_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for (field, fixed) in [
        ("templateName", TEMPLATE.0),
        ("templateVersion", TEMPLATE.1),
    ] {
        match app.get(field) {
            Some(Value::String(v)) if v == fixed => {}
            Some(v) => extra.push(format!("{field} {v}")),
            None => {}
        }
    }
    if let Some(Value::Object(sso)) = app.get("ssoEntities") {
        extra.extend(
            sso.keys()
                .filter(|k| k.as_str() != "oidcId")
                .map(|k| format!("ssoEntities.{k}")),
        );
    }
    if !extra.is_empty() {
        return Err(cannot(format!(
            "createOidcApp writes only the application's name, owners and link to its client, with templateName \"{}\" and templateVersion \"{}\"; it also had {}.",
            TEMPLATE.0,
            TEMPLATE.1,
            extra.join(", ")
        )));
    }
    let owners = app
        .get("owners")
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
        .filter(|o| {
            o.iter()
                .all(|owner| text(owner, "_ref").is_some_and(|r| !r.trim().is_empty()))
        })
        .ok_or_else(|| cannot("its owners (references with _ref) are not known.".into()))?;
    let (_, app_masked) = track::restorable(&app, &[]);
    if !app_masked.is_empty() {
        return Err(cannot(format!(
            "the journal does not keep the values of {}.",
            app_masked.join(", ")
        )));
    }
    // The client's settings, without what AM sets and without the secret. A setting whose
    // value the journal masked would be rebuilt with AM's default: not faithful.
    let mut config = Map::new();
    let mut masked = Vec::new();
    for (section, value) in &client {
        if CLIENT_OWN.contains(&section.as_str()) {
            continue;
        }
        match value {
            Value::Object(settings) => {
                let (fields, secret) = track::restorable(settings, &[SECRET]);
                masked.extend(
                    secret
                        .into_iter()
                        .filter(|n| n != SECRET)
                        .map(|n| format!("{section}.{n}")),
                );
                config.insert(section.clone(), Value::Object(fields));
            }
            v => {
                let one = Map::from_iter([(section.clone(), v.clone())]);
                let (fields, secret) = track::restorable(&one, &[]);
                masked.extend(secret);
                config.extend(fields);
            }
        }
    }
    if !masked.is_empty() {
        return Err(cannot(format!(
            "the journal does not keep the values of its client settings {} (their names match the secret rules of the activity log), so createOidcApp would rebuild them with AM's defaults.",
            masked.join(", ")
        )));
    }
    let note = "The client secret is not restored (the journal never keeps it): set a new one with updateOidcApp (coreOAuth2ClientConfig.userpassword) before the client is used. The application is re-created with a new _id.".to_string();
    Ok(Restore {
        tool: "createOidcApp".into(),
        arguments: json!({
            "realm": realm,
            "name": name,
            "clientId": client_id,
            "owners": owners,
            "oauth2Client": config,
        }),
        note: Some(note),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::MASK;

    const OWNER: &str = "managed/alpha_user/a1000000-0000-4000-8000-000000000001";

    fn subject(tool: &str, args: Value) -> Subject {
        AppTrack.subject(tool, &args).expect("a subject")
    }

    fn client(scopes: &[&str], extra: Value) -> Value {
        let mut c = json!({
            "_id": "portal", "_rev": "7", "_type": {"_id": "OAuth2Client"},
            "coreOAuth2ClientConfig": {
                "clientName": {"inherited": false, "value": ["Portal"]},
                "scopes": {"inherited": false, "value": scopes},
            },
            "advancedOAuth2ClientConfig": {"grantTypes": {"inherited": false, "value": ["authorization_code"]}},
        });
        if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
            for (k, v) in extra {
                match (c.get_mut(&k), v) {
                    (Some(Value::Object(cur)), Value::Object(v)) => cur.extend(v),
                    (_, v) => {
                        c.insert(k, v);
                    }
                }
            }
        }
        c
    }

    fn app(rev: &str, extra: Value) -> Value {
        let mut a = json!({
            "_id": "app-1", "_rev": rev, "name": "Portal",
            "owners": [{"_ref": OWNER, "_refProperties": {}}],
            "ssoEntities": {"oidcId": "portal"}, "templateName": "custom", "templateVersion": "1.0",
        });
        if let (Some(a), Value::Object(extra)) = (a.as_object_mut(), extra) {
            a.extend(extra);
        }
        a
    }

    fn state(app: Value, client: Value) -> Value {
        json!({"_id": app["_id"].clone(), "managedApplication": app, "oauth2Client": client})
    }

    #[test]
    fn subjects_name_the_app_and_what_the_change_writes_unseen() {
        let s = subject(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Portal",
                   "oauth2Client": {"coreOAuth2ClientConfig": {"userpassword": "s3cret", "scopes": {"value": []}}},
                   "managedApplication": {"_rev": "1", "operations": [
                       {"operation": "replace", "field": "/description", "value": "x"},
                       {"operation": "add", "field": "/members/-", "value": {}},
                       {"operation": "replace", "field": "/ssoEntities/oidcId", "value": "y"}]}}),
        );
        assert_eq!(s.kind, "OIDC app");
        assert_eq!(s.label, "alpha OIDC app Portal");
        assert_eq!(
            s.key["secrets"],
            json!(["coreOAuth2ClientConfig.userpassword"])
        );
        assert_eq!(s.key["patched"], json!(["description", "members"]));
        let d = subject("deleteOidcApp", json!({"realm": "bravo", "name": "X"}));
        assert_eq!(d.key, json!({"realm": "bravo", "name": "X"}));
        assert_eq!(
            AppTrack.subject("createOidcApp", &json!({"realm": "alpha", "name": "X"})),
            None
        );
        assert_eq!(
            AppTrack.subject("deleteOidcApp", &json!({"realm": "alpha"})),
            None
        );
        // Refused before any request: nothing is read either.
        for args in [
            json!({"realm": "alpha", "name": "Portal"}),
            json!({"realm": "alpha", "name": "Portal", "managedApplication": {"_rev": "1", "operations": [
                {"operation": "replace", "field": "/ssoEntities/oidcId", "value": "x"}]}}),
        ] {
            assert_eq!(AppTrack.subject("updateOidcApp", &args), None, "{args}");
        }
    }

    #[test]
    fn an_update_gives_back_the_changed_settings_and_patches_on_the_new_revision() {
        let s = subject(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Portal",
                   "oauth2Client": {"coreOAuth2ClientConfig": {"userpassword": "new"}},
                   "managedApplication": {"_rev": "1", "operations": []}}),
        );
        let before = state(
            app("1", json!({"description": "old"})),
            client(&["openid"], json!({})),
        );
        let after = state(
            app("2", json!({"name": "Portal 2", "url": "https://x"})),
            client(
                &["openid", "email"],
                json!({"coreOAuth2ClientConfig": {"isConsentImplied": {"inherited": false, "value": true}}}),
            ),
        );
        let r = AppTrack
            .restore("updateOidcApp", &s, Some(&before), Some(&after))
            .expect("restorable");
        assert_eq!(r.tool, "updateOidcApp");
        assert_eq!(
            r.arguments,
            json!({
                "realm": "alpha", "name": "Portal 2",
                "oauth2Client": {"coreOAuth2ClientConfig": {"scopes": {"inherited": false, "value": ["openid"]}}},
                "managedApplication": {"_rev": "2", "operations": [
                    {"operation": "replace", "field": "/name", "value": "Portal"},
                    {"operation": "replace", "field": "/description", "value": "old"},
                    {"operation": "remove", "field": "/url"},
                ]},
            })
        );
        let note = r.note.unwrap_or_default();
        assert!(
            note.contains("Not restored: coreOAuth2ClientConfig.userpassword"),
            "{note}"
        );
        assert!(
            note.contains("stay: coreOAuth2ClientConfig.isConsentImplied"),
            "{note}"
        );

        // Only the secret changed: nothing the journal can write back.
        let secret_only = state(
            app("2", json!({"description": "old"})),
            client(&["openid"], json!({})),
        );
        let e = AppTrack
            .restore("updateOidcApp", &s, Some(&before), Some(&secret_only))
            .expect_err("secret only");
        assert!(e.contains("userpassword"), "{e}");
        let plain = subject(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Portal", "managedApplication": {"_rev": "1",
                   "operations": [{"operation": "replace", "field": "/description", "value": "x"}]}}),
        );
        let e = AppTrack
            .restore("updateOidcApp", &plain, Some(&before), Some(&secret_only))
            .expect_err("unchanged");
        assert!(e.contains("as it was"), "{e}");
        // A patched field neither state shows cannot be put back.
        let members = subject(
            "updateOidcApp",
            json!({"realm": "alpha", "name": "Portal", "managedApplication": {"_rev": "1",
                   "operations": [{"operation": "add", "field": "/members/-", "value": {}}]}}),
        );
        let e = AppTrack
            .restore("updateOidcApp", &members, Some(&before), Some(&after))
            .expect_err("unseen field");
        assert!(e.contains("members"), "{e}");
        // A client read on one side only.
        let no_client = state(app("2", json!({})), Value::Null);
        let e = AppTrack
            .restore("updateOidcApp", &plain, Some(&before), Some(&no_client))
            .expect_err("one-sided client");
        assert!(e.contains("could not be read"), "{e}");
    }

    #[test]
    fn a_masked_client_setting_is_left_as_it_is() {
        let masked = json!({"userpassword": MASK, "accessTokenLifetime": MASK});
        let before = client(&["openid"], json!({"coreOAuth2ClientConfig": masked}));
        let after = client(&["profile"], json!({"coreOAuth2ClientConfig": masked}));
        let (changed, added) = client_changes(&before, &after);
        assert_eq!(
            Value::Object(changed),
            json!({"coreOAuth2ClientConfig": {"scopes": {"inherited": false, "value": ["openid"]}}})
        );
        assert!(added.is_empty(), "{added:?}");
        let before = json!({"overrideOAuth2ClientConfig": {"a": 1}, "plainSecret": MASK});
        let after =
            json!({"overrideOAuth2ClientConfig": {"a": 2}, "plainSecret": "x", "newSection": {}});
        let (changed, added) = client_changes(&before, &after);
        assert_eq!(
            Value::Object(changed),
            json!({"overrideOAuth2ClientConfig": {"a": 1}})
        );
        assert_eq!(added, ["newSection"]);
    }

    #[test]
    fn a_deleted_app_is_re_created_only_when_create_rebuilds_it() {
        let s = subject("deleteOidcApp", json!({"realm": "alpha", "name": "Portal"}));
        let before = state(app("3", json!({})), client(&["openid"], json!({})));
        let r = AppTrack
            .restore("deleteOidcApp", &s, Some(&before), None)
            .expect("re-creatable");
        assert_eq!(r.tool, "createOidcApp");
        assert_eq!(
            r.arguments,
            json!({
                "realm": "alpha", "name": "Portal", "clientId": "portal",
                "owners": [{"_ref": OWNER, "_refProperties": {}}],
                "oauth2Client": {
                    "coreOAuth2ClientConfig": {
                        "clientName": {"inherited": false, "value": ["Portal"]},
                        "scopes": {"inherited": false, "value": ["openid"]},
                    },
                    "advancedOAuth2ClientConfig": {"grantTypes": {"inherited": false, "value": ["authorization_code"]}},
                },
            })
        );
        let note = r.note.unwrap_or_default();
        assert!(
            note.contains("client secret is not restored") && note.contains("set a new one"),
            "{note}"
        );
        assert!(note.contains("new _id"), "{note}");
        // A secret AM did return (masked) is left out too.
        let with_secret = state(
            app("3", json!({})),
            client(
                &["openid"],
                json!({"coreOAuth2ClientConfig": {"userpassword": MASK}}),
            ),
        );
        let r = AppTrack
            .restore("deleteOidcApp", &s, Some(&with_secret), None)
            .expect("re-creatable");
        assert!(r.arguments["oauth2Client"]["coreOAuth2ClientConfig"]
            .get("userpassword")
            .is_none());

        for (app, client, why) in [
            (
                app("3", json!({"description": "d", "templateName": "web"})),
                client(&[], json!({})),
                "it also had description, templateName \"web\"",
            ),
            (
                app(
                    "3",
                    json!({"ssoEntities": {"oidcId": "portal", "spEntityId": "x"}}),
                ),
                client(&[], json!({})),
                "ssoEntities.spEntityId",
            ),
            (
                app("3", json!({"ssoEntities": {}})),
                client(&[], json!({})),
                "no OAuth2 client",
            ),
            (app("3", json!({})), Value::Null, "could not be read"),
            (
                app("3", json!({"owners": []})),
                client(&[], json!({})),
                "owners",
            ),
            (
                app("3", json!({"owners": [{"_refResourceId": "x"}]})),
                client(&[], json!({})),
                "owners",
            ),
            // A setting the secret rules mask would come back as AM's default.
            (
                app("3", json!({})),
                client(
                    &[],
                    json!({"coreOAuth2ClientConfig": {"userpassword": MASK, "accessTokenLifetime": MASK}}),
                ),
                "settings coreOAuth2ClientConfig.accessTokenLifetime (",
            ),
        ] {
            let e = AppTrack
                .restore("deleteOidcApp", &s, Some(&state(app, client)), None)
                .expect_err(why);
            assert!(
                e.starts_with("The OIDC app \"Portal\" cannot be re-created: "),
                "{e}"
            );
            assert!(e.contains(why), "{why}: {e}");
        }
    }
}
