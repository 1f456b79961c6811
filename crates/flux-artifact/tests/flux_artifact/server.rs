//! The artifact file server (feature `server`): GET of stored files, 404 otherwise, no
//! listings, no traversal.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use flux_artifact::storage::artifact_path;
use flux_artifact::{Storage, StorageOptions};

use crate::fixtures::write;

struct Response {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

/// A minimal HTTP/1.1 client that sends the request target verbatim (no normalisation).
fn request(addr: SocketAddr, method: &str, target: &str) -> Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no header terminator")?;
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .context("no status")?
        .parse()?;
    Ok(Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

#[test]
fn serves_files_and_refuses_the_rest() -> Result<()> {
    let root = tempfile::tempdir()?;
    let outside = tempfile::tempdir()?;
    std::fs::write(outside.path().join("secret"), b"secret")?;
    let src = tempfile::tempdir()?;
    write(src.path(), "app.yaml", "kind: ConfigMap\n")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;

    let storage = Storage::new(&StorageOptions {
        storage_path: root.path().to_path_buf(),
        storage_adv_addr: Some(addr.to_string()),
        ..StorageOptions::default()
    })?;
    let p = artifact_path("Bucket", "default", "podinfo", "abc.tar.gz");
    storage.mkdir_all(&p)?;
    let stored = storage.archive(&p, src.path(), None)?;
    let latest_url = storage.symlink(&p, "latest.tar.gz")?;
    let on_disk = std::fs::read(storage.local_path(&p)?)?;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve_root = root.path().to_path_buf();
    let server = runtime.spawn(async move {
        flux_artifact::server::serve(listener, &serve_root, async {
            let _ = stopped.await;
        })
        .await
    });

    // The artifact URL works and the body has the recorded digest.
    let path = stored.url.trim_start_matches(&format!("http://{addr}"));
    assert_eq!(path, "/bucket/default/podinfo/abc.tar.gz");
    let r = request(addr, "GET", path)?;
    assert_eq!(r.status, 200, "{}", r.headers);
    assert_eq!(r.body, on_disk);
    stored.digest.verify_bytes(&r.body)?;
    let r = request(addr, "HEAD", path)?;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());

    // The stable symlink is served.
    let latest = latest_url.trim_start_matches(&format!("http://{addr}"));
    let r = request(addr, "GET", latest)?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, on_disk);

    // Readiness probe on the root.
    assert_eq!(request(addr, "GET", "/")?.status, 200);
    // Only GET and HEAD.
    assert_eq!(request(addr, "POST", path)?.status, 405);
    assert_eq!(request(addr, "DELETE", path)?.status, 405);
    assert!(storage.artifact_exists(&p));

    // Missing files and directories are 404; no listing.
    for target in [
        "/bucket/default/podinfo/missing.tar.gz",
        "/bucket/default/podinfo/",
        "/bucket/default/podinfo",
        "/bucket",
    ] {
        let r = request(addr, "GET", target)?;
        assert_eq!(r.status, 404, "{target}: {}", r.headers);
        assert!(
            !String::from_utf8_lossy(&r.body).contains("abc.tar.gz"),
            "{target} listed the directory"
        );
    }

    // Traversal never reaches files outside the root.
    let name = outside
        .path()
        .file_name()
        .context("name")?
        .to_string_lossy()
        .into_owned();
    for target in [
        format!("/../{name}/secret"),
        format!("/bucket/../../{name}/secret"),
        format!("/%2e%2e/{name}/secret"),
        format!("/bucket/%2e%2e/%2e%2e/{name}/secret"),
        "/..%2f..%2fetc/passwd".to_string(),
        "/../../../../etc/passwd".to_string(),
    ] {
        let r = request(addr, "GET", &target)?;
        assert!(
            (400..500).contains(&r.status),
            "{target}: status {}",
            r.status
        );
        assert_ne!(r.body, b"secret");
        assert!(!String::from_utf8_lossy(&r.body).contains("root:"));
    }

    let _ = stop.send(());
    runtime.block_on(server)??;
    Ok(())
}
