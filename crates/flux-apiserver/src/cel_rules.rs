//! CRD `x-kubernetes-validations`: CEL rules evaluated on every write of a custom resource
//! (create, update, patch, apply, status), as the apiextensions apiserver does.
//!
//! The CEL interpreter and the Kubernetes function libraries come from kube-cel (through its
//! `cel` re-export). The walk over the schema is written here because the apiserver's
//! semantics differ from kube-cel's own validator: `oldSelf` correlates only through object
//! properties, granular/atomic maps and `x-kubernetes-list-type: map` items (by key, never
//! by index), unchanged values ratchet rules that do not use `oldSelf`, property names are
//! escaped only when they are properties (not map keys), `self.metadata` holds only
//! `name` and `generateName` at the root, and failures have the apiserver's field paths and
//! messages.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use kube_cel::KubeCelExt;
use kube_cel::cel::objects::{Key, Map as CelMap, OptionalValue};
use kube_cel::cel::{Context, Program, Value as CelValue};
use serde_json::Value;

use crate::status::{StatusCause, render_value};

/// One compiled rule of a schema node.
struct CompiledRule {
    program: Program,
    message_program: Option<Program>,
    rule: String,
    message: String,
    reason: Option<String>,
    field_path: Option<String>,
    optional_old_self: bool,
    uses_old_self: bool,
}

/// How a string is bound in CEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringFormat {
    Plain,
    DateTime,
    Duration,
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// A schema node with its compiled rules (only the parts CEL needs).
struct Node {
    ty: String,
    format: StringFormat,
    rules: Vec<Result<CompiledRule, String>>,
    properties: HashMap<String, Node>,
    additional: Option<Box<Node>>,
    items: Option<Box<Node>>,
    list_type: ListType,
    /// `x-kubernetes-map-type` is granular/atomic (or unset): old values correlate.
    map_correlatable: bool,
    /// This node or one below it has rules.
    has_rules: bool,
}

/// The compiled `x-kubernetes-validations` of one CRD version's schema.
pub struct CompiledRules {
    root: Node,
}

impl std::fmt::Debug for CompiledRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRules")
            .field("has_rules", &self.root.has_rules)
            .finish()
    }
}

/// A rule of the schema that does not compile, with the path of the rule in the schema
/// (`properties[spec].x-kubernetes-validations[0].rule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCompileError {
    pub schema_path: String,
    pub rule: String,
    pub message: String,
}

const MAX_DEPTH: usize = 64;

impl CompiledRules {
    /// Compile every rule of `schema` (an `openAPIV3Schema`). Rules that do not compile
    /// are kept as errors and reported both by [`Self::compile_errors`] and, at
    /// evaluation, as a field error.
    pub fn compile(schema: &Value) -> Self {
        Self {
            root: build_node(schema, 0),
        }
    }

    /// Does the schema have any rule at all?
    pub fn is_empty(&self) -> bool {
        !self.root.has_rules
    }

    /// The rules that do not compile, for the CRD's own validation.
    pub fn compile_errors(schema: &Value) -> Vec<RuleCompileError> {
        let mut out = Vec::new();
        collect_compile_errors(schema, "", &mut out, 0);
        out
    }

    /// Evaluate the rules against `obj` (and `old` on update). Returns one cause per
    /// failed rule, with upstream's field path and message.
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<StatusCause> {
        let mut causes = Vec::new();
        if !self.root.has_rules {
            return causes;
        }
        BASE_CONTEXT.with(|base| {
            let walk = Walk { base, root: true };
            walk.node(&self.root, obj, old, None, false, &mut causes);
        });
        causes
    }
}

thread_local! {
    static BASE_CONTEXT: Context<'static> = {
        let mut ctx = Context::default();
        ctx.register_all();
        ctx
    };
}

fn rule_list(schema: &Value) -> &[Value] {
    schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

fn compile_rule(raw: &Value) -> Result<CompiledRule, String> {
    let rule = raw
        .get("rule")
        .and_then(Value::as_str)
        .ok_or_else(|| "rule is required".to_string())?
        .to_string();
    let program = Program::compile(&rule).map_err(|e| format!("compilation failed: {e}"))?;
    let message_expression = str_field(raw, "messageExpression");
    let message_program = match &message_expression {
        Some(m) => Some(
            Program::compile(m)
                .map_err(|e| format!("messageExpression compilation failed: {e}"))?,
        ),
        None => None,
    };
    let message = match str_field(raw, "message") {
        Some(m) => m.trim().to_string(),
        None => format!("failed rule: {}", rule.trim()),
    };
    let uses_old_self = program.references().has_variable("oldSelf");
    Ok(CompiledRule {
        program,
        message_program,
        message,
        reason: str_field(raw, "reason"),
        field_path: str_field(raw, "fieldPath"),
        optional_old_self: raw.get("optionalOldSelf").and_then(Value::as_bool) == Some(true),
        uses_old_self,
        rule,
    })
}

fn build_node(schema: &Value, depth: usize) -> Node {
    let rules: Vec<Result<CompiledRule, String>> = if depth > MAX_DEPTH {
        vec![Err("schema nesting is too deep to evaluate rules".into())]
    } else {
        rule_list(schema).iter().map(compile_rule).collect()
    };
    let child = |s: &Value| Box::new(build_node(s, depth + 1));
    let mut properties = HashMap::new();
    if depth <= MAX_DEPTH
        && let Some(props) = schema.get("properties").and_then(Value::as_object)
    {
        for (k, s) in props {
            properties.insert(k.clone(), build_node(s, depth + 1));
        }
    }
    let additional = if depth > MAX_DEPTH {
        None
    } else {
        schema
            .get("additionalProperties")
            .filter(|a| a.is_object())
            .map(child)
    };
    let items = if depth > MAX_DEPTH {
        None
    } else {
        schema.get("items").filter(|i| i.is_object()).map(child)
    };
    let format = if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        StringFormat::Plain
    } else {
        match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => StringFormat::DateTime,
            Some("duration") => StringFormat::Duration,
            Some("byte") => StringFormat::Bytes,
            _ => StringFormat::Plain,
        }
    };
    let list_type = match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => ListType::Set,
        Some("map") => ListType::Map(
            schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => ListType::Atomic,
    };
    let map_correlatable = matches!(
        schema.get("x-kubernetes-map-type").and_then(Value::as_str),
        None | Some("granular" | "atomic")
    );
    let has_rules = !rules.is_empty()
        || properties.values().any(|n| n.has_rules)
        || additional.as_ref().is_some_and(|n| n.has_rules)
        || items.as_ref().is_some_and(|n| n.has_rules);
    Node {
        ty: schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        format,
        rules,
        properties,
        additional,
        items,
        list_type,
        map_correlatable,
        has_rules,
    }
}

fn collect_compile_errors(
    schema: &Value,
    path: &str,
    out: &mut Vec<RuleCompileError>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let prefix = |rest: &str| {
        if path.is_empty() {
            rest.to_string()
        } else {
            format!("{path}.{rest}")
        }
    };
    if let Some(v) = schema.get("x-kubernetes-validations")
        && !v.is_array()
    {
        out.push(RuleCompileError {
            schema_path: prefix("x-kubernetes-validations"),
            rule: String::new(),
            message: "must be a list of rules".into(),
        });
    }
    for (i, raw) in rule_list(schema).iter().enumerate() {
        let rule = raw.get("rule").and_then(Value::as_str).unwrap_or("");
        let at = prefix(&format!("x-kubernetes-validations[{i}]"));
        if rule.trim().is_empty() {
            out.push(RuleCompileError {
                schema_path: format!("{at}.rule"),
                rule: rule.to_string(),
                message: "Required value: rule is not specified".into(),
            });
            continue;
        }
        if let Some(m) = raw.get("message").and_then(Value::as_str)
            && m.contains('\n')
        {
            out.push(RuleCompileError {
                schema_path: format!("{at}.message"),
                rule: rule.to_string(),
                message: "message must not contain line breaks".into(),
            });
        }
        if let Some(r) = raw.get("reason").and_then(Value::as_str)
            && !matches!(
                r,
                "FieldValueInvalid"
                    | "FieldValueForbidden"
                    | "FieldValueRequired"
                    | "FieldValueDuplicate"
            )
        {
            out.push(RuleCompileError {
                schema_path: format!("{at}.reason"),
                rule: rule.to_string(),
                message: format!(
                    "Unsupported value: {r:?}: supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\""
                ),
            });
        }
        match compile_rule(raw) {
            Ok(_) => {}
            Err(message) => {
                let field = if message.starts_with("messageExpression") {
                    "messageExpression"
                } else {
                    "rule"
                };
                out.push(RuleCompileError {
                    schema_path: format!("{at}.{field}"),
                    rule: rule.to_string(),
                    message,
                });
            }
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            collect_compile_errors(s, &prefix(&format!("properties[{k}]")), out, depth + 1);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(s) = schema.get(key).filter(|s| s.is_object()) {
            collect_compile_errors(s, &prefix(key), out, depth + 1);
        }
    }
}

// ------------------------------------------------------------------------------------
// JSON -> CEL

const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// A property name as CEL sees it (upstream's escaping); `None` when it cannot be
/// accessed from CEL at all.
fn escape_property(name: &str) -> Option<String> {
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '-' | '/'));
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
    {
        return None;
    }
    Some(
        name.replace("__", "__underscores__")
            .replace('.', "__dot__")
            .replace('-', "__dash__")
            .replace('/', "__slash__"),
    )
}

fn cel_string(s: &str) -> CelValue {
    CelValue::String(Arc::new(s.to_string()))
}

/// Parse a string the way CEL's `timestamp()` / `duration()` do (through the
/// interpreter, so the types match kube-cel's).
fn convert_with_function(function: &str, s: &str) -> Option<CelValue> {
    thread_local! {
        static CONVERTERS: (Option<Program>, Option<Program>) = (
            Program::compile("timestamp(v)").ok(),
            Program::compile("duration(v)").ok(),
        );
    }
    CONVERTERS.with(|(ts, dur)| {
        let program = if function == "timestamp" { ts } else { dur };
        let program = program.as_ref()?;
        let mut ctx = Context::default();
        ctx.add_variable_from_value("v", cel_string(s));
        program.execute(&ctx).ok()
    })
}

fn to_cel(value: &Value, node: Option<&Node>) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => {
            let ty = node.map(|n| n.ty.as_str()).unwrap_or("");
            if ty == "number" {
                return CelValue::Float(n.as_f64().unwrap_or(f64::NAN));
            }
            if let Some(i) = n.as_i64() {
                CelValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                CelValue::UInt(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if ty == "integer" && f.fract() == 0.0 && f.abs() < 9.0e18 {
                    // Whole numbers written as 1.0 are integers to the apiserver.
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    CelValue::Int(i)
                } else {
                    CelValue::Float(f)
                }
            }
        }
        Value::String(s) => match node.map(|n| n.format).unwrap_or(StringFormat::Plain) {
            StringFormat::DateTime => {
                convert_with_function("timestamp", s).unwrap_or_else(|| cel_string(s))
            }
            StringFormat::Duration => {
                convert_with_function("duration", s).unwrap_or_else(|| cel_string(s))
            }
            StringFormat::Bytes => match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => CelValue::Bytes(Arc::new(b)),
                Err(_) => cel_string(s),
            },
            StringFormat::Plain => cel_string(s),
        },
        Value::Array(items) => {
            let item_node = node.and_then(|n| n.items.as_deref());
            CelValue::List(Arc::new(
                items.iter().map(|i| to_cel(i, item_node)).collect(),
            ))
        }
        Value::Object(map) => {
            let mut out = HashMap::with_capacity(map.len());
            for (k, v) in map {
                let property = node.and_then(|n| n.properties.get(k));
                match property {
                    Some(p) => {
                        if let Some(name) = escape_property(k) {
                            out.insert(Key::String(Arc::new(name)), to_cel(v, Some(p)));
                        }
                    }
                    None => {
                        let additional = node.and_then(|n| n.additional.as_deref());
                        out.insert(Key::String(Arc::new(k.clone())), to_cel(v, additional));
                    }
                }
            }
            CelValue::Map(CelMap { map: Arc::new(out) })
        }
    }
}

/// `self` at the resource root: apiVersion, kind, and of metadata only name and
/// generateName (upstream's `WithTypeAndObjectMeta`).
fn root_view(obj: &Value) -> Value {
    let mut view = obj.clone();
    if let Some(map) = view.as_object_mut()
        && let Some(meta) = map.get("metadata").and_then(Value::as_object)
    {
        let mut kept = serde_json::Map::new();
        for k in ["name", "generateName"] {
            if let Some(v) = meta.get(k) {
                kept.insert(k.to_string(), v.clone());
            }
        }
        map.insert("metadata".into(), Value::Object(kept));
    }
    view
}

// ------------------------------------------------------------------------------------
// The walk

/// A field path as upstream's `field.Path` prints it (`<nil>` at the root).
#[derive(Clone)]
struct FieldPath(Option<String>);

impl FieldPath {
    fn child(&self, name: &str) -> Self {
        match &self.0 {
            None => Self(Some(name.to_string())),
            Some(p) => Self(Some(format!("{p}.{name}"))),
        }
    }
    fn index(&self, i: usize) -> Self {
        Self(Some(format!("{}[{i}]", self.0.as_deref().unwrap_or(""))))
    }
    fn key(&self, k: &str) -> Self {
        Self(Some(format!("{}[{k}]", self.0.as_deref().unwrap_or(""))))
    }
    fn render(&self) -> String {
        self.0.clone().unwrap_or_else(|| "<nil>".to_string())
    }
}

struct Walk<'a> {
    base: &'a Context<'static>,
    root: bool,
}

impl Walk<'_> {
    /// Evaluate `node`'s rules on `value` and descend. `old` is the correlated old
    /// value; `parent_unchanged` is whether the nearest correlated ancestor is unchanged
    /// (ratcheting).
    fn node(
        &self,
        node: &Node,
        value: &Value,
        old: Option<&Value>,
        path: Option<&FieldPath>,
        parent_unchanged: bool,
        causes: &mut Vec<StatusCause>,
    ) {
        if !node.has_rules || value.is_null() {
            return;
        }
        let root_path = FieldPath(None);
        let path = path.unwrap_or(&root_path);
        let unchanged = match old {
            Some(o) => o == value,
            None => parent_unchanged,
        };
        if !node.rules.is_empty() {
            self.rules(node, value, old, path, unchanged, causes);
        }
        let child = Walk {
            base: self.base,
            root: false,
        };
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let old_v = if node.map_correlatable {
                        old.and_then(|o| o.get(k))
                    } else {
                        None
                    };
                    if let Some(sub) = node.properties.get(k) {
                        child.node(sub, v, old_v, Some(&path.child(k)), unchanged, causes);
                    } else if let Some(sub) = node.additional.as_deref() {
                        child.node(sub, v, old_v, Some(&path.key(k)), unchanged, causes);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(sub) = node.items.as_deref() {
                    let old_items = old.and_then(Value::as_array);
                    for (i, item) in items.iter().enumerate() {
                        let old_item = match (&node.list_type, old_items) {
                            (ListType::Map(keys), Some(olds)) => olds
                                .iter()
                                .find(|o| keys.iter().all(|k| o.get(k) == item.get(k))),
                            _ => None,
                        };
                        child.node(sub, item, old_item, Some(&path.index(i)), unchanged, causes);
                    }
                }
            }
            _ => {}
        }
    }

    fn rules(
        &self,
        node: &Node,
        value: &Value,
        old: Option<&Value>,
        path: &FieldPath,
        unchanged: bool,
        causes: &mut Vec<StatusCause>,
    ) {
        let (self_json, old_json);
        let (value, old) = if self.root {
            self_json = root_view(value);
            old_json = old.map(root_view);
            (&self_json, old_json.as_ref())
        } else {
            (value, old)
        };
        let self_value = to_cel(value, Some(node));
        let old_value = old.map(|o| to_cel(o, Some(node)));
        let mut ctx = self.base.new_inner_scope();
        ctx.add_variable_from_value("self", self_value);
        if let Some(o) = &old_value {
            ctx.add_variable_from_value("oldSelf", o.clone());
        }
        let shown_value = if matches!(node.ty.as_str(), "object" | "array") || node.ty.is_empty() {
            None
        } else {
            Some(value)
        };
        for compiled in &node.rules {
            let rule = match compiled {
                Ok(rule) => rule,
                Err(e) => {
                    causes.push(StatusCause {
                        reason: "FieldValueInvalid".into(),
                        message: format!(
                            "Invalid value: {}: rule compile error: {e}",
                            render_value(&Value::String(node.ty.clone()))
                        ),
                        field: path.render(),
                    });
                    continue;
                }
            };
            if rule.uses_old_self && old_value.is_none() && !rule.optional_old_self {
                continue;
            }
            // With optionalOldSelf, oldSelf is an optional (none on create), as upstream.
            let optional_scope;
            let eval_ctx = if rule.optional_old_self {
                optional_scope = {
                    let optional = match &old_value {
                        Some(o) => OptionalValue::of(o.clone()),
                        None => OptionalValue::none(),
                    };
                    let mut s = ctx.new_inner_scope();
                    s.add_variable_from_value("oldSelf", CelValue::Opaque(Arc::new(optional)));
                    s
                };
                &optional_scope
            } else {
                &ctx
            };
            let type_value = Value::String(node.ty.clone());
            match rule.program.execute(eval_ctx) {
                Ok(CelValue::Bool(true)) => {}
                Ok(CelValue::Bool(false)) => {
                    if !rule.uses_old_self && unchanged {
                        // Ratcheting: an unchanged value keeps passing.
                        continue;
                    }
                    let detail = rule
                        .message_program
                        .as_ref()
                        .and_then(|p| match p.execute(eval_ctx) {
                            Ok(CelValue::String(s)) => {
                                let t = s.trim();
                                (!t.is_empty() && !t.contains('\n')).then(|| t.to_string())
                            }
                            _ => None,
                        })
                        .unwrap_or_else(|| rule.message.clone());
                    let at = match &rule.field_path {
                        Some(fp) => {
                            let fp = fp.trim_start_matches('.');
                            path.child(fp)
                        }
                        None => path.clone(),
                    };
                    causes.push(failure_cause(
                        &at,
                        shown_value,
                        &detail,
                        rule.reason.as_deref(),
                    ));
                }
                Ok(_) => causes.push(StatusCause::invalid(
                    path.render(),
                    &type_value,
                    &format!(
                        "rule did not evaluate to a bool for rule: {}",
                        rule.rule.trim()
                    ),
                )),
                Err(e) => {
                    let text = e.to_string();
                    let detail = if text.starts_with("no such overload")
                        || text.contains("UnsupportedBinaryOperator")
                    {
                        format!(
                            "'{text}': call arguments did not match a supported operator, function or macro signature for rule: {}",
                            error_string(rule)
                        )
                    } else {
                        format!("{text} evaluating rule: {}", error_string(rule))
                    };
                    causes.push(StatusCause::invalid(path.render(), &type_value, &detail));
                }
            }
        }
    }
}

fn error_string(rule: &CompiledRule) -> String {
    if rule.message.starts_with("failed rule: ") {
        rule.rule.trim().to_string()
    } else {
        rule.message.clone()
    }
}

/// upstream's `fieldErrorForReason`.
fn failure_cause(
    path: &FieldPath,
    value: Option<&Value>,
    detail: &str,
    reason: Option<&str>,
) -> StatusCause {
    let field = path.render();
    match reason {
        Some("FieldValueForbidden") => StatusCause::forbidden(field, detail),
        Some("FieldValueRequired") => StatusCause::required(field, detail),
        Some("FieldValueDuplicate") => StatusCause {
            reason: "FieldValueDuplicate".into(),
            message: match value {
                Some(v) => format!("Duplicate value: {}", render_value(v)),
                None => "Duplicate value".to_string(),
            },
            field,
        },
        _ => StatusCause {
            reason: "FieldValueInvalid".into(),
            message: match value {
                Some(v) => format!("Invalid value: {}: {detail}", render_value(v)),
                None => format!("Invalid value: {detail}"),
            },
            field,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.metadata.name.startsWith('ok')", "message": "name must start with ok"}],
            "properties": {
            "metadata": {"type": "object"},
            "spec": {"type": "object",
                "x-kubernetes-validations": [
                    {"rule": "self.min <= self.max", "messageExpression": "'min ' + string(self.min) + ' exceeds max ' + string(self.max)"},
                    {"rule": "self.mode == oldSelf.mode", "message": "mode is immutable", "fieldPath": ".mode"}],
                "properties": {
                    "min": {"type": "integer"},
                    "max": {"type": "integer"},
                    "mode": {"type": "string"},
                    "when": {"type": "string", "format": "date-time",
                        "x-kubernetes-validations": [{"rule": "self > timestamp('2020-01-01T00:00:00Z')"}]},
                    "timeout": {"type": "string", "format": "duration",
                        "x-kubernetes-validations": [{"rule": "self <= duration('1h')", "reason": "FieldValueForbidden", "message": "at most an hour"}]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string",
                        "x-kubernetes-validations": [{"rule": "self.size() < 5"}]}},
                    "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                            "x-kubernetes-validations": [{"rule": "self.port >= oldSelf.port", "message": "port may only grow"}]}},
                    "x-name": {"type": "string", "x-kubernetes-validations": [{"rule": "self != 'bad'"}]},
                    "holder": {"type": "object", "properties": {"namespace": {"type": "string"}},
                        "x-kubernetes-validations": [{"rule": "self.__namespace__ != 'kube-system'"}]}
                }}
        }})
    }

    fn obj(spec: Value) -> Value {
        json!({"apiVersion": "x.io/v1", "kind": "K", "metadata": {"name": "ok-1", "namespace": "d", "uid": "u"}, "spec": spec})
    }

    fn fields(causes: &[StatusCause]) -> Vec<(String, String)> {
        causes
            .iter()
            .map(|c| (c.field.clone(), c.message.clone()))
            .collect()
    }

    #[test]
    fn passing_object_has_no_causes() {
        let rules = CompiledRules::compile(&schema());
        let o = obj(
            json!({"min": 1, "max": 2, "mode": "a", "when": "2024-05-01T00:00:00Z",
            "timeout": "30m", "labels": {"a.b/c": "x"}, "ports": [{"name": "http", "port": 80}],
            "x-name": "good", "holder": {"namespace": "demo"}}),
        );
        assert_eq!(fields(&rules.validate(&o, None)), vec![]);
    }

    #[test]
    fn failures_have_upstream_paths_and_messages() {
        let rules = CompiledRules::compile(&schema());
        let mut o = obj(json!({"min": 3, "max": 2, "when": "2019-05-01T00:00:00Z",
            "timeout": "2h", "labels": {"k": "toolong"}, "x-name": "bad", "holder": {"namespace": "kube-system"}}));
        o["metadata"]["name"] = json!("bad-name");
        let got = fields(&rules.validate(&o, None));
        assert!(
            got.contains(&(
                "<nil>".into(),
                "Invalid value: name must start with ok".into()
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&("spec".into(), "Invalid value: min 3 exceeds max 2".into())),
            "{got:?}"
        );
        assert!(got.contains(&("spec.when".into(), "Invalid value: \"2019-05-01T00:00:00Z\": failed rule: self > timestamp('2020-01-01T00:00:00Z')".into())), "{got:?}");
        assert!(
            got.contains(&("spec.timeout".into(), "Forbidden: at most an hour".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "spec.labels[k]".into(),
                "Invalid value: \"toolong\": failed rule: self.size() < 5".into()
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "spec.x-name".into(),
                "Invalid value: \"bad\": failed rule: self != 'bad'".into()
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "spec.holder".into(),
                "Invalid value: failed rule: self.__namespace__ != 'kube-system'".into()
            )),
            "{got:?}"
        );
        assert_eq!(got.len(), 7, "{got:?}");
    }

    #[test]
    fn transition_rules_need_an_old_value_and_correlate_by_key() {
        let rules = CompiledRules::compile(&schema());
        let old = obj(json!({"min": 1, "max": 2, "mode": "a",
            "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 90}]}));
        // Create: oldSelf rules are skipped.
        assert!(rules.validate(&old, None).is_empty());
        // Reordered list items correlate by key, not index.
        let new = obj(json!({"min": 1, "max": 2, "mode": "a",
            "ports": [{"name": "b", "port": 90}, {"name": "a", "port": 81}, {"name": "c", "port": 1}]}));
        assert!(rules.validate(&new, Some(&old)).is_empty());
        let shrunk = obj(json!({"min": 1, "max": 2, "mode": "b",
            "ports": [{"name": "b", "port": 10}]}));
        let got = fields(&rules.validate(&shrunk, Some(&old)));
        assert_eq!(
            got,
            vec![
                (
                    "spec.mode".to_string(),
                    "Invalid value: mode is immutable".to_string()
                ),
                (
                    "spec.ports[0]".to_string(),
                    "Invalid value: port may only grow".to_string()
                ),
            ]
        );
    }

    #[test]
    fn unchanged_values_ratchet() {
        let rules = CompiledRules::compile(&schema());
        // Stored before the rule existed: min > max. An update elsewhere still passes.
        let old = obj(json!({"min": 5, "max": 2, "mode": "a", "x-name": "bad"}));
        let new = obj(json!({"min": 5, "max": 2, "mode": "a", "x-name": "bad"}));
        assert!(rules.validate(&new, Some(&old)).is_empty());
        let changed = obj(json!({"min": 6, "max": 2, "mode": "a", "x-name": "bad"}));
        let got = fields(&rules.validate(&changed, Some(&old)));
        assert_eq!(
            got,
            vec![(
                "spec".to_string(),
                "Invalid value: min 6 exceeds max 2".to_string()
            )]
        );
    }

    #[test]
    fn optional_old_self_is_an_optional() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "!oldSelf.hasValue() || self.v >= oldSelf.value().v",
                "optionalOldSelf": true, "message": "v may only grow"}],
            "properties": {"v": {"type": "integer"}}}}});
        let rules = CompiledRules::compile(&s);
        // Create: evaluated, with oldSelf = none.
        assert!(rules.validate(&json!({"spec": {"v": 1}}), None).is_empty());
        let old = json!({"spec": {"v": 5}});
        assert!(
            rules
                .validate(&json!({"spec": {"v": 6}}), Some(&old))
                .is_empty()
        );
        let got = rules.validate(&json!({"spec": {"v": 4}}), Some(&old));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].message, "Invalid value: v may only grow");
    }

    #[test]
    fn evaluation_errors_are_invalid_causes() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "self.missing > 1"}],
            "properties": {"a": {"type": "integer"}}}}});
        let rules = CompiledRules::compile(&s);
        let got = rules.validate(&json!({"spec": {"a": 1}}), None);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].field, "spec");
        assert!(
            got[0].message.starts_with("Invalid value: \"object\": "),
            "{}",
            got[0].message
        );
        assert!(
            got[0]
                .message
                .ends_with("evaluating rule: self.missing > 1"),
            "{}",
            got[0].message
        );
    }

    #[test]
    fn compile_errors_name_the_rule() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "self.a >"}, {"rule": ""}, {"rule": "true", "reason": "Nope"}]}}});
        let errs = CompiledRules::compile_errors(&s);
        let paths: Vec<&str> = errs.iter().map(|e| e.schema_path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "properties[spec].x-kubernetes-validations[0].rule",
                "properties[spec].x-kubernetes-validations[1].rule",
                "properties[spec].x-kubernetes-validations[2].reason"
            ]
        );
    }

    #[test]
    fn escaping_follows_upstream() {
        assert_eq!(
            escape_property("namespace").as_deref(),
            Some("__namespace__")
        );
        assert_eq!(
            escape_property("a-b.c/d").as_deref(),
            Some("a__dash__b__dot__c__slash__d")
        );
        assert_eq!(
            escape_property("a__b").as_deref(),
            Some("a__underscores__b")
        );
        assert_eq!(escape_property("a_b").as_deref(), Some("a_b"));
        assert_eq!(escape_property("9x"), None);
        assert_eq!(escape_property("a b"), None);
    }
}
