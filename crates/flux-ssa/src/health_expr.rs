//! Custom health checks (`spec.healthCheckExprs`): CEL expressions that compute the kstatus
//! of objects of one kind, evaluated as Flux's `runtime/cel.StatusEvaluator` does: an
//! integer `status.observedGeneration` different from `metadata.generation` is InProgress;
//! then `inProgress`, `failed` and `current` are tried in that order and the first true one
//! wins; InProgress when none is true. Every top-level field of the object (`apiVersion`,
//! `kind`, `metadata`, `spec`, `status`, …) is a CEL variable.

use flux_api::meta::CustomHealthCheck;
use kube_cel::KubeCelExt;
use kube_cel::cel::{Context, Program, Value as CelValue};
use serde_json::Value;

use crate::kstatus::{Status, StatusResult};

/// A `healthCheckExprs` entry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HealthCheckExprError {
    /// The `current` expression is required.
    #[error("healthCheckExprs[{index}] ({api_version} {kind}): expression current not specified")]
    MissingCurrent {
        /// Position in `healthCheckExprs`.
        index: usize,
        /// The entry's apiVersion.
        api_version: String,
        /// The entry's kind.
        kind: String,
    },
    /// An expression does not parse.
    #[error(
        "healthCheckExprs[{index}].{field}: failed to parse the CEL expression '{expr}': {message}"
    )]
    Parse {
        /// Position in `healthCheckExprs`.
        index: usize,
        /// `current`, `inProgress` or `failed`.
        field: &'static str,
        /// The expression.
        expr: String,
        /// The parser's message.
        message: String,
    },
    /// An expression failed at evaluation time or did not give a boolean.
    #[error("failed to evaluate the CEL expression '{expr}': {message}")]
    Evaluate {
        /// The expression.
        expr: String,
        /// Why.
        message: String,
    },
}

struct Expression {
    source: String,
    program: Program,
}

impl Expression {
    fn parse(
        index: usize,
        field: &'static str,
        source: &str,
    ) -> Result<Expression, HealthCheckExprError> {
        let program = Program::compile(source).map_err(|e| HealthCheckExprError::Parse {
            index,
            field,
            expr: source.to_string(),
            message: e.to_string(),
        })?;
        Ok(Expression {
            source: source.to_string(),
            program,
        })
    }

    fn evaluate(&self, context: &Context<'_>) -> Result<bool, HealthCheckExprError> {
        let error = |message: String| HealthCheckExprError::Evaluate {
            expr: self.source.clone(),
            message,
        };
        match self.program.execute(context) {
            Ok(CelValue::Bool(b)) => Ok(b),
            Ok(other) => Err(error(format!("result is not a boolean: {other:?}"))),
            Err(e) => Err(error(e.to_string())),
        }
    }
}

/// The compiled expressions of one `healthCheckExprs` entry.
pub struct HealthCheckExpr {
    group: String,
    kind: Option<String>,
    current: Expression,
    in_progress: Option<Expression>,
    failed: Option<Expression>,
}

impl std::fmt::Debug for HealthCheckExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheckExpr")
            .field("group", &self.group)
            .field("kind", &self.kind)
            .field("current", &self.current.source)
            .finish_non_exhaustive()
    }
}

impl HealthCheckExpr {
    /// Compiles one entry (`index` is its position, for error messages).
    pub fn new(
        index: usize,
        check: &CustomHealthCheck,
    ) -> Result<HealthCheckExpr, HealthCheckExprError> {
        let kind = check.kind.clone().filter(|k| !k.is_empty());
        if check.current.trim().is_empty() {
            return Err(HealthCheckExprError::MissingCurrent {
                index,
                api_version: check.api_version.clone(),
                kind: kind.clone().unwrap_or_default(),
            });
        }
        let optional = |field: &'static str, source: &Option<String>| {
            source
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| Expression::parse(index, field, s))
                .transpose()
        };
        Ok(HealthCheckExpr {
            group: check
                .api_version
                .split_once('/')
                .map(|(g, _)| g.to_string())
                .unwrap_or_default(),
            kind,
            current: Expression::parse(index, "current", &check.current)?,
            in_progress: optional("inProgress", &check.in_progress)?,
            failed: optional("failed", &check.failed)?,
        })
    }

    /// Whether this entry applies to objects of `group` and `kind`.
    pub fn matches(&self, group: &str, kind: &str) -> bool {
        self.group == group && self.kind.as_deref().is_none_or(|k| k == kind)
    }

    /// Evaluates the entry against `object`.
    pub fn evaluate(&self, object: &Value) -> Result<StatusResult, HealthCheckExprError> {
        let generation = object
            .pointer("/metadata/generation")
            .and_then(Value::as_i64);
        let observed = object
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64);
        if let (Some(generation), Some(observed)) = (generation, observed)
            && generation != observed
        {
            return Ok(StatusResult {
                status: Status::InProgress,
                message: format!(
                    "generation is {generation}, but latest observed generation is {observed}"
                ),
                reason: "LatestGenerationNotObserved".into(),
            });
        }
        let mut context = Context::default().with_all();
        if let Some(map) = object.as_object() {
            for (key, value) in map {
                let value =
                    kube_cel::cel::to_value(value).map_err(|e| HealthCheckExprError::Evaluate {
                        expr: self.current.source.clone(),
                        message: format!("field {key}: {e}"),
                    })?;
                context.add_variable_from_value(key.clone(), value);
            }
        }
        let steps = [
            (self.in_progress.as_ref(), Status::InProgress),
            (self.failed.as_ref(), Status::Failed),
            (Some(&self.current), Status::Current),
        ];
        for (expression, status) in steps {
            let Some(expression) = expression else {
                continue;
            };
            if expression.evaluate(&context)? {
                return Ok(StatusResult {
                    status,
                    message: format!("healthCheckExprs: '{}' is true", expression.source),
                    reason: String::new(),
                });
            }
        }
        Ok(StatusResult {
            status: Status::InProgress,
            message: "healthCheckExprs: no expression is true".into(),
            reason: String::new(),
        })
    }
}

/// All `healthCheckExprs` of a Kustomization (or HelmRelease), compiled.
#[derive(Debug, Default)]
pub struct HealthCheckExprs {
    entries: Vec<HealthCheckExpr>,
}

impl HealthCheckExprs {
    /// Compiles every entry; the first bad one is the error.
    pub fn new(checks: &[CustomHealthCheck]) -> Result<HealthCheckExprs, HealthCheckExprError> {
        let entries = checks
            .iter()
            .enumerate()
            .map(|(i, c)| HealthCheckExpr::new(i, c))
            .collect::<Result<_, _>>()?;
        Ok(HealthCheckExprs { entries })
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The status of `object`: the first matching entry's verdict, else built-in kstatus.
    /// An expression that cannot be evaluated gives status Unknown with the error.
    pub fn status_of(&self, object: &Value) -> StatusResult {
        if object
            .pointer("/metadata/deletionTimestamp")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return crate::kstatus::compute(object);
        }
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        match self.entries.iter().find(|e| e.matches(group, kind)) {
            Some(entry) => entry.evaluate(object).unwrap_or_else(|e| StatusResult {
                status: Status::Unknown,
                message: e.to_string(),
                reason: String::new(),
            }),
            None => crate::kstatus::compute(object),
        }
    }
}
