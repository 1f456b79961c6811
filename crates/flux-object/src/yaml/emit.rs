//! `serde_json::Value` → YAML text in the layout go-yaml v3 / kustomize write: block style,
//! 2-space indent, sequences under a mapping key not indented, no line wrapping, strings
//! quoted whenever a YAML 1.1 or 1.2 reader would read them as something else, multi-line
//! strings as literal blocks when that is exact, double-quoted with escapes otherwise.
//!
//! Style choice follows libyaml's emitter analysis (as ported in go-yaml): which strings may
//! be plain, single-quoted or literal; which characters force double quotes.

use serde_json::{Map, Number, Value};

use super::YamlError;
use super::float_format::format_go_float64;
use super::resolve::plain_reads_as_non_string;

/// Deepest nesting written; deeper values are an error rather than a stack overflow.
const MAX_DEPTH: usize = 512;

/// libyaml writes keys longer than this (in bytes) with the explicit `? ` indicator.
const MAX_SIMPLE_KEY_BYTES: usize = 128;

/// Writes `value` as one YAML document ending in a newline.
pub(crate) fn emit_document(value: &Value) -> Result<String, YamlError> {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_mapping(&mut out, map, 0, false, 0)?,
        Value::Array(items) if !items.is_empty() => write_sequence(&mut out, items, 0, false, 0)?,
        scalar => write_scalar_line(&mut out, scalar, 0, 2),
    }
    Ok(out)
}

fn depth_error() -> YamlError {
    YamlError::Emit(format!("value nests deeper than {MAX_DEPTH} levels"))
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A mapping whose entries start at column `indent`; when `inline_first`, the cursor already
/// sits at that column (after `- `).
fn write_mapping(
    out: &mut String,
    map: &Map<String, Value>,
    indent: usize,
    inline_first: bool,
    depth: usize,
) -> Result<(), YamlError> {
    if depth > MAX_DEPTH {
        return Err(depth_error());
    }
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 || !inline_first {
            push_indent(out, indent);
        }
        let key_is_simple = key.len() <= MAX_SIMPLE_KEY_BYTES && !has_line_break(key);
        if key_is_simple {
            let key_text = scalar_string(key, ScalarPlace::SimpleKey);
            // The value starts after `key: `.
            let value_column = indent + key_text.chars().count() + 2;
            out.push_str(&key_text);
            out.push(':');
            write_mapping_value(out, value, indent, value_column, depth)?;
        } else {
            // `? key` / `: value`, as libyaml writes keys that cannot be simple.
            out.push_str("? ");
            write_scalar_line(out, &Value::String(key.clone()), indent + 2, indent + 2);
            // `: ` then the value, collections starting on the same line as after `- `.
            push_indent(out, indent);
            out.push_str(": ");
            match value {
                Value::Object(m) if !m.is_empty() => {
                    write_mapping(out, m, indent + 2, true, depth + 1)?;
                }
                Value::Array(items) if !items.is_empty() => {
                    write_sequence(out, items, indent + 2, true, depth + 1)?;
                }
                scalar => write_scalar_line(out, scalar, indent + 2, indent + 2),
            }
        }
    }
    Ok(())
}

/// The part after `key:` for a key at column `indent`; a scalar starts at `value_column`.
fn write_mapping_value(
    out: &mut String,
    value: &Value,
    indent: usize,
    value_column: usize,
    depth: usize,
) -> Result<(), YamlError> {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_mapping(out, m, indent + 2, false, depth + 1)
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            // kustomize's compact sequence indent: `- ` at the key's column.
            write_sequence(out, items, indent, false, depth + 1)
        }
        scalar => {
            out.push(' ');
            write_scalar_line(out, scalar, value_column, indent + 2);
            Ok(())
        }
    }
}

fn write_sequence(
    out: &mut String,
    items: &[Value],
    indent: usize,
    inline_first: bool,
    depth: usize,
) -> Result<(), YamlError> {
    if depth > MAX_DEPTH {
        return Err(depth_error());
    }
    for (index, item) in items.iter().enumerate() {
        if index > 0 || !inline_first {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => {
                write_mapping(out, m, indent + 2, true, depth + 1)?
            }
            Value::Array(inner) if !inner.is_empty() => {
                write_sequence(out, inner, indent + 2, true, depth + 1)?;
            }
            scalar => write_scalar_line(out, scalar, indent + 2, indent + 2),
        }
    }
    Ok(())
}

/// Writes a scalar (or an empty collection) starting at `column`, and the line break that
/// ends it; block scalar content and folded continuation lines are indented to `indent`.
fn write_scalar_line(out: &mut String, value: &Value, column: usize, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => {
            let text = scalar_string(s, ScalarPlace::Value { column, indent });
            out.push_str(&text);
            if text.ends_with('\n') {
                return;
            }
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
    out.push('\n');
}

/// Integers as integers; floats in Go's `FormatFloat(f, 'g', -1, 64)` form, as go-yaml does.
fn number_text(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    n.as_f64().map_or_else(|| n.to_string(), format_go_float64)
}

/// What libyaml's scalar analysis concludes about a string.
struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
    multiline: bool,
}

fn has_line_break(s: &str) -> bool {
    s.chars().any(is_break)
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c),
    }
}

/// go-yaml's `is_printable` (which, looking at UTF-8 lead bytes, counts nothing beyond the
/// BMP as printable: emoji are written `"\U0001F600"`), minus U+2028/U+2029, which are
/// escaped here so that readers that do not treat them as line breaks cannot disagree.
fn is_printable(c: char) -> bool {
    let go_printable = matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}')
        || (('\u{E000}'..='\u{FFFD}').contains(&c) && c != '\u{FEFF}');
    go_printable && c != '\u{2028}' && c != '\u{2029}'
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
            multiline: false,
        };
    }
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut special) = (false, false, false);
    let (mut previous_space, mut previous_break, mut line_breaks) = (false, false, false);
    let mut preceded_by_whitespace = true;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = is_blank_or_end(chars.get(i + 1).copied());
        let last = i + 1 == chars.len();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c);
    }
    let mut analysis = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
        multiline: line_breaks,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        analysis.block_plain_allowed = false;
    }
    if trailing_space {
        analysis.block_allowed = false;
    }
    if break_space {
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
    }
    if space_break || special {
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
        analysis.block_allowed = false;
    }
    if line_breaks || block_indicators {
        analysis.block_plain_allowed = false;
    }
    analysis
}

enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Non-empty, only `[A-Za-z0-9_./-]`, not starting with `-` or `.`: libyaml's analysis allows
/// such a string plain anywhere.
fn is_word_like(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && !matches!(bytes[0], b'-' | b'.')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
}

/// Where a scalar is written.
#[derive(Clone, Copy)]
enum ScalarPlace {
    /// A mapping key: never folded, never a block scalar.
    SimpleKey,
    /// A value starting at `column`; continuation lines are indented to `indent`.
    Value { column: usize, indent: usize },
}

/// The text of a string scalar, in the style go-yaml v3 would choose. Literal blocks end in
/// a newline; the other styles do not.
fn scalar_string(s: &str, place: ScalarPlace) -> String {
    // Fast path for the common word-like strings (`apiVersion`, `nginx`, `app.kubernetes.io/name`):
    // no spaces, breaks or indicators, so no folding and no quoting unless a reader would
    // take them for something else.
    if is_word_like(s) {
        return if plain_reads_as_non_string(s) {
            let mut folder = Folder {
                out: String::with_capacity(s.len() + 2),
                column: 0,
                indent: 0,
                allow_breaks: false,
            };
            folder.double_quoted(s);
            folder.out
        } else {
            s.to_string()
        };
    }
    let simple_key = matches!(place, ScalarPlace::SimpleKey);
    let analysis = analyze(s);
    let mut style = if analysis.multiline {
        Style::Literal
    } else if plain_reads_as_non_string(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    };
    if matches!(style, Style::Plain) && !analysis.block_plain_allowed {
        style = Style::SingleQuoted;
    }
    if matches!(style, Style::SingleQuoted) && !analysis.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if matches!(style, Style::Literal) && (!analysis.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    let (column, indent) = match place {
        ScalarPlace::SimpleKey => (0, 0),
        ScalarPlace::Value { column, indent } => (column, indent),
    };
    let mut folder = Folder {
        out: String::with_capacity(s.len() + 2),
        column,
        indent,
        allow_breaks: !simple_key,
    };
    match style {
        Style::Plain => folder.plain(s),
        Style::SingleQuoted => folder.single_quoted(s),
        Style::DoubleQuoted => folder.double_quoted(s),
        Style::Literal => return literal_block(s, indent),
    }
    folder.out
}

/// libyaml's preferred line width: plain and quoted scalars are folded at a space once a
/// line is longer than this (kustomize's output does this).
const BEST_WIDTH: usize = 80;

/// Writes flow scalars the way libyaml does, folding long lines at spaces.
struct Folder {
    out: String,
    /// Characters already on the current line.
    column: usize,
    /// Indentation of continuation lines.
    indent: usize,
    allow_breaks: bool,
}

impl Folder {
    fn push(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn push_str(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn line_break(&mut self) {
        self.out.push('\n');
        push_indent(&mut self.out, self.indent);
        self.column = self.indent;
    }

    fn may_fold(&self, previous_was_space: bool) -> bool {
        self.allow_breaks && !previous_was_space && self.column > BEST_WIDTH
    }

    fn plain(&mut self, s: &str) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if self.may_fold(spaces) && chars.get(i + 1) != Some(&' ') {
                    self.line_break();
                } else {
                    self.push(c);
                }
                spaces = true;
            } else {
                self.push(c);
                spaces = false;
            }
        }
    }

    fn single_quoted(&mut self, s: &str) {
        let chars: Vec<char> = s.chars().collect();
        self.push('\'');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if self.may_fold(spaces)
                    && i > 0
                    && i + 1 < chars.len()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.line_break();
                } else {
                    self.push(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.push('\'');
                }
                self.push(c);
                spaces = false;
            }
        }
        self.push('\'');
    }

    fn double_quoted(&mut self, s: &str) {
        let chars: Vec<char> = s.chars().collect();
        self.push('"');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || is_break(c) || c == '"' || c == '\\' || c == '\u{FEFF}' {
                self.push_str(&escape(c));
                spaces = false;
            } else if c == ' ' {
                if self.may_fold(spaces) && i > 0 && i + 1 < chars.len() {
                    self.line_break();
                    if chars.get(i + 1) == Some(&' ') {
                        self.push('\\');
                    }
                } else {
                    self.push(c);
                }
                spaces = true;
            } else {
                self.push(c);
                spaces = false;
            }
        }
        self.push('"');
    }
}

/// The double-quoted escape for a character that cannot appear as itself.
fn escape(c: char) -> String {
    match c {
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\u{B}' => "\\v".into(),
        '\u{C}' => "\\f".into(),
        '\r' => "\\r".into(),
        '\u{1B}' => "\\e".into(),
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{85}' => "\\N".into(),
        '\u{A0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        other => {
            let code = u32::from(other);
            if code <= 0xFF {
                format!("\\x{code:02X}")
            } else if code <= 0xFFFF {
                format!("\\u{code:04X}")
            } else {
                format!("\\U{code:08X}")
            }
        }
    }
}

/// `|` with libyaml's hints: an indentation digit when the text starts with a space or a
/// line break, `-` when it has no final line break, `+` when it has more than one.
fn literal_block(s: &str, content_indent: usize) -> String {
    let mut out = String::from("|");
    if s.starts_with([' ', '\n']) {
        out.push('2');
    }
    if !s.ends_with('\n') {
        out.push('-');
    } else if s == "\n" || s.ends_with("\n\n") {
        out.push('+');
    }
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            push_indent(&mut out, content_indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hints() {
        assert_eq!(literal_block("a\nb", 2), "|-\n  a\n  b\n");
        assert_eq!(literal_block("a\nb\n", 2), "|\n  a\n  b\n");
        assert_eq!(literal_block("a\n\n", 2), "|+\n  a\n\n");
        assert_eq!(literal_block(" a\nb", 4), "|2-\n     a\n    b\n");
        assert_eq!(literal_block("a\n\nb\n", 2), "|\n  a\n\n  b\n");
    }
}
