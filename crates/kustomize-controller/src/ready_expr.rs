//! `spec.dependsOn[].readyExpr`: a CEL expression deciding whether a dependency is ready,
//! with the variables `self` (the dependent Kustomization) and `dep` (the dependency), both
//! as their JSON objects. As upstream: the expression must give a boolean; an expression
//! that does not parse or names another variable is a configuration error (Stalled,
//! `InvalidCELExpression`); a failure at evaluation time (a missing key, …) is a
//! dependency that is not ready yet.
//!
//! cel-go type-checks expressions when compiling them; the `cel` crate does not, so the
//! variables an expression names are checked here (comprehension variables of macros such
//! as `exists(c, …)` are in scope inside their macro).

use kube_cel::KubeCelExt;
use kube_cel::cel::common::ast::{EntryExpr, Expr, IdedExpr};
use kube_cel::cel::{Context, Program, Value as CelValue};
use serde_json::Value;

/// The variable holding the dependent Kustomization.
pub const SELF_VAR: &str = "self";
/// The variable holding the dependency.
pub const DEP_VAR: &str = "dep";

/// Type names CEL lets an expression use as identifiers (`type(x) == string`).
const TYPE_IDENTIFIERS: &[&str] = &[
    "bool",
    "bytes",
    "double",
    "duration",
    "dyn",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "timestamp",
    "type",
    "uint",
];

/// Why a readyExpr could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReadyExprError {
    /// The expression does not parse.
    #[error("failed to parse the CEL expression '{expr}': {message}")]
    Parse {
        /// The expression.
        expr: String,
        /// The parser's message.
        message: String,
    },
    /// The expression names a variable other than `self` and `dep`.
    #[error(
        "failed to parse the CEL expression '{expr}': undeclared reference to '{name}' (only 'self' and 'dep' are declared)"
    )]
    UndeclaredVariable {
        /// The expression.
        expr: String,
        /// The unknown variable.
        name: String,
    },
    /// The expression failed when evaluated or did not give a boolean.
    #[error("failed to evaluate the CEL expression '{expr}': {message}")]
    Evaluate {
        /// The expression.
        expr: String,
        /// Why.
        message: String,
    },
}

impl ReadyExprError {
    /// Whether the error is in the expression itself (retrying cannot help).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ReadyExprError::Evaluate { .. })
    }
}

/// A compiled readyExpr.
pub struct ReadyExpr {
    source: String,
    program: Program,
}

impl std::fmt::Debug for ReadyExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyExpr")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ReadyExpr {
    /// Parses `source` and checks that it only names `self` and `dep`.
    pub fn compile(source: &str) -> Result<ReadyExpr, ReadyExprError> {
        let program = Program::compile(source).map_err(|e| ReadyExprError::Parse {
            expr: source.to_string(),
            message: e.to_string(),
        })?;
        let mut scope: Vec<&str> = vec![SELF_VAR, DEP_VAR];
        if let Some(name) = first_undeclared(program.expression(), &mut scope) {
            return Err(ReadyExprError::UndeclaredVariable {
                expr: source.to_string(),
                name,
            });
        }
        Ok(ReadyExpr {
            source: source.to_string(),
            program,
        })
    }

    /// The expression's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression with `self` = `dependent` and `dep` = `dependency`.
    pub fn evaluate(&self, dependent: &Value, dependency: &Value) -> Result<bool, ReadyExprError> {
        let error = |message: String| ReadyExprError::Evaluate {
            expr: self.source.clone(),
            message,
        };
        let mut context = Context::default().with_all();
        for (name, value) in [(SELF_VAR, dependent), (DEP_VAR, dependency)] {
            let value = kube_cel::cel::to_value(value)
                .map_err(|e| error(format!("variable {name}: {e}")))?;
            context.add_variable_from_value(name, value);
        }
        match self.program.execute(&context) {
            Ok(CelValue::Bool(b)) => Ok(b),
            Ok(other) => Err(error(format!("result is not a boolean: {other:?}"))),
            Err(e) => Err(error(e.to_string())),
        }
    }
}

/// The first identifier of `expr` that is neither in `scope` nor a type name.
fn first_undeclared<'a>(expr: &'a IdedExpr, scope: &mut Vec<&'a str>) -> Option<String> {
    match &expr.expr {
        Expr::Unspecified | Expr::Literal(_) => None,
        Expr::Ident(name) => {
            let known = name.starts_with('@')
                || scope.contains(&name.as_str())
                || TYPE_IDENTIFIERS.contains(&name.as_str());
            (!known).then(|| name.clone())
        }
        Expr::Select(select) => first_undeclared(&select.operand, scope),
        Expr::Call(call) => call
            .target
            .as_deref()
            .and_then(|t| first_undeclared(t, scope))
            .or_else(|| call.args.iter().find_map(|a| first_undeclared(a, scope))),
        Expr::List(list) => list
            .elements
            .iter()
            .find_map(|e| first_undeclared(e, scope)),
        Expr::Map(map) => map.entries.iter().find_map(|entry| match &entry.expr {
            EntryExpr::StructField(field) => first_undeclared(&field.value, scope),
            EntryExpr::MapEntry(entry) => first_undeclared(&entry.key, scope)
                .or_else(|| first_undeclared(&entry.value, scope)),
        }),
        Expr::Struct(st) => st.entries.iter().find_map(|entry| match &entry.expr {
            EntryExpr::StructField(field) => first_undeclared(&field.value, scope),
            EntryExpr::MapEntry(entry) => first_undeclared(&entry.key, scope)
                .or_else(|| first_undeclared(&entry.value, scope)),
        }),
        Expr::Comprehension(comp) => {
            if let Some(found) = first_undeclared(&comp.iter_range, scope)
                .or_else(|| first_undeclared(&comp.accu_init, scope))
            {
                return Some(found);
            }
            let depth = scope.len();
            scope.push(&comp.iter_var);
            if let Some(second) = &comp.iter_var2 {
                scope.push(second);
            }
            scope.push(&comp.accu_var);
            let found = first_undeclared(&comp.loop_cond, scope)
                .or_else(|| first_undeclared(&comp.loop_step, scope))
                .or_else(|| first_undeclared(&comp.result, scope));
            scope.truncate(depth);
            found
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_with_self_and_dep() {
        let expr = ReadyExpr::compile(
            "self.metadata.annotations['app/version'] == dep.metadata.annotations['app/version'] && dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
        )
        .map_err(|e| e.to_string());
        let Ok(expr) = expr else {
            panic!("compile failed: {expr:?}");
        };
        let dependent = json!({"metadata": {"annotations": {"app/version": "v1"}}});
        let ready = json!({"metadata": {"annotations": {"app/version": "v1"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let other_version = json!({"metadata": {"annotations": {"app/version": "v2"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(matches!(expr.evaluate(&dependent, &ready), Ok(true)));
        assert!(matches!(
            expr.evaluate(&dependent, &other_version),
            Ok(false)
        ));
        // A missing key is an evaluation error (not ready yet), not a terminal one.
        let err = expr.evaluate(&dependent, &json!({"metadata": {}}));
        assert!(matches!(&err, Err(e) if !e.is_terminal()), "{err:?}");
    }

    #[test]
    fn rejects_unknown_variables_and_bad_syntax() {
        let err = ReadyExpr::compile("self.generation == deps.generation");
        assert!(
            matches!(&err, Err(ReadyExprError::UndeclaredVariable { name, .. }) if name == "deps"),
            "{err:?}"
        );
        assert!(err.is_err_and(|e| e.is_terminal()));
        assert!(matches!(
            ReadyExpr::compile("self.metadata.name =="),
            Err(ReadyExprError::Parse { .. })
        ));
        // Comprehension variables are in scope only inside their macro.
        assert!(ReadyExpr::compile("dep.spec.x.all(v, v > 0)").is_ok());
        assert!(matches!(
            ReadyExpr::compile("dep.spec.x.all(v, v > 0) && v == 1"),
            Err(ReadyExprError::UndeclaredVariable { .. })
        ));
        assert!(ReadyExpr::compile("type(dep.spec.x) == string").is_ok());
    }

    #[test]
    fn non_boolean_results_are_errors() {
        let Ok(expr) = ReadyExpr::compile("dep.metadata.name") else {
            panic!("compile failed");
        };
        let err = expr.evaluate(&json!({}), &json!({"metadata": {"name": "x"}}));
        assert!(matches!(err, Err(ReadyExprError::Evaluate { .. })));
    }
}
