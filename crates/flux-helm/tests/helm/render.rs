//! Whole-chart renders with flux-helm alone.

use crate::chart_dir::{ChartDir, chart_yaml, render};

fn docs(out: &str) -> Vec<serde_json::Value> {
    flux_object::yaml::parse_documents(out).expect("output is YAML")
}

#[test]
fn values_release_chart_and_install_order() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "values.yaml",
                "replicas: 1\nname: web\nextra:\n  keep: yes-kept\n  drop: me\n",
            ),
            (
                "templates/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-{{ .Values.name }}\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n",
            ),
            (
                "templates/svc.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Chart.AppVersion }}\n  annotations:\n    tpl: {{ .Template.Name }}\n    base: {{ .Template.BasePath }}\n    install: \"{{ .Release.IsInstall }}\"\n    rev: \"{{ .Release.Revision }}\"\n",
            ),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  keep: {{ .Values.extra.keep | quote }}\n  drop: \"{{ .Values.extra.drop }}\"\n",
            ),
            (
                "templates/NOTES.txt",
                "Thanks for installing {{ .Release.Name }}",
            ),
        ],
    );
    let over = c.write_beside("over.yaml", "extra:\n  drop: null\n");
    let out = render(&c.path(), &[over], &["replicas=3"], |_| {}).expect("renders");
    assert!(
        out.starts_with("---\n# Source: demo/templates/cm.yaml\n"),
        "{out}"
    );
    let d = docs(&out);
    let kinds: Vec<&str> = d.iter().map(|x| x["kind"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, vec!["ConfigMap", "Service", "Deployment"]);
    assert_eq!(d[0]["data"]["keep"], "yes-kept");
    assert_eq!(d[0]["data"]["drop"], "", "null in -f deletes the key");
    assert_eq!(d[1]["metadata"]["name"], "demo-1.0");
    assert_eq!(
        d[1]["metadata"]["annotations"]["tpl"],
        "demo/templates/svc.yaml"
    );
    assert_eq!(d[1]["metadata"]["annotations"]["base"], "demo/templates");
    assert_eq!(d[1]["metadata"]["annotations"]["install"], "true");
    assert_eq!(d[1]["metadata"]["annotations"]["rev"], "1");
    assert_eq!(d[2]["metadata"]["name"], "demo-web");
    assert_eq!(d[2]["metadata"]["namespace"], "demo-ns");
    assert_eq!(d[2]["spec"]["replicas"], 3);
    assert!(
        !out.contains("Thanks for installing"),
        "NOTES.txt is not output"
    );
}

#[test]
fn subcharts_globals_conditions_aliases_and_imports() {
    let c = ChartDir::new(
        "top",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.x\n  alias: first\n  import-values:\n  - shared\n- name: sub\n  version: \"*\"\n  alias: second\n  condition: second.enabled\n- name: disabled\n  version: 0.1.0\n  condition: disabled.enabled\n",
            ),
            (
                "values.yaml",
                "global:\n  region: eu\nfirst:\n  who: one\nsecond:\n  enabled: true\n  who: two\ndisabled:\n  enabled: false\n",
            ),
            (
                "templates/top.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: top\ndata:\n  imported: {{ .Values.fromSub | quote }}\n  subs: \"{{ len .Subcharts }}\"\n",
            ),
            ("charts/sub/Chart.yaml", &chart_yaml("sub")),
            (
                "charts/sub/values.yaml",
                "who: nobody\nglobal:\n  region: none\n  own: sub\nexports:\n  shared:\n    fromSub: exported\n",
            ),
            (
                "charts/sub/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}\ndata:\n  who: {{ .Values.who }}\n  region: {{ .Values.global.region }}\n  own: {{ .Values.global.own }}\n  root: \"{{ .Chart.IsRoot }}\"\n  tpl: {{ .Template.Name }}\n",
            ),
            ("charts/disabled/Chart.yaml", &chart_yaml("disabled")),
            (
                "charts/disabled/templates/cm.yaml",
                "kind: ConfigMap\nmetadata:\n  name: must-not-render\n",
            ),
        ],
    );
    let out = render(&c.path(), &[], &["second.who=2nd"], |_| {}).expect("renders");
    assert!(!out.contains("must-not-render"), "{out}");
    let d = docs(&out);
    let by_name = |n: &str| {
        d.iter()
            .find(|x| x["metadata"]["name"] == n)
            .unwrap_or_else(|| panic!("no {n} in {out}"))
            .clone()
    };
    let first = by_name("first");
    assert_eq!(first["data"]["who"], "one");
    assert_eq!(first["data"]["region"], "eu");
    assert_eq!(first["data"]["own"], "sub");
    assert_eq!(first["data"]["root"], "false");
    assert_eq!(first["data"]["tpl"], "top/charts/first/templates/cm.yaml");
    assert_eq!(by_name("second")["data"]["who"], "2nd");
    let top = by_name("top");
    assert_eq!(top["data"]["imported"], "exported");
    assert_eq!(top["data"]["subs"], "2");
}

#[test]
fn include_tpl_partials_and_files() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "values.yaml",
                "greeting: \"hello {{ .Release.Name }}\"\nlist:\n- a\n- b\nmap:\n  k: v\n  num: 1\n",
            ),
            (
                "templates/_helpers.tpl",
                "{{- define \"demo.name\" -}}{{ .Chart.Name }}-x{{- end -}}\nkind: Secret\n",
            ),
            ("files/a.conf", "alpha\n"),
            ("files/b.conf", "beta\nline2\n"),
            ("files/sub/c.txt", "gamma"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"demo.name\" . }}\ndata:\n  greeting: {{ tpl .Values.greeting . | quote }}\n  a: {{ .Files.Get \"files/a.conf\" | quote }}\n  lines: \"{{ range .Files.Lines \"files/b.conf\" }}[{{ . }}]{{ end }}\"\n  json: {{ toJson .Values.map | quote }}\n  yaml: {{ toYaml .Values.list | quote }}\n  fromyaml: {{ (fromYaml \"x: 1\").x | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\ndata:\n{{ (.Files.Glob \"files/*.conf\").AsConfig | indent 2 }}\n",
            ),
        ],
    );
    let out = render(&c.path(), &[], &[], |_| {}).expect("renders");
    assert!(
        !out.contains("_helpers.tpl"),
        "partials are not output: {out}"
    );
    let d = docs(&out);
    assert_eq!(d[0]["metadata"]["name"], "demo-x");
    assert_eq!(d[0]["data"]["greeting"], "hello demo");
    assert_eq!(d[0]["data"]["a"], "alpha\n");
    assert_eq!(d[0]["data"]["lines"], "[beta][line2]");
    assert_eq!(d[0]["data"]["json"], "{\"k\":\"v\",\"num\":1}");
    assert_eq!(d[0]["data"]["yaml"], "- a\n- b");
    assert_eq!(d[0]["data"]["fromyaml"], "1");
    assert_eq!(d[1]["data"]["a.conf"], "alpha\n");
    assert_eq!(d[1]["data"]["b.conf"], "beta\nline2\n");
    assert!(d[1]["data"].get("c.txt").is_none());
}

#[test]
fn capabilities_and_api_versions() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: {{ .Capabilities.KubeVersion }}\n  minor: \"{{ .Capabilities.KubeVersion.Minor }}\"\n  apps: \"{{ .Capabilities.APIVersions.Has \"apps/v1\" }}\"\n  mon: \"{{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" }}\"\n  lookup: \"{{ len (lookup \"v1\" \"Secret\" \"ns\" \"n\") }}\"\n",
            ),
        ],
    );
    let out = render(&c.path(), &[], &[], |o| {
        o.api_versions = vec!["monitoring.coreos.com/v1".into()]
    })
    .expect("renders");
    let d = docs(&out);
    assert_eq!(d[0]["data"]["kube"], "v1.33.0");
    assert_eq!(d[0]["data"]["minor"], "33");
    assert_eq!(d[0]["data"]["apps"], "true");
    assert_eq!(d[0]["data"]["mon"], "true");
    assert_eq!(d[0]["data"]["lookup"], "0");
}

#[test]
fn hooks_tests_show_only_and_crds() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "crds/crd.yaml",
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: foos.example.com\n",
            ),
            (
                "templates/job.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
            (
                "templates/test.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations:\n    helm.sh/hook: test\n",
            ),
            (
                "templates/sa.yaml",
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
            ),
        ],
    );
    let out = render(&c.path(), &[], &[], |_| {}).expect("renders");
    let names: Vec<String> = docs(&out)
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    // Hooks come after manifests, sorted by kind (Pod before Job).
    assert_eq!(names, vec!["sa", "test", "hook"]);
    let out = render(&c.path(), &[], &[], |o| {
        o.skip_tests = true;
        o.include_crds = true;
    })
    .expect("renders");
    let names: Vec<String> = docs(&out)
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, vec!["foos.example.com", "sa", "hook"]);
    assert!(out.contains("# Source: demo/crds/crd.yaml"), "{out}");
    let out = render(&c.path(), &[], &[], |o| {
        o.show_only = vec!["templates/sa.yaml".into()]
    })
    .expect("renders");
    assert_eq!(
        out,
        "---\n# Source: demo/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n"
    );
    let err = render(&c.path(), &[], &[], |o| {
        o.show_only = vec!["templates/nope.yaml".into()]
    })
    .expect_err("missing");
    assert_eq!(
        err.to_string(),
        "could not find template templates/nope.yaml in chart"
    );
}

#[test]
fn required_and_fail_name_template_and_line() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "templates/a.yaml",
                "kind: ConfigMap\nvalue: {{ required \"image.tag is required\" .Values.image }}\n",
            ),
        ],
    );
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("required");
    assert_eq!(
        err.to_string(),
        "execution error at (demo/templates/a.yaml:2:10): image.tag is required"
    );
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "templates/_h.tpl",
                "{{ define \"boom\" }}{{ fail \"bad value\" }}{{ end }}",
            ),
            (
                "templates/a.yaml",
                "kind: ConfigMap\n\nvalue: {{ include \"boom\" . }}\n",
            ),
        ],
    );
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("fail");
    assert_eq!(
        err.to_string(),
        "execution error at (demo/templates/a.yaml:3:10): bad value"
    );
}

#[test]
fn parse_errors_and_undefined_functions_name_template_and_line() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            ("templates/a.yaml", "kind: ConfigMap\n{{ if .Values.x }}\n"),
        ],
    );
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("unclosed if");
    let msg = err.to_string();
    assert!(
        msg.starts_with("parse error at (demo/templates/a.yaml:"),
        "{msg}"
    );
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "templates/a.yaml",
                "kind: ConfigMap\n\n{{ nosuchfunc 1 }}\n",
            ),
        ],
    );
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("undefined function");
    assert_eq!(
        err.to_string(),
        "parse error at (demo/templates/a.yaml:3): function \"nosuchfunc\" not defined"
    );
}

#[test]
fn cyclic_include_is_bounded() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            (
                "templates/_h.tpl",
                "{{ define \"loop\" }}x{{ include \"loop\" . }}{{ end }}",
            ),
            (
                "templates/a.yaml",
                "kind: ConfigMap\nv: {{ include \"loop\" . }}\n",
            ),
        ],
    );
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            render(&c.path(), &[], &[], |_| {})
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .expect("spawn");
    let err = handle
        .join()
        .expect("no panic")
        .expect_err("cycle must fail");
    assert!(err.contains("demo/templates/a.yaml"), "{err}");
}

#[test]
fn schema_violations_read_like_helm() {
    let c = ChartDir::new(
        "demo",
        &[
            ("Chart.yaml", &chart_yaml("demo")),
            ("values.yaml", "policy: ~\n"),
            (
                "values.schema.json",
                r#"{"type":"object","properties":{"policy":{"type":"string"}}}"#,
            ),
            ("templates/a.yaml", "kind: ConfigMap\n"),
        ],
    );
    render(&c.path(), &[], &["policy=sync"], |_| {}).expect("valid values render");
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("null policy");
    assert!(
        err.to_string()
            .contains("demo:\n- policy: Invalid type. Expected: string, given: null"),
        "{err}"
    );
}

#[test]
fn missing_dependencies_and_kube_version_and_library_charts() {
    let c = ChartDir::new(
        "demo",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: demo\nversion: 1.0.0\nkubeVersion: \">=1.40.0-0\"\ndependencies:\n- name: lib\n  version: 0.1.0\n- name: gone\n  version: 1.0.0\n",
            ),
            (
                "charts/lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
            ),
            ("templates/a.yaml", "kind: ConfigMap\n"),
        ],
    );
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("gone is missing");
    assert!(
        err.to_string()
            .ends_with("missing in charts/ directory: gone"),
        "{err}"
    );
    let c = ChartDir::new(
        "demo",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: demo\nversion: 1.0.0\nkubeVersion: \">=1.40.0-0\"\n",
            ),
            ("templates/a.yaml", "kind: ConfigMap\n"),
        ],
    );
    let err = render(&c.path(), &[], &[], |_| {}).expect_err("kube too old");
    assert_eq!(
        err.to_string(),
        "chart requires kubeVersion: >=1.40.0-0 which is incompatible with Kubernetes v1.33.0"
    );
    let c = ChartDir::new(
        "demo",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: demo\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 0.1.0\n",
            ),
            (
                "charts/lib/Chart.yaml",
                "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
            ),
            (
                "charts/lib/templates/_lib.tpl",
                "{{ define \"lib.cm\" }}kind: ConfigMap\nmetadata:\n  name: from-lib{{ end }}",
            ),
            (
                "charts/lib/templates/ignored.yaml",
                "kind: Secret\nmetadata:\n  name: not-from-library\n",
            ),
            ("templates/a.yaml", "{{ include \"lib.cm\" . }}\n"),
        ],
    );
    let out = render(&c.path(), &[], &[], |_| {}).expect("library renders");
    assert!(out.contains("name: from-lib"), "{out}");
    assert!(!out.contains("not-from-library"), "{out}");
    let lib = ChartDir::new(
        "lib",
        &[(
            "Chart.yaml",
            "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
        )],
    );
    let err = render(&lib.path(), &[], &[], |_| {}).expect_err("library is not installable");
    assert_eq!(err.to_string(), "library charts are not installable");
}

#[test]
fn garbage_templates_are_errors_not_panics() {
    const TOKENS: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "\n",
        "if",
        "end",
        "else",
        "range",
        ".Values",
        ".Values.x",
        "include",
        "\"n\"",
        "tpl",
        "(",
        ")",
        "|",
        "$x",
        ":=",
        "toYaml",
        "default",
        "1",
        "nil",
        "define",
        "template",
        "kind: A",
        "---",
        "required",
        "fail",
        "indent",
        "2",
    ];
    let mut seed = 3u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for _ in 0..150 {
        let len = next() % 40;
        let body: String = (0..len).map(|_| TOKENS[next() % TOKENS.len()]).collect();
        let c = ChartDir::new(
            "demo",
            &[
                ("Chart.yaml", &chart_yaml("demo")),
                ("values.yaml", "x: 1\n"),
                ("templates/a.yaml", &body),
            ],
        );
        let result = std::panic::catch_unwind(|| render(&c.path(), &[], &[], |_| {}).map(|_| ()));
        assert!(result.is_ok(), "panic on template: {body:?}");
    }
}
