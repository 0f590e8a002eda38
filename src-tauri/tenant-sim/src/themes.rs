//! `/openidm/ui/theme/` (CREST query over one realm's themes) and
//! `/openidm/config/ui/themerealm` (the config document holding every realm's themes).

use axum::http::Method;
use serde_json::{json, Map, Value};

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

const CONFIG_ID: &str = "ui/themerealm";

/// The `ui/themerealm` config document: `{"_id", "realm": {<realm>: [theme…]}}`.
#[derive(Debug)]
pub(crate) struct State {
    config: Value,
}

impl Default for State {
    fn default() -> Self {
        State {
            config: json!({"_id": CONFIG_ID, "realm": {}}),
        }
    }
}

impl State {
    pub(crate) fn seeded() -> Self {
        State {
            config: seed_config(),
        }
    }

    fn realm_themes(&self, realm: &str) -> &[Value] {
        self.config
            .get("realm")
            .and_then(|r| r.get(realm))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Handles a request routed to this family.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    http::finish(route(shared, req))
}

fn route(shared: &Shared, req: &Req) -> Outcome {
    let segs = req.segs();
    match (segs.get(1..).unwrap_or_default(), &req.method) {
        (["ui", "theme"], &Method::GET) => query(shared, req),
        (["ui", "theme", id], &Method::GET) => read(shared, req, id),
        (["ui", "theme", ..], _) => Err(http::method_not_allowed(req)),
        (["config", "ui", "themerealm"], &Method::GET) => {
            Ok(http::json(200, &lock(&shared.themes).config))
        }
        (["config", "ui", "themerealm"], &Method::PUT) => put_config(shared, req),
        (["config", "ui", "themerealm"], _) => Err(http::method_not_allowed(req)),
        _ => Err(http::not_found(req)),
    }
}

fn realm_param(req: &Req) -> Result<&str, Fail> {
    req.q("realm")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Fail::crest(400, "The realm parameter is required"))
}

fn query(shared: &Shared, req: &Req) -> Outcome {
    let realm = realm_param(req)?;
    let filter_text = req.q("_queryFilter").ok_or_else(|| {
        Fail::crest(
            400,
            "Query request must specify _queryFilter, _queryId or _queryExpression",
        )
    })?;
    let filter = filter::parse(filter_text)
        .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{filter_text}': {e}")))?;
    let paging = crest::paging(req, None)?;
    let state = lock(&shared.themes);
    let mut hits: Vec<Value> = state
        .realm_themes(realm)
        .iter()
        .filter(|t| filter.matches(t))
        .cloned()
        .collect();
    drop(state);
    crest::sort(&mut hits, req.q("_sortKeys"));
    let fields = req.q("_fields");
    let hits = hits
        .iter()
        .map(|t| crest::select_fields(t, fields))
        .collect();
    Ok(http::json(
        200,
        &crest::page(hits, paging, req.q("_totalPagedResultsPolicy")),
    ))
}

fn read(shared: &Shared, req: &Req, id: &str) -> Outcome {
    let realm = realm_param(req)?;
    let state = lock(&shared.themes);
    let theme = state
        .realm_themes(realm)
        .iter()
        .find(|t| t.get("_id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| Fail::crest(404, format!("Theme {id} not found in realm {realm}")))?;
    Ok(http::json(
        200,
        &crest::select_fields(theme, req.q("_fields")),
    ))
}

/// Checks what the hosted pages rely on: every realm holds a list of themes, each with a
/// non-empty string `_id` and `name`, both unique in the realm, and at most one default.
fn validate_config(config: &Value) -> Result<(), Fail> {
    let bad = |m: String| Fail::crest(400, m);
    let realms = config
        .get("realm")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("The theme configuration must have a 'realm' object".into()))?;
    for (realm, themes) in realms {
        let themes = themes
            .as_array()
            .ok_or_else(|| bad(format!("The themes of realm '{realm}' must be an array")))?;
        let mut ids = Vec::new();
        let mut names = Vec::new();
        let mut defaults = 0;
        for theme in themes {
            let text = |key: &str| {
                theme
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let (Some(id), Some(name)) = (text("_id"), text("name")) else {
                return Err(bad(format!(
                    "Every theme of realm '{realm}' needs a non-empty string '_id' and 'name'"
                )));
            };
            if ids.contains(&id) {
                return Err(bad(format!(
                    "Duplicate theme _id '{id}' in realm '{realm}'"
                )));
            }
            if names.contains(&name) {
                return Err(bad(format!(
                    "Duplicate theme name '{name}' in realm '{realm}'"
                )));
            }
            ids.push(id);
            names.push(name);
            if theme.get("isDefault") == Some(&Value::Bool(true)) {
                defaults += 1;
            }
        }
        if defaults > 1 {
            return Err(bad(format!(
                "Realm '{realm}' has {defaults} default themes; at most one is allowed"
            )));
        }
    }
    Ok(())
}

fn put_config(shared: &Shared, req: &Req) -> Outcome {
    let mut config = req.json_body()?;
    let Value::Object(m) = &mut config else {
        return Err(Fail::crest(
            400,
            "The theme configuration must be a JSON object",
        ));
    };
    m.insert("_id".into(), Value::String(CONFIG_ID.into()));
    validate_config(&config)?;
    let mut state = lock(&shared.themes);
    state.config = config;
    Ok(http::json(200, &state.config))
}

// ---------------------------------------------------------------------------------------
// Seed: the stock themes of a fresh tenant, per realm.

const ACCOUNT_SECTIONS: &str = r#"{
    "personalInformation": {"enabled": true},
    "accountSecurity": {"enabled": true, "subsections": {
        "username": {"enabled": true}, "password": {"enabled": true},
        "twoStepVerification": {"enabled": true}, "securityQuestions": {"enabled": false}}},
    "social": {"enabled": false},
    "trustedDevices": {"enabled": true},
    "oauthApplications": {"enabled": false},
    "preferences": {"enabled": false},
    "consent": {"enabled": false},
    "accountControls": {"enabled": false}
}"#;

const FOOTER: &str = "<div class=\"d-flex justify-content-center py-4 w-100\"><span class=\"pr-1\">© 2025</span>\n<a href=\"#\" target=\"_blank\" class=\"text-body\">My Company, Inc</a><a href=\"#\" target=\"_blank\" style=\"color:#0000ee\" class=\"pl-3 text-body\">Privacy Policy</a><a href=\"#\" target=\"_blank\" style=\"color:#0000ee\" class=\"pl-3 text-body\">Terms & Conditions</a></div>";

/// The fields of a stock theme, with the values of a fresh tenant.
const BASE_THEME: &str = r##"{
    "accountCardBackgroundColor": "#ffffff",
    "accountCardHeaderColor": "#23282e",
    "accountCardInnerBorderColor": "#e7eef4",
    "accountCardInputBackgroundColor": "#ffffff",
    "accountCardInputBorderColor": "#c0c9d5",
    "accountCardInputLabelColor": "#5e6d82",
    "accountCardInputSelectColor": "#e4f4fd",
    "accountCardInputSelectHoverColor": "#f6f8fa",
    "accountCardInputTextColor": "#23282e",
    "accountCardOuterBorderColor": "#e7eef4",
    "accountCardShadow": 3,
    "accountCardTabActiveBorderColor": "#109cf1",
    "accountCardTabActiveColor": "#e4f4fd",
    "accountCardTextColor": "#5e6d82",
    "accountFooter": "",
    "accountFooterEnabled": false,
    "accountNavigationBackgroundColor": "#ffffff",
    "accountNavigationTextColor": "#455469",
    "accountNavigationToggleBorderColor": "#e7eef4",
    "accountPageSections": {},
    "accountTableRowHoverColor": "#f6f8fa",
    "backgroundColor": "#324054",
    "backgroundImage": "",
    "bodyText": "#23282e",
    "boldLinks": false,
    "buttonFocusBorderColor": "#0672cb",
    "buttonRounded": "5",
    "dangerColor": "#f7685b",
    "darkColor": "#23282e",
    "favicon": "",
    "fontFamily": "Open Sans",
    "infoColor": "#109cf1",
    "journeyA11yAddFallbackErrorHeading": true,
    "journeyCardBackgroundColor": "#ffffff",
    "journeyCardBorderRadius": 4,
    "journeyCardHeaderBackgroundColor": "#ffffff",
    "journeyCardShadow": 3,
    "journeyCardTextColor": "#5e6d82",
    "journeyCardTitleColor": "#23282e",
    "journeyFloatingLabels": true,
    "journeyFocusElement": "header",
    "journeyFooter": "",
    "journeyFooterEnabled": false,
    "journeyHeader": "<div class=\"d-flex justify-content-center py-4 flex-grow-1\">Header Content</div>",
    "journeyHeaderEnabled": false,
    "journeyHeaderSkipLinkEnabled": false,
    "journeyInputBackgroundColor": "#ffffff",
    "journeyInputBorderColor": "#c0c9d5",
    "journeyInputLabelColor": "#5e6d82",
    "journeyInputSelectColor": "#e4f4fd",
    "journeyInputSelectHoverColor": "#f6f8fa",
    "journeyInputTextColor": "#23282e",
    "journeyJustifiedContent": "",
    "journeyJustifiedContentEnabled": false,
    "journeyLayout": "card",
    "journeyRememberMeEnabled": false,
    "journeyRememberMeLabel": "",
    "journeyShowAsteriskForRequiredFields": false,
    "journeySignInButtonPosition": "flex-column",
    "journeyTheaterMode": false,
    "lightColor": "#f6f8fa",
    "linkActiveColor": "#0c85cf",
    "linkActiveColorOnDark": "#0a6eab",
    "linkColor": "#109cf1",
    "linkColorOnDark": "#109cf1",
    "linkedTrees": [],
    "logo": "",
    "logoAltText": "",
    "logoEnabled": true,
    "logoHeight": "40",
    "logoProfile": "",
    "logoProfileAltText": "",
    "logoProfileCollapsed": "",
    "logoProfileCollapsedAltText": "",
    "logoProfileCollapsedHeight": "24",
    "logoProfileHeight": "24",
    "pageTitle": "#23282e",
    "primaryColor": "#324054",
    "primaryOffColor": "#242E3C",
    "profileBackgroundColor": "#f6f8fa",
    "profileMenuHighlightColor": "#f3f5f8",
    "profileMenuHoverColor": "#f3f5f8",
    "profileMenuHoverTextColor": "#455469",
    "profileMenuTextHighlightColor": "#455469",
    "secondaryColor": "#69788b",
    "successColor": "#2ed47a",
    "switchBackgroundColor": "#939393",
    "textColor": "#ffffff",
    "topBarBackgroundColor": "#ffffff",
    "topBarBorderColor": "#e7eef4",
    "topBarHeaderColor": "#23282e",
    "topBarTextColor": "#69788b",
    "warningColor": "#ffb946"
}"##;

/// A theme with the fields a tenant's stock themes carry, then `overrides`.
fn theme(id: &str, name: &str, is_default: bool, overrides: Value) -> Value {
    let mut t = Map::new();
    t.insert("_id".into(), json!(id));
    t.insert("name".into(), json!(name));
    t.insert("isDefault".into(), json!(is_default));
    let mut base: Value = serde_json::from_str(BASE_THEME).unwrap_or(Value::Null);
    let sections: Value = serde_json::from_str(ACCOUNT_SECTIONS).unwrap_or(Value::Null);
    if let Value::Object(b) = &mut base {
        b.insert("accountFooter".into(), json!(FOOTER));
        b.insert("journeyFooter".into(), json!(FOOTER));
        b.insert("accountPageSections".into(), sections);
    }
    for source in [base, overrides] {
        if let Value::Object(m) = source {
            t.extend(m);
        }
    }
    Value::Object(t)
}

fn robroy(id: &str) -> Value {
    theme(
        id,
        "Robroy",
        false,
        json!({
            "backgroundColor": "#eeeeee",
            "buttonRounded": "50",
            "journeyCardShadow": 0,
            "logo": "https://cdn.forgerock.com/platform/themes/robroy/logo-robroy.svg",
            "logoAltText": "RobRoy",
            "logoHeight": "40",
            "logoProfile": "https://cdn.forgerock.com/platform/themes/robroy/logo-robroy.svg",
            "logoProfileAltText": "RobRoy",
            "logoProfileCollapsed": "https://cdn.forgerock.com/platform/themes/robroy/logo-robroy-small.svg",
            "primaryColor": "#C60819",
            "primaryOffColor": "#9A0614"
        }),
    )
}

fn seed_config() -> Value {
    let alpha = vec![
        theme(
            "2b0e7d2c-6c43-4d7e-9f0a-5c1c2f1d8a01",
            "Starter Theme",
            true,
            json!({}),
        ),
        robroy("4ded6d91-9d7c-4ee5-8f4b-0b8e3a6d0a11"),
        theme(
            "8f4a2b6e-1c3d-4e5f-a6b7-c8d9e0f1a2b3",
            "Zardoz",
            false,
            json!({
                "backgroundColor": "#ffffff",
                "backgroundImage": "https://cdn.forgerock.com/platform/themes/zardoz/bg-zardoz.jpg",
                "journeyLayout": "justified-right",
                "journeyJustifiedContentEnabled": true,
                "journeyJustifiedContent": "<div class=\"d-flex justify-content-center align-items-center h-100 text-white\"><h1>Welcome to Zardoz</h1></div>",
                "logo": "https://cdn.forgerock.com/platform/themes/zardoz/logo-zardoz.svg",
                "logoAltText": "Zardoz",
                "logoHeight": "47",
                "primaryColor": "#007661",
                "primaryOffColor": "#005447",
                "linkedTrees": ["Login"]
            }),
        ),
    ];
    let bravo = vec![
        theme(
            "c1e6f3a2-7b8d-4c9e-8f0a-1b2c3d4e5f60",
            "Starter Theme",
            false,
            json!({}),
        ),
        theme(
            "5a9c1e7f-3b2d-4f6a-8c0e-9d1b3f5a7c92",
            "Highlander",
            true,
            json!({
                "backgroundColor": "#2d2d2d",
                "fontFamily": "Roboto",
                "journeyFooterEnabled": true,
                "logo": "https://cdn.forgerock.com/platform/themes/highlander/logo-highlander-full.svg",
                "logoAltText": "Highlander",
                "logoHeight": "72",
                "primaryColor": "#196ae4",
                "primaryOffColor": "#1553b5",
                "textColor": "#ffffff"
            }),
        ),
        theme(
            "e7d3b1a9-0f2c-4a6e-b8d0-f2a4c6e8b0d1",
            "Contrast",
            false,
            json!({
                "backgroundColor": "#ffffff",
                "journeyCardShadow": 0,
                "journeyInputBorderColor": "#000000",
                "linkColor": "#000000",
                "logo": "https://cdn.forgerock.com/platform/themes/contrast/logo-contrast.svg",
                "logoAltText": "Contrast",
                "primaryColor": "#000000",
                "primaryOffColor": "#333333",
                "textColor": "#ffffff"
            }),
        ),
    ];
    json!({"_id": CONFIG_ID, "realm": {"alpha": alpha, "bravo": bravo}})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_valid_and_has_one_default_per_realm() {
        let config = seed_config();
        validate_config(&config).unwrap();
        for realm in ["alpha", "bravo"] {
            let themes = config["realm"][realm].as_array().unwrap();
            assert_eq!(themes.len(), 3);
            assert_eq!(themes.iter().filter(|t| t["isDefault"] == true).count(), 1);
            for t in themes {
                assert!(uuid::Uuid::parse_str(t["_id"].as_str().unwrap()).is_ok());
                assert!(t["accountPageSections"].is_object());
            }
        }
    }

    #[test]
    fn config_rules() {
        let ok = json!({"realm": {"alpha": [{"_id": "a", "name": "A", "isDefault": true}]}});
        assert!(validate_config(&ok).is_ok());
        for bad in [
            json!({}),
            json!({"realm": {"alpha": {}}}),
            json!({"realm": {"alpha": [{"_id": "a"}]}}),
            json!({"realm": {"alpha": [{"_id": "", "name": "A"}]}}),
            json!({"realm": {"alpha": [{"_id": "a", "name": "A"}, {"_id": "b", "name": "A"}]}}),
            json!({"realm": {"alpha": [{"_id": "a", "name": "A"}, {"_id": "a", "name": "B"}]}}),
            json!({"realm": {"alpha": [{"_id": "a", "name": "A", "isDefault": true}, {"_id": "b", "name": "B", "isDefault": true}]}}),
        ] {
            assert!(validate_config(&bad).is_err(), "{bad}");
        }
    }
}
