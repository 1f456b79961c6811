//! Sprig date functions with Go's reference-time layouts ("2006-01-02 15:04:05").

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::{arity, reg1, s_arg, to_int64};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::{Object, Value};

/// A Go `time.Time` value.
#[derive(Debug, Clone)]
pub struct GoTime(pub Zoned);

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let z = &self.0;
        Some(match name {
            "Unix" => Value::Int(z.timestamp().as_second()),
            "UnixNano" => Value::Int(z.timestamp().as_nanosecond() as i64),
            "Year" => Value::Int(i64::from(z.year())),
            "Month" => Value::from(MONTHS[(z.month() - 1) as usize]),
            "Day" => Value::Int(i64::from(z.day())),
            "Hour" => Value::Int(i64::from(z.hour())),
            "Minute" => Value::Int(i64::from(z.minute())),
            "Second" => Value::Int(i64::from(z.second())),
            "YearDay" => Value::Int(i64::from(z.day_of_year())),
            "UTC" => Value::object(GoTime(z.with_time_zone(TimeZone::UTC))),
            "Local" => Value::object(GoTime(z.with_time_zone(TimeZone::system()))),
            "String" => Value::from(self.display()),
            _ => return None,
        })
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Format" => Some(match args.first() {
                Some(Value::String(l)) => Ok(Value::from(format_go(&self.0, l))),
                _ => Err("wrong type for value; expected string".into()),
            }),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format_go(&self.0, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Debug, Clone, PartialEq)]
enum Chunk {
    Lit(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    YearDay,
    UnderYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// (use `Z` for UTC, colons, with seconds, hours only)
    Offset(bool, bool, bool, bool),
    Frac(usize, bool),
}

fn parse_layout(layout: &str) -> Vec<Chunk> {
    let b = layout.as_bytes();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let starts = |i: usize, p: &str| layout[i..].starts_with(p);
    while i < b.len() {
        let (chunk, len) = match b[i] {
            b'J' if starts(i, "January") => (Some(Chunk::LongMonth), 7),
            b'J' if starts(i, "Jan") => (Some(Chunk::Month), 3),
            b'M' if starts(i, "Monday") => (Some(Chunk::LongWeekDay), 6),
            b'M' if starts(i, "Mon") => (Some(Chunk::WeekDay), 3),
            b'M' if starts(i, "MST") => (Some(Chunk::TZ), 3),
            b'0' if starts(i, "002") => (Some(Chunk::YearDay), 3),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => (
                Some(match b[i + 1] {
                    b'1' => Chunk::ZeroMonth,
                    b'2' => Chunk::ZeroDay,
                    b'3' => Chunk::ZeroHour12,
                    b'4' => Chunk::ZeroMinute,
                    b'5' => Chunk::ZeroSecond,
                    _ => Chunk::Year,
                }),
                2,
            ),
            b'1' if starts(i, "15") => (Some(Chunk::Hour), 2),
            b'1' => (Some(Chunk::NumMonth), 1),
            b'2' if starts(i, "2006") => (Some(Chunk::LongYear), 4),
            b'2' => (Some(Chunk::Day), 1),
            b'_' if starts(i, "_2006") => {
                lit.push('_');
                (Some(Chunk::LongYear), 5)
            }
            b'_' if starts(i, "__2") => (Some(Chunk::UnderYearDay), 3),
            b'_' if starts(i, "_2") => (Some(Chunk::UnderDay), 2),
            b'3' => (Some(Chunk::Hour12), 1),
            b'4' => (Some(Chunk::Minute), 1),
            b'5' => (Some(Chunk::Second), 1),
            b'P' if starts(i, "PM") => (Some(Chunk::PM), 2),
            b'p' if starts(i, "pm") => (Some(Chunk::Pm), 2),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let rest = &layout[i + 1..];
                if rest.starts_with("070000") {
                    (Some(Chunk::Offset(z, false, true, false)), 7)
                } else if rest.starts_with("07:00:00") {
                    (Some(Chunk::Offset(z, true, true, false)), 9)
                } else if rest.starts_with("0700") {
                    (Some(Chunk::Offset(z, false, false, false)), 5)
                } else if rest.starts_with("07:00") {
                    (Some(Chunk::Offset(z, true, false, false)), 6)
                } else if rest.starts_with("07") {
                    (Some(Chunk::Offset(z, false, false, true)), 3)
                } else {
                    (None, 1)
                }
            }
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let c = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == c {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    (None, 1)
                } else {
                    (Some(Chunk::Frac(j - i - 1, c == b'9')), j - i)
                }
            }
            _ => (None, 1),
        };
        match chunk {
            Some(c) => {
                if let Chunk::LongYear = c
                    && len == 5
                {
                    // '_' already pushed as literal
                }
                if !lit.is_empty() {
                    out.push(Chunk::Lit(std::mem::take(&mut lit)));
                }
                if let Chunk::Frac(..) = c {
                    out.push(Chunk::Lit(String::new()));
                }
                out.push(c);
                i += len;
            }
            None => {
                let ch = layout[i..].chars().next().unwrap_or(' ');
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    if !lit.is_empty() {
        out.push(Chunk::Lit(lit));
    }
    out.retain(|c| *c != Chunk::Lit(String::new()));
    out
}

/// Formats with a Go layout.
pub fn format_go(z: &Zoned, layout: &str) -> String {
    let mut out = String::new();
    let hour12 = |h: i8| {
        let h = h % 12;
        if h == 0 { 12 } else { h }
    };
    for c in parse_layout(layout) {
        match c {
            Chunk::Lit(s) => out.push_str(&s),
            Chunk::LongMonth => out.push_str(MONTHS[(z.month() - 1) as usize]),
            Chunk::Month => out.push_str(&MONTHS[(z.month() - 1) as usize][..3]),
            Chunk::NumMonth => out.push_str(&z.month().to_string()),
            Chunk::ZeroMonth => out.push_str(&format!("{:02}", z.month())),
            Chunk::LongWeekDay => {
                out.push_str(DAYS[(z.weekday().to_monday_zero_offset()) as usize])
            }
            Chunk::WeekDay => {
                out.push_str(&DAYS[(z.weekday().to_monday_zero_offset()) as usize][..3])
            }
            Chunk::Day => out.push_str(&z.day().to_string()),
            Chunk::UnderDay => out.push_str(&format!("{:>2}", z.day())),
            Chunk::ZeroDay => out.push_str(&format!("{:02}", z.day())),
            Chunk::YearDay => out.push_str(&format!("{:03}", z.day_of_year())),
            Chunk::UnderYearDay => out.push_str(&format!("{:>3}", z.day_of_year())),
            Chunk::Hour => out.push_str(&format!("{:02}", z.hour())),
            Chunk::Hour12 => out.push_str(&hour12(z.hour()).to_string()),
            Chunk::ZeroHour12 => out.push_str(&format!("{:02}", hour12(z.hour()))),
            Chunk::Minute => out.push_str(&z.minute().to_string()),
            Chunk::ZeroMinute => out.push_str(&format!("{:02}", z.minute())),
            Chunk::Second => out.push_str(&z.second().to_string()),
            Chunk::ZeroSecond => out.push_str(&format!("{:02}", z.second())),
            Chunk::LongYear => out.push_str(&format!("{:04}", z.year())),
            Chunk::Year => out.push_str(&format!("{:02}", z.year().rem_euclid(100))),
            Chunk::PM => out.push_str(if z.hour() >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => out.push_str(if z.hour() >= 12 { "pm" } else { "am" }),
            Chunk::TZ => {
                let abbr = z
                    .time_zone()
                    .to_offset_info(z.timestamp())
                    .abbreviation()
                    .to_string();
                if abbr.is_empty() || abbr.starts_with(['+', '-']) {
                    let secs = z.offset().seconds();
                    let sign = if secs < 0 { '-' } else { '+' };
                    let a = secs.unsigned_abs();
                    out.push_str(&format!("{sign}{:02}{:02}", a / 3600, a / 60 % 60));
                } else {
                    out.push_str(&abbr);
                }
            }
            Chunk::Offset(zulu, colon, secs_too, hours_only) => {
                let secs = z.offset().seconds();
                if zulu && secs == 0 {
                    out.push('Z');
                    continue;
                }
                let sign = if secs < 0 { '-' } else { '+' };
                let a = secs.unsigned_abs();
                let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
                out.push(sign);
                out.push_str(&format!("{h:02}"));
                if !hours_only {
                    if colon {
                        out.push(':');
                    }
                    out.push_str(&format!("{m:02}"));
                    if secs_too {
                        if colon {
                            out.push(':');
                        }
                        out.push_str(&format!("{s:02}"));
                    }
                }
            }
            Chunk::Frac(n, trim) => {
                let nanos = format!("{:09}", z.subsec_nanosecond());
                let mut digits = nanos[..n.min(9)].to_string();
                if trim {
                    while digits.ends_with('0') {
                        digits.pop();
                    }
                    if digits.is_empty() {
                        continue;
                    }
                }
                out.push('.');
                out.push_str(&digits);
            }
        }
    }
    out
}

/// Parses with a Go layout (in `tz` when the text carries no offset).
pub fn parse_go(layout: &str, text: &str, tz: &TimeZone) -> Result<Zoned, String> {
    let mut fmt = String::new();
    let mut has_offset = false;
    for c in parse_layout(layout) {
        match c {
            Chunk::Lit(s) => fmt.push_str(&s.replace('%', "%%")),
            Chunk::LongMonth => fmt.push_str("%B"),
            Chunk::Month => fmt.push_str("%b"),
            Chunk::NumMonth => fmt.push_str("%-m"),
            Chunk::ZeroMonth => fmt.push_str("%m"),
            Chunk::LongWeekDay => fmt.push_str("%A"),
            Chunk::WeekDay => fmt.push_str("%a"),
            Chunk::Day => fmt.push_str("%-d"),
            Chunk::UnderDay => fmt.push_str("%e"),
            Chunk::ZeroDay => fmt.push_str("%d"),
            Chunk::YearDay => fmt.push_str("%j"),
            Chunk::UnderYearDay => fmt.push_str("%_j"),
            Chunk::Hour => fmt.push_str("%H"),
            Chunk::Hour12 => fmt.push_str("%-I"),
            Chunk::ZeroHour12 => fmt.push_str("%I"),
            Chunk::Minute => fmt.push_str("%-M"),
            Chunk::ZeroMinute => fmt.push_str("%M"),
            Chunk::Second => fmt.push_str("%-S"),
            Chunk::ZeroSecond => fmt.push_str("%S"),
            Chunk::LongYear => fmt.push_str("%Y"),
            Chunk::Year => fmt.push_str("%y"),
            Chunk::PM | Chunk::Pm => fmt.push_str("%p"),
            Chunk::TZ => {
                return Err(format!(
                    "parsing time {text:?}: zone abbreviations are not supported"
                ));
            }
            Chunk::Offset(_, colon, _, _) => {
                has_offset = true;
                fmt.push_str(if colon { "%:z" } else { "%z" });
            }
            Chunk::Frac(..) => fmt.push_str("%.f"),
        }
    }
    let text_norm = if layout.contains("Z07") && text.contains('Z') {
        text.replace('Z', "+00:00")
    } else {
        text.to_string()
    };
    let parsed = jiff::fmt::strtime::parse(&fmt, &text_norm)
        .map_err(|e| format!("parsing time {text:?} as {layout:?}: {e}"))?;
    if has_offset {
        parsed
            .to_zoned()
            .map_err(|e| format!("parsing time {text:?} as {layout:?}: {e}"))
    } else {
        let dt = parsed
            .to_datetime()
            .map_err(|e| format!("parsing time {text:?} as {layout:?}: {e}"))?;
        dt.to_zoned(tz.clone())
            .map_err(|e| format!("parsing time {text:?} as {layout:?}: {e}"))
    }
}

/// Go's `time.ParseDuration`.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let orig = s;
    let err = || format!("time: invalid duration {:?}", orig);
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        if num_end == 0 {
            return Err(err());
        }
        let num: f64 = s[..num_end].parse().map_err(|_| err())?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {orig:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {orig:?}")),
        };
        total += num * mult;
    }
    let nanos = if neg { -total } else { total };
    Ok(SignedDuration::from_nanos(nanos as i64))
}

/// Go's `time.Duration.String()`.
pub fn duration_string(d: SignedDuration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u128)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_str(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let sub = u % 1_000_000_000;
        let h = secs_total / 3600;
        let m = secs_total / 60 % 60;
        let s = secs_total % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_str(s * 1_000_000_000 + sub, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac_str(v: u128, div: u128) -> String {
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let mut f = format!("{frac:0width$}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{int}.{f}")
}

fn local_tz() -> TimeZone {
    TimeZone::system()
}

fn load_zone(name: &str) -> TimeZone {
    match name {
        "" | "UTC" => TimeZone::UTC,
        "Local" => local_tz(),
        other => TimeZone::get(other).unwrap_or(TimeZone::UTC),
    }
}

/// Sprig's date argument: a time, or Unix seconds as an int; anything else is "now".
fn time_arg(v: &Value) -> Zoned {
    match v {
        Value::Object(o) => {
            if let Some(t) = o.as_any().downcast_ref::<GoTime>() {
                return t.0.clone();
            }
            Zoned::now()
        }
        Value::Int(i) => Timestamp::from_second(*i)
            .map(|t| t.to_zoned(local_tz()))
            .unwrap_or_else(|_| Zoned::now()),
        _ => Zoned::now(),
    }
}

fn time_param(v: &Value) -> Result<Zoned, FuncError> {
    match v {
        Value::Object(o) => match o.as_any().downcast_ref::<GoTime>() {
            Some(t) => Ok(t.0.clone()),
            None => Err(FuncError::Usage(format!(
                "wrong type for value; expected time.Time; got {}",
                o.type_name()
            ))),
        },
        other => Err(FuncError::Usage(format!(
            "wrong type for value; expected time.Time; got {}",
            other.type_name()
        ))),
    }
}

fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let t = time_arg(date).with_time_zone(load_zone(zone));
    format_go(&t, layout)
}

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "now", |n, a| {
        arity(n, a, 0)?;
        Ok(Value::object(GoTime(Zoned::now())))
    });
    reg1(m, "date", |n, a| {
        arity(n, a, 2)?;
        Ok(date_in_zone(s_arg(a, 0)?, &a[1], "Local").into())
    });
    for name in ["dateInZone", "date_in_zone"] {
        reg1(m, name, |n, a| {
            arity(n, a, 3)?;
            Ok(date_in_zone(s_arg(a, 0)?, &a[1], s_arg(a, 2)?).into())
        });
    }
    reg1(m, "htmlDate", |n, a| {
        arity(n, a, 1)?;
        Ok(date_in_zone("2006-01-02", &a[0], "Local").into())
    });
    reg1(m, "htmlDateInZone", |n, a| {
        arity(n, a, 2)?;
        Ok(date_in_zone("2006-01-02", &a[0], s_arg(a, 1)?).into())
    });
    for name in [
        "dateModify",
        "date_modify",
        "mustDateModify",
        "must_date_modify",
    ] {
        reg1(m, name, |n, a| {
            arity(n, a, 2)?;
            let t = time_param(&a[1])?;
            match parse_duration(s_arg(a, 0)?) {
                Ok(d) => Ok(Value::object(GoTime(
                    t.checked_add(d).map_err(FuncError::msg)?,
                ))),
                Err(e) if n.starts_with("must") => Err(FuncError::Message(e)),
                Err(_) => Ok(Value::object(GoTime(t))),
            }
        });
    }
    for name in ["toDate", "mustToDate"] {
        reg1(m, name, |n, a| {
            arity(n, a, 2)?;
            match parse_go(s_arg(a, 0)?, s_arg(a, 1)?, &local_tz()) {
                Ok(z) => Ok(Value::object(GoTime(z))),
                Err(e) if n == "mustToDate" => Err(FuncError::Message(e)),
                Err(_) => Ok(Value::object(GoTime(
                    Timestamp::from_second(-62_135_596_800)
                        .map(|t| t.to_zoned(TimeZone::UTC))
                        .unwrap_or_else(|_| Zoned::now()),
                ))),
            }
        });
    }
    reg1(m, "unixEpoch", |n, a| {
        arity(n, a, 1)?;
        Ok(time_param(&a[0])?
            .timestamp()
            .as_second()
            .to_string()
            .into())
    });
    reg1(m, "ago", |n, a| {
        arity(n, a, 1)?;
        let t = time_arg(&a[0]);
        let d = Zoned::now().timestamp().duration_since(t.timestamp());
        let secs = d.as_secs_f64().round();
        Ok(duration_string(SignedDuration::from_secs(secs as i64)).into())
    });
    reg1(m, "duration", |n, a| {
        arity(n, a, 1)?;
        let secs = to_int64(&a[0]);
        Ok(duration_string(SignedDuration::from_secs(secs)).into())
    });
    reg1(m, "durationRound", |n, a| {
        arity(n, a, 1)?;
        let nanos: i128 = match &a[0] {
            Value::String(s) => parse_duration(s).map(|d| d.as_nanos()).unwrap_or(0),
            Value::Int(i) => i128::from(*i),
            Value::Object(o) => match o.as_any().downcast_ref::<GoTime>() {
                Some(t) => Zoned::now()
                    .timestamp()
                    .duration_since(t.0.timestamp())
                    .as_nanos(),
                None => 0,
            },
            _ => 0,
        };
        let u = nanos.unsigned_abs();
        let hour: u128 = 3_600_000_000_000;
        let units: [(u128, &str); 6] = [
            (hour * 24 * 365, "y"),
            (hour * 24 * 30, "mo"),
            (hour * 24, "d"),
            (hour, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
        ];
        for (size, suffix) in units {
            if u > size {
                return Ok(format!("{}{suffix}", u / size).into());
            }
        }
        Ok("0s".into())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts() {
        let z = Timestamp::from_second(1_136_239_445)
            .map(|t| t.to_zoned(TimeZone::fixed(jiff::tz::offset(-7))))
            .unwrap_or_else(|_| Zoned::now());
        assert_eq!(
            format_go(&z, "2006-01-02T15:04:05Z07:00"),
            "2006-01-02T15:04:05-07:00"
        );
        assert_eq!(
            format_go(&z, "Mon Jan _2 3:04PM 2006"),
            "Mon Jan  2 3:04PM 2006"
        );
        assert_eq!(format_go(&z, "02/01/06 .000"), "02/01/06 .000");
        let u = z.with_time_zone(TimeZone::UTC);
        assert_eq!(
            format_go(&u, "2006-01-02T15:04:05Z07:00"),
            "2006-01-02T22:04:05Z"
        );
        let p = parse_go("2006-01-02", "2024-03-05", &TimeZone::UTC);
        assert_eq!(
            p.map(|z| format_go(&z, "Jan 2, 2006")).unwrap_or_default(),
            "Mar 5, 2024"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(duration_string(SignedDuration::from_secs(3723)), "1h2m3s");
        assert_eq!(duration_string(SignedDuration::from_secs(60)), "1m0s");
        assert_eq!(duration_string(SignedDuration::ZERO), "0s");
        assert_eq!(
            parse_duration("1h30m").map(|d| d.as_secs()).unwrap_or(0),
            5400
        );
        assert_eq!(duration_string(SignedDuration::from_millis(1500)), "1.5s");
    }
}
