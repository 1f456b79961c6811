//! Throughput figures of the embedded API server (a program, not a timed test):
//! creates/s (memory and durable SQLite), listing 10k objects, server-side applies/s, and
//! watch fan-out latency with 100 watchers. Requests go through the in-process HTTP
//! router (no TLS), so the figures are the server's own cost.
//!
//! Run: `cargo bench -p flux-apiserver --bench throughput` (add `-- --quick` for a short run).
//!
//! In the same run, when `etcd` is on PATH (Debian: `apt-get install etcd-server`), the
//! same loads go to etcd as the reference (see `etcd_reference.rs`).

mod etcd_reference;

use std::time::{Duration, Instant};

use axum::body::Body;
use flux_apiserver::{ApiServer, Durability};
use futures::StreamExt;
use http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    ct: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), Error> {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", ct)
        .body(Body::from(body))?;
    let resp = router.clone().oneshot(req).await?;
    let code = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    Ok((code, bytes.to_vec()))
}

fn cm(name: &str, i: usize) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "labels": {"bench": "yes", "n": (i % 10).to_string()}},
           "data": {"key": format!("value-{i}")}})
    .to_string()
    .into_bytes()
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn creates(
    router: &axum::Router,
    n: usize,
    concurrency: usize,
    prefix: &str,
) -> Result<f64, Error> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let router = router.clone();
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(concurrency) {
                let (code, body) = send(
                    &router,
                    "POST",
                    CMS,
                    "application/json",
                    cm(&format!("{prefix}-{i}"), i),
                )
                .await?;
                if code != 201 {
                    return Err::<(), Error>(
                        format!("create {i}: {code} {}", String::from_utf8_lossy(&body)).into(),
                    );
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn applies(router: &axum::Router, n: usize, concurrency: usize) -> Result<f64, Error> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let router = router.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(concurrency) {
                // Half the applies create, half update an existing object.
                let name = format!("ssa-{}", i / 2);
                let uri = format!("{CMS}/{name}?fieldManager=bench&force=true");
                let (code, body) = send(
                    &router,
                    "PATCH",
                    &uri,
                    "application/apply-patch+yaml",
                    cm(&name, i),
                )
                .await?;
                if code != 200 && code != 201 {
                    return Err::<(), Error>(
                        format!("apply {i}: {code} {}", String::from_utf8_lossy(&body)).into(),
                    );
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn list_time(router: &axum::Router, uri: &str) -> Result<(Duration, usize), Error> {
    let start = Instant::now();
    let (code, body) = send(router, "GET", uri, "application/json", vec![]).await?;
    let elapsed = start.elapsed();
    if code != 200 {
        return Err(format!("list {uri}: {code}").into());
    }
    let v: Value = serde_json::from_slice(&body)?;
    Ok((elapsed, v["items"].as_array().map_or(0, Vec::len)))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn watch_fanout(
    router: &axum::Router,
    watchers: usize,
    events: usize,
) -> Result<(Duration, Duration, Duration), Error> {
    let (code, _) = send(router, "POST", CMS, "application/json", cm("watched", 0)).await?;
    if code != 201 {
        return Err("create watched".into());
    }
    let epoch = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..watchers {
        // Start from "now": list to get the RV, then watch from it.
        let (_, list) = send(
            router,
            "GET",
            &format!("{CMS}?limit=1"),
            "application/json",
            vec![],
        )
        .await?;
        let rv: Value = serde_json::from_slice(&list)?;
        let rv = rv["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_string();
        let req = Request::builder()
            .uri(format!(
                "{CMS}?watch=1&fieldSelector=metadata.name%3Dwatched&resourceVersion={rv}"
            ))
            .body(Body::empty())?;
        let resp = router.clone().oneshot(req).await?;
        streams.push(resp.into_body().into_data_stream());
    }
    let mut readers = Vec::new();
    for mut stream in streams {
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut buf = Vec::new();
            while latencies.len() < events {
                let Some(chunk) = stream.next().await else {
                    break;
                };
                let Ok(chunk) = chunk else { break };
                buf.extend_from_slice(&chunk);
                while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    if let Ok(ev) = serde_json::from_slice::<Value>(&line)
                        && let Some(sent) = ev["object"]["data"]["sent"]
                            .as_str()
                            .and_then(|s| s.parse::<u64>().ok())
                    {
                        let now = epoch.elapsed().as_micros() as u64;
                        latencies.push(Duration::from_micros(now.saturating_sub(sent)));
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..events {
        let sent = epoch.elapsed().as_micros().to_string();
        let patch = json!({"data": {"sent": sent, "i": i.to_string()}})
            .to_string()
            .into_bytes();
        send(
            router,
            "PATCH",
            &format!("{CMS}/watched"),
            "application/merge-patch+json",
            patch,
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut all = Vec::new();
    for r in readers {
        all.extend(tokio::time::timeout(Duration::from_secs(30), r).await??);
    }
    if all.len() != watchers * events {
        return Err(format!(
            "watchers received {} of {} events",
            all.len(),
            watchers * events
        )
        .into());
    }
    all.sort();
    Ok((
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
    ))
}

async fn run(quick: bool) -> Result<(), Error> {
    let scale = if quick { 10 } else { 1 };
    let n_create = 10_000 / scale;
    let n_apply = 5_000 / scale;

    let mem = ApiServer::in_memory()?;
    let r = mem.router();
    let rate = creates(&r, n_create, 8, "mem").await?;
    println!("creates/s (memory, 8 clients):        {rate:>10.0}   ({n_create} ConfigMaps)");

    let dir = std::env::temp_dir().join(format!("flux-apiserver-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let durable = ApiServer::open(&dir, Durability::ProcessCrash)?;
    let rd = durable.router();
    let rate = creates(&rd, n_create, 8, "disk").await?;
    println!("creates/s (SQLite WAL, 8 clients):    {rate:>10.0}   ({n_create} ConfigMaps)");

    let (t, items) = list_time(&rd, CMS).await?;
    println!(
        "list all ({items} objects, one page):  {:>10.1} ms",
        t.as_secs_f64() * 1e3
    );
    let (t, items) = list_time(&rd, &format!("{CMS}?labelSelector=n%3D3")).await?;
    println!(
        "list with label selector ({items} hits):{:>10.1} ms",
        t.as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = if token.is_empty() {
            format!("{CMS}?limit=500")
        } else {
            format!("{CMS}?limit=500&continue={token}")
        };
        let (_, body) = send(&rd, "GET", &uri, "application/json", vec![]).await?;
        let v: Value = serde_json::from_slice(&body)?;
        pages += 1;
        match v["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }
    println!(
        "list all in pages of 500 ({pages} pages):  {:>10.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let rate = applies(&rd, n_apply, 8).await?;
    println!(
        "SSA applies/s (SQLite WAL, 8 clients): {rate:>10.0}   ({n_apply} applies, half creates)"
    );

    let (p50, p99, max) = watch_fanout(&rd, 100, if quick { 20 } else { 200 }).await?;
    println!(
        "watch fan-out, 100 watchers:           p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    drop(durable);
    let _ = std::fs::remove_dir_all(&dir);

    println!();
    match etcd_reference::Etcd::start().await? {
        None => println!(
            "reference: etcd is not on PATH (apt-get install etcd-server), no same-run reference"
        ),
        Some(etcd) => {
            println!(
                "reference: etcd 3.4 (the store of a real kube-apiserver), HTTP gateway on loopback"
            );
            let rate = etcd.puts(n_create, 8, "etcd").await?;
            println!(
                "etcd puts/s (8 clients):              {rate:>10.0}   ({n_create} ConfigMap-sized values)"
            );
            let (t, items) = etcd.range("etcd").await?;
            println!(
                "etcd range ({items} keys, one request): {:>10.1} ms",
                t.as_secs_f64() * 1e3
            );
            let rate = etcd.puts(n_apply, 8, "etcd-apply").await?;
            println!("etcd puts/s, second batch (8 clients): {rate:>10.0}   ({n_apply} values)");
            let (p50, p99, max) = etcd.watch_fanout(100, if quick { 20 } else { 200 }).await?;
            println!(
                "etcd watch fan-out, 100 watchers:      p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(quick))
}
