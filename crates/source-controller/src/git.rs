//! Git reads with gix: list remote refs (ls-refs), fetch one reference shallowly into a
//! temporary bare repository and write its tree to a directory. Blocking; callers run it
//! on a blocking thread with a timeout that trips the interrupt flag.
//!
//! Transports: `file://`, `http(s)://` (gix over reqwest; basic auth and bearer tokens
//! are sent as an `Authorization` header, the CA from the secret is added to the
//! client's roots) and `ssh://` (the system `ssh` binary with the secret's identity and
//! known_hosts, strict host key checking).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::protocol::handshake::Ref;
use gix::remote::Direction;
use gix::remote::fetch::Shallow;

use crate::auth::{AuthOptions, ProxyOptions, Transport};
use crate::reference::{RefSpec, RemoteRef, Resolved, list_prefixes};

/// Why a Git operation failed. Messages name the URL (never credentials).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Creating the scratch repository failed.
    #[error("creating a scratch repository in '{dir}': {message}")]
    Scratch { dir: PathBuf, message: String },
    /// Writing credentials material for ssh failed.
    #[error("writing ssh credentials: {source}")]
    SshMaterial {
        #[source]
        source: std::io::Error,
    },
    /// The URL cannot be used as a Git remote.
    #[error("invalid remote URL '{url}': {message}")]
    Remote { url: String, message: String },
    /// Connecting or listing refs failed.
    #[error("unable to list remote for '{url}': {message}")]
    ListRefs { url: String, message: String },
    /// Fetching the pack failed.
    #[error("unable to fetch '{reference}' from '{url}': {message}")]
    Fetch {
        url: String,
        reference: String,
        message: String,
    },
    /// The commit was not found after fetching (upstream's text).
    #[error("unable to resolve commit object for '{sha}': object not found")]
    CommitNotFound { url: String, sha: String },
    /// Reading objects or writing the work tree failed.
    #[error("checkout of commit '{commit}' failed: {message}")]
    Checkout { commit: String, message: String },
    /// The CA certificate in the secret is not PEM.
    #[error("invalid CA certificate in secret: {message}")]
    InvalidCa { message: String },
    /// The client certificate or key in the secret is unusable.
    #[error("invalid client certificate in secret: {message}")]
    InvalidClientCert { message: String },
    /// The proxy cannot be used for this remote.
    #[error("unable to use proxy '{proxy}': {message}")]
    Proxy { proxy: String, message: String },
}

/// What was checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// SHA-1 hex.
    pub hash: String,
    /// Full reference it was reached through (`refs/heads/main`), empty for a pin.
    pub reference: String,
    /// First line of the commit message.
    pub subject: String,
    /// The commit's signature (armored) and the signed payload (the commit without its
    /// `gpgsig` header), when signed.
    pub signature: Option<(String, Vec<u8>)>,
    /// The tag the commit was reached through (`ref.tag`, `ref.semver`, a
    /// `refs/tags/…` `ref.name`); `None` for branches and commit pins.
    pub referencing_tag: Option<ReferencingTag>,
}

/// A tag that points at the checked-out commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencingTag {
    /// Short name (`v1.0.0`).
    pub name: String,
    /// The tag object's id (annotated tags only).
    pub object: Option<String>,
    /// The tag's signature and the signed payload (signed annotated tags only).
    pub signature: Option<(String, Vec<u8>)>,
}

impl ReferencingTag {
    /// `<name>@<tag object id>` (just the name for a lightweight tag), as upstream
    /// prints tags in messages.
    pub fn display(&self) -> String {
        match &self.object {
            Some(id) => format!("{}@{id}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A remote and how to reach it.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The URL.
    pub url: String,
    /// Its transport.
    pub transport: Transport,
    /// Credentials.
    pub auth: AuthOptions,
    /// Timeout for the HTTP client (the caller also bounds the whole operation).
    pub timeout: Duration,
    /// HTTP(S) proxy from `proxySecretRef` (http and https remotes only).
    pub proxy: Option<ProxyOptions>,
}

/// A scratch bare repository for one operation, removed on drop.
struct Scratch {
    _dir: tempfile::TempDir,
    repo: gix::Repository,
}

fn scratch(remote: &Remote) -> Result<Scratch, GitError> {
    let dir = tempfile::Builder::new()
        .prefix("flux-git-")
        .tempdir()
        .map_err(|e| GitError::Scratch {
            dir: std::env::temp_dir(),
            message: e.to_string(),
        })?;
    let git_dir = dir.path().join("repo.git");
    let scratch_err = |message: String| GitError::Scratch {
        dir: git_dir.clone(),
        message,
    };
    gix::init_bare(&git_dir).map_err(|e| scratch_err(e.to_string()))?;
    if remote.transport == Transport::Ssh {
        let identity = dir.path().join("identity");
        let known_hosts = dir.path().join("known_hosts");
        write_private(
            &identity,
            remote.auth.identity.as_deref().unwrap_or_default(),
        )?;
        write_private(
            &known_hosts,
            remote.auth.known_hosts.as_deref().unwrap_or_default(),
        )?;
        let command = format!(
            "ssh -F /dev/null -i '{}' -o IdentitiesOnly=yes -o UserKnownHostsFile='{}' -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout={}",
            identity.display(),
            known_hosts.display(),
            remote.timeout.as_secs().max(1)
        );
        let mut config = fs::OpenOptions::new()
            .append(true)
            .open(git_dir.join("config"))
            .map_err(|e| scratch_err(e.to_string()))?;
        writeln!(
            config,
            "[core]\n\tsshCommand = {}\n[ssh]\n\tvariant = ssh",
            command.replace('\\', "\\\\").replace('"', "\\\"")
        )
        .map_err(|e| scratch_err(e.to_string()))?;
    }
    let repo = gix::open(&git_dir).map_err(|e| scratch_err(e.to_string()))?;
    Ok(Scratch { _dir: dir, repo })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), GitError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| GitError::SshMaterial { source })?;
    f.write_all(bytes)
        .map_err(|source| GitError::SshMaterial { source })?;
    // ssh refuses keys without a trailing newline.
    if !bytes.ends_with(b"\n") {
        f.write_all(b"\n")
            .map_err(|source| GitError::SshMaterial { source })?;
    }
    Ok(())
}

/// The HTTP transport options: auth header, CA, timeouts.
fn http_options(
    remote: &Remote,
) -> Result<gix::protocol::transport::client::blocking_io::http::Options, GitError> {
    use gix::protocol::transport::client::blocking_io::http;
    let mut opts = http::Options::default();
    if let (Some(u), Some(p)) = (&remote.auth.username, &remote.auth.password) {
        opts.extra_headers.push(format!(
            "Authorization: Basic {}",
            base64_encode(&format!("{u}:{p}"))
        ));
    } else if let Some(token) = &remote.auth.bearer_token {
        opts.extra_headers
            .push(format!("Authorization: Bearer {token}"));
    }
    opts.connect_timeout = Some(remote.timeout);
    opts.user_agent = Some("flux-rs-source-controller".to_string());
    let mut certs = Vec::new();
    if let Some(ca) = &remote.auth.ca {
        for cert in split_pem_certificates(ca) {
            certs.push(
                reqwest::Certificate::from_pem(&cert).map_err(|e| GitError::InvalidCa {
                    message: e.to_string(),
                })?,
            );
        }
        if certs.is_empty() {
            return Err(GitError::InvalidCa {
                message: "no PEM certificate found in 'ca.crt'".to_string(),
            });
        }
    }
    let identity = match (&remote.auth.client_cert, &remote.auth.client_key) {
        (Some(cert), Some(key)) => Some(client_identity(cert, key)?),
        _ => None,
    };
    let proxy = match &remote.proxy {
        Some(p) => Some(reqwest_proxy(p)?),
        None => None,
    };
    let timeout = remote.timeout;
    let backend = gix::protocol::transport::client::blocking_io::http::reqwest::Options {
        configure_client: Some(Box::new(move |mut builder| {
            for cert in &certs {
                builder = builder.add_root_certificate(cert.clone());
            }
            if let Some(id) = &identity {
                builder = builder.identity(id.clone());
            }
            if let Some(p) = &proxy {
                builder = builder.proxy(p.clone());
            }
            Ok(builder.timeout(timeout))
        })),
        configure_request: None,
    };
    opts.backend = Some(Arc::new(Mutex::new(backend)));
    Ok(opts)
}

/// The client certificate and key (`tls.crt`, `tls.key`), checked now: reqwest only
/// parses the key when a client is built.
fn client_identity(cert: &[u8], key: &[u8]) -> Result<reqwest::Identity, GitError> {
    let invalid = |e: reqwest::Error| GitError::InvalidClientCert {
        message: format!("'tls.crt'/'tls.key': {}", error_text(&e)),
    };
    let mut pem = cert.to_vec();
    pem.push(b'\n');
    pem.extend_from_slice(key);
    let identity = reqwest::Identity::from_pem(&pem).map_err(invalid)?;
    reqwest::Client::builder()
        .identity(identity.clone())
        .build()
        .map_err(invalid)?;
    Ok(identity)
}

/// The reqwest proxy for `proxySecretRef` (HTTP CONNECT for https remotes,
/// absolute-form requests for http ones; basic proxy authentication).
fn reqwest_proxy(p: &ProxyOptions) -> Result<reqwest::Proxy, GitError> {
    let err = |message: String| GitError::Proxy {
        proxy: p.url.to_string(),
        message,
    };
    if p.url.scheme() == "socks5" {
        return Err(err(
            "socks5 proxies are not supported by this controller (http and https only)".into(),
        ));
    }
    let mut proxy = reqwest::Proxy::all(p.url.as_str()).map_err(|e| err(e.to_string()))?;
    if let Some(user) = &p.username {
        proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or_default());
    }
    Ok(proxy)
}

fn split_pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let stop = start + end + END.len();
        out.push(rest.as_bytes()[start..stop].to_vec());
        rest = &rest[stop..];
    }
    out
}

fn base64_encode(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn refspec_for(prefix: &str) -> String {
    if let Some(p) = prefix.strip_suffix('/') {
        format!("+{p}/*:{p}/*")
    } else {
        format!("+{prefix}:{prefix}")
    }
}

fn to_remote_refs(refs: &[Ref]) -> Vec<RemoteRef> {
    refs.iter()
        .filter_map(|r| {
            let (name, target, peeled) = r.unpack();
            Some(RemoteRef {
                name: name.to_str_lossy().into_owned(),
                target: target?.to_hex().to_string(),
                peeled: peeled.map(|p| p.to_hex().to_string()),
            })
        })
        .collect()
}

/// What [`connect_and`] returns: the advertised refs, and the scratch repository when
/// a fetch was done.
type Listed = (Vec<RemoteRef>, Option<Scratch>);

/// Connects and runs ls-refs for `prefixes`; when `fetch` is set, then fetches them
/// (shallow when `depth_one`) into the returned scratch repository.
fn connect_and(
    remote: &Remote,
    prefixes: &[String],
    interrupt: &AtomicBool,
    fetch: bool,
    depth_one: bool,
) -> Result<Listed, GitError> {
    let scratch = scratch(remote)?;
    let remote_err = |message: String| GitError::Remote {
        url: remote.url.clone(),
        message,
    };
    let specs: Vec<String> = prefixes.iter().map(|p| refspec_for(p)).collect();
    let git_remote = scratch
        .repo
        .remote_at(remote.url.as_str())
        .map_err(|e| remote_err(e.to_string()))?
        .with_fetch_tags(gix::remote::fetch::Tags::None)
        .with_refspecs(specs.iter().map(String::as_str), Direction::Fetch)
        .map_err(|e| remote_err(e.to_string()))?;
    let list_err = |message: String| GitError::ListRefs {
        url: remote.url.clone(),
        message,
    };
    let mut connection = git_remote
        .connect(Direction::Fetch)
        .map_err(|e| list_err(transport_error_text(&e)))?;
    match remote.transport {
        Transport::Http | Transport::Https => {
            connection.set_transport_options(Box::new(http_options(remote)?));
        }
        Transport::Ssh | Transport::File => {
            if let Some(p) = &remote.proxy {
                return Err(GitError::Proxy {
                    proxy: p.url.to_string(),
                    message: "proxies are supported for http(s) remotes only".into(),
                });
            }
        }
    }
    // Never ask a helper or prompt for credentials.
    connection.set_credentials(|_| Ok(None));
    let prepare = connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| list_err(transport_error_text(&e)))?;
    let refs = to_remote_refs(&prepare.ref_map().remote_refs);
    if !fetch {
        return Ok((refs, None));
    }
    let prepare = if depth_one {
        prepare.with_shallow(Shallow::DepthAtRemote(std::num::NonZeroU32::MIN))
    } else {
        prepare
    };
    prepare
        .receive(gix::progress::Discard, interrupt)
        .map_err(|e| GitError::Fetch {
            url: remote.url.clone(),
            reference: prefixes.join(","),
            message: error_text(&e),
        })?;
    Ok((refs, Some(scratch)))
}

/// Like [`error_text`], but HTTP refusals read as go-git reports them
/// (`authentication required`, `authorization failed`, `repository not found`), so
/// conditions match upstream's.
fn transport_error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let text = error_text(e);
    for (status, upstream) in [
        ("HTTP status 401", "authentication required"),
        // gix asks for credentials on a 401; we never give any.
        ("No credentials were returned", "authentication required"),
        ("HTTP status 403", "authorization failed"),
        ("HTTP status 404", "repository not found"),
    ] {
        if text.contains(status) {
            return upstream.to_string();
        }
    }
    text
}

/// One line for conditions: the error and its causes (Display texts, each kept once).
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let text = err
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// ls-refs for the references `spec` needs (no objects are fetched).
pub fn list_refs(
    remote: &Remote,
    spec: &RefSpec,
    interrupt: &AtomicBool,
) -> Result<Vec<RemoteRef>, GitError> {
    let (refs, _) = connect_and(remote, &list_prefixes(spec), interrupt, false, true)?;
    Ok(refs)
}

/// Fetches `resolved` (a ref resolved by [`crate::reference::resolve`], or a commit pin)
/// and writes its tree into `dir` (only `sparse` directories when given).
pub fn checkout(
    remote: &Remote,
    spec: &RefSpec,
    resolved: &Resolved,
    dir: &Path,
    sparse: Option<&[String]>,
    recurse_submodules: bool,
    interrupt: &AtomicBool,
) -> Result<Commit, GitError> {
    let (prefixes, shallow) = match spec {
        RefSpec::Commit { .. } => (list_prefixes(spec), false),
        _ => (vec![resolved.full_name.clone()], true),
    };
    let (_, fetched) = connect_and(remote, &prefixes, interrupt, true, shallow)?;
    let Some(scratch) = fetched else {
        return Err(GitError::CommitNotFound {
            url: remote.url.clone(),
            sha: resolved.commit.clone(),
        });
    };
    let repo = &scratch.repo;
    let checkout_err = |message: String| GitError::Checkout {
        commit: resolved.commit.clone(),
        message,
    };
    let id = gix::ObjectId::from_hex(resolved.commit.as_bytes())
        .map_err(|e| checkout_err(e.to_string()))?;
    let commit = repo.find_commit(id).map_err(|_| GitError::CommitNotFound {
        url: remote.url.clone(),
        sha: resolved.commit.clone(),
    })?;
    let subject = commit
        .message_raw()
        .map(|m| {
            m.to_str_lossy()
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    let signature = commit
        .signature()
        .ok()
        .flatten()
        .map(|(sig, data)| (sig.to_str_lossy().into_owned(), data.to_bstring().to_vec()));
    let referencing_tag = referencing_tag(repo, &resolved.full_name);
    let tree_id = commit
        .tree_id()
        .map_err(|e| checkout_err(e.to_string()))?
        .detach();
    let mut gitlinks = Vec::new();
    write_tree(repo, tree_id, dir, "", sparse, &mut gitlinks).map_err(checkout_err)?;
    if recurse_submodules && !gitlinks.is_empty() {
        let level = SubmoduleLevel {
            remote,
            repo,
            tree: tree_id,
            dir,
            sparse,
        };
        checkout_submodules(&level, &gitlinks, interrupt, 0).map_err(checkout_err)?;
    }
    Ok(Commit {
        hash: id.to_hex().to_string(),
        reference: resolved.full_name.clone(),
        subject,
        signature,
        referencing_tag,
    })
}

/// Most nesting levels of submodules followed.
const MAX_SUBMODULE_DEPTH: usize = 5;

/// `path → url` of `.gitmodules` (git-config syntax, `[submodule "name"]` sections).
pub fn parse_gitmodules(text: &str) -> BTreeMap<String, String> {
    let mut sections: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header
                .trim()
                .strip_prefix("submodule")
                .map(|n| n.trim().trim_matches('"').to_string());
            continue;
        }
        let (Some(name), Some((key, value))) = (current.as_ref(), line.split_once('=')) else {
            continue;
        };
        let entry = sections.entry(name.clone()).or_default();
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "path" => entry.0 = Some(value),
            "url" => entry.1 = Some(value),
            _ => {}
        }
    }
    sections
        .into_values()
        .filter_map(|(p, u)| Some((p?, u?)))
        .collect()
}

/// A submodule URL relative to its superproject's (`../other.git`, `./x`) made absolute.
pub fn resolve_submodule_url(base: &str, url: &str) -> String {
    if !(url.starts_with("../") || url.starts_with("./")) {
        return url.to_string();
    }
    let mut base = base.trim_end_matches('/').to_string();
    let mut rest = url;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            if let Some(i) = base.rfind('/') {
                base.truncate(i);
            }
            rest = r;
        } else {
            break;
        }
    }
    format!("{base}/{rest}")
}

/// A (super)project whose submodules are checked out.
struct SubmoduleLevel<'a> {
    remote: &'a Remote,
    repo: &'a gix::Repository,
    /// Its root tree (where `.gitmodules` is read from, even when sparse checkout
    /// left it out of the work tree).
    tree: gix::ObjectId,
    dir: &'a Path,
    sparse: Option<&'a [String]>,
}

/// The content of the blob `name` at the root of `tree`.
fn root_blob(repo: &gix::Repository, tree: gix::ObjectId, name: &str) -> Option<Vec<u8>> {
    let tree = repo.find_tree(tree).ok()?;
    let oid = tree
        .iter()
        .filter_map(Result::ok)
        .find_map(|e| (e.inner.filename == name.as_bytes()).then(|| e.inner.oid.to_owned()))?;
    repo.find_blob(oid).ok().map(|b| b.data.clone())
}

/// The sparse directories that apply inside the submodule at `path` (`None`: all of
/// it).
fn submodule_sparse(sparse: Option<&[String]>, path: &str) -> Option<Vec<String>> {
    let mut inner = Vec::new();
    for d in sparse? {
        let d = d.trim_start_matches("./").trim_matches('/');
        if d.is_empty() || d == "." || d == path || path.starts_with(&format!("{d}/")) {
            return None;
        }
        if let Some(rest) = d.strip_prefix(&format!("{path}/")) {
            inner.push(rest.to_string());
        }
    }
    Some(inner)
}

fn checkout_submodules(
    level: &SubmoduleLevel<'_>,
    gitlinks: &[(String, gix::ObjectId)],
    interrupt: &AtomicBool,
    depth: usize,
) -> Result<(), String> {
    if depth >= MAX_SUBMODULE_DEPTH {
        return Err(format!(
            "submodules nested deeper than {MAX_SUBMODULE_DEPTH} levels"
        ));
    }
    let text = root_blob(level.repo, level.tree, ".gitmodules")
        .ok_or_else(|| "repository has submodules but no .gitmodules".to_string())?;
    let urls = parse_gitmodules(&String::from_utf8_lossy(&text));
    for (path, oid) in gitlinks {
        let url = urls
            .get(path)
            .ok_or_else(|| format!("submodule '{path}' has no url in .gitmodules"))?;
        let url = resolve_submodule_url(&level.remote.url, url);
        let transport = match url.split_once("://").map(|(s, _)| s) {
            Some("http") => Transport::Http,
            Some("https") => Transport::Https,
            Some("ssh") => Transport::Ssh,
            Some("file") => Transport::File,
            _ => return Err(format!("submodule '{path}': unsupported url '{url}'")),
        };
        let sub = Remote {
            url: url.clone(),
            transport,
            auth: level.remote.auth.clone(),
            timeout: level.remote.timeout,
            proxy: level.remote.proxy.clone(),
        };
        let prefixes = vec!["refs/heads/".to_string(), "refs/tags/".to_string()];
        let (_, fetched) = connect_and(&sub, &prefixes, interrupt, true, false)
            .map_err(|e| format!("submodule '{path}': {e}"))?;
        let Some(scratch) = fetched else {
            return Err(format!("submodule '{path}': nothing fetched"));
        };
        let commit = scratch
            .repo
            .find_commit(*oid)
            .map_err(|_| format!("submodule '{path}': commit {oid} not found in '{url}'"))?;
        let tree = commit
            .tree_id()
            .map_err(|e| format!("submodule '{path}': {e}"))?
            .detach();
        let target = level.dir.join(path);
        let sparse = submodule_sparse(level.sparse, path);
        let mut nested = Vec::new();
        write_tree(
            &scratch.repo,
            tree,
            &target,
            "",
            sparse.as_deref(),
            &mut nested,
        )?;
        if !nested.is_empty() {
            let inner = SubmoduleLevel {
                remote: &sub,
                repo: &scratch.repo,
                tree,
                dir: &target,
                sparse: sparse.as_deref(),
            };
            checkout_submodules(&inner, &nested, interrupt, depth + 1)?;
        }
    }
    Ok(())
}

/// The tag behind `refs/tags/…` (with its object and signature when annotated).
fn referencing_tag(repo: &gix::Repository, full_name: &str) -> Option<ReferencingTag> {
    let short = full_name.strip_prefix("refs/tags/")?;
    let name = short.strip_suffix("^{}").unwrap_or(short).to_string();
    let lightweight = ReferencingTag {
        name: name.clone(),
        object: None,
        signature: None,
    };
    let Some(id) = repo
        .find_reference(full_name)
        .ok()
        .and_then(|r| r.target().try_id().map(|id| id.to_owned()))
    else {
        return Some(lightweight);
    };
    let Ok(object) = repo.find_object(id) else {
        return Some(lightweight);
    };
    if object.kind != gix::objs::Kind::Tag {
        return Some(lightweight);
    }
    let signature = gix::objs::TagRefIter::signature(&object.data).map(|(sig, data)| {
        (
            sig.data.to_str_lossy().into_owned(),
            data.to_bstring().to_vec(),
        )
    });
    Some(ReferencingTag {
        name,
        object: Some(id.to_hex().to_string()),
        signature,
    })
}

fn in_sparse(rel: &str, is_dir: bool, sparse: Option<&[String]>) -> bool {
    let Some(dirs) = sparse else { return true };
    dirs.iter().any(|d| {
        let d = d.trim_matches('/');
        let d = d.strip_prefix("./").unwrap_or(d);
        if d.is_empty() || d == "." {
            return true;
        }
        rel == d
            || rel.starts_with(&format!("{d}/"))
            || (is_dir && d.starts_with(&format!("{rel}/")))
    })
}

/// Writes the tree `id` into `dir`: regular and executable files and directories;
/// symlinks and submodule links are not written (the artifact never holds them).
fn write_tree(
    repo: &gix::Repository,
    id: gix::ObjectId,
    dir: &Path,
    prefix: &str,
    sparse: Option<&[String]>,
    gitlinks: &mut Vec<(String, gix::ObjectId)>,
) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("creating '{}': {e}", dir.display()))?;
    let tree = repo.find_tree(id).map_err(|e| e.to_string())?;
    let mut entries = Vec::new();
    for entry in tree.iter() {
        let entry = entry.map_err(|e| e.to_string())?;
        entries.push((
            entry.inner.mode.kind(),
            entry.inner.filename.to_str_lossy().into_owned(),
            entry.inner.oid.to_owned(),
        ));
    }
    for (kind, name, oid) in entries {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') || name == ".git" {
            return Err(format!("refusing tree entry name {name:?}"));
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let path = dir.join(&name);
        match kind {
            EntryKind::Tree => {
                if in_sparse(&rel, true, sparse) {
                    write_tree(repo, oid, &path, &rel, sparse, gitlinks)?;
                }
            }
            EntryKind::Blob | EntryKind::BlobExecutable => {
                if !in_sparse(&rel, false, sparse) {
                    continue;
                }
                let blob = repo.find_blob(oid).map_err(|e| e.to_string())?;
                write_file(&path, &blob.data, kind == EntryKind::BlobExecutable)?;
            }
            EntryKind::Commit => {
                if in_sparse(&rel, true, sparse) {
                    gitlinks.push((rel, oid));
                }
            }
            EntryKind::Link => {}
        }
    }
    Ok(())
}

fn write_file(path: &Path, data: &[u8], executable: bool) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("writing '{}': {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| format!("writing '{}': {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64_encode(""), "");
        assert_eq!(base64_encode("f"), "Zg==");
        assert_eq!(base64_encode("fo"), "Zm8=");
        assert_eq!(base64_encode("foo"), "Zm9v");
        assert_eq!(base64_encode("user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn refspecs_for_prefixes() {
        assert_eq!(refspec_for("refs/tags/"), "+refs/tags/*:refs/tags/*");
        assert_eq!(
            refspec_for("refs/heads/main"),
            "+refs/heads/main:refs/heads/main"
        );
    }

    #[test]
    fn gitmodules_and_relative_urls() {
        let m = parse_gitmodules(
            "[submodule \"lib\"]\n\tpath = vendor/lib\n\turl = ../lib.git\n# c\n[core]\n\tx = y\n",
        );
        assert_eq!(m.get("vendor/lib").map(String::as_str), Some("../lib.git"));
        assert_eq!(
            resolve_submodule_url("http://h/git/app.git", "../lib.git"),
            "http://h/git/lib.git"
        );
        assert_eq!(
            resolve_submodule_url("http://h/app.git", "https://x/y.git"),
            "https://x/y.git"
        );
    }

    #[test]
    fn sparse_directories_inside_submodules() {
        let s = vec!["./apps".to_string(), "vendor/lib/apps/".to_string()];
        assert_eq!(
            submodule_sparse(Some(&s), "vendor/lib"),
            Some(vec!["apps".to_string()])
        );
        let whole = vec!["vendor".to_string()];
        assert_eq!(submodule_sparse(Some(&whole), "vendor/lib"), None);
        assert_eq!(submodule_sparse(None, "vendor/lib"), None);
    }

    #[test]
    fn sparse_selection() {
        let s = vec!["apps/".to_string()];
        assert!(in_sparse("apps", true, Some(&s)));
        assert!(in_sparse("apps/x.yaml", false, Some(&s)));
        assert!(!in_sparse("infra", true, Some(&s)));
        assert!(!in_sparse("README.md", false, Some(&s)));
        let deep = vec!["a/b".to_string()];
        assert!(in_sparse("a", true, Some(&deep)));
        assert!(!in_sparse("a/c.txt", false, Some(&deep)));
    }
}
