//! `.sourceignore` / `spec.ignore` matrix, packed end to end.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;
use flux_artifact::{IgnoreMatcher, PackOptions, pack_dir};

use crate::fixtures::{list_tar_gz, write};

const TREE: &[&str] = &[
    ".git/HEAD",
    ".gitignore",
    ".gitmodules",
    ".github/workflows/ci.yaml",
    ".sops.yaml",
    ".travis.yml",
    "README.md",
    "notes.txt",
    "bundle.tar.gz",
    "apps/.sops.yaml",
    "apps/app.yaml",
    "apps/logo.png",
    "apps/notes.txt",
    "deploy/keep.yaml",
    "deploy/drop.yaml",
];

fn packed_files(dir: &Path, matcher: &IgnoreMatcher) -> Result<BTreeSet<String>> {
    let filter = |rel: &str, is_dir: bool| matcher.is_excluded_path(rel, is_dir);
    let (bytes, _) = pack_dir(dir, Vec::new(), Some(&filter), &PackOptions::default())?;
    Ok(list_tar_gz(&bytes)?
        .into_iter()
        .filter(|l| l.kind == '0')
        .map(|l| l.name)
        .collect())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

struct Case<'a> {
    name: &'a str,
    ignore_files: &'a [(&'a str, &'a str)],
    spec_ignore: Option<&'a str>,
    want: &'a [&'a str],
}

#[test]
fn source_ignore_matrix() -> Result<()> {
    let cases = [
        Case {
            name: "no rules: VCS and default exclusions",
            ignore_files: &[],
            spec_ignore: None,
            want: &[
                "README.md",
                "notes.txt",
                "apps/app.yaml",
                "apps/notes.txt",
                "deploy/keep.yaml",
                "deploy/drop.yaml",
            ],
        },
        Case {
            name: "root .sourceignore drops the defaults but keeps VCS exclusions",
            ignore_files: &[(".sourceignore", "# comment\n\ndeploy/drop.yaml\n")],
            spec_ignore: None,
            want: &[
                ".github/workflows/ci.yaml",
                ".sops.yaml",
                ".sourceignore",
                ".travis.yml",
                "README.md",
                "notes.txt",
                "bundle.tar.gz",
                "apps/.sops.yaml",
                "apps/app.yaml",
                "apps/logo.png",
                "apps/notes.txt",
                "deploy/keep.yaml",
            ],
        },
        Case {
            name: "nested .sourceignore applies relative to its directory",
            ignore_files: &[("apps/.sourceignore", "*.txt\n/logo.png\n")],
            spec_ignore: None,
            want: &[
                ".github/workflows/ci.yaml",
                ".sops.yaml",
                ".travis.yml",
                "README.md",
                "notes.txt",
                "bundle.tar.gz",
                "apps/.sops.yaml",
                "apps/.sourceignore",
                "apps/app.yaml",
                "deploy/keep.yaml",
                "deploy/drop.yaml",
            ],
        },
        Case {
            name: "spec.ignore comes after .sourceignore and wins",
            ignore_files: &[(".sourceignore", "*.yaml\n*.yml\n")],
            spec_ignore: Some("!deploy/keep.yaml\n.github/\n*.png\n*.tar.gz\n.sourceignore\n"),
            want: &[
                "README.md",
                "notes.txt",
                "apps/notes.txt",
                "deploy/keep.yaml",
            ],
        },
        Case {
            name: "spec.ignore alone also drops the defaults",
            ignore_files: &[],
            spec_ignore: Some("/apps\n"),
            want: &[
                ".github/workflows/ci.yaml",
                ".sops.yaml",
                ".travis.yml",
                "README.md",
                "notes.txt",
                "bundle.tar.gz",
                "deploy/keep.yaml",
                "deploy/drop.yaml",
            ],
        },
        Case {
            name: "user patterns outrank VCS exclusions (as upstream orders them)",
            ignore_files: &[],
            spec_ignore: Some("!.gitignore\n*.yaml\n*.yml\n*.txt\n*.png\n*.gz\n"),
            want: &[".gitignore", "README.md"],
        },
        Case {
            name: "re-include inside an excluded directory (go-git semantics)",
            ignore_files: &[],
            spec_ignore: Some("deploy/\n!deploy/keep.yaml\n/*.*\n.*\napps\n"),
            want: &["deploy/keep.yaml"],
        },
    ];
    for case in cases {
        let dir = tempfile::tempdir()?;
        for rel in TREE {
            write(dir.path(), rel, rel)?;
        }
        for (rel, content) in case.ignore_files {
            write(dir.path(), rel, content)?;
        }
        let matcher = IgnoreMatcher::for_source_dir(dir.path(), case.spec_ignore)?;
        let got = packed_files(dir.path(), &matcher)?;
        assert_eq!(got, set(case.want), "case: {}", case.name);
    }
    Ok(())
}

#[test]
fn bucket_rules_have_no_defaults() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for rel in TREE {
        write(dir.path(), rel, rel)?;
    }
    let matcher = IgnoreMatcher::for_bucket(Some("*.png\n"), Some("deploy/\n"));
    let got = packed_files(dir.path(), &matcher)?;
    let want: BTreeSet<String> = TREE
        .iter()
        .filter(|p| !p.ends_with(".png") && !p.starts_with("deploy/"))
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    Ok(())
}

#[test]
fn excluded_directory_entries_are_left_out() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for rel in TREE {
        write(dir.path(), rel, rel)?;
    }
    let matcher = IgnoreMatcher::for_source_dir(dir.path(), None)?;
    let filter = |rel: &str, is_dir: bool| matcher.is_excluded_path(rel, is_dir);
    let (bytes, summary) = pack_dir(
        dir.path(),
        Vec::new(),
        Some(&filter),
        &PackOptions::default(),
    )?;
    let names: Vec<String> = list_tar_gz(&bytes)?.into_iter().map(|l| l.name).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with(".git/") || n.starts_with(".github/"))
    );
    assert!(names.contains(&"apps/".to_string()));
    assert!(summary.filtered > 0);
    Ok(())
}
