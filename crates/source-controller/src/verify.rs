//! Commit signature verification (`spec.verify`, mode HEAD) with the system tools:
//! SSH signatures with `ssh-keygen -Y verify` against the secret's `*.sshpub` keys,
//! OpenPGP signatures with `gpg --verify` in a throw-away keyring holding the secret's
//! other keys (`*.asc` and the rest).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The commit carries no signature.
    #[error("unable to verify commit '{commit}': no signature")]
    Unsigned { commit: String },
    /// No key of the right kind in the secret.
    #[error("unable to verify commit '{commit}': no {kind} keys in the verification secret")]
    NoKeys { commit: String, kind: &'static str },
    /// The signature did not verify against any trusted key.
    #[error("signature verification of commit '{commit}' failed: {detail}")]
    Failed { commit: String, detail: String },
    /// The verifier could not run.
    #[error("unable to run {tool}: {detail}")]
    Tool { tool: &'static str, detail: String },
}

/// Verifies `signature` over `payload` of `commit` with the keys of the secret `keys`.
pub fn verify_commit(
    commit: &str,
    signature: Option<&(String, Vec<u8>)>,
    keys: &BTreeMap<String, Vec<u8>>,
) -> Result<(), VerifyError> {
    let Some((sig, payload)) = signature else {
        return Err(VerifyError::Unsigned {
            commit: commit.to_string(),
        });
    };
    let dir = tempfile::tempdir().map_err(|e| VerifyError::Tool {
        tool: "tempdir",
        detail: e.to_string(),
    })?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).map_err(|e| VerifyError::Tool {
            tool: "write",
            detail: e.to_string(),
        })
    };
    write("signature", sig.as_bytes())?;
    if sig.contains("BEGIN SSH SIGNATURE") {
        let mut allowed = String::new();
        for (name, key) in keys.iter().filter(|(k, _)| k.ends_with(".sshpub")) {
            let _ = name;
            for line in String::from_utf8_lossy(key).lines().map(str::trim) {
                if !line.is_empty() && !line.starts_with('#') {
                    allowed.push_str(&format!("flux namespaces=\"git\" {line}\n"));
                }
            }
        }
        if allowed.is_empty() {
            return Err(VerifyError::NoKeys {
                commit: commit.to_string(),
                kind: "SSH (*.sshpub)",
            });
        }
        write("allowed_signers", allowed.as_bytes())?;
        let out = run_with_stdin(
            Command::new("ssh-keygen")
                .args(["-Y", "verify", "-I", "flux", "-n", "git", "-f"])
                .arg(dir.path().join("allowed_signers"))
                .arg("-s")
                .arg(dir.path().join("signature")),
            payload,
            "ssh-keygen",
        )?;
        return if out.0 {
            Ok(())
        } else {
            Err(VerifyError::Failed {
                commit: commit.to_string(),
                detail: out.1,
            })
        };
    }
    // OpenPGP.
    let pgp: Vec<&Vec<u8>> = keys
        .iter()
        .filter(|(k, _)| !k.ends_with(".sshpub"))
        .map(|(_, v)| v)
        .collect();
    if pgp.is_empty() {
        return Err(VerifyError::NoKeys {
            commit: commit.to_string(),
            kind: "OpenPGP",
        });
    }
    let home = dir.path().join("gnupg");
    std::fs::create_dir_all(&home).map_err(|e| VerifyError::Tool {
        tool: "gpg",
        detail: e.to_string(),
    })?;
    for key in pgp {
        let _ = run_with_stdin(
            Command::new("gpg")
                .arg("--homedir")
                .arg(&home)
                .args(["--batch", "--quiet", "--import"]),
            key,
            "gpg",
        )?;
    }
    write("payload", payload)?;
    let out = Command::new("gpg")
        .arg("--homedir")
        .arg(&home)
        .args(["--batch", "--status-fd", "1", "--verify"])
        .arg(dir.path().join("signature"))
        .arg(dir.path().join("payload"))
        .output()
        .map_err(|e| VerifyError::Tool {
            tool: "gpg",
            detail: e.to_string(),
        })?;
    let status = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && status.contains("[GNUPG:] VALIDSIG") {
        Ok(())
    } else {
        Err(VerifyError::Failed {
            commit: commit.to_string(),
            detail: "no trusted OpenPGP key made this signature".to_string(),
        })
    }
}

fn run_with_stdin(
    cmd: &mut Command,
    input: &[u8],
    tool: &'static str,
) -> Result<(bool, String), VerifyError> {
    let tool_err = |e: std::io::Error| VerifyError::Tool {
        tool,
        detail: e.to_string(),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(tool_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(tool_err)?;
    }
    let out = child.wait_with_output().map_err(tool_err)?;
    let text = String::from_utf8_lossy(&out.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&out.stdout).lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Ok((out.status.success(), text))
}
