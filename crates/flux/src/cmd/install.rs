//! `flux install`: the Flux CRDs, the namespace, RBAC and the `fluxd` Deployment; printed
//! with `--export`, applied with server-side apply (flux-ssa) otherwise.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::GlobalArgs;
use crate::output;

/// The label every installed object carries (`flux check` finds components by it).
pub const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "flux");

/// Flags of `flux install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the manifests to stdout instead of applying them.
    #[arg(long)]
    pub export: bool,
    /// Controllers fluxd runs: source, kustomize (helm, notification, image, watcher are
    /// accepted by fluxd's flag but not implemented yet).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "source-controller,kustomize-controller"
    )]
    pub components: Vec<String>,
    /// Container registry where the fluxd image is pulled from.
    #[arg(long, default_value = "ghcr.io/flux-rs")]
    pub registry: String,
    /// Image tag of fluxd (default: this CLI's version).
    #[arg(short = 'v', long)]
    pub version: Option<String>,
    /// Watch for custom resources in all namespaces; if false, only in the install namespace.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_all_namespaces: bool,
    /// Log level of fluxd: debug, info, error.
    #[arg(long, default_value = "info", value_parser = ["debug", "info", "error"])]
    pub log_level: String,
    /// The internal cluster domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
}

/// Maps `--components` to fluxd's `--controllers` names.
fn controllers(components: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for c in components {
        let name = match c.trim_end_matches("-controller") {
            "source" => "source",
            "kustomize" => "kustomize",
            "helm" => "helm",
            "notification" => "notification",
            "image-reflector" | "image-automation" => "image",
            "source-watcher" => "watcher",
            other => anyhow::bail!(
                "component {other:?} is not supported, can be: source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller, image-automation-controller, source-watcher"
            ),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn labels(ns: &str, version: &str) -> Value {
    json!({
        "app.kubernetes.io/instance": ns,
        PART_OF.0: PART_OF.1,
        "app.kubernetes.io/version": version,
    })
}

/// Every installed object, CRDs first (in the order `install --export` printed them before
/// the controllers were added), then namespace, RBAC, Service and Deployment.
pub fn manifests(args: &Args, ns: &str) -> anyhow::Result<Vec<Value>> {
    let version = args
        .version
        .clone()
        .unwrap_or_else(|| format!("v{}", crate::cmd::version::VERSION));
    let controllers = controllers(&args.components)?;
    let common = labels(ns, &version);
    let with_component = |component: &str| {
        let mut l = common.clone();
        l["app.kubernetes.io/component"] = json!(component);
        l
    };
    let mut docs = Vec::new();
    for mut crd in flux_api::crds::all_crds()? {
        let component = match crd.pointer("/spec/group").and_then(Value::as_str) {
            Some("kustomize.toolkit.fluxcd.io") => "kustomize-controller",
            Some("helm.toolkit.fluxcd.io") => "helm-controller",
            Some("notification.toolkit.fluxcd.io") => "notification-controller",
            Some("image.toolkit.fluxcd.io") => "image-reflector-controller",
            Some("source.extensions.fluxcd.io") => "source-watcher",
            _ => "source-controller",
        };
        let labels = crd["metadata"]["labels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut merged = with_component(component);
        for (k, v) in labels {
            merged[k] = v;
        }
        crd["metadata"]["labels"] = merged;
        docs.push(crd);
    }
    let mut ns_labels = common.clone();
    ns_labels["pod-security.kubernetes.io/warn"] = json!("restricted");
    ns_labels["pod-security.kubernetes.io/warn-version"] = json!("latest");
    docs.push(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": ns_labels},
    }));
    docs.push(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "fluxd", "namespace": ns, "labels": with_component("fluxd")},
    }));
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": format!("crd-controller-{ns}"), "labels": common},
        "rules": [
            {"apiGroups": ["source.toolkit.fluxcd.io", "source.extensions.fluxcd.io",
                           "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io",
                           "notification.toolkit.fluxcd.io", "image.toolkit.fluxcd.io"],
             "resources": ["*"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["namespaces", "secrets", "configmaps", "serviceaccounts"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["configmaps"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        ],
    }));
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("cluster-reconciler-{ns}"), "labels": common},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "fluxd", "namespace": ns}],
    }));
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("crd-controller-{ns}"), "labels": common},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": format!("crd-controller-{ns}")},
        "subjects": [{"kind": "ServiceAccount", "name": "fluxd", "namespace": ns}],
    }));
    if controllers.contains(&"source") {
        docs.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "source-controller", "namespace": ns,
                         "labels": with_component("source-controller")},
            "spec": {"type": "ClusterIP", "selector": {"app": "fluxd"},
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]},
        }));
    }
    let mut container_args = vec![
        format!("--controllers={}", controllers.join(",")),
        format!("--watch-all-namespaces={}", args.watch_all_namespaces),
        format!("--log-level={}", args.log_level),
        "--log-encoding=json".to_owned(),
        "--enable-leader-election".to_owned(),
    ];
    if controllers.contains(&"source") {
        container_args.push("--storage-path=/data".to_owned());
        container_args.push(format!(
            "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.{}.",
            args.cluster_domain
        ));
    }
    docs.push(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "fluxd", "namespace": ns, "labels": with_component("fluxd")},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "fluxd"}},
            "template": {
                "metadata": {"labels": {"app": "fluxd"},
                             "annotations": {"prometheus.io/port": "8080", "prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": "fluxd",
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {"fsGroup": 1337},
                    "containers": [{
                        "name": "manager",
                        "image": format!("{}/fluxd:{version}", args.registry),
                        "imagePullPolicy": "IfNotPresent",
                        "args": container_args,
                        "env": [{"name": "RUNTIME_NAMESPACE",
                                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                        "ports": [
                            {"containerPort": 9090, "name": "http", "protocol": "TCP"},
                            {"containerPort": 8080, "name": "http-prom", "protocol": "TCP"},
                            {"containerPort": 9440, "name": "healthz", "protocol": "TCP"},
                        ],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "healthz"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}},
                        "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"},
                                      "requests": {"cpu": "100m", "memory": "64Mi"}},
                        "securityContext": {
                            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }));
    Ok(docs)
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let ns = global.namespace.clone();
    let docs = manifests(&args, &ns)?;
    if args.export {
        print!("{}", flux_object::yaml::to_multi_doc_string(&docs)?);
        return Ok(());
    }
    output::generate("generating manifests");
    output::success("manifests build completed");
    output::action(&format!("installing components in {ns} namespace"));
    let verbose = global.verbose;
    crate::cluster::block_on(global.timeout, "the installation", async move {
        let cluster = global.connect().await?;
        let manager = flux_ssa::ResourceManager::new(
            cluster.client.clone(),
            flux_ssa::Owner {
                field: "flux".to_owned(),
                group: "fluxcd.io".to_owned(),
            },
        );
        let options = flux_ssa::ApplyOptions {
            wait_interval: Duration::from_millis(500),
            ..flux_ssa::ApplyOptions::default()
        };
        let changes = manager
            .apply_all_staged(docs, &options)
            .await
            .map_err(|e| anyhow::anyhow!("install failed: {}", crate::cluster::one_line(&e)))?;
        for entry in &changes.entries {
            if verbose || !matches!(entry.action, flux_ssa::Action::Unchanged) {
                output::success(&entry.to_string());
            }
        }
        output::success("install finished");
        Ok(())
    })
}
