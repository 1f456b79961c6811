//! `flux check`: the Kubernetes version (`--pre`), then the installed Flux: version, controller
//! Deployments, CRDs.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::cluster::{Cluster, GlobalArgs};
use crate::output;

/// The Kubernetes versions flux-rs supports (as upstream Flux 2.9).
const KUBERNETES_MIN: (u64, u64) = (1, 33);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only run pre-installation checks.
    #[arg(long)]
    pub pre: bool,
    /// How often the health checker polls the cluster.
    #[arg(long, default_value = "5s", value_parser = crate::cluster::parse_go_duration)]
    pub poll_interval: Duration,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    output::action("checking prerequisites");
    crate::cluster::block_on(global.timeout, "the checks", async move {
        let cluster = global.connect().await?;
        let mut failed = !kubernetes_check(&cluster).await?;
        if args.pre {
            if failed {
                return Err(crate::Reported.into());
            }
            output::success("prerequisites checks passed");
            return Ok(());
        }
        output::action("checking version in cluster");
        failed |= !version_check(&cluster).await?;
        output::action("checking controllers");
        failed |=
            !controllers_check(&cluster, args.poll_interval.min(Duration::from_secs(1))).await?;
        output::action("checking crds");
        failed |= !crds_check(&cluster).await?;
        if failed {
            output::failure("check failed");
            return Err(crate::Reported.into());
        }
        output::success("all checks passed");
        Ok(())
    })
}

fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.trim_start_matches('v').split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

async fn kubernetes_check(cluster: &Cluster) -> anyhow::Result<bool> {
    let info = cluster
        .client
        .apiserver_version()
        .await
        .map_err(|e| cluster.error(e))?;
    let constraint = format!(">={}.{}.0-0", KUBERNETES_MIN.0, KUBERNETES_MIN.1);
    let Some((major, minor, patch)) = parse_version(&info.git_version) else {
        output::failure("Kubernetes version can't be determined");
        return Ok(false);
    };
    if (major, minor) < KUBERNETES_MIN {
        output::failure(&format!(
            "Kubernetes version {} does not match {constraint}",
            info.git_version
        ));
        return Ok(false);
    }
    output::success(&format!("Kubernetes {major}.{minor}.{patch} {constraint}"));
    Ok(true)
}

async fn version_check(cluster: &Cluster) -> anyhow::Result<bool> {
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let name = crate::kinds::KUSTOMIZATION.crd_name();
    let crd = match crds.get_opt(&name).await.map_err(|e| cluster.error(e))? {
        Some(crd) => crd,
        None => {
            output::failure(&format!(
                "checking failed: customresourcedefinitions.apiextensions.k8s.io \"{name}\" not found"
            ));
            return Ok(false);
        }
    };
    let labels = crd.metadata.labels.unwrap_or_default();
    if let Some(version) = labels.get("app.kubernetes.io/version") {
        output::success(&format!("distribution: flux-{version}"));
    }
    let bootstrapped = labels.contains_key("kustomize.toolkit.fluxcd.io/name");
    output::success(&format!("bootstrapped: {bootstrapped}"));
    Ok(true)
}

fn part_of_selector() -> String {
    format!(
        "{}={}",
        super::install::PART_OF.0,
        super::install::PART_OF.1
    )
}

async fn controllers_check(cluster: &Cluster, poll: Duration) -> anyhow::Result<bool> {
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let list = api
        .list(&ListParams::default().labels(&part_of_selector()))
        .await
        .map_err(|e| cluster.error(e))?;
    if list.items.is_empty() {
        output::failure(&format!(
            "no controllers found in the '{}' namespace with the label selector '{}'",
            cluster.namespace,
            part_of_selector()
        ));
        return Ok(false);
    }
    let mut ok = true;
    for deployment in list.items {
        let name = deployment.metadata.name.clone().unwrap_or_default();
        let images: Vec<String> = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|p| {
                p.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut current = serde_json::to_value(&deployment)?;
        let ready = loop {
            let result = flux_ssa::kstatus::compute(&add_type_meta(&mut current));
            match result.status {
                flux_ssa::Status::Current => break true,
                flux_ssa::Status::Failed => break false,
                _ => {}
            }
            tokio::time::sleep(poll).await;
            let fresh = api.get(&name).await.map_err(|e| cluster.error(e))?;
            current = serde_json::to_value(&fresh)?;
        };
        if ready {
            output::success(&format!("{name}: deployment ready"));
        } else {
            output::failure(&format!("{name}: deployment not ready"));
            ok = false;
        }
        for image in images {
            output::action(&image);
        }
    }
    Ok(ok)
}

fn add_type_meta(v: &mut Value) -> Value {
    v["apiVersion"] = Value::String("apps/v1".into());
    v["kind"] = Value::String("Deployment".into());
    v.clone()
}

async fn crds_check(cluster: &Cluster) -> anyhow::Result<bool> {
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let list = api
        .list(&ListParams::default().labels(&part_of_selector()))
        .await
        .map_err(|e| cluster.error(e))?;
    if list.items.is_empty() {
        output::failure(&format!(
            "no crds found with the label selector '{}'",
            part_of_selector()
        ));
        return Ok(false);
    }
    let mut ok = true;
    for crd in list.items {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let stored = crd
            .status
            .and_then(|s| s.stored_versions)
            .unwrap_or_default();
        match stored.last() {
            Some(v) => output::success(&format!("{name}/{v}")),
            None => {
                output::failure(&format!("no stored versions for {name}"));
                ok = false;
            }
        }
    }
    Ok(ok)
}
