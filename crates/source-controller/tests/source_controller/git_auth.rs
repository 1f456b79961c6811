//! Auth modes proven against servers that really check them: a bearer token checked by
//! lighttpd in front of `git http-backend`, a client certificate required by lighttpd's
//! TLS (mTLS), and `proxySecretRef` through an HTTP proxy started here (CONNECT tunnels
//! for https, absolute-form forwarding for http, basic proxy authentication).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flux_api::source::GitRepository;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::fixtures::{
    Env, GitHttp, GitLighttpd, LighttpdChecks, Repo, base64, captured_logs, have_tool, is_ready,
    mk_certs, ready,
};

fn revision(obj: &GitRepository) -> Option<String> {
    obj.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

fn not_ready(o: &GitRepository) -> bool {
    ready(o).is_some_and(|r| r.0 == "False")
}

/// Waits for Ready=False and returns (reason, message).
async fn failure(env: &Env, name: &str) -> anyhow::Result<(String, String)> {
    let obj = env.wait_for(name, "Ready=False", not_ready).await?;
    let (_, reason, message) = ready(&obj).unwrap_or_default();
    Ok((reason, message))
}

/// Every text the controller published about the objects: conditions of all
/// GitRepositories and Events (messages and annotations).
async fn published_texts(env: &Env) -> anyhow::Result<String> {
    let mut out = String::new();
    for repo in env.repos().list(&Default::default()).await?.items {
        out.push_str(&serde_json::to_string(&repo.status)?);
    }
    let events: Api<Event> = Api::namespaced(env.client.clone(), "default");
    for e in events.list(&Default::default()).await?.items {
        out.push_str(&serde_json::to_string(&e)?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bearer_token_checked_by_server() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let logs_before = captured_logs();
    let token = "tok-7f3a9c-very-secret";
    let wrong = "tok-wrong-4d1e8b";
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let server = GitLighttpd::start(
        21431,
        root.path(),
        &LighttpdChecks {
            bearer_token: Some(token.to_string()),
            ..Default::default()
        },
    )?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    env.secret("bearer", &[("bearerToken", token.as_bytes())])
        .await?;
    env.secret("bearer-wrong", &[("bearerToken", wrong.as_bytes())])
        .await?;
    env.secret(
        "bearer-and-basic",
        &[
            ("bearerToken", token.as_bytes()),
            ("username", b"u"),
            ("password", b"p"),
        ],
    )
    .await?;
    let spec = |secret: Option<&str>| {
        let mut s = json!({"url": url, "interval": "10m", "ref": {"branch": "main"}});
        if let Some(name) = secret {
            s["secretRef"] = json!({"name": name});
        }
        s
    };
    env.create("no-token", spec(None)).await?;
    env.create("token", spec(Some("bearer"))).await?;
    env.create("wrong-token", spec(Some("bearer-wrong")))
        .await?;
    env.create("both", spec(Some("bearer-and-basic"))).await?;

    let ok = env.wait_for("token", "Ready", is_ready).await?;
    assert_eq!(revision(&ok), Some(format!("main@sha1:{head}")));
    let artifact = ok.status.as_ref().and_then(|s| s.artifact.clone());

    // The server refuses a request without the token and with the wrong one.
    for name in ["no-token", "wrong-token"] {
        let (reason, message) = failure(&env, name).await?;
        assert_eq!(reason, "GitOperationFailed", "{name}: {message}");
        assert_eq!(
            message,
            format!(
                "failed to checkout and determine revision: unable to list remote for '{url}': authorization failed"
            ),
            "{name}"
        );
    }
    let (reason, message) = failure(&env, "both").await?;
    assert_eq!(reason, "AuthenticationFailed", "{message}");

    // Rotating the secret to a wrong token: Ready=False, the artifact is kept.
    env.secret("bearer", &[("bearerToken", wrong.as_bytes())])
        .await?;
    env.request_reconcile("token", "rotated").await?;
    let rotated = env.wait_for("token", "Ready=False", not_ready).await?;
    assert_eq!(
        rotated.status.as_ref().and_then(|s| s.artifact.clone()),
        artifact
    );

    // Neither token appears in conditions, events or logs.
    let published = published_texts(&env).await?;
    let logs = captured_logs();
    assert!(
        logs.len() > logs_before.len() && logs.contains("reconcile failed"),
        "the controller's logs were captured"
    );
    for secret in [token, wrong] {
        assert!(!published.contains(secret), "{secret} published");
        assert!(!logs.contains(secret), "{secret} logged");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_client_certificate_required() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("openssl") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let certs = tempfile::tempdir()?;
    for dir in ["server", "client", "stranger"] {
        mk_certs(&certs.path().join(dir))?;
    }
    let read = |dir: &str, file: &str| std::fs::read(certs.path().join(dir).join(file));
    let server = GitLighttpd::start(
        21432,
        root.path(),
        &LighttpdChecks {
            tls_dir: Some(certs.path().join("server")),
            client_ca: Some(certs.path().join("client/ca.crt")),
            ..Default::default()
        },
    )?;
    let url = format!("{}app.git", server.url);
    assert!(url.starts_with("https://"), "{url}");
    let env = Env::start().await?;
    let server_ca = read("server", "ca.crt")?;
    env.secret(
        "mtls",
        &[
            ("ca.crt", &server_ca),
            ("tls.crt", &read("client", "tls.crt")?),
            ("tls.key", &read("client", "tls.key")?),
        ],
    )
    .await?;
    env.secret("ca-only", &[("ca.crt", &server_ca)]).await?;
    env.secret(
        "stranger",
        &[
            ("ca.crt", &server_ca),
            ("tls.crt", &read("stranger", "tls.crt")?),
            ("tls.key", &read("stranger", "tls.key")?),
        ],
    )
    .await?;
    env.secret(
        "half",
        &[
            ("ca.crt", &server_ca),
            ("tls.crt", &read("client", "tls.crt")?),
        ],
    )
    .await?;
    env.secret(
        "bad-key",
        &[
            ("ca.crt", &server_ca),
            ("tls.crt", &read("client", "tls.crt")?),
            (
                "tls.key",
                b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
            ),
        ],
    )
    .await?;
    for name in ["mtls", "ca-only", "stranger", "half", "bad-key"] {
        env.create(
            name,
            json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
                "secretRef": {"name": name}}),
        )
        .await?;
    }

    let ok = env.wait_for("mtls", "Ready", is_ready).await?;
    assert_eq!(revision(&ok), Some(format!("main@sha1:{head}")));
    // No client certificate, or one from a CA the server does not trust: the TLS
    // handshake is refused.
    for name in ["ca-only", "stranger"] {
        let (reason, message) = failure(&env, name).await?;
        assert_eq!(reason, "GitOperationFailed", "{name}: {message}");
    }
    let (reason, message) = failure(&env, "half").await?;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(
        message.contains("'tls.crt' and 'tls.key' must be set together"),
        "{message}"
    );
    let (reason, message) = failure(&env, "bad-key").await?;
    assert_eq!(reason, "GitOperationFailed", "{message}");
    assert!(message.contains("invalid client certificate"), "{message}");
    assert!(!message.contains("not a key"), "{message}");
    Ok(())
}

/// A loopback HTTP proxy requiring basic proxy authentication: CONNECT requests are
/// tunnelled, absolute-form requests forwarded as they are (HTTP/1.1 servers accept
/// the absolute form).
struct HttpProxy {
    addr: SocketAddr,
    tunnels: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpProxy {
    async fn start(user: &str, password: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let expected = format!("Basic {}", base64(&format!("{user}:{password}")));
        let (tunnels, forwarded, refused) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let counters = (tunnels.clone(), forwarded.clone(), refused.clone());
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let expected = expected.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    let _ = proxy_connection(conn, &expected, counters).await;
                });
            }
        });
        Ok(Self {
            addr,
            tunnels,
            forwarded,
            refused,
            task,
        })
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ProxyCounters = (Arc<AtomicUsize>, Arc<AtomicUsize>, Arc<AtomicUsize>);

async fn proxy_connection(
    mut conn: TcpStream,
    expected_auth: &str,
    (tunnels, forwarded, refused): ProxyCounters,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "client closed before the request head");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        anyhow::ensure!(buf.len() < 64 * 1024, "request head too large");
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let authorized = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("proxy-authorization") && v.trim() == expected_auth
        })
    });
    if !authorized {
        refused.fetch_add(1, Ordering::SeqCst);
        conn.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await?;
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        upstream.write_all(&buf[head_end..]).await?;
        tunnels.fetch_add(1, Ordering::SeqCst);
        tokio::io::copy_bidirectional(&mut conn, &mut upstream).await?;
    } else {
        let authority = target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| anyhow::anyhow!("not an absolute-form request: {request_line}"))?;
        let mut upstream = TcpStream::connect(authority).await?;
        upstream.write_all(&buf).await?;
        forwarded.fetch_add(1, Ordering::SeqCst);
        tokio::io::copy_bidirectional(&mut conn, &mut upstream).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_secret_ref_through_http_proxy() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("openssl") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let certs = tempfile::tempdir()?;
    mk_certs(certs.path())?;
    let https = GitLighttpd::start(
        21433,
        root.path(),
        &LighttpdChecks {
            tls_dir: Some(certs.path().to_path_buf()),
            ..Default::default()
        },
    )?;
    let http = GitHttp::start(21434, root.path(), None)?;
    let proxy = HttpProxy::start("proxy-user", "proxy-pass-93b1").await?;
    let closed = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let env = Env::start().await?;
    env.secret(
        "tls",
        &[("ca.crt", &std::fs::read(certs.path().join("ca.crt"))?)],
    )
    .await?;
    let proxy_address = format!("http://{}", proxy.addr);
    env.secret(
        "proxy",
        &[
            ("address", proxy_address.as_bytes()),
            ("username", b"proxy-user"),
            ("password", b"proxy-pass-93b1"),
        ],
    )
    .await?;
    env.secret(
        "proxy-wrong",
        &[
            ("address", proxy_address.as_bytes()),
            ("username", b"proxy-user"),
            ("password", b"wrong-proxy-pass-5c2"),
        ],
    )
    .await?;
    env.secret(
        "proxy-down",
        &[("address", format!("http://{closed}").as_bytes())],
    )
    .await?;
    env.secret("proxy-no-address", &[("username", b"proxy-user")])
        .await?;
    env.secret("proxy-socks", &[("address", b"socks5://127.0.0.1:1080")])
        .await?;
    let https_url = format!("{}app.git", https.url);
    let http_url = format!("{}app.git", http.url);
    let create = |name: &'static str, url: &str, proxy: &str| {
        let mut spec = json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
            "proxySecretRef": {"name": proxy}});
        if url.starts_with("https://") {
            spec["secretRef"] = json!({"name": "tls"});
        }
        env.create(name, spec)
    };
    create("https-via-proxy", &https_url, "proxy").await?;
    let ok = env.wait_for("https-via-proxy", "Ready", is_ready).await?;
    assert_eq!(revision(&ok), Some(format!("main@sha1:{head}")));
    assert!(
        proxy.tunnels.load(Ordering::SeqCst) > 0,
        "https went through CONNECT"
    );
    create("http-via-proxy", &http_url, "proxy").await?;
    let ok = env.wait_for("http-via-proxy", "Ready", is_ready).await?;
    assert_eq!(revision(&ok), Some(format!("main@sha1:{head}")));
    assert!(
        proxy.forwarded.load(Ordering::SeqCst) > 0,
        "http was forwarded by the proxy"
    );

    create("wrong-proxy-password", &https_url, "proxy-wrong").await?;
    create("proxy-down", &http_url, "proxy-down").await?;
    create("no-address", &http_url, "proxy-no-address").await?;
    create("missing-proxy-secret", &http_url, "absent").await?;
    create("socks", &http_url, "proxy-socks").await?;

    let (reason, message) = failure(&env, "wrong-proxy-password").await?;
    assert_eq!(reason, "GitOperationFailed", "{message}");
    assert!(proxy.refused.load(Ordering::SeqCst) > 0);
    assert!(!message.contains("wrong-proxy-pass-5c2"), "{message}");
    // The servers are up: only the proxy being down makes this fail.
    let (reason, message) = failure(&env, "proxy-down").await?;
    assert_eq!(reason, "GitOperationFailed", "{message}");
    let (reason, message) = failure(&env, "no-address").await?;
    assert_eq!(
        (reason.as_str(), message.as_str()),
        (
            "AuthenticationFailed",
            "failed to configure proxy options: secret 'default/proxy-no-address': key 'address' not found"
        )
    );
    let (reason, message) = failure(&env, "missing-proxy-secret").await?;
    assert_eq!(
        (reason.as_str(), message.as_str()),
        (
            "AuthenticationFailed",
            "failed to configure proxy options: secret 'default/absent' not found"
        )
    );
    let (reason, message) = failure(&env, "socks").await?;
    assert_eq!(reason, "GitOperationFailed", "{message}");
    assert!(
        message.contains("socks5 proxies are not supported"),
        "{message}"
    );

    let published = published_texts(&env).await?;
    for secret in ["proxy-pass-93b1", "wrong-proxy-pass-5c2"] {
        assert!(!published.contains(secret), "{secret} published");
    }
    Ok(())
}
