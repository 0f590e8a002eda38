//! Helpers shared by the simulator's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use aic_tenant_sim::{SimConfig, SimHandle};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const CLIENT: &str = "AICMCPClient";
pub const EXCHANGE_CLIENT: &str = "AICMCPExchangeClient";
pub const REDIRECT: &str = "http://localhost:3000";
pub const ALL_SCOPES: &str =
    "fr:idm:* fr:idc:monitoring:* fr:idc:esv:update fr:idc:esv:read fr:am:*";
pub const ACCESS_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Plain-HTTP config with auto-approval, the usual test setup.
pub fn http_cfg() -> SimConfig {
    SimConfig {
        tls: false,
        auto_approve: true,
        ..SimConfig::default()
    }
}

pub async fn start(cfg: SimConfig) -> SimHandle {
    aic_tenant_sim::start(cfg).await.unwrap()
}

/// A client that never follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn authorize_params<'a>(challenge: &'a str, scope: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("scope", scope),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", "st-123"),
    ]
}

/// Query pairs of a redirect's `Location`.
pub fn location_pairs(resp: &reqwest::Response) -> Vec<(String, String)> {
    let loc = resp.headers()["location"].to_str().unwrap();
    url::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Gets a code through an auto-approving authorize.
pub async fn auth_code(base: &str, c: &reqwest::Client, challenge: &str, scope: &str) -> String {
    let resp = c
        .get(format!("{base}/am/oauth2/authorize"))
        .query(&authorize_params(challenge, scope))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let pairs = location_pairs(&resp);
    assert_eq!(pair(&pairs, "state"), Some("st-123"));
    pair(&pairs, "code").unwrap().to_string()
}

pub async fn redeem(base: &str, c: &reqwest::Client, code: &str, verifier: &str) -> (u16, Value) {
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", CLIENT),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// A primary access token for `scope` (auto-approve config).
pub async fn login(base: &str, c: &reqwest::Client, scope: &str) -> String {
    let (verifier, challenge) = pkce();
    let code = auth_code(base, c, &challenge, scope).await;
    let (status, body) = redeem(base, c, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

pub async fn exchange_raw(
    base: &str,
    c: &reqwest::Client,
    subject: &str,
    scope: &str,
    client_id: &str,
) -> (u16, Value) {
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TYPE),
            ("requested_token_type", ACCESS_TYPE),
            ("scope", scope),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// An exchanged (resource) token for `scope`.
pub async fn exchange(base: &str, c: &reqwest::Client, subject: &str, scope: &str) -> String {
    let (status, body) = exchange_raw(base, c, subject, scope, EXCHANGE_CLIENT).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Logs in with every scope and exchanges for `scope`.
pub async fn resource_token(base: &str, c: &reqwest::Client, scope: &str) -> String {
    let primary = login(base, c, ALL_SCOPES).await;
    exchange(base, c, &primary, scope).await
}
