//! Inventory diff and prune.

use std::time::Duration;

use flux_ssa::{
    ApplyOptions, DeleteOptions, Inventory, WaitOptions, annotations, owner_labels,
    set_owner_labels,
};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::{config_map, dynamic, get, owner, setup};

fn owned(mut object: Value) -> Value {
    set_owner_labels(&mut object, &owner(), "apps", "flux-system");
    assert_eq!(
        object["metadata"]["labels"],
        json!(owner_labels(&owner(), "apps", "flux-system"))
    );
    object
}

#[tokio::test]
async fn objects_removed_from_the_inventory_are_pruned() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let options = ApplyOptions::kustomize_controller("kustomize-controller", false);
    let cms = dynamic(&client, "v1", "ConfigMap", "configmaps", "default");

    let mut kept = owned(config_map("default", "kept", json!({"a": "1"})));
    let removed = owned(config_map("default", "removed", json!({"a": "1"})));
    let mut protected = owned(config_map("default", "protected", json!({"a": "1"})));
    protected["metadata"]["annotations"] = json!({annotations::PRUNE: "disabled"});
    let first = manager
        .apply_all_staged(vec![kept.clone(), removed, protected], &options)
        .await?;
    let old_inventory = Inventory::from_change_set(&first);
    assert_eq!(old_inventory.len(), 3);

    // Another owner's object that sneaked into the old inventory is not deleted.
    let foreign = config_map("default", "foreign", json!({"a": "1"}));
    let foreign_set = manager.apply_all_staged(vec![foreign], &options).await?;
    let mut old_inventory = old_inventory;
    old_inventory.add_change_set(&foreign_set);

    kept["data"] = json!({"a": "2"});
    let second = manager.apply_all_staged(vec![kept], &options).await?;
    let new_inventory = Inventory::from_change_set(&second);
    let stale = old_inventory.diff(&new_inventory);
    let stale_ids: Vec<String> = stale.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(
        stale_ids,
        [
            "ConfigMap/default/protected",
            "ConfigMap/default/removed",
            "ConfigMap/default/foreign"
        ]
    );

    let pruned = manager
        .delete_all(
            &stale,
            &DeleteOptions::kustomize_controller(&owner(), "apps", "flux-system"),
        )
        .await?;
    assert_eq!(
        pruned.to_string(),
        "ConfigMap/default/removed deleted\nConfigMap/default/protected skipped\nConfigMap/default/foreign skipped"
    );
    assert!(get(&cms, "removed").await?.is_none());
    assert!(get(&cms, "protected").await?.is_some());
    assert!(get(&cms, "foreign").await?.is_some());
    assert_eq!(
        get(&cms, "kept").await?.map(|c| c["data"]["a"].clone()),
        Some(json!("2"))
    );

    // Pruning again: the object is already gone, which counts as deleted.
    let again = manager
        .delete_all(
            &stale[1..2],
            &DeleteOptions::kustomize_controller(&owner(), "apps", "flux-system"),
        )
        .await?;
    assert_eq!(again.to_string(), "ConfigMap/default/removed deleted");

    // The inventory round-trips through Flux's status format.
    let stored = new_inventory.to_resource_inventory();
    assert_eq!(stored.entries[0].id, "default_kept__ConfigMap");
    assert_eq!(stored.entries[0].v, "v1");
    Ok(())
}

#[tokio::test]
async fn prune_deletes_in_reverse_apply_order() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let options = ApplyOptions::kustomize_controller("kustomize-controller", false);
    let namespace =
        owned(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}));
    let cm = owned(config_map("gone", "settings", json!({"a": "1"})));
    let applied = manager
        .apply_all_staged(vec![namespace, cm], &options)
        .await?;
    let inventory = Inventory::from_change_set(&applied);
    let stale = inventory.diff(&Inventory::new());
    let pruned = manager
        .delete_all(
            &stale,
            &DeleteOptions::kustomize_controller(&owner(), "apps", "flux-system"),
        )
        .await?;
    assert_eq!(
        pruned.to_string(),
        "ConfigMap/gone/settings deleted\nNamespace/gone deleted"
    );
    let ns = get(
        &dynamic(&client, "v1", "Namespace", "namespaces", ""),
        "gone",
    )
    .await?;
    // Deleted, or still Terminating while its content goes.
    assert!(
        ns.as_ref()
            .is_none_or(|n| n["status"]["phase"] == "Terminating"),
        "{ns:?}"
    );
    Ok(())
}

#[tokio::test]
async fn termination_wait_follows_finalizers() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let options = ApplyOptions::kustomize_controller("kustomize-controller", false);
    let mut held = owned(config_map("default", "held", json!({"a": "1"})));
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    let applied = manager.apply_all_staged(vec![held], &options).await?;
    let stale = Inventory::from_change_set(&applied).diff(&Inventory::new());
    let pruned = manager
        .delete_all(
            &stale,
            &DeleteOptions::kustomize_controller(&owner(), "apps", "flux-system"),
        )
        .await?;
    assert_eq!(pruned.to_string(), "ConfigMap/default/held deleted");
    let quick = WaitOptions {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(300),
        ..WaitOptions::default()
    };
    let err = manager
        .wait_for_set_termination(&pruned, &quick)
        .await
        .expect_err("finalizer holds it");
    assert_eq!(err.still_present.len(), 1);
    assert!(err.to_string().contains("ConfigMap/default/held"), "{err}");

    let cms = dynamic(&client, "v1", "ConfigMap", "configmaps", "default");
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Json::<()>(serde_json::from_value(json!([
            {"op": "remove", "path": "/metadata/finalizers"}
        ]))?),
    )
    .await?;
    manager.wait_for_set_termination(&pruned, &quick).await?;
    assert!(get(&cms, "held").await?.is_none());
    Ok(())
}
