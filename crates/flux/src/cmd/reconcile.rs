//! `flux reconcile`: request a reconciliation and wait until the controller handled it.

use serde_json::Value;

use crate::cluster::{Cluster, GlobalArgs};
use crate::cmd::target::success_message;
use crate::kinds::{self, FluxKind};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Reconcile sources.
    Source {
        #[command(subcommand)]
        what: SourceWhat,
    },
    /// Reconcile a Kustomization resource.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization(KustomizationArgs),
    /// Reconcile a HelmRelease resource (without its source).
    #[command(aliases = ["hr", "helmreleases"])]
    Helmrelease(NameArg),
}

#[derive(Debug, clap::Subcommand)]
pub enum SourceWhat {
    /// Reconcile a GitRepository source.
    Git(NameArg),
    /// Reconcile an OCIRepository source.
    Oci(NameArg),
    /// Reconcile a Bucket source.
    Bucket(NameArg),
    /// Reconcile a HelmRepository source.
    Helm(NameArg),
    /// Reconcile a HelmChart source.
    Chart(NameArg),
}

#[derive(Debug, clap::Args)]
pub struct NameArg {
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct KustomizationArgs {
    pub name: Option<String>,
    /// Reconcile Kustomization source.
    #[arg(long)]
    pub with_source: bool,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let (kind, name, with_source) = match args.what {
        What::Source { what } => match what {
            SourceWhat::Git(a) => (kinds::GIT_REPOSITORY, a.name, false),
            SourceWhat::Oci(a) => (kinds::OCI_REPOSITORY, a.name, false),
            SourceWhat::Bucket(a) => (kinds::BUCKET, a.name, false),
            SourceWhat::Helm(a) => (kinds::HELM_REPOSITORY, a.name, false),
            SourceWhat::Chart(a) => (kinds::HELM_CHART, a.name, false),
        },
        What::Kustomization(a) => (kinds::KUSTOMIZATION, a.name, a.with_source),
        What::Helmrelease(a) => (kinds::HELM_RELEASE, a.name, false),
    };
    let Some(name) = name else {
        anyhow::bail!("{} name is required", kind.kind);
    };
    crate::cluster::block_on(global.timeout, "the reconciliation", async move {
        let cluster = global.connect().await?;
        let ns = cluster.namespace.clone();
        let obj = cluster.get_required(&kind, &ns, &name).await?;
        if is_suspended(&obj) {
            anyhow::bail!("resource is suspended");
        }
        if with_source {
            let source_kind = obj
                .pointer("/spec/sourceRef/kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let source_name = obj
                .pointer("/spec/sourceRef/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let source_ns = obj
                .pointer("/spec/sourceRef/namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(&ns);
            let Some(source) =
                kinds::by_kind(source_kind).filter(|k| k.group == kinds::GIT_REPOSITORY.group)
            else {
                anyhow::bail!("cannot reconcile source of kind {source_kind}");
            };
            let source_obj = cluster
                .get_required(&source, source_ns, source_name)
                .await?;
            if is_suspended(&source_obj) {
                anyhow::bail!("resource is suspended");
            }
            reconcile_one(&cluster, &source, source_ns, source_name, &source_obj, true).await?;
        }
        reconcile_one(
            &cluster,
            &kind,
            &ns,
            &name,
            &obj,
            kind.group == kinds::GIT_REPOSITORY.group,
        )
        .await
    })
}

fn is_suspended(obj: &Value) -> bool {
    obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
}

/// Annotates, waits, and reports one object. `quoted` follows upstream's two spellings of
/// the failure message.
async fn reconcile_one(
    cluster: &Cluster,
    kind: &FluxKind,
    ns: &str,
    name: &str,
    obj: &Value,
    quoted: bool,
) -> anyhow::Result<()> {
    let last_handled = crate::wait::last_handled_reconcile_at(obj);
    output::action(&format!(
        "annotating {} {name} in {ns} namespace",
        kind.kind
    ));
    crate::wait::request_reconciliation(cluster, kind, ns, name).await?;
    output::success(&format!("{} annotated", kind.kind));
    let what = format!("waiting for {} reconciliation", kind.kind);
    let obj = crate::wait::until_reconciled(cluster, kind, ns, name, &what, &last_handled).await?;
    let Some(ready) = crate::cmd::get::find_condition(&obj, "Ready") else {
        anyhow::bail!("status can't be determined");
    };
    if ready.get("status").and_then(Value::as_str) != Some("True") {
        let msg = ready
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if quoted {
            anyhow::bail!("{} reconciliation failed: '{msg}'", kind.kind);
        }
        anyhow::bail!("{} reconciliation failed: {msg}", kind.kind);
    }
    output::success(&success_message(kind, &obj));
    Ok(())
}
