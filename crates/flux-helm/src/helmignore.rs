//! `.helmignore` rules with Helm's semantics (including its quirk that a
//! negated rule which does not match ignores the path).

use crate::path_match::{go_path_match, validate_go_pattern};

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    anchored: bool,
    has_slash: bool,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parses the text of a `.helmignore` file.
    pub fn parse(text: &str) -> Result<IgnoreRules, String> {
        let mut r = IgnoreRules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            r.add_rule(line)?;
        }
        Ok(r)
    }

    /// Adds Helm's default rule: dotfiles in `templates/`.
    pub fn add_defaults(&mut self) {
        // Cannot fail: the pattern is well formed.
        let _ = self.add_rule("templates/.?*");
    }

    fn add_rule(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        if !validate_go_pattern(rule) {
            return Err("syntax error in pattern".into());
        }
        let mut p = rule;
        let negate = p.starts_with('!');
        if negate {
            p = &p[1..];
        }
        let must_dir = p.ends_with('/');
        if must_dir {
            p = &p[..p.len() - 1];
        }
        let anchored = p.starts_with('/');
        let pattern = p.trim_start_matches('/').to_string();
        self.rules.push(Rule {
            has_slash: pattern.contains('/') || anchored,
            pattern,
            negate,
            must_dir,
            anchored,
        });
        Ok(())
    }

    fn rule_matches(rule: &Rule, path: &str) -> bool {
        if rule.anchored || rule.has_slash {
            go_path_match(&rule.pattern, path)
        } else {
            let base = path.rsplit('/').next().unwrap_or(path);
            go_path_match(&rule.pattern, base)
        }
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            if rule.negate {
                if rule.must_dir && !is_dir {
                    return true;
                }
                if !Self::rule_matches(rule, path) {
                    return true;
                }
                continue;
            }
            if rule.must_dir && !is_dir {
                continue;
            }
            if Self::rule_matches(rule, path) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_like_helm() {
        let mut r =
            IgnoreRules::parse("# comment\n*.tgz\n.git/\n/top.txt\ndocs/*.md\n").expect("parses");
        r.add_defaults();
        assert!(r.ignore("charts/a.tgz", false));
        assert!(r.ignore(".git", true));
        assert!(!r.ignore(".git", false));
        assert!(r.ignore("top.txt", false));
        assert!(!r.ignore("sub/top.txt", false));
        assert!(r.ignore("docs/a.md", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/a.yaml", false));
    }

    #[test]
    fn double_star_is_rejected() {
        assert!(IgnoreRules::parse("a/**/b\n").is_err());
    }
}
