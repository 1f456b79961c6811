//! `flux trace`: which Kustomization manages an object, and that Kustomization's source.

use kube::api::{Api, DynamicObject};
use kube::discovery::{ApiResource, Discovery};
use serde_json::Value;

use crate::cluster::{Cluster, GlobalArgs};
use crate::cmd::get::find_condition;
use crate::kinds;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `<resource>/<name>`, `<resource> <name>`, or `<name>` with --kind and --api-version.
    pub args: Vec<String>,
    /// The Kubernetes object kind, e.g. Deployment.
    #[arg(long, default_value = "")]
    pub kind: String,
    /// The Kubernetes object API version, e.g. apps/v1.
    #[arg(long, default_value = "")]
    pub api_version: String,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    if args.kind.is_empty() != args.api_version.is_empty() {
        anyhow::bail!("both --kind and --api-version must be specified, or neither");
    }
    let text = crate::cluster::block_on(global.timeout, "the trace", async move {
        let cluster = global.connect().await?;
        let (ar, name) = resolve(&cluster, &args).await?;
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), &cluster.namespace, &ar);
        let obj = match api.get_opt(&name).await.map_err(|e| cluster.error(e))? {
            Some(o) => crate::cluster::to_value(&o)?,
            None => anyhow::bail!(
                "failed to find object: {} \"{name}\" not found",
                if ar.group.is_empty() {
                    ar.plural.clone()
                } else {
                    format!("{}.{}", ar.plural, ar.group)
                }
            ),
        };
        trace(&cluster, &ar.kind, &obj).await.map_err(|e| {
            anyhow::anyhow!(
                "failed to trace {}/{name} in namespace {}: {e:#}",
                ar.kind,
                cluster.namespace
            )
        })
    })?;
    print!("{text}");
    Ok(())
}

async fn resolve(cluster: &Cluster, args: &Args) -> anyhow::Result<(ApiResource, String)> {
    if !args.kind.is_empty() {
        let Some(name) = args.args.first() else {
            anyhow::bail!("object name is required");
        };
        let (group, version) = args
            .api_version
            .split_once('/')
            .unwrap_or(("", args.api_version.as_str()));
        let discovery = Discovery::new(cluster.client.clone())
            .run()
            .await
            .map_err(|e| cluster.error(e))?;
        for g in discovery.groups() {
            for (ar, _) in g.recommended_resources() {
                if ar.group == group
                    && ar.version == version
                    && ar.kind.eq_ignore_ascii_case(&args.kind)
                {
                    return Ok((ar, name.clone()));
                }
            }
        }
        anyhow::bail!(
            "no matches for kind \"{}\" in version \"{}\"",
            args.kind,
            args.api_version
        );
    }
    let (resource, name) = match args.args.as_slice() {
        [one] if one.contains('/') => {
            let (r, n) = one.split_once('/').unwrap_or_default();
            (r.to_owned(), n.to_owned())
        }
        [r, n] => (r.clone(), n.clone()),
        _ => anyhow::bail!(
            "either `<resource>/<name>` or `<resource> <name>` is required as an argument"
        ),
    };
    let discovery = Discovery::new(cluster.client.clone())
        .run()
        .await
        .map_err(|e| cluster.error(e))?;
    let wanted = resource.to_lowercase();
    for g in discovery.groups() {
        for (ar, _) in g.recommended_resources() {
            if ar.plural == wanted || ar.kind.to_lowercase() == wanted {
                return Ok((ar, name));
            }
        }
    }
    anyhow::bail!("the server doesn't have a resource type \"{resource}\"")
}

fn go_time(ts: &str) -> String {
    // metav1.Time as Go's time.Time.String() prints it.
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string(),
        Err(_) => ts.to_owned(),
    }
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn trace(cluster: &Cluster, kind: &str, obj: &Value) -> anyhow::Result<String> {
    let labels = obj.pointer("/metadata/labels");
    let label = |k: &str| {
        labels
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (Some(ks_name), Some(ks_ns)) = (
        label("kustomize.toolkit.fluxcd.io/name"),
        label("kustomize.toolkit.fluxcd.io/namespace"),
    ) else {
        anyhow::bail!("object not managed by Flux");
    };
    let ks = cluster
        .get(&kinds::KUSTOMIZATION, &ks_ns, &ks_name)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "failed to find kustomization: {} \"{ks_name}\" not found",
                kinds::KUSTOMIZATION.crd_name()
            )
        })?;
    let mut out = String::from("\n");
    out.push_str(&format!(
        "Object:          {kind}/{}\n",
        text(obj, "/metadata/name")
    ));
    let ns = text(obj, "/metadata/namespace");
    if !ns.is_empty() {
        out.push_str(&format!("Namespace:       {ns}\n"));
    }
    out.push_str("Status:          Managed by Flux\n---\n");
    out.push_str(&format!(
        "Kustomization:   {ks_name}\nNamespace:       {ks_ns}\n"
    ));
    let target = text(&ks, "/spec/targetNamespace");
    if !target.is_empty() {
        out.push_str(&format!("Target:          {target}\n"));
    }
    out.push_str(&format!("Path:            {}\n", text(&ks, "/spec/path")));
    out.push_str(&format!(
        "Revision:        {}\n",
        text(&ks, "/status/lastAppliedRevision")
    ));
    status_lines(&ks, false, &mut out);
    let source_kind = text(&ks, "/spec/sourceRef/kind");
    let source_name = text(&ks, "/spec/sourceRef/name");
    let mut source_ns = text(&ks, "/spec/sourceRef/namespace");
    if source_ns.is_empty() {
        source_ns = ks_ns.clone();
    }
    if source_kind == "GitRepository" || source_kind == "OCIRepository" {
        let source_kind_def = if source_kind == "GitRepository" {
            kinds::GIT_REPOSITORY
        } else {
            kinds::OCI_REPOSITORY
        };
        let source = cluster
            .get(&source_kind_def, &source_ns, &source_name)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "failed to find {source_kind}: {} \"{source_name}\" not found",
                    source_kind_def.crd_name()
                )
            })?;
        out.push_str("---\n");
        out.push_str(&format!("{:<17}{source_name}\n", format!("{source_kind}:")));
        out.push_str(&format!("Namespace:       {source_ns}\n"));
        out.push_str(&format!(
            "URL:             {}\n",
            text(&source, "/spec/url")
        ));
        let tag = text(&source, "/spec/ref/tag");
        let semver = text(&source, "/spec/ref/semver");
        let branch = text(&source, "/spec/ref/branch");
        let digest = text(&source, "/spec/ref/digest");
        if !tag.is_empty() {
            out.push_str(&format!("Tag:             {tag}\n"));
        } else if !semver.is_empty() {
            out.push_str(&format!("Tag:             {semver}\n"));
        } else if !branch.is_empty() {
            out.push_str(&format!("Branch:          {branch}\n"));
        } else if !digest.is_empty() {
            out.push_str(&format!("Digest:          {digest}\n"));
        }
        let revision = text(&source, "/status/artifact/revision");
        if !revision.is_empty() {
            out.push_str(&format!("Revision:        {revision}\n"));
        }
        status_lines(&source, true, &mut out);
    }
    Ok(out)
}

fn status_lines(obj: &Value, failed_wording: bool, out: &mut String) {
    match find_condition(obj, "Ready") {
        Some(ready) => {
            let when = go_time(
                ready
                    .get("lastTransitionTime")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            let failed =
                failed_wording && ready.get("status").and_then(Value::as_str) == Some("False");
            if failed {
                out.push_str(&format!(
                    "Status:          Last reconciliation failed at {when}\n"
                ));
            } else {
                out.push_str(&format!("Status:          Last reconciled at {when}\n"));
            }
            out.push_str(&format!(
                "Message:         {}\n",
                ready
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ));
        }
        None => out.push_str("Status:          Unknown\n"),
    }
}
