//! Benchmark: a cheap tool call (`getLogSources`) through the MCP server (JSON-RPC over an
//! in-process pipe → rmcp → validation → one token exchange → GET) against the same GET
//! sent directly to the simulator with an already exchanged token, and against the
//! direct exchange + GET pair. Prints p50 and p99 per path, the ratios, and the process CPU
//! time per call of the MCP path and of the direct pair: the simulator runs in this process
//! too, so their difference is what the server itself costs per call.
//!
//! `cargo bench -p aic-mcp-tests --bench tool_call` (add `-- --iterations N`); under
//! `cargo test` it runs a few iterations as a smoke test.

use std::time::{Duration, Instant};

use aic_mcp_tests::{Env, EnvOptions};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Stats {
    name: &'static str,
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(name: &'static str, mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    Stats {
        name,
        p50: percentile(&samples, 0.50),
        p99: percentile(&samples, 0.99),
        mean,
    }
}

/// CPU time (user + system) of the whole process so far.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench");
    let iterations: usize = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if bench_mode { 1000 } else { 5 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // `--mode ask`: the same read under another mode (a read never waits; this measures
    // what the policy costs it).
    let mode = match args
        .iter()
        .position(|a| a == "--mode")
        .and_then(|i| args.get(i + 1))
    {
        Some(m) => aic_mcp_core::policy::Mode::parse(m).map_err(anyhow::Error::msg)?,
        None => aic_mcp_core::policy::Mode::Full,
    };
    println!("mode: {}", mode.as_str());
    rt.block_on(run(iterations, mode))
}

async fn run(iterations: usize, mode: aic_mcp_core::policy::Mode) -> anyhow::Result<()> {
    let mut opts = EnvOptions::default();
    opts.sim.auto_approve = true;
    opts.policy = Some(aic_mcp_core::policy::Policy::new(
        aic_mcp_core::policy::Rules {
            mode,
            ..Default::default()
        },
    ));
    let env = Env::start(opts).await?.logged_in().await?;

    // The MCP server on one end of a pipe, a raw JSON-RPC client on the other.
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_io);
    let service = env.service.clone();
    let server = tokio::spawn(async move {
        if let Ok(running) = service.serve((server_read, server_write)).await {
            let _ = running.waiting().await;
        }
    });
    let (client_read, mut client_write) = tokio::io::split(client_io);
    let mut lines = BufReader::new(client_read).lines();
    let init = format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    );
    client_write.write_all(init.as_bytes()).await?;
    lines.next_line().await?;
    client_write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await?;

    let warmup = 20.min(iterations);
    let mut mcp = Vec::with_capacity(iterations);
    let mut mcp_cpu = Duration::ZERO;
    for i in 0..(iterations + warmup) {
        let cpu = process_cpu();
        let req = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"tools/call\",\"params\":{{\"name\":\"getLogSources\",\"arguments\":{{}}}}}}\n",
            i + 1
        );
        let t = Instant::now();
        client_write.write_all(req.as_bytes()).await?;
        let line = lines.next_line().await?.unwrap_or_default();
        let elapsed = t.elapsed();
        let v: Value = serde_json::from_str(&line)?;
        anyhow::ensure!(
            v["result"]["isError"] != json!(true) && line.contains("am-authentication"),
            "tool call failed: {line}"
        );
        if i >= warmup {
            mcp.push(elapsed);
            mcp_cpu += process_cpu().saturating_sub(cpu);
        }
    }

    // The same GET sent directly, with a token exchanged once.
    let http = aic_mcp_tests::sim_http_client(env.ca().as_deref());
    let base = env.sim.base_url();
    let primary = env
        .sim
        .live_primary_tokens()
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no primary token"))?;
    let exchange = |http: reqwest::Client| {
        let base = base.clone();
        let primary = primary.clone();
        async move {
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
                    ("scope", "fr:idc:monitoring:*"),
                    ("client_id", "AICMCPExchangeClient"),
                ])
                .send()
                .await?;
            let v: Value = r.json().await?;
            Ok::<_, anyhow::Error>(v["access_token"].as_str().unwrap_or_default().to_string())
        }
    };
    let get = |http: reqwest::Client, token: String| {
        let url = format!("{}/monitoring/logs/sources", env.sim.base_url());
        async move {
            let r = http.get(url).bearer_auth(token).send().await?;
            anyhow::ensure!(r.status().is_success(), "status {}", r.status());
            r.bytes().await?;
            Ok::<_, anyhow::Error>(())
        }
    };
    let token = exchange(http.clone()).await?;
    let mut direct = Vec::with_capacity(iterations);
    let mut direct_pair = Vec::with_capacity(iterations);
    let mut pair_cpu = Duration::ZERO;
    for i in 0..(iterations + warmup) {
        let t = Instant::now();
        get(http.clone(), token.clone()).await?;
        let d1 = t.elapsed();
        let cpu = process_cpu();
        let t = Instant::now();
        let fresh = exchange(http.clone()).await?;
        get(http.clone(), fresh).await?;
        let d2 = t.elapsed();
        if i >= warmup {
            direct.push(d1);
            direct_pair.push(d2);
            pair_cpu += process_cpu().saturating_sub(cpu);
        }
    }
    drop(client_write);
    server.abort();

    let rows = [
        stats("MCP tools/call getLogSources (exchange + GET)", mcp),
        stats("direct GET /monitoring/logs/sources", direct),
        stats("direct exchange + GET", direct_pair),
    ];
    println!(
        "\ntool call benchmark, {iterations} iterations each, simulator over HTTPS on loopback"
    );
    for s in &rows {
        println!(
            "  {:<48} p50 {:>10}  p99 {:>10}  mean {:>10}",
            s.name,
            ms(s.p50),
            ms(s.p99),
            ms(s.mean)
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "  ratio MCP / direct GET:            p50 {:.2}x  p99 {:.2}x",
        ratio(rows[0].p50, rows[1].p50),
        ratio(rows[0].p99, rows[1].p99)
    );
    println!(
        "  ratio MCP / direct exchange + GET: p50 {:.2}x  p99 {:.2}x",
        ratio(rows[0].p50, rows[2].p50),
        ratio(rows[0].p99, rows[2].p99)
    );
    let per_call = |total: Duration| total / u32::try_from(iterations.max(1)).unwrap_or(u32::MAX);
    let (mcp_per, pair_per) = (per_call(mcp_cpu), per_call(pair_cpu));
    println!(
        "  process CPU per call: MCP {}  direct exchange + GET {}  server overhead {}",
        ms(mcp_per),
        ms(pair_per),
        ms(mcp_per.saturating_sub(pair_per))
    );
    Ok(())
}
