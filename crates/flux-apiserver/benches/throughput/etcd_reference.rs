//! The same-run reference: etcd, the store every write of a real kube-apiserver goes
//! through. No kube-apiserver can be installed here (none in Debian, PyPI or npm), but
//! Debian's `etcd-server` can: a real apiserver's create is at least one etcd transaction
//! and its watch fan-out starts from an etcd watch, so etcd's own puts/s, range time and
//! watch latency on this machine are the ceiling the upstream stack could reach.
//!
//! Talks to etcd's HTTP/JSON gateway (`/v3/kv/put`, `/v3/kv/range`, `/v3/watch`) over
//! loopback, with the same number of clients as the API server figures.

use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::body::Body;
use base64::Engine;
use futures::StreamExt;
use http::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::{Error, percentile};

type HttpClient = Client<HttpConnector, Body>;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A running etcd on loopback, stopped on drop.
pub struct Etcd {
    child: tokio::process::Child,
    dir: std::path::PathBuf,
    pub url: String,
    client: HttpClient,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Etcd {
    /// Start `etcd` from PATH; `Ok(None)` when it is not installed.
    pub async fn start() -> Result<Option<Self>, Error> {
        let Some(binary) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("etcd"))
                .find(|p| p.is_file())
        }) else {
            return Ok(None);
        };
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let dir =
            std::env::temp_dir().join(format!("flux-apiserver-bench-etcd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("http://127.0.0.1:{client_port}");
        let child = tokio::process::Command::new(binary)
            .arg("--data-dir")
            .arg(&dir)
            .arg(format!("--listen-client-urls={url}"))
            .arg(format!("--advertise-client-urls={url}"))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"
            ))
            .arg(format!(
                "--initial-cluster=default=http://127.0.0.1:{peer_port}"
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
        let etcd = Etcd {
            child,
            dir,
            url,
            client,
        };
        for _ in 0..100 {
            if etcd
                .post("/v3/kv/range", &json!({"key": b64("x")}))
                .await
                .is_ok()
            {
                return Ok(Some(etcd));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("etcd did not come up within 10 s".into())
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, Error> {
        let req = Request::builder()
            .method("POST")
            .uri(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        let resp = self.client.request(req).await?;
        let code = resp.status().as_u16();
        let bytes = axum::body::to_bytes(Body::new(resp.into_body()), usize::MAX).await?;
        if code != 200 {
            return Err(format!("etcd {path}: {code} {}", String::from_utf8_lossy(&bytes)).into());
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Puts of ConfigMap-sized values, `concurrency` clients: puts/s.
    pub async fn puts(&self, n: usize, concurrency: usize, prefix: &str) -> Result<f64, Error> {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let (client, url, prefix) = (self.client.clone(), self.url.clone(), prefix.to_string());
            tasks.push(tokio::spawn(async move {
                for i in (w..n).step_by(concurrency) {
                    let value = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("{prefix}-{i}"), "namespace": "default",
                                     "labels": {"bench": "yes", "n": (i % 10).to_string()}},
                        "data": {"key": format!("value-{i}")}});
                    let body = json!({"key": b64(&format!("/registry/configmaps/default/{prefix}-{i}")),
                                      "value": b64(&value.to_string())});
                    let req = Request::builder()
                        .method("POST")
                        .uri(format!("{url}/v3/kv/put"))
                        .header("content-type", "application/json")
                        .body(Body::from(body.to_string()))?;
                    let resp = client.request(req).await?;
                    let code = resp.status().as_u16();
                    let _ = axum::body::to_bytes(Body::new(resp.into_body()), usize::MAX).await?;
                    if code != 200 {
                        return Err::<(), Error>(format!("etcd put {i}: {code}").into());
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

    /// Range over a prefix (the storage half of a list): time and count.
    pub async fn range(&self, prefix: &str) -> Result<(Duration, usize), Error> {
        let key = format!("/registry/configmaps/default/{prefix}-");
        let mut end = key.clone().into_bytes();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let end = String::from_utf8(end)?;
        let start = Instant::now();
        let v = self
            .post(
                "/v3/kv/range",
                &json!({"key": b64(&key), "range_end": b64(&end)}),
            )
            .await?;
        let elapsed = start.elapsed();
        let count = v["kvs"].as_array().map_or(0, Vec::len);
        Ok((elapsed, count))
    }

    /// `watchers` watches on one key, `events` puts to it: delivery latency p50/p99/max.
    pub async fn watch_fanout(
        &self,
        watchers: usize,
        events: usize,
    ) -> Result<(Duration, Duration, Duration), Error> {
        let key = "/registry/configmaps/default/watched";
        let epoch = Instant::now();
        let mut readers = Vec::new();
        for _ in 0..watchers {
            let req = Request::builder()
                .method("POST")
                .uri(format!("{}/v3/watch", self.url))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"create_request": {"key": b64(key)}}).to_string(),
                ))?;
            let resp = self.client.request(req).await?;
            let mut stream = Body::new(resp.into_body()).into_data_stream();
            readers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut buf = Vec::new();
                let mut depth = 0i32;
                let mut start = 0usize;
                while latencies.len() < events {
                    let Some(Ok(chunk)) = stream.next().await else {
                        break;
                    };
                    // The gateway streams JSON objects back to back: split on balanced braces.
                    for b in chunk.iter() {
                        buf.push(*b);
                        match b {
                            b'{' => {
                                if depth == 0 {
                                    start = buf.len() - 1;
                                }
                                depth += 1;
                            }
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    let doc: Value = serde_json::from_slice(&buf[start..])
                                        .unwrap_or(Value::Null);
                                    buf.clear();
                                    for ev in
                                        doc["result"]["events"].as_array().into_iter().flatten()
                                    {
                                        let sent = ev["kv"]["value"]
                                            .as_str()
                                            .and_then(|v| {
                                                base64::engine::general_purpose::STANDARD
                                                    .decode(v)
                                                    .ok()
                                            })
                                            .and_then(|v| String::from_utf8(v).ok())
                                            .and_then(|v| v.parse::<u64>().ok());
                                        if let Some(sent) = sent {
                                            let now = epoch.elapsed().as_micros() as u64;
                                            latencies.push(Duration::from_micros(
                                                now.saturating_sub(sent),
                                            ));
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                latencies
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..events {
            let sent = epoch.elapsed().as_micros().to_string();
            self.post("/v3/kv/put", &json!({"key": b64(key), "value": b64(&sent)}))
                .await?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut all = Vec::new();
        for r in readers {
            all.extend(tokio::time::timeout(Duration::from_secs(30), r).await??);
        }
        if all.len() != watchers * events {
            return Err(format!(
                "etcd watchers received {} of {} events",
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
}
