//! Multi-tenancy: a Kustomization with `serviceAccountName` (or the
//! `--default-service-account`) writes as `system:serviceaccount:<ns>:<name>`, so the
//! embedded API server's RBAC decides what it may change; and `kubeConfig.secretRef`
//! applies to another cluster (a second in-process API server behind TLS).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::Api;
use kube::api::PostParams;
use kustomize_controller::KustomizeOptions;

use crate::fixtures::{Env, Repo, condition, failed_with, have_git, is_ready};

fn config_map(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  key: x\n"
    )
}

const CLUSTER_ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: tenant-escalation
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: ['*']
";

async fn create<K>(api: Api<K>, value: serde_json::Value) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(value)?;
    api.create(&PostParams::default(), &obj).await?;
    Ok(())
}

/// Namespace `tenant` with service account `deployer` allowed everything in `tenant` (a
/// RoleBinding to a Role) and nothing elsewhere, and service account `nobody` with no
/// bindings at all.
async fn tenant_namespace(client: &kube::Client) -> anyhow::Result<()> {
    create::<Namespace>(
        Api::all(client.clone()),
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant"}}),
    )
    .await?;
    for sa in ["deployer", "nobody"] {
        create::<k8s_openapi::api::core::v1::ServiceAccount>(
            Api::namespaced(client.clone(), "tenant"),
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": sa, "namespace": "tenant"}}),
        )
        .await?;
    }
    create::<k8s_openapi::api::rbac::v1::Role>(
        Api::namespaced(client.clone(), "tenant"),
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "tenant-admin", "namespace": "tenant"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
    )
    .await?;
    create::<k8s_openapi::api::rbac::v1::RoleBinding>(
        Api::namespaced(client.clone(), "tenant"),
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "deployer", "namespace": "tenant"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "tenant"}]}),
    )
    .await?;
    Ok(())
}

fn tenant_repo(port: u16) -> anyhow::Result<Repo> {
    Repo::create(
        port,
        &[
            ("own/cm.yaml", &config_map("tenant", "own")),
            ("escalate/role.yaml", CLUSTER_ROLE),
            ("escalate/cm.yaml", &config_map("tenant", "with-role")),
            ("foreign/cm.yaml", &config_map("default", "foreign")),
            ("foreign/own.yaml", &config_map("tenant", "beside-foreign")),
        ],
    )
}

async fn config_map_exists(env: &Env, namespace: &str, name: &str) -> anyhow::Result<bool> {
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), namespace);
    Ok(api.get_opt(name).await?.is_some())
}

/// Ready=False ReconciliationFailed naming `subject` and the impersonated user, and
/// nothing of the set applied.
async fn assert_denied(env: &Env, name: &str, subject: &str, user: &str) -> anyhow::Result<()> {
    let ks = env
        .wait_ks_in("tenant", name, "ReconciliationFailed", |k| {
            failed_with(k, "ReconciliationFailed")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(message.contains(subject), "{name}: {message}");
    assert!(message.contains("forbidden"), "{name}: {message}");
    assert!(message.contains(user), "{name}: {message}");
    let status = ks.status.unwrap_or_default();
    assert!(status.last_applied_revision.is_none());
    assert!(
        status
            .inventory
            .as_ref()
            .is_none_or(|i| i.entries.is_empty()),
        "{name}: {:?}",
        status.inventory
    );
    Ok(())
}

#[tokio::test]
async fn tenant_cannot_create_cluster_roles_or_touch_other_namespaces() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = tenant_repo(21551)?;
    let env = Env::start(KustomizeOptions::default()).await?;
    tenant_namespace(&env.client).await?;
    env.create_repo("repo", &repo).await?;
    let tenant = |path: &str, sa: &str| serde_json::json!({"path": path, "serviceAccountName": sa});
    env.create_ks_in("tenant", "own", tenant("./own", "deployer"))
        .await?;
    env.create_ks_in("tenant", "escalate", tenant("./escalate", "deployer"))
        .await?;
    env.create_ks_in("tenant", "foreign", tenant("./foreign", "deployer"))
        .await?;
    env.create_ks_in("tenant", "unbound", tenant("./own", "nobody"))
        .await?;

    // Allowed: its own namespace.
    env.wait_ks_in("tenant", "own", "Ready", is_ready).await?;
    assert!(config_map_exists(&env, "tenant", "own").await?);

    let deployer = "system:serviceaccount:tenant:deployer";
    assert_denied(&env, "escalate", "ClusterRole/tenant-escalation", deployer).await?;
    assert_denied(&env, "foreign", "ConfigMap/default/foreign", deployer).await?;
    // A service account without any RBAC cannot even write its own namespace.
    assert_denied(
        &env,
        "unbound",
        "ConfigMap/tenant/own",
        "system:serviceaccount:tenant:nobody",
    )
    .await?;

    // The cluster is untouched: the dry-run refused each whole set.
    let roles: Api<ClusterRole> = Api::all(env.client.clone());
    assert!(roles.get_opt("tenant-escalation").await?.is_none());
    assert!(!config_map_exists(&env, "tenant", "with-role").await?);
    assert!(!config_map_exists(&env, "default", "foreign").await?);
    assert!(!config_map_exists(&env, "tenant", "beside-foreign").await?);

    // Deleting a Kustomization whose service account is gone: nothing can be pruned as
    // that account, so the objects stay and the Kustomization is released (as upstream).
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(env.client.clone(), "tenant")
        .delete("deployer", &Default::default())
        .await?;
    let tenant_ks: Api<flux_api::kustomize::Kustomization> =
        Api::namespaced(env.client.clone(), "tenant");
    tenant_ks.delete("own", &Default::default()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tenant_ks.get_opt("own").await?.is_some() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the Kustomization of a deleted service account was not finalized"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(config_map_exists(&env, "tenant", "own").await?);
    Ok(())
}

#[tokio::test]
async fn default_service_account_applies_to_kustomizations_without_one() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = tenant_repo(21552)?;
    let env = Env::start(KustomizeOptions {
        default_service_account: Some("deployer".into()),
        ..KustomizeOptions::default()
    })
    .await?;
    tenant_namespace(&env.client).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks_in("tenant", "own", serde_json::json!({"path": "./own"}))
        .await?;
    env.create_ks_in(
        "tenant",
        "escalate",
        serde_json::json!({"path": "./escalate"}),
    )
    .await?;
    env.wait_ks_in("tenant", "own", "Ready", is_ready).await?;
    assert!(config_map_exists(&env, "tenant", "own").await?);
    assert_denied(
        &env,
        "escalate",
        "ClusterRole/tenant-escalation",
        "system:serviceaccount:tenant:deployer",
    )
    .await?;
    let roles: Api<ClusterRole> = Api::all(env.client.clone());
    assert!(roles.get_opt("tenant-escalation").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn kube_config_secret_ref_applies_to_the_remote_cluster() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21553,
        &[
            ("remote/cm.yaml", &config_map("default", "remote-only")),
            (
                "remote/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n",
            ),
        ],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;

    // The remote cluster: another API server, over HTTPS with a bearer token.
    let remote = flux_apiserver::ApiServer::in_memory()?;
    let simulator = remote.start_workload_simulator();
    let tls = flux_apiserver::TlsMaterial::generate()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let serving = {
        let remote = remote.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = remote.serve_tls(listener, &tls).await;
        })
    };
    let kubeconfig =
        flux_apiserver::kubeconfig(&format!("https://{addr}"), &tls.ca_pem, &tls.token);
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "remote-kubeconfig", "namespace": "default"},
        "data": {"value.yaml": base64_encode(kubeconfig.as_bytes())},
    }))?;
    Api::<Secret>::namespaced(env.client.clone(), "default")
        .create(&PostParams::default(), &secret)
        .await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "remote",
        serde_json::json!({"path": "./remote", "wait": true, "timeout": "30s",
            "kubeConfig": {"secretRef": {"name": "remote-kubeconfig"}}}),
    )
    .await?;
    env.create_ks(
        "no-key",
        serde_json::json!({"path": "./remote",
            "kubeConfig": {"secretRef": {"name": "remote-kubeconfig", "key": "absent"}}}),
    )
    .await?;
    let ks = env.wait_ks("remote", "Ready", is_ready).await?;
    assert_eq!(
        condition(&ks, "Healthy").map(|c| c.0),
        Some("True".to_string())
    );
    let remote_client = kube::Client::new(remote.router(), "default");
    let remote_cms: Api<ConfigMap> = Api::namespaced(remote_client, "default");
    let applied = remote_cms.get_opt("remote-only").await?;
    assert!(applied.is_some(), "not applied to the remote cluster");
    assert!(
        !config_map_exists(&env, "default", "remote-only").await?,
        "applied to the local cluster"
    );

    let ks = env
        .wait_ks("no-key", "ReconciliationFailed", |k| {
            failed_with(k, "ReconciliationFailed")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.contains("KubeConfig secret 'default/remote-kubeconfig'")
            && message.contains("'absent'"),
        "{message}"
    );

    // Deleting the Kustomization prunes on the remote cluster.
    env.kustomizations()
        .delete("remote", &Default::default())
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while remote_cms.get_opt("remote-only").await?.is_some() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not pruned from the remote cluster"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    serving.abort();
    simulator.abort();
    Ok(())
}

/// Standard base64 with padding (Secret `data` values).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
