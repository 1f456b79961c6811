//! `flux uninstall`: delete the components, the Flux objects' finalizers, the CRDs and the
//! namespace.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use crate::cluster::{Cluster, GlobalArgs, is_not_found};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip namespace deletion.
    #[arg(long)]
    pub keep_namespace: bool,
    /// Only print the objects that would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete components without asking for confirmation.
    #[arg(short = 's', long)]
    pub silent: bool,
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        api_version: if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    }
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    crate::cluster::block_on(global.timeout, "the uninstallation", async move {
        let cluster = global.connect().await?;
        // Reach the cluster before asking.
        cluster
            .client
            .apiserver_version()
            .await
            .map_err(|e| cluster.error(e))?;
        if !args.dry_run
            && !args.silent
            && !crate::cmd::delete::confirm(
                "Are you sure you want to delete Flux and its custom resource definitions",
            )
        {
            anyhow::bail!("aborting");
        }
        let ns = cluster.namespace.clone();
        let suffix = if args.dry_run { " (dry run)" } else { "" };
        let selector = format!(
            "{}={}",
            super::install::PART_OF.0,
            super::install::PART_OF.1
        );

        output::action(&format!("deleting components in {ns} namespace"));
        let namespaced = [
            resource("apps", "v1", "Deployment", "deployments"),
            resource("", "v1", "Service", "services"),
            resource(
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
            ),
            resource("", "v1", "ServiceAccount", "serviceaccounts"),
        ];
        for ar in &namespaced {
            let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), &ns, ar);
            delete_labelled(
                &cluster,
                &api,
                ar,
                &selector,
                Some(&ns),
                args.dry_run,
                suffix,
            )
            .await?;
        }
        for ar in [
            resource(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
                "clusterroles",
            ),
            resource(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
            ),
        ] {
            let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &ar);
            delete_labelled(&cluster, &api, &ar, &selector, None, args.dry_run, suffix).await?;
        }

        output::action("deleting toolkit.fluxcd.io finalizers in all namespaces");
        let crd_ar = resource(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        );
        let crds: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &crd_ar);
        let crd_list = crds
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| cluster.error(e))?;
        for crd in &crd_list.items {
            let crd = crate::cluster::to_value(crd)?;
            let Some(ar) = served_resource(&crd) else {
                continue;
            };
            let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &ar);
            let Ok(objects) = api.list(&ListParams::default()).await else {
                continue;
            };
            for obj in objects.items {
                let has_finalizers = obj
                    .metadata
                    .finalizers
                    .as_ref()
                    .is_some_and(|f| !f.is_empty());
                if !has_finalizers {
                    continue;
                }
                let name = obj.metadata.name.clone().unwrap_or_default();
                let obj_ns = obj.metadata.namespace.clone().unwrap_or_default();
                if !args.dry_run {
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(cluster.client.clone(), &obj_ns, &ar);
                    api.patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                    )
                    .await
                    .map_err(|e| cluster.error(e))?;
                }
                output::success(&format!(
                    "{}/{obj_ns}/{name} finalizers deleted{suffix}",
                    ar.kind
                ));
            }
        }

        output::action("deleting toolkit.fluxcd.io custom resource definitions");
        for crd in &crd_list.items {
            let name = crd.metadata.name.clone().unwrap_or_default();
            if !args.dry_run {
                delete_ignoring_missing(&cluster, &crds, &name).await?;
            }
            output::success(&format!("CustomResourceDefinition/{name} deleted{suffix}"));
        }

        if !args.keep_namespace {
            let ar = resource("", "v1", "Namespace", "namespaces");
            let api: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &ar);
            if api
                .get_opt(&ns)
                .await
                .map_err(|e| cluster.error(e))?
                .is_some()
            {
                if !args.dry_run {
                    delete_ignoring_missing(&cluster, &api, &ns).await?;
                }
                output::success(&format!("Namespace/{ns} deleted{suffix}"));
            }
        }
        output::success("uninstall finished");
        Ok(())
    })
}

/// The storage version's resource of a CRD.
fn served_resource(crd: &Value) -> Option<ApiResource> {
    let group = crd.pointer("/spec/group")?.as_str()?;
    let kind = crd.pointer("/spec/names/kind")?.as_str()?;
    let plural = crd.pointer("/spec/names/plural")?.as_str()?;
    let versions = crd.pointer("/spec/versions")?.as_array()?;
    let version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .or_else(|| versions.first())?
        .get("name")?
        .as_str()?;
    Some(resource(group, version, kind, plural))
}

async fn delete_ignoring_missing(
    cluster: &Cluster,
    api: &Api<DynamicObject>,
    name: &str,
) -> anyhow::Result<()> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(cluster.error(e)),
    }
}

async fn delete_labelled(
    cluster: &Cluster,
    api: &Api<DynamicObject>,
    ar: &ApiResource,
    selector: &str,
    ns: Option<&str>,
    dry_run: bool,
    suffix: &str,
) -> anyhow::Result<()> {
    let list = match api.list(&ListParams::default().labels(selector)).await {
        Ok(list) => list,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(cluster.error(e)),
    };
    for obj in list.items {
        let name = obj.metadata.name.clone().unwrap_or_default();
        if !dry_run {
            delete_ignoring_missing(cluster, api, &name).await?;
        }
        match ns {
            Some(ns) => output::success(&format!("{}/{ns}/{name} deleted{suffix}", ar.kind)),
            None => output::success(&format!("{}/{name} deleted{suffix}", ar.kind)),
        }
    }
    Ok(())
}
