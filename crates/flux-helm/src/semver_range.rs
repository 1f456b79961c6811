//! Versions and version constraints with the grammar of Masterminds/semver v3 (what Helm
//! uses for `kubeVersion` and dependency `version` ranges). The parser is gotemplate's
//! (`semverCompare` needs the same grammar); this module only adapts it to chart checks.

pub use gotemplate::sprig::semver::{Constraints, Version};

/// Whether `version` satisfies `constraint`; unparsable input never matches.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Constraints::parse(constraint), Version::parse(version)) {
        (Ok(c), Ok(v)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_as_masterminds() {
        let cases = [
            (">=1.25.0-0", "1.33.0", true),
            (">=1.25.0-0", "v1.33.0", true),
            (">=1.25.0", "1.24.9", false),
            (">=1.19.0-0", "v1.20.0", true),
            ("1.42.*", "1.42.0", true),
            ("1.42.*", "1.43.0", false),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            (">=1.2, <2", "1.5.0", true),
            (">=1.2 <2", "2.0.0", false),
            ("<1.0 || >=3", "3.1.0", true),
            ("1.2 - 1.4", "1.4.0", true),
            ("1.2 - 1.4", "1.5.0", false),
            ("*", "9.9.9", true),
            (">=1.0.0", "1.2.0-rc.1", false),
            ("!=1.2.3", "1.2.4", true),
            ("=1.2.3", "1.2.3", true),
        ];
        for (c, v, want) in cases {
            assert_eq!(is_compatible_range(c, v), want, "{c} vs {v}");
        }
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(Constraints::parse(">=").is_err());
        assert!(Constraints::parse("foo").is_err());
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("").is_err());
        assert!(!is_compatible_range(">=1", "abc"));
    }
}
