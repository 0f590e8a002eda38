//! Benchmark: `getJourney` on a 20-node journey with 20 ms of simulated latency per
//! request, with the bounded concurrent fan-out (default, 8 requests at a time) against a
//! sequential baseline (`AIC_FANOUT_LIMIT=1`: the same requests one after the other). Both
//! make the same requests under one token exchange. Prints p50 and p99 of both and the
//! speedup.
//!
//! `cargo bench -p aic-mcp-tests --bench get_journey` (add `-- --iterations N`, and
//! `--limit N` to try another concurrency limit on the concurrent side); under
//! `cargo test` it runs one iteration of each as a smoke test.

use std::time::{Duration, Instant};

use aic_mcp_tests::{Env, EnvOptions};
use serde_json::{json, Map, Value};

const LATENCY: Duration = Duration::from_millis(20);
const NODES: usize = 20;
/// Node types of the journey, used in turn (10 distinct types: 10 schema requests).
const TYPES: [&str; 10] = [
    "MessageNode",
    "DataStoreDecisionNode",
    "IncrementLoginCountNode",
    "ScriptedDecisionNode",
    "InnerTreeEvaluatorNode",
    "IdentifyExistingUserNode",
    "EmailSuspendNode",
    "CreateObjectNode",
    "AttributeCollectorNode",
    "SetSuccessUrlNode",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench");
    let iterations: usize = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if bench_mode { 20 } else { 1 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let limit: Option<usize> = args
        .iter()
        .position(|a| a == "--limit")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    rt.block_on(run(iterations.max(1), limit))
}

/// A chain of `NODES` nodes ending in success.
fn journey() -> Value {
    let mut nodes = Map::new();
    for i in 0..NODES {
        let next = if i + 1 == NODES {
            "success".to_string()
        } else {
            format!("n{}", i + 1)
        };
        let ty = TYPES[i % TYPES.len()];
        let config = if ty == "ScriptedDecisionNode" {
            json!({"outcomes": ["outcome"], "script": "a0000000-0000-4000-8000-000000000001"})
        } else {
            json!({})
        };
        nodes.insert(
            format!("n{i}"),
            json!({"nodeType": ty, "displayName": format!("Step {i}"), "connections": {"outcome": next}, "config": config}),
        );
    }
    json!({"entryNodeId": "n0", "nodes": nodes})
}

async fn time_calls(env: &Env, iterations: usize) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        env.sim.clear_requests();
        let t = Instant::now();
        let (err, text) = env
            .call(
                "getJourney",
                json!({"realm": "alpha", "journeyName": "Bench20"}),
            )
            .await;
        samples.push(t.elapsed());
        anyhow::ensure!(!err, "getJourney failed: {text}");
        let body: Value = serde_json::from_str(
            text.split("\n\nTransaction ID: ")
                .next()
                .unwrap_or_default(),
        )?;
        let configs = body["nodeData"]["configs"]
            .as_object()
            .map(Map::len)
            .unwrap_or(0);
        anyhow::ensure!(configs == NODES, "{configs} configs");
        let requests = env.resource_requests().len();
        anyhow::ensure!(requests == 1 + NODES + TYPES.len(), "{requests} requests");
        anyhow::ensure!(env.exchanges().len() == 1, "one exchange per call");
    }
    samples.sort();
    Ok(samples)
}

async fn run(iterations: usize, limit: Option<usize>) -> anyhow::Result<()> {
    let env = Env::start(EnvOptions::default()).await?.logged_in().await?;
    let (err, text) = env
        .call(
            "createJourney",
            json!({"realm": "alpha", "journeyName": "Bench20", "journeyData": journey()}),
        )
        .await;
    anyhow::ensure!(!err, "createJourney failed: {text}");
    env.sim.set_latency(LATENCY);

    // Single-threaded configuration change before any concurrent call reads it.
    // `-- --limit N` runs the concurrent side with another limit (default: the module's 8).
    match limit {
        Some(n) => std::env::set_var("AIC_FANOUT_LIMIT", n.to_string()),
        None => std::env::remove_var("AIC_FANOUT_LIMIT"),
    }
    let concurrent = time_calls(&env, iterations).await?;
    std::env::set_var("AIC_FANOUT_LIMIT", "1");
    let sequential = time_calls(&env, iterations).await?;
    std::env::remove_var("AIC_FANOUT_LIMIT");

    let direct = direct_baseline(&env, limit.unwrap_or(8), iterations).await?;

    println!(
        "\ngetJourney benchmark: {NODES}-node journey ({} distinct types), {} ms simulated latency per request, {iterations} iterations each",
        TYPES.len(),
        LATENCY.as_millis()
    );
    let concurrent_name = format!("concurrent fan-out (limit {})", limit.unwrap_or(8));
    for (name, s) in [
        (concurrent_name.as_str(), &concurrent),
        ("sequential (AIC_FANOUT_LIMIT=1)", &sequential),
    ] {
        println!(
            "  {name:<38} p50 {:>10}  p99 {:>10}",
            ms(percentile(s, 0.50)),
            ms(percentile(s, 0.99))
        );
    }
    println!(
        "  {:<38} p50 {:>10}  p99 {:>10}",
        format!("transport only: 30 GETs, {} at a time", limit.unwrap_or(8)),
        ms(percentile(&direct, 0.50)),
        ms(percentile(&direct, 0.99))
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "  speedup: p50 {:.2}x  p99 {:.2}x",
        ratio(percentile(&sequential, 0.50), percentile(&concurrent, 0.50)),
        ratio(percentile(&sequential, 0.99), percentile(&concurrent, 0.99))
    );
    Ok(())
}

/// The transport's own share: 30 GETs of node configs sent straight to the simulator with a
/// plain reqwest client, `limit` at a time, with an already exchanged token.
async fn direct_baseline(
    env: &Env,
    limit: usize,
    iterations: usize,
) -> anyhow::Result<Vec<Duration>> {
    use futures::stream::{self, StreamExt};
    let http = aic_mcp_tests::sim_http_client(env.ca().as_deref());
    let base = env.sim.base_url();
    let primary = env
        .sim
        .live_primary_tokens()
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no primary token"))?;
    let r = http
        .post(format!("{base}/am/oauth2/access_token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", primary.as_str()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("scope", "fr:am:*"),
            ("client_id", "AICMCPExchangeClient"),
        ])
        .send()
        .await?;
    let v: Value = r.json().await?;
    let token = v["access_token"].as_str().unwrap_or_default().to_string();
    let url = format!(
        "{base}/am/json/alpha/realm-config/authentication/authenticationtrees/trees/Bench20"
    );
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let results: Vec<anyhow::Result<()>> = stream::iter((0..30).map(|_| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let r = http
                    .get(url)
                    .bearer_auth(token)
                    .header("Accept-API-Version", "protocol=2.1,resource=1.0")
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "status {}", r.status());
                r.bytes().await?;
                Ok(())
            }
        }))
        .buffered(limit)
        .collect()
        .await;
        samples.push(t.elapsed());
        for r in results {
            r?;
        }
    }
    samples.sort();
    Ok(samples)
}
