//! OAuth: PKCE code flow, refresh, token exchange rules and the device flow.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use aic_tenant_sim::SimConfig;
use common::*;
use serde_json::Value;

#[tokio::test]
async fn interactive_code_flow_with_form() {
    let sim = start(SimConfig {
        tls: false,
        ..SimConfig::default()
    })
    .await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();
    let params = authorize_params(&challenge, ALL_SCOPES);

    let resp = c
        .get(format!("{base}/am/oauth2/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = resp.text().await.unwrap();
    for needle in [
        "<title>Sign In</title>",
        "id=\"username\"",
        "id=\"password\"",
        "id=\"allow\"",
        "id=\"deny\"",
        "action=\"/am/oauth2/authorize\"",
        "name=\"code_challenge\"",
        "value=\"st-123\"",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    assert!(!page.contains("<script"));

    let post = |extra: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, &str)> = params.clone();
        form.extend(extra);
        c.post(format!("{base}/am/oauth2/authorize"))
            .form(&form)
            .send()
    };

    let resp = post(vec![
        ("username", "admin"),
        ("password", "nope"),
        ("decision", "allow"),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Invalid username or password"));

    let resp = post(vec![("decision", "deny")]).await.unwrap();
    assert_eq!(resp.status(), 302);
    let pairs = location_pairs(&resp);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("http://localhost:3000?"));
    assert_eq!(pair(&pairs, "error"), Some("access_denied"));
    assert_eq!(pair(&pairs, "state"), Some("st-123"));
    assert!(pair(&pairs, "code").is_none());

    let resp = post(vec![
        ("username", "admin"),
        ("password", "Passw0rd!"),
        ("decision", "allow"),
    ])
    .await
    .unwrap();
    assert_eq!(resp.status(), 302);
    let pairs = location_pairs(&resp);
    assert_eq!(pair(&pairs, "state"), Some("st-123"));
    let code = pair(&pairs, "code").unwrap().to_string();

    let (status, body) = redeem(&base, &c, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], ALL_SCOPES);
    assert!(body["refresh_token"].is_string());
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(sim.live_primary_tokens(), vec![token.to_string()]);

    // Codes are single use.
    let (status, body) = redeem(&base, &c, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn pkce_verifier_mismatch_and_other_code_errors() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let (_verifier, challenge) = pkce();
    let (other_verifier, _) = pkce();

    let code = auth_code(&base, &c, &challenge, ALL_SCOPES).await;
    let (status, body) = redeem(&base, &c, &code, &other_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // redirect_uri must equal the authorize one.
    let (verifier, challenge) = pkce();
    let code = auth_code(&base, &c, &challenge, ALL_SCOPES).await;
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://localhost:3001"),
            ("code_verifier", verifier.as_str()),
            ("client_id", CLIENT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Wrong client and missing parameters.
    let code = auth_code(&base, &c, &challenge, ALL_SCOPES).await;
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
            ("client_id", "SomeoneElse"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[("grant_type", "authorization_code"), ("client_id", CLIENT)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    assert!(sim.live_primary_tokens().is_empty());
}

#[tokio::test]
async fn authorize_rejects_bad_requests_without_redirecting() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let (_, challenge) = pkce();
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("redirect_uri", Some("https://localhost:3000")),
        ("redirect_uri", Some("http://localhost:3000/callback")),
        ("redirect_uri", Some("http://evil.example:3000")),
        ("client_id", Some("AICMCPExchangeClient")),
        ("code_challenge", None),
        ("code_challenge_method", Some("plain")),
        ("scope", Some("fr:idm:* root")),
    ];
    for (name, value) in cases {
        let params: Vec<(&str, &str)> = authorize_params(&challenge, ALL_SCOPES)
            .into_iter()
            .filter_map(|(k, v)| match (k == name, value) {
                (true, Some(nv)) => Some((k, nv)),
                (true, None) => None,
                (false, _) => Some((k, v)),
            })
            .collect();
        let resp = c
            .get(format!("{base}/am/oauth2/authorize"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{name}={value:?}");
        assert!(resp.headers().get("location").is_none());
        assert!(resp.text().await.unwrap().contains("<html"));
    }
    // Other loopback forms are fine.
    for uri in ["http://127.0.0.1:51234", "http://localhost:3000/"] {
        let mut params = authorize_params(&challenge, ALL_SCOPES);
        params.retain(|(k, _)| *k != "redirect_uri");
        params.push(("redirect_uri", uri));
        let resp = c
            .get(format!("{base}/am/oauth2/authorize"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
        assert!(resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(uri));
    }
}

#[tokio::test]
async fn scope_spaces_as_plus_or_percent20() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();
    for space in ["+", "%20"] {
        let url = format!(
            "{base}/am/oauth2/authorize?response_type=code&client_id={CLIENT}&scope=fr%3Aidm%3A*{space}fr%3Aam%3A*\
             &redirect_uri=http%3A%2F%2Flocalhost%3A3000&code_challenge={challenge}&code_challenge_method=S256&state=x"
        );
        let resp = c.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 302);
        let code = pair(&location_pairs(&resp), "code").unwrap().to_string();
        let (status, body) = redeem(&base, &c, &code, &verifier).await;
        assert_eq!(status, 200);
        assert_eq!(body["scope"], "fr:idm:* fr:am:*");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();
    let code = auth_code(&base, &c, &challenge, ALL_SCOPES).await;
    let (_, body) = redeem(&base, &c, &code, &verifier).await;
    let refresh = body["refresh_token"].as_str().unwrap().to_string();

    let do_refresh = |rt: String| {
        c.post(format!("{base}/am/oauth2/access_token"))
            .form(&[
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", rt),
                ("client_id", CLIENT.to_string()),
            ])
            .send()
    };
    assert_eq!(sim.live_refresh_tokens(), vec![refresh.clone()]);
    let resp = do_refresh(refresh.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_ne!(body["refresh_token"].as_str().unwrap(), refresh);
    assert_eq!(body["scope"], ALL_SCOPES);
    assert_eq!(sim.live_primary_tokens().len(), 2);

    let resp = do_refresh(refresh).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let no_refresh = start(SimConfig {
        issue_refresh_tokens: false,
        token_lifetime_secs: 120,
        ..http_cfg()
    })
    .await;
    let base = no_refresh.base_url();
    let code = auth_code(&base, &c, &challenge, ALL_SCOPES).await;
    let (_, body) = redeem(&base, &c, &code, &verifier).await;
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["expires_in"], 120);
}

#[tokio::test]
async fn token_exchange_rules() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let primary = login(&base, &c, "fr:idm:* fr:am:*").await;
    let config_url = format!("{base}/openidm/config/managed");

    // The primary token is never accepted by resources.
    let resp = c
        .get(&config_url)
        .bearer_auth(&primary)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        serde_json::json!({"code": 401, "reason": "Unauthorized", "message": "Access Denied"})
    );
    let resp = c.get(&config_url).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    let (status, body) = exchange_raw(&base, &c, &primary, "fr:idm:*", EXCHANGE_CLIENT).await;
    assert_eq!(status, 200);
    assert_eq!(body["issued_token_type"], ACCESS_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "fr:idm:*");
    assert!(body["expires_in"].is_number());
    let idm_token = body["access_token"].as_str().unwrap().to_string();
    let resp = c
        .get(&config_url)
        .bearer_auth(&idm_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Exchanged tokens carry only the requested scopes.
    let resp = c
        .get(format!("{base}/monitoring/logs/sources"))
        .bearer_auth(&idm_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let am_token = exchange(&base, &c, &primary, "fr:am:*").await;
    let resp = c
        .get(&config_url)
        .bearer_auth(&am_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Scope, client and subject checks.
    let (status, body) =
        exchange_raw(&base, &c, &primary, "fr:idc:monitoring:*", EXCHANGE_CLIENT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = exchange_raw(&base, &c, &primary, "", EXCHANGE_CLIENT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = exchange_raw(&base, &c, &primary, "fr:idm:*", CLIENT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    let (status, body) = exchange_raw(&base, &c, "not-a-token", "fr:idm:*", EXCHANGE_CLIENT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = exchange_raw(&base, &c, &idm_token, "fr:idm:*", EXCHANGE_CLIENT).await;
    assert_eq!(status, 401, "an exchanged token is not a subject token");

    // Expiry affects both kinds.
    sim.expire_all_tokens();
    assert!(sim.live_primary_tokens().is_empty());
    let resp = c
        .get(&config_url)
        .bearer_auth(&idm_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (status, _) = exchange_raw(&base, &c, &primary, "fr:idm:*", EXCHANGE_CLIENT).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let sim = start(SimConfig {
        token_lifetime_secs: 1,
        ..http_cfg()
    })
    .await;
    let base = sim.base_url();
    let c = client();
    let token = resource_token(&base, &c, "fr:idm:*").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = c
        .get(format!("{base}/openidm/config/managed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

async fn device_start(base: &str, c: &reqwest::Client, challenge: &str) -> Value {
    let resp = c
        .post(format!("{base}/am/oauth2/device/code"))
        .form(&[
            ("client_id", CLIENT),
            ("scope", ALL_SCOPES),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn poll(base: &str, c: &reqwest::Client, device_code: &str, verifier: &str) -> (u16, Value) {
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", CLIENT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn device_cfg() -> SimConfig {
    SimConfig {
        tls: false,
        device_interval_secs: 1,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn device_flow_pending_slow_down_approve() {
    let sim = start(device_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();
    let d = device_start(&base, &c, &challenge).await;
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(d["interval"], 1);
    assert_eq!(d["expires_in"], 300);
    assert_eq!(
        d["verification_uri"],
        format!("{base}/am/oauth2/device/user")
    );
    assert_eq!(
        d["verification_uri_complete"],
        format!("{base}/am/oauth2/device/user?user_code={user_code}")
    );
    let dc = d["device_code"].as_str().unwrap();

    let (status, body) = poll(&base, &c, dc, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = poll(&base, &c, dc, &verifier).await;
    assert_eq!(body["error"], "slow_down");

    assert!(sim.approve_device(user_code));
    assert!(!sim.approve_device(user_code), "already decided");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = poll(&base, &c, dc, &"x".repeat(43)).await;
    assert_eq!(status, 400, "PKCE is checked");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = poll(&base, &c, dc, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], ALL_SCOPES);
    assert_eq!(sim.live_primary_tokens().len(), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = poll(&base, &c, dc, &verifier).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "device codes are single use"
    );
}

#[tokio::test]
async fn device_flow_denied_and_expired() {
    let sim = start(SimConfig {
        device_expires_secs: 1,
        device_interval_secs: 0,
        ..device_cfg()
    })
    .await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();

    let d = device_start(&base, &c, &challenge).await;
    assert!(sim.deny_device(d["user_code"].as_str().unwrap()));
    let (_, body) = poll(&base, &c, d["device_code"].as_str().unwrap(), &verifier).await;
    assert_eq!(body["error"], "access_denied");

    let d = device_start(&base, &c, &challenge).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = poll(&base, &c, d["device_code"].as_str().unwrap(), &verifier).await;
    assert_eq!(body["error"], "expired_token");
    assert!(!sim.approve_device(d["user_code"].as_str().unwrap()));
}

#[tokio::test]
async fn device_flow_through_the_user_page() {
    let sim = start(SimConfig {
        device_interval_secs: 0,
        ..device_cfg()
    })
    .await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();
    let d = device_start(&base, &c, &challenge).await;
    let user_code = d["user_code"].as_str().unwrap();

    let page = c
        .get(d["verification_uri_complete"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "id=\"username\"",
        "id=\"password\"",
        "id=\"allow\"",
        "id=\"deny\"",
        user_code,
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    let submit = |password: &'static str| {
        c.post(format!("{base}/am/oauth2/device/user"))
            .form(&[
                ("user_code", user_code),
                ("username", "admin"),
                ("password", password),
                ("decision", "allow"),
            ])
            .send()
    };
    let text = submit("wrong").await.unwrap().text().await.unwrap();
    assert!(text.contains("Invalid username or password"));
    let resp = submit("Passw0rd!").await.unwrap();
    assert_eq!(resp.status(), 200);
    let (status, _) = poll(&base, &c, d["device_code"].as_str().unwrap(), &verifier).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn device_flow_auto_approves_after_first_poll() {
    let sim = start(SimConfig {
        auto_approve: true,
        device_interval_secs: 0,
        ..device_cfg()
    })
    .await;
    let base = sim.base_url();
    let c = client();
    let (verifier, challenge) = pkce();
    let d = device_start(&base, &c, &challenge).await;
    let dc = d["device_code"].as_str().unwrap();
    let (_, body) = poll(&base, &c, dc, &verifier).await;
    assert_eq!(body["error"], "authorization_pending");
    let (status, _) = poll(&base, &c, dc, &verifier).await;
    assert_eq!(status, 200);
}
