//! The git layer over `file://` (the CRD's URL pattern admits only http, https and ssh,
//! so `file://` is exercised below the API).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use source_controller::auth::{AuthOptions, Transport};
use source_controller::git::{self, Remote};
use source_controller::reference::{RefSpec, resolve};

use crate::fixtures::{Repo, git, have_tool};

fn remote(repo: &Repo) -> Remote {
    Remote {
        url: format!("file://{}", repo.bare.display()),
        transport: Transport::File,
        auth: AuthOptions::default(),
        timeout: Duration::from_secs(30),
        proxy: None,
    }
}

#[test]
fn file_branch_tag_commit_and_sparse_checkout() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let first = repo.head()?;
    repo.tag("v1.0.0")?;
    let second = repo.commit("apps/app.yaml", "kind: Secret\n", "second commit")?;
    let stop = AtomicBool::new(false);
    let r = remote(&repo);

    // Branch: ls-refs resolves main to the second commit; checkout writes its tree.
    let spec = RefSpec::Branch("main".into());
    let refs = git::list_refs(&r, &spec, &stop)?;
    let resolved = resolve(&spec, &refs)?;
    assert_eq!(resolved.commit, second);
    let out = tempfile::tempdir()?;
    let commit = git::checkout(
        &r,
        &spec,
        &resolved,
        &out.path().join("src"),
        None,
        false,
        &stop,
    )?;
    assert_eq!(commit.hash, second);
    assert_eq!(commit.subject, "second commit");
    assert_eq!(
        std::fs::read_to_string(out.path().join("src/apps/app.yaml"))?,
        "kind: Secret\n"
    );
    assert!(out.path().join("src/infra/infra.yaml").is_file());
    assert!(!out.path().join("src/.git").exists());

    // Annotated tag: peeled to the first commit.
    let spec = RefSpec::Tag("v1.0.0".into());
    let refs = git::list_refs(&r, &spec, &stop)?;
    let resolved = resolve(&spec, &refs)?;
    assert_eq!(resolved.commit, first);
    let out = tempfile::tempdir()?;
    let commit = git::checkout(
        &r,
        &spec,
        &resolved,
        &out.path().join("src"),
        None,
        false,
        &stop,
    )?;
    assert_eq!(commit.hash, first);
    assert_eq!(
        std::fs::read_to_string(out.path().join("src/apps/app.yaml"))?,
        "kind: ConfigMap\n"
    );

    // Commit pin (full history of main is fetched, then the commit is looked up).
    let spec = RefSpec::Commit {
        sha: first.clone(),
        branch: Some("main".into()),
    };
    let resolved = resolve(&spec, &[])?;
    let out = tempfile::tempdir()?;
    let commit = git::checkout(
        &r,
        &spec,
        &resolved,
        &out.path().join("src"),
        None,
        false,
        &stop,
    )?;
    assert_eq!(commit.hash, first);

    // Sparse checkout: only apps/.
    let spec = RefSpec::Branch("main".into());
    let resolved = resolve(&spec, &git::list_refs(&r, &spec, &stop)?)?;
    let out = tempfile::tempdir()?;
    let sparse = vec!["apps/".to_string()];
    git::checkout(
        &r,
        &spec,
        &resolved,
        &out.path().join("src"),
        Some(&sparse),
        false,
        &stop,
    )?;
    assert!(out.path().join("src/apps/app.yaml").is_file());
    assert!(!out.path().join("src/infra").exists());
    assert!(!out.path().join("src/README.md").exists());

    // A branch that does not exist resolves to an error, not a panic.
    let spec = RefSpec::Branch("nope".into());
    let refs = git::list_refs(&r, &spec, &stop)?;
    assert!(resolve(&spec, &refs).is_err());
    Ok(())
}

#[test]
fn file_missing_repository_is_an_error() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let r = Remote {
        url: "file:///nonexistent/flux-rs/repo.git".into(),
        transport: Transport::File,
        auth: AuthOptions::default(),
        timeout: Duration::from_secs(5),
        proxy: None,
    };
    let err = git::list_refs(&r, &RefSpec::Branch("main".into()), &AtomicBool::new(false));
    assert!(err.is_err());
    Ok(())
}

#[test]
fn file_recurse_submodules() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    // A second repository used as a submodule at vendor/lib.
    let lib_root = root.path().join("lib");
    std::fs::create_dir_all(&lib_root)?;
    let lib = Repo::create(&lib_root)?;
    let lib_url = format!("file://{}", lib.bare.display());
    git(
        &repo.work,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            &lib_url,
            "vendor/lib",
        ],
    )?;
    git(&repo.work, &["commit", "-m", "add submodule"])?;
    git(&repo.work, &["push", "origin", "main"])?;
    let r = remote(&repo);
    let stop = AtomicBool::new(false);
    let spec = RefSpec::Branch("main".into());
    let resolved = resolve(&spec, &git::list_refs(&r, &spec, &stop)?)?;

    let with = tempfile::tempdir()?;
    git::checkout(
        &r,
        &spec,
        &resolved,
        &with.path().join("src"),
        None,
        true,
        &stop,
    )?;
    assert_eq!(
        std::fs::read_to_string(with.path().join("src/vendor/lib/apps/app.yaml"))?,
        "kind: ConfigMap\n"
    );

    let without = tempfile::tempdir()?;
    git::checkout(
        &r,
        &spec,
        &resolved,
        &without.path().join("src"),
        None,
        false,
        &stop,
    )?;
    assert!(!without.path().join("src/vendor/lib/apps").exists());
    assert!(without.path().join("src/.gitmodules").is_file());
    Ok(())
}
