#!/usr/bin/env python3
"""Generate the patch oracle corpus for flux-merge.

Builds (object, patch, patch type) cases over built-in Kubernetes kinds, covering every
strategic-merge directive, JSON merge patch and JSON patch, runs each through the real
`kubectl patch --local --type=T -f obj.json -p PATCH -o json` (kubectl 1.33), and writes
one JSON line per case to crates/flux-merge/tests/flux_merge/oracle/cases.jsonl:

  first line: {"_source": ..., "bases": {"deployment": {...}, ...}}  (the objects patched)
  then:       {"name": "<base>/<case>", "type": "strategic|merge|json", "base": "<base>", "patch": ..., "expected": {...}}
  or, when kubectl refuses the patch, "error": "<kubectl's message>" instead of "expected".

Usage: python3 crates/flux-merge/scripts/gen_oracle_corpus.py [--kubectl PATH]
The default kubectl is $KUBECTL, else shared/tools/get-kubectl 1.33. Deterministic (fixed seed).
"""
import argparse
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "flux_merge", "oracle", "cases.jsonl")

# ---------------------------------------------------------------- base objects


def container(name, image, **extra):
    c = {"name": name, "image": image}
    c.update(extra)
    return c


def pod_spec():
    return {
        "initContainers": [container("init", "busybox:1", args=["sh", "-c", "true"])],
        "containers": [
            container(
                "app",
                "app:1",
                args=["--port", "8080"],
                ports=[{"containerPort": 8080, "protocol": "TCP", "name": "http"},
                       {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}],
                env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
                     {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                volumeMounts=[{"name": "config", "mountPath": "/etc/config"},
                              {"name": "data", "mountPath": "/data"}],
                resources={"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
            ),
            container("sidecar", "proxy:2", ports=[{"containerPort": 15000, "protocol": "TCP"}]),
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": "app-config"}},
            {"name": "data", "emptyDir": {}},
            {"name": "secret", "secret": {"secretName": "s1"}},
        ],
        "tolerations": [{"key": "k1", "operator": "Exists"}],
        "imagePullSecrets": [{"name": "reg1"}, {"name": "reg2"}],
        "nodeSelector": {"disk": "ssd"},
        "serviceAccountName": "app",
    }


def meta(name, **extra):
    m = {"name": name, "namespace": "default", "labels": {"app": name, "tier": "backend"},
         "annotations": {"note": "x"}, "finalizers": ["example.com/a", "example.com/b"]}
    m.update(extra)
    return m


def deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()}}}


def pod():
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta("p"), "spec": pod_spec()}


def statefulset():
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("db"),
            "spec": {"serviceName": "db", "replicas": 1, "selector": {"matchLabels": {"app": "db"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "template": {"metadata": {"labels": {"app": "db"}}, "spec": pod_spec()},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                               "spec": {"accessModes": ["ReadWriteOnce"],
                                                        "resources": {"requests": {"storage": "1Gi"}}}}]}}


def daemonset():
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("agent"),
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                     "template": {"metadata": {"labels": {"app": "agent"}}, "spec": pod_spec()}}}


def cronjob():
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("nightly"),
            "spec": {"schedule": "0 0 * * *",
                     "jobTemplate": {"spec": {"template": {"spec": dict(pod_spec(), restartPolicy="Never")}}}}}


def service():
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta("svc"),
            "spec": {"selector": {"app": "web"}, "type": "ClusterIP",
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                               {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
                     "externalIPs": ["10.0.0.1", "10.0.0.2"]}}


def configmap():
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cm"),
            "data": {"a": "1", "b": "2", "c": "3"}}


def serviceaccount():
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("sa"),
            "secrets": [{"name": "t1"}, {"name": "t2"}], "imagePullSecrets": [{"name": "reg1"}]}


def role():
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("r"),
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                      {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]}


def ingress():
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("ing"),
            "spec": {"ingressClassName": "nginx",
                     "rules": [{"host": "a.example.com", "http": {"paths": [
                         {"path": "/", "pathType": "Prefix",
                          "backend": {"service": {"name": "svc", "port": {"number": 80}}}}]}}],
                     "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}]}}


def node():
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta("n1"),
            "spec": {"taints": [{"key": "a", "effect": "NoSchedule", "value": "1"},
                                {"key": "b", "effect": "NoExecute"}],
                     "podCIDRs": ["10.1.0.0/24"]}}


def hpa():
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("hpa"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                                   "target": {"type": "Utilization", "averageUtilization": 80}}}]}}


def deployment_unknown_fields():
    """A Deployment carrying fields its schema does not know (see README, differences)."""
    d = deployment()
    d["spec"]["template"]["spec"]["extraList"] = [{"name": "a", "v": 1}]
    d["spec"]["extraMap"] = {"a": {"b": 1}}
    return d


def pod_many():
    """A Pod with many containers and finalizers, for list ordering with server-only items."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta("many", finalizers=[f"f{i}" for i in range(6)]),
            "spec": {"containers": [container(f"c{i}", f"img:{i}") for i in range(6)]}}


def ordering_patches(rng):
    """Deletes, additions and $setElementOrder naming only some items (others are server-only):
    upstream's result order depends on how it mutates the decoded list in place."""
    p = [
        ("order-delete-add-partial", {"spec": {"$setElementOrder/containers": [{"name": "c1"}, {"name": "n1"}],
                                                "containers": [{"name": "n1"}, {"name": "c0", "$patch": "delete"}]}}),
        ("order-delete-two-add-two", {"spec": {"$setElementOrder/containers": [{"name": "n2"}, {"name": "c3"}, {"name": "n1"}],
                                                "containers": [{"name": "n2"}, {"name": "n1"}, {"name": "c0", "$patch": "delete"},
                                                               {"name": "c4", "$patch": "delete"}]}}),
    ]
    names = [f"c{i}" for i in range(6)]
    for i in range(24):
        deletes = rng.sample(names, rng.randint(0, 3))
        kept = [n for n in names if n not in deletes]
        added = [f"n{j}" for j in range(rng.randint(0, 3))]
        modified = rng.sample(kept, rng.randint(0, 2))
        order = rng.sample(kept, rng.randint(0, len(kept))) + added
        rng.shuffle(order)
        # the patch list must follow the order of $setElementOrder
        items = [{"name": n, "image": f"x:{i}"} for n in order if n in added or n in modified]
        items += [{"name": n, "$patch": "delete"} for n in deletes]
        spec = {"containers": items, "$setElementOrder/containers": [{"name": n} for n in order]}
        if not items:
            del spec["containers"]
        p.append((f"random-order-{i}", {"spec": spec}))
    for i in range(8):
        fins = [f"f{j}" for j in range(8)]
        order = rng.sample(fins, rng.randint(1, 6))
        new = [f for f in order if f in ("f6", "f7")]
        patch = {"metadata": {"$setElementOrder/finalizers": order}}
        if new:
            patch["metadata"]["finalizers"] = new
        dels = [f for f in rng.sample(fins[:6], rng.randint(0, 2)) if f not in order]
        if dels:
            patch["metadata"]["$deleteFromPrimitiveList/finalizers"] = dels
        p.append((f"random-finalizer-order-{i}", patch))
    return p


BASES = {"deployment": deployment, "deployment-unknown": deployment_unknown_fields, "pod-many": pod_many, "pod": pod, "statefulset": statefulset, "daemonset": daemonset,
         "cronjob": cronjob, "service": service, "configmap": configmap, "serviceaccount": serviceaccount,
         "role": role, "ingress": ingress, "node": node, "hpa": hpa}

POD_PATH = {"deployment": ["spec", "template", "spec"], "pod": ["spec"],
            "statefulset": ["spec", "template", "spec"], "daemonset": ["spec", "template", "spec"],
            "cronjob": ["spec", "jobTemplate", "spec", "template", "spec"]}


def nest(path, leaf):
    for k in reversed(path):
        leaf = {k: leaf}
    return leaf


# ---------------------------------------------------------------- strategic patch families


def pod_spec_patches(rng):
    """(name, pod-spec-level patch) pairs."""
    p = []
    p.append(("container-image", {"containers": [{"name": "app", "image": "app:2"}]}))
    p.append(("container-add", {"containers": [{"name": "new", "image": "n:1"}]}))
    p.append(("container-add-front-and-modify", {"containers": [{"name": "new", "image": "n:1"}, {"name": "sidecar", "image": "proxy:3"}]}))
    p.append(("container-delete", {"containers": [{"name": "sidecar", "$patch": "delete"}]}))
    p.append(("container-delete-missing", {"containers": [{"name": "nope", "$patch": "delete"}]}))
    p.append(("container-replace-list", {"containers": [{"name": "only", "image": "o:1"}, {"$patch": "replace"}]}))
    p.append(("container-replace-map", {"containers": [{"name": "app", "$patch": "replace", "image": "app:9"}]}))
    p.append(("container-merge-directive-error", {"containers": [{"name": "app", "$patch": "merge"}]}))
    p.append(("container-bogus-directive", {"containers": [{"name": "app", "$patch": "bogus"}]}))
    p.append(("container-missing-merge-key", {"containers": [{"image": "x:1"}]}))
    p.append(("container-null-field", {"containers": [{"name": "app", "args": None, "resources": {"limits": {"cpu": None}}}]}))
    p.append(("container-new-with-null", {"containers": [{"name": "n2", "image": "i", "args": None}]}))
    p.append(("args-replace", {"containers": [{"name": "app", "args": ["--x"]}]}))
    p.append(("args-empty", {"containers": [{"name": "app", "args": []}]}))
    p.append(("ports-merge", {"containers": [{"name": "app", "ports": [{"containerPort": 8080, "name": "web"}, {"containerPort": 7070, "protocol": "TCP"}]}]}))
    p.append(("ports-delete", {"containers": [{"name": "app", "ports": [{"containerPort": 9090, "$patch": "delete"}]}]}))
    p.append(("ports-udp-same-port", {"containers": [{"name": "app", "ports": [{"containerPort": 8080, "protocol": "UDP"}]}]}))
    p.append(("env-merge", {"containers": [{"name": "app", "env": [{"name": "B", "value": "22"}, {"name": "D", "value": "4"}]}]}))
    p.append(("env-valuefrom-to-value", {"containers": [{"name": "app", "env": [{"name": "C", "value": "3", "valueFrom": None}]}]}))
    p.append(("env-delete", {"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]}))
    p.append(("env-set-order", {"containers": [{"name": "app", "$setElementOrder/env": [{"name": "C"}, {"name": "A"}, {"name": "B"}], "env": [{"name": "A", "value": "x"}]}]}))
    p.append(("env-set-order-new", {"containers": [{"name": "app", "$setElementOrder/env": [{"name": "Z"}, {"name": "A"}, {"name": "B"}, {"name": "C"}], "env": [{"name": "Z", "value": "z"}]}]}))
    p.append(("mounts-merge", {"containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "name": "data", "readOnly": True}, {"mountPath": "/tmp", "name": "tmp"}]}]}))
    p.append(("set-order-containers", {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}], "containers": [{"name": "app", "image": "app:3"}]}))
    p.append(("set-order-containers-only", {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}))
    p.append(("set-order-mismatch", {"$setElementOrder/containers": [{"name": "sidecar"}], "containers": [{"name": "app", "image": "a"}]}))
    p.append(("set-order-bad-prefix", {"$setElementOrderX/containers": [{"name": "app"}]}))
    p.append(("volume-retainkeys", {"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}))
    p.append(("volume-retainkeys-bad", {"volumes": [{"name": "data", "$retainKeys": ["name"], "hostPath": {"path": "/x"}}]}))
    p.append(("volume-switch-no-retain", {"volumes": [{"name": "secret", "configMap": {"name": "c"}}]}))
    p.append(("volume-delete", {"volumes": [{"name": "config", "$patch": "delete"}]}))
    p.append(("volumes-empty", {"volumes": []}))
    p.append(("volumes-null", {"volumes": None}))
    p.append(("tolerations-replace", {"tolerations": [{"key": "k2", "operator": "Exists"}]}))
    p.append(("pull-secrets-merge", {"imagePullSecrets": [{"name": "reg3"}, {"name": "reg1"}]}))
    p.append(("node-selector-replace", {"nodeSelector": {"zone": "a"}}))
    p.append(("node-selector-null-key", {"nodeSelector": {"disk": None, "zone": "b"}}))
    p.append(("init-container-merge", {"initContainers": [{"name": "init", "image": "busybox:2"}, {"name": "init2", "image": "b"}]}))
    p.append(("scalar-to-map-type-change", {"serviceAccountName": {"x": 1}}))
    p.append(("new-map-with-directive", {"affinity": {"nodeAffinity": {"$patch": "delete"}}}))
    p.append(("new-map-with-nulls", {"securityContext": {"runAsUser": 1000, "runAsGroup": None}}))
    p.append(("resources-replace", {"containers": [{"name": "app", "resources": {"$patch": "replace", "limits": {"cpu": "1"}}}]}))
    p.append(("resources-delete", {"containers": [{"name": "app", "resources": {"$patch": "delete"}}]}))
    p.append(("list-of-lists-error", {"containers": [{"name": "app", "ports": [[1]]}]}))
    p.append(("mixed-list-error", {"containers": [{"name": "app", "ports": [{"containerPort": 1}, "x"]}]}))
    p.append(("delete-list-on-merge-key-list", {"$deleteFromPrimitiveList/imagePullSecrets": [{"name": "reg1"}]}))
    p.append(("delete-list-on-replace-list", {"containers": [{"name": "app", "$deleteFromPrimitiveList/args": ["--port"]}]}))
    p.append(("set-order-on-replace-list", {"$setElementOrder/tolerations": [{"key": "k1"}], "tolerations": [{"key": "k1", "operator": "Equal"}]}))
    p.append(("set-order-missing-list", {"$setElementOrder/readinessGates": [{"conditionType": "a"}]}))
    p.append(("replace-directive-in-primitive-list", {"containers": [{"name": "app", "args": [{"$patch": "replace"}, "x"]}]}))
    p.append(("delete-directive-in-replace-list", {"tolerations": [{"key": "k9", "$patch": "delete"}]}))
    p.append(("replace-directive-only", {"containers": [{"$patch": "replace"}]}))
    p.append(("retainkeys-with-null", {"volumes": [{"name": "data", "$retainKeys": ["name"], "emptyDir": None}]}))
    p.append(("nested-directive-in-new-item", {"containers": [{"name": "z", "image": "z", "resources": {"$patch": "delete"}}]}))
    p.append(("merge-key-number-vs-string", {"containers": [{"name": "app", "ports": [{"containerPort": "8080", "name": "s"}]}]}))
    # randomised container list edits
    for i in range(12):
        names = ["app", "sidecar", "x1", "x2", "x3"]
        rng.shuffle(names)
        items = []
        for n in names[: rng.randint(1, 4)]:
            r = rng.random()
            if r < 0.25 and n in ("app", "sidecar"):
                items.append({"name": n, "$patch": "delete"})
            else:
                items.append({"name": n, "image": f"{n}:{i}"})
        patch = {"containers": items}
        if rng.random() < 0.5:
            keep = [it["name"] for it in items if "$patch" not in it]
            order = list(dict.fromkeys(keep + [n for n in ["app", "sidecar"] if n not in keep and all(it["name"] != n for it in items)]))
            rng.shuffle(order)
            # $setElementOrder must follow the patch's relative order
            patch_order = [n for n in keep]
            merged_order = []
            pi = 0
            for n in order:
                if n in patch_order:
                    merged_order.append(patch_order[pi])
                    pi += 1
                else:
                    merged_order.append(n)
            patch["$setElementOrder/containers"] = [{"name": n} for n in merged_order]
        p.append((f"random-containers-{i}", patch))
    return p


def metadata_patches(rng):
    p = []
    p.append(("label-add", {"metadata": {"labels": {"new": "1"}}}))
    p.append(("label-delete", {"metadata": {"labels": {"tier": None}}}))
    p.append(("labels-replace", {"metadata": {"labels": {"$patch": "replace", "only": "1"}}}))
    p.append(("labels-delete-directive", {"metadata": {"labels": {"$patch": "delete"}}}))
    p.append(("labels-bogus", {"metadata": {"labels": {"$patch": "bogus"}}}))
    p.append(("labels-merge-directive", {"metadata": {"labels": {"$patch": "merge", "x": "1"}}}))
    p.append(("annotations-null", {"metadata": {"annotations": None}}))
    p.append(("finalizers-merge", {"metadata": {"finalizers": ["example.com/c", "example.com/a"]}}))
    p.append(("finalizers-dup", {"metadata": {"finalizers": ["example.com/b", "example.com/b"]}}))
    p.append(("finalizers-empty", {"metadata": {"finalizers": []}}))
    p.append(("finalizers-delete", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}))
    p.append(("finalizers-delete-missing", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["zzz"]}}))
    p.append(("finalizers-delete-bad-prefix", {"metadata": {"$deleteFromPrimitiveListfinalizers": ["x"]}}))
    p.append(("finalizers-set-order", {"metadata": {"$setElementOrder/finalizers": ["example.com/b", "example.com/a"]}}))
    p.append(("finalizers-set-order-add", {"metadata": {"$setElementOrder/finalizers": ["example.com/c", "example.com/b", "example.com/a"], "finalizers": ["example.com/c"]}}))
    p.append(("finalizers-delete-and-order", {"metadata": {"$setElementOrder/finalizers": ["example.com/b"], "$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}))
    p.append(("finalizers-null", {"metadata": {"finalizers": None}}))
    p.append(("owner-refs-add", {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u1"}]}}))
    p.append(("top-level-delete", {"$patch": "delete"}))
    p.append(("top-level-replace", {"$patch": "replace", "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "z"}}))
    p.append(("retainkeys-metadata", {"metadata": {"$retainKeys": ["name", "labels"], "labels": {"a": "b"}}}))
    p.append(("retainkeys-not-list", {"metadata": {"$retainKeys": "name"}}))
    for i in range(6):
        fins = ["example.com/a", "example.com/b", "example.com/c", "example.com/d"]
        rng.shuffle(fins)
        patch = {"metadata": {"finalizers": fins[: rng.randint(1, 3)]}}
        if rng.random() < 0.5:
            patch["metadata"]["$deleteFromPrimitiveList/finalizers"] = [f for f in ["example.com/a", "example.com/b"] if f not in patch["metadata"]["finalizers"]][:1]
        p.append((f"random-finalizers-{i}", patch))
    return p


def kind_specific_patches(kind):
    p = []
    if kind == "deployment":
        p.append(("strategy-retainkeys", {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}))
        p.append(("strategy-recreate-no-retain", {"spec": {"strategy": {"type": "Recreate"}}}))
        p.append(("strategy-null-rolling", {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}}}))
        p.append(("strategy-delete", {"spec": {"strategy": {"$patch": "delete"}}}))
        p.append(("replicas", {"spec": {"replicas": 5}}))
        p.append(("maxsurge-string", {"spec": {"strategy": {"rollingUpdate": {"maxSurge": "50%"}}}}))
        p.append(("selector-merge", {"spec": {"selector": {"matchLabels": {"x": "y"}}}}))
    if kind == "statefulset":
        p.append(("vct-replace", {"spec": {"volumeClaimTemplates": [{"metadata": {"name": "other"}}]}}))
        p.append(("update-strategy-retain", {"spec": {"updateStrategy": {"$retainKeys": ["type"], "type": "OnDelete"}}}))
    if kind == "daemonset":
        p.append(("update-strategy-onDelete", {"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": None}}}))
    if kind == "service":
        p.append(("ports-merge-by-port", {"spec": {"ports": [{"port": 80, "targetPort": 9000}, {"port": 8443, "name": "alt"}]}}))
        p.append(("ports-delete", {"spec": {"ports": [{"port": 443, "$patch": "delete"}]}}))
        p.append(("ports-set-order", {"spec": {"$setElementOrder/ports": [{"port": 443}, {"port": 80}]}}))
        p.append(("ports-replace", {"spec": {"ports": [{"port": 1}, {"$patch": "replace"}]}}))
        p.append(("external-ips-replace", {"spec": {"externalIPs": ["10.0.0.3"]}}))
        p.append(("selector-null", {"spec": {"selector": None}}))
        p.append(("target-port-int-to-string", {"spec": {"ports": [{"port": 80, "targetPort": "http"}]}}))
        p.append(("type-change", {"spec": {"type": "NodePort"}}))
    if kind == "configmap":
        p.append(("data-merge", {"data": {"b": None, "d": "4"}}))
        p.append(("data-replace", {"data": {"$patch": "replace", "z": "26"}}))
        p.append(("data-retain", {"data": {"$retainKeys": ["a"], "a": "11"}}))
        p.append(("binary-add", {"binaryData": {"k": "aGVsbG8="}}))
    if kind == "serviceaccount":
        p.append(("secrets-merge", {"secrets": [{"name": "t3"}, {"name": "t1"}]}))
        p.append(("secrets-delete", {"secrets": [{"name": "t1", "$patch": "delete"}]}))
        p.append(("secrets-set-order", {"$setElementOrder/secrets": [{"name": "t2"}, {"name": "t1"}]}))
        p.append(("pull-secrets-merge", {"imagePullSecrets": [{"name": "reg9"}]}))
    if kind == "role":
        p.append(("rules-replace", {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}))
        p.append(("rules-with-directive", {"rules": [{"$patch": "delete"}]}))
    if kind == "ingress":
        p.append(("rules-replace", {"spec": {"rules": [{"host": "b.example.com"}]}}))
        p.append(("tls-null", {"spec": {"tls": None}}))
    if kind == "node":
        p.append(("taints-replace", {"spec": {"taints": [{"key": "c", "effect": "NoSchedule"}]}}))
        p.append(("podcidrs-merge", {"spec": {"podCIDRs": ["10.2.0.0/24"]}}))
        p.append(("podcidrs-delete", {"spec": {"$deleteFromPrimitiveList/podCIDRs": ["10.1.0.0/24"]}}))
    if kind == "deployment-unknown":
        p.append(("unknown-list-merge", {"spec": {"template": {"spec": {"extraList": [{"name": "b"}]}}}}))
        p.append(("unknown-map-merge", {"spec": {"extraMap": {"a": {"c": 2}}}}))
        p.append(("unknown-scalar-in-unknown-map", {"spec": {"extraMap": {"z": 1}}}))
    if kind == "hpa":
        p.append(("metrics-replace", {"spec": {"metrics": [{"type": "Pods"}]}}))
        p.append(("max-replicas", {"spec": {"maxReplicas": 10, "minReplicas": None}}))
    return p


# ---------------------------------------------------------------- merge / json patch families


def merge_patches(kind, obj, rng):
    p = [
        ("label-add-delete", {"metadata": {"labels": {"new": "1", "tier": None}}}),
        ("replace-list", {"metadata": {"finalizers": ["only"]}}),
        ("null-top", {"metadata": {"annotations": None}}),
        ("add-nested", {"metadata": {"annotations": {"a": {"b": "c"}}}}),
        ("array-root-replaces", {"metadata": {"labels": ["x"]}}),
        ("directive-is-data", {"metadata": {"labels": {"$patch": "delete"}}}),
    ]
    if "spec" in obj:
        p.append(("spec-null", {"spec": None}))
    return p


def json_patches(kind, obj):
    p = [
        ("add-label", [{"op": "add", "path": "/metadata/labels/new", "value": "1"}]),
        ("remove-label", [{"op": "remove", "path": "/metadata/labels/tier"}]),
        ("replace-name", [{"op": "replace", "path": "/metadata/name", "value": "z"}]),
        ("test-ok", [{"op": "test", "path": "/metadata/labels/tier", "value": "backend"},
                     {"op": "add", "path": "/metadata/labels/t", "value": "ok"}]),
        ("test-fail", [{"op": "test", "path": "/metadata/labels/tier", "value": "frontend"}]),
        ("remove-missing", [{"op": "remove", "path": "/metadata/labels/zzz"}]),
        ("move", [{"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/annotations/tier"}]),
        ("copy", [{"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"}]),
        ("append-finalizer", [{"op": "add", "path": "/metadata/finalizers/-", "value": "x"}]),
        ("insert-finalizer", [{"op": "add", "path": "/metadata/finalizers/0", "value": "x"}]),
        ("remove-finalizer", [{"op": "remove", "path": "/metadata/finalizers/1"}]),
        ("index-out-of-range", [{"op": "add", "path": "/metadata/finalizers/9", "value": "x"}]),
        ("escaped-key", [{"op": "add", "path": "/metadata/annotations/a~1b~0c", "value": "1"}]),
        ("replace-missing", [{"op": "replace", "path": "/metadata/nope", "value": 1}]),
        ("bad-op", [{"op": "frobnicate", "path": "/metadata"}]),
    ]
    return p


# ---------------------------------------------------------------- driver


def build_cases():
    rng = random.Random(1337)
    cases = []
    for kind, make in BASES.items():
        obj = make()
        if kind == "deployment-unknown":
            for name, patch in kind_specific_patches(kind):
                cases.append((f"{kind}/{name}", "strategic", obj, patch))
            continue
        if kind == "pod-many":
            for name, patch in ordering_patches(rng):
                cases.append((f"{kind}/{name}", "strategic", obj, patch))
            continue
        if kind in POD_PATH:
            for name, pp in pod_spec_patches(rng):
                if kind != "deployment" and not (name.startswith("random") or name in (
                        "container-image", "container-add", "container-delete", "env-merge", "volume-retainkeys",
                        "set-order-containers", "ports-merge", "container-replace-list")):
                    continue
                cases.append((f"{kind}/{name}", "strategic", obj, nest(POD_PATH[kind], pp)))
        for name, patch in metadata_patches(rng):
            if kind not in ("deployment", "configmap", "service") and not name.startswith(("label-add", "finalizers-merge", "finalizers-delete")):
                continue
            cases.append((f"{kind}/{name}", "strategic", obj, patch))
        for name, patch in kind_specific_patches(kind):
            cases.append((f"{kind}/{name}", "strategic", obj, patch))
        for name, patch in merge_patches(kind, obj, rng):
            cases.append((f"{kind}/merge-{name}", "merge", obj, patch))
        if kind in ("deployment", "configmap", "service", "role"):
            for name, patch in json_patches(kind, obj):
                cases.append((f"{kind}/json-{name}", "json", obj, patch))
    return cases


def run_case(kubectl, case):
    name, ptype, obj, patch = case
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(obj, f)
        path = f.name
    try:
        r = subprocess.run([kubectl, "patch", "--local", f"--type={ptype}", "-f", path, "-p", json.dumps(patch), "-o", "json"],
                           capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    out = {"name": name, "type": ptype, "base": name.split("/")[0], "patch": patch}
    if r.returncode == 0:
        out["expected"] = json.loads(r.stdout)
    else:
        out["error"] = r.stderr.strip()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubectl", default=os.environ.get("KUBECTL"))
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    kubectl = args.kubectl
    if not kubectl:
        tool = os.path.join(HERE, "..", "..", "..", "..", "shared", "tools", "get-kubectl")
        kubectl = subprocess.run([tool, "1.33"], capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True)
    git_version = json.loads(version.stdout)["clientVersion"]["gitVersion"]
    if not git_version.startswith("v1.33."):
        sys.exit(f"need kubectl 1.33, got {git_version}")
    cases = build_cases()
    names = [c[0] for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        sys.exit(f"duplicate case names: {sorted(dupes)}")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda c: run_case(kubectl, c), cases))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        header = {"_source": f"kubectl {git_version} patch --local; regenerate with crates/flux-merge/scripts/gen_oracle_corpus.py",
                  "bases": {k: make() for k, make in BASES.items()}}
        f.write(json.dumps(header, sort_keys=True) + "\n")
        for r in results:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    errors = sum(1 for r in results if "error" in r)
    print(f"wrote {len(results)} cases ({errors} refused by kubectl) to {args.out}")


if __name__ == "__main__":
    main()
