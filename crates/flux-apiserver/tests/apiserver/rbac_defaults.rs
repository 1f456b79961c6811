//! The bootstrap RBAC policy (cluster-admin, admin, edit, view) and ClusterRole
//! aggregation, checked through SubjectAccessReviews answered by the authorizer.

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::json;

use super::in_process;

async fn allowed(
    client: &kube::Client,
    user: &str,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: &str,
) -> anyhow::Result<bool> {
    let reviews: Api<SubjectAccessReview> = Api::all(client.clone());
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {"user": user, "groups": ["system:serviceaccounts", "system:authenticated"],
                 "resourceAttributes": {"verb": verb, "group": group, "resource": resource,
                                        "namespace": namespace}}}))?;
    let answer = reviews.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

#[tokio::test]
async fn default_cluster_roles_and_aggregation() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    for name in ["cluster-admin", "admin", "edit", "view"] {
        assert!(roles.get_opt(name).await?.is_some(), "{name} exists");
    }
    let crb: Api<ClusterRoleBinding> = Api::all(client.clone());
    let binding = crb.get("cluster-admin").await?;
    assert_eq!(binding.role_ref.name, "cluster-admin");

    let sa = "system:serviceaccount:default:ci";
    assert!(!allowed(&client, sa, "create", "apps", "deployments", "default").await?);
    let rbs: Api<RoleBinding> = Api::namespaced(client.clone(), "default");
    let bind = |name: &str, role: &str| -> anyhow::Result<RoleBinding> {
        Ok(serde_json::from_value(json!({"metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "default"}]}))?)
    };
    rbs.create(&PostParams::default(), &bind("ci-edit", "edit")?)
        .await?;
    // edit = its own rules + view's (aggregated), not admin's.
    assert!(allowed(&client, sa, "create", "apps", "deployments", "default").await?);
    assert!(allowed(&client, sa, "list", "", "pods", "default").await?);
    assert!(allowed(&client, sa, "get", "", "secrets", "default").await?);
    assert!(
        !allowed(
            &client,
            sa,
            "create",
            "rbac.authorization.k8s.io",
            "roles",
            "default"
        )
        .await?
    );
    assert!(!allowed(&client, sa, "create", "apps", "deployments", "other").await?);
    // A CRD author's role labelled aggregate-to-view reaches view, edit and admin.
    let widgets: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "widgets-view",
                     "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
        "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list"]}]}))?;
    roles.create(&PostParams::default(), &widgets).await?;
    assert!(allowed(&client, sa, "list", "example.com", "widgets", "default").await?);
    assert!(!allowed(&client, sa, "delete", "example.com", "widgets", "default").await?);
    // admin adds roles and rolebindings; cluster-admin everything.
    rbs.create(&PostParams::default(), &bind("ci-admin", "admin")?)
        .await?;
    assert!(
        allowed(
            &client,
            sa,
            "create",
            "rbac.authorization.k8s.io",
            "roles",
            "default"
        )
        .await?
    );
    rbs.create(&PostParams::default(), &bind("ci-root", "cluster-admin")?)
        .await?;
    assert!(allowed(&client, sa, "delete", "example.com", "widgets", "default").await?);
    Ok(())
}
