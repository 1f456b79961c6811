//! `flux create`: generate Flux objects (and their credential Secrets), apply them, and wait
//! for them to be Ready; or print them with `--export`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::cluster::{Cluster, GlobalArgs, go_duration_string, parse_go_duration};
use crate::export_yaml;
use crate::kinds::{self, FluxKind};
use crate::output;

/// Flags shared by every `flux create` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct CreateFlags {
    /// Source sync interval.
    #[arg(long, global = true, default_value = "1m0s", value_parser = parse_go_duration)]
    pub interval: Duration,
    /// Export in YAML format to stdout.
    #[arg(long, global = true)]
    pub export: bool,
    /// Set labels on the resource (`key=value`, repeatable or comma-separated).
    #[arg(long = "label", global = true, value_delimiter = ',')]
    pub labels: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub flags: CreateFlags,
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Create or update sources.
    Source {
        #[command(subcommand)]
        what: SourceWhat,
    },
    /// Create or update a Kustomization resource.
    #[command(alias = "ks")]
    Kustomization(KustomizationArgs),
    /// Create or update Kubernetes secrets.
    Secret {
        #[command(subcommand)]
        what: SecretWhat,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum SourceWhat {
    /// Create or update a GitRepository source.
    Git(SourceGitArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretWhat {
    /// Create or update a Kubernetes secret for Git authentication.
    Git(SecretGitArgs),
}

#[derive(Debug, clap::Args)]
pub struct SourceGitArgs {
    pub name: Option<String>,
    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Git branch.
    #[arg(long, default_value = "")]
    pub branch: String,
    /// Git tag.
    #[arg(long, default_value = "")]
    pub tag: String,
    /// Git tag semver range.
    #[arg(long = "tag-semver", default_value = "")]
    pub semver: String,
    /// Git reference name.
    #[arg(long, default_value = "")]
    pub ref_name: String,
    /// Git commit.
    #[arg(long, default_value = "")]
    pub commit: String,
    /// Basic authentication username.
    #[arg(short = 'u', long, default_value = "")]
    pub username: String,
    /// Basic authentication password.
    #[arg(short = 'p', long, default_value = "")]
    pub password: String,
    /// The name of an existing secret containing SSH or basic credentials.
    #[arg(long, default_value = "")]
    pub secret_ref: String,
    /// The name of an existing secret containing the proxy address and credentials.
    #[arg(long, default_value = "")]
    pub proxy_secret_ref: String,
    /// The Git provider: generic, azure or github.
    #[arg(long, default_value = "", value_parser = ["", "generic", "azure", "github"])]
    pub provider: String,
    /// Path to TLS CA file used for validating self-signed certificates.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Path to a passwordless private key file used for authenticating to the Git SSH server.
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
    /// Initialize and include Git submodules in the artifact.
    #[arg(long)]
    pub recurse_submodules: bool,
    /// Assumes the deploy key is already setup, skips confirmation.
    #[arg(short = 's', long)]
    pub silent: bool,
    /// Paths to ignore (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Paths to sparse checkout (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub sparse_checkout_paths: Vec<String>,
    /// Set a timeout for fetch operations performed by the source controller.
    #[arg(long, value_parser = parse_go_duration)]
    pub fetch_timeout: Option<Duration>,
}

#[derive(Debug, clap::Args)]
pub struct KustomizationArgs {
    pub name: Option<String>,
    /// Source kind/name.namespace (kind: GitRepository, OCIRepository or Bucket; default
    /// GitRepository).
    #[arg(long, default_value = "")]
    pub source: String,
    /// Path to the directory containing a kustomization.yaml file.
    #[arg(long, default_value = "./")]
    pub path: String,
    /// Enable garbage collection.
    #[arg(long)]
    pub prune: bool,
    /// Enable health checking of all the applied resources.
    #[arg(long)]
    pub wait: bool,
    /// Workload to be included in the health assessment, `<kind>/<name>.<namespace>`.
    #[arg(long, value_delimiter = ',')]
    pub health_check: Vec<String>,
    /// Timeout of health checking operations.
    #[arg(long, default_value = "2m0s", value_parser = parse_go_duration)]
    pub health_check_timeout: Duration,
    /// Kustomizations that must be ready first: `<name>` or `<namespace>/<name>`.
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// The name of the service account to impersonate.
    #[arg(long, default_value = "")]
    pub service_account: String,
    /// Enable decryption provider for Kubernetes secrets: sops.
    #[arg(long, default_value = "", value_parser = ["", "sops"])]
    pub decryption_provider: String,
    /// The Kubernetes secret that holds the decryption keys.
    #[arg(long, default_value = "")]
    pub decryption_secret: String,
    /// Overrides the namespace of all objects reconciled by this Kustomization.
    #[arg(long, default_value = "")]
    pub target_namespace: String,
    /// The Secret holding a kubeconfig for a remote cluster.
    #[arg(long, default_value = "")]
    pub kubeconfig_secret_ref: String,
    /// The interval at which to retry a previously failed reconciliation.
    #[arg(long, value_parser = parse_go_duration)]
    pub retry_interval: Option<Duration>,
}

#[derive(Debug, clap::Args)]
pub struct SecretGitArgs {
    pub name: Option<String>,
    /// Git address, e.g. ssh://git@host/org/repository.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Basic authentication username.
    #[arg(short = 'u', long, default_value = "")]
    pub username: String,
    /// Basic authentication password (or the private key's passphrase over SSH).
    #[arg(short = 'p', long, default_value = "")]
    pub password: String,
    /// Bearer token for authentication over HTTP/S.
    #[arg(long, default_value = "")]
    pub bearer_token: String,
    /// Path to an SSH private key file.
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
    /// Path to a TLS CA certificate file for HTTPS.
    #[arg(long)]
    pub ca_crt_file: Option<PathBuf>,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let name = match &args.what {
        What::Source {
            what: SourceWhat::Git(a),
        } => a.name.clone(),
        What::Kustomization(a) => a.name.clone(),
        What::Secret {
            what: SecretWhat::Git(a),
        } => a.name.clone(),
    };
    let Some(name) = name else {
        anyhow::bail!("name is required");
    };
    if !valid_object_name(&name) {
        anyhow::bail!(
            "name '{name}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
        );
    }
    let labels = parse_labels(&args.flags.labels)?;
    match args.what {
        What::Source {
            what: SourceWhat::Git(a),
        } => source_git(a, &name, labels, &args.flags, global),
        What::Kustomization(a) => kustomization(a, &name, labels, &args.flags, global),
        What::Secret {
            what: SecretWhat::Git(a),
        } => secret_git(a, &name, labels, &args.flags, global),
    }
}

fn valid_object_name(name: &str) -> bool {
    let b = name.as_bytes();
    (2..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_qualified_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty() && p.len() <= 253 && p.split('.').all(crate::cluster::is_dns_label)
    });
    name_ok && prefix_ok
}

fn is_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

fn parse_labels(labels: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for label in labels {
        let parts: Vec<&str> = label.split('=').collect();
        let [key, value] = parts.as_slice() else {
            anyhow::bail!("invalid label format '{label}', must be key=value");
        };
        if !is_qualified_label_key(key) {
            anyhow::bail!("invalid label '{key}': not a qualified name");
        }
        if !is_label_value(value) {
            anyhow::bail!("invalid label value '{value}': not a valid label value");
        }
        out.insert((*key).to_owned(), Value::String((*value).to_owned()));
    }
    Ok(out)
}

fn metadata(name: &str, ns: &str, labels: &Map<String, Value>) -> Value {
    let mut meta = json!({"name": name, "namespace": ns});
    if !labels.is_empty() {
        meta["labels"] = Value::Object(labels.clone());
    }
    meta
}

fn object(
    kind: &FluxKind,
    name: &str,
    ns: &str,
    labels: &Map<String, Value>,
    spec: Value,
) -> Value {
    json!({
        "apiVersion": kind.api_version(),
        "kind": kind.kind,
        "metadata": metadata(name, ns, labels),
        "spec": spec,
    })
}

/// Creates the object, or replaces the labels and spec of the existing one; returns whether
/// it was created.
async fn upsert(cluster: &Cluster, kind: &FluxKind, obj: &Value) -> anyhow::Result<bool> {
    let obj = &secret_string_data_to_data(obj);
    let ns = crate::cluster::namespace_of(obj).to_owned();
    let name = crate::cluster::name_of(obj).to_owned();
    match cluster.get(kind, &ns, &name).await? {
        None => {
            cluster.create(kind, &ns, obj).await?;
            Ok(true)
        }
        Some(mut existing) => {
            existing["metadata"]["labels"] = obj["metadata"]["labels"].clone();
            for key in ["spec", "stringData", "data", "type"] {
                if let Some(v) = obj.get(key) {
                    existing[key] = v.clone();
                }
            }
            cluster.replace(kind, &ns, &name, &existing).await?;
            Ok(false)
        }
    }
}

/// A Secret's `stringData` written as base64 `data`, as the API server stores it (done
/// here so servers that do not merge `stringData` get the same object).
fn secret_string_data_to_data(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if obj["kind"] == "Secret"
        && let Some(Value::Object(string_data)) =
            obj.as_object_mut().and_then(|o| o.remove("stringData"))
    {
        let data: Map<String, Value> = string_data
            .into_iter()
            .map(|(k, v)| {
                let text = v.as_str().unwrap_or_default().to_owned();
                (k, Value::String(crate::base64::encode(text.as_bytes())))
            })
            .collect();
        obj["data"] = Value::Object(data);
    }
    obj
}

fn source_git(
    a: SourceGitArgs,
    name: &str,
    labels: Map<String, Value>,
    flags: &CreateFlags,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    if a.url.is_empty() {
        anyhow::bail!("url is required");
    }
    let scheme = url_scheme(&a.url)?;
    if !matches!(scheme.as_str(), "ssh" | "http" | "https") {
        anyhow::bail!("git URL scheme '{scheme}' not supported, can be: ssh, http and https");
    }
    if [&a.branch, &a.tag, &a.semver, &a.commit, &a.ref_name]
        .iter()
        .all(|s| s.is_empty())
    {
        anyhow::bail!(
            "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver"
        );
    }
    if a.ca_file.is_some() && scheme == "ssh" {
        anyhow::bail!("specifying a CA file is not supported for Git over SSH");
    }
    let ns = global.namespace.clone();
    let mut reference = Map::new();
    if !a.commit.is_empty() {
        reference.insert("commit".into(), json!(a.commit));
        if !a.branch.is_empty() {
            reference.insert("branch".into(), json!(a.branch));
        }
    } else if !a.ref_name.is_empty() {
        reference.insert("name".into(), json!(a.ref_name));
    } else if !a.semver.is_empty() {
        reference.insert("semver".into(), json!(a.semver));
    } else if !a.tag.is_empty() {
        reference.insert("tag".into(), json!(a.tag));
    } else {
        reference.insert("branch".into(), json!(a.branch));
    }
    let mut spec = json!({
        "url": a.url,
        "interval": go_duration_string(flags.interval),
        "ref": reference,
    });
    if a.recurse_submodules {
        spec["recurseSubmodules"] = json!(true);
    }
    if !a.ignore_paths.is_empty() {
        spec["ignore"] = json!(a.ignore_paths.join("\n"));
    }
    if !a.sparse_checkout_paths.is_empty() {
        spec["sparseCheckout"] = json!(a.sparse_checkout_paths);
    }
    if let Some(t) = a.fetch_timeout {
        spec["timeout"] = json!(go_duration_string(t));
    }
    if !a.secret_ref.is_empty() {
        spec["secretRef"] = json!({"name": a.secret_ref});
    }
    if !a.proxy_secret_ref.is_empty() {
        spec["proxySecretRef"] = json!({"name": a.proxy_secret_ref});
    }
    if !a.provider.is_empty() {
        spec["provider"] = json!(a.provider);
    }
    let kind = kinds::GIT_REPOSITORY;
    let mut repo = object(&kind, name, &ns, &labels, spec);
    if flags.export {
        print!("{}", export_yaml::export_document(&repo)?);
        return Ok(());
    }
    // The credentials Secret, when the flags carry credentials and no --secret-ref is given.
    let secret = if a.secret_ref.is_empty() {
        let data = match scheme.as_str() {
            "ssh" => {
                let mut data = ssh_secret_data(a.private_key_file.as_deref(), &a.password)?;
                add_known_hosts(&mut data, &a.url);
                Some(data)
            }
            _ => {
                if scheme == "http" && (!a.username.is_empty() || !a.password.is_empty()) {
                    output::warning(
                        "insecure configuration: credentials configured for an HTTP URL",
                    );
                }
                let mut data = Map::new();
                if !a.username.is_empty() && !a.password.is_empty() {
                    data.insert("username".into(), json!(a.username));
                    data.insert("password".into(), json!(a.password));
                }
                if let Some(ca) = &a.ca_file {
                    let text = std::fs::read_to_string(ca).map_err(|e| {
                        anyhow::anyhow!("unable to read TLS CA file {}: {e}", ca.display())
                    })?;
                    data.insert("ca.crt".into(), json!(text));
                }
                (!data.is_empty()).then_some(data)
            }
        };
        data.map(|d| secret_object(name, &ns, &Map::new(), d))
    } else {
        None
    };
    let silent = a.silent;
    let name = name.to_owned();
    crate::cluster::block_on(global.timeout, "the GitRepository", async move {
        let cluster = global.connect().await?;
        output::generate("generating GitRepository source");
        if let Some(secret) = secret {
            if let Some(public) = secret
                .pointer("/stringData/identity.pub")
                .and_then(Value::as_str)
            {
                output::generate(&format!("deploy key: {}", public.trim()));
                if !silent
                    && !crate::cmd::delete::confirm(
                        "Have you added the deploy key to your repository",
                    )
                {
                    anyhow::bail!("aborting");
                }
            }
            output::action("applying secret with repository credentials");
            upsert(&cluster, &kinds::SECRET, &secret).await?;
            repo["spec"]["secretRef"] = json!({"name": name});
            output::success("authentication configured");
        }
        output::action("applying GitRepository source");
        let created = upsert(&cluster, &kind, &repo).await?;
        output::success(if created {
            "GitRepository source created"
        } else {
            "GitRepository source updated"
        });
        let ns = cluster.namespace.clone();
        let obj = crate::wait::until_ready(
            &cluster,
            &kind,
            &ns,
            &name,
            "waiting for GitRepository source reconciliation",
        )
        .await?;
        output::success("GitRepository source reconciliation completed");
        let Some(revision) = obj
            .pointer("/status/artifact/revision")
            .and_then(Value::as_str)
        else {
            anyhow::bail!(
                "GitRepository source reconciliation completed but no artifact was found"
            );
        };
        output::success(&format!("fetched revision: {revision}"));
        Ok(())
    })
}

fn url_scheme(url: &str) -> anyhow::Result<String> {
    match url.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !rest.is_empty() => Ok(scheme.to_lowercase()),
        _ => anyhow::bail!("git URL parse failed: {url:?} has no scheme"),
    }
}

fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    authority.rsplit('@').next().unwrap_or_default().to_owned()
}

fn secret_object(
    name: &str,
    ns: &str,
    labels: &Map<String, Value>,
    data: Map<String, Value>,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, ns, labels),
        "stringData": data,
    })
}

/// `identity`, `identity.pub` (and `password`) of an SSH key read from a file. flux-rs
/// does not generate keys nor scan the server's host keys.
fn ssh_secret_data(
    key_file: Option<&std::path::Path>,
    password: &str,
) -> anyhow::Result<Map<String, Value>> {
    let Some(path) = key_file else {
        anyhow::bail!(
            "generating SSH keys is not supported by flux-rs: pass --private-key-file (or --secret-ref)"
        );
    };
    let private = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("unable to read private key file {}: {e}", path.display()))?;
    let public = crate::ssh_key::public_key_of(&private)
        .map_err(|e| anyhow::anyhow!("invalid private key file {}: {e}", path.display()))?;
    let mut data = Map::new();
    data.insert("identity".into(), json!(private));
    data.insert("identity.pub".into(), json!(format!("{public}\n")));
    if !password.is_empty() {
        data.insert("password".into(), json!(password));
    }
    Ok(data)
}

/// The SSH server's host keys as `known_hosts` lines, collected with `ssh-keyscan` (upstream
/// dials the server itself); `None` with the reason when they cannot be collected.
fn scan_host_keys(url: &str) -> Result<String, String> {
    let authority = url_host(url);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h.trim_matches(['[', ']']), p),
        _ => (authority.trim_matches(['[', ']']), "22"),
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    let out = std::process::Command::new("ssh-keyscan")
        .args(["-T", "5", "-p", port, host])
        .output()
        .map_err(|e| format!("ssh-keyscan: {e}"))?;
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    if lines.is_empty() {
        return Err(format!("no host key from {host}:{port}"));
    }
    Ok(lines.join("\n"))
}

fn add_known_hosts(data: &mut Map<String, Value>, url: &str) {
    match scan_host_keys(url) {
        Ok(known_hosts) => {
            output::success(&format!(
                "collected public key from SSH server:\n{known_hosts}"
            ));
            data.insert("known_hosts".into(), json!(known_hosts));
        }
        Err(reason) => output::warning(&format!(
            "could not collect the SSH server's host key ({reason}): add known_hosts to the Secret"
        )),
    }
}

fn secret_git(
    a: SecretGitArgs,
    name: &str,
    labels: Map<String, Value>,
    flags: &CreateFlags,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    if a.url.is_empty() {
        anyhow::bail!("url is required");
    }
    let scheme = url_scheme(&a.url)?;
    let data = match scheme.as_str() {
        "ssh" => {
            let mut data = ssh_secret_data(a.private_key_file.as_deref(), &a.password)?;
            add_known_hosts(&mut data, &a.url);
            data
        }
        "http" | "https" => {
            if (a.username.is_empty() || a.password.is_empty()) && a.bearer_token.is_empty() {
                anyhow::bail!(
                    "for Git over HTTP/S the username and password, or a bearer token is required"
                );
            }
            if !a.username.is_empty() && !a.password.is_empty() && !a.bearer_token.is_empty() {
                anyhow::bail!("user credentials and bearer token cannot be used together");
            }
            let mut data = Map::new();
            if !a.username.is_empty() {
                data.insert("username".into(), json!(a.username));
            }
            if !a.password.is_empty() {
                data.insert("password".into(), json!(a.password));
            }
            if !a.bearer_token.is_empty() {
                data.insert("bearerToken".into(), json!(a.bearer_token));
            }
            if let Some(ca) = &a.ca_crt_file {
                let text = std::fs::read_to_string(ca).map_err(|e| {
                    anyhow::anyhow!("unable to read TLS CA file {}: {e}", ca.display())
                })?;
                data.insert("ca.crt".into(), json!(text));
            }
            data
        }
        other => {
            anyhow::bail!("git URL scheme '{other}' not supported, can be: ssh, http and https")
        }
    };
    let ns = global.namespace.clone();
    let secret = secret_object(name, &ns, &labels, data);
    if flags.export {
        let yaml = flux_object::yaml::to_yaml_string(&export_yaml::sorted(&secret))?;
        println!("---\n{yaml}");
        return Ok(());
    }
    if let Some(public) = secret
        .pointer("/stringData/identity.pub")
        .and_then(Value::as_str)
    {
        output::generate(&format!("deploy key: {}", public.trim()));
    }
    let name = name.to_owned();
    crate::cluster::block_on(global.timeout, "the Secret", async move {
        let cluster = global.connect().await?;
        upsert(&cluster, &kinds::SECRET, &secret).await?;
        output::action(&format!("git secret '{name}' created in '{ns}' namespace"));
        Ok(())
    })
}

/// `--source` of `create kustomization`: `[Kind/]name[.namespace]`.
fn parse_source(text: &str) -> anyhow::Result<(String, String, Option<String>)> {
    let (kind, rest) = match text.split_once('/') {
        Some((k, r)) => (k.to_owned(), r),
        None => ("GitRepository".to_owned(), text),
    };
    let supported = ["GitRepository", "OCIRepository", "Bucket"];
    let Some(kind) = supported.iter().find(|k| k.eq_ignore_ascii_case(&kind)) else {
        anyhow::bail!(
            "invalid argument {text:?} for \"--source\" flag: source kind '{kind}' is not supported, must be one of: {}",
            supported.join(", ")
        );
    };
    let (name, ns) = match rest.split_once('.') {
        Some((n, ns)) => (n.to_owned(), Some(ns.to_owned())),
        None => (rest.to_owned(), None),
    };
    if name.is_empty() {
        anyhow::bail!("invalid argument {text:?} for \"--source\" flag: no name given");
    }
    Ok(((*kind).to_owned(), name, ns))
}

fn kustomization(
    a: KustomizationArgs,
    name: &str,
    labels: Map<String, Value>,
    flags: &CreateFlags,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    if a.path.is_empty() {
        anyhow::bail!("path is required");
    }
    if !a.path.starts_with("./") {
        anyhow::bail!("path must begin with ./");
    }
    if a.path.split('/').any(|seg| seg == "..") {
        anyhow::bail!(
            "invalid argument {:?} for \"--path\" flag: path must not leave the source",
            a.path
        );
    }
    if a.source.is_empty() {
        anyhow::bail!("source is required");
    }
    let (source_kind, source_name, source_ns) = parse_source(&a.source)?;
    let ns = global.namespace.clone();
    let mut source_ref = json!({"kind": source_kind, "name": source_name});
    if let Some(sns) = source_ns {
        source_ref["namespace"] = json!(sns);
    }
    let mut spec = json!({
        "interval": go_duration_string(flags.interval),
        "path": a.path,
        "prune": a.prune,
        "sourceRef": source_ref,
    });
    if !a.target_namespace.is_empty() {
        spec["targetNamespace"] = json!(a.target_namespace);
    }
    if !a.depends_on.is_empty() {
        let deps: Vec<Value> = a
            .depends_on
            .iter()
            .map(|d| match d.split_once('/') {
                Some((dns, dname)) => json!({"name": dname, "namespace": dns}),
                None => json!({"name": d}),
            })
            .collect();
        spec["dependsOn"] = json!(deps);
    }
    if !a.kubeconfig_secret_ref.is_empty() {
        spec["kubeConfig"] = json!({"secretRef": {"name": a.kubeconfig_secret_ref}});
    }
    let timeout = go_duration_string(a.health_check_timeout);
    if !a.health_check.is_empty() && !a.wait {
        let mut checks = Vec::new();
        for w in &a.health_check {
            let parts: Vec<&str> = w.split('/').collect();
            let [kind, name_ns] = parts.as_slice() else {
                anyhow::bail!(
                    "invalid health check '{w}' must be in the format 'kind/name.namespace'"
                );
            };
            if !["Deployment", "DaemonSet", "StatefulSet", "HelmRelease"].contains(kind) {
                anyhow::bail!(
                    "invalid health check kind '{kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
                );
            }
            let nn: Vec<&str> = name_ns.split('.').collect();
            let [hname, hns] = nn.as_slice() else {
                anyhow::bail!(
                    "invalid health check '{w}' must be in the format 'kind/name.namespace'"
                );
            };
            let mut check = json!({"kind": kind, "name": hname, "namespace": hns});
            if *kind == "HelmRelease" {
                check["apiVersion"] = json!("helm.toolkit.fluxcd.io/v2");
            }
            checks.push(check);
        }
        spec["healthChecks"] = json!(checks);
        spec["timeout"] = json!(timeout);
    }
    if a.wait {
        spec["wait"] = json!(true);
        spec["timeout"] = json!(timeout);
    }
    if !a.service_account.is_empty() {
        spec["serviceAccountName"] = json!(a.service_account);
    }
    if !a.decryption_provider.is_empty() {
        let mut d = json!({"provider": a.decryption_provider});
        if !a.decryption_secret.is_empty() {
            d["secretRef"] = json!({"name": a.decryption_secret});
        }
        spec["decryption"] = d;
    }
    if let Some(r) = a.retry_interval {
        spec["retryInterval"] = json!(go_duration_string(r));
    }
    let kind = kinds::KUSTOMIZATION;
    let ks = object(&kind, name, &ns, &labels, spec);
    if flags.export {
        print!("{}", export_yaml::export_document(&ks)?);
        return Ok(());
    }
    output::generate("generating Kustomization");
    let name = name.to_owned();
    crate::cluster::block_on(global.timeout, "the Kustomization", async move {
        let cluster = global.connect().await?;
        output::action("applying Kustomization");
        let created = upsert(&cluster, &kind, &ks).await?;
        output::success(if created {
            "Kustomization created"
        } else {
            "Kustomization updated"
        });
        let obj = crate::wait::until_ready(
            &cluster,
            &kind,
            &ns,
            &name,
            "waiting for Kustomization reconciliation",
        )
        .await?;
        output::success(&format!("Kustomization {name} is ready"));
        output::success(&format!(
            "applied revision {}",
            obj.pointer("/status/lastAppliedRevision")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ));
        Ok(())
    })
}
