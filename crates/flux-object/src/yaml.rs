//! Multi-document YAML <-> `serde_json::Value`.
//!
//! STUB API (stable signatures; internals are being replaced with Go-compatible
//! scalar resolution): callers may rely on these function signatures.

use serde_json::Value;

/// A YAML parse or emit failure, with the 1-based line/column when known.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The input is not valid YAML.
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
/// Empty documents (only comments or nothing between `---`) are dropped.
pub fn parse_documents(src: &str) -> Result<Vec<Value>, YamlError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(src).map_err(|e| YamlError::Parse {
        line: 0,
        message: e.to_string(),
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Parses a single YAML document (an error if the stream holds more than one).
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
    serde_saphyr::to_string(value).map_err(|e| YamlError::Emit(e.to_string()))
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
