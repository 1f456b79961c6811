//! Lexer for Go's text/template syntax (delimiters `{{` `}}`).

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Text between actions (already trimmed by `{{-` / `-}}`), as a byte range.
    Text(usize, usize),
    LeftDelim,
    RightDelim,
    Space,
    Field(String),
    Variable(String),
    Identifier(String),
    Keyword(Keyword),
    Dot,
    Nil,
    Bool(bool),
    Number(String),
    /// Quoted string: the raw source text including quotes.
    Str(String),
    RawStr(String),
    Char(String),
    LeftParen,
    RightParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    /// Any other printable ASCII character (the parser reports it as unexpected).
    Other(char),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Keyword {
    fn from_word(w: &str) -> Option<Keyword> {
        Some(match w {
            "block" => Keyword::Block,
            "break" => Keyword::Break,
            "continue" => Keyword::Continue,
            "define" => Keyword::Define,
            "else" => Keyword::Else,
            "end" => Keyword::End,
            "if" => Keyword::If,
            "range" => Keyword::Range,
            "template" => Keyword::Template,
            "with" => Keyword::With,
            _ => return None,
        })
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Keyword::Block => "block",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
            Keyword::Define => "define",
            Keyword::Else => "else",
            Keyword::End => "end",
            Keyword::If => "if",
            Keyword::Range => "range",
            Keyword::Template => "template",
            Keyword::With => "with",
        }
    }
}

impl Tok {
    /// Go's `item.String()` as used in "unexpected X in Y" messages.
    pub(crate) fn describe(&self, src: &str) -> String {
        let val: String = match self {
            Tok::Eof => return "EOF".into(),
            Tok::Keyword(k) => return format!("<{}>", k.word()),
            Tok::Text(a, b) => src.get(*a..*b).unwrap_or("").into(),
            Tok::LeftDelim => "{{".into(),
            Tok::RightDelim => "}}".into(),
            Tok::Space => " ".into(),
            Tok::Field(s)
            | Tok::Variable(s)
            | Tok::Identifier(s)
            | Tok::Number(s)
            | Tok::Str(s)
            | Tok::RawStr(s)
            | Tok::Char(s) => s.clone(),
            Tok::Dot => ".".into(),
            Tok::Nil => "nil".into(),
            Tok::Bool(b) => b.to_string(),
            Tok::LeftParen => "(".into(),
            Tok::RightParen => ")".into(),
            Tok::Pipe => "|".into(),
            Tok::Declare => ":=".into(),
            Tok::Assign => "=".into(),
            Tok::Comma => ",".into(),
            Tok::Other(c) => c.to_string(),
        };
        if val.chars().count() > 10 {
            let head: String = val.chars().take(10).collect();
            format!("{}...", crate::format::go_quote(&head))
        } else {
            crate::format::go_quote(&val)
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
    pub(crate) line: usize,
}

#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    name: &'a str,
    action_line: usize,
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    out: Vec<Token>,
    paren_depth: usize,
}

/// Tokenizes a whole template source.
pub(crate) fn lex(name: &str, src: &str) -> Result<Vec<Token>, LexError> {
    let mut l = Lexer {
        name,
        action_line: 1,
        src,
        bytes: src.as_bytes(),
        pos: 0,
        line: 1,
        out: Vec::new(),
        paren_depth: 0,
    };
    l.run()?;
    Ok(l.out)
}

impl<'a> Lexer<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            line: self.line,
            message: message.into(),
        })
    }

    fn emit(&mut self, tok: Tok, start: usize) {
        let line = self.line - self.src[start..self.pos].matches('\n').count();
        self.out.push(Token {
            tok,
            pos: start,
            line,
        });
    }

    fn advance_to(&mut self, to: usize) {
        self.line += self.src[self.pos..to].matches('\n').count();
        self.pos = to;
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next_text = false;
        loop {
            let rest = &self.src[self.pos..];
            let (text_end, found) = match rest.find(LEFT) {
                Some(i) => (self.pos + i, true),
                None => (self.src.len(), false),
            };
            let mut t_start = self.pos;
            let mut t_end = text_end;
            if trim_next_text {
                while t_start < t_end && is_space(self.bytes[t_start]) {
                    t_start += 1;
                }
            }
            let mut left_trim = false;
            if found {
                let after = text_end + LEFT.len();
                if self.bytes.get(after) == Some(&b'-')
                    && self.bytes.get(after + 1).is_some_and(|c| is_space(*c))
                {
                    left_trim = true;
                    while t_end > t_start && is_space(self.bytes[t_end - 1]) {
                        t_end -= 1;
                    }
                }
            }
            if t_end > t_start {
                let line = self.line + self.src[self.pos..t_start].matches('\n').count();
                self.out.push(Token {
                    tok: Tok::Text(t_start, t_end),
                    pos: t_start,
                    line,
                });
            }
            if !found {
                self.advance_to(self.src.len());
                self.emit(Tok::Eof, self.pos);
                return Ok(());
            }
            self.advance_to(text_end);
            let delim_start = self.pos;
            self.pos += LEFT.len();
            if left_trim {
                self.pos += 2;
            }
            // comment?
            let after_space = self.pos;
            if self.src[self.pos..].starts_with("/*") {
                let Some(end) = self.src[self.pos + 2..].find("*/") else {
                    return self.err("unclosed comment");
                };
                self.advance_to(self.pos + 2 + end + 2);
                match self.at_right_delim() {
                    Some(trim) => {
                        self.pos += if trim { 2 + RIGHT.len() } else { RIGHT.len() };
                        trim_next_text = trim;
                        continue;
                    }
                    None => return self.err("comment ends before closing delimiter"),
                }
            }
            let _ = after_space;
            self.emit(Tok::LeftDelim, delim_start);
            self.action_line = self.line;
            trim_next_text = self.lex_inside_action()?;
        }
    }

    /// At the right delimiter? `Some(true)` for ` -}}`, `Some(false)` for `}}`.
    fn at_right_delim(&self) -> Option<bool> {
        let rest = &self.src[self.pos..];
        if rest.len() >= 2 + RIGHT.len()
            && is_space(rest.as_bytes()[0])
            && rest.as_bytes()[1] == b'-'
            && rest[2..].starts_with(RIGHT)
        {
            return Some(true);
        }
        if rest.starts_with(RIGHT) {
            return Some(false);
        }
        None
    }

    /// Lexes one action up to and including its right delimiter; returns whether it trims.
    fn lex_inside_action(&mut self) -> Result<bool, LexError> {
        loop {
            if let Some(trim) = self.at_right_delim() {
                if self.paren_depth > 0 {
                    return self.err("unclosed left paren");
                }
                let start = self.pos;
                self.pos += if trim { 2 + RIGHT.len() } else { RIGHT.len() };
                self.emit(Tok::RightDelim, start);
                return Ok(trim);
            }
            let start = self.pos;
            let Some(c) = self.src[self.pos..].chars().next() else {
                return self.err(format!(
                    "unclosed action started at {}:{}",
                    self.name, self.action_line
                ));
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    let mut end = self.pos;
                    while end < self.bytes.len() && is_space(self.bytes[end]) {
                        // stop before a trim marker " -}}"
                        if end + 1 < self.bytes.len()
                            && self.bytes[end + 1] == b'-'
                            && self.src[end + 2..].starts_with(RIGHT)
                        {
                            break;
                        }
                        end += 1;
                    }
                    if end == self.pos {
                        // a single space before " -}}": handled by at_right_delim next round
                        end += 1;
                        if self.at_right_delim().is_some() {
                            continue;
                        }
                    }
                    self.advance_to(end);
                    self.emit(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if self.src[self.pos..].starts_with(":=") {
                        self.pos += 2;
                        self.emit(Tok::Declare, start);
                    } else {
                        return self.err("expected :=");
                    }
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, start);
                }
                '"' => {
                    let end = self.scan_quote(b'"', "unterminated quoted string")?;
                    let text = self.src[start..end].to_string();
                    self.advance_to(end);
                    self.emit(Tok::Str(text), start);
                }
                '\'' => {
                    let end = self.scan_quote(b'\'', "unterminated character constant")?;
                    let text = self.src[start..end].to_string();
                    self.advance_to(end);
                    self.emit(Tok::Char(text), start);
                }
                '`' => {
                    let Some(i) = self.src[self.pos + 1..].find('`') else {
                        return self.err("unterminated raw quoted string");
                    };
                    let end = self.pos + 1 + i + 1;
                    let text = self.src[start..end].to_string();
                    self.advance_to(end);
                    self.emit(Tok::RawStr(text), start);
                }
                '$' => {
                    let end = self.scan_word(self.pos + 1);
                    self.check_terminator(end)?;
                    let text = self.src[start..end].to_string();
                    self.pos = end;
                    self.emit(Tok::Variable(text), start);
                }
                '.' => {
                    let next = self.bytes.get(self.pos + 1).copied();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        self.lex_number()?;
                    } else {
                        let end = self.scan_word(self.pos + 1);
                        if end == self.pos + 1 {
                            self.pos += 1;
                            self.emit(Tok::Dot, start);
                        } else {
                            self.check_terminator(end)?;
                            let text = self.src[start..end].to_string();
                            self.pos = end;
                            self.emit(Tok::Field(text), start);
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.lex_number()?,
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen, start);
                }
                ')' => {
                    if self.paren_depth == 0 {
                        return self.err("unexpected right paren");
                    }
                    self.pos += 1;
                    self.paren_depth -= 1;
                    self.emit(Tok::RightParen, start);
                }
                c if is_alnum(c) => {
                    let end = self.scan_word(self.pos);
                    self.check_terminator(end)?;
                    let word = &self.src[start..end];
                    let tok = if let Some(k) = Keyword::from_word(word) {
                        Tok::Keyword(k)
                    } else if word == "true" {
                        Tok::Bool(true)
                    } else if word == "false" {
                        Tok::Bool(false)
                    } else if word == "nil" {
                        Tok::Nil
                    } else {
                        Tok::Identifier(word.to_string())
                    };
                    self.pos = end;
                    self.emit(tok, start);
                }
                other if other.is_ascii_graphic() => {
                    self.pos += 1;
                    self.emit(Tok::Other(other), start);
                }
                other => {
                    return self.err(format!(
                        "unrecognized character in action: {}",
                        crate::format::go_unicode_sharp(other)
                    ));
                }
            }
        }
    }

    fn scan_word(&self, from: usize) -> usize {
        let mut end = from;
        for c in self.src[from..].chars() {
            if is_alnum(c) {
                end += c.len_utf8();
            } else {
                break;
            }
        }
        end
    }

    fn check_terminator(&self, end: usize) -> Result<(), LexError> {
        let rest = &self.src[end..];
        let Some(c) = rest.chars().next() else {
            return Ok(());
        };
        if is_space(c as u8) && c.is_ascii() || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') {
            return Ok(());
        }
        if rest.starts_with(RIGHT) {
            return Ok(());
        }
        self.err(format!(
            "bad character {}",
            crate::format::go_unicode_sharp(c)
        ))
    }

    fn scan_quote(&self, quote: u8, unterminated: &str) -> Result<usize, LexError> {
        let mut i = self.pos + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' => i += 2,
                b'\n' => return self.err(unterminated),
                c if c == quote => return Ok(i + 1),
                _ => i += 1,
            }
        }
        self.err(unterminated)
    }

    fn lex_number(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let mut end = self.pos;
        let b = self.bytes;
        if end < b.len() && (b[end] == b'+' || b[end] == b'-') {
            end += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        let mut exp: &[u8] = b"eE";
        if end + 1 < b.len() && b[end] == b'0' {
            match b[end + 1] {
                b'x' | b'X' => {
                    end += 2;
                    digits = b"0123456789abcdefABCDEF_";
                    exp = b"pP";
                }
                b'o' | b'O' => {
                    end += 2;
                    digits = b"01234567_";
                    exp = b"";
                }
                b'b' | b'B' => {
                    end += 2;
                    digits = b"01_";
                    exp = b"";
                }
                _ => {}
            }
        }
        while end < b.len() && digits.contains(&b[end]) {
            end += 1;
        }
        if end < b.len() && b[end] == b'.' {
            end += 1;
            while end < b.len() && digits.contains(&b[end]) {
                end += 1;
            }
        }
        if !exp.is_empty() && end < b.len() && exp.contains(&b[end]) {
            end += 1;
            if end < b.len() && (b[end] == b'+' || b[end] == b'-') {
                end += 1;
            }
            while end < b.len() && b"0123456789_".contains(&b[end]) {
                end += 1;
            }
        }
        if end < b.len() && b[end] == b'i' {
            end += 1;
        }
        let next = self.src[end..].chars().next();
        if next.is_some_and(is_alnum) {
            let bad_end = self.scan_word(end);
            return self.err(format!(
                "bad number syntax: {:?}",
                &self.src[start..bad_end]
            ));
        }
        let text = self.src[start..end].to_string();
        self.pos = end;
        self.emit(Tok::Number(text), start);
        Ok(())
    }
}
