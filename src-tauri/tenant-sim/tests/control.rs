//! The simulator binary's control API (`--control`), as out-of-process tests use it:
//! faults pushed with `POST /faults` apply to the tenant's next matching requests, a bad
//! fault is refused with 400 and queues nothing, `DELETE /faults` clears them, and the
//! request log shows a stalled request unanswered (status 0).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The simulator binary, stopped when dropped.
struct SimProcess {
    child: Child,
    base: String,
    control: String,
}

impl SimProcess {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aic-tenant-sim"))
            .args(["--http", "--auto-approve", "--control"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the simulator");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut base, mut control) = (None, None);
        while base.is_none() || control.is_none() {
            let line = lines.next().expect("the simulator exited early").unwrap();
            if let Some(v) = line.strip_prefix("AIC_BASE_URL=") {
                base = Some(v.to_string());
            }
            if let Some(v) = line.strip_prefix("AIC_SIM_CONTROL=") {
                control = Some(v.to_string());
            }
        }
        Self {
            child,
            base: base.unwrap(),
            control: control.unwrap(),
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `POST /faults` with `body`: (status, text).
async fn push(c: &reqwest::Client, sim: &SimProcess, body: &str) -> (u16, String) {
    let r = c
        .post(format!("{}/faults", sim.control))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The status the tenant answers to an unauthenticated log-sources GET (401 unfaulted).
async fn sources(c: &reqwest::Client, sim: &SimProcess) -> u16 {
    c.get(format!("{}/monitoring/logs/sources", sim.base))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn faults_pushed_through_the_control_api_apply_to_the_tenant() {
    let sim = SimProcess::start();
    let c = client();
    assert_eq!(sources(&c, &sim).await, 401, "the unfaulted answer");

    let (status, text) = push(
        &c,
        &sim,
        r#"{"method": "GET", "path_prefix": "/monitoring", "times": 2,
            "kind": {"status": {"status": 503, "body": "{\"code\":503}"}}}"#,
    )
    .await;
    assert_eq!((status, text.as_str()), (204, ""));
    // Another method does not match.
    let post = c
        .post(format!("{}/monitoring/logs/sources", sim.base))
        .send()
        .await
        .unwrap();
    assert_ne!(post.status(), 503);
    assert_eq!(sources(&c, &sim).await, 503);
    assert_eq!(sources(&c, &sim).await, 503);
    assert_eq!(sources(&c, &sim).await, 401, "used up after `times`");

    // A bad fault is refused and queues nothing.
    for bad in [
        r#"{"path_prefix": "/monitoring", "kind": "hang"}"#,
        r#"{"path_prefix": "/monitoring", "kind": "stall", "times": 0}"#,
        "",
    ] {
        let (status, text) = push(&c, &sim, bad).await;
        assert_eq!(status, 400, "{bad}: {text}");
        assert!(text.starts_with("invalid fault: "), "{text}");
    }
    assert_eq!(sources(&c, &sim).await, 401);

    // DELETE clears what is queued.
    let (status, _) = push(
        &c,
        &sim,
        r#"{"path_prefix": "/monitoring", "kind": {"status": {"status": 500}}, "times": 5}"#,
    )
    .await;
    assert_eq!(status, 204);
    let r = c
        .delete(format!("{}/faults", sim.control))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(sources(&c, &sim).await, 401);
}

#[tokio::test]
async fn a_stall_pushed_through_the_control_api_leaves_the_request_unanswered() {
    let sim = SimProcess::start();
    let c = client();
    let r = c
        .post(format!("{}/clear", sim.control))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, text) = push(
        &c,
        &sim,
        r#"{"path_prefix": "/monitoring/logs/sources", "kind": "stall"}"#,
    )
    .await;
    assert_eq!(status, 204, "{text}");
    let stalled = c
        .get(format!("{}/monitoring/logs/sources", sim.base))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(stalled.is_err_and(|e| e.is_timeout()));
    assert_eq!(sources(&c, &sim).await, 401, "the stall applied once");
    let log: Value = c
        .get(format!("{}/requests", sim.control))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<(Value, Value)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("/monitoring/logs/sources"), json!(0)),
            (json!("/monitoring/logs/sources"), json!(401)),
        ]
    );
}
