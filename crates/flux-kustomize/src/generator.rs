//! `configMapGenerator` / `secretGenerator` and kustomize's content-hash name suffix.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::kustomization::{GeneratorArgs, GeneratorOptions};
use crate::resource::{GeneratedInfo, Resource};

/// Reads files for a generator (relative to the kustomization root, load-restricted).
pub trait FileSource {
    /// The bytes of `path` (as written in the kustomization).
    fn load(&self, path: &str) -> Result<Vec<u8>, String>;
}

/// Which generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratorKind {
    ConfigMap,
    Secret,
}

/// Merges global generator options into an entry's own ones (kustomize's rules).
pub fn merge_options(
    global: Option<&GeneratorOptions>,
    local: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = global.cloned().unwrap_or_default();
    if let Some(l) = local {
        for (k, v) in &l.labels {
            out.labels.insert(k.clone(), v.clone());
        }
        for (k, v) in &l.annotations {
            out.annotations.insert(k.clone(), v.clone());
        }
        out.disable_name_suffix_hash |= l.disable_name_suffix_hash;
        out.immutable |= l.immutable;
    }
    out
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2
        && ((b[0] == b'"' && b[b.len() - 1] == b'"') || (b[0] == b'\'' && b[b.len() - 1] == b'\''))
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn is_env_var_name(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn is_config_map_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// One key's content: text or bytes.
enum KvValue {
    Text(String),
    Bytes(Vec<u8>),
}

fn parse_env_file(
    name: &str,
    bytes: &[u8],
    out: &mut Vec<(String, KvValue)>,
) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (line.to_string(), None),
        };
        if !is_env_var_name(&key) {
            return Err(format!(
                "env file {name}, line {}: invalid key {key:?}: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
                i + 1
            ));
        }
        // A bare `KEY` takes its value from the environment (empty when unset), as kustomize does.
        let value = match value {
            Some(v) => v,
            None => std::env::var(&key).unwrap_or_default(),
        };
        out.push((key, KvValue::Text(value)));
    }
    Ok(())
}

/// Base64 as kustomize writes Secret data: when the text is 70 characters or longer it is cut
/// into lines of 70, each ending in a newline.
pub fn secret_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() / LINE == 0 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Builds the ConfigMap or Secret an entry describes (name without hash).
pub fn generate(
    kind: GeneratorKind,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    files: &dyn FileSource,
) -> Result<Resource, String> {
    let mut pairs: Vec<(String, KvValue)> = Vec::new();
    for lit in &args.literals {
        let Some((k, v)) = lit.split_once('=') else {
            return Err(format!(
                "literals: invalid literal source {lit}, expected key=value"
            ));
        };
        pairs.push((k.to_string(), KvValue::Text(remove_quotes(v).to_string())));
    }
    for f in &args.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => {
                if k.is_empty() {
                    return Err(format!("files: key name for file path {p} missing"));
                }
                if p.is_empty() {
                    return Err(format!("files: file path for key name {k} missing"));
                }
                (k.to_string(), p.to_string())
            }
            None => {
                let base = Path::new(f)
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| f.clone());
                (base, f.clone())
            }
        };
        let bytes = files.load(&path).map_err(|e| format!("files: {e}"))?;
        match String::from_utf8(bytes) {
            Ok(s) => pairs.push((key, KvValue::Text(s))),
            Err(e) => pairs.push((key, KvValue::Bytes(e.into_bytes()))),
        }
    }
    for env in &args.envs {
        let bytes = files.load(env).map_err(|e| format!("envs: {e}"))?;
        parse_env_file(env, &bytes, &mut pairs)?;
    }

    let mut data = Map::new();
    let mut binary = Map::new();
    let mut seen = BTreeMap::new();
    for (k, v) in pairs {
        if !is_config_map_key(&k) {
            return Err(format!(
                "invalid key {k:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
            ));
        }
        if seen.insert(k.clone(), ()).is_some() {
            return Err(format!(
                "cannot add key {k}, another key by that name already exists"
            ));
        }
        match (kind, v) {
            (GeneratorKind::ConfigMap, KvValue::Text(s)) => {
                data.insert(k, Value::String(s));
            }
            (GeneratorKind::ConfigMap, KvValue::Bytes(b)) => {
                binary.insert(
                    k,
                    Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
                );
            }
            (GeneratorKind::Secret, KvValue::Text(s)) => {
                data.insert(k, Value::String(secret_base64(s.as_bytes())));
            }
            (GeneratorKind::Secret, KvValue::Bytes(b)) => {
                data.insert(k, Value::String(secret_base64(&b)));
            }
        }
    }

    let opts = merge_options(global, args.options.as_ref());
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        metadata.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if !opts.labels.is_empty() {
        metadata.insert("labels".into(), json!(opts.labels));
    }
    if !opts.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(opts.annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert(
        "kind".into(),
        json!(match kind {
            GeneratorKind::ConfigMap => "ConfigMap",
            GeneratorKind::Secret => "Secret",
        }),
    );
    obj.insert("metadata".into(), Value::Object(metadata));
    if kind == GeneratorKind::Secret {
        let t = if args.type_.is_empty() {
            "Opaque"
        } else {
            &args.type_
        };
        obj.insert("type".into(), json!(t));
    }
    // kustomize always writes `data` on a Secret (`{}` when empty), only when set on a ConfigMap.
    if !data.is_empty() || kind == GeneratorKind::Secret {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if opts.immutable {
        obj.insert("immutable".into(), json!(true));
    }
    let mut r = Resource::new(obj);
    r.generated = Some(GeneratedInfo {
        behavior: if args.behavior.is_empty() {
            "create".into()
        } else {
            args.behavior.clone()
        },
        hash_suffix: !opts.disable_name_suffix_hash,
    });
    Ok(r)
}

/// Writes a value as Go's `encoding/json` does for `map[string]interface{}`:
/// sorted keys, `<`, `>`, `&`, U+2028, U+2029 escaped.
pub fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                if let Some(x) = m.get(k) {
                    go_json(x, out);
                }
            }
            out.push('}');
        }
    }
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn node_value(obj: &Map<String, Value>, path: &[&str]) -> Value {
    let mut cur: Option<&Value> = None;
    for (i, p) in path.iter().enumerate() {
        cur = if i == 0 {
            obj.get(*p)
        } else {
            cur.and_then(|c| c.get(*p))
        };
    }
    match cur {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(other) => Value::String(crate::resource::scalar_string(other)),
    }
}

/// kustomize's content hash (10 characters) of a ConfigMap, Secret or other object.
pub fn content_hash(obj: &Map<String, Value>) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = Map::new();
    match kind {
        "ConfigMap" => {
            m.insert("kind".into(), json!("ConfigMap"));
            // kustomize looks the name up as one field literally called `metadata/name`,
            // which never exists: the name is always hashed as "".
            m.insert("name".into(), json!(""));
            m.insert("data".into(), node_value(obj, &["data"]));
            let b = node_value(obj, &["binaryData"]);
            if b.is_object() {
                m.insert("binaryData".into(), b);
            }
        }
        "Secret" => {
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), node_value(obj, &["type"]));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), node_value(obj, &["data"]));
            let s = node_value(obj, &["stringData"]);
            if s.is_object() {
                m.insert("stringData".into(), s);
            }
        }
        _ => {
            let mut s = String::new();
            go_json(&Value::Object(obj.clone()), &mut s);
            return encode_hash(&s);
        }
    }
    let mut s = String::new();
    go_json(&Value::Object(m), &mut s);
    encode_hash(&s)
}

fn encode_hash(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFiles;
    impl FileSource for NoFiles {
        fn load(&self, path: &str) -> Result<Vec<u8>, String> {
            Err(format!("no file {path}"))
        }
    }

    #[test]
    fn literal_config_map_hash_matches_kustomize() {
        // `kubectl kustomize` (kustomize v5.5) names this ConfigMap `the-map-8hkcg74h7c`.
        let args = GeneratorArgs {
            name: "the-map".into(),
            literals: vec![
                "altGreeting=Good Morning!".into(),
                "enableRisky=false".into(),
            ],
            ..Default::default()
        };
        let r =
            generate(GeneratorKind::ConfigMap, &args, None, &NoFiles).map_err(|e| e.to_string());
        let r =
            r.unwrap_or_else(|e| Resource::new(Map::from_iter([("error".to_string(), json!(e))])));
        assert_eq!(content_hash(&r.obj), "8hkcg74h7c");
    }

    #[test]
    fn long_secret_values_wrap_at_70() {
        assert_eq!(secret_base64(b"abc"), "YWJj");
        let long = secret_base64(&[b'x'; 60]);
        let lines: Vec<&str> = long.split('\n').collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 70);
        assert_eq!(lines[2], "");
    }

    #[test]
    fn go_json_escapes_html() {
        let mut s = String::new();
        go_json(&json!({"b": "<&>", "a": 1}), &mut s);
        assert_eq!(s, r#"{"a":1,"b":"\u003c\u0026\u003e"}"#);
    }

    #[test]
    fn bad_literal_is_an_error() {
        let args = GeneratorArgs {
            name: "x".into(),
            literals: vec!["novalue".into()],
            ..Default::default()
        };
        assert!(generate(GeneratorKind::ConfigMap, &args, None, &NoFiles).is_err());
    }
}
