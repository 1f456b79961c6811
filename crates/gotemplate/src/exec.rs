//! The executor: walks a template tree against data, as Go's `text/template/exec.go`.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use crate::builtins;
use crate::error::{Error, FuncError};
use crate::parse::{Arg, Branch, Command, List, Literal, Node, Pipe};
use crate::value::Value;
use crate::{Func, MissingKey, TemplateDef, Templates};

type Overlay = Arc<HashMap<String, Arc<TemplateDef>>>;

/// Shared state of one `execute` call, including nested `include`/`tpl` runs.
pub(crate) struct Exec<'t> {
    templates: &'t Templates,
    overlays: Vec<Overlay>,
    depth: usize,
    written: usize,
    range_iterations: u64,
    /// Address of a local in the outermost `execute` frame (stack grows down).
    stack_base: usize,
}

/// An address on the current stack.
#[inline(never)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// One template invocation: the template and its variable stack.
struct Frame {
    def: Arc<TemplateDef>,
    /// Variables; the flag marks values Go holds as `interface {}` (range elements).
    vars: Vec<(Arc<str>, Value, bool)>,
    /// True while dot is a `range` element (an `interface {}` value in Go: a nil one
    /// fails on field access, and errors name its type `interface {}`).
    iface_dot: bool,
}

enum Signal {
    Break,
    Continue,
    Err(Box<Error>),
}

impl From<Error> for Signal {
    fn from(e: Error) -> Self {
        Signal::Err(Box::new(e))
    }
}

type Res<T> = Result<T, Signal>;

/// A field-chain receiver: a value, or Go's invalid "no value".
enum Recv {
    /// A value; the flag says it came out of a map (Go then names its type `interface {}`).
    Val(Value, bool),
    Missing,
}

/// What a template function can do with the running execution.
pub struct CallContext<'e> {
    exec: &'e mut dyn ExecAccess,
}

/// Object-safe access to [`Exec`] for [`CallContext`].
trait ExecAccess {
    fn execute_template(&mut self, name: &str, data: &Value) -> Result<String, Error>;
    fn execute_source(&mut self, name: &str, source: &str, data: &Value) -> Result<String, Error>;
    fn has_template(&self, name: &str) -> bool;
    fn templates(&self) -> &Templates;
    fn note_output(&mut self, bytes: usize) -> Result<(), String>;
}

impl CallContext<'_> {
    /// Executes a named template of the current set (Helm's `include`). Defines added by
    /// an enclosing [`CallContext::execute_source`] are visible.
    pub fn execute_template(&mut self, name: &str, data: &Value) -> Result<String, Error> {
        self.exec.execute_template(name, data)
    }

    /// Parses `source` as template `name` on top of the current set (its defines stay
    /// local to this call) and executes it (Helm's `tpl`).
    pub fn execute_source(
        &mut self,
        name: &str,
        source: &str,
        data: &Value,
    ) -> Result<String, Error> {
        self.exec.execute_source(name, source, data)
    }

    /// True when a template of that name is visible.
    pub fn has_template(&self, name: &str) -> bool {
        self.exec.has_template(name)
    }

    /// The template set being executed.
    pub fn templates(&self) -> &Templates {
        self.exec.templates()
    }

    /// Accounts for `bytes` of output a function is about to produce (for functions that
    /// build large strings, such as `repeat`); fails when the output limit is exceeded.
    pub fn reserve_output(&mut self, bytes: usize) -> Result<(), FuncError> {
        self.exec.note_output(bytes).map_err(FuncError::Message)
    }
}

fn line_col(source: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(source.len());
    let text = &source.as_bytes()[..pos];
    let line = 1 + text.iter().filter(|b| **b == b'\n').count();
    let col = match text.iter().rposition(|b| *b == b'\n') {
        Some(nl) => pos - (nl + 1),
        None => pos,
    };
    (line, col)
}

impl Frame {
    fn err(&self, pos: usize, node: &dyn Display, message: impl Into<String>) -> Signal {
        self.err_with(pos, node, message.into(), None)
    }

    fn err_with(
        &self,
        pos: usize,
        node: &dyn Display,
        message: String,
        cause: Option<Box<Error>>,
    ) -> Signal {
        let (line, col) = line_col(&self.def.source, pos);
        Signal::Err(Box::new(Error::Exec {
            file: self.def.parse_name.to_string(),
            line,
            col,
            template: self.def.name.to_string(),
            context: node.to_string(),
            message,
            cause,
        }))
    }

    fn var(&self, name: &str) -> Option<(&Value, bool)> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _, _)| &**n == name)
            .map(|(_, v, iface)| (v, *iface))
    }

    /// The receiver for a field chain starting at dot.
    fn dot_recv(&self, dot: &Value) -> Recv {
        if self.iface_dot {
            Recv::Val(dot.clone(), true)
        } else if dot.is_nil() {
            Recv::Missing
        } else {
            Recv::Val(dot.clone(), false)
        }
    }

    fn set_var(&mut self, name: &Arc<str>, v: Value) -> bool {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _, _)| n == name) {
            slot.1 = v;
            slot.2 = false;
            true
        } else {
            false
        }
    }
}

struct Shown<'a>(&'a str);
impl Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

struct ActionText<'a>(&'a Pipe);
impl Display for ActionText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{{{}}}}}", self.0)
    }
}

struct ControlText<'a>(&'static str, &'a Pipe);
impl Display for ControlText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{{{} {}}}}}", self.0, self.1)
    }
}

struct TemplateText<'a>(&'a str, Option<&'a Pipe>);
impl Display for TemplateText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Some(p) => write!(f, "{{{{template {:?} {}}}}}", self.0, p),
            None => write!(f, "{{{{template {:?}}}}}", self.0),
        }
    }
}

impl<'t> Exec<'t> {
    pub(crate) fn new(templates: &'t Templates) -> Self {
        Exec {
            templates,
            overlays: Vec::new(),
            depth: 0,
            written: 0,
            range_iterations: 0,
            stack_base: stack_position(),
        }
    }

    /// Why a further level of nesting is refused, if it is.
    fn too_deep(&self) -> Option<String> {
        let limits = &self.templates.limits;
        if self.depth >= limits.max_depth {
            return Some(format!(
                "exceeded maximum template depth ({})",
                limits.max_depth
            ));
        }
        let used = self.stack_base.saturating_sub(stack_position());
        if used > limits.max_stack_bytes {
            return Some(format!(
                "exceeded maximum template depth ({} levels used the stack budget of {} bytes)",
                self.depth, limits.max_stack_bytes
            ));
        }
        None
    }

    fn lookup(&self, name: &str) -> Option<Arc<TemplateDef>> {
        for o in self.overlays.iter().rev() {
            if let Some(d) = o.get(name) {
                return Some(d.clone());
            }
        }
        self.templates.set.get(name).cloned()
    }

    fn func(&self, name: &str) -> Option<&'t Func> {
        let templates: &'t Templates = self.templates;
        templates
            .funcs
            .get(name)
            .or_else(|| builtins::builtin(name))
    }

    fn note_output_bytes(&mut self, n: usize) -> Result<(), String> {
        self.written = self.written.saturating_add(n);
        if self.written > self.templates.limits.max_output_bytes {
            return Err(format!(
                "output exceeds the limit of {} bytes",
                self.templates.limits.max_output_bytes
            ));
        }
        Ok(())
    }

    pub(crate) fn execute_named(&mut self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(def) = self.lookup(name) else {
            return Err(Error::NoTemplate {
                name: name.to_string(),
                set: self.templates.name.clone(),
            });
        };
        let mut out = String::new();
        self.run(def, data, &mut out, None)?;
        Ok(out)
    }

    /// Runs a template with a fresh variable stack. `caller` locates depth errors.
    fn run(
        &mut self,
        def: Arc<TemplateDef>,
        data: &Value,
        out: &mut String,
        caller: Option<(&Frame, usize, &dyn Display)>,
    ) -> Result<(), Error> {
        if let Some(msg) = self.too_deep() {
            return Err(match caller {
                Some((f, pos, node)) => unwrap_signal(f.err(pos, node, msg)),
                None => Error::Exec {
                    file: def.parse_name.to_string(),
                    line: 1,
                    col: 0,
                    template: def.name.to_string(),
                    context: String::new(),
                    message: msg,
                    cause: None,
                },
            });
        }
        self.depth += 1;
        let mut frame = Frame {
            def: def.clone(),
            vars: vec![("$".into(), data.clone(), false)],
            iface_dot: false,
        };
        let r = self.walk_list(&mut frame, &def.root, data, out);
        self.depth -= 1;
        match r {
            Ok(()) => Ok(()),
            Err(Signal::Err(e)) => Err(*e),
            Err(Signal::Break) | Err(Signal::Continue) => Ok(()),
        }
    }

    fn write(
        &mut self,
        f: &Frame,
        pos: usize,
        node: &dyn Display,
        out: &mut String,
        s: &str,
    ) -> Res<()> {
        self.note_output_bytes(s.len())
            .map_err(|m| f.err(pos, node, m))?;
        out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, f: &mut Frame, list: &List, dot: &Value, out: &mut String) -> Res<()> {
        for node in list {
            self.walk(f, node, dot, out)?;
        }
        Ok(())
    }

    fn walk(&mut self, f: &mut Frame, node: &Node, dot: &Value, out: &mut String) -> Res<()> {
        match node {
            Node::Text(t) => {
                self.note_output_bytes(t.len())
                    .map_err(|m| f.err(0, &Shown("text"), m))?;
                out.push_str(t);
                Ok(())
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(f, dot, pipe)?;
                if pipe.decl.is_empty() {
                    let s = match &v {
                        Value::Nil => "<no value>".to_string(),
                        Value::String(s) => {
                            return self.write(f, pipe.pos, &ActionText(pipe), out, s);
                        }
                        other => other.to_go_string(),
                    };
                    self.write(f, pipe.pos, &ActionText(pipe), out, &s)?;
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_with(f, b, dot, out, false),
            Node::With(b) => self.walk_if_with(f, b, dot, out, true),
            Node::Range(b) => self.walk_range(f, b, dot, out),
            Node::Template { pos, name, pipe } => {
                let text = TemplateText(name, pipe.as_ref());
                let Some(def) = self.lookup(name) else {
                    return Err(f.err(*pos, &text, format!("template {name:?} not defined")));
                };
                let data = match pipe {
                    Some(p) => {
                        let mark = f.vars.len();
                        let v = self.eval_pipeline(f, dot, p)?;
                        f.vars.truncate(mark);
                        v
                    }
                    None => Value::Nil,
                };
                self.run(def, &data, out, Some((f, *pos, &text)))
                    .map_err(Signal::from)
            }
            Node::Break => Err(Signal::Break),
            Node::Continue => Err(Signal::Continue),
        }
    }

    fn enter(&mut self, f: &Frame, pos: usize, node: &dyn Display) -> Res<()> {
        if let Some(msg) = self.too_deep() {
            return Err(f.err(pos, node, msg));
        }
        self.depth += 1;
        Ok(())
    }

    fn walk_if_with(
        &mut self,
        f: &mut Frame,
        b: &Branch,
        dot: &Value,
        out: &mut String,
        with: bool,
    ) -> Res<()> {
        let mark = f.vars.len();
        let word = if with { "with" } else { "if" };
        self.enter(f, b.pos, &ControlText(word, &b.pipe))?;
        let r = (|| {
            let v = self.eval_pipeline(f, dot, &b.pipe)?;
            if v.is_truthy() {
                if with {
                    let saved = std::mem::replace(&mut f.iface_dot, false);
                    let r = self.walk_list(f, &b.list, &v, out);
                    f.iface_dot = saved;
                    r
                } else {
                    self.walk_list(f, &b.list, dot, out)
                }
            } else if let Some(el) = &b.else_list {
                self.walk_list(f, el, dot, out)
            } else {
                Ok(())
            }
        })();
        self.depth -= 1;
        f.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, f: &mut Frame, b: &Branch, dot: &Value, out: &mut String) -> Res<()> {
        let mark = f.vars.len();
        self.enter(f, b.pos, &ControlText("range", &b.pipe))?;
        let r = self.walk_range_inner(f, b, dot, out);
        self.depth -= 1;
        f.vars.truncate(mark);
        r
    }

    fn walk_range_inner(
        &mut self,
        f: &mut Frame,
        b: &Branch,
        dot: &Value,
        out: &mut String,
    ) -> Res<()> {
        let val = self.eval_pipeline(f, dot, &b.pipe)?;
        let ctx = ControlText("range", &b.pipe);
        // Go reports range errors at the last node it evaluated: the last command's operand.
        let last_arg = b.pipe.cmds.last().and_then(|c| c.args.first());
        let range_err = |f: &Frame, what: String| match last_arg {
            Some(a) => f.err(a.pos(), a, format!("range can't iterate over {what}")),
            None => f.err(b.pos, &ctx, format!("range can't iterate over {what}")),
        };
        let items: Vec<(Value, Value)> = match &val {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(m) => m.with(|m| {
                m.iter()
                    .map(|(k, v)| (Value::String(k.as_str().into()), v.clone()))
                    .collect()
            }),
            Value::Bytes(bs) => bs
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), Value::Int(i64::from(*v))))
                .collect(),
            Value::Int(n) => {
                if self.templates.go_compat == crate::GoCompat::Go123 {
                    return Err(range_err(f, n.to_string()));
                }
                if b.pipe.decl.len() > 1 {
                    let msg = format!("can't use {n} to iterate over more than one variable");
                    return Err(match last_arg {
                        Some(a) => f.err(a.pos(), a, msg),
                        None => f.err(b.pos, &ctx, msg),
                    });
                }
                let n = (*n).max(0);
                if (n as u64).saturating_add(self.range_iterations)
                    > self.templates.limits.max_range_iterations
                {
                    return Err(f.err(b.pos, &ctx, "range iteration limit exceeded"));
                }
                (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Nil => Vec::new(),
            Value::Object(o) => match o.entries() {
                Some(e) => e,
                None => return Err(range_err(f, o.display())),
            },
            other => return Err(range_err(f, other.to_go_string())),
        };
        if items.is_empty() {
            if let Some(el) = &b.else_list {
                return self.walk_list(f, el, dot, out);
            }
            return Ok(());
        }
        let decl = &b.pipe.decl;
        // elements of lists and maps are `interface {}` values in Go; ints are not
        let elem_iface = matches!(val, Value::List(_) | Value::Map(_) | Value::Object(_));
        // eval_pipeline pushed (or assigned) the declared variables; per iteration we
        // overwrite them in place.
        let base = f.vars.len();
        for (k, v) in items {
            self.range_iterations += 1;
            if self.range_iterations > self.templates.limits.max_range_iterations {
                return Err(f.err(b.pos, &ctx, "range iteration limit exceeded"));
            }
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    f.set_var(&decl[0], k);
                    f.set_var(&decl[1], v.clone());
                } else if decl.len() == 1 {
                    f.set_var(&decl[0], v.clone());
                }
            } else if decl.len() > 1 {
                f.vars[base - 2].1 = k;
                f.vars[base - 1].1 = v.clone();
                f.vars[base - 1].2 = elem_iface;
            } else if decl.len() == 1 {
                f.vars[base - 1].1 = v.clone();
                f.vars[base - 1].2 = elem_iface;
            }
            let saved_iface = std::mem::replace(&mut f.iface_dot, elem_iface);
            let r = self.walk_list(f, &b.list, &v, out);
            f.iface_dot = saved_iface;
            f.vars.truncate(base);
            match r {
                Ok(()) | Err(Signal::Continue) => {}
                Err(Signal::Break) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn eval_pipeline(&mut self, f: &mut Frame, dot: &Value, pipe: &Pipe) -> Res<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(f, dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for v in &pipe.decl {
            if pipe.is_assign {
                if !f.set_var(v, value.clone()) {
                    let at = pipe
                        .cmds
                        .last()
                        .and_then(|c| c.args.last())
                        .map(last_evaluated);
                    return Err(match at {
                        Some(a) => f.err(a.pos(), a, format!("undefined variable: {v}")),
                        None => f.err(pipe.pos, pipe, format!("undefined variable: {v}")),
                    });
                }
            } else {
                f.vars.push((v.clone(), value.clone(), false));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, f: &Frame, cmd: &Command, final_: &Option<Value>) -> Res<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(f.err(
                cmd.args[0].pos(),
                &cmd.args[0],
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        f: &mut Frame,
        dot: &Value,
        cmd: &Command,
        final_: Option<Value>,
    ) -> Res<Value> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        match first {
            Arg::Field { pos, names } => {
                let recv = f.dot_recv(dot);
                self.eval_field_chain(f, dot, recv, *pos, first, names, rest, final_)
            }
            Arg::Chain { pos, node, fields } => {
                if let Arg::Nil(_) = **node {
                    return Err(f.err(
                        *pos,
                        first,
                        format!("indirection through explicit nil in {first}"),
                    ));
                }
                let v = self.eval_arg(f, dot, node)?;
                let recv = if v.is_nil() {
                    Recv::Missing
                } else {
                    Recv::Val(v, false)
                };
                let at = last_evaluated(node);
                self.eval_field_chain(f, dot, recv, at.pos(), at, fields, rest, final_)
            }
            Arg::Identifier { pos, name } => {
                self.eval_function(f, dot, *pos, name, cmd, rest, final_)
            }
            Arg::Pipe(_, p) => {
                self.not_a_function(f, cmd, &final_)?;
                let mark = f.vars.len();
                let v = self.eval_pipeline(f, dot, p)?;
                f.vars.truncate(mark);
                Ok(v)
            }
            Arg::Variable { pos, name, fields } => {
                let Some((v, iface)) = f.var(name).map(|(v, i)| (v.clone(), i)) else {
                    return Err(f.err(*pos, first, format!("undefined variable: {name}")));
                };
                if fields.is_empty() {
                    self.not_a_function(f, cmd, &final_)?;
                    return Ok(v);
                }
                let recv = if iface {
                    Recv::Val(v, true)
                } else if v.is_nil() {
                    Recv::Missing
                } else {
                    Recv::Val(v, false)
                };
                self.eval_field_chain(f, dot, recv, *pos, first, fields, rest, final_)
            }
            Arg::Nil(pos) => Err(f.err(*pos, first, "nil is not a command")),
            Arg::Dot(_) => {
                self.not_a_function(f, cmd, &final_)?;
                Ok(dot.clone())
            }
            Arg::Bool(_, b) => {
                self.not_a_function(f, cmd, &final_)?;
                Ok(Value::Bool(*b))
            }
            Arg::Number { value, .. } => {
                self.not_a_function(f, cmd, &final_)?;
                Ok(literal(value))
            }
            Arg::Str { value, .. } => {
                self.not_a_function(f, cmd, &final_)?;
                Ok(Value::String(value.clone()))
            }
        }
    }

    fn eval_arg(&mut self, f: &mut Frame, dot: &Value, arg: &Arg) -> Res<Value> {
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Number { value, .. } => Ok(literal(value)),
            Arg::Str { value, .. } => Ok(Value::String(value.clone())),
            Arg::Field { pos, names } => {
                let recv = f.dot_recv(dot);
                self.eval_field_chain(f, dot, recv, *pos, arg, names, &[], None)
            }
            Arg::Variable { pos, name, fields } => {
                let Some((v, iface)) = f.var(name).map(|(v, i)| (v.clone(), i)) else {
                    return Err(f.err(*pos, arg, format!("undefined variable: {name}")));
                };
                if fields.is_empty() {
                    return Ok(v);
                }
                let recv = if iface {
                    Recv::Val(v, true)
                } else if v.is_nil() {
                    Recv::Missing
                } else {
                    Recv::Val(v, false)
                };
                self.eval_field_chain(f, dot, recv, *pos, arg, fields, &[], None)
            }
            Arg::Pipe(_, p) => {
                let mark = f.vars.len();
                let v = self.eval_pipeline(f, dot, p)?;
                f.vars.truncate(mark);
                Ok(v)
            }
            Arg::Identifier { pos, name } => {
                let cmd = Command {
                    pos: *pos,
                    args: Vec::new(),
                };
                self.eval_function_args(f, dot, *pos, name, &cmd, arg, &[], None)
            }
            Arg::Chain { pos, node, fields } => {
                if let Arg::Nil(_) = **node {
                    return Err(f.err(
                        *pos,
                        arg,
                        format!("indirection through explicit nil in {arg}"),
                    ));
                }
                let v = self.eval_arg(f, dot, node)?;
                let recv = if v.is_nil() {
                    Recv::Missing
                } else {
                    Recv::Val(v, false)
                };
                let at = last_evaluated(node);
                self.eval_field_chain(f, dot, recv, at.pos(), at, fields, &[], None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        f: &mut Frame,
        dot: &Value,
        mut recv: Recv,
        pos: usize,
        node: &Arg,
        names: &[Arc<str>],
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Value> {
        let n = names.len();
        for name in &names[..n.saturating_sub(1)] {
            recv = self.eval_field(f, dot, recv, pos, node, name, &[], None)?;
        }
        let Some(last) = names.last() else {
            return Ok(match recv {
                Recv::Val(v, _) => v,
                Recv::Missing => Value::Nil,
            });
        };
        match self.eval_field(f, dot, recv, pos, node, last, args, final_)? {
            Recv::Val(v, _) => Ok(v),
            Recv::Missing => Ok(Value::Nil),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        f: &mut Frame,
        dot: &Value,
        recv: Recv,
        pos: usize,
        node: &Arg,
        name: &str,
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Recv> {
        let has_args = !args.is_empty() || final_.is_some();
        let recv = match recv {
            Recv::Missing => {
                if self.templates.missing_key == MissingKey::Error {
                    return Err(f.err(pos, node, format!("nil data; no entry for key {name:?}")));
                }
                return Ok(Recv::Missing);
            }
            Recv::Val(v, m) => (v, m),
        };
        let (recv, from_map) = recv;
        match &recv {
            Value::Nil => Err(f.err(
                pos,
                node,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            Value::Map(m) => {
                if has_args {
                    return Err(f.err(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.get(name) {
                    Some(v) => Ok(Recv::Val(v, true)),
                    None => match self.templates.missing_key {
                        MissingKey::Default => Ok(Recv::Missing),
                        MissingKey::Zero => Ok(Recv::Val(Value::Nil, true)),
                        MissingKey::Error => {
                            Err(f.err(pos, node, format!("map has no entry for key {name:?}")))
                        }
                    },
                }
            }
            Value::Object(o) => {
                if !has_args && let Some(v) = o.field(name) {
                    return Ok(Recv::Val(v, false));
                }
                let mut argv = Vec::with_capacity(args.len() + 1);
                for a in args {
                    argv.push(self.eval_arg(f, dot, a)?);
                }
                if let Some(fv) = final_ {
                    argv.push(fv);
                }
                match o.call_method(name, &argv) {
                    Some(Ok(v)) => Ok(Recv::Val(v, false)),
                    Some(Err(m)) => Err(f.err(pos, node, format!("error calling {name}: {m}"))),
                    None => {
                        if has_args && o.field(name).is_some() {
                            return Err(f.err(
                                pos,
                                node,
                                format!("{name} has arguments but cannot be invoked as function"),
                            ));
                        }
                        Err(f.err(
                            pos,
                            node,
                            format!("can't evaluate field {name} in type {}", o.type_name()),
                        ))
                    }
                }
            }
            other => {
                let type_name = if from_map {
                    "interface {}".to_string()
                } else {
                    other.type_name()
                };
                Err(f.err(
                    pos,
                    node,
                    format!("can't evaluate field {name} in type {type_name}"),
                ))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_function(
        &mut self,
        f: &mut Frame,
        dot: &Value,
        pos: usize,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Value> {
        self.eval_function_args(f, dot, pos, name, cmd, cmd, args, final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_function_args(
        &mut self,
        f: &mut Frame,
        dot: &Value,
        pos: usize,
        name: &str,
        cmd: &Command,
        err_node: &dyn Display,
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Value> {
        let user = self.templates.funcs.contains_key(name);
        if !user && (name == "and" || name == "or") {
            return self.eval_and_or(f, dot, cmd, name == "and", args, final_);
        }
        let Some(func) = self.func(name) else {
            return Err(f.err(
                pos,
                &Shown(name),
                format!("{name:?} is not a defined function"),
            ));
        };
        let mut argv = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.eval_arg(f, dot, a)?);
        }
        if let Some(fv) = final_ {
            argv.push(fv);
        }
        let cmd_pos = if cmd.args.is_empty() { pos } else { cmd.pos };
        let result = {
            let mut ctx = CallContext { exec: self };
            func(&mut ctx, &argv)
        };
        result.map_err(|e| match e {
            FuncError::Message(m) => f.err(cmd_pos, err_node, format!("error calling {name}: {m}")),
            FuncError::Usage(m) => f.err(pos, &Shown(name), m),
            FuncError::ArgType {
                index,
                expected,
                got,
            } => match args.get(index) {
                Some(a) => f.err(a.pos(), a, arg_type_message(a, &expected, &got)),
                // the piped value: Go reports at the last evaluated argument
                None => match args.last() {
                    Some(a) => f.err(
                        last_evaluated(a).pos(),
                        last_evaluated(a),
                        format!("wrong type for value; expected {expected}; got {got}"),
                    ),
                    None => f.err(
                        pos,
                        &Shown(name),
                        format!("wrong type for value; expected {expected}; got {got}"),
                    ),
                },
            },
            FuncError::Template(inner) => {
                let m = format!("error calling {name}: {inner}");
                f.err_with(cmd_pos, err_node, m, Some(inner))
            }
        })
    }

    fn eval_and_or(
        &mut self,
        f: &mut Frame,
        dot: &Value,
        cmd: &Command,
        is_and: bool,
        args: &[Arg],
        final_: Option<Value>,
    ) -> Res<Value> {
        let name = if is_and { "and" } else { "or" };
        let total = args.len() + usize::from(final_.is_some());
        if total < 1 {
            return Err(f.err(
                cmd.pos,
                cmd,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            ));
        }
        let mut last = Value::Nil;
        for a in args {
            let v = self.eval_arg(f, dot, a)?;
            if v.is_truthy() != is_and {
                return Ok(v);
            }
            last = v;
        }
        if let Some(v) = final_ {
            return Ok(v);
        }
        Ok(last)
    }
}

fn unwrap_signal(s: Signal) -> Error {
    match s {
        Signal::Err(e) => *e,
        Signal::Break | Signal::Continue => Error::NoTemplate {
            name: String::new(),
            set: String::new(),
        },
    }
}

/// The node Go last positioned on while evaluating `a` (for error locations).
fn last_evaluated(a: &Arg) -> &Arg {
    match a {
        Arg::Pipe(_, p) => p
            .cmds
            .last()
            .and_then(|c| c.args.last())
            .map(last_evaluated)
            .unwrap_or(a),
        Arg::Chain { node, .. } => last_evaluated(node),
        other => other,
    }
}

/// Go's message for an argument of the wrong type: literals are checked by kind
/// ("expected integer; found \"x\""), other values by type.
fn arg_type_message(a: &Arg, expected: &str, got: &str) -> String {
    let literal = matches!(a, Arg::Str { .. } | Arg::Number { .. } | Arg::Bool(..));
    if let Arg::Nil(_) = a {
        return format!("cannot assign nil to {expected}");
    }
    if literal {
        let kind = match expected {
            "int" | "int64" | "uint" => Some("integer"),
            "float64" => Some("float"),
            "string" => Some("string"),
            "bool" => Some("bool"),
            _ => None,
        };
        return match kind {
            Some(k) => format!("expected {k}; found {a}"),
            None => format!("can't handle {a} for arg of type {expected}"),
        };
    }
    format!("wrong type for value; expected {expected}; got {got}")
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(x) => Value::Float(*x),
    }
}

impl ExecAccess for Exec<'_> {
    fn execute_template(&mut self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(def) = self.lookup(name) else {
            return Err(Error::NoTemplate {
                name: name.to_string(),
                set: self.templates.name.clone(),
            });
        };
        let mut out = String::new();
        self.run(def, data, &mut out, None)?;
        Ok(out)
    }

    fn execute_source(&mut self, name: &str, source: &str, data: &Value) -> Result<String, Error> {
        let defs = self.templates.parse_defs(name, source)?;
        let mut overlay: HashMap<String, Arc<TemplateDef>> = HashMap::new();
        let mut main = None;
        for (n, d) in defs {
            if n == name && main.is_none() {
                main = Some(d.clone());
            }
            let keep_old = crate::parse::is_empty_list(&d.root)
                && self
                    .lookup(&n)
                    .is_some_and(|old| !crate::parse::is_empty_list(&old.root));
            if !keep_old || n == name {
                overlay.insert(n, d);
            }
        }
        let Some(main) = main else {
            return Ok(String::new());
        };
        self.overlays.push(Arc::new(overlay));
        let mut out = String::new();
        let r = self.run(main, data, &mut out, None);
        self.overlays.pop();
        r.map(|()| out)
    }

    fn has_template(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    fn templates(&self) -> &Templates {
        self.templates
    }

    fn note_output(&mut self, bytes: usize) -> Result<(), String> {
        self.note_output_bytes(bytes)
    }
}
