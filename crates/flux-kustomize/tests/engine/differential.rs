//! Differential test: small randomised kustomizations (fixed seeds) built by this engine
//! and by `kubectl kustomize`, compared document by document. Each feature family has its
//! own generator; a case mixes a random subset of them.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use flux_kustomize::{BuildOptions, DiskFs};

/// SplitMix64: small, seedable, good enough to vary inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &["web", "api", "worker", "db", "cache", "front-end"];
const NAMESPACES: &[&str] = &["prod", "staging", "team-a"];
const IMAGES: &[&str] = &[
    "nginx",
    "nginx:1.25",
    "busybox:1.36",
    "registry.example.com:5000/team/app:v1",
    "ghcr.io/org/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];
const TEXT: &[&str] = &[
    "plain",
    "with space",
    "quote\"d",
    "<html>&amp;</html>",
    "multi\nline",
    "ünïcödé",
    "a=b=c",
    "12",
    "",
];

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Writes one random case into `dir` and returns the directory to build.
fn write_case(rng: &mut Rng, dir: &Path) -> std::io::Result<std::path::PathBuf> {
    let base = dir.join("base");
    std::fs::create_dir_all(&base)?;
    let app = rng.pick(NAMES);
    let image = rng.pick(IMAGES);
    let cm_name = format!("{app}-config");
    let secret_name = format!("{app}-secret");
    let mut resources = vec!["deploy.yaml", "svc.yaml", "sa.yaml"];
    std::fs::write(
        base.join("deploy.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  labels:\n    app: {app}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      serviceAccountName: {app}\n      containers:\n      - name: main\n        image: {image}\n        args: [\"--svc=$(SVC_NAME)\", \"--port=$(SVC_PORT)\"]\n        env:\n        - name: MODE\n          value: base\n        - name: FROM_CM\n          valueFrom:\n            configMapKeyRef:\n              name: {cm_name}\n              key: k0\n        envFrom:\n        - secretRef:\n            name: {secret_name}\n        ports:\n        - containerPort: 8080\n          name: http\n        volumeMounts:\n        - name: cfg\n          mountPath: /etc/cfg\n      - name: side\n        image: busybox:1.36\n      tolerations:\n      - key: a\n        operator: Exists\n      volumes:\n      - name: cfg\n        configMap:\n          name: {cm_name}\n"
        ),
    )?;
    std::fs::write(
        base.join("svc.yaml"),
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  selector:\n    app: {app}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
        ),
    )?;
    std::fs::write(
        base.join("sa.yaml"),
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {app}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {app}-binding\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\nsubjects:\n- kind: ServiceAccount\n  name: {app}\n  namespace: default\n"
        ),
    )?;
    if rng.chance(50) {
        resources.push("more.yaml");
        std::fs::write(
            base.join("more.yaml"),
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {app}\nspec:\n  tls:\n  - secretName: {secret_name}\n  rules:\n  - http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {app}\n            port:\n              number: 80\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {app}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {app}\n  minReplicas: 1\n  maxReplicas: 3\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {app}-reader\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  resourceNames: [{cm_name}]\n  verbs: [get]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {app}-reader\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {app}-reader\nsubjects:\n- kind: ServiceAccount\n  name: {app}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {app}-job\nspec:\n  schedule: \"* * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: job\n            image: {image}\n            envFrom:\n            - configMapRef:\n                name: {cm_name}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {app}-data\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
            ),
        )?;
    }
    if rng.chance(40) {
        resources.push("extra.yaml");
        std::fs::write(
            base.join("extra.yaml"),
            format!(
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gadget\n  labels:\n    kind: widget\nspec:\n  size: 3\n  flag: yes\n  'on': off\n  plain: No\n  items:\n  - name: one\n    value: 1\n  - name: two\n    value: 2\n  configRef: {cm_name}\n  template:\n    spec:\n      containers:\n      - name: w\n        image: nginx:1.0\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: scratch\n"
            ),
        )?;
    }
    let mut k = String::new();
    let _ = writeln!(k, "resources:");
    for r in &resources {
        let _ = writeln!(k, "- {r}");
    }
    // Generators (always: the deployment refers to them).
    let _ = writeln!(k, "configMapGenerator:\n- name: {cm_name}\n  literals:");
    for i in 0..1 + rng.below(3) {
        let _ = writeln!(
            k,
            "  - {}",
            yaml_str(&format!("k{i}={}", rng.pick(TEXT).replace('\n', " ")))
        );
    }
    if rng.chance(40) {
        std::fs::write(base.join("app.properties"), rng.pick(TEXT))?;
        let _ = writeln!(k, "  files:\n  - app.properties");
    }
    if rng.chance(30) {
        std::fs::write(base.join("vars.env"), "# comment\nA=1\nB=two words\n\nC=\n")?;
        let _ = writeln!(k, "  envs:\n  - vars.env");
    }
    if rng.chance(30) {
        let _ = writeln!(
            k,
            "  options:\n    disableNameSuffixHash: true\n    labels:\n      generated: \"yes\""
        );
    }
    let _ = writeln!(k, "secretGenerator:\n- name: {secret_name}\n  literals:");
    let long = "x".repeat(40 + rng.below(80));
    let _ = writeln!(
        k,
        "  - {}",
        yaml_str(&format!("password={}", rng.pick(TEXT).replace('\n', " ")))
    );
    let _ = writeln!(k, "  - token={long}");
    if rng.chance(30) {
        let _ = writeln!(k, "  type: kubernetes.io/basic-auth");
    }
    if rng.chance(25) {
        let _ = writeln!(k, "generatorOptions:\n  annotations:\n    note: generated");
    }
    if rng.chance(50) {
        let _ = writeln!(k, "namespace: {}", rng.pick(NAMESPACES));
    }
    if rng.chance(50) {
        let _ = writeln!(k, "namePrefix: {}-", rng.pick(&["dev", "p1", "blue"]));
    }
    if rng.chance(30) {
        let _ = writeln!(k, "nameSuffix: -{}", rng.pick(&["v2", "x"]));
    }
    if rng.chance(40) {
        let _ = writeln!(
            k,
            "commonLabels:\n  team: {}\n  app.kubernetes.io/part-of: shop",
            rng.pick(&["a", "b"])
        );
    }
    if rng.chance(40) {
        let sel = rng.chance(50);
        let tpl = rng.chance(50);
        let _ = writeln!(
            k,
            "labels:\n- pairs:\n    tier: {}\n  includeSelectors: {sel}\n  includeTemplates: {tpl}",
            rng.pick(&["backend", "frontend"])
        );
    }
    if rng.chance(40) {
        let _ = writeln!(
            k,
            "commonAnnotations:\n  owner: {}",
            yaml_str(rng.pick(TEXT))
        );
    }
    if rng.chance(50) {
        let _ = writeln!(k, "images:");
        let _ = writeln!(
            k,
            "- name: {}",
            image.split([':', '@']).next().unwrap_or("nginx")
        );
        match rng.below(4) {
            0 => {
                let _ = writeln!(k, "  newTag: \"2.0\"");
            }
            1 => {
                let _ = writeln!(k, "  newName: mirror.example.com/app\n  newTag: v9");
            }
            2 => {
                let _ = writeln!(
                    k,
                    "  digest: sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
                );
            }
            _ => {
                let _ = writeln!(k, "  newName: other/image");
            }
        }
    }
    if rng.chance(30) {
        let _ = writeln!(k, "replicas:\n- name: {app}\n  count: {}", 2 + rng.below(5));
    }
    let mut patches = Vec::new();
    if rng.chance(40) {
        patches.push(format!(
            "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {app}\n    spec:\n      template:\n        spec:\n          containers:\n          - name: main\n            env:\n            - name: MODE\n              value: patched\n            - name: EXTRA\n              value: \"1\"\n            resources:\n              limits:\n                memory: 64Mi\n"
        ));
    }
    if rng.chance(30) {
        patches.push(
            "- patch: |-\n    - op: add\n      path: /metadata/annotations\n      value:\n        patched: json\n  target:\n    kind: Service\n".to_string(),
        );
    }
    if rng.chance(30) {
        patches.push(format!(
            "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n      labels:\n        patched: by-target\n  target:\n    kind: Deployment\n    name: \"{}.*\"\n",
            &app[..1]
        ));
    }
    if rng.chance(30) {
        patches.push(format!(
            "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {app}\n      finalizers: [example.com/keep]\n    spec:\n      template:\n        spec:\n          containers:\n          - name: main\n            ports:\n            - containerPort: 9090\n              name: metrics\n            volumeMounts:\n            - name: data\n              mountPath: /data\n          tolerations:\n          - key: b\n            operator: Exists\n          volumes:\n          - name: data\n            persistentVolumeClaim:\n              claimName: {app}-data\n"
        ));
    }
    if rng.chance(30) {
        patches.push(
            "- patch: |-\n    apiVersion: example.com/v1\n    kind: Widget\n    metadata:\n      name: gadget\n    spec:\n      items:\n      - name: three\n        value: 3\n      extra:\n        on: yes\n        mode: off\n  target:\n    labelSelector: kind=widget\n".to_string(),
        );
    }
    if rng.chance(20) {
        let _ = writeln!(k, "nameSuffix: -{}", rng.pick(&["s1", "zz"]));
    }
    if rng.chance(30) {
        std::fs::write(
            base.join("tls.crt"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )?;
        std::fs::write(base.join("tls.key"), [0u8, 159, 146, 150, 10, 255])?;
        let _ = writeln!(
            k,
            "secretGenerator:\n- name: tls\n  type: kubernetes.io/tls\n  files:\n  - tls.crt\n  - tls.key"
        );
    }
    if !patches.is_empty() {
        let _ = writeln!(k, "patches:");
        for p in patches {
            k.push_str(&p);
        }
    }
    if rng.chance(30) {
        let _ = writeln!(
            k,
            "replacements:\n- source:\n    kind: Service\n    name: {app}\n    fieldPath: spec.ports.0.port\n  targets:\n  - select:\n      kind: Deployment\n    fieldPaths:\n    - spec.template.spec.containers.[name=main].env.[name=MODE].value\n"
        );
    }
    if rng.chance(30) {
        std::fs::write(
            base.join("smp.yaml"),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  ports:\n  - port: 443\n    name: https\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  template:\n    spec:\n      containers:\n      - name: side\n        $patch: delete\n"
            ),
        )?;
        let _ = writeln!(k, "patchesStrategicMerge:\n- smp.yaml");
    }
    if rng.chance(30) {
        std::fs::write(
            base.join("json.yaml"),
            "- op: replace\n  path: /spec/replicas\n  value: 4\n- op: add\n  path: /spec/template/metadata/annotations\n  value:\n    rolled: \"1\"\n",
        )?;
        let _ = writeln!(
            k,
            "patchesJson6902:\n- target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: {app}\n  path: json.yaml"
        );
    }
    if rng.chance(30) {
        let _ = writeln!(
            k,
            "vars:\n- name: SVC_NAME\n  objref:\n    kind: Service\n    name: {app}\n    apiVersion: v1\n- name: SVC_PORT\n  objref:\n    kind: Service\n    name: {app}\n    apiVersion: v1\n  fieldref:\n    fieldpath: spec.ports[0].port"
        );
    }
    if rng.chance(30) {
        let comp = dir.join("component");
        std::fs::create_dir_all(&comp)?;
        std::fs::write(
            comp.join("kustomization.yaml"),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  component: \"on\"\nconfigMapGenerator:\n- name: {cm_name}\n  behavior: merge\n  literals:\n  - fromComponent=1\npatches:\n- patch: |-\n    - op: add\n      path: /spec/template/spec/containers/0/env/-\n      value:\n        name: COMPONENT\n        value: \"yes\"\n  target:\n    kind: Deployment\n"
            ),
        )?;
        let _ = writeln!(k, "components:\n- ../component");
    }
    match rng.below(8) {
        0 => {
            let _ = writeln!(k, "sortOptions:\n  order: fifo");
        }
        1 => {
            let _ = writeln!(
                k,
                "sortOptions:\n  order: legacy\n  legacySortOptions:\n    orderFirst: [Service, Widget]\n    orderLast: [Deployment]"
            );
        }
        _ => {}
    }
    if rng.chance(30) {
        std::fs::write(
            base.join("config.yaml"),
            "nameReference:\n- kind: ConfigMap\n  version: v1\n  fieldSpecs:\n  - kind: Widget\n    path: spec/configRef\ncommonLabels:\n- kind: Widget\n  path: spec/selector\n  create: true\nvarReference:\n- kind: Widget\n  path: spec/note\n",
        )?;
        let _ = writeln!(k, "configurations:\n- config.yaml");
    }
    std::fs::write(base.join("kustomization.yaml"), &k)?;
    if !rng.chance(40) {
        return Ok(base);
    }
    // An overlay on top.
    let overlay = dir.join("overlay");
    std::fs::create_dir_all(&overlay)?;
    let mut o = String::from("resources:\n- ../base\n");
    if rng.chance(60) {
        let _ = writeln!(o, "namePrefix: ov-");
    }
    if rng.chance(50) {
        let _ = writeln!(o, "namespace: overlay-ns");
    }
    if rng.chance(60) {
        let _ = writeln!(
            o,
            "configMapGenerator:\n- name: {cm_name}\n  behavior: {}\n  literals:\n  - k0=overridden\n  - added=1",
            rng.pick(&["merge", "replace"])
        );
    }
    if rng.chance(40) {
        let _ = writeln!(
            o,
            "patches:\n- patch: |-\n    apiVersion: v1\n    kind: Service\n    metadata:\n      name: {app}\n    spec:\n      ports:\n      - port: 80\n        targetPort: 9090\n"
        );
    }
    std::fs::write(overlay.join("kustomization.yaml"), o)?;
    Ok(overlay)
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn random_kustomizations_match_kubectl_kustomize() -> anyhow::Result<()> {
    if !kubectl_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            anyhow::bail!("kubectl is required for the differential test (CI=true)");
        }
        eprintln!("skipping: kubectl not found");
        return Ok(());
    }
    let cases: u64 = std::env::var("FLUX_KUSTOMIZE_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut mismatches = Vec::new();
    for seed in 0..cases {
        let mut rng = Rng(seed.wrapping_mul(7919) + 1);
        let tmp = tempfile::tempdir()?;
        let dir = write_case(&mut rng, tmp.path())?;
        let theirs = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()?;
        let ours = flux_kustomize::build_to_yaml(&DiskFs, &dir, &BuildOptions::default());
        match (theirs.status.success(), ours) {
            (true, Ok(out)) => {
                let want =
                    flux_object::yaml::parse_documents(&String::from_utf8_lossy(&theirs.stdout))?;
                let got = flux_object::yaml::parse_documents(&out)?;
                if want != got {
                    let first = want
                        .iter()
                        .zip(&got)
                        .position(|(a, b)| a != b)
                        .unwrap_or(want.len().min(got.len()));
                    mismatches.push(format!(
                        "seed {seed}: document {first} differs\n  kubectl: {}\n  ours:    {}",
                        want.get(first).map(|v| v.to_string()).unwrap_or_default(),
                        got.get(first).map(|v| v.to_string()).unwrap_or_default()
                    ));
                }
            }
            (false, Err(_)) => {}
            (true, Err(e)) => {
                mismatches.push(format!("seed {seed}: kubectl built it, we failed: {e}"))
            }
            (false, Ok(_)) => mismatches.push(format!(
                "seed {seed}: kubectl failed ({}), we built it",
                String::from_utf8_lossy(&theirs.stderr).trim()
            )),
        }
        if !mismatches.is_empty() || std::env::var_os("FLUX_KUSTOMIZE_DIFF_KEEP").is_some() {
            // Keep the failing input for inspection.
            let keep = std::env::temp_dir().join(format!("flux-kustomize-diff-{seed}"));
            let _ = std::fs::remove_dir_all(&keep);
            let _ = Command::new("cp")
                .arg("-r")
                .arg(tmp.path())
                .arg(&keep)
                .status();
            break;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    Ok(())
}
