//! Go `text/template` with Go's semantics, plus the Sprig function set Helm exposes.
//!
//! ```
//! use gotemplate::{Templates, Value, sprig_funcs};
//! let mut t = Templates::new(sprig_funcs());
//! // an unknown function is a parse error, and a failed parse adds nothing
//! assert!(t.parse("bad.yaml", "{{ nosuchfunc }}").is_err());
//! t.parse("_helpers.tpl", r#"{{ define "n" }}hi {{ . }}{{ end }}"#)?;
//! t.parse("y.yaml", r#"{{ template "n" "you" }} {{ upper "a" }}"#)?;
//! assert_eq!(t.execute("y.yaml", &Value::Nil)?, "hi you A");
//! # Ok::<(), gotemplate::Error>(())
//! ```

mod builtins;
mod error;
mod exec;
mod format;
mod lex;
mod parse;
pub mod sprig;
mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use error::{Error, FuncError};
pub use exec::CallContext;
pub use format::{go_quote, sprint, sprintf};
pub use value::{Map, MapRef, Object, Value};

pub use sprig::sprig_funcs;

/// A template function. It receives the execution context (to run other templates
/// of the same set, as Helm's `include` and `tpl` do) and its evaluated arguments
/// (a piped value comes last, as in Go).
pub type Func =
    Arc<dyn Fn(&mut CallContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync>;

/// Function name → function.
pub type FuncMap = HashMap<String, Func>;

/// Wraps a closure as a [`Func`].
pub fn func<F>(f: F) -> Func
where
    F: Fn(&mut CallContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// What a missing map key evaluates to (Go's `missingkey=` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: the "no value"; field access on it stays quiet.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of `interface{}` (nil); a further field access
    /// on it fails with "nil pointer evaluating interface {}.X" (what Helm uses).
    Zero,
    /// `missingkey=error`: fail with "map has no entry for key".
    Error,
}

/// Which Go release's `text/template` to follow where releases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GoCompat {
    /// Go 1.23 (Helm v3.17): no `range` over integers; terse comparison errors.
    #[default]
    Go123,
    /// Go 1.25 (Helm v4): `range` over integers; comparison errors name both types.
    Go125,
}

/// Execution limits (errors, never crashes, when exceeded).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nesting depth of `template`/`include`/`tpl` calls plus control structures.
    pub max_depth: usize,
    /// Total bytes of output written during one `execute` (including nested buffers).
    pub max_output_bytes: usize,
    /// Total `range` iterations during one `execute`.
    pub max_range_iterations: u64,
    /// Stack bytes template recursion may use below the `execute` call (guards small
    /// thread stacks, whatever `max_depth` says).
    pub max_stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 400,
            max_output_bytes: 256 * 1024 * 1024,
            max_range_iterations: 50_000_000,
            max_stack_bytes: 1024 * 1024,
        }
    }
}

/// One named template: its body, the file it came from and that file's text.
#[derive(Debug)]
pub(crate) struct TemplateDef {
    pub(crate) name: Arc<str>,
    pub(crate) parse_name: Arc<str>,
    pub(crate) source: Arc<str>,
    pub(crate) root: parse::List,
}

/// A set of named templates sharing their `define`s (Go's `*template.Template` tree).
#[derive(Clone)]
pub struct Templates {
    name: String,
    funcs: Arc<FuncMap>,
    set: HashMap<String, Arc<TemplateDef>>,
    missing_key: MissingKey,
    limits: Limits,
    go_compat: GoCompat,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.set.keys().collect();
        names.sort();
        f.debug_struct("Templates")
            .field("name", &self.name)
            .field("templates", &names)
            .field("missing_key", &self.missing_key)
            .finish()
    }
}

impl Templates {
    /// An empty set using `funcs` (Go's built-in functions are always available).
    pub fn new(funcs: FuncMap) -> Self {
        Templates {
            name: String::new(),
            funcs: Arc::new(funcs),
            set: HashMap::new(),
            missing_key: MissingKey::Default,
            limits: Limits::default(),
            go_compat: GoCompat::default(),
        }
    }

    /// Chooses the Go release whose behaviour to follow where releases differ.
    pub fn set_go_compat(&mut self, go_compat: GoCompat) {
        self.go_compat = go_compat;
    }

    /// The Go release followed.
    pub fn go_compat(&self) -> GoCompat {
        self.go_compat
    }

    /// Names the set (Go's root template name, used in "no template … associated with
    /// template NAME" errors; Helm uses `gotpl`).
    pub fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the `missingkey` option.
    pub fn set_missing_key(&mut self, missing_key: MissingKey) {
        self.missing_key = missing_key;
    }

    /// Sets execution limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Adds or replaces functions (Go's `Funcs`); affects later parses and executions.
    pub fn add_funcs(&mut self, funcs: FuncMap) {
        let map = Arc::make_mut(&mut self.funcs);
        map.extend(funcs);
    }

    /// True when a function of that name is known (user or built-in).
    pub fn has_func(&self, name: &str) -> bool {
        self.funcs.contains_key(name) || builtins::builtin(name).is_some()
    }

    /// Go's `t.New(name).Parse(source)`: the body becomes template `name`; every
    /// `define`/`block` becomes visible set-wide, replacing an earlier definition
    /// unless the new one is empty.
    pub fn parse(&mut self, name: &str, source: &str) -> Result<(), Error> {
        let defs = self.parse_defs(name, source)?;
        for (n, def) in defs {
            self.insert(n, def);
        }
        Ok(())
    }

    pub(crate) fn parse_defs(
        &self,
        name: &str,
        source: &str,
    ) -> Result<Vec<(String, Arc<TemplateDef>)>, Error> {
        let is_func = |f: &str| self.has_func(f);
        let parsed = parse::parse(name, source, &is_func).map_err(|e| Error::Parse {
            name: name.to_string(),
            line: e.line,
            message: e.message,
        })?;
        let source: Arc<str> = source.into();
        let parse_name: Arc<str> = name.into();
        let mut out = Vec::with_capacity(parsed.defines.len() + 1);
        out.push((
            name.to_string(),
            Arc::new(TemplateDef {
                name: parse_name.clone(),
                parse_name: parse_name.clone(),
                source: source.clone(),
                root: parsed.body,
            }),
        ));
        for (dname, list) in parsed.defines {
            out.push((
                dname.clone(),
                Arc::new(TemplateDef {
                    name: dname.as_str().into(),
                    parse_name: parse_name.clone(),
                    source: source.clone(),
                    root: list,
                }),
            ));
        }
        Ok(out)
    }

    fn insert(&mut self, name: String, def: Arc<TemplateDef>) {
        if let Some(old) = self.set.get(&name)
            && parse::is_empty_list(&def.root)
            && !parse::is_empty_list(&old.root)
        {
            return;
        }
        self.set.insert(name, def);
    }

    /// True when a template of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    /// Names of all templates, sorted.
    pub fn template_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.keys().cloned().collect();
        names.sort();
        names
    }

    /// Go's `ExecuteTemplate(name, data)`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut ex = exec::Exec::new(self);
        ex.execute_named(name, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_then_execute() -> Result<(), Error> {
        let mut t = Templates::new(FuncMap::new());
        t.parse(
            "a",
            "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" 3 }}",
        )?;
        assert_eq!(t.execute("a", &Value::Nil)?, "[3]");
        Ok(())
    }
}
