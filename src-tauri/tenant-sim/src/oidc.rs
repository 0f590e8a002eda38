//! AM OAuth2 client agents (`/am/json/{realm}/realm-config/agents/OAuth2Client…`) of the
//! simulated tenant, and the IDM applications that link to them (seeded through
//! [`seed_applications`]; the IDM side is the ordinary managed-object endpoint).
//!
//! As in AM: every call needs `Accept-API-Version: protocol=2.1,resource=1.0` (else 400);
//! settings live in sections, most of them wrapped as `{"inherited": bool, "value": …}`,
//! and a written client is AM's defaults (`_action=template`) with the given settings on
//! top; `PUT` with `If-None-Match: *` only creates (412 when the client exists), with
//! `If-Match: <rev>` only updates (412 on another revision or a missing client), and with
//! neither creates or replaces; the client secret (`userpassword`) is write-only and kept
//! when a later `PUT` leaves it out; unknown sections or settings are refused with 400.

use std::collections::BTreeMap;

use axum::http::header::ETAG;
use axum::http::{HeaderValue, Method};
use serde_json::{json, Map, Value};

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

/// The `Accept-API-Version` every OAuth2Client call requires.
const AM21: (&str, &str) = ("2.1", "1.0");
const REALMS: [&str; 2] = ["alpha", "bravo"];
/// The write-only client secret of `coreOAuth2ClientConfig`.
const SECRET: &str = "userpassword";

/// The value type of a setting.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Password,
    Flag,
    Number,
    List,
    Choice(&'static [&'static str]),
    ChoiceList(&'static [&'static str]),
}

/// One client setting: its section, name, title, description, type, default, and whether
/// it is wrapped in `{inherited, value}`.
struct Setting {
    section: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    kind: Kind,
    default: Value,
    wrapped: bool,
}

/// Sections in AM's order with their titles.
const SECTIONS: &[(&str, &str)] = &[
    ("coreOAuth2ClientConfig", "Core"),
    ("advancedOAuth2ClientConfig", "Advanced"),
    ("coreOpenIDClientConfig", "OpenID Connect"),
    ("signEncOAuth2ClientConfig", "Signing and Encryption"),
    ("coreUmaClientConfig", "UMA"),
    ("overrideOAuth2ClientConfig", "OAuth2 Provider Overrides"),
];

const SIGNING_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "HS256",
    "HS384", "HS512", "EdDSA",
];
const KEY_ALGS: &[&str] = &[
    "RSA-OAEP",
    "RSA-OAEP-256",
    "A128KW",
    "A256KW",
    "dir",
    "ECDH-ES",
];
const CONTENT_ALGS: &[&str] = &[
    "A128GCM",
    "A192GCM",
    "A256GCM",
    "A128CBC-HS256",
    "A192CBC-HS384",
    "A256CBC-HS512",
];
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "password",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:openid:params:grant-type:ciba",
    "urn:ietf:params:oauth:grant-type:uma-ticket",
];
const RESPONSE_TYPES: &[&str] = &[
    "code",
    "token",
    "id_token",
    "code token",
    "token id_token",
    "code id_token",
    "code token id_token",
    "device_code",
    "device_code id_token",
];
const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
    "none",
];

fn wrapped(
    section: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    kind: Kind,
    default: Value,
) -> Setting {
    Setting {
        section,
        name,
        title,
        description,
        kind,
        default,
        wrapped: true,
    }
}

fn plain(
    section: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    kind: Kind,
    default: Value,
) -> Setting {
    Setting {
        wrapped: false,
        ..wrapped(section, name, title, description, kind, default)
    }
}

/// Every setting the simulated AM knows, in schema order.
fn settings() -> Vec<Setting> {
    use Kind::*;
    const CORE: &str = "coreOAuth2ClientConfig";
    const ADV: &str = "advancedOAuth2ClientConfig";
    const OIDC: &str = "coreOpenIDClientConfig";
    const SIGN: &str = "signEncOAuth2ClientConfig";
    const UMA: &str = "coreUmaClientConfig";
    const OVR: &str = "overrideOAuth2ClientConfig";
    vec![
        plain(
            CORE,
            SECRET,
            "Client secret",
            "The client's password, used to authenticate confidential clients. Write-only.",
            Password,
            Value::Null,
        ),
        wrapped(
            CORE,
            "status",
            "Client Status",
            "Whether the client can be used.",
            Choice(&["Active", "Inactive"]),
            json!("Active"),
        ),
        wrapped(
            CORE,
            "clientType",
            "Client type",
            "Confidential clients keep a secret; public clients (browser, mobile) cannot.",
            Choice(&["Confidential", "Public"]),
            json!("Confidential"),
        ),
        wrapped(
            CORE,
            "redirectionUris",
            "Redirection URIs",
            "URIs the authorization server may redirect the user agent to after authorization.",
            List,
            json!([]),
        ),
        wrapped(
            CORE,
            "scopes",
            "Scope(s)",
            "Scopes the client may request.",
            List,
            json!([]),
        ),
        wrapped(
            CORE,
            "defaultScopes",
            "Default Scope(s)",
            "Scopes granted when the client requests none.",
            List,
            json!([]),
        ),
        wrapped(
            CORE,
            "clientName",
            "Client Name",
            "Display names of the client, shown on consent pages.",
            List,
            json!([]),
        ),
        wrapped(
            CORE,
            "authorizationCodeLifetime",
            "Authorization Code Lifetime (seconds)",
            "0 uses the OAuth2 provider's value.",
            Number,
            json!(0),
        ),
        wrapped(
            CORE,
            "accessTokenLifetime",
            "Access Token Lifetime (seconds)",
            "0 uses the OAuth2 provider's value.",
            Number,
            json!(0),
        ),
        wrapped(
            CORE,
            "refreshTokenLifetime",
            "Refresh Token Lifetime (seconds)",
            "0 uses the OAuth2 provider's value; -1 never expires.",
            Number,
            json!(0),
        ),
        wrapped(
            CORE,
            "loopbackInterfaceRedirection",
            "Allow wildcard ports in redirect URIs",
            "Allow any port on loopback redirect URIs (native apps).",
            Flag,
            json!(false),
        ),
        wrapped(
            ADV,
            "descriptions",
            "Description",
            "Descriptions of the client.",
            List,
            json!([]),
        ),
        wrapped(
            ADV,
            "grantTypes",
            "Grant Types",
            "Grant types the client may use.",
            ChoiceList(GRANT_TYPES),
            json!(["authorization_code"]),
        ),
        wrapped(
            ADV,
            "responseTypes",
            "Response Types",
            "Response types the client may use.",
            ChoiceList(RESPONSE_TYPES),
            json!([
                "code",
                "token",
                "id_token",
                "code token",
                "token id_token",
                "code id_token",
                "code token id_token",
                "device_code",
                "device_code id_token"
            ]),
        ),
        wrapped(
            ADV,
            "tokenEndpointAuthMethod",
            "Token Endpoint Authentication Method",
            "How the client authenticates at the token endpoint.",
            Choice(AUTH_METHODS),
            json!("client_secret_basic"),
        ),
        wrapped(
            ADV,
            "isConsentImplied",
            "Implied consent",
            "Skip the consent page for this client.",
            Flag,
            json!(false),
        ),
        wrapped(
            ADV,
            "javascriptOrigins",
            "JavaScript Origins",
            "Origins allowed to call AM from a browser.",
            List,
            json!([]),
        ),
        wrapped(
            ADV,
            "logoUri",
            "Logo URI",
            "Logo shown on consent pages.",
            List,
            json!([]),
        ),
        wrapped(
            ADV,
            "policyUri",
            "Privacy Policy URI",
            "Shown on consent pages.",
            List,
            json!([]),
        ),
        wrapped(
            ADV,
            "tosURI",
            "Terms of Service URI",
            "Shown on consent pages.",
            List,
            json!([]),
        ),
        wrapped(
            ADV,
            "subjectType",
            "Subject Type",
            "public: the same sub for every client; pairwise: a different sub per sector.",
            Choice(&["public", "pairwise"]),
            json!("public"),
        ),
        wrapped(
            ADV,
            "sectorIdentifierUri",
            "Sector Identifier URI",
            "Groups redirect URIs for pairwise subjects.",
            Text,
            Value::Null,
        ),
        wrapped(
            ADV,
            "mixUpMitigation",
            "OAuth 2.0 Mix-Up Mitigation enabled",
            "Send the iss parameter on authorization responses.",
            Flag,
            json!(false),
        ),
        wrapped(
            ADV,
            "updateAccessToken",
            "Access Token",
            "Registration access token.",
            Text,
            Value::Null,
        ),
        wrapped(
            ADV,
            "softwareIdentity",
            "Software Identity",
            "Identifier of the client software.",
            Text,
            Value::Null,
        ),
        wrapped(
            ADV,
            "softwareVersion",
            "Software Version",
            "Version of the client software.",
            Text,
            Value::Null,
        ),
        wrapped(
            ADV,
            "customProperties",
            "Custom Properties",
            "key=value pairs available to scripts.",
            List,
            json!([]),
        ),
        wrapped(
            OIDC,
            "claims",
            "Claim(s)",
            "Claims the client may request, with locale and display name.",
            List,
            json!([]),
        ),
        wrapped(
            OIDC,
            "postLogoutRedirectUri",
            "Post Logout Redirect URIs",
            "URIs the user agent may be sent to after logout.",
            List,
            json!([]),
        ),
        wrapped(
            OIDC,
            "clientSessionUri",
            "Client Session URI",
            "Front-channel logout URI.",
            Text,
            Value::Null,
        ),
        wrapped(
            OIDC,
            "backchannel_logout_uri",
            "Backchannel Logout URI",
            "URI called on logout.",
            Text,
            Value::Null,
        ),
        wrapped(
            OIDC,
            "backchannel_logout_session_required",
            "Backchannel Logout Session Required",
            "Include the sid claim in logout tokens.",
            Flag,
            json!(false),
        ),
        wrapped(
            OIDC,
            "defaultMaxAgeEnabled",
            "Default Max Age Enabled",
            "Force re-authentication after the default max age.",
            Flag,
            json!(false),
        ),
        wrapped(
            OIDC,
            "defaultMaxAge",
            "Default Max Age (seconds)",
            "Maximum authentication age.",
            Number,
            json!(600),
        ),
        wrapped(
            OIDC,
            "defaultAcrValues",
            "Default ACR values",
            "ACR values used when the client requests none.",
            List,
            json!([]),
        ),
        wrapped(
            OIDC,
            "jwtTokenLifetime",
            "OpenID Connect JWT Token Lifetime (seconds)",
            "0 uses the OAuth2 provider's value.",
            Number,
            json!(0),
        ),
        wrapped(
            SIGN,
            "tokenEndpointAuthSigningAlgorithm",
            "Token Endpoint Authentication Signing Algorithm",
            "For private_key_jwt and client_secret_jwt.",
            Choice(SIGNING_ALGS),
            json!("RS256"),
        ),
        wrapped(
            SIGN,
            "idTokenSignedResponseAlg",
            "ID Token Signing Algorithm",
            "Algorithm that signs ID tokens for this client.",
            Choice(SIGNING_ALGS),
            json!("RS256"),
        ),
        wrapped(
            SIGN,
            "idTokenEncryptionEnabled",
            "Enable ID Token Encryption",
            "Encrypt ID tokens for this client.",
            Flag,
            json!(false),
        ),
        wrapped(
            SIGN,
            "idTokenEncryptionAlgorithm",
            "ID Token Encryption Algorithm",
            "Key management algorithm of encrypted ID tokens.",
            Choice(KEY_ALGS),
            json!("RSA-OAEP-256"),
        ),
        wrapped(
            SIGN,
            "idTokenEncryptionMethod",
            "ID Token Encryption Method",
            "Content encryption of encrypted ID tokens.",
            Choice(CONTENT_ALGS),
            json!("A128CBC-HS256"),
        ),
        wrapped(
            SIGN,
            "publicKeyLocation",
            "Public key selector",
            "Where AM finds the client's public keys.",
            Choice(&["jwks_uri", "jwks", "x509"]),
            json!("jwks_uri"),
        ),
        wrapped(
            SIGN,
            "jwksUri",
            "Json Web Key URI",
            "URI of the client's JWK set.",
            Text,
            Value::Null,
        ),
        wrapped(
            SIGN,
            "jwkSet",
            "Json Web Key",
            "The client's JWK set.",
            Text,
            Value::Null,
        ),
        wrapped(
            SIGN,
            "userinfoResponseFormat",
            "User info response format",
            "How the userinfo endpoint answers.",
            Choice(&[
                "JSON",
                "SIGNED_JWT",
                "ENCRYPTED_JWT",
                "SIGNED_THEN_ENCRYPTED_JWT",
            ]),
            json!("JSON"),
        ),
        wrapped(
            SIGN,
            "tokenIntrospectionResponseFormat",
            "Token introspection response format",
            "How the introspection endpoint answers.",
            Choice(&["JSON", "SIGNED_JWT", "SIGNED_THEN_ENCRYPTED_JWT"]),
            json!("JSON"),
        ),
        wrapped(
            SIGN,
            "requestParameterSignedAlg",
            "Request parameter Signing Algorithm",
            "Algorithm of signed request objects.",
            Choice(SIGNING_ALGS),
            Value::Null,
        ),
        wrapped(
            UMA,
            "claimsRedirectionUris",
            "Claims Redirection URIs",
            "Where the UMA claims gathering flow returns.",
            List,
            json!([]),
        ),
        plain(
            OVR,
            "providerOverridesEnabled",
            "Enable OAuth2 Provider Overrides",
            "Use the settings of this section instead of the OAuth2 provider's.",
            Flag,
            json!(false),
        ),
        plain(
            OVR,
            "issueRefreshToken",
            "Issue Refresh Tokens",
            "Issue refresh tokens with access tokens.",
            Flag,
            json!(true),
        ),
        plain(
            OVR,
            "issueRefreshTokenOnRefreshedToken",
            "Issue Refresh Tokens on Refreshing Access Tokens",
            "Rotate refresh tokens.",
            Flag,
            json!(true),
        ),
        plain(
            OVR,
            "statelessTokensEnabled",
            "Use Client-Side Access & Refresh Tokens",
            "Issue JWT access tokens.",
            Flag,
            json!(false),
        ),
        plain(
            OVR,
            "usePolicyEngineForScope",
            "Use Policy Engine for Scope decisions",
            "Decide scopes with policies.",
            Flag,
            json!(false),
        ),
        plain(
            OVR,
            "oidcClaimsPluginType",
            "OIDC Claims Plugin Type",
            "Script or Java plugin that builds OIDC claims.",
            Choice(&["SCRIPTED", "JAVA"]),
            json!("SCRIPTED"),
        ),
        plain(
            OVR,
            "accessTokenModificationPluginType",
            "Access Token Modification Plugin Type",
            "Script or Java plugin that changes access tokens.",
            Choice(&["SCRIPTED", "JAVA"]),
            json!("SCRIPTED"),
        ),
    ]
}

/// The JSON schema of a setting's value.
fn value_schema(kind: Kind) -> Value {
    match kind {
        Kind::Text => json!({"type": "string"}),
        Kind::Password => json!({"type": "string", "format": "password"}),
        Kind::Flag => json!({"type": "boolean"}),
        Kind::Number => json!({"type": "integer"}),
        Kind::List => json!({"type": "array", "items": {"type": "string"}}),
        Kind::Choice(values) => json!({"type": "string", "enum": values}),
        Kind::ChoiceList(values) => {
            json!({"type": "array", "items": {"type": "string", "enum": values}})
        }
    }
}

/// `POST ?_action=schema`: sections, each with its settings; wrapped settings describe
/// `inherited` and `value` under `properties`.
fn client_schema() -> Value {
    let all = settings();
    let mut sections = Map::new();
    for (order, (section, title)) in SECTIONS.iter().enumerate() {
        let mut props = Map::new();
        for (i, s) in all.iter().filter(|s| s.section == *section).enumerate() {
            let mut p = Map::new();
            p.insert("title".into(), json!(s.title));
            p.insert("description".into(), json!(s.description));
            p.insert("propertyOrder".into(), json!(i));
            if s.wrapped {
                p.insert("type".into(), json!("object"));
                p.insert(
                    "properties".into(),
                    json!({
                        "inherited": {"type": "boolean", "required": true},
                        "value": value_schema(s.kind),
                    }),
                );
            } else if let Value::Object(v) = value_schema(s.kind) {
                p.extend(v);
            }
            p.insert("exampleValue".into(), json!(""));
            props.insert(s.name.to_string(), Value::Object(p));
        }
        sections.insert(
            section.to_string(),
            json!({"type": "object", "title": title, "propertyOrder": order, "properties": props}),
        );
    }
    json!({"type": "object", "properties": sections})
}

/// `POST ?_action=template`: the configuration of a new client (the secret has no default
/// and is not shown).
fn client_template() -> Value {
    let mut sections = Map::new();
    for (section, _) in SECTIONS {
        let mut values = Map::new();
        for s in settings()
            .iter()
            .filter(|s| s.section == *section && s.name != SECRET)
        {
            let v = if s.wrapped {
                json!({"inherited": false, "value": s.default})
            } else {
                s.default.clone()
            };
            values.insert(s.name.to_string(), v);
        }
        sections.insert(section.to_string(), Value::Object(values));
    }
    Value::Object(sections)
}

/// Checks a written configuration: an object of known sections, each an object of known
/// settings, wrapped settings as objects.
fn check_config(body: &Value) -> Result<&Map<String, Value>, Fail> {
    let Value::Object(config) = body else {
        return Err(Fail::crest(
            400,
            "The client configuration must be a JSON object",
        ));
    };
    let all = settings();
    for (section, value) in config {
        if matches!(section.as_str(), "_id" | "_rev" | "_type") {
            continue;
        }
        if !SECTIONS.iter().any(|(s, _)| s == section) {
            return Err(Fail::crest(
                400,
                format!(
                    "Invalid attribute specified: '{section}' is not a section of OAuth2Client"
                ),
            ));
        }
        let Value::Object(values) = value else {
            return Err(Fail::crest(
                400,
                format!("Invalid value for '{section}': a section must be an object"),
            ));
        };
        for (name, v) in values {
            let Some(setting) = all.iter().find(|s| s.section == section && s.name == name) else {
                return Err(Fail::crest(
                    400,
                    format!("Invalid attribute specified: '{section}/{name}'"),
                ));
            };
            if setting.wrapped && !v.is_object() {
                return Err(Fail::crest(
                    400,
                    format!(
                        "Invalid value for '{section}/{name}': expected {{\"inherited\": boolean, \"value\": ...}}"
                    ),
                ));
            }
        }
    }
    Ok(config)
}

/// The stored form of a written client: AM's defaults with the given settings on top;
/// the secret is kept from `previous` when not given.
fn build_client(
    id: &str,
    rev: String,
    config: &Map<String, Value>,
    previous: Option<&Value>,
) -> Value {
    let mut client = Map::new();
    client.insert("_id".into(), json!(id));
    client.insert("_rev".into(), json!(rev));
    if let Value::Object(template) = client_template() {
        for (section, defaults) in template {
            let mut values = match defaults {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if let Some(Value::Object(given)) = config.get(&section) {
                for (k, v) in given {
                    let v = match (values.get(k), v) {
                        // A wrapper given without `inherited` keeps the default's.
                        (Some(Value::Object(default)), Value::Object(w))
                            if !w.contains_key("inherited") =>
                        {
                            let mut merged = default.clone();
                            merged.extend(w.clone());
                            Value::Object(merged)
                        }
                        _ => v.clone(),
                    };
                    values.insert(k.clone(), v);
                }
            }
            client.insert(section, Value::Object(values));
        }
    }
    let kept_secret = previous
        .and_then(|p| p.pointer("/coreOAuth2ClientConfig/userpassword"))
        .cloned();
    if let (Some(secret), Some(Value::Object(core))) =
        (kept_secret, client.get_mut("coreOAuth2ClientConfig"))
    {
        core.entry(SECRET).or_insert(secret);
    }
    client.insert(
        "_type".into(),
        json!({"_id": "OAuth2Client", "name": "OAuth2 Clients", "collection": true}),
    );
    Value::Object(client)
}

/// A client as AM shows it: without the secret.
fn shown(client: &Value) -> Value {
    let mut c = client.clone();
    if let Some(Value::Object(core)) = c.get_mut("coreOAuth2ClientConfig") {
        core.shift_remove(SECRET);
    }
    c
}

/// State of this family: the OAuth2 clients of each realm, by client id in creation order.
#[derive(Debug)]
pub(crate) struct State {
    realms: BTreeMap<String, Map<String, Value>>,
    rev: u64,
}

impl State {
    pub(crate) fn seeded() -> Self {
        let mut state = State {
            realms: REALMS.iter().map(|r| (r.to_string(), Map::new())).collect(),
            rev: 1_736_100_000,
        };
        for (realm, id, config) in seed_clients() {
            let rev = state.next_rev();
            if let Value::Object(config) = &config {
                let client = build_client(id, rev, config, None);
                if let Some(clients) = state.realms.get_mut(realm) {
                    clients.insert(id.to_string(), client);
                }
            }
        }
        state
    }

    fn next_rev(&mut self) -> String {
        self.rev += 1;
        format!("{}", self.rev)
    }
}

/// Seeded clients: `(realm, client id, settings)`.
fn seed_clients() -> Vec<(&'static str, &'static str, Value)> {
    let w = |v: Value| json!({"inherited": false, "value": v});
    vec![
        (
            "alpha",
            "customer-portal",
            json!({
                "coreOAuth2ClientConfig": {
                    "userpassword": "portal-secret-1f7c",
                    "clientType": w(json!("Confidential")),
                    "clientName": w(json!(["Customer Portal"])),
                    "redirectionUris": w(json!(["https://portal.example.com/callback"])),
                    "scopes": w(json!(["openid", "profile", "email"])),
                    "defaultScopes": w(json!(["openid"])),
                },
                "advancedOAuth2ClientConfig": {
                    "grantTypes": w(json!(["authorization_code", "refresh_token"])),
                    "responseTypes": w(json!(["code"])),
                    "tokenEndpointAuthMethod": w(json!("client_secret_basic")),
                    "descriptions": w(json!(["Self-service portal for customers"])),
                },
                "coreOpenIDClientConfig": {
                    "postLogoutRedirectUri": w(json!(["https://portal.example.com/"])),
                },
            }),
        ),
        (
            "alpha",
            "mobile-banking",
            json!({
                "coreOAuth2ClientConfig": {
                    "clientType": w(json!("Public")),
                    "clientName": w(json!(["Mobile Banking"])),
                    "redirectionUris": w(json!(["com.example.bank:/oauth2redirect"])),
                    "scopes": w(json!(["openid", "profile", "accounts"])),
                },
                "advancedOAuth2ClientConfig": {
                    "grantTypes": w(json!(["authorization_code", "refresh_token"])),
                    "responseTypes": w(json!(["code"])),
                    "tokenEndpointAuthMethod": w(json!("none")),
                },
            }),
        ),
        (
            "bravo",
            "partner-dashboard",
            json!({
                "coreOAuth2ClientConfig": {
                    "userpassword": "partner-secret-92ab",
                    "clientType": w(json!("Confidential")),
                    "clientName": w(json!(["Partner Dashboard"])),
                    "redirectionUris": w(json!(["https://partners.example.com/oauth/callback"])),
                    "scopes": w(json!(["openid", "profile"])),
                },
                "advancedOAuth2ClientConfig": {
                    "grantTypes": w(json!(["authorization_code"])),
                },
            }),
        ),
    ]
}

/// Seeded IDM applications, per managed type: two OIDC apps linked to the seeded alpha
/// clients, a SAML app (no client), and one bravo OIDC app.
pub(crate) fn seed_applications() -> Vec<(&'static str, Vec<Value>)> {
    let owner = |user: &str| json!({"_ref": format!("managed/{user}"), "_refProperties": {}});
    vec![
        (
            "alpha_application",
            vec![
                json!({
                    "_id": "a5000000-0000-4000-8000-000000000001",
                    "_rev": "1",
                    "name": "Customer Portal",
                    "description": "Self-service portal for customers",
                    "url": "https://portal.example.com",
                    "icon": "",
                    "templateName": "web",
                    "templateVersion": "3.0",
                    "authoritative": false,
                    "ssoEntities": {"oidcId": "customer-portal"},
                    "owners": [owner("alpha_user/a1000000-0000-4000-8000-000000000001")],
                }),
                json!({
                    "_id": "a5000000-0000-4000-8000-000000000002",
                    "_rev": "1",
                    "name": "Mobile Banking",
                    "description": "iOS and Android banking app",
                    "icon": "",
                    "templateName": "native",
                    "templateVersion": "3.0",
                    "authoritative": false,
                    "ssoEntities": {"oidcId": "mobile-banking"},
                    "owners": [owner("alpha_user/a1000000-0000-4000-8000-000000000002")],
                }),
                json!({
                    "_id": "a5000000-0000-4000-8000-000000000003",
                    "_rev": "1",
                    "name": "Payroll",
                    "description": "Payroll service (SAML 2.0)",
                    "url": "https://payroll.example.com",
                    "templateName": "saml",
                    "templateVersion": "2.0",
                    "authoritative": false,
                    "ssoEntities": {"spEntityId": "https://payroll.example.com/saml/metadata"},
                    "owners": [owner("alpha_user/a1000000-0000-4000-8000-000000000001")],
                }),
            ],
        ),
        (
            "bravo_application",
            vec![json!({
                "_id": "b5000000-0000-4000-8000-000000000001",
                "_rev": "1",
                "name": "Partner Dashboard",
                "description": "Reports for partner organisations",
                "url": "https://partners.example.com",
                "templateName": "web",
                "templateVersion": "3.0",
                "authoritative": false,
                "ssoEntities": {"oidcId": "partner-dashboard"},
                "owners": [owner("bravo_user/b1000000-0000-4000-8000-000000000001")],
            })],
        ),
    ]
}

/// Handles a request routed to this family.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    http::finish(route(shared, req))
}

fn route(shared: &Shared, req: &Req) -> Outcome {
    let segs = req.segs();
    let (realm, rest) = match segs.as_slice() {
        ["am", "json", realm, "realm-config", "agents", "OAuth2Client", rest @ ..] => {
            (*realm, rest)
        }
        _ => return Err(http::not_found(req)),
    };
    http::require_api_version(req, AM21.1, &[AM21.0])?;
    if !REALMS.contains(&realm) {
        return Err(Fail::crest(404, format!("Realm '/{realm}' not found")));
    }
    match rest {
        [] => match req.method {
            Method::POST => collection_action(req),
            Method::GET => query(shared, req, realm),
            _ => Err(http::method_not_allowed(req)),
        },
        [id] => match req.method {
            Method::GET => read(shared, realm, id),
            Method::PUT => put(shared, req, realm, id),
            Method::DELETE => delete(shared, realm, id),
            _ => Err(http::method_not_allowed(req)),
        },
        _ => Err(http::not_found(req)),
    }
}

fn collection_action(req: &Req) -> Outcome {
    if !req.body.is_empty() {
        req.json_body()?;
    }
    match req.q("_action") {
        Some("schema") => Ok(http::json(200, &client_schema())),
        Some("template") => Ok(http::json(200, &client_template())),
        Some(other) => Err(Fail::crest(
            400,
            format!("Action '{other}' is not supported on OAuth2Client"),
        )),
        None => Err(Fail::crest(400, "An _action parameter is required")),
    }
}

fn query(shared: &Shared, req: &Req, realm: &str) -> Outcome {
    let text = req.q("_queryFilter").ok_or_else(|| {
        Fail::crest(
            400,
            "Query request must specify _queryFilter, _queryId or _queryExpression",
        )
    })?;
    let filter = filter::parse(text)
        .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{text}': {e}")))?;
    let paging = crest::paging(req, None)?;
    let state = lock(&shared.oidc);
    let mut hits: Vec<Value> = state
        .realms
        .get(realm)
        .map(|clients| {
            clients
                .values()
                .map(shown)
                .filter(|c| filter.matches(c))
                .collect()
        })
        .unwrap_or_default();
    crest::sort(&mut hits, req.q("_sortKeys"));
    let fields = req.q("_fields");
    let hits = hits
        .iter()
        .map(|c| crest::select_fields(c, fields))
        .collect();
    Ok(http::json(
        200,
        &crest::page(hits, paging, req.q("_totalPagedResultsPolicy")),
    ))
}

fn client_not_found(id: &str) -> Fail {
    Fail::crest(404, format!("Resource '{id}' not found"))
}

/// A client response with its revision as `ETag`.
fn client_response(code: u16, client: &Value) -> Resp {
    let mut resp = http::json(code, &shown(client));
    if let Some(rev) = client.get("_rev").and_then(Value::as_str) {
        if let Ok(v) = HeaderValue::from_str(&format!("\"{rev}\"")) {
            resp.headers_mut().insert(ETAG, v);
        }
    }
    resp
}

fn read(shared: &Shared, realm: &str, id: &str) -> Outcome {
    let state = lock(&shared.oidc);
    state
        .realms
        .get(realm)
        .and_then(|clients| clients.get(id))
        .map(|c| client_response(200, c))
        .ok_or_else(|| client_not_found(id))
}

/// A conditional header without quotes or weak prefix.
fn condition(req: &Req, name: &str) -> Option<String> {
    req.header(name).map(|v| {
        let v = v.trim();
        let v = v.strip_prefix("W/").unwrap_or(v);
        v.trim_matches('"').to_string()
    })
}

fn put(shared: &Shared, req: &Req, realm: &str, id: &str) -> Outcome {
    let body = req.json_body()?;
    let config = check_config(&body)?;
    let if_none_match = condition(req, "if-none-match");
    let if_match = condition(req, "if-match");
    let mut state = lock(&shared.oidc);
    let current = state
        .realms
        .get(realm)
        .and_then(|clients| clients.get(id))
        .cloned();
    match (&if_none_match, &current) {
        (Some(v), Some(_)) if v == "*" => {
            return Err(Fail::crest(
                412,
                format!("Unable to create: an OAuth2Client with id '{id}' already exists"),
            ))
        }
        (Some(v), _) if v != "*" => {
            return Err(Fail::crest(400, "If-None-Match must be '*' (create only)"))
        }
        _ => {}
    }
    if let Some(expected) = &if_match {
        let rev = current
            .as_ref()
            .and_then(|c| c.get("_rev"))
            .and_then(Value::as_str);
        match rev {
            None => {
                return Err(Fail::crest(
                    412,
                    format!("Unable to update: no OAuth2Client with id '{id}' exists"),
                ))
            }
            Some(rev) if expected != "*" && expected != rev => {
                return Err(Fail::crest(
                    412,
                    format!(
                    "The resource's revision {rev} does not match the expected revision {expected}"
                ),
                ))
            }
            Some(_) => {}
        }
    }
    let rev = state.next_rev();
    let client = build_client(id, rev, config, current.as_ref());
    if let Some(clients) = state.realms.get_mut(realm) {
        clients.insert(id.to_string(), client.clone());
    }
    Ok(client_response(
        if current.is_some() { 200 } else { 201 },
        &client,
    ))
}

fn delete(shared: &Shared, realm: &str, id: &str) -> Outcome {
    let mut state = lock(&shared.oidc);
    state
        .realms
        .get_mut(realm)
        .and_then(|clients| clients.shift_remove(id))
        .map(|c| client_response(200, &c))
        .ok_or_else(|| client_not_found(id))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_template_cover_the_same_settings() {
        let schema = client_schema();
        let template = client_template();
        for (section, _) in SECTIONS {
            let props = schema["properties"][section]["properties"]
                .as_object()
                .unwrap();
            let defaults = template[section].as_object().unwrap();
            for (name, p) in props {
                assert!(p["title"].is_string(), "{section}/{name}");
                if name != SECRET {
                    assert!(defaults.contains_key(name), "{section}/{name}");
                }
            }
            assert_eq!(
                props.len() - usize::from(*section == "coreOAuth2ClientConfig"),
                defaults.len()
            );
        }
        let status = &schema["properties"]["coreOAuth2ClientConfig"]["properties"]["status"];
        assert_eq!(
            status["properties"]["value"]["enum"],
            json!(["Active", "Inactive"])
        );
        assert_eq!(
            template["coreOAuth2ClientConfig"]["status"],
            json!({"inherited": false, "value": "Active"})
        );
        assert_eq!(
            template["overrideOAuth2ClientConfig"]["issueRefreshToken"],
            true
        );
    }

    #[test]
    fn written_clients_are_defaults_plus_settings_and_keep_the_secret() {
        let config = json!({"coreOAuth2ClientConfig": {"userpassword": "s", "scopes": {"value": ["openid"]}}});
        let first = build_client("c", "1".into(), config.as_object().unwrap(), None);
        assert_eq!(
            first["coreOAuth2ClientConfig"]["scopes"],
            json!({"inherited": false, "value": ["openid"]})
        );
        assert_eq!(first["coreOAuth2ClientConfig"]["status"]["value"], "Active");
        assert!(shown(&first)["coreOAuth2ClientConfig"]
            .get(SECRET)
            .is_none());
        let second = build_client("c", "2".into(), &Map::new(), Some(&first));
        assert_eq!(second["coreOAuth2ClientConfig"][SECRET], "s");
        assert_eq!(
            second["coreOAuth2ClientConfig"]["scopes"]["value"],
            json!([])
        );
        assert!(check_config(&json!({"nope": {}})).is_err());
        assert!(check_config(&json!({"coreOAuth2ClientConfig": {"nope": 1}})).is_err());
        assert!(check_config(&json!({"coreOAuth2ClientConfig": {"scopes": ["x"]}})).is_err());
        assert!(
            check_config(&json!({"overrideOAuth2ClientConfig": {"issueRefreshToken": false}}))
                .is_ok()
        );
    }
}
