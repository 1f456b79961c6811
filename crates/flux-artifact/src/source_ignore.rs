//! `.sourceignore` and `spec.ignore` rules, with Flux's matcher semantics.
//!
//! Flux uses go-git's gitignore matcher (vendored in fluxcd/pkg `sourceignore/gitignore`),
//! which differs from git in ways that change results, so it is reproduced here rather than
//! delegated to a git-exact matcher:
//! - every pattern has a *domain* (the directory, relative to the root, whose ignore file
//!   declared it) and only applies below it;
//! - patterns are tried from the last to the first; the first one that matches the path
//!   decides (exclude, or include for `!`), so a later `!x` re-includes `x` even inside an
//!   excluded directory;
//! - a pattern without `/` matches any path component (so `dir/` also matches everything
//!   below `dir`); a pattern with `/` is anchored at its domain and matches a prefix of the
//!   path (so `a/b` also matches `a/b/c`); `**` spans directories;
//! - components are matched with Go's `filepath.Match`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::go_glob::ShellPattern;

/// The ignore file name looked up in every directory.
pub const IGNORE_FILE: &str = ".sourceignore";
/// Version-control entries, always excluded.
pub const EXCLUDE_VCS: &str = ".git/,.gitignore,.gitmodules,.gitattributes";
/// Default excluded file extensions.
pub const EXCLUDE_EXT: &str = "*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip";
/// Default excluded CI configuration.
pub const EXCLUDE_CI: &str = ".github/,.circleci/,.travis.yml,.gitlab-ci.yml,appveyor.yml,.drone.yml,cloudbuild.yaml,codeship-services.yml,codeship-steps.yml";
/// Default excluded tool configuration.
pub const EXCLUDE_EXTRA: &str = "**/.goreleaser.yml,**/.sops.yaml,**/.flux.yaml";

/// Errors loading ignore files.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// An ignore file exists but could not be read.
    #[error("reading ignore file {path}")]
    ReadIgnoreFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A directory could not be listed while looking for ignore files.
    #[error("listing directory {path} for ignore files")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Outcome of one pattern against one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchResult {
    /// The pattern does not apply.
    NoMatch,
    /// The path is excluded.
    Exclude,
    /// The path is re-included (`!pattern`).
    Include,
}

/// One parsed gitignore pattern with its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnorePattern {
    domain: Vec<String>,
    segments: Vec<ShellPattern>,
    inclusion: bool,
    dir_only: bool,
    is_glob: bool,
}

impl IgnorePattern {
    /// Parses one pattern line declared in `domain` (path components relative to the root).
    pub fn parse(line: &str, domain: &[String]) -> Self {
        let mut p = line;
        let mut inclusion = false;
        if let Some(rest) = p.strip_prefix('!') {
            inclusion = true;
            p = rest;
        }
        if !p.ends_with("\\ ") {
            p = p.trim_end_matches(' ');
        }
        let mut dir_only = false;
        if let Some(rest) = p.strip_suffix('/') {
            dir_only = true;
            p = rest;
        }
        let is_glob = p.contains('/');
        IgnorePattern {
            domain: domain.to_vec(),
            segments: p.split('/').map(ShellPattern::new).collect(),
            inclusion,
            dir_only,
            is_glob,
        }
    }

    /// Matches a path given as components relative to the root.
    pub fn matches(&self, path: &[&str], is_dir: bool) -> MatchResult {
        if path.len() <= self.domain.len() {
            return MatchResult::NoMatch;
        }
        if self.domain.iter().zip(path).any(|(d, p)| d != p) {
            return MatchResult::NoMatch;
        }
        let rest = &path[self.domain.len()..];
        let hit = if self.is_glob {
            self.glob_match(rest, is_dir)
        } else {
            self.simple_name_match(rest, is_dir)
        };
        match (hit, self.inclusion) {
            (false, _) => MatchResult::NoMatch,
            (true, true) => MatchResult::Include,
            (true, false) => MatchResult::Exclude,
        }
    }

    fn simple_name_match(&self, path: &[&str], is_dir: bool) -> bool {
        let Some(first) = self.segments.first() else {
            return false;
        };
        for (i, name) in path.iter().enumerate() {
            match first.matches(name) {
                None => return false,
                Some(false) => continue,
                Some(true) => {}
            }
            if self.dir_only && !is_dir && i == path.len() - 1 {
                return false;
            }
            return true;
        }
        false
    }

    fn glob_match(&self, mut path: &[&str], is_dir: bool) -> bool {
        let mut matched = false;
        let mut can_traverse = false;
        for (i, compiled) in self.segments.iter().enumerate() {
            let segment = compiled.as_str();
            if segment.is_empty() {
                can_traverse = false;
                continue;
            }
            if segment == "**" {
                if i == self.segments.len() - 1 {
                    break;
                }
                can_traverse = true;
                continue;
            }
            if segment.contains("**") {
                return false;
            }
            if path.is_empty() {
                return false;
            }
            if can_traverse {
                can_traverse = false;
                while let Some((first, rest)) = path.split_first() {
                    path = rest;
                    match compiled.matches(first) {
                        None => return false,
                        Some(true) => {
                            matched = true;
                            break;
                        }
                        Some(false) => {
                            if path.is_empty() {
                                matched = false;
                            }
                        }
                    }
                }
            } else {
                match compiled.matches(path[0]) {
                    Some(true) => {}
                    _ => return false,
                }
                matched = true;
                path = &path[1..];
            }
        }
        if matched && self.dir_only && !is_dir && path.is_empty() {
            matched = false;
        }
        matched
    }
}

/// Patterns in increasing priority; the last matching one decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreMatcher {
    patterns: Vec<IgnorePattern>,
}

impl IgnoreMatcher {
    /// A matcher over patterns given in increasing priority.
    pub fn new(patterns: Vec<IgnorePattern>) -> Self {
        IgnoreMatcher { patterns }
    }

    /// Upstream's `NewDefaultMatcher`: VCS and default exclusions first (lowest
    /// priority), then `patterns`.
    pub fn with_defaults(patterns: Vec<IgnorePattern>, domain: &[String]) -> Self {
        let mut all = vcs_patterns(domain);
        all.extend(default_patterns(domain));
        all.extend(patterns);
        IgnoreMatcher { patterns: all }
    }

    /// Upstream's `SourceIgnoreFilter` (pkg/artifact): with no user patterns, VCS and
    /// default exclusions; with any user pattern (from any `.sourceignore` or
    /// `spec.ignore`), VCS exclusions plus the user patterns only: the defaults are dropped.
    pub fn source_ignore_filter(user_patterns: Vec<IgnorePattern>) -> Self {
        if user_patterns.is_empty() {
            return IgnoreMatcher::with_defaults(Vec::new(), &[]);
        }
        let mut all = vcs_patterns(&[]);
        all.extend(user_patterns);
        IgnoreMatcher { patterns: all }
    }

    /// The matcher GitRepository and OCIRepository archive with: every `.sourceignore`
    /// under `dir` (root first, each scoped to its directory), then `spec.ignore`, combined
    /// by [`IgnoreMatcher::source_ignore_filter`].
    pub fn for_source_dir(dir: &Path, spec_ignore: Option<&str>) -> Result<Self, IgnoreError> {
        let mut ps = load_ignore_patterns(dir, &[])?;
        if let Some(text) = spec_ignore {
            ps.extend(read_patterns(text, &[]));
        }
        Ok(IgnoreMatcher::source_ignore_filter(ps))
    }

    /// The matcher Bucket uses: the bucket's root `.sourceignore` object and `spec.ignore`,
    /// with no VCS or default exclusions.
    pub fn for_bucket(sourceignore: Option<&str>, spec_ignore: Option<&str>) -> Self {
        let mut ps = sourceignore
            .map(|t| read_patterns(t, &[]))
            .unwrap_or_default();
        if let Some(text) = spec_ignore {
            ps.extend(read_patterns(text, &[]));
        }
        IgnoreMatcher::new(ps)
    }

    /// The patterns, lowest priority first.
    pub fn patterns(&self) -> &[IgnorePattern] {
        &self.patterns
    }

    /// Whether the path (components relative to the root) is excluded.
    pub fn is_excluded(&self, path: &[&str], is_dir: bool) -> bool {
        for p in self.patterns.iter().rev() {
            match p.matches(path, is_dir) {
                MatchResult::NoMatch => continue,
                MatchResult::Exclude => return true,
                MatchResult::Include => return false,
            }
        }
        false
    }

    /// Whether a `/`-separated relative path is excluded.
    pub fn is_excluded_path(&self, rel_path: &str, is_dir: bool) -> bool {
        let parts: Vec<&str> = rel_path.split('/').filter(|s| !s.is_empty()).collect();
        self.is_excluded(&parts, is_dir)
    }
}

fn patterns_from_list(list: &str, domain: &[String]) -> Vec<IgnorePattern> {
    list.split(',')
        .map(|p| IgnorePattern::parse(p, domain))
        .collect()
}

/// [`EXCLUDE_VCS`] as patterns.
pub fn vcs_patterns(domain: &[String]) -> Vec<IgnorePattern> {
    patterns_from_list(EXCLUDE_VCS, domain)
}

/// [`EXCLUDE_EXT`], [`EXCLUDE_CI`] and [`EXCLUDE_EXTRA`] as patterns.
pub fn default_patterns(domain: &[String]) -> Vec<IgnorePattern> {
    [EXCLUDE_EXT, EXCLUDE_CI, EXCLUDE_EXTRA]
        .into_iter()
        .flat_map(|l| patterns_from_list(l, domain))
        .collect()
}

/// Parses ignore-file text: one pattern per line; lines starting with `#` and blank
/// lines are dropped; a trailing `\r` is removed.
pub fn read_patterns(text: &str, domain: &[String]) -> Vec<IgnorePattern> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| IgnorePattern::parse(l, domain))
        .collect()
}

/// Reads one ignore file; a missing file gives no patterns.
pub fn read_ignore_file(path: &Path, domain: &[String]) -> Result<Vec<IgnorePattern>, IgnoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(read_patterns(&String::from_utf8_lossy(&bytes), domain)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(IgnoreError::ReadIgnoreFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Upstream's `LoadIgnorePatterns`: the `.sourceignore` of `dir`, then those of its
/// subdirectories recursively (sorted by name, `.git` skipped, symlinks not followed),
/// each scoped to its own directory.
pub fn load_ignore_patterns(
    dir: &Path,
    domain: &[String],
) -> Result<Vec<IgnorePattern>, IgnoreError> {
    let mut ps = read_ignore_file(&dir.join(IGNORE_FILE), domain)?;
    let read_dir_err = |source| IgnoreError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut subdirs = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir_err)? {
        let entry = entry.map_err(read_dir_err)?;
        let file_type = entry.file_type().map_err(read_dir_err)?;
        let name = entry.file_name();
        if file_type.is_dir() && name != ".git" {
            subdirs.push(name);
        }
    }
    subdirs.sort();
    for name in subdirs {
        let mut sub_domain = domain.to_vec();
        sub_domain.push(name.to_string_lossy().into_owned());
        ps.extend(load_ignore_patterns(&dir.join(&name), &sub_domain)?);
    }
    Ok(ps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(lines: &str) -> IgnoreMatcher {
        IgnoreMatcher::new(read_patterns(lines, &[]))
    }

    #[test]
    fn go_git_semantics() {
        let cases: &[(&str, &str, bool, bool)] = &[
            // (patterns, path, is_dir, excluded)
            ("*.txt", "a.txt", false, true),
            ("*.txt", "d/a.txt", false, true),
            ("dir/", "dir", true, true),
            ("dir/", "dir", false, false),
            ("dir/", "dir/file", false, true),
            ("dir/", "x/dir/file", false, true),
            ("/a", "a", false, true),
            ("/a", "b/a", false, false),
            ("a/b", "a/b", false, true),
            ("a/b", "a/b/c", false, true),
            ("a/b", "x/a/b", false, false),
            ("**/c", "a/b/c", false, true),
            ("**/c", "c", false, true),
            ("a/**/c", "a/x/y/c", false, true),
            ("a/**", "a/x", false, true),
            ("dir/\n!dir/keep", "dir/keep", false, false),
            ("dir/\n!dir/keep", "dir/other", false, true),
            ("!keep\ndir/", "dir/keep", false, true),
            ("*.yaml\n!important.yaml", "important.yaml", false, false),
            ("#comment\n\n  \n", "#comment", false, false),
            ("trailing   ", "trailing", false, true),
        ];
        for (patterns, path, is_dir, want) in cases {
            assert_eq!(
                m(patterns).is_excluded_path(path, *is_dir),
                *want,
                "{patterns:?} on {path:?} (dir: {is_dir})"
            );
        }
    }

    /// Pattern-level behaviours of the go-git matcher Flux vendors (domain, anchoring,
    /// `**`, dir-only, magic characters, malformed patterns).
    #[test]
    fn pattern_behaviour_table() {
        use MatchResult::{Exclude, Include, NoMatch};
        let d = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (pattern, domain, path, is_dir, expected)
        type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], bool, MatchResult);
        let cases: &[Case<'_>] = &[
            (
                "!vul?ano",
                &[],
                &["value", "vulkano", "tail"],
                false,
                Include,
            ),
            (
                "value",
                &["head", "middle", "tail"],
                &["head", "middle"],
                false,
                NoMatch,
            ),
            (
                "value",
                &["head", "middle", "tail"],
                &["head", "middle", "tail"],
                false,
                NoMatch,
            ),
            (
                "value",
                &["head", "middle", "tail"],
                &["head", "middle", "_tail_", "value"],
                false,
                NoMatch,
            ),
            (
                "middle/",
                &["value", "volcano"],
                &["value", "volcano", "middle", "tail"],
                false,
                Exclude,
            ),
            (
                "volcano/",
                &["value", "volcano"],
                &["value", "volcano", "tail"],
                true,
                NoMatch,
            ),
            ("value", &[], &["value", "tail"], false, Exclude),
            ("value", &[], &["head", "value", "tail"], false, Exclude),
            ("value", &[], &["head", "value"], false, Exclude),
            ("value/", &[], &["value", "tail"], false, Exclude),
            ("value/", &[], &["head", "value"], true, Exclude),
            ("value/", &[], &["head", "value"], false, NoMatch),
            ("value", &[], &["head", "val", "tail"], false, NoMatch),
            ("val", &[], &["head", "value", "tail"], false, NoMatch),
            ("v*o", &[], &["value", "vulkano", "tail"], false, Exclude),
            (
                "vul?ano",
                &[],
                &["value", "vulkano", "tail"],
                false,
                Exclude,
            ),
            ("v[ou]l[kc]ano", &[], &["value", "volcano"], false, Exclude),
            ("v[ou]l[", &[], &["value", "vol["], false, NoMatch),
            (
                "/value/vul?ano",
                &[],
                &["value", "vulkano", "tail"],
                false,
                Exclude,
            ),
            (
                "middle/tail/",
                &["value", "volcano"],
                &["value", "volcano", "middle", "tail"],
                true,
                Exclude,
            ),
            (
                "volcano/tail",
                &["value", "volcano"],
                &["value", "volcano", "tail"],
                false,
                NoMatch,
            ),
            (
                "value/vul?ano",
                &[],
                &["value", "vulkano", "tail"],
                false,
                Exclude,
            ),
            ("value/vulkano", &[], &["value", "volcano"], false, NoMatch),
            ("value/vul?ano", &[], &["value"], false, NoMatch),
            (
                "/value/volcano",
                &[],
                &["value", "value", "volcano"],
                false,
                NoMatch,
            ),
            (
                "**/*lue/vol?ano",
                &[],
                &["value", "volcano", "tail"],
                false,
                Exclude,
            ),
            (
                "**/*lue/vol?ano",
                &[],
                &["head", "value", "volcano", "tail"],
                false,
                Exclude,
            ),
            (
                "**/*lue/vol?ano",
                &[],
                &["head", "value", "Volcano", "tail"],
                false,
                NoMatch,
            ),
            (
                "**/*lue/vol?ano/",
                &[],
                &["head", "value", "volcano", "tail"],
                false,
                Exclude,
            ),
            (
                "**/*lue/vol?ano/",
                &[],
                &["head", "value", "volcano"],
                true,
                Exclude,
            ),
            (
                "**/*lue/vol?ano/",
                &[],
                &["head", "value", "Colcano"],
                true,
                NoMatch,
            ),
            (
                "**/*lue/vol?ano/",
                &[],
                &["head", "value", "volcano"],
                false,
                NoMatch,
            ),
            (
                "/*lue/vol?ano/**",
                &[],
                &["value", "volcano", "tail", "moretail"],
                false,
                Exclude,
            ),
            (
                "/*lue/vol?ano/**",
                &[],
                &["value", "volcano"],
                false,
                Exclude,
            ),
            (
                "/*lue/**/vol?ano",
                &[],
                &["value", "volcano"],
                false,
                Exclude,
            ),
            (
                "/*lue/**/vol?ano",
                &[],
                &["value", "middle", "volcano"],
                false,
                Exclude,
            ),
            (
                "/*lue/**/vol?ano",
                &[],
                &["value", "middle1", "middle2", "volcano"],
                false,
                Exclude,
            ),
            (
                "/*lue/**/vol?ano/",
                &[],
                &["value", "middle1", "middle2", "volcano"],
                true,
                Exclude,
            ),
            (
                "/*lue/**/vol?ano/",
                &[],
                &["value", "middle1", "middle2", "volcano"],
                false,
                NoMatch,
            ),
            (
                "/*lue/**/vol?ano/",
                &[],
                &["value", "middle1", "middle2", "volcano", "tail"],
                false,
                Exclude,
            ),
            (
                "/*lue/**foo/vol?ano",
                &[],
                &["value", "foo", "volcano", "tail"],
                false,
                NoMatch,
            ),
            (
                "**/head/v[ou]l[kc]ano",
                &[],
                &["value", "head", "volcano"],
                false,
                Exclude,
            ),
            (
                "**/head/v[ou]l[",
                &[],
                &["value", "head", "vol["],
                false,
                NoMatch,
            ),
            (
                "/value/**/v[ou]l[",
                &[],
                &["value", "head", "vol["],
                false,
                NoMatch,
            ),
            (
                "**/android/**/GeneratedPluginRegistrant.java",
                &[],
                &[
                    "packages",
                    "flutter_tools",
                    "lib",
                    "src",
                    "android",
                    "gradle.dart",
                ],
                false,
                NoMatch,
            ),
        ];
        for (pattern, domain, path, is_dir, want) in cases {
            let p = IgnorePattern::parse(pattern, &d(domain));
            assert_eq!(
                p.matches(path, *is_dir),
                *want,
                "{pattern:?} in {domain:?} on {path:?} (dir: {is_dir})"
            );
        }
    }

    #[test]
    fn domain_scopes_nested_patterns() {
        let domain = vec!["sub".to_string()];
        let matcher = IgnoreMatcher::new(read_patterns("*.yaml\n/only-here", &domain));
        assert!(matcher.is_excluded_path("sub/a.yaml", false));
        assert!(!matcher.is_excluded_path("a.yaml", false));
        assert!(matcher.is_excluded_path("sub/only-here", false));
        assert!(!matcher.is_excluded_path("sub/x/only-here", false));
        // The domain directory itself is never matched by its own patterns.
        assert!(!matcher.is_excluded_path("sub", true));
    }
}
