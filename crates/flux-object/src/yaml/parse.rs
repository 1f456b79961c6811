//! Event stream → `serde_json::Value`, with go-yaml v2 / sigs.k8s.io/yaml semantics:
//! plain scalars resolved by [`super::resolve`], non-plain scalars are strings, map keys
//! converted to strings, merge keys, anchors/aliases with an expansion budget, duplicate
//! keys rejected, and values JSON cannot hold (`.inf`, `.nan`) rejected with their line.

use std::collections::{HashMap, HashSet};

use granit_parser::{Event, Options, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use super::YamlError;
use super::float_format::format_go_float32;
use super::resolve::{Resolved, resolve_plain};

/// Most nodes all alias expansions of one document may copy (a billion-laughs guard).
pub const ALIAS_EXPANSION_BUDGET: usize = 1_000_000;

/// Parses every document of `src`; null documents (empty, comments only) are kept here.
pub(crate) fn parse_stream(src: &str) -> Result<Vec<Value>, YamlError> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    // libyaml (and so go-yaml) adds no line feed to a block scalar that ends the input.
    options.block_scalar_eof_without_line_feed = true;
    let parser = Parser::new_from_str_with_options(src, options);
    let mut builder = Builder::default();
    for event in parser {
        let (event, span) = event.map_err(|e| YamlError::Parse {
            line: e.marker().line(),
            message: e.kind().to_string(),
        })?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

#[derive(Default)]
struct Builder {
    documents: Vec<Value>,
    stack: Vec<Frame>,
    root: Option<Value>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
}

struct Anchored {
    value: Value,
    /// Nodes in `value`, what one more copy costs.
    nodes: usize,
}

/// A finished node on its way into its parent.
struct Node {
    value: Value,
    nodes: usize,
    line: usize,
    /// The string this node becomes as a map key, when it may be one.
    key: KeyText,
}

enum KeyText {
    Text(String),
    Merge,
    Invalid(&'static str),
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        nodes: usize,
        line: usize,
    },
    Mapping {
        map: Map<String, Value>,
        anchor: usize,
        nodes: usize,
        line: usize,
        /// Keys that came from a merge and may still be overridden.
        merged: HashSet<String>,
        pending: Option<PendingKey>,
    },
}

enum PendingKey {
    Key(String),
    Merge(usize),
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let line = span.start.line();
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Anchor(..) => {}
            Event::DocumentStart(..) => {
                self.root = None;
                self.anchors.clear();
                self.alias_nodes = 0;
            }
            Event::DocumentEnd => {
                let value = self.root.take().unwrap_or(Value::Null);
                self.documents.push(value);
            }
            Event::Alias(id) => {
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(parse_error(
                        line,
                        "alias refers to an anchor whose node is not finished (a node cannot contain itself)",
                    ));
                };
                self.alias_nodes = self.alias_nodes.saturating_add(anchored.nodes);
                if self.alias_nodes > ALIAS_EXPANSION_BUDGET {
                    return Err(parse_error(
                        line,
                        format!(
                            "document contains excessive aliasing (more than {ALIAS_EXPANSION_BUDGET} nodes copied by aliases)"
                        ),
                    ));
                }
                let value = anchored.value.clone();
                let nodes = anchored.nodes;
                let key = key_text_of_value(&value);
                self.finish(Node {
                    value,
                    nodes,
                    line,
                    key,
                })?;
            }
            Event::UnresolvedAlias(name) => {
                return Err(parse_error(
                    line,
                    format!("unknown anchor '{name}' referenced"),
                ));
            }
            Event::Scalar(text, style, anchor, tag) => {
                let node = scalar_node(&text, style, tag.as_deref(), line)?;
                if anchor != 0 {
                    self.anchors.insert(
                        anchor,
                        Anchored {
                            value: node.value.clone(),
                            nodes: 1,
                        },
                    );
                }
                self.finish(node)?;
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Sequence {
                items: Vec::new(),
                anchor,
                nodes: 1,
                line,
            }),
            Event::MappingStart(_, anchor, _) => self.stack.push(Frame::Mapping {
                map: Map::new(),
                anchor,
                nodes: 1,
                line,
                merged: HashSet::new(),
                pending: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(parse_error(line, "unbalanced end of collection"));
                };
                let (value, anchor, nodes, line) = match frame {
                    Frame::Sequence {
                        items,
                        anchor,
                        nodes,
                        line,
                    } => (Value::Array(items), anchor, nodes, line),
                    Frame::Mapping {
                        map,
                        anchor,
                        nodes,
                        line,
                        ..
                    } => (Value::Object(map), anchor, nodes, line),
                };
                if anchor != 0 {
                    self.anchors.insert(
                        anchor,
                        Anchored {
                            value: value.clone(),
                            nodes,
                        },
                    );
                }
                self.finish(Node {
                    value,
                    nodes,
                    line,
                    key: KeyText::Invalid("a collection"),
                })?;
            }
            // Comments and future presentation-only events carry no data.
            _ => {}
        }
        Ok(())
    }

    /// Hands a finished node to the enclosing collection (or makes it the document root).
    fn finish(&mut self, node: Node) -> Result<(), YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node.value);
            return Ok(());
        };
        match frame {
            Frame::Sequence { items, nodes, .. } => {
                *nodes = nodes.saturating_add(node.nodes);
                items.push(node.value);
            }
            Frame::Mapping {
                map,
                nodes,
                merged,
                pending,
                ..
            } => {
                *nodes = nodes.saturating_add(node.nodes);
                match pending.take() {
                    None => {
                        let key = match node.key {
                            KeyText::Merge => PendingKey::Merge(node.line),
                            KeyText::Text(key) => {
                                if map.contains_key(&key) && !merged.contains(&key) {
                                    return Err(parse_error(
                                        node.line,
                                        format!("key {key:?} already set in map"),
                                    ));
                                }
                                PendingKey::Key(key)
                            }
                            KeyText::Invalid(what) => {
                                return Err(parse_error(
                                    node.line,
                                    format!(
                                        "unsupported map key: {what} cannot be a JSON object key"
                                    ),
                                ));
                            }
                        };
                        *pending = Some(key);
                    }
                    Some(PendingKey::Key(key)) => {
                        merged.remove(&key);
                        map.insert(key, node.value);
                    }
                    Some(PendingKey::Merge(line)) => merge_into(map, merged, node.value, line)?,
                }
            }
        }
        Ok(())
    }
}

/// Applies a `<<` merge: keys already present win, and among several merged maps the
/// earlier ones win, as the YAML merge-key spec says.
fn merge_into(
    map: &mut Map<String, Value>,
    merged: &mut HashSet<String>,
    value: Value,
    line: usize,
) -> Result<(), YamlError> {
    let sources = match value {
        Value::Object(source) => vec![source],
        Value::Array(items) => {
            let mut sources = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Object(source) => sources.push(source),
                    _ => return Err(merge_error(line)),
                }
            }
            sources
        }
        _ => return Err(merge_error(line)),
    };
    for source in sources {
        for (key, value) in source {
            if !map.contains_key(&key) {
                merged.insert(key.clone());
                map.insert(key, value);
            }
        }
    }
    Ok(())
}

fn merge_error(line: usize) -> YamlError {
    parse_error(
        line,
        "map merge requires map or sequence of maps as the value",
    )
}

fn parse_error(line: usize, message: impl Into<String>) -> YamlError {
    YamlError::Parse {
        line,
        message: message.into(),
    }
}

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Resolves one scalar event into a JSON value and its map-key spelling.
fn scalar_node(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    line: usize,
) -> Result<Node, YamlError> {
    let core = tag.and_then(|t| t.suffix_in_namespace(CORE_TAG_PREFIX));
    let resolved = match (tag, core.as_deref()) {
        (None, _) if style == ScalarStyle::Plain => resolve_plain(text),
        (None, _) => Resolved::Str,
        (Some(_), Some("str" | "timestamp")) => Resolved::Str,
        (Some(_), Some("binary")) => {
            let bytes = decode_base64(text)
                .ok_or_else(|| parse_error(line, "!!binary value contains invalid base64 data"))?;
            let value = Value::String(String::from_utf8_lossy(&bytes).into_owned());
            let key = KeyText::Text(value.as_str().unwrap_or_default().to_string());
            return Ok(Node {
                value,
                nodes: 1,
                line,
                key,
            });
        }
        (Some(_), Some("null")) => match resolve_plain(text) {
            Resolved::Null => Resolved::Null,
            other => {
                return Err(parse_error(
                    line,
                    format!("cannot decode {} `{text}` as a !!null", short_kind(&other)),
                ));
            }
        },
        (Some(_), Some("merge")) => Resolved::Merge,
        (Some(_), Some(wanted @ ("bool" | "int" | "float"))) => {
            let resolved = resolve_plain(text);
            match (wanted, &resolved) {
                ("bool", Resolved::Bool(_))
                | ("int", Resolved::Int(_) | Resolved::Uint(_))
                | ("float", Resolved::Float(_)) => resolved,
                #[allow(clippy::cast_precision_loss)]
                ("float", Resolved::Int(i)) => Resolved::Float(*i as f64),
                #[allow(clippy::cast_precision_loss)]
                ("float", Resolved::Uint(u)) => Resolved::Float(*u as f64),
                _ => {
                    return Err(parse_error(
                        line,
                        format!(
                            "cannot decode {} `{text}` as a !!{wanted}",
                            short_kind(&resolved)
                        ),
                    ));
                }
            }
        }
        // `!`, custom `!tags` and other `!!tags` leave the text as a string, as go-yaml does.
        (Some(_), _) => Resolved::Str,
    };
    let (value, key) = match resolved {
        Resolved::Null => (Value::Null, KeyText::Invalid("null")),
        Resolved::Bool(b) => (Value::Bool(b), KeyText::Text(b.to_string())),
        Resolved::Int(i) => (Value::from(i), KeyText::Text(i.to_string())),
        Resolved::Uint(u) => (Value::from(u), KeyText::Text(u.to_string())),
        Resolved::Float(f) => (
            json_number(f, text, line)?,
            KeyText::Text(format_go_float32(f)),
        ),
        Resolved::Merge if tag.is_some() || style == ScalarStyle::Plain => {
            (Value::String(text.to_string()), KeyText::Merge)
        }
        Resolved::Str | Resolved::Merge => (
            Value::String(text.to_string()),
            KeyText::Text(text.to_string()),
        ),
    };
    Ok(Node {
        value,
        nodes: 1,
        line,
        key,
    })
}

fn short_kind(resolved: &Resolved) -> &'static str {
    match resolved {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Str | Resolved::Merge => "!!str",
    }
}

/// A float as sigs.k8s.io/yaml's JSON holds it: Go's `json.Marshal` writes whole numbers
/// below 1e21 without a fraction, so they read back as integers when they fit one.
fn json_number(f: f64, text: &str, line: usize) -> Result<Value, YamlError> {
    if !f.is_finite() {
        return Err(parse_error(
            line,
            format!("`{text}` is not a finite number and cannot be represented in JSON"),
        ));
    }
    Ok(Value::Number(float_as_json_number(f).unwrap_or_else(
        || Number::from_f64(f).unwrap_or_else(|| Number::from(0)),
    )))
}

/// The integer a whole float becomes after a trip through Go's JSON encoder, if any.
pub(crate) fn float_as_json_number(f: f64) -> Option<Number> {
    if f.fract() != 0.0 || f.abs() >= 1e21 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        return Some(Number::from(f as u64));
    }
    #[allow(clippy::cast_possible_truncation)]
    if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        return Some(Number::from(f as i64));
    }
    None
}

fn key_text_of_value(value: &Value) -> KeyText {
    match value {
        Value::String(s) => KeyText::Text(s.clone()),
        Value::Bool(b) => KeyText::Text(b.to_string()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => KeyText::Text(format_go_float32(f)),
            _ => KeyText::Text(n.to_string()),
        },
        Value::Null => KeyText::Invalid("null"),
        Value::Array(_) | Value::Object(_) => KeyText::Invalid("a collection"),
    }
}

/// Standard base64 (with padding), ignoring line breaks as Go's decoder does.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    let chunks = symbols.chunks(4);
    let total = chunks.len();
    for (index, chunk) in chunks.enumerate() {
        let mut acc: u32 = 0;
        let mut padding = 0;
        for &symbol in chunk {
            let sextet = match symbol {
                b'A'..=b'Z' => symbol - b'A',
                b'a'..=b'z' => symbol - b'a' + 26,
                b'0'..=b'9' => symbol - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    padding += 1;
                    0
                }
                _ => return None,
            };
            if symbol != b'=' && padding > 0 {
                return None;
            }
            acc = (acc << 6) | u32::from(sextet);
        }
        if padding > 2 || (padding > 0 && index + 1 != total) {
            return None;
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_like_go_std_encoding() {
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64("aGVs\nbG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(decode_base64("aGVsbG8"), None);
        assert_eq!(decode_base64("a=Vs"), None);
    }
}
