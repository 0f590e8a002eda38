//! TLS, faults, latency, request recording and transaction ids.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use aic_tenant_sim::{Fault, FaultKind, SimConfig};
use common::*;
use serde_json::Value;

#[tokio::test]
async fn tls_with_the_written_ca() {
    let dir = std::env::temp_dir().join(format!("aic-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let sim = start(SimConfig {
        ca_file: Some(ca_file.clone()),
        auto_approve: true,
        ..SimConfig::default()
    })
    .await;
    let base = sim.base_url();
    assert!(base.starts_with("https://127.0.0.1:"));
    assert!(!base.ends_with('/'));
    assert_eq!(sim.ca_pem_path(), Some(ca_file.clone()));
    let pem = std::fs::read(&ca_file).unwrap();
    let ca = reqwest::Certificate::from_pem(&pem).unwrap();
    let c = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let token = resource_token(&base, &c, "fr:idm:*").await;
    let resp = c
        .get(format!("{base}/openidm/config/managed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // localhost is in the certificate too.
    let port = base.rsplit(':').next().unwrap();
    let resp = c
        .get(format!("https://localhost:{port}/monitoring/logs/sources"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.version(),
        reqwest::Version::HTTP_2,
        "h2 is negotiated over TLS"
    );

    // A dropped request fails on HTTP/2 as well, and the connection stays usable.
    sim.push_fault(Fault::new("/openidm", FaultKind::Drop));
    assert!(c
        .get(format!("{base}/openidm/config/managed"))
        .send()
        .await
        .is_err());
    let resp = c
        .get(format!("{base}/openidm/config/managed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Without the CA the handshake fails.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()
        .unwrap();
    assert!(untrusting
        .get(format!("{base}/openidm/config/managed"))
        .send()
        .await
        .is_err());
    sim.shutdown().await;
    assert!(ca_file.exists(), "a caller-chosen CA file is kept");
    std::fs::remove_dir_all(&dir).unwrap();

    let sim = start(SimConfig::default()).await;
    let temp_ca = sim.ca_pem_path().unwrap();
    assert!(temp_ca.starts_with(std::env::temp_dir()));
    assert!(temp_ca.exists());
    sim.shutdown().await;
    assert!(
        !temp_ca.exists(),
        "the default CA file is removed on shutdown"
    );
}

#[tokio::test]
async fn faults_apply_in_order_and_count_down() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();
    let url = format!("{base}/monitoring/logs/sources");

    sim.push_fault(Fault {
        method: Some("get".into()),
        path_prefix: "/monitoring".into(),
        kind: FaultKind::Status {
            status: 503,
            body: r#"{"code":503,"reason":"Service Unavailable","message":"down"}"#.into(),
        },
        times: 2,
    });
    sim.push_fault(Fault::new(
        "/monitoring",
        FaultKind::TooManyRequests {
            retry_after_secs: 7,
        },
    ));
    // Method-filtered faults do not match other methods.
    sim.push_fault(Fault::new("/", FaultKind::Drop).with_method("DELETE"));

    for _ in 0..2 {
        let resp = c.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().contains_key("x-forgerock-transactionid"));
        assert_eq!(resp.json::<Value>().await.unwrap()["message"], "down");
    }
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401, "faults used up");

    let err = c.delete(&url).send().await.unwrap_err();
    assert!(!err.is_status(), "{err}");
    let last = sim.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("DELETE", 0));
    assert_eq!(last.transaction_id, None);

    sim.push_fault(Fault::new("/openidm", FaultKind::Drop).with_times(5));
    sim.clear_faults();
    let resp = c
        .get(format!("{base}/openidm/config/managed"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Faults pre-empt OAuth too.
    sim.push_fault(Fault::new(
        "/am/oauth2/access_token",
        FaultKind::Status {
            status: 500,
            body: "boom".into(),
        },
    ));
    let resp = c
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(resp.text().await.unwrap(), "boom");
}

#[tokio::test]
async fn latency_is_added() {
    let sim = start(http_cfg()).await;
    let c = client();
    sim.set_latency(Duration::from_millis(300));
    let t = Instant::now();
    c.get(format!("{}/nowhere", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    sim.set_latency(Duration::ZERO);
}

#[tokio::test]
async fn requests_are_recorded_with_transaction_ids() {
    let sim = start(http_cfg()).await;
    let base = sim.base_url();
    let c = client();

    let resp = c
        .get(format!(
            "{base}/openidm/managed/alpha_user?_queryFilter=userName+eq+%22x%22&_fields=a%2Cb"
        ))
        .header("X-ForgeRock-TransactionId", "tx-1")
        .header("User-Agent", "aic-mcp-server/0.3.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-forgerock-transactionid"], "tx-1");

    let resp = c.get(format!("{base}/unknown/thing")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let generated = resp.headers()["x-forgerock-transactionid"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        serde_json::json!({"code": 404, "reason": "Not Found", "message": "Resource 'unknown/thing' not found"})
    );

    c.post(format!("{base}/am/oauth2/access_token"))
        .form(&[("grant_type", "authorization_code"), ("code", "a b")])
        .send()
        .await
        .unwrap();

    let reqs = sim.requests();
    assert_eq!(reqs.len(), 3);
    let r = &reqs[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/openidm/managed/alpha_user");
    assert_eq!(
        r.query.as_deref(),
        Some("_queryFilter=userName+eq+%22x%22&_fields=a%2Cb")
    );
    assert_eq!(
        r.query_pairs(),
        vec![
            ("_queryFilter".to_string(), "userName eq \"x\"".to_string()),
            ("_fields".to_string(), "a,b".to_string())
        ]
    );
    assert_eq!(r.header("User-Agent"), Some("aic-mcp-server/0.3.0"));
    assert!(r.headers.iter().all(|(k, _)| *k == k.to_lowercase()));
    assert_eq!((r.status, r.transaction_id.as_deref()), (401, Some("tx-1")));
    assert_eq!(reqs[1].transaction_id.as_deref(), Some(generated.as_str()));
    assert_eq!(reqs[2].body, "grant_type=authorization_code&code=a+b");
    assert_eq!(
        reqs[2].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(reqs[2].status, 400);

    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn a_stalled_request_hangs_until_the_client_gives_up_and_is_recorded_unanswered() {
    let sim = start(http_cfg()).await;
    let c = client();
    sim.push_fault(Fault::new("/monitoring", FaultKind::Stall));
    let stalled = c
        .get(format!("{}/monitoring/logs/sources", sim.base_url()))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(stalled.is_err_and(|e| e.is_timeout()));
    let reqs = sim.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 0, "no answer was sent");
    // The fault is used up: the next request is answered.
    let resp = c
        .get(format!("{}/monitoring/logs/sources", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_delayed_request_is_answered_normally_afterwards() {
    let sim = start(http_cfg()).await;
    let c = client();
    sim.push_fault(Fault::new("/nowhere", FaultKind::Delay { ms: 300 }));
    let t = Instant::now();
    let resp = c
        .get(format!("{}/nowhere", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(resp.status(), 404);
    assert_eq!(sim.requests()[0].status, 404);
}

#[tokio::test]
async fn with_recording_off_nothing_is_kept() {
    let sim = start(SimConfig {
        record_requests: false,
        ..http_cfg()
    })
    .await;
    let c = client();
    let resp = c
        .get(format!("{}/openidm/config/managed", sim.base_url()))
        .bearer_auth("a-secret-token")
        .header("X-ForgeRock-TransactionId", "tx-9")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-forgerock-transactionid"], "tx-9");
    assert!(sim.requests().is_empty());
}
