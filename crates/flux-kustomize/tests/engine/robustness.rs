//! No panics on any input: fixture kustomizations and resources, mutated byte by byte with
//! a fixed seed, are parsed and built in memory. Errors are fine; panics are not.

use std::path::Path;

use flux_kustomize::{BuildOptions, MemFs};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SNIPPETS: &[&str] = &[
    "\n- ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    "---\n",
    "$patch: delete\n",
    "&a ",
    "*a",
    "null",
    "~",
    "\n  ",
    "\"",
    "'",
    "#",
    "!!binary ",
    "? ",
    "|\n",
    ">-\n",
    "[name=x]",
    "../",
    "$(VAR)",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(6) {
        if b.is_empty() {
            b.extend_from_slice(SNIPPETS[rng.below(SNIPPETS.len())].as_bytes());
            continue;
        }
        let at = rng.below(b.len());
        match rng.below(4) {
            0 => {
                b.remove(at);
            }
            1 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())].as_bytes();
                b.splice(at..at, s.iter().copied());
            }
            2 => b[at] = (rng.next() & 0x7f) as u8,
            _ => {
                let end = (at + rng.below(40)).min(b.len());
                b.drain(at..end);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

const KUSTOMIZATION: &str = r#"namespace: ns
namePrefix: p-
commonLabels: {app: x}
resources: [res.yaml]
configMapGenerator:
- name: cm
  literals: [a=b]
  envs: [vars.env]
secretGenerator:
- name: s
  files: [key=res.yaml]
images:
- name: nginx
  newTag: "2"
replicas:
- name: d
  count: 2
patches:
- path: patch.yaml
- patch: '[{"op": "add", "path": "/metadata/labels/x", "value": "y"}]'
  target: {kind: Deployment}
replacements:
- source: {kind: ConfigMap, name: cm, fieldPath: data.a}
  targets:
  - select: {kind: Deployment}
    fieldPaths: [spec.template.spec.containers.[name=c].env.[name=A].value]
    options: {create: true, delimiter: "-", index: 3}
vars:
- name: V
  objref: {kind: Service, name: s, apiVersion: v1}
"#;

const RESOURCES: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        args: [$(V)]\n        env: [{name: A, value: x}]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: [{port: 80}]\n";

const PATCH: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: other\n";

#[test]
fn mutated_inputs_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let cases = std::env::var("FLUX_KUSTOMIZE_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000usize);
    for i in 0..cases {
        let (mut k, mut r, mut p) = (
            KUSTOMIZATION.to_string(),
            RESOURCES.to_string(),
            PATCH.to_string(),
        );
        match i % 3 {
            0 => k = mutate(&mut rng, &k),
            1 => r = mutate(&mut rng, &r),
            _ => p = mutate(&mut rng, &p),
        }
        let fs = MemFs::new()
            .with_file("/k/kustomization.yaml", k.clone())
            .with_file("/k/res.yaml", r.clone())
            .with_file("/k/patch.yaml", p.clone())
            .with_file("/k/vars.env", "A=1\n");
        let result = std::panic::catch_unwind(|| {
            let _ = flux_kustomize::Kustomization::parse(Path::new("k.yaml"), &k);
            let _ = flux_kustomize::build_to_yaml(&fs, Path::new("/k"), &BuildOptions::default());
        });
        assert!(
            result.is_ok(),
            "panic on mutation {i}:\n--- kustomization\n{k}\n--- resources\n{r}\n--- patch\n{p}"
        );
    }
}
