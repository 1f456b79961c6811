//! Status blocks as the controllers write them round-trip through the typed structs, and the
//! condition helpers produce what kstatus readers expect.

use flux_api::conditions::{self, reasons, types};
use flux_api::{FluxObject, HasConditions, parse_object};
use serde_json::json;

fn round_trip(value: &serde_json::Value) -> anyhow::Result<FluxObject> {
    let obj = parse_object(value).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(&obj.to_value()?, value);
    Ok(obj)
}

#[test]
fn source_status_round_trips() -> anyhow::Result<()> {
    let repo = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 2},
        "spec": {"interval": "1m", "url": "https://github.com/stefanprodan/podinfo", "ref": {"branch": "master"}},
        "status": {
            "artifact": {
                "digest": "sha256:2fa1b0c61c2b4b8b3b0b3c1a1d8d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c",
                "lastUpdateTime": "2026-11-22T10:00:00Z",
                "path": "gitrepository/flux-system/podinfo/b3c1a1d8.tar.gz",
                "revision": "master@sha1:b3c1a1d8d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6",
                "size": 80123,
                "url": "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/podinfo/b3c1a1d8.tar.gz"
            },
            "conditions": [
                {"lastTransitionTime": "2026-11-22T10:00:00Z", "message": "stored artifact for revision 'master@sha1:b3c1a1d8'",
                 "observedGeneration": 2, "reason": "Succeeded", "status": "True", "type": "Ready"},
                {"lastTransitionTime": "2026-11-22T10:00:00Z", "message": "stored artifact for revision 'master@sha1:b3c1a1d8'",
                 "observedGeneration": 2, "reason": "Succeeded", "status": "True", "type": "ArtifactInStorage"}
            ],
            "observedGeneration": 2
        }
    });
    let obj = round_trip(&repo)?;
    assert!(conditions::is_ready_for(obj.conditions(), 2));
    Ok(())
}

#[test]
fn applier_status_round_trips() -> anyhow::Result<()> {
    let ks = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "10m", "prune": true, "path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {
            "history": [{"digest": "sha256:abc", "firstReconciled": "2026-11-22T09:00:00Z",
                         "lastReconciled": "2026-11-22T10:00:00Z", "lastReconciledDuration": "1.2s",
                         "lastReconciledStatus": "ReconciliationSucceeded",
                         "metadata": {"revision": "main@sha1:0123"}, "totalReconciliations": 6}],
            "inventory": {"entries": [{"id": "default_podinfo_apps_Deployment", "v": "v1"},
                                      {"id": "_apps__Namespace", "v": "v1"}]},
            "lastAppliedRevision": "main@sha1:0123",
            "lastAttemptedRevision": "main@sha1:0123",
            "lastHandledReconcileAt": "2026-11-22T10:00:00.000000001Z",
            "observedGeneration": 1
        }
    });
    round_trip(&ks)?;
    let hr = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "default"},
        "spec": {"interval": "10m", "chart": {"spec": {"chart": "podinfo", "version": "6.x",
                 "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}},
                 "values": {"replicaCount": 2, "ingress": {"enabled": true, "hosts": [{"host": "a.example"}]}}},
        "status": {
            "helmChart": "default/default-podinfo",
            "history": [{"apiVersion": "v2", "appVersion": "6.7.0", "chartName": "podinfo", "chartVersion": "6.7.0",
                         "configDigest": "sha256:1", "digest": "sha256:2", "firstDeployed": "2026-11-22T09:00:00Z",
                         "lastDeployed": "2026-11-22T10:00:00Z", "name": "podinfo", "namespace": "default",
                         "status": "deployed", "version": 3,
                         "testHooks": {"podinfo-grpc-test": {"lastStarted": "2026-11-22T10:00:01Z",
                                       "lastCompleted": "2026-11-22T10:00:05Z", "phase": "Succeeded"}}}],
            "lastAttemptedReleaseAction": "upgrade",
            "lastAttemptedRevision": "6.7.0",
            "observedGeneration": 4,
            "storageNamespace": "default"
        }
    });
    round_trip(&hr)?;
    Ok(())
}

#[test]
fn helpers_write_kstatus_friendly_conditions() -> anyhow::Result<()> {
    let value = json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
        "metadata": {"name": "app", "namespace": "default", "generation": 5},
        "spec": {"image": "ghcr.io/org/app", "interval": "5m"}
    });
    let FluxObject::ImageRepository(mut repo) = parse_object(&value)? else {
        anyhow::bail!("not an ImageRepository")
    };
    let generation = repo.generation();
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(1_800_000_000)?,
    );
    let conds = repo.status_conditions_mut();
    conditions::mark_reconciling(
        conds,
        reasons::PROGRESSING,
        "scanning",
        generation,
        now.clone(),
    );
    conditions::summarize_ready(
        conds,
        &[],
        reasons::SUCCEEDED,
        "done",
        generation,
        now.clone(),
    );
    conditions::delete(conds, types::RECONCILING);
    conditions::summarize_ready(
        conds,
        &[],
        reasons::SUCCEEDED,
        "successful scan: found 3 tags",
        generation,
        now,
    );
    let written = serde_json::to_value(&repo)?;
    assert_eq!(
        written.pointer("/status/conditions"),
        Some(
            &json!([{"lastTransitionTime": "2027-01-15T08:00:00Z", "message": "successful scan: found 3 tags",
                      "observedGeneration": 5, "reason": "Succeeded", "status": "True", "type": "Ready"}])
        )
    );
    Ok(())
}
