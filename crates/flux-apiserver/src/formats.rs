//! OpenAPI `format` checks for strings of custom resources, as the Kubernetes 1.33
//! apiserver enforces them: the formats its CRD schemas support (`bsonobjectid`, `uri`,
//! `email`, `hostname`, `ipv4`, `ipv6`, `cidr`, `mac`, `uuid`, `uuid3`, `uuid4`, `uuid5`,
//! `isbn`, `isbn10`, `isbn13`, `creditcard`, `ssn`, `hexcolor`, `rgbcolor`, `byte`,
//! `password`, `date`, `duration`, `date-time`). Other formats (`int32`, `k8s-short-name`,
//! anything unknown) are ignored, as upstream ignores formats it does not support.
//!
//! Written from the behaviour of go-openapi's `strfmt` registry and govalidator (which
//! the apiserver uses); the checks are re-implemented, not copied.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

/// Does `value` satisfy `format`? `None` when the format is not one the apiserver checks.
pub fn check(format: &str, value: &str) -> Option<bool> {
    let normalized: String = format
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let ok = match normalized.as_str() {
        "bsonobjectid" => value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "uri" => is_request_uri(value),
        "email" => is_email(value),
        "hostname" => is_hostname(value),
        "ipv4" => value.contains('.') && parse_go_ip(value).is_some(),
        "ipv6" => value.contains(':') && parse_go_ip(value).is_some(),
        "cidr" => is_cidr(value),
        "mac" => is_mac(value),
        "uuid" => matches(&UUID, value),
        "uuid3" => matches(&UUID3, value),
        "uuid4" => matches(&UUID4, value),
        "uuid5" => matches(&UUID5, value),
        "isbn" => is_isbn10(value) || is_isbn13(value),
        "isbn10" => is_isbn10(value),
        "isbn13" => is_isbn13(value),
        "creditcard" => is_credit_card(value),
        "ssn" => matches(&SSN, value),
        "hexcolor" => matches(&HEXCOLOR, value),
        "rgbcolor" => matches(&RGBCOLOR, value),
        "byte" => matches(&BASE64, value),
        "password" => true,
        "date" => is_date(value),
        "duration" => is_duration(value),
        "datetime" => is_date_time(value),
        _ => return None,
    };
    Some(ok)
}

fn regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

fn matches(re: &LazyLock<Option<Regex>>, value: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(value))
}

static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID3: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"^[a-zA-Z](([-0-9a-zA-Z]+)?[0-9a-zA-Z])?(\.[a-zA-Z](([-0-9a-zA-Z]+)?[0-9a-zA-Z])?)*$")
});
static SSN: LazyLock<Option<Regex>> = LazyLock::new(|| regex(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$"));
static HEXCOLOR: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGBCOLOR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let c = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*";
    regex(&format!(r"^rgb\({c},{c},{c}\)$"))
});
static BASE64: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
});
static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$",
    )
});

/// Go's `net.ParseIP`: dotted IPv4 (no leading zeros), IPv6 incl. an embedded IPv4.
fn parse_go_ip(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Some(addr) = parse_go_ip(ip) else {
        return false;
    };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return false;
    }
    let Ok(bits) = prefix.parse::<u8>() else {
        return false;
    };
    match addr {
        IpAddr::V4(_) => bits <= 32,
        IpAddr::V6(_) => bits <= 128,
    }
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets, as `aa:bb:…`, `aa-bb-…` or `aabb.ccdd.…`.
fn is_mac(s: &str) -> bool {
    let hex_group =
        |g: &str, len: usize| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit());
    for sep in [':', '-'] {
        if s.contains(sep) {
            let groups: Vec<&str> = s.split(sep).collect();
            return matches!(groups.len(), 6 | 8 | 20) && groups.iter().all(|g| hex_group(g, 2));
        }
    }
    if s.contains('.') {
        let groups: Vec<&str> = s.split('.').collect();
        return matches!(groups.len(), 3 | 4 | 10) && groups.iter().all(|g| hex_group(g, 4));
    }
    false
}

/// Go's `url.ParseRequestURI`: an absolute URI (with a scheme) or an absolute path.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    if s.starts_with('/') {
        return true;
    }
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && url::Url::parse(s).is_ok()
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    local.len() <= 64 && domain.len() <= 255 && matches(&EMAIL, s)
}

fn is_hostname(s: &str) -> bool {
    matches(&HOSTNAME, s) && s.len() <= 255 && s.split('.').all(|label| label.len() <= 63)
}

fn isbn_digits(s: &str) -> String {
    s.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

fn is_isbn10(s: &str) -> bool {
    let d = isbn_digits(s);
    let bytes = d.as_bytes();
    if bytes.len() != 10 || !bytes[..9].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = match bytes[9] {
        b'X' => 10,
        b if b.is_ascii_digit() => u32::from(b - b'0'),
        _ => return false,
    };
    let sum: u32 = bytes[..9]
        .iter()
        .zip(1u32..)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum::<u32>()
        + last * 10;
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let d = isbn_digits(s);
    if d.len() != 13 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    sum.is_multiple_of(10)
}

fn is_credit_card(s: &str) -> bool {
    let digits: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if !(13..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

fn two_digits(s: &str) -> Option<u32> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn valid_ymd(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Ok(year), Some(month), Some(day)) = (y.parse::<u32>(), two_digits(m), two_digits(d))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn is_date(s: &str) -> bool {
    valid_ymd(s)
}

/// strfmt's date-time layouts: RFC 3339 (with or without fractions, `Z` or an offset
/// with or without a colon), a local time without an offset, and minute precision.
fn is_date_time(s: &str) -> bool {
    let Some((date, rest)) = s.split_once('T') else {
        return false;
    };
    if !valid_ymd(date) {
        return false;
    }
    // Split off the zone.
    let (time, zone) = match rest.find(['Z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let zone_ok = match zone {
        "" | "Z" => true,
        z => {
            let digits = &z[1..];
            let (h, m) = match digits.split_once(':') {
                Some((h, m)) => (h, m),
                None if digits.len() == 4 => digits.split_at(2),
                None => return false,
            };
            two_digits(h).is_some_and(|h| h < 24) && two_digits(m).is_some_and(|m| m < 60)
        }
    };
    if !zone_ok {
        return false;
    }
    let (hms, fraction) = match time.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (time, None),
    };
    if let Some(f) = fraction
        && (f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m] if fraction.is_none() => (*h, *m, "00"),
        [h, m, s] => (*h, *m, *s),
        _ => return false,
    };
    two_digits(h).is_some_and(|h| h < 24)
        && two_digits(m).is_some_and(|m| m < 60)
        && two_digits(sec).is_some_and(|s| s < 60)
}

/// strfmt's duration: Go's `time.ParseDuration` syntax, or one number with a unit word
/// (`3 days`, `1w`, `2 hours`).
fn is_duration(s: &str) -> bool {
    is_go_duration(s) || is_worded_duration(s)
}

fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !matches!(
            &rest[..unit_len],
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"
        ) {
            return false;
        }
        rest = &rest[unit_len..];
    }
    true
}

fn is_worded_duration(s: &str) -> bool {
    let t = s.trim();
    let num_len = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if num_len == 0 {
        return false;
    }
    let unit = t[num_len..].trim();
    matches!(
        unit,
        "ns" | "nanosecond"
            | "nanoseconds"
            | "us"
            | "µs"
            | "microsecond"
            | "microseconds"
            | "ms"
            | "millisecond"
            | "milliseconds"
            | "s"
            | "sec"
            | "secs"
            | "second"
            | "seconds"
            | "m"
            | "min"
            | "mins"
            | "minute"
            | "minutes"
            | "h"
            | "hr"
            | "hrs"
            | "hour"
            | "hours"
            | "d"
            | "day"
            | "days"
            | "w"
            | "wk"
            | "wks"
            | "week"
            | "weeks"
    )
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepted_and_refused_values() {
        let cases: &[(&str, &str, bool)] = &[
            ("date-time", "2024-05-01T10:00:00Z", true),
            ("date-time", "2024-05-01T10:00:00.123456+02:00", true),
            ("date-time", "2024-05-01T10:00:00", true),
            ("date-time", "2024-02-30T10:00:00Z", false),
            ("date-time", "yesterday", false),
            ("date-time", "2024-05-01", false),
            ("date", "2024-02-29", true),
            ("date", "2023-02-29", false),
            ("date", "2024-5-1", false),
            ("duration", "1h30m", true),
            ("duration", "3 days", true),
            ("duration", "1.5s", true),
            ("duration", "soon", false),
            ("uri", "https://example.com/a?b=c", true),
            ("uri", "/just/a/path", true),
            ("uri", "relative/path", false),
            ("uri", "", false),
            ("email", "a.b@example.com", true),
            ("email", "not-an-email", false),
            ("hostname", "my-host.example", true),
            ("hostname", "-bad", false),
            ("ipv4", "10.0.0.1", true),
            ("ipv4", "10.0.0.256", false),
            ("ipv4", "::1", false),
            ("ipv6", "fe80::1", true),
            ("ipv6", "10.0.0.1", false),
            ("cidr", "10.0.0.0/8", true),
            ("cidr", "10.0.0.0/33", false),
            ("cidr", "fd00::/64", true),
            ("mac", "00:00:5e:00:53:01", true),
            ("mac", "0000.5e00.5301", true),
            ("mac", "00:00:5e", false),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", true),
            ("uuid", "123e4567", false),
            ("uuid4", "123e4567-e89b-42d3-a456-426614174000", true),
            ("uuid4", "123e4567-e89b-12d3-a456-426614174000", false),
            ("byte", "aGVsbG8=", true),
            ("byte", "not base64!", false),
            ("bsonobjectid", "507f1f77bcf86cd799439011", true),
            ("bsonobjectid", "507f1f77", false),
            ("isbn10", "0-306-40615-2", true),
            ("isbn13", "978-0-306-40615-7", true),
            ("isbn", "978-0-306-40615-8", false),
            ("creditcard", "4111 1111 1111 1111", true),
            ("creditcard", "4111 1111 1111 1112", false),
            ("ssn", "123-45-6789", true),
            ("hexcolor", "#ff00aa", true),
            ("hexcolor", "ff00a", false),
            ("rgbcolor", "rgb(255, 0, 10)", true),
            ("rgbcolor", "rgb(256,0,0)", false),
            ("password", "anything", true),
        ];
        for (format, value, want) in cases {
            assert_eq!(check(format, value), Some(*want), "{format} {value:?}");
        }
    }

    #[test]
    fn unsupported_formats_are_not_checked() {
        assert_eq!(check("int32", "x"), None);
        assert_eq!(check("k8s-short-name", "Not_Valid"), None);
        assert_eq!(check("whatever", "x"), None);
    }
}
