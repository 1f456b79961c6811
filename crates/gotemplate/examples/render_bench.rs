//! Engine benchmark: parses every template of a chart directory and renders all of them
//! repeatedly with approximate Helm functions (`toYaml` is JSON here), printing parse time
//! and renders per second. Not a correctness check (flux-helm's benchmark is).
//!
//! `cargo run --release -p gotemplate --example render_bench -- CHART_DIR VALUES.json [ITER]`

use std::path::Path;
use std::time::Instant;

use gotemplate::{FuncError, Map, MissingKey, Object, Templates, Value, func, sprig_funcs};

struct ApiVersions(Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn kind(&self) -> &str {
        "slice"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| {
            let want = args.first().and_then(Value::as_str).unwrap_or("");
            Ok(Value::Bool(self.0.iter().any(|v| v == want)))
        })
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn collect(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, base, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            let rel = p
                .strip_prefix(base)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string();
            out.push((rel, text));
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let chart = Path::new(args.get(1).map(String::as_str).unwrap_or("."));
    let values: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        args.get(2).map(String::as_str).unwrap_or("values.json"),
    )?)?;
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
    let name = chart
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut files = Vec::new();
    collect(
        &chart.join("templates"),
        chart.parent().unwrap_or(chart),
        &mut files,
    );
    files.sort();

    let mut funcs = sprig_funcs();
    funcs.insert(
        "include".into(),
        func(|ctx, a| {
            let n = a.first().and_then(Value::as_str).unwrap_or("").to_string();
            ctx.execute_template(&n, a.get(1).unwrap_or(&Value::Nil))
                .map(Value::from)
                .map_err(FuncError::from)
        }),
    );
    funcs.insert(
        "tpl".into(),
        func(|ctx, a| {
            let s = a.first().and_then(Value::as_str).unwrap_or("").to_string();
            ctx.execute_source("gotpl", &s, a.get(1).unwrap_or(&Value::Nil))
                .map(Value::from)
                .map_err(FuncError::from)
        }),
    );
    funcs.insert(
        "toYaml".into(),
        func(|_, a| {
            Ok(
                gotemplate::sprig::to_pretty_json_string(a.first().unwrap_or(&Value::Nil))
                    .unwrap_or_default()
                    .into(),
            )
        }),
    );
    funcs.insert(
        "required".into(),
        func(|_, a| Ok(a.get(1).cloned().unwrap_or_default())),
    );
    funcs.insert("lookup".into(), func(|_, _| Ok(Value::map(Map::new()))));

    let t0 = Instant::now();
    let mut t = Templates::new(funcs);
    t.set_name("gotpl");
    t.set_missing_key(MissingKey::Zero);
    let mut parse_errors = 0;
    for (path, text) in &files {
        if let Err(e) = t.parse(path, text) {
            eprintln!("{e}");
            parse_errors += 1;
        }
    }
    let parse_time = t0.elapsed();

    let mut data = Map::new();
    data.insert("Values".into(), Value::from_json(&values));
    let release = serde_json::json!({"Name": "bench", "Namespace": "default", "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1});
    data.insert("Release".into(), Value::from_json_ints(&release));
    data.insert(
        "Chart".into(),
        Value::from_json(
            &serde_json::json!({"Name": name, "Version": "1.0.0", "AppVersion": "1.0.0"}),
        ),
    );
    let mut caps = Map::new();
    caps.insert("KubeVersion".into(), Value::from_json(&serde_json::json!({"Version": "v1.33.0", "GitVersion": "v1.33.0", "Major": "1", "Minor": "33"})));
    caps.insert(
        "APIVersions".into(),
        Value::object(ApiVersions(vec!["v1".into(), "apps/v1".into()])),
    );
    data.insert("Capabilities".into(), Value::map(caps));
    let targets: Vec<&String> = files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| {
            !Path::new(p)
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with('_'))
                && !p.ends_with("NOTES.txt")
        })
        .collect();

    let mut bytes = 0usize;
    let mut exec_errors = 0usize;
    let t1 = Instant::now();
    for i in 0..iterations {
        for p in &targets {
            let mut d = data.clone();
            d.insert(
                "Template".into(),
                Value::from_json(
                    &serde_json::json!({"Name": p, "BasePath": format!("{name}/templates")}),
                ),
            );
            match t.execute(p, &Value::map(d)) {
                Ok(s) => bytes += s.len(),
                Err(e) => {
                    if i == 0 {
                        exec_errors += 1;
                        eprintln!("{p}: {e}");
                    }
                }
            }
        }
    }
    let el = t1.elapsed();
    println!(
        "{name}: {} files ({} parse errors) parsed in {:.2} ms; {} templates x {iterations} renders in {:.1} ms = {:.0} chart renders/s ({} exec errors, {:.1} MB out)",
        files.len(),
        parse_errors,
        parse_time.as_secs_f64() * 1e3,
        targets.len(),
        el.as_secs_f64() * 1e3,
        iterations as f64 / el.as_secs_f64(),
        exec_errors,
        bytes as f64 / 1e6
    );
    Ok(())
}
