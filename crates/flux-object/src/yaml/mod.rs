//! Multi-document YAML <-> `serde_json::Value`, with the scalar semantics Kubernetes tooling
//! has: input is read the way sigs.k8s.io/yaml reads it (go-yaml v2, YAML 1.1 resolution,
//! then JSON), output is written the way go-yaml v3 / kustomize write it.
//!
//! Reading (see the crate README for the full list):
//! * plain `yes`/`no`/`on`/`off`/`y`/`n` (three case spellings each) are booleans;
//!   `~`, `null`, `Null`, `NULL` and empty are null;
//! * integers use Go syntax: `0755` is 493, `0x1F`, `0o17`, `0b101`, `1_000`;
//!   integers beyond u64 become floats, whole floats become integers (as after Go's JSON);
//! * `.inf` and `.nan` are errors naming the line (JSON cannot hold them);
//! * quoted and block scalars are strings; `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`,
//!   `!!binary`, `!!timestamp` tags are honoured;
//! * merge keys (`<<`), anchors and aliases (with [`ALIAS_EXPANSION_BUDGET`]), duplicate keys
//!   are errors, and non-string keys become strings (`1: a` → `"1"`, `true: x` → `"true"`).

use serde_json::Value;

mod emit;
mod float_format;
mod parse;
mod resolve;

pub use parse::ALIAS_EXPANSION_BUDGET;

/// A YAML parse or emit failure, with the 1-based line when known.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The input is not valid YAML, or holds something JSON cannot represent.
    #[error("yaml: line {line}: {message}")]
    Parse {
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The value cannot be written as YAML.
    #[error("yaml: cannot emit: {0}")]
    Emit(String),
}

/// Parses every document of a (possibly multi-document) YAML stream.
/// Empty documents (only comments, or nothing between `---`) and documents that are
/// just `null` are dropped.
pub fn parse_documents(src: &str) -> Result<Vec<Value>, YamlError> {
    Ok(parse::parse_stream(src)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect())
}

/// Parses a single YAML document (an error if the stream holds more than one; `Null` when it
/// holds none).
pub fn parse_document(src: &str) -> Result<Value, YamlError> {
    let mut docs = parse_documents(src)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0)),
        n => Err(YamlError::Parse {
            line: 0,
            message: format!("expected one document, found {n}"),
        }),
    }
}

/// Writes one value as a YAML document (no leading `---`, trailing newline).
pub fn to_yaml_string(value: &Value) -> Result<String, YamlError> {
    emit::emit_document(value)
}

/// Writes documents separated by `---\n`, as `kustomize build` prints them.
pub fn to_multi_doc_string(docs: &[Value]) -> Result<String, YamlError> {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml_string(d)?);
    }
    Ok(out)
}
