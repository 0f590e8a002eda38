//! Feature management (4 tools, contract §3.6): IDM features (list, validate, install) and
//! the platform's AI Agents enablement, whose status combines the IDM `aiagent` feature
//! with the OAuth2 provider settings of the alpha and bravo realms.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::common::{NoArgs, AM21, AM_IDM, IDM};
use super::{failure, format_success, pretty, tool, Args, CallCtx, Hints, Meta, Realm, ToolDef};
use crate::tenant::{ApiRequest, ApiResponse, TenantError};
use crate::validate::{self, ValidationError};

const FEATURES: &str = "/openidm/feature";
/// The IDM feature that is one of the three AI Agents components.
const AI_AGENT_FEATURE: &str = "aiagent";

/// The family's tools, in registration order.
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "enableAiAgent",
                title: "Enable AI Agents (End-to-End)",
                description: "Enable AI Agents across the whole platform in one step: installs the IDM 'aiagent' feature and turns AI agents on in the AM OAuth2 provider of the alpha and bravo realms. This is one-way: the IDM installation cannot be undone by this or any other tool. It is safe to run again, which also finishes or repairs a partial installation. Check the result with listFeatures (the 'AI Agents' entry).",
                scopes: AM_IDM,
                hints: Hints::DESTRUCTIVE_IDEMPOTENT,
                container: true,
            },
            enable_ai_agent,
        ),
        tool(
            Meta {
                name: "installIdmFeature",
                title: "Install IDM Feature",
                description: "Install an IDM feature, for example 'password/timestamps' or 'indexed/strings/6thru20'. This is one-way: an installed feature cannot be uninstalled. Run validateIdmFeature first to check that the feature can be installed, and use listFeatures to see the available features and which are already installed. To turn on AI Agents use enableAiAgent instead, which also configures AM; installing 'aiagent' here only installs the IDM part.",
                scopes: IDM,
                hints: Hints::DESTRUCTIVE_NOT_IDEMPOTENT,
                container: true,
            },
            install_feature,
        ),
        tool(
            Meta {
                name: "listFeatures",
                title: "List Features",
                description: "List the tenant's features in one view: every IDM feature with whether it is installed, its installed version and the available versions, plus an 'AI Agents' entry whose status is installed, not_installed or indeterminate (partly installed, or a component could not be checked), with per-component details (the IDM 'aiagent' feature and the AM OAuth2 provider of the alpha and bravo realms). Use validateIdmFeature and installIdmFeature for IDM features, and enableAiAgent for AI Agents.",
                scopes: AM_IDM,
                hints: Hints::READ,
                container: true,
            },
            list_features,
        ),
        tool(
            Meta {
                name: "validateIdmFeature",
                title: "Validate IDM Feature",
                description: "Ask IDM whether a feature can be installed, changing nothing, for example 'password/timestamps'. The answer has success true or false and a message explaining why (for example the feature is unknown or already installed); success false is an answer, not a failure. Run this before installIdmFeature; listFeatures shows the feature names.",
                scopes: IDM,
                hints: Hints::READ,
                container: true,
            },
            validate_feature,
        ),
    ]
}

// ---------------------------------------------------------------------------------------

/// Contract §4.3: 1–128 characters matching `^[a-zA-Z0-9_-]+(/[a-zA-Z0-9_-]+)*$`.
fn feature_name_rule(field: &str, value: &str) -> validate::Result {
    validate::min_chars(field, value, 1)?;
    validate::max_chars(field, value, 128)?;
    let well_formed = value.split('/').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if !well_formed {
        let shown: String = value.chars().take(80).collect();
        return Err(ValidationError::new(
            field,
            format!(
                "'{}' is not a valid feature name: use letters, digits, '_' and '-', with single '/' between parts (for example password/timestamps)",
                shown.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// `/openidm/feature/<seg>/<seg>…` with every `/`-separated part percent-encoded.
fn feature_request(name: &str, action: &str) -> ApiRequest {
    name.split('/')
        .fold(ApiRequest::post(FEATURES), ApiRequest::seg)
        .query_literal(action)
        .json(json!({}))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeatureNameArgs {
    /// The IDM feature name as listFeatures shows it: letters, digits, '_' and '-', with
    /// single '/' between parts, for example "groups", "password/timestamps",
    /// "indexed/strings/6thru20" or "am/2fa/profiles".
    #[schemars(length(min = 1, max = 128))]
    feature_name: String,
}

impl Args for FeatureNameArgs {
    fn validate(&self) -> validate::Result {
        feature_name_rule("featureName", &self.feature_name)
    }
}

async fn validate_feature(ctx: CallCtx, a: FeatureNameArgs) -> Result<String, String> {
    let r = ctx
        .send(feature_request(&a.feature_name, "_action=validate"))
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to validate IDM feature '{}'", a.feature_name),
                e,
            )
        })?;
    Ok(format_success(&r.body, &r.transaction_id))
}

async fn install_feature(ctx: CallCtx, a: FeatureNameArgs) -> Result<String, String> {
    let r = ctx
        .send(feature_request(&a.feature_name, "_action=install"))
        .await
        .map_err(|e| {
            failure(
                &format!("Failed to install IDM feature '{}'", a.feature_name),
                e,
            )
        })?;
    Ok(format_success(
        &json!({
            "_id": a.feature_name,
            "status": "installed",
            "message": "Install complete. This action cannot be undone.",
            "apiResponse": r.body,
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

async fn enable_ai_agent(ctx: CallCtx, _: NoArgs) -> Result<String, String> {
    let r = ctx
        .send(
            ApiRequest::post("/environment/aiagent")
                .query_literal("_action=enable")
                .json(json!({})),
        )
        .await
        .map_err(|e| failure("Failed to enable AI Agents", e))?;
    Ok(format_success(
        &json!({
            "status": "enabled",
            "message": "AI Agents is now enabled across the platform: the IDM 'aiagent' feature is installed and AI agents are turned on in the AM OAuth2 provider of the alpha and bravo realms. The IDM installation cannot be reverted by this tool.",
            "apiResponse": r.body,
        }),
        &r.transaction_id,
    ))
}

// ---------------------------------------------------------------------------------------

/// The realm OAuth2 provider probe (its header set carries only the API version).
fn realm_probe(realm: Realm) -> ApiRequest {
    ApiRequest::get("/am/json/realms/root/realms")
        .seg(realm.as_str())
        .lit("realm-config/services/oauth-oidc")
        .api_version(AM21)
}

/// One realm's AI-agent setting as read by its probe.
#[derive(Debug)]
struct RealmProbe {
    configured: bool,
    error: Option<String>,
}

impl RealmProbe {
    fn from_result(result: Result<ApiResponse, TenantError>) -> Self {
        match result {
            Ok(r) => Self {
                // Only boolean `true` counts; the string "true" does not.
                configured: r
                    .body
                    .get("aiAgentsConfig")
                    .and_then(Value::as_object)
                    .and_then(|c| c.get("aiAgentsEnabled"))
                    == Some(&Value::Bool(true)),
                error: None,
            },
            Err(e) => Self {
                configured: false,
                error: Some(e.to_string()),
            },
        }
    }

    fn json(&self) -> Value {
        json!({"configured": self.configured, "error": self.error})
    }
}

/// The IDM feature records as listFeatures shows them, and whether `aiagent` is installed.
fn idm_features(body: &Value) -> Result<(Vec<Value>, bool), String> {
    let records = body
        .get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| "the feature list has no 'result' array".to_string())?;
    let mut features = Vec::with_capacity(records.len());
    let mut ai_agent_installed = false;
    for record in records {
        let installed_version = record.get("installedVersion");
        let installed = installed_version.is_some_and(|v| !v.is_null());
        let id = record.get("_id");
        if id.and_then(Value::as_str) == Some(AI_AGENT_FEATURE) {
            ai_agent_installed = installed;
            continue;
        }
        let mut feature = Map::new();
        if let Some(id) = id {
            feature.insert("name".into(), id.clone());
        }
        feature.insert("type".into(), json!("idm"));
        feature.insert("installed".into(), Value::Bool(installed));
        if let Some(v) = installed_version {
            feature.insert("installedVersion".into(), v.clone());
        }
        if let Some(v) = record.get("availableVersions") {
            feature.insert("availableVersions".into(), v.clone());
        }
        features.push(Value::Object(feature));
    }
    Ok((features, ai_agent_installed))
}

/// The composite AI Agents status and its message.
fn ai_agents_status(idm: bool, alpha: &RealmProbe, bravo: &RealmProbe) -> (&'static str, String) {
    let realms = [("alpha", alpha), ("bravo", bravo)];
    let failed: Vec<&str> = realms
        .iter()
        .filter(|(_, p)| p.error.is_some())
        .map(|(r, _)| *r)
        .collect();
    if !failed.is_empty() {
        let which = failed.join(" and ");
        let pointers = failed
            .iter()
            .map(|r| format!("details.am.{r}.error"))
            .collect::<Vec<_>>()
            .join(", ");
        return (
            "indeterminate",
            format!(
                "AI Agents status is indeterminate: the AM OAuth2 provider configuration of the {which} realm could not be read (see {pointers}). Run listFeatures again; if the components turn out to be out of sync, running enableAiAgent again should finish the installation."
            ),
        );
    }
    let components = [
        ("the IDM 'aiagent' feature", idm),
        ("AM alpha realm", alpha.configured),
        ("AM bravo realm", bravo.configured),
    ];
    let on: Vec<&str> = components
        .iter()
        .filter(|(_, c)| *c)
        .map(|(n, _)| *n)
        .collect();
    let off: Vec<&str> = components
        .iter()
        .filter(|(_, c)| !*c)
        .map(|(n, _)| *n)
        .collect();
    if off.is_empty() {
        ("installed", "AI Agents is installed.".to_string())
    } else if on.is_empty() {
        (
            "not_installed",
            "AI Agents is not installed. Use the enableAiAgent tool to install it.".to_string(),
        )
    } else {
        (
            "indeterminate",
            format!(
                "AI Agents is partly installed and its components are out of sync (on: {}; off: {}). Running enableAiAgent again should finish or fix the installation.",
                on.join(", "),
                off.join(", ")
            ),
        )
    }
}

async fn list_features(ctx: CallCtx, _: NoArgs) -> Result<String, String> {
    const PREFIX: &str = "Failed to list features";
    let idm = ApiRequest::get(FEATURES).query_literal("_queryFilter=true");
    // One scoped token for the call (`fr:am:* fr:idm:*`), three concurrent requests whose
    // results come back in this fixed order: IDM, alpha, bravo.
    let mut results = futures::future::join_all(
        [idm, realm_probe(Realm::Alpha), realm_probe(Realm::Bravo)].map(|req| ctx.send(req)),
    )
    .await
    .into_iter();
    let (Some(idm), Some(alpha), Some(bravo)) = (results.next(), results.next(), results.next())
    else {
        return Err(failure(PREFIX, "a feature probe did not run"));
    };
    let idm = idm.map_err(|e| failure(PREFIX, e))?;
    let (mut features, idm_installed) = idm_features(&idm.body).map_err(|e| failure(PREFIX, e))?;
    let alpha = RealmProbe::from_result(alpha);
    let bravo = RealmProbe::from_result(bravo);
    let (status, message) = ai_agents_status(idm_installed, &alpha, &bravo);
    features.push(json!({
        "name": "AI Agents",
        "type": "aic",
        "installed": status == "installed",
        "status": status,
        "message": message,
        "details": {
            "idm": {"installed": idm_installed},
            "am": {"alpha": alpha.json(), "bravo": bravo.json()},
        },
    }));
    Ok(pretty(&json!({"features": features})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_names_follow_the_contract() {
        for ok in [
            "groups",
            "aiagent",
            "password/timestamps",
            "indexed/strings/6thru20",
            "am/2fa/profiles",
            "a-b_C9",
        ] {
            assert!(feature_name_rule("featureName", ok).is_ok(), "{ok}");
        }
        let long_ok = "a".repeat(128);
        assert!(feature_name_rule("featureName", &long_ok).is_ok());
        for bad in [
            "",
            "/groups",
            "groups/",
            "a//b",
            "..",
            "../x",
            "a.b",
            "a b",
            "%2e",
            "a\\b",
            "ü",
            "groups?x=1",
            "groups#x",
            "a\nb",
        ] {
            let e = feature_name_rule("featureName", bad).expect_err(bad);
            assert_eq!(e.field, "featureName");
        }
        assert!(feature_name_rule("featureName", &"a".repeat(129))
            .expect_err("too long")
            .message
            .contains("limit is 128"));
    }

    #[test]
    fn feature_paths_encode_each_part() {
        let r = feature_request("indexed/strings/6thru20", "_action=validate");
        assert_eq!(
            r.path_and_query(),
            "/openidm/feature/indexed/strings/6thru20?_action=validate"
        );
        assert_eq!(
            realm_probe(Realm::Bravo).path_and_query(),
            "/am/json/realms/root/realms/bravo/realm-config/services/oauth-oidc"
        );
    }

    fn probe(configured: bool, error: Option<&str>) -> RealmProbe {
        RealmProbe {
            configured,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn ai_agents_status_combines_three_components() {
        let on = || probe(true, None);
        let off = || probe(false, None);
        assert_eq!(ai_agents_status(true, &on(), &on()).0, "installed");
        assert_eq!(ai_agents_status(false, &off(), &off()).0, "not_installed");
        for (idm, a, b) in [
            (true, false, false),
            (false, true, false),
            (false, false, true),
            (true, true, false),
            (false, true, true),
        ] {
            let (status, message) = ai_agents_status(idm, &probe(a, None), &probe(b, None));
            assert_eq!(status, "indeterminate", "{idm} {a} {b}");
            assert!(message.contains("enableAiAgent"), "{message}");
        }
        let (status, message) = ai_agents_status(true, &on(), &probe(false, Some("500")));
        assert_eq!(status, "indeterminate");
        assert!(message.contains("bravo realm"), "{message}");
        assert!(!message.contains("alpha"), "{message}");
        let (status, _) = ai_agents_status(false, &probe(false, Some("x")), &off());
        assert_eq!(
            status, "indeterminate",
            "a failed probe is never not_installed"
        );
    }

    #[test]
    fn probes_count_only_boolean_true() {
        let ok = |body: Value| {
            RealmProbe::from_result(Ok(ApiResponse {
                status: 200,
                body,
                transaction_id: None,
            }))
            .configured
        };
        assert!(ok(json!({"aiAgentsConfig": {"aiAgentsEnabled": true}})));
        assert!(!ok(json!({"aiAgentsConfig": {"aiAgentsEnabled": "true"}})));
        assert!(!ok(json!({"aiAgentsConfig": true})));
        assert!(!ok(json!({})));
    }

    #[test]
    fn idm_records_become_features_and_aiagent_a_flag() {
        let body = json!({"result": [
            {"_id": "groups", "installedVersion": "1.0.0", "availableVersions": ["1.0.0"]},
            {"_id": "aiagent", "installedVersion": null, "availableVersions": ["1.0.0"]},
            {"_id": "password/timestamps", "installedVersion": null, "availableVersions": ["1.0.0"]},
        ]});
        let (features, ai) = idm_features(&body).expect("features");
        assert!(!ai);
        assert_eq!(
            features,
            vec![
                json!({"name": "groups", "type": "idm", "installed": true, "installedVersion": "1.0.0", "availableVersions": ["1.0.0"]}),
                json!({"name": "password/timestamps", "type": "idm", "installed": false, "installedVersion": null, "availableVersions": ["1.0.0"]}),
            ]
        );
        assert!(idm_features(&json!({})).is_err());
    }
}
