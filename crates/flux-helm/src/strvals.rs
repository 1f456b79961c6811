//! Helm's `--set` parser (`strvals`): `a.b=c,d[0]=e`, `{x,y}` lists,
//! backslash escapes, type inference (`true`, `false`, `null`, integers not
//! starting with 0), and the `--set-string`, `--set-json` and `--set-file`
//! variants.

use serde_json::{Map, Value};

/// Deepest `a.b.c...` nesting accepted.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Largest list index accepted.
pub const MAX_INDEX: usize = 65536;

/// How values on the right of `=` are turned into values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: typed (bools, null, int64).
    Typed,
    /// `--set-string`: always strings.
    String,
    /// `--set-json`: JSON values.
    Json,
    /// `--set-file`: the value is a path; the file's content is the string.
    File,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
    read_file: &'a dyn Fn(&str) -> Result<String, String>,
}

type PResult<T> = Result<T, PErr>;

#[derive(Debug)]
enum PErr {
    Eof,
    NotList,
    Msg(String),
}

/// Parses one `--set`-style argument into `dest`.
pub fn parse_into(
    s: &str,
    dest: &mut Map<String, Value>,
    kind: SetKind,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        kind,
        read_file,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(PErr::Eof) => return Ok(()),
            Err(PErr::NotList) => return Err("not a list".into()),
            Err(PErr::Msg(m)) => return Err(m),
        }
    }
}

/// Parses a `--set` argument with no file access (for `--set`, `--set-string`, `--set-json`).
pub fn parse_set(s: &str, dest: &mut Map<String, Value>, kind: SetKind) -> Result<(), String> {
    parse_into(s, dest, kind, &|_| {
        Err("file values are not allowed here".into())
    })
}

fn typed_val(v: &str, string: bool) -> Value {
    if string {
        return Value::String(v.to_string());
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0i64);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && is_go_int(v)
        && let Ok(i) = v.parse::<i64>()
    {
        return Value::from(i);
    }
    Value::String(v.to_string())
}

/// Go's ParseInt(base 10) accepts an optional sign then digits.
fn is_go_int(v: &str) -> bool {
    let d = v.strip_prefix(['+', '-']).unwrap_or(v);
    !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
}

impl Parser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// Reads until one of `stop`; returns (text, stop char or None at EOF).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn convert(&self, raw: &str) -> PResult<Value> {
        match self.kind {
            SetKind::Typed => Ok(typed_val(raw, false)),
            SetKind::String => Ok(typed_val(raw, true)),
            SetKind::File => (self.read_file)(raw).map(Value::String).map_err(PErr::Msg),
            SetKind::Json => Ok(typed_val(raw, true)),
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> PResult<()> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    return Err(PErr::Eof);
                }
                Err(PErr::Msg(format!("key {k:?} has no value")))
            }
            Some('[') => {
                let i = self
                    .key_index()
                    .map_err(|e| PErr::Msg(format!("error parsing index: {e}")))?;
                let mut list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(_) => {
                        return Err(PErr::Msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is not []interface {{}}: key {k:?}"
                        )));
                    }
                };
                let res = self.list_item(&mut list, i, level);
                set(data, &k, Value::Array(list));
                res
            }
            Some('=') => {
                if self.kind == SetKind::Json {
                    if self.empty_val() {
                        set(data, &k, Value::Null);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(list) => {
                        set(data, &k, Value::Array(list));
                        Ok(())
                    }
                    Err(PErr::Eof) => {
                        set(data, &k, Value::String(String::new()));
                        Err(PErr::Eof)
                    }
                    Err(PErr::NotList) => {
                        let (raw, _) = self.until(&[',']);
                        let v = self.convert(&raw)?;
                        set(data, &k, v);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Some(',') => {
                set(data, &k, Value::String(String::new()));
                Err(PErr::Msg(format!(
                    "key {k:?} has no value (cannot end with ,)"
                )))
            }
            Some(_) => {
                // '.'
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(PErr::Msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(_) => {
                        return Err(PErr::Msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is not map[string]interface {{}}: key {k:?}"
                        )));
                    }
                };
                let e = self.key(&mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return Err(PErr::Msg(format!("key map {k:?} has no value")));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                e
            }
        }
    }

    fn json_value(&mut self) -> PResult<Value> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let consumed = stream.byte_offset();
                self.pos += rest[..consumed].chars().count();
                Ok(crate::yaml_values::numbers_to_float(v))
            }
            Some(Err(e)) => Err(PErr::Msg(e.to_string())),
            None => Err(PErr::Msg("unexpected end of JSON input".into())),
        }
    }

    fn key_index(&mut self) -> Result<usize, String> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err("EOF".into());
        }
        let i: i64 = v
            .parse()
            .map_err(|_| format!("strconv.Atoi: parsing {v:?}: invalid syntax"))?;
        if i < 0 {
            return Err(format!("negative {i} index not allowed"));
        }
        Ok(i as usize)
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: usize, level: usize) -> PResult<()> {
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err(PErr::Msg(format!(
                "unexpected data at end of array index: {k:?}"
            )));
        }
        match last {
            None => Err(PErr::Eof),
            Some('=') => {
                if self.kind == SetKind::Json {
                    if self.empty_val() {
                        return set_index(list, i, Value::Null);
                    }
                    let v = self.json_value()?;
                    set_index(list, i, v)?;
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(vl) => set_index(list, i, Value::Array(vl)),
                    Err(PErr::Eof) => set_index(list, i, Value::String(String::new())),
                    Err(PErr::NotList) => {
                        let (raw, _) = self.until(&[',']);
                        let v = self.convert(&raw)?;
                        set_index(list, i, v)
                    }
                    Err(e) => Err(e),
                }
            }
            Some('[') => {
                let next = self
                    .key_index()
                    .map_err(|e| PErr::Msg(format!("error parsing index: {e}")))?;
                let mut inner = match list.get(i) {
                    Some(Value::Array(a)) => a.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(_) => {
                        return Err(PErr::Msg(
                            "unable to parse key: interface conversion: interface {} is not []interface {}".into(),
                        ));
                    }
                };
                self.list_item(&mut inner, next, level)?;
                set_index(list, i, Value::Array(inner))
            }
            Some(_) => {
                // '.'
                let mut inner = match list.get(i) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, level)?;
                set_index(list, i, Value::Object(inner))
            }
        }
    }

    /// Consumes blanks up to a comma or EOF (true: empty value).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => continue,
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    fn val_list(&mut self) -> PResult<Vec<Value>> {
        match self.read() {
            None => return Err(PErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(PErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(PErr::Msg("list must terminate with '}'".into())),
                Some('}') => {
                    match self.read() {
                        Some(',') | None => {}
                        Some(_) => self.unread(),
                    }
                    list.push(self.convert(&rs)?);
                    return Ok(list);
                }
                Some(_) => list.push(self.convert(&rs)?),
            }
        }
    }
}

fn set(data: &mut Map<String, Value>, key: &str, val: Value) {
    if key.is_empty() {
        return;
    }
    data.insert(key.to_string(), val);
}

fn set_index(list: &mut Vec<Value>, i: usize, val: Value) -> PResult<()> {
    if i > MAX_INDEX {
        return Err(PErr::Msg(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        )));
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = val;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str, kind: SetKind) -> Result<Value, String> {
        let mut m = Map::new();
        parse_set(s, &mut m, kind)?;
        Ok(Value::Object(m))
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            parse("a=1,b=true,c=null,d=0,e=012,f=-3,g=x", SetKind::Typed).expect("ok"),
            json!({"a": 1, "b": true, "c": null, "d": 0, "e": "012", "f": -3, "g": "x"})
        );
        assert_eq!(
            parse("a=1", SetKind::String).expect("ok"),
            json!({"a": "1"})
        );
    }

    #[test]
    fn nesting_lists_and_escapes() {
        assert_eq!(
            parse("a.b.c=1,a.d=2", SetKind::Typed).expect("ok"),
            json!({"a": {"b": {"c": 1}, "d": 2}})
        );
        assert_eq!(
            parse("l[1]=x,l[0]=y", SetKind::Typed).expect("ok"),
            json!({"l": ["y", "x"]})
        );
        assert_eq!(
            parse("l={a,b,c}", SetKind::Typed).expect("ok"),
            json!({"l": ["a", "b", "c"]})
        );
        assert_eq!(
            parse(r"a\.b=c\,d", SetKind::Typed).expect("ok"),
            json!({"a.b": "c,d"})
        );
        assert_eq!(
            parse("l[0].name=x,l[0].v=2", SetKind::Typed).expect("ok"),
            json!({"l": [{"name": "x", "v": 2}]})
        );
        assert_eq!(parse("a=", SetKind::Typed).expect("ok"), json!({"a": ""}));
    }

    #[test]
    fn json_values() {
        let v = parse(r#"a={"b":[1,2]},c="s""#, SetKind::Json).expect("ok");
        assert_eq!(v["c"], json!("s"));
        assert_eq!(v["a"]["b"][0].as_f64(), Some(1.0));
        assert_eq!(parse("a=", SetKind::Json).expect("ok"), json!({"a": null}));
    }

    #[test]
    fn garbage_never_panics() {
        let alphabet = [
            'a', '=', ',', '.', '[', ']', '{', '}', '\\', '1', '-', '"', ' ',
        ];
        let mut seed = 11u64;
        for _ in 0..2000 {
            let mut s = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 58) as usize;
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push(alphabet[((seed >> 33) as usize) % alphabet.len()]);
            }
            for kind in [SetKind::Typed, SetKind::String, SetKind::Json] {
                let mut m = Map::new();
                let _ = parse_set(&s, &mut m, kind);
            }
        }
    }

    #[test]
    fn errors() {
        assert!(
            parse("a", SetKind::Typed)
                .expect_err("no value")
                .contains("has no value")
        );
        assert!(
            parse("a,", SetKind::Typed)
                .expect_err("no value")
                .contains("cannot end with ,")
        );
        assert!(parse("l[-1]=x", SetKind::Typed).is_err());
        assert!(parse("l[70000]=x", SetKind::Typed).is_err());
        assert!(
            parse("l={a,b", SetKind::Typed)
                .expect_err("open list")
                .contains("terminate")
        );
        let deep = (0..40)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(".")
            + "=1";
        assert!(
            parse(&deep, SetKind::Typed)
                .expect_err("too deep")
                .contains("nested level")
        );
    }
}
