//! Parser: tokens to the template tree, with Go's checks (functions defined,
//! variables declared, `break` inside `range`, one definition per parse).

use std::fmt;
use std::sync::Arc;

use crate::lex::{Keyword, Tok, Token, lex};

/// Maximum nesting of control structures and parentheses accepted by the parser.
pub(crate) const MAX_PARSE_DEPTH: usize = 200;

#[derive(Debug)]
pub(crate) struct ParseFailure {
    pub(crate) line: usize,
    pub(crate) message: String,
}

pub(crate) type List = Vec<Node>;

#[derive(Debug)]
pub(crate) enum Node {
    Text(Arc<str>),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: Arc<str>,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) pos: usize,
    pub(crate) pipe: Pipe,
    pub(crate) list: List,
    pub(crate) else_list: Option<List>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<Arc<str>>,
    pub(crate) cmds: Vec<Command>,
}

#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Int(i64),
    Float(f64),
}

#[derive(Debug)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        names: Vec<Arc<str>>,
    },
    Variable {
        pos: usize,
        name: Arc<str>,
        fields: Vec<Arc<str>>,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number {
        pos: usize,
        text: Arc<str>,
        value: Literal,
    },
    Str {
        pos: usize,
        quoted: Arc<str>,
        value: Arc<str>,
    },
    Identifier {
        pos: usize,
        name: Arc<str>,
    },
    Pipe(usize, Box<Pipe>),
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<Arc<str>>,
    },
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number { pos, .. }
            | Arg::Str { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Pipe(pos, _)
            | Arg::Chain { pos, .. } => *pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { names, .. } => {
                for n in names {
                    write!(f, ".{n}")?;
                }
                Ok(())
            }
            Arg::Variable { name, fields, .. } => {
                write!(f, "{name}")?;
                for n in fields {
                    write!(f, ".{n}")?;
                }
                Ok(())
            }
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number { text, .. } => f.write_str(text),
            Arg::Str { quoted, .. } => f.write_str(quoted),
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Pipe(_, p) => write!(f, "({p})"),
            Arg::Chain { node, fields, .. } => {
                write!(f, "{node}")?;
                for n in fields {
                    write!(f, ".{n}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(v)?;
            }
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Result of parsing one source: the body plus every `define`/`block`.
pub(crate) struct Parsed {
    pub(crate) body: List,
    pub(crate) defines: Vec<(String, List)>,
}

/// True when a list holds only whitespace text (Go's `IsEmptyTree`).
pub(crate) fn is_empty_list(list: &List) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

enum Stop {
    End,
    Else,
    Eof,
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    is_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<Arc<str>>,
    range_depth: usize,
    depth: usize,
    defines: Vec<(String, List)>,
}

type PResult<T> = Result<T, ParseFailure>;

/// Parses a template source. `is_func` says whether an identifier names a function.
pub(crate) fn parse(
    name: &str,
    src: &str,
    is_func: &dyn Fn(&str) -> bool,
) -> Result<Parsed, ParseFailure> {
    let toks = lex(name, src).map_err(|e| ParseFailure {
        line: e.line,
        message: e.message,
    })?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        is_func,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        defines: Vec::new(),
    };
    let body = p.top()?;
    Ok(Parsed {
        body,
        defines: p.defines,
    })
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.i.min(last)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek_non_space(&mut self) -> &Token {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.peek_non_space();
        self.next()
    }

    fn fail<T>(&self, message: impl Into<String>) -> PResult<T> {
        Err(ParseFailure {
            line: self.peek().line,
            message: message.into(),
        })
    }

    fn fail_at<T>(&self, tok: &Token, message: impl Into<String>) -> PResult<T> {
        Err(ParseFailure {
            line: tok.line,
            message: message.into(),
        })
    }

    fn unexpected<T>(&self, tok: &Token, context: &str) -> PResult<T> {
        if tok.tok == Tok::Eof {
            return self.fail_at(tok, format!("unexpected EOF in {context}"));
        }
        self.fail_at(
            tok,
            format!("unexpected {} in {}", tok.tok.describe(self.src), context),
        )
    }

    fn top(&mut self) -> PResult<List> {
        let mut list = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Eof => return Ok(list),
                Tok::LeftDelim => {
                    // define?
                    let save = self.i;
                    self.next();
                    let kw = self.peek_non_space().clone();
                    if kw.tok == Tok::Keyword(Keyword::Define) {
                        self.next();
                        self.parse_define()?;
                        continue;
                    }
                    self.i = save;
                    match self.text_or_action()? {
                        Item::Node(n) => list.push(n),
                        Item::End(tok) => return self.fail_at(&tok, "unexpected {{end}}"),
                        Item::Else(tok) => return self.fail_at(&tok, "unexpected {{else}}"),
                    }
                }
                _ => match self.text_or_action()? {
                    Item::Node(n) => list.push(n),
                    Item::End(tok) => return self.fail_at(&tok, "unexpected {{end}}"),
                    Item::Else(tok) => return self.fail_at(&tok, "unexpected {{else}}"),
                },
            }
        }
    }

    fn add_define(&mut self, name: String, list: List) -> PResult<()> {
        if let Some(idx) = self.defines.iter().position(|(n, _)| *n == name) {
            if is_empty_list(&self.defines[idx].1) {
                self.defines[idx].1 = list;
                return Ok(());
            }
            if !is_empty_list(&list) {
                return self.fail(format!(
                    "template: multiple definition of template {name:?}"
                ));
            }
            return Ok(());
        }
        self.defines.push((name, list));
        Ok(())
    }

    /// After `{{define`: `"name"}}` … `{{end}}`.
    fn parse_define(&mut self) -> PResult<()> {
        let name_tok = self.next_non_space();
        let name = self.string_value(&name_tok, "define clause")?;
        let close = self.next_non_space();
        if close.tok != Tok::RightDelim {
            return self.unexpected(&close, "define clause");
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, stop) = self.item_list("define")?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        match stop {
            Stop::End => {}
            Stop::Else => return self.fail("unexpected {{else}} in define"),
            Stop::Eof => return self.fail("unexpected EOF"),
        }
        self.add_define(name, list)
    }

    fn string_value(&self, tok: &Token, context: &str) -> PResult<String> {
        match &tok.tok {
            Tok::Str(s) | Tok::RawStr(s) => unquote(s).map_err(|m| ParseFailure {
                line: tok.line,
                message: m,
            }),
            _ => self.unexpected(tok, context),
        }
    }

    /// Items until `{{end}}` / `{{else}}` / EOF.
    fn item_list(&mut self, context: &str) -> PResult<(List, Stop)> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return self.fail(format!("{context}: nesting too deep"));
        }
        let mut list = Vec::new();
        let stop = loop {
            if self.peek().tok == Tok::Eof {
                break Stop::Eof;
            }
            if self.peek().tok == Tok::LeftDelim {
                let save = self.i;
                self.next();
                if self.peek_non_space().tok == Tok::Keyword(Keyword::Define) {
                    return self.fail("unexpected <define> in command");
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::End(_) => break Stop::End,
                Item::Else(_) => break Stop::Else,
            }
        };
        self.depth -= 1;
        Ok((list, stop))
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next();
        match t.tok {
            Tok::Text(a, b) => Ok(Item::Node(Node::Text(self.src[a..b].into()))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn expect_close(&mut self, context: &str) -> PResult<()> {
        let t = self.next_non_space();
        if t.tok != Tok::RightDelim {
            return self.unexpected(&t, context);
        }
        Ok(())
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.peek_non_space().clone();
        match t.tok {
            Tok::Keyword(Keyword::Block) => {
                self.next();
                self.block_control(t.pos)
            }
            Tok::Keyword(Keyword::Break) => {
                self.next();
                if self.range_depth == 0 {
                    return self.fail("{{break}} outside {{range}}");
                }
                self.expect_close("{{break}}")?;
                Ok(Item::Node(Node::Break))
            }
            Tok::Keyword(Keyword::Continue) => {
                self.next();
                if self.range_depth == 0 {
                    return self.fail("{{continue}} outside {{range}}");
                }
                self.expect_close("{{continue}}")?;
                Ok(Item::Node(Node::Continue))
            }
            Tok::Keyword(Keyword::Else) => {
                self.next();
                // `else if` / `else with` leave the keyword for the caller
                let nt = self.peek_non_space().clone();
                match nt.tok {
                    Tok::Keyword(Keyword::If) | Tok::Keyword(Keyword::With) => Ok(Item::Else(t)),
                    _ => {
                        self.expect_close("else")?;
                        Ok(Item::Else(t))
                    }
                }
            }
            Tok::Keyword(Keyword::End) => {
                self.next();
                self.expect_close("end")?;
                Ok(Item::End(t))
            }
            Tok::Keyword(Keyword::If) => {
                self.next();
                Ok(Item::Node(self.control(ControlKind::If, t.pos)?))
            }
            Tok::Keyword(Keyword::Range) => {
                self.next();
                Ok(Item::Node(self.control(ControlKind::Range, t.pos)?))
            }
            Tok::Keyword(Keyword::With) => {
                self.next();
                Ok(Item::Node(self.control(ControlKind::With, t.pos)?))
            }
            Tok::Keyword(Keyword::Template) => {
                self.next();
                self.template_control(t.pos)
            }
            Tok::Keyword(Keyword::Define) => self.fail("unexpected <define> in command"),
            _ => {
                let pipe = self.pipeline("command", true)?;
                Ok(Item::Node(Node::Action(pipe)))
            }
        }
    }

    fn template_control(&mut self, _keyword_pos: usize) -> PResult<Item> {
        let tok = self.next_non_space();
        let pos = tok.pos;
        let name = self.string_value(&tok, "template clause")?;
        let pipe = if self.peek_non_space().tok != Tok::RightDelim {
            Some(self.pipeline("template clause", false)?)
        } else {
            self.next();
            None
        };
        Ok(Item::Node(Node::Template {
            pos,
            name: name.into(),
            pipe,
        }))
    }

    fn block_control(&mut self, pos: usize) -> PResult<Item> {
        let tok = self.next_non_space();
        let name = self.string_value(&tok, "block clause")?;
        let pipe = Some(self.pipeline("block clause", false)?);
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, stop) = self.item_list("block")?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        match stop {
            Stop::End => {}
            Stop::Else => return self.fail("unexpected {{else}} in block clause"),
            Stop::Eof => return self.fail("unexpected EOF"),
        }
        self.add_define(name.clone(), list)?;
        Ok(Item::Node(Node::Template {
            pos,
            name: name.into(),
            pipe,
        }))
    }

    fn control(&mut self, kind: ControlKind, pos: usize) -> PResult<Node> {
        let vars_mark = self.vars.len();
        let context = kind.word();
        let pipe = self.pipeline(context, kind == ControlKind::Range)?;
        if pipe.cmds.is_empty() {
            return self.fail(format!("missing value for {context}"));
        }
        if kind == ControlKind::Range {
            self.range_depth += 1;
        }
        let (list, stop) = self.item_list(context)?;
        if kind == ControlKind::Range {
            self.range_depth -= 1;
        }
        let else_list = match stop {
            Stop::End => None,
            Stop::Eof => return self.fail("unexpected EOF"),
            Stop::Else => {
                // `{{else if …}}` / `{{else with …}}` chain: a nested control sharing our {{end}}.
                let nt = self.peek_non_space().clone();
                let chained = match (kind, &nt.tok) {
                    (ControlKind::If, Tok::Keyword(Keyword::If)) => Some(ControlKind::If),
                    (ControlKind::With, Tok::Keyword(Keyword::With)) => Some(ControlKind::With),
                    (_, Tok::Keyword(Keyword::If | Keyword::With)) => {
                        return self.unexpected(&nt, "input");
                    }
                    _ => None,
                };
                if let Some(ck) = chained {
                    self.next();
                    let nested = self.control(ck, nt.pos)?;
                    Some(vec![nested])
                } else {
                    let (else_list, stop2) = self.item_list(context)?;
                    match stop2 {
                        Stop::End => {}
                        Stop::Else => {
                            return self.fail("expected end; found {{else}}");
                        }
                        Stop::Eof => return self.fail("unexpected EOF"),
                    }
                    Some(else_list)
                }
            }
        };
        self.vars.truncate(vars_mark);
        let branch = Branch {
            pos,
            pipe,
            list,
            else_list,
        };
        Ok(match kind {
            ControlKind::If => Node::If(branch),
            ControlKind::With => Node::With(branch),
            ControlKind::Range => Node::Range(branch),
        })
    }

    /// A pipeline up to and including the closing delimiter (or `)` when nested).
    fn pipeline(&mut self, context: &str, allow_decl: bool) -> PResult<Pipe> {
        let start = self.peek_non_space().pos;
        let mut decl = Vec::new();
        let mut is_assign = false;
        // declarations
        if let Tok::Variable(_) = self.peek_non_space().tok {
            let save = self.i;
            let v = self.next();
            let Tok::Variable(vname) = v.tok else {
                return self.fail("internal: expected variable");
            };
            let nt = self.peek_non_space().clone();
            match nt.tok {
                Tok::Declare | Tok::Assign => {
                    self.next();
                    is_assign = nt.tok == Tok::Assign;
                    decl.push(Arc::<str>::from(vname.as_str()));
                }
                Tok::Comma if context != "range" => {
                    return self.fail(format!("too many declarations in {context}"));
                }
                Tok::Comma if allow_decl => {
                    self.next();
                    let v2 = self.next_non_space();
                    let Tok::Variable(vname2) = v2.tok else {
                        return self.unexpected(&v2, "range");
                    };
                    let op = self.next_non_space();
                    match op.tok {
                        Tok::Declare | Tok::Assign => {
                            is_assign = op.tok == Tok::Assign;
                            decl.push(Arc::<str>::from(vname.as_str()));
                            decl.push(Arc::<str>::from(vname2.as_str()));
                        }
                        Tok::Comma => return self.fail("too many declarations in range"),
                        _ => return self.unexpected(&op, "range"),
                    }
                }
                _ => self.i = save,
            }
        }
        if !decl.is_empty() && !is_assign {
            for d in &decl {
                self.vars.push(d.clone());
            }
        }
        let mut cmds = Vec::new();
        loop {
            let t = self.peek_non_space().clone();
            match t.tok {
                Tok::RightDelim | Tok::RightParen => {
                    let end_paren = t.tok == Tok::RightParen;
                    if end_paren != (context == "parenthesized pipeline") {
                        return self.unexpected(&t, context);
                    }
                    self.next();
                    if cmds.is_empty() {
                        if !decl.is_empty() {
                            return self.fail(format!("missing value for {context}"));
                        }
                        if context != "if" && context != "with" && context != "range" {
                            return self.fail(format!("missing value for {context}"));
                        }
                    }
                    self.check_pipeline(&cmds)?;
                    return Ok(Pipe {
                        pos: start,
                        is_assign,
                        decl,
                        cmds,
                    });
                }
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Identifier(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    cmds.push(self.command()?);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipeline(&self, cmds: &[Command]) -> PResult<()> {
        if let Some(first) = cmds.first()
            && let Some(Arg::Nil(_)) = first.args.first()
            && first.args.len() == 1
        {
            // `{{nil}}` is caught at exec in Go; catch it here too.
        }
        for (i, c) in cmds.iter().enumerate().skip(1) {
            match c.args.first() {
                Some(Arg::Bool(..))
                | Some(Arg::Dot(_))
                | Some(Arg::Nil(_))
                | Some(Arg::Number { .. })
                | Some(Arg::Str { .. }) => {
                    return self.fail(format!(
                        "non executable command in pipeline stage {}",
                        i + 1
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            let arg = self.operand()?;
            if let Some(a) = arg {
                args.push(a);
            }
            let t = self.peek().clone();
            match t.tok {
                Tok::Space => {
                    self.peek_non_space();
                    continue;
                }
                Tok::RightDelim | Tok::RightParen => {}
                Tok::Pipe => {
                    self.next();
                }
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.fail("empty command");
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        let mut fields: Vec<Arc<str>> = Vec::new();
        // Go positions a field chain at its first trailing field.
        let pos = self.peek().pos;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f[1..].into());
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(node));
        }
        Ok(Some(match node {
            Arg::Field { mut names, .. } => {
                names.extend(fields);
                Arg::Field { pos, names }
            }
            Arg::Variable {
                name,
                fields: mut f0,
                ..
            } => {
                f0.extend(fields);
                Arg::Variable {
                    pos,
                    name,
                    fields: f0,
                }
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number { .. } | Arg::Nil(_) | Arg::Dot(_) => {
                return self.fail(
                    format!("unexpected . after term {node:?}")
                        .replace(&format!("{node:?}"), &format!("{:?}", node.to_string())),
                );
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.peek_non_space().clone();
        let arg = match &t.tok {
            Tok::Identifier(name) => {
                if !(self.is_func)(name) {
                    return self.fail(format!("function {name:?} not defined"));
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: name.as_str().into(),
                }
            }
            Tok::Dot => Arg::Dot(t.pos),
            Tok::Nil => Arg::Nil(t.pos),
            Tok::Variable(name) => {
                if !self.vars.iter().any(|v| **v == **name) {
                    return self.fail(format!("undefined variable {name:?}"));
                }
                Arg::Variable {
                    pos: t.pos,
                    name: name.as_str().into(),
                    fields: Vec::new(),
                }
            }
            Tok::Field(f) => Arg::Field {
                pos: t.pos,
                names: vec![f[1..].into()],
            },
            Tok::Bool(b) => Arg::Bool(t.pos, *b),
            Tok::Char(text) => {
                let s = unquote_char(text).map_err(|m| ParseFailure {
                    line: t.line,
                    message: m,
                })?;
                Arg::Number {
                    pos: t.pos,
                    text: text.as_str().into(),
                    value: Literal::Int(i64::from(s as u32)),
                }
            }
            Tok::Number(text) => {
                let value = parse_number(text).map_err(|m| ParseFailure {
                    line: t.line,
                    message: m,
                })?;
                Arg::Number {
                    pos: t.pos,
                    text: text.as_str().into(),
                    value,
                }
            }
            Tok::Str(text) | Tok::RawStr(text) => {
                let value = unquote(text).map_err(|m| ParseFailure {
                    line: t.line,
                    message: m,
                })?;
                Arg::Str {
                    pos: t.pos,
                    quoted: text.as_str().into(),
                    value: value.into(),
                }
            }
            Tok::LeftParen => {
                self.next();
                self.depth += 1;
                if self.depth > MAX_PARSE_DEPTH {
                    return self.fail("parenthesized pipeline: nesting too deep");
                }
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                self.depth -= 1;
                return Ok(Some(Arg::Pipe(t.pos, Box::new(pipe))));
            }
            _ => return Ok(None),
        };
        self.next();
        Ok(Some(arg))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ControlKind {
    If,
    With,
    Range,
}

impl ControlKind {
    fn word(self) -> &'static str {
        match self {
            ControlKind::If => "if",
            ControlKind::With => "with",
            ControlKind::Range => "range",
        }
    }
}

enum Item {
    Node(Node),
    End(Token),
    /// `{{else}}` (also `{{else if …}}` / `{{else with …}}`, keyword left unread).
    Else(Token),
}

/// Go's `underscoreOK`: `_` only between digits, or between a base prefix and a digit.
fn underscores_ok(text: &str) -> bool {
    if !text.contains('_') {
        return true;
    }
    let body = text.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    let (prefix_len, hex) = if lower.starts_with("0x") {
        (2, true)
    } else if lower.starts_with("0o") || lower.starts_with("0b") {
        (2, false)
    } else {
        (0, false)
    };
    let bytes = lower.as_bytes();
    let is_digit = |b: u8| b.is_ascii_digit() || (hex && b.is_ascii_hexdigit());
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'_' {
            continue;
        }
        let prev_ok = if i == prefix_len && prefix_len > 0 {
            true
        } else {
            i > 0 && is_digit(bytes[i - 1])
        };
        let next_ok = bytes.get(i + 1).is_some_and(|n| is_digit(*n));
        if !prev_ok || !next_ok {
            return false;
        }
    }
    true
}

fn parse_number(text: &str) -> Result<Literal, String> {
    if text.ends_with('i') {
        return Err(format!("complex numbers are not supported: {text}"));
    }
    if !underscores_ok(text) {
        return Err(format!("illegal number syntax: {text:?}"));
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let lower = body.to_ascii_lowercase();
    let is_hex = lower.starts_with("0x");
    let is_float = if is_hex {
        lower.contains('p') || lower.contains('.')
    } else {
        lower.contains('.') || lower.contains('e')
    };
    if !is_float {
        let parsed = if let Some(h) = lower.strip_prefix("0x") {
            i128::from_str_radix(h, 16)
        } else if let Some(o) = lower.strip_prefix("0o") {
            i128::from_str_radix(o, 8)
        } else if let Some(b) = lower.strip_prefix("0b") {
            i128::from_str_radix(b, 2)
        } else if lower.len() > 1 && lower.starts_with('0') {
            i128::from_str_radix(&lower[1..], 8)
        } else {
            lower.parse::<i128>()
        };
        return match parsed {
            Ok(v) => {
                let v = if neg { -v } else { v };
                i64::try_from(v)
                    .map(Literal::Int)
                    .map_err(|_| format!("illegal number syntax: {text:?}"))
            }
            Err(_) => Err(format!("illegal number syntax: {text:?}")),
        };
    }
    if let Some(h) = lower.strip_prefix("0x") {
        let f = parse_hex_float(h).ok_or_else(|| format!("illegal number syntax: {text:?}"))?;
        return Ok(Literal::Float(if neg { -f } else { f }));
    }
    match lower.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Literal::Float(if neg { -f } else { f })),
        _ => Err(format!("illegal number syntax: {text:?}")),
    }
}

/// A hexadecimal float body after `0x`: `1p60`, `1.8p1`, `.8p0`.
fn parse_hex_float(h: &str) -> Option<f64> {
    let (mant, exp) = match h.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (h, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Go's `strconv.Unquote` for "…" and `…` literals.
pub(crate) fn unquote(text: &str) -> Result<String, String> {
    if let Some(raw) = text.strip_prefix('`') {
        return Ok(raw.strip_suffix('`').unwrap_or(raw).replace('\r', ""));
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| "invalid syntax".to_string())?;
    unescape(inner, '"').map_err(|_| "invalid syntax".to_string())
}

fn unquote_char(text: &str) -> Result<char, String> {
    let inner = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .ok_or_else(|| format!("malformed character constant: {text}"))?;
    let s = unescape(inner, '\'').map_err(|_| format!("malformed character constant: {text}"))?;
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!("malformed character constant: {text}")),
    }
}

fn unescape(s: &str, quote: char) -> Result<String, ()> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(c) = chars.next() {
        if c == quote {
            return Err(());
        }
        if c != '\\' {
            flush_bytes(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or(())?;
        if !matches!(e, 'x' | '0'..='7') {
            flush_bytes(&mut bytes, &mut out);
        }
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' | '"' => {
                if e != quote {
                    return Err(());
                }
                out.push(e)
            }
            'x' => {
                let h: String = (0..2).filter_map(|_| chars.next()).collect();
                let b = u8::from_str_radix(&h, 16).map_err(|_| ())?;
                bytes.push(b);
                continue;
            }
            'u' | 'U' => {
                flush_bytes(&mut bytes, &mut out);
                let n = if e == 'u' { 4 } else { 8 };
                let h: String = (0..n).filter_map(|_| chars.next()).collect();
                let v = u32::from_str_radix(&h, 16).map_err(|_| ())?;
                out.push(char::from_u32(v).ok_or(())?);
            }
            '0'..='7' => {
                let mut h = String::from(e);
                for _ in 0..2 {
                    h.push(chars.next().ok_or(())?);
                }
                let v = u32::from_str_radix(&h, 8).map_err(|_| ())?;
                bytes.push(u8::try_from(v).map_err(|_| ())?);
                continue;
            }
            _ => return Err(()),
        }
        flush_bytes(&mut bytes, &mut out);
    }
    flush_bytes(&mut bytes, &mut out);
    Ok(out)
}

fn flush_bytes(bytes: &mut Vec<u8>, out: &mut String) {
    if !bytes.is_empty() {
        out.push_str(&String::from_utf8_lossy(bytes));
        bytes.clear();
    }
}
