//! Go duration strings (`metav1.Duration`) as Flux's CRDs accept them.
//!
//! Flux restricts durations with a pattern: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$` for
//! intervals and most timeouts, and the same without `h` for source timeouts. Both newtypes
//! keep the text the user wrote (so objects round-trip unchanged) and validate it on
//! deserialisation.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The pattern of interval-like durations (units `ms`, `s`, `m`, `h`).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// The pattern of source timeouts (units `ms`, `s`, `m`; no hours).
pub const TIMEOUT_DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text does not match the CRD pattern.
    #[error("invalid duration {text:?}: must match {pattern} (e.g. 30s, 5m, 1h30m)")]
    Pattern {
        /// The rejected text.
        text: String,
        /// The pattern it had to match.
        pattern: &'static str,
    },
    /// The value does not fit in a `std::time::Duration`.
    #[error("invalid duration {0:?}: out of range")]
    Overflow(String),
}

/// Parses `text` as a sequence of `<number><unit>` groups with the given units.
/// Returns the total in nanoseconds.
fn parse_groups(text: &str, allow_hours: bool) -> Option<u128> {
    if text.is_empty() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let int_part: u128 = text[start..i].parse().ok()?;
        let mut frac_num: u128 = 0;
        let mut frac_den: u128 = 1;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let fstart = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Digits beyond nanosecond precision of hours are irrelevant; cap the scale.
                if frac_den < 10u128.pow(18) {
                    frac_num = frac_num * 10 + u128::from(bytes[i] - b'0');
                    frac_den *= 10;
                }
                i += 1;
            }
            if i == fstart {
                return None;
            }
        }
        let rest = &text[i..];
        let (unit_ns, unit_len): (u128, usize) = if rest.starts_with("ms") {
            (1_000_000, 2)
        } else if rest.starts_with('s') {
            (1_000_000_000, 1)
        } else if rest.starts_with('m') {
            (60_000_000_000, 1)
        } else if allow_hours && rest.starts_with('h') {
            (3_600_000_000_000, 1)
        } else {
            return None;
        };
        i += unit_len;
        total = total.checked_add(int_part.checked_mul(unit_ns)?)?;
        total = total.checked_add(frac_num.checked_mul(unit_ns)? / frac_den)?;
    }
    Some(total)
}

fn to_std(nanos: u128, text: &str) -> Result<std::time::Duration, DurationError> {
    let secs =
        u64::try_from(nanos / 1_000_000_000).map_err(|_| DurationError::Overflow(text.into()))?;
    // The remainder is below 1e9, so it always fits in u32.
    let sub =
        u32::try_from(nanos % 1_000_000_000).map_err(|_| DurationError::Overflow(text.into()))?;
    Ok(std::time::Duration::new(secs, sub))
}

/// Formats a duration the way Go's `time.Duration.String()` does (`1h30m0s`, `1.5s`, `250ms`).
pub fn format_go_duration(d: std::time::Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        // Go prints sub-second durations with the largest fitting unit.
        let (unit, div) = if nanos < 1_000 {
            ("ns", 1u128)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", format_fraction(nanos, div));
    }
    let total_secs = nanos / 1_000_000_000;
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let secs_nanos = nanos - (hours * 3600 + minutes * 60) * 1_000_000_000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", format_fraction(secs_nanos, 1_000_000_000)));
    out
}

/// `value / div` printed with the shortest exact decimal fraction.
fn format_fraction(value: u128, div: u128) -> String {
    let int = value / div;
    let mut frac = value % div;
    if frac == 0 {
        return int.to_string();
    }
    let mut digits = String::new();
    let mut d = div;
    while frac > 0 && d > 1 {
        d /= 10;
        digits.push(char::from(b'0' + u8::try_from(frac / d).unwrap_or(0)));
        frac %= d;
    }
    format!("{int}.{digits}")
}

macro_rules! go_duration_type {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $hours:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The CRD pattern this type enforces.
            pub const PATTERN: &'static str = $pattern;

            /// Validates `text` against the CRD pattern.
            pub fn parse(text: &str) -> Result<Self, DurationError> {
                match parse_groups(text, $hours) {
                    Some(nanos) => {
                        to_std(nanos, text)?;
                        Ok(Self(text.to_string()))
                    }
                    None => Err(DurationError::Pattern { text: text.to_string(), pattern: $pattern }),
                }
            }

            /// Builds the Go spelling of `d` (e.g. `1h0m0s`). Fails only for sub-millisecond
            /// precision or, for the no-hours variant, never (hours are folded into minutes).
            pub fn from_std(d: std::time::Duration) -> Result<Self, DurationError> {
                let text = if $hours {
                    format_go_duration(d)
                } else {
                    let mins = d.as_secs() / 60;
                    let rest = d - std::time::Duration::from_secs(mins * 60);
                    if mins > 0 {
                        format!("{mins}m{}", format_go_duration(rest))
                    } else {
                        format_go_duration(rest)
                    }
                };
                Self::parse(&text)
            }

            /// The text as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The duration value.
            pub fn to_std(&self) -> std::time::Duration {
                // Validated on construction, so the parse cannot fail here.
                parse_groups(&self.0, $hours)
                    .and_then(|n| to_std(n, &self.0).ok())
                    .unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DurationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": $pattern })
            }
        }
    };
}

go_duration_type!(
    /// An interval-like Go duration: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`.
    GoDuration,
    DURATION_PATTERN,
    true
);

go_duration_type!(
    /// A source timeout: a Go duration without hours, `^([0-9]+(\.[0-9]+)?(ms|s|m))+$`.
    TimeoutDuration,
    TIMEOUT_DURATION_PATTERN,
    false
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    #[test]
    fn parses_valid_durations() {
        let cases = [
            ("1m", Std::from_secs(60)),
            ("1h30m", Std::from_secs(5400)),
            ("1.5h", Std::from_secs(5400)),
            ("250ms", Std::from_millis(250)),
            ("10m0s", Std::from_secs(600)),
            ("0.5s", Std::from_millis(500)),
        ];
        for (text, want) in cases {
            let d = GoDuration::parse(text).map_err(|e| e.to_string());
            assert_eq!(d.map(|d| d.to_std()), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_invalid_durations() {
        for text in [
            "",
            "5",
            "5 minutes",
            "1d",
            "-1m",
            "1.m",
            "m",
            "1h 30m",
            "1us",
        ] {
            assert!(
                GoDuration::parse(text).is_err(),
                "{text} should be rejected"
            );
        }
        assert!(TimeoutDuration::parse("1h").is_err());
        assert!(TimeoutDuration::parse("90m").is_ok());
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_go_duration(Std::from_secs(5400)), "1h30m0s");
        assert_eq!(format_go_duration(Std::from_secs(60)), "1m0s");
        assert_eq!(format_go_duration(Std::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Std::from_millis(250)), "250ms");
        assert_eq!(format_go_duration(Std::ZERO), "0s");
        assert_eq!(
            TimeoutDuration::from_std(Std::from_secs(7200)).map(|d| d.to_string()),
            Ok("120m0s".to_string())
        );
    }
}
