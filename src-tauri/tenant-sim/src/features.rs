//! Feature management: IDM features (`/openidm/feature…`), the platform's AI-agent
//! enablement (`/environment/aiagent?_action=enable`) and the AM realm OAuth2 provider
//! service (`/am/json/realms/root/realms/{realm}/realm-config/services/oauth-oidc`), whose
//! `aiAgentsConfig.aiAgentsEnabled` is the AM half of AI Agents.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::http::Method;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

/// The IDM feature that is the IDM half of AI Agents.
const AI_AGENT_FEATURE: &str = "aiagent";
/// The `Accept-API-Version` the realm OAuth2 provider service requires.
const AM21: (&str, &str) = ("2.1", "1.0");

/// One IDM feature.
#[derive(Debug, Clone)]
struct Feature {
    id: String,
    installed_version: Option<String>,
    available_versions: Vec<String>,
}

impl Feature {
    fn new(id: &str, installed: Option<&str>, available: &[&str]) -> Self {
        Feature {
            id: id.to_string(),
            installed_version: installed.map(str::to_string),
            available_versions: available.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "_id": self.id,
            "installedVersion": self.installed_version,
            "availableVersions": self.available_versions,
        })
    }

    /// The highest available version (numeric comparison of dot-separated parts).
    fn latest(&self) -> Option<&str> {
        self.available_versions
            .iter()
            .max_by(|a, b| compare_versions(a, b))
            .map(String::as_str)
    }
}

fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}

/// State of this family.
#[derive(Debug)]
pub(crate) struct State {
    /// IDM features in the order IDM lists them.
    features: Vec<Feature>,
    /// The `oauth-oidc` service configuration per realm.
    providers: BTreeMap<String, Value>,
    /// Revision counter of the provider configurations.
    rev: u64,
}

impl State {
    pub(crate) fn seeded() -> Self {
        let features = vec![
            Feature::new("groups", Some("1.0.0"), &["1.0.0"]),
            Feature::new("password/timestamps", None, &["1.0.0", "1.1.0"]),
            Feature::new("indexed/strings/6thru20", None, &["1.0.0"]),
            Feature::new("am/2fa/profiles", Some("1.0.0"), &["1.0.0"]),
            Feature::new("indexed/dates/6thru10", None, &["1.0.0"]),
            Feature::new(AI_AGENT_FEATURE, None, &["1.0.0"]),
        ];
        let rev = 1_736_000_000;
        let providers = ["alpha", "bravo"]
            .into_iter()
            .map(|realm| (realm.to_string(), provider_config(rev)))
            .collect();
        State {
            features,
            providers,
            rev,
        }
    }

    fn feature(&self, id: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.id == id)
    }

    /// Why `id` cannot be installed, or the version an install would bring.
    fn installable(&self, id: &str) -> Result<String, String> {
        let f = self
            .feature(id)
            .ok_or_else(|| format!("Feature '{id}' does not exist"))?;
        if let Some(v) = &f.installed_version {
            return Err(format!("Feature '{id}' is already installed (version {v})"));
        }
        f.latest()
            .map(str::to_string)
            .ok_or_else(|| format!("Feature '{id}' has no installable version"))
    }

    fn install(&mut self, id: &str, version: String) {
        if let Some(f) = self.features.iter_mut().find(|f| f.id == id) {
            f.installed_version = Some(version);
        }
    }

    fn next_rev(&mut self) -> String {
        self.rev += 1;
        self.rev.to_string()
    }

    fn set_ai_agents(&mut self, realm: &str, enabled: bool) {
        let rev = self.next_rev();
        if let Some(Value::Object(config)) = self.providers.get_mut(realm) {
            config.insert("_rev".into(), Value::String(rev));
            let section = config
                .entry("aiAgentsConfig")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(section) = section {
                section.insert("aiAgentsEnabled".into(), Value::Bool(enabled));
            } else {
                *section = json!({"aiAgentsEnabled": enabled});
            }
        }
    }
}

/// A realm's OAuth2 provider service as AM answers it (the attributes a tenant shows).
fn provider_config(rev: u64) -> Value {
    json!({
        "_id": "",
        "_rev": rev.to_string(),
        "aiAgentsConfig": {"aiAgentsEnabled": false},
        "coreOAuth2Config": {
            "accessTokenLifetime": 3600,
            "refreshTokenLifetime": 604800,
            "codeLifetime": 120,
            "issueRefreshToken": true,
            "issueRefreshTokenOnRefreshedToken": true,
            "statelessTokensEnabled": true,
            "macaroonTokensEnabled": false,
            "usePolicyEngineForScope": false
        },
        "coreOIDCConfig": {
            "oidcDiscoveryEndpointEnabled": true,
            "jwtTokenLifetime": 3600,
            "supportedIDTokenSigningAlgorithms": ["ES256", "PS256", "RS256"],
            "supportedClaims": [],
            "overrideableOIDCClaims": []
        },
        "advancedOAuth2Config": {
            "supportedScopes": ["openid", "profile", "email", "address", "phone", "fr:idm:*"],
            "responseTypeClasses": [
                "code|org.forgerock.oauth2.core.AuthorizationCodeResponseTypeHandler",
                "id_token|org.forgerock.openidconnect.IdTokenResponseTypeHandler",
                "token|org.forgerock.oauth2.core.TokenResponseTypeHandler"
            ],
            "grantTypes": [
                "implicit",
                "urn:ietf:params:oauth:grant-type:saml2-bearer",
                "refresh_token",
                "password",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code",
                "authorization_code",
                "urn:openid:params:grant-type:ciba",
                "urn:ietf:params:oauth:grant-type:uma-ticket",
                "urn:ietf:params:oauth:grant-type:token-exchange",
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
            ],
            "tokenExchangeClasses": [
                "urn:ietf:params:oauth:token-type:access_token=>urn:ietf:params:oauth:token-type:access_token|org.forgerock.oauth2.core.tokenexchange.accesstoken.AccessTokenToAccessTokenExchanger"
            ],
            "codeVerifierEnforced": "false",
            "tlsCertificateBoundAccessTokensEnabled": true
        },
        "clientDynamicRegistrationConfig": {
            "dynamicClientRegistrationScope": "dynamic_client_registration",
            "allowDynamicRegistration": false,
            "requiredSoftwareStatementAttestedAttributes": ["redirect_uris"]
        },
        "consent": {
            "clientsCanSkipConsent": true,
            "enableRemoteConsent": false,
            "supportedRcsRequestSigningAlgorithms": ["ES256", "PS256", "RS256"]
        },
        "deviceCodeConfig": {
            "deviceCodeLifetime": 300,
            "devicePollInterval": 5,
            "deviceUserCodeLength": 8,
            "deviceUserCodeCharacterSet": "234567ACDEFGHJKLMNPQRSTWXYZabcdefhijkmnopqrstwxyz"
        },
        "cibaConfig": {"cibaMinimumPollingInterval": 2, "cibaAuthReqIdLifetime": 600},
        "pluginsConfig": {
            "oidcClaimsPluginType": "SCRIPTED",
            "accessTokenModificationPluginType": "SCRIPTED"
        },
        "_type": {"_id": "oauth-oidc", "name": "OAuth2 Provider", "collection": false}
    })
}

/// Handles a request routed to this family.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    http::finish(route(shared, req))
}

fn route(shared: &Shared, req: &Req) -> Outcome {
    let segs = req.segs();
    match segs.as_slice() {
        ["openidm", "feature"] => match req.method {
            Method::GET => query_features(shared, req),
            _ => Err(http::method_not_allowed(req)),
        },
        ["openidm", "feature", ..] => feature_item(shared, req),
        ["environment", "aiagent"] => ai_agent(shared, req),
        ["am", "json", "realms", "root", "realms", realm, "realm-config", "services", "oauth-oidc"] => {
            oauth2_provider(shared, req, realm)
        }
        _ => Err(http::not_found(req)),
    }
}

// ---------------------------------------------------------------------------------------
// IDM features

fn query_features(shared: &Shared, req: &Req) -> Outcome {
    let text = req.q("_queryFilter").ok_or_else(|| {
        Fail::crest(
            400,
            "Query request must specify _queryFilter, _queryId or _queryExpression",
        )
    })?;
    let filter = filter::parse(text)
        .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{text}': {e}")))?;
    let paging = crest::paging(req, None)?;
    let mut hits: Vec<Value> = lock(&shared.features)
        .features
        .iter()
        .map(Feature::json)
        .filter(|f| filter.matches(f))
        .collect();
    crest::sort(&mut hits, req.q("_sortKeys"));
    let fields = req.q("_fields");
    let hits = hits
        .iter()
        .map(|f| crest::select_fields(f, fields))
        .collect();
    Ok(http::json(
        200,
        &crest::page(hits, paging, req.q("_totalPagedResultsPolicy")),
    ))
}

/// The feature name of `/openidm/feature/<part>/<part>…`: each raw part percent-decoded;
/// an empty part or an encoded `/` inside one names no feature.
fn feature_name(req: &Req) -> Option<String> {
    let rest = req.raw_path.strip_prefix("/openidm/feature/")?;
    let parts = rest
        .split('/')
        .map(|p| percent_decode_str(p).decode_utf8().ok())
        .collect::<Option<Vec<_>>>()?;
    if parts.iter().any(|p| p.is_empty() || p.contains('/')) {
        return None;
    }
    Some(parts.join("/"))
}

fn feature_item(shared: &Shared, req: &Req) -> Outcome {
    let name = feature_name(req).ok_or_else(|| http::not_found(req))?;
    match req.method {
        Method::GET => lock(&shared.features)
            .feature(&name)
            .map(|f| http::json(200, &f.json()))
            .ok_or_else(|| Fail::crest(404, format!("Feature '{name}' does not exist"))),
        Method::POST => {
            if !req.body.is_empty() {
                req.json_body()?;
            }
            match req.q("_action") {
                Some("validate") => validate_feature(shared, &name),
                Some("install") => install_feature(shared, &name),
                Some(other) => Err(Fail::crest(
                    400,
                    format!("Action '{other}' is not supported on feature/{name}"),
                )),
                None => Err(Fail::crest(400, "An _action parameter is required")),
            }
        }
        _ => Err(http::method_not_allowed(req)),
    }
}

/// 200 in every case: `success` says whether the feature can be installed.
fn validate_feature(shared: &Shared, name: &str) -> Outcome {
    let (success, message) = match lock(&shared.features).installable(name) {
        Ok(version) => (
            true,
            format!("Feature '{name}' can be installed (version {version})"),
        ),
        Err(why) => (false, why),
    };
    Ok(http::json(
        200,
        &json!({"status": 200, "success": success, "message": message}),
    ))
}

/// Installs after the same validation; 400 with the reason when it does not pass.
fn install_feature(shared: &Shared, name: &str) -> Outcome {
    let mut state = lock(&shared.features);
    let version = state
        .installable(name)
        .map_err(|why| Fail::crest(400, format!("Feature validation failed: {why}")))?;
    state.install(name, version);
    Ok(http::json(
        200,
        &json!({"status": 200, "message": "Install complete."}),
    ))
}

// ---------------------------------------------------------------------------------------
// AI agents

/// `POST /environment/aiagent?_action=enable`: installs the IDM feature (if needed) and turns
/// AI agents on in both realms' OAuth2 provider. Safe to repeat.
fn ai_agent(shared: &Shared, req: &Req) -> Outcome {
    if req.method != Method::POST {
        return Err(http::method_not_allowed(req));
    }
    if !req.body.is_empty() {
        req.json_body()?;
    }
    match req.q("_action") {
        Some("enable") => {}
        Some(other) => {
            return Err(Fail::crest(
                400,
                format!("Action '{other}' is not supported on aiagent"),
            ))
        }
        None => return Err(Fail::crest(400, "An _action parameter is required")),
    }
    let mut state = lock(&shared.features);
    if let Ok(version) = state.installable(AI_AGENT_FEATURE) {
        state.install(AI_AGENT_FEATURE, version);
    }
    let realms: Vec<String> = state.providers.keys().cloned().collect();
    for realm in realms {
        state.set_ai_agents(&realm, true);
    }
    Ok(http::json(200, &json!({})))
}

// ---------------------------------------------------------------------------------------
// AM realm OAuth2 provider service

fn oauth2_provider(shared: &Shared, req: &Req, realm: &str) -> Outcome {
    http::require_api_version(req, AM21.1, &[AM21.0])?;
    let mut state = lock(&shared.features);
    if !state.providers.contains_key(realm) {
        return Err(Fail::crest(404, format!("Realm '{realm}' not found")));
    }
    match req.method {
        Method::GET => Ok(http::json(
            200,
            state.providers.get(realm).unwrap_or(&Value::Null),
        )),
        Method::PUT => {
            let Value::Object(update) = req.json_body()? else {
                return Err(Fail::crest(
                    400,
                    "The service configuration must be a JSON object",
                ));
            };
            let rev = state.next_rev();
            let Some(Value::Object(config)) = state.providers.get_mut(realm) else {
                return Err(Fail::crest(404, format!("Realm '{realm}' not found")));
            };
            merge_sections(config, update);
            config.insert("_rev".into(), Value::String(rev));
            Ok(http::json(200, &Value::Object(config.clone())))
        }
        _ => Err(http::method_not_allowed(req)),
    }
}

/// A PUT changes the attributes it names, section by section; `_id`, `_rev` and `_type` are
/// AM's own.
fn merge_sections(config: &mut Map<String, Value>, update: Map<String, Value>) {
    for (key, value) in update {
        if matches!(key.as_str(), "_id" | "_rev" | "_type") {
            continue;
        }
        match (config.get_mut(&key), value) {
            (Some(Value::Object(section)), Value::Object(attrs)) => section.extend(attrs),
            (_, value) => {
                config.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn latest_version_is_numeric() {
        let f = Feature::new("x", None, &["1.10.0", "1.9.0", "1.2.0"]);
        assert_eq!(f.latest(), Some("1.10.0"));
    }

    #[test]
    fn installable_explains_why_not() {
        let mut s = State::seeded();
        assert_eq!(s.installable("password/timestamps").as_deref(), Ok("1.1.0"));
        assert!(s
            .installable("groups")
            .unwrap_err()
            .contains("already installed"));
        assert!(s
            .installable("nope")
            .unwrap_err()
            .contains("does not exist"));
        s.install("password/timestamps", "1.1.0".into());
        assert!(s.installable("password/timestamps").is_err());
    }

    #[test]
    fn put_merges_attributes_within_sections() {
        let mut config = provider_config(1).as_object().unwrap().clone();
        let update = json!({"_type": {"_id": "x"}, "aiAgentsConfig": {"aiAgentsEnabled": true},
            "coreOAuth2Config": {"codeLifetime": 60}});
        merge_sections(&mut config, update.as_object().unwrap().clone());
        assert_eq!(config["aiAgentsConfig"]["aiAgentsEnabled"], true);
        assert_eq!(config["coreOAuth2Config"]["codeLifetime"], 60);
        assert_eq!(config["coreOAuth2Config"]["accessTokenLifetime"], 3600);
        assert_eq!(config["_type"]["_id"], "oauth-oidc");
    }
}
