//! Strategic merge patch throughput: ours vs `kubectl patch --local` on the same
//! Deployment-sized object and patch, in the same run. Prints patches/s and the ratio.
//!
//!   cargo bench -p flux-merge --bench patch_throughput
//!
//! kubectl: $KUBECTL, else `shared/tools/get-kubectl 1.33`, else `kubectl` on PATH.

use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use flux_merge::{schema, strategic};
use serde_json::{Value, json};

fn deployment() -> Value {
    let containers: Vec<Value> = (0..4)
        .map(|i| {
            json!({
                "name": format!("c{i}"), "image": format!("registry.example.com/app/c{i}:1.0.{i}"),
                "args": ["--port", "8080", "--verbose"],
                "ports": [{"containerPort": 8080 + i, "protocol": "TCP", "name": "http"}, {"containerPort": 9090 + i, "protocol": "TCP", "name": "metrics"}],
                "env": (0..8).map(|e| json!({"name": format!("E{e}"), "value": format!("v{e}")})).collect::<Vec<_>>(),
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/config"}, {"name": "data", "mountPath": "/data"}],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080 + i}, "periodSeconds": 5}
            })
        })
        .collect();
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web", "tier": "frontend", "team": "payments"},
                     "annotations": {"deployment.kubernetes.io/revision": "7", "note": "benchmark"}, "finalizers": ["example.com/a"]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": containers,
                                       "volumes": [{"name": "config", "configMap": {"name": "web-config"}}, {"name": "data", "emptyDir": {}}],
                                       "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]}}}
    })
}

fn patch() -> Value {
    json!({
        "metadata": {"labels": {"release": "canary", "tier": null}, "finalizers": ["example.com/b"]},
        "spec": {"replicas": 5,
                 "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                 "template": {"spec": {
                     "$setElementOrder/containers": [{"name": "c3"}, {"name": "c0"}, {"name": "c1"}, {"name": "c2"}, {"name": "new"}],
                     "containers": [
                         {"name": "c0", "image": "registry.example.com/app/c0:2.0.0", "env": [{"name": "E1", "value": "changed"}, {"name": "E9", "value": "added"}]},
                         {"name": "c2", "$patch": "delete"},
                         {"name": "new", "image": "busybox:1"}
                     ]}}}
    })
}

fn kubectl() -> Option<String> {
    if let Ok(k) = std::env::var("KUBECTL") {
        return Some(k);
    }
    let tool = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/tools/get-kubectl"
    );
    if let Ok(out) = Command::new(tool).arg("1.33").output()
        && out.status.success()
    {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !path.is_empty() {
            return Some(path);
        }
    }
    Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "kubectl".to_string())
}

fn main() -> ExitCode {
    let object = deployment();
    let patch = patch();
    let ty = schema::for_kind("apps/v1", "Deployment");
    let object_bytes = serde_json::to_vec(&object).unwrap_or_default();
    let patch_text = patch.to_string();

    // Ours: parse object and patch from bytes each time (as kubectl must), apply, serialize.
    let ours_budget = Duration::from_secs(2);
    let start = Instant::now();
    let mut ours_n = 0u64;
    let mut last = Value::Null;
    while start.elapsed() < ours_budget {
        let obj: Value = serde_json::from_slice(&object_bytes).unwrap_or_default();
        let p: Value = serde_json::from_str(&patch_text).unwrap_or_default();
        match strategic::apply(&obj, &p, ty) {
            Ok(v) => {
                let _bytes = serde_json::to_vec(&v).unwrap_or_default();
                last = v;
            }
            Err(e) => {
                eprintln!("strategic::apply failed: {e}");
                return ExitCode::FAILURE;
            }
        }
        ours_n += 1;
    }
    let ours_rate = ours_n as f64 / start.elapsed().as_secs_f64();
    println!(
        "object: Deployment, {} bytes JSON; patch: {} bytes",
        object_bytes.len(),
        patch_text.len()
    );
    println!(
        "flux-merge strategic::apply: {ours_n} patches in {:.2?} = {ours_rate:.0} patches/s",
        start.elapsed()
    );

    let Some(kubectl) = kubectl() else {
        let msg = "kubectl not found ($KUBECTL, shared/tools/get-kubectl, PATH): no comparison";
        eprintln!("{msg}");
        return if std::env::var("CI").as_deref() == Ok("true") {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    };
    let dir = std::env::temp_dir().join(format!("flux-merge-bench-{}", std::process::id()));
    let file = dir.join("obj.json");
    if std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::File::create(&file))
        .and_then(|mut f| f.write_all(&object_bytes))
        .is_err()
    {
        eprintln!("cannot write {}", file.display());
        return ExitCode::FAILURE;
    }
    let kubectl_budget = Duration::from_secs(5);
    let start = Instant::now();
    let mut kubectl_n = 0u64;
    let mut same = true;
    while start.elapsed() < kubectl_budget {
        let out = Command::new(&kubectl)
            .args(["patch", "--local", "--type=strategic", "-o", "json", "-f"])
            .arg(&file)
            .args(["-p", &patch_text])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                if kubectl_n == 0 {
                    let theirs: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
                    same = theirs == last;
                }
            }
            Ok(o) => {
                eprintln!(
                    "kubectl patch failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("cannot run {kubectl}: {e}");
                return ExitCode::FAILURE;
            }
        }
        kubectl_n += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let kubectl_rate = kubectl_n as f64 / start.elapsed().as_secs_f64();
    println!(
        "kubectl patch --local ({kubectl}): {kubectl_n} patches in {:.2?} = {kubectl_rate:.1} patches/s",
        start.elapsed()
    );
    println!("ratio (ours / kubectl): {:.0}x", ours_rate / kubectl_rate);
    println!("results identical: {same}");
    if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
